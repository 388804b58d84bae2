/**
 * @file fuzz_auth.c
 * libFuzzer target over lib/auth's parsers and its ACL check. The first byte picks the mode,
 * the rest is the input:
 *  - 'P': a password file. When it loads, every user is looked up and (if the costs written in
 *    the input are small) verified with a password taken from the input.
 *  - 'A': an ACL file. When it loads, its text form must load again with the same number of
 *    rules (save/load round trip), and a few topics, filters and the input's own first line
 *    are checked for each access, as client and username also taken from the input.
 *  - anything else: the input's lines are topic, filter, client id and username checked
 *    against a fixed ACL.
 * Any crash, sanitizer report or abort() is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_acl.h"
#include "auth/auth_passwd.h"

/** Would verifying these entries be slow (large $7$ iteration counts, argon2 costs)? */
static int fuzz__costly(const char *s, size_t n)
{
	if (memmem(s, n, "$argon2", 7) != NULL)
		return 1;
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "$7$", 3)) != NULL; p += 3) {
		unsigned long it = 0;
		for (const char *q = p + 3; q < s + n && *q >= '0' && *q <= '9' && it <= 1000; q++)
			it = it * 10 + (unsigned long)(*q - '0');
		if (it > 1000)
			return 1;
	}
	return 0;
}

static void fuzz__passwd(const char *s, size_t n)
{
	struct auth_passwd *pw = auth_passwd_parse(s, n, "fuzz", NULL, 0);
	if (pw == NULL)
		return;
	int cheap = !fuzz__costly(s, n);
	for (size_t i = 0; i < auth_passwd_count(pw) && i < 8; i++) {
		const char *u = auth_passwd_user_at(pw, i);
		if (!auth_passwd_has_user(pw, u))
			abort();
		if (cheap && auth_passwd_verify(pw, u, strlen(u), s, n < 16 ? n : 16) ==
				     AUTH_PW_UNKNOWN_USER)
			abort();
	}
	auth_passwd_unref(pw);
}

static const char *const fuzz__topics[] = {
	"a/b", "#", "+/+", "$SYS/broker/uptime", "$share/g/a/#", "devices/c/x", "a", "/",
};

static void fuzz__checks(const struct auth_acl *acl, const char *extra, size_t extra_len,
			 const struct auth_client *c)
{
	struct auth_acl_stats st;
	memset(&st, 0, sizeof(st));
	for (int a = 0; a < AUTH_ACL_ACCESS_COUNT; a++) {
		for (size_t i = 0; i < sizeof(fuzz__topics) / sizeof(fuzz__topics[0]); i++) {
			int r = auth_acl_check(acl, c, fuzz__topics[i], strlen(fuzz__topics[i]), a, &st);
			if (r < 0 || r >= AUTH_ACL_DENY_COUNT)
				abort();
		}
		int r = auth_acl_check(acl, c, extra, extra_len, a, &st);
		if (r < 0 || r >= AUTH_ACL_DENY_COUNT)
			abort();
	}
}

/** Split off the next line of (*s, *n). */
static void fuzz__line(const char **s, size_t *n, const char **l, size_t *ln)
{
	const char *nl = memchr(*s, '\n', *n);
	*l = *s;
	*ln = nl ? (size_t)(nl - *s) : *n;
	*s = nl ? nl + 1 : *s + *n;
	*n = nl ? *n - *ln - 1 : 0;
}

static void fuzz__acl(const char *s, size_t n)
{
	struct auth_acl *acl = auth_acl_parse(s, n, "fuzz", NULL, 0);
	if (acl == NULL)
		return;
	size_t len;
	char *txt = auth_acl_format(acl, &len);
	if (txt != NULL) {
		char err[256];
		struct auth_acl *again = auth_acl_parse(txt, len, "again", err, sizeof(err));
		if (again == NULL || auth_acl_rule_count(again) != auth_acl_rule_count(acl)) {
			fprintf(stderr, "round trip failed: %s\n%s", again ? "" : err, txt);
			abort();
		}
		auth_acl_unref(again);
		free(txt);
	}
	const char *l;
	size_t ln;
	const char *rest = s;
	size_t rn = n;
	fuzz__line(&rest, &rn, &l, &ln);
	struct auth_client anon = {"c", 1, NULL, 0};
	struct auth_client user = {l, ln, l, ln};
	fuzz__checks(acl, l, ln, &anon);
	fuzz__checks(acl, l, ln, &user);
	auth_acl_unref(acl);
}

static void fuzz__match(const char *s, size_t n)
{
	static struct auth_acl *acl;
	if (acl == NULL) {
		static const char text[] = "topic read public/#\ntopic deny public/secret\n"
					   "pattern readwrite devices/%c/#\npattern read u/%u/+/x\n"
					   "user alice\ntopic readwrite a/+/b/#\ntopic read $SYS/#\n";
		acl = auth_acl_parse(text, sizeof(text) - 1, "fixed", NULL, 0);
		if (acl == NULL)
			abort();
	}
	const char *topic, *cid, *un;
	size_t tn, cn, unn;
	fuzz__line(&s, &n, &topic, &tn);
	fuzz__line(&s, &n, &cid, &cn);
	fuzz__line(&s, &n, &un, &unn);
	struct auth_client c = {cid, cn, unn ? un : NULL, unn};
	fuzz__checks(acl, topic, tn, &c);
	fuzz__checks(NULL, topic, tn, &c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0]) {
	case 'P':
		fuzz__passwd(s, n);
		break;
	case 'A':
		fuzz__acl(s, n);
		break;
	default:
		fuzz__match(s, n);
		break;
	}
	return 0;
}
