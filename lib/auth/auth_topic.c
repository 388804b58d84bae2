/**
 * @file auth_topic.c
 * The ACL's topic matcher: compiled rule filters against topics and subscription filters.
 *
 * How it works. A rule is split into levels once, at load. A check walks the rule's levels
 * and, in step, the levels of the client's string, found by scanning for '/' (a cursor, no
 * copy). Two relations are needed:
 *  - covers(rule, s): every topic that s matches, rule matches too. For a topic name (no
 *    wildcards) that is ordinary matching, so PUBLISH and delivery use it; for a SUBSCRIBE
 *    filter it tells whether a `deny` rule takes away everything the filter could deliver.
 *  - intersects(rule, s): some topic matches both. A SUBSCRIBE is worth granting only if
 *    some `read` rule intersects its filter; each message is still checked on delivery.
 * `#` matches its parent level too ("a/#" matches "a"), so a side that has ended still
 * relates to a `#` on the other side. A `$` first character must agree on both sides, which
 * is MQTT's rule that wildcards never match a leading `$` level and Mosquitto's rule that only
 * `$` ACL entries apply to `$` topics.
 */
#include "auth/auth_topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"

/** Kinds returned by the cursor, beyond enum auth__lvl_kind. */
#define AUTH__END (-1)

/** Walks the levels of a client-supplied topic or filter. */
struct auth__cur {
	const char *p;
	const char *end;
	bool done;
};

static void auth__cur_init(struct auth__cur *c, const char *s, size_t n)
{
	c->p = s;
	c->end = s + n;
	c->done = false;
}

/** Next level of the cursor: its kind (LIT/PLUS/HASH) or AUTH__END. */
static int auth__cur_next(struct auth__cur *c, const char **lv, size_t *ln)
{
	if (c->done)
		return AUTH__END;
	const char *slash = memchr(c->p, '/', (size_t)(c->end - c->p));
	const char *e = slash ? slash : c->end;
	*lv = c->p;
	*ln = (size_t)(e - c->p);
	if (slash)
		c->p = slash + 1;
	else
		c->done = true;
	if (*ln == 1 && **lv == '+')
		return AUTH__LVL_PLUS;
	if (*ln == 1 && **lv == '#')
		return AUTH__LVL_HASH;
	return AUTH__LVL_LIT;
}

static bool auth__check_levels(const char *s, size_t n, bool allow_wild)
{
	if (n == 0 || n > AUTH__MAX_STR || memchr(s, '\0', n) != NULL)
		return false;
	struct auth__cur c;
	auth__cur_init(&c, s, n);
	const char *lv;
	size_t ln;
	int k;
	while ((k = auth__cur_next(&c, &lv, &ln)) != AUTH__END) {
		if (k == AUTH__LVL_LIT) {
			if (memchr(lv, '+', ln) || memchr(lv, '#', ln))
				return false;
			continue;
		}
		if (!allow_wild)
			return false;
		if (k == AUTH__LVL_HASH && !c.done)
			return false;
	}
	return true;
}

bool auth__is_filter(const char *s, size_t n)
{
	return auth__check_levels(s, n, true);
}

bool auth__is_topic(const char *s, size_t n)
{
	return auth__check_levels(s, n, false);
}

int auth__filter_compile(struct auth__filter *f, const char *text, size_t len, bool pattern,
			 char *why, size_t whylen)
{
	memset(f, 0, sizeof(*f));
	if (!auth__is_filter(text, len)) {
		auth__err(why, whylen, "'%.*s' is not a valid topic filter", (int)(len > 200 ? 200 : len),
			  text);
		return -1;
	}
	uint32_t nlev = 1;
	for (size_t i = 0; i < len; i++)
		nlev += text[i] == '/';
	f->text = auth__strndup(text, len);
	f->levels = calloc(nlev, sizeof(*f->levels));
	if (f->text == NULL || f->levels == NULL) {
		auth__filter_fini(f);
		auth__err(why, whylen, "out of memory");
		return -1;
	}
	f->len = (uint32_t)len;
	f->nlevels = nlev;

	struct auth__cur c;
	auth__cur_init(&c, f->text, len);
	const char *lv;
	size_t ln;
	int k;
	uint32_t i = 0;
	while ((k = auth__cur_next(&c, &lv, &ln)) != AUTH__END) {
		struct auth__level *l = &f->levels[i++];
		l->off = (uint32_t)(lv - f->text);
		l->len = (uint32_t)ln;
		l->kind = (uint8_t)k;
		if (!pattern || k != AUTH__LVL_LIT)
			continue;
		bool has_c = memmem(lv, ln, "%c", 2) != NULL;
		bool has_u = memmem(lv, ln, "%u", 2) != NULL;
		f->has_username |= has_u;
		if (ln == 2 && has_c)
			l->kind = AUTH__LVL_CLIENTID;
		else if (ln == 2 && has_u)
			l->kind = AUTH__LVL_USERNAME;
		else if (has_c || has_u)
			l->kind = AUTH__LVL_SUBST;
	}
	return 0;
}

void auth__filter_fini(struct auth__filter *f)
{
	free(f->text);
	free(f->levels);
	f->text = NULL;
	f->levels = NULL;
}

/** Does template (t, tn), with `%c`/`%u` replaced, equal the client's level (lv, ln)? */
static bool auth__subst_eq(const char *t, size_t tn, const struct auth__subst *sub,
			   const char *lv, size_t ln)
{
	size_t o = 0;
	for (size_t i = 0; i < tn;) {
		if (t[i] == '%' && i + 1 < tn && (t[i + 1] == 'c' || t[i + 1] == 'u')) {
			const char *v = t[i + 1] == 'c' ? sub->client_id : sub->username;
			size_t vn = t[i + 1] == 'c' ? sub->client_id_len : sub->username_len;
			if (v == NULL || ln - o < vn || (vn > 0 && memcmp(lv + o, v, vn) != 0))
				return false;
			o += vn;
			i += 2;
		} else {
			if (o >= ln || lv[o] != t[i])
				return false;
			o++;
			i++;
		}
	}
	return o == ln;
}

/** Does rule level @p l (a literal or a substitution) equal the client's level (lv, ln)? */
static bool auth__lit_eq(const struct auth__filter *f, const struct auth__level *l,
			 const struct auth__subst *sub, const char *lv, size_t ln)
{
	const char *want;
	size_t wn;
	switch (l->kind) {
	case AUTH__LVL_CLIENTID:
		want = sub->client_id;
		wn = sub->client_id_len;
		break;
	case AUTH__LVL_USERNAME:
		if (sub->username == NULL)
			return false;
		want = sub->username;
		wn = sub->username_len;
		break;
	case AUTH__LVL_SUBST:
		return auth__subst_eq(f->text + l->off, l->len, sub, lv, ln);
	default:
		want = f->text + l->off;
		wn = l->len;
		break;
	}
	return wn == ln && (ln == 0 || memcmp(want, lv, ln) == 0);
}

/** Both sides must agree on a leading '$' (see the @file comment). */
static bool auth__dollar_ok(const struct auth__filter *f, const char *s, size_t n)
{
	bool sd = n > 0 && s[0] == '$';
	bool fd = f->len > 0 && f->text[0] == '$';
	return sd == fd;
}

bool auth__filter_covers(const struct auth__filter *f, const char *s, size_t n,
			 const struct auth__subst *sub)
{
	if (!auth__dollar_ok(f, s, n))
		return false;
	struct auth__cur c;
	auth__cur_init(&c, s, n);
	for (uint32_t i = 0;; i++) {
		const struct auth__level *r = i < f->nlevels ? &f->levels[i] : NULL;
		if (r != NULL && r->kind == AUTH__LVL_HASH)
			return true;
		const char *lv;
		size_t ln;
		int k = auth__cur_next(&c, &lv, &ln);
		if (k == AUTH__END)
			return r == NULL;
		if (r == NULL || k == AUTH__LVL_HASH)
			return false;
		if (r->kind == AUTH__LVL_PLUS)
			continue;
		if (k == AUTH__LVL_PLUS || !auth__lit_eq(f, r, sub, lv, ln))
			return false;
	}
}

bool auth__filter_intersects(const struct auth__filter *f, const char *s, size_t n,
			     const struct auth__subst *sub)
{
	if (!auth__dollar_ok(f, s, n))
		return false;
	struct auth__cur c;
	auth__cur_init(&c, s, n);
	for (uint32_t i = 0;; i++) {
		const struct auth__level *r = i < f->nlevels ? &f->levels[i] : NULL;
		const char *lv;
		size_t ln;
		int k = auth__cur_next(&c, &lv, &ln);
		if ((r != NULL && r->kind == AUTH__LVL_HASH) || k == AUTH__LVL_HASH)
			return true;
		if (r == NULL || k == AUTH__END)
			return r == NULL && k == AUTH__END;
		if (r->kind == AUTH__LVL_PLUS || k == AUTH__LVL_PLUS)
			continue;
		if (!auth__lit_eq(f, r, sub, lv, ln))
			return false;
	}
}

bool auth__topic_matches(const char *fs, size_t fn, const char *ts, size_t tn)
{
	if ((fn > 0 && fs[0] == '$') != (tn > 0 && ts[0] == '$'))
		return false;
	struct auth__cur fc, tc;
	auth__cur_init(&fc, fs, fn);
	auth__cur_init(&tc, ts, tn);
	for (;;) {
		const char *fl, *tl;
		size_t fln, tln;
		int fk = auth__cur_next(&fc, &fl, &fln);
		if (fk == AUTH__LVL_HASH)
			return true;
		int tk = auth__cur_next(&tc, &tl, &tln);
		if (fk == AUTH__END || tk == AUTH__END)
			return fk == tk;
		if (fk == AUTH__LVL_PLUS)
			continue;
		if (fln != tln || memcmp(fl, tl, fln) != 0)
			return false;
	}
}
