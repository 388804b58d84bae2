/**
 * @file test_auth_passwd.c
 * Password files: files written by Debian's mosquitto_passwd ($7$ and $6$) verify right and
 * wrong; files we write are read back by us and edited by mosquitto_passwd; atomic rewrite
 * keeps mode and leaves no temporary file; malformed files fail with file:line; argon2id
 * when built with libargon2. (That Debian's mosquitto broker accepts our files is
 * mosquitto_compat.sh's job.)
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

#ifdef AUTH_HAVE_ARGON2
#include <argon2.h>
#endif

#include "auth/auth_passwd.h"
#include "auth_test.h"

#define MOSQUITTO_PASSWD "/usr/bin/mosquitto_passwd"

static int verify(const struct auth_passwd *pw, const char *u, const char *p)
{
	return auth_passwd_verify(pw, u, strlen(u), p, strlen(p));
}

/* Fixed vectors made once with Debian's mosquitto_passwd 2.0.11, so the formats are pinned
 * even on a machine without it: alice/secret (-H sha512-pbkdf2), bob/pw6 (-H sha512). */
static const char fixed_file[] =
	"# made by mosquitto_passwd\n"
	"alice:$7$101$osYnyXQ0hZgzA8AY$SrRkb49W1XJJgVa3HGhfpJNd08J2kU37uyM+r461XBgDb4KyO7FvN7Gp+"
	"GNFSOELIn3BouAzDKa4g5NfSrxtfQ==\n"
	"\n"
	"  bob : $6$9OOqMrnS5K0bSHnE$3nVhWi/UYSZ9fqEGTOXksOiotG1RgD6SkUMwIBsBkBAfrbjyywsEMs7K7FVtG"
	"uGrMEwGfwFU+7P+q5Rm8nVxFw==\r\n";

static void test_fixed_vectors(void)
{
	char err[256] = "";
	struct auth_passwd *pw = auth_passwd_parse(fixed_file, sizeof(fixed_file) - 1, "fixed",
						   err, sizeof(err));
	CHECK(pw != NULL);
	if (pw == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(auth_passwd_count(pw), 2);
	CHECK_EQ(verify(pw, "alice", "secret"), AUTH_PW_OK);
	CHECK_EQ(verify(pw, "alice", "secreT"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(pw, "alice", ""), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(pw, "bob", "pw6"), AUTH_PW_OK);
	CHECK_EQ(verify(pw, "bob", "secret"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(pw, "carol", "secret"), AUTH_PW_UNKNOWN_USER);
	CHECK_EQ(verify(pw, "alic", "secret"), AUTH_PW_UNKNOWN_USER);
	/* The username is (pointer, length): a longer buffer must not match. */
	CHECK_EQ(auth_passwd_verify(pw, "alicex", 5, "secret", 6), AUTH_PW_OK);
	CHECK_EQ(auth_passwd_verify(pw, NULL, 0, "x", 1), AUTH_PW_UNKNOWN_USER);
	CHECK(auth_passwd_has_user(pw, "bob"));
	CHECK(!auth_passwd_has_user(pw, "bo"));
	CHECK(strcmp(auth_passwd_user_at(pw, 0), "alice") == 0);
	CHECK(auth_passwd_user_at(pw, 2) == NULL);
	auth_passwd_unref(pw);
}

/** Generate a file with mosquitto_passwd and check it against us. */
static void test_mosquitto_generated(void)
{
	if (access(MOSQUITTO_PASSWD, X_OK) != 0) {
		printf("SKIP: %s not installed\n", MOSQUITTO_PASSWD);
		return;
	}
	const char *f = at_path("mq.passwd");
	char *c1[] = {MOSQUITTO_PASSWD, "-c", "-b", (char *)f, "u7", "pass word 7", NULL};
	char *c2[] = {MOSQUITTO_PASSWD, "-H", "sha512", "-b", (char *)f, "u6", "pw-six", NULL};
	char *c3[] = {MOSQUITTO_PASSWD, "-H", "sha512-pbkdf2", "-b", (char *)f, "ü ser", "ñ", NULL};
	CHECK_EQ(at_run(c1), 0);
	CHECK_EQ(at_run(c2), 0);
	CHECK_EQ(at_run(c3), 0);

	char err[256] = "";
	struct auth_passwd *pw = auth_passwd_load(f, err, sizeof(err));
	CHECK(pw != NULL);
	if (pw == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(auth_passwd_count(pw), 3);
	CHECK_EQ(verify(pw, "u7", "pass word 7"), AUTH_PW_OK);
	CHECK_EQ(verify(pw, "u7", "pass word 8"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(pw, "u6", "pw-six"), AUTH_PW_OK);
	CHECK_EQ(verify(pw, "u6", "pw-sex"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(pw, "ü ser", "ñ"), AUTH_PW_OK);
	CHECK_EQ(verify(pw, "ü ser", "n"), AUTH_PW_BAD_PASSWORD);
	auth_passwd_unref(pw);

	/* The default must be what we write: $7$ with 101 iterations. */
	FILE *fp = fopen(f, "r");
	char line[512] = "";
	CHECK(fp != NULL && fgets(line, sizeof(line), fp) != NULL);
	if (fp)
		fclose(fp);
	CHECK(strncmp(line, "u7:$7$101$", 10) == 0);
}

/** Our writes: read back by us, editable by mosquitto_passwd, atomic. */
static void test_write_read_back(void)
{
	const char *f = at_path("ours.passwd");
	char err[256] = "";
	struct auth_passwd *pw = auth_passwd_new();
	CHECK(pw != NULL);
	CHECK_EQ(auth_passwd_set(pw, "alice", "a-pass", 6), 0);
	CHECK_EQ(auth_passwd_set(pw, "bob", "b-pass", 6), 0);
	/* MQTT passwords are binary data: a NUL inside must count. */
	CHECK_EQ(auth_passwd_set(pw, "bin", "x\0y", 3), 0);
	CHECK_EQ(auth_passwd_set(pw, "bad:name", "x", 1), -EINVAL);
	CHECK_EQ(auth_passwd_set(pw, "", "x", 1), -EINVAL);
	CHECK_EQ(auth_passwd_set(pw, " lead", "x", 1), -EINVAL);
	CHECK_EQ(auth_passwd_set(pw, "#comment", "x", 1), -EINVAL);
	CHECK_EQ(auth_passwd_set(pw, "line\nbreak", "x", 1), -EINVAL);
	CHECK_EQ(auth_passwd_save(pw, f, err, sizeof(err)), 0);
	struct stat st;
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* Change a password in a clone; the original is untouched. */
	struct auth_passwd *c = auth_passwd_clone(pw);
	CHECK(c != NULL);
	CHECK_EQ(auth_passwd_set(c, "alice", "new-pass", 8), 0);
	CHECK_EQ(auth_passwd_delete(c, "bob"), 0);
	CHECK_EQ(auth_passwd_delete(c, "bob"), -ENOENT);
	CHECK_EQ(verify(pw, "alice", "a-pass"), AUTH_PW_OK);
	CHECK_EQ(verify(c, "alice", "new-pass"), AUTH_PW_OK);
	CHECK_EQ(verify(c, "alice", "a-pass"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(verify(c, "bob", "b-pass"), AUTH_PW_UNKNOWN_USER);
	CHECK_EQ(verify(c, "bin", "x"), AUTH_PW_BAD_PASSWORD);
	CHECK_EQ(auth_passwd_verify(c, "bin", 3, "x\0y", 3), AUTH_PW_OK);
	auth_passwd_unref(pw);

	struct auth_passwd *rd = auth_passwd_load(f, err, sizeof(err));
	CHECK(rd != NULL);
	if (rd != NULL) {
		CHECK_EQ(verify(rd, "alice", "a-pass"), AUTH_PW_OK);
		CHECK_EQ(verify(rd, "bob", "b-pass"), AUTH_PW_OK);
		CHECK_EQ(verify(rd, "bob", "a-pass"), AUTH_PW_BAD_PASSWORD);
		auth_passwd_unref(rd);
	}

	/* Rewrite over the existing file: its mode is kept, nothing is left behind. */
	CHECK(chmod(f, 0640) == 0);
	int before = at_dir_entries();
	CHECK_EQ(auth_passwd_save(c, f, err, sizeof(err)), 0);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK_EQ(at_dir_entries(), before);
	rd = auth_passwd_load(f, err, sizeof(err));
	CHECK(rd != NULL);
	if (rd != NULL) {
		CHECK_EQ(auth_passwd_count(rd), 2);
		CHECK_EQ(verify(rd, "alice", "new-pass"), AUTH_PW_OK);
		CHECK_EQ(verify(rd, "bob", "b-pass"), AUTH_PW_UNKNOWN_USER);
		auth_passwd_unref(rd);
	}
	auth_passwd_unref(c);

	/* Saving into a directory that does not exist fails cleanly. */
	pw = auth_passwd_new();
	CHECK_EQ(auth_passwd_save(pw, at_path("no/such/dir"), err, sizeof(err)), -1);
	CHECK(strstr(err, "no/such/dir") != NULL);
	auth_passwd_unref(pw);

	/* mosquitto_passwd edits our file: adds a user, deletes one of ours. */
	if (access(MOSQUITTO_PASSWD, X_OK) != 0)
		return;
	char *add[] = {MOSQUITTO_PASSWD, "-b", (char *)f, "carol", "c-pass", NULL};
	char *del[] = {MOSQUITTO_PASSWD, "-D", (char *)f, "bin", NULL};
	CHECK_EQ(at_run(add), 0);
	CHECK_EQ(at_run(del), 0);
	rd = auth_passwd_load(f, err, sizeof(err));
	CHECK(rd != NULL);
	if (rd != NULL) {
		CHECK_EQ(auth_passwd_count(rd), 2);
		CHECK_EQ(verify(rd, "alice", "new-pass"), AUTH_PW_OK);
		CHECK_EQ(verify(rd, "carol", "c-pass"), AUTH_PW_OK);
		CHECK(!auth_passwd_has_user(rd, "bin"));
		auth_passwd_unref(rd);
	}
}

struct bad_case {
	const char *text;
	const char *want;   /* substring of the error, which must also name file:line */
};

static void test_malformed(void)
{
	static const char ok7[] = "$7$101$osYnyXQ0hZgzA8AY$SrRkb49W1XJJgVa3HGhfpJNd08J2kU37uyM+"
				  "r461XBgDb4KyO7FvN7Gp+GNFSOELIn3BouAzDKa4g5NfSrxtfQ==";
	char dup[512], trunc[512], badit[512], zeroit[512], bigit[512], badsalt[512];
	snprintf(dup, sizeof(dup), "# c\na:%s\na:%s\n", ok7, ok7);
	snprintf(trunc, sizeof(trunc), "a:%.*s\n", (int)(sizeof(ok7) - 10), ok7);
	snprintf(badit, sizeof(badit), "a:$7$1x1$%s\n", ok7 + 7);
	snprintf(zeroit, sizeof(zeroit), "a:$7$0$%s\n", ok7 + 7);
	snprintf(bigit, sizeof(bigit), "a:$7$99999999999$%s\n", ok7 + 7);
	snprintf(badsalt, sizeof(badsalt), "a:$7$101$osYnyXQ0h!gzA8AY$%s\n", ok7 + 24);
	const struct bad_case cases[] = {
		{"alice:plaintext\n", "pw:1: user 'alice': password is not hashed"},
		{"\n\nalice\n", "pw:3: expected 'username:hash'"},
		{"alice:\n", "pw:1: user 'alice' has no password hash"},
		{":$6$abc$def\n", "pw:1: empty or over-long username"},
		{"a:$5$abc$def\n", "pw:1: user 'a': unknown hash type"},
		{dup, "pw:3: user 'a' appears twice"},
		{trunc, "pw:1: user 'a': bad hash"},
		{badit, "pw:1: user 'a': bad iteration count"},
		{zeroit, "pw:1: user 'a': iteration count out of range"},
		{bigit, "pw:1: user 'a': iteration count out of range"},
		{badsalt, "pw:1: user 'a': bad salt"},
		{"a:$7$101\n", "pw:1: user 'a': bad salt"},
		{"a:$6$$AAAA\n", "pw:1: user 'a': bad salt"},
		{"a:$6$AAAA$AAAA\n", "pw:1: user 'a': bad hash"},
		/* crypt(3)'s sha512-crypt also starts with $6$; its alphabet is not base64's
		 * padding rules, and its hash is not 64 bytes: refused, not misread. */
		{"a:$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc"
		 "6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21\n",
		 "pw:1: user 'a': bad"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		struct auth_passwd *pw = auth_passwd_parse(cases[i].text, strlen(cases[i].text), "pw",
							   err, sizeof(err));
		CHECK(pw == NULL);
		if (strstr(err, cases[i].want) == NULL) {
			fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, cases[i].want);
			at_failures++;
		}
		auth_passwd_unref(pw);
	}
	/* A NUL byte inside a line. */
	char err[256] = "";
	CHECK(auth_passwd_parse("a:\0b\n", 5, "pw", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "pw:1: NUL") != NULL);
	/* A missing file names the path. */
	CHECK(auth_passwd_load(at_path("missing"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "missing: No such file") != NULL);
	/* An empty file is a valid, empty table. */
	struct auth_passwd *pw = auth_passwd_parse("", 0, "pw", err, sizeof(err));
	CHECK(pw != NULL && auth_passwd_count(pw) == 0);
	if (pw != NULL)
		CHECK_EQ(verify(pw, "a", "b"), AUTH_PW_UNKNOWN_USER);
	auth_passwd_unref(pw);
}

static void test_argon2(void)
{
#ifdef AUTH_HAVE_ARGON2
	CHECK(auth_passwd_have_argon2());
	const unsigned char salt[16] = "0123456789abcdef";
	char enc[256];
	/* Small cost settings: the test checks the format, not the hardness. */
	int rc = argon2id_hash_encoded(2, 1024, 1, "hunter2", 7, salt, sizeof(salt), 32, enc,
				       sizeof(enc));
	CHECK_EQ(rc, ARGON2_OK);
	char file[512];
	snprintf(file, sizeof(file), "dave:%s\n", enc);
	char err[256] = "";
	struct auth_passwd *pw = auth_passwd_parse(file, strlen(file), "pw", err, sizeof(err));
	CHECK(pw != NULL);
	if (pw != NULL) {
		CHECK_EQ(verify(pw, "dave", "hunter2"), AUTH_PW_OK);
		CHECK_EQ(verify(pw, "dave", "hunter3"), AUTH_PW_BAD_PASSWORD);
		auth_passwd_unref(pw);
	}
	CHECK(auth_passwd_parse("d:$argon2id$v=19$m=1024\n", 24, "pw", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "pw:1: user 'd': malformed $argon2id$") != NULL);
#else
	char err[256] = "";
	CHECK(!auth_passwd_have_argon2());
	const char *f = "d:$argon2id$v=19$m=1024,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$abcd\n";
	CHECK(auth_passwd_parse(f, strlen(f), "pw", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "libargon2") != NULL);
#endif
}

int main(void)
{
	at_mkdir();
	test_fixed_vectors();
	test_mosquitto_generated();
	test_write_read_back();
	test_malformed();
	test_argon2();
	return at_finish("test_auth_passwd");
}
