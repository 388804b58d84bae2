/**
 * @file auth_acl.c
 * ACL tables: the acl_file parser, copy-on-write editing, saving, and the fast-path check.
 * The rules and the order of evaluation are in auth_acl.h; the topic matching in
 * auth_topic.c.
 *
 * Layout: each section (anonymous, each user, patterns) keeps its `deny` rules and its
 * granting rules in two arrays, because every matching deny is decisive before any grant
 * (Mosquitto puts denies at the head of its lists for the same reason). Users are found by an
 * open-addressing index over their names, built on the control core as rules are added.
 */
#include "auth/auth_acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"
#include "auth/auth_topic.h"

struct auth__rule {
	struct auth__filter f;  /**< compiled filter */
	uint8_t grant;          /**< enum auth_acl_grant */
};

/** Rules of one section. deny[] holds grant == AUTH_ACL_DENY only, allow[] the others. */
struct auth__ruleset {
	struct auth__rule *deny;
	uint32_t ndeny, cdeny;
	struct auth__rule *allow;
	uint32_t nallow, callow;
};

struct auth__user {
	char *name;             /**< NUL-terminated, as in the `user` line */
	uint32_t name_len;
	struct auth__ruleset rules;
};

/**
 * Invariant: index has index_cap slots (a power of two, at least twice nusers); a slot holds
 * 0 (empty) or 1 + the position of a user in users[]. Users are never removed (a user whose
 * last rule is removed keeps an empty section, which decides nothing), so no tombstones.
 */
struct auth_acl {
	int refcnt;                     /**< atomic */
	struct auth__ruleset anon;      /**< `topic` lines before the first `user` line */
	struct auth__ruleset patterns;  /**< `pattern` lines, for everyone */
	struct auth__user *users;
	uint32_t nusers, cusers;
	uint32_t *index;
	uint32_t index_cap;
};

static const char *const auth__grant_names[] = {"deny", "read", "write", "readwrite"};

/* ---------------------------------------------------------------------------------------- */
/* The check (fast path: no allocation, no locks, no writes but the counters)               */
/* ---------------------------------------------------------------------------------------- */

static const struct auth__user *auth__user_find(const struct auth_acl *acl, const char *name,
						size_t len)
{
	if (acl->index_cap == 0)
		return NULL;
	uint32_t mask = acl->index_cap - 1;
	for (uint32_t i = (uint32_t)auth__hash(name, len) & mask;; i = (i + 1) & mask) {
		uint32_t slot = acl->index[i];
		if (slot == 0)
			return NULL;
		const struct auth__user *u = &acl->users[slot - 1];
		if (u->name_len == len && memcmp(u->name, name, len) == 0)
			return u;
	}
}

/**
 * Evaluate one section. @return -1 a deny rule decides, 1 a grant decides, 0 no decision.
 * For a topic, "covers" is plain matching; for a SUBSCRIBE filter, a deny must cover the whole
 * filter and a grant need only share a topic with it (see auth_acl.h).
 */
static int auth__eval(const struct auth__ruleset *rs, const char *s, size_t n, unsigned bit,
		      bool subscribe, const struct auth__subst *sub)
{
	for (uint32_t i = 0; i < rs->ndeny; i++) {
		const struct auth__filter *f = &rs->deny[i].f;
		if (f->has_username && sub->username == NULL)
			continue;
		if (auth__filter_covers(f, s, n, sub))
			return -1;
	}
	for (uint32_t i = 0; i < rs->nallow; i++) {
		const struct auth__rule *r = &rs->allow[i];
		if (!(r->grant & bit) || (r->f.has_username && sub->username == NULL))
			continue;
		if (subscribe ? auth__filter_intersects(&r->f, s, n, sub)
			      : auth__filter_covers(&r->f, s, n, sub))
			return 1;
	}
	return 0;
}

static bool auth__has_wild(const char *s, size_t n)
{
	return s != NULL && (memchr(s, '+', n) != NULL || memchr(s, '#', n) != NULL);
}

static bool auth__prefix(const char *s, size_t n, const char *p)
{
	size_t pn = strlen(p);
	return n >= pn && memcmp(s, p, pn) == 0;
}

static int auth__check(const struct auth_acl *acl, const struct auth_client *c, const char *s,
		       size_t n, enum auth_acl_access access)
{
	if (access == AUTH_ACL_SUBSCRIBE) {
		if (auth__prefix(s, n, "$share/")) {
			/* $share/<group>/<filter>: the group is one non-empty level without
			 * wildcards; the ACL applies to the filter. */
			const char *g = s + 7;
			const char *slash = memchr(g, '/', n - 7);
			if (slash == NULL || slash == g || auth__has_wild(g, (size_t)(slash - g)))
				return AUTH_ACL_DENY_SHARE;
			n -= (size_t)(slash + 1 - s);
			s = slash + 1;
		}
		if (!auth__is_filter(s, n))
			return AUTH_ACL_DENY_INVALID;
	} else if (access == AUTH_ACL_READ || access == AUTH_ACL_WRITE) {
		if (!auth__is_topic(s, n))
			return AUTH_ACL_DENY_INVALID;
		/* Mosquitto: $share is only ever a subscription prefix. */
		if (auth__prefix(s, n, "$share"))
			return AUTH_ACL_DENY_SHARE;
		/* Mosquitto: nobody writes into $SYS but a bridge reporting its state. */
		static const char bridge_state[] = "$SYS/broker/connection/+/state";
		if (access == AUTH_ACL_WRITE && auth__prefix(s, n, "$SYS") &&
		    !auth__topic_matches(bridge_state, sizeof(bridge_state) - 1, s, n))
			return AUTH_ACL_DENY_SYS;
	} else {
		return AUTH_ACL_DENY_INVALID;
	}
	if (acl == NULL)
		return AUTH_ACL_ALLOW;

	const struct auth__subst sub = {
		.client_id = c->client_id,
		.client_id_len = c->client_id_len,
		.username = c->username,
		.username_len = c->username_len,
	};
	unsigned bit = access == AUTH_ACL_WRITE ? AUTH_ACL_W : AUTH_ACL_R;
	bool subscribe = access == AUTH_ACL_SUBSCRIBE;

	const struct auth__ruleset *own = &acl->anon;
	if (c->username != NULL) {
		const struct auth__user *u = auth__user_find(acl, c->username, c->username_len);
		own = u ? &u->rules : NULL;
	}
	if (own != NULL) {
		int v = auth__eval(own, s, n, bit, subscribe, &sub);
		if (v != 0)
			return v > 0 ? AUTH_ACL_ALLOW : AUTH_ACL_DENY_RULE;
	}
	if (acl->patterns.ndeny + acl->patterns.nallow > 0) {
		if (auth__has_wild(c->username, c->username_len) ||
		    auth__has_wild(c->client_id, c->client_id_len))
			return AUTH_ACL_DENY_UNSAFE_ID;
		int v = auth__eval(&acl->patterns, s, n, bit, subscribe, &sub);
		if (v != 0)
			return v > 0 ? AUTH_ACL_ALLOW : AUTH_ACL_DENY_RULE;
	}
	return AUTH_ACL_DENY_NO_GRANT;
}

int auth_acl_check(const struct auth_acl *acl, const struct auth_client *client,
		   const char *topic, size_t len, enum auth_acl_access access,
		   struct auth_acl_stats *stats)
{
	int r = auth__check(acl, client, topic, len, access);
	if (r != AUTH_ACL_ALLOW && stats != NULL && (unsigned)access < AUTH_ACL_ACCESS_COUNT)
		__atomic_fetch_add(&stats->denied[access][r], 1, __ATOMIC_RELAXED);
	return r;
}

uint64_t auth_acl_stats_get(const struct auth_acl_stats *stats, enum auth_acl_access access,
			    enum auth_acl_deny reason)
{
	if ((unsigned)access >= AUTH_ACL_ACCESS_COUNT || (unsigned)reason >= AUTH_ACL_DENY_COUNT)
		return 0;
	return __atomic_load_n(&stats->denied[access][reason], __ATOMIC_RELAXED);
}

const char *auth_acl_deny_name(int reason)
{
	static const char *const names[AUTH_ACL_DENY_COUNT] = {
		"allow", "rule", "no_grant", "sys", "share", "unsafe_id", "invalid",
	};
	if (reason < 0 || reason >= AUTH_ACL_DENY_COUNT)
		return "unknown";
	return names[reason];
}

/* ---------------------------------------------------------------------------------------- */
/* Building and editing (control core)                                                      */
/* ---------------------------------------------------------------------------------------- */

static void auth__ruleset_fini(struct auth__ruleset *rs)
{
	for (uint32_t i = 0; i < rs->ndeny; i++)
		auth__filter_fini(&rs->deny[i].f);
	for (uint32_t i = 0; i < rs->nallow; i++)
		auth__filter_fini(&rs->allow[i].f);
	free(rs->deny);
	free(rs->allow);
	memset(rs, 0, sizeof(*rs));
}

/** Find a rule by access and exact filter text. @return its array and position, or NULL. */
static struct auth__rule *auth__ruleset_find(struct auth__ruleset *rs, unsigned grant,
					     const char *text, uint32_t *pos)
{
	struct auth__rule *v = grant == AUTH_ACL_DENY ? rs->deny : rs->allow;
	uint32_t n = grant == AUTH_ACL_DENY ? rs->ndeny : rs->nallow;
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].grant == grant && strcmp(v[i].f.text, text) == 0) {
			*pos = i;
			return v;
		}
	}
	return NULL;
}

/** Append a compiled rule; takes ownership of @p f on success only. */
static int auth__ruleset_add(struct auth__ruleset *rs, unsigned grant, struct auth__filter *f)
{
	uint32_t pos;
	if (auth__ruleset_find(rs, grant, f->text, &pos) != NULL)
		return -EEXIST;
	struct auth__rule **v = grant == AUTH_ACL_DENY ? &rs->deny : &rs->allow;
	uint32_t *n = grant == AUTH_ACL_DENY ? &rs->ndeny : &rs->nallow;
	uint32_t *cap = grant == AUTH_ACL_DENY ? &rs->cdeny : &rs->callow;
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 4;
		struct auth__rule *nv = realloc(*v, nc * sizeof(**v));
		if (nv == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*n].f = *f;
	(*v)[*n].grant = (uint8_t)grant;
	(*n)++;
	return 0;
}

static int auth__index_rebuild(struct auth_acl *acl, uint32_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	for (uint32_t u = 0; u < acl->nusers; u++) {
		uint32_t i = (uint32_t)auth__hash(acl->users[u].name, acl->users[u].name_len) &
			     (cap - 1);
		while (idx[i] != 0)
			i = (i + 1) & (cap - 1);
		idx[i] = u + 1;
	}
	free(acl->index);
	acl->index = idx;
	acl->index_cap = cap;
	return 0;
}

/** The section of user @p name, created if needed. @return NULL on ENOMEM. */
static struct auth__ruleset *auth__user_rules(struct auth_acl *acl, const char *name)
{
	size_t len = strlen(name);
	const struct auth__user *found = auth__user_find(acl, name, len);
	if (found != NULL)
		return &acl->users[found - acl->users].rules;
	if (acl->nusers == acl->cusers) {
		uint32_t nc = acl->cusers ? acl->cusers * 2 : 8;
		struct auth__user *nu = realloc(acl->users, nc * sizeof(*nu));
		if (nu == NULL)
			return NULL;
		acl->users = nu;
		acl->cusers = nc;
	}
	struct auth__user *u = &acl->users[acl->nusers];
	memset(u, 0, sizeof(*u));
	u->name = auth__strndup(name, len);
	if (u->name == NULL)
		return NULL;
	u->name_len = (uint32_t)len;
	acl->nusers++;
	/* Keep the load factor at or under one half so probes stay short. */
	if (acl->nusers * 2 > acl->index_cap) {
		uint32_t cap = acl->index_cap ? acl->index_cap : 16;
		while (acl->nusers * 2 > cap)
			cap *= 2;
		if (auth__index_rebuild(acl, cap) != 0) {
			acl->nusers--;
			free(u->name);
			return NULL;
		}
	} else {
		uint32_t mask = acl->index_cap - 1;
		uint32_t i = (uint32_t)auth__hash(name, len) & mask;
		while (acl->index[i] != 0)
			i = (i + 1) & mask;
		acl->index[i] = acl->nusers;
	}
	return &u->rules;
}

struct auth_acl *auth_acl_new(void)
{
	struct auth_acl *acl = calloc(1, sizeof(*acl));
	if (acl != NULL)
		acl->refcnt = 1;
	return acl;
}

static void auth__acl_free(struct auth_acl *acl)
{
	auth__ruleset_fini(&acl->anon);
	auth__ruleset_fini(&acl->patterns);
	for (uint32_t u = 0; u < acl->nusers; u++) {
		auth__ruleset_fini(&acl->users[u].rules);
		free(acl->users[u].name);
	}
	free(acl->users);
	free(acl->index);
	free(acl);
}

struct auth_acl *auth_acl_ref(struct auth_acl *acl)
{
	__atomic_fetch_add(&acl->refcnt, 1, __ATOMIC_RELAXED);
	return acl;
}

void auth_acl_unref(struct auth_acl *acl)
{
	if (acl != NULL && __atomic_sub_fetch(&acl->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		auth__acl_free(acl);
}

/** Is @p s usable as a username or filter in a file line (no breaks, no outer blanks)? */
static bool auth__line_safe(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > AUTH__MAX_STR || strpbrk(s, "\r\n") != NULL)
		return false;
	return !auth__is_blank(s[0]) && !auth__is_blank(s[n - 1]);
}

/** Add without the line-safety checks (the parser has already trimmed). */
static int auth__add(struct auth_acl *acl, enum auth_acl_kind kind, const char *user,
		     unsigned grant, const char *filter, size_t flen, char *why, size_t whylen)
{
	struct auth__filter f;
	if (auth__filter_compile(&f, filter, flen, kind == AUTH_ACL_PATTERN, why, whylen) != 0)
		return f.text == NULL && auth__is_filter(filter, flen) ? -ENOMEM : -EINVAL;
	struct auth__ruleset *rs;
	if (kind == AUTH_ACL_PATTERN)
		rs = &acl->patterns;
	else if (user == NULL)
		rs = &acl->anon;
	else
		rs = auth__user_rules(acl, user);
	int rc = rs ? auth__ruleset_add(rs, grant, &f) : -ENOMEM;
	if (rc != 0)
		auth__filter_fini(&f);
	if (rc == -ENOMEM)
		auth__err(why, whylen, "out of memory");
	return rc;
}

int auth_acl_add_rule(struct auth_acl *acl, enum auth_acl_kind kind, const char *user,
		      enum auth_acl_grant grant, const char *filter, char *err, size_t errlen)
{
	if ((unsigned)grant > AUTH_ACL_RW || (kind != AUTH_ACL_TOPIC && kind != AUTH_ACL_PATTERN)) {
		auth__err(err, errlen, "invalid rule kind or access");
		return -EINVAL;
	}
	if (kind == AUTH_ACL_PATTERN && user != NULL) {
		auth__err(err, errlen, "a pattern applies to every user; give no user");
		return -EINVAL;
	}
	if (user != NULL && !auth__line_safe(user)) {
		auth__err(err, errlen, "invalid username (empty, too long, line break, or blanks "
				       "at either end)");
		return -EINVAL;
	}
	if (filter == NULL || !auth__line_safe(filter)) {
		auth__err(err, errlen, "invalid topic filter (empty, too long, line break, or "
				       "blanks at either end)");
		return -EINVAL;
	}
	int rc = auth__add(acl, kind, user, grant, filter, strlen(filter), err, errlen);
	if (rc == -EEXIST)
		auth__err(err, errlen, "the rule '%s %s %s' is already there",
			  kind == AUTH_ACL_PATTERN ? "pattern" : "topic", auth__grant_names[grant],
			  filter);
	return rc;
}

int auth_acl_remove_rule(struct auth_acl *acl, enum auth_acl_kind kind, const char *user,
			 enum auth_acl_grant grant, const char *filter)
{
	if ((unsigned)grant > AUTH_ACL_RW || filter == NULL)
		return -ENOENT;
	struct auth__ruleset *rs = NULL;
	if (kind == AUTH_ACL_PATTERN) {
		rs = user == NULL ? &acl->patterns : NULL;
	} else if (user == NULL) {
		rs = &acl->anon;
	} else {
		const struct auth__user *u = auth__user_find(acl, user, strlen(user));
		rs = u ? &acl->users[u - acl->users].rules : NULL;
	}
	uint32_t pos;
	struct auth__rule *v = rs ? auth__ruleset_find(rs, grant, filter, &pos) : NULL;
	if (v == NULL)
		return -ENOENT;
	uint32_t *n = grant == AUTH_ACL_DENY ? &rs->ndeny : &rs->nallow;
	auth__filter_fini(&v[pos].f);
	memmove(&v[pos], &v[pos + 1], (*n - pos - 1) * sizeof(*v));
	(*n)--;
	return 0;
}

static size_t auth__ruleset_count(const struct auth__ruleset *rs)
{
	return (size_t)rs->ndeny + rs->nallow;
}

size_t auth_acl_rule_count(const struct auth_acl *acl)
{
	size_t n = auth__ruleset_count(&acl->anon) + auth__ruleset_count(&acl->patterns);
	for (uint32_t u = 0; u < acl->nusers; u++)
		n += auth__ruleset_count(&acl->users[u].rules);
	return n;
}

static int auth__ruleset_copy(struct auth_acl *dst, enum auth_acl_kind kind, const char *user,
			      const struct auth__ruleset *rs)
{
	const struct auth__rule *arrs[2] = {rs->deny, rs->allow};
	uint32_t ns[2] = {rs->ndeny, rs->nallow};
	for (int a = 0; a < 2; a++) {
		for (uint32_t i = 0; i < ns[a]; i++) {
			const struct auth__rule *r = &arrs[a][i];
			int rc = auth__add(dst, kind, user, r->grant, r->f.text, r->f.len, NULL, 0);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

struct auth_acl *auth_acl_clone(const struct auth_acl *acl)
{
	struct auth_acl *c = auth_acl_new();
	if (c == NULL)
		return NULL;
	if (auth__ruleset_copy(c, AUTH_ACL_TOPIC, NULL, &acl->anon) != 0 ||
	    auth__ruleset_copy(c, AUTH_ACL_PATTERN, NULL, &acl->patterns) != 0)
		goto fail;
	for (uint32_t u = 0; u < acl->nusers; u++) {
		/* Keep users with empty sections too, so the copy is exact. */
		if (auth__user_rules(c, acl->users[u].name) == NULL ||
		    auth__ruleset_copy(c, AUTH_ACL_TOPIC, acl->users[u].name,
				       &acl->users[u].rules) != 0)
			goto fail;
	}
	return c;
fail:
	auth_acl_unref(c);
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The file                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/** Split off the first blank-separated word of (*s, *n); the rest is left trimmed. */
static void auth__word(const char **s, size_t *n, const char **w, size_t *wn)
{
	const char *p = *s, *e = *s + *n;
	const char *q = p;
	while (q < e && *q != ' ' && *q != '\t')
		q++;
	*w = p;
	*wn = (size_t)(q - p);
	*s = q;
	*n = (size_t)(e - q);
	auth__trim(s, n);
}

static bool auth__word_is(const char *w, size_t wn, const char *lit)
{
	return wn == strlen(lit) && memcmp(w, lit, wn) == 0;
}

struct auth_acl *auth_acl_parse(const char *buf, size_t len, const char *name, char *err,
				size_t errlen)
{
	struct auth_acl *acl = auth_acl_new();
	char *user = NULL;
	char why[256];
	if (acl == NULL) {
		auth__err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	struct auth__lines it;
	auth__lines_init(&it, buf, len);
	const char *line;
	size_t n;
	while (auth__lines_next(&it, &line, &n)) {
		auth__trim(&line, &n);
		if (n == 0 || line[0] == '#')
			continue;
		if (memchr(line, '\0', n) != NULL) {
			auth__err(err, errlen, "%s:%u: NUL byte in line", name, it.lineno);
			goto fail;
		}
		const char *kw;
		size_t kwn;
		auth__word(&line, &n, &kw, &kwn);
		bool pattern = auth__word_is(kw, kwn, "pattern");
		if (pattern || auth__word_is(kw, kwn, "topic")) {
			if (n == 0) {
				auth__err(err, errlen, "%s:%u: '%.*s' needs a topic filter", name,
					  it.lineno, (int)kwn, kw);
				goto fail;
			}
			/* `topic <filter>` or `topic <access> <filter>`: as in Mosquitto, a single
			 * word is the filter; with more, the first word must be the access. */
			const char *rest = line, *acc;
			size_t restn = n, accn;
			auth__word(&rest, &restn, &acc, &accn);
			unsigned grant = AUTH_ACL_RW;
			if (restn == 0) {
				rest = acc;
				restn = accn;
			} else {
				unsigned g;
				for (g = 0; g <= AUTH_ACL_RW; g++)
					if (auth__word_is(acc, accn, auth__grant_names[g]))
						break;
				if (g > AUTH_ACL_RW) {
					auth__err(err, errlen,
						  "%s:%u: unknown access '%.*s' (allowed: read, write, "
						  "readwrite, deny)",
						  name, it.lineno, (int)(accn > 64 ? 64 : accn), acc);
					goto fail;
				}
				grant = g;
			}
			int rc = auth__add(acl, pattern ? AUTH_ACL_PATTERN : AUTH_ACL_TOPIC,
					   pattern ? NULL : user, grant, rest, restn, why,
					   sizeof(why));
			/* A repeated line changes nothing; Mosquitto accepts it, so do we. */
			if (rc != 0 && rc != -EEXIST) {
				auth__err(err, errlen, "%s:%u: %s", name, it.lineno, why);
				goto fail;
			}
		} else if (auth__word_is(kw, kwn, "user")) {
			if (n == 0) {
				auth__err(err, errlen, "%s:%u: 'user' needs a username", name,
					  it.lineno);
				goto fail;
			}
			if (n > AUTH__MAX_STR) {
				auth__err(err, errlen, "%s:%u: username longer than %u bytes", name,
					  it.lineno, AUTH__MAX_STR);
				goto fail;
			}
			free(user);
			user = auth__strndup(line, n);
			if (user == NULL) {
				auth__err(err, errlen, "%s:%u: out of memory", name, it.lineno);
				goto fail;
			}
		} else {
			auth__err(err, errlen,
				  "%s:%u: unknown keyword '%.*s' (allowed: topic, pattern, user)", name,
				  it.lineno, (int)(kwn > 64 ? 64 : kwn), kw);
			goto fail;
		}
	}
	free(user);
	return acl;
fail:
	free(user);
	auth_acl_unref(acl);
	return NULL;
}

struct auth_acl *auth_acl_load(const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	if (auth__read_file(path, &buf, &len, err, errlen) != 0)
		return NULL;
	struct auth_acl *acl = auth_acl_parse(buf, len, path, err, errlen);
	free(buf);
	return acl;
}

/** A growing output string for auth_acl_format(). */
struct auth__out {
	char *s;
	size_t n, cap;
	bool oom;
};

static void auth__put(struct auth__out *o, const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	for (int i = 0; i < 3 && !o->oom; i++) {
		if (parts[i] == NULL)
			continue;
		size_t k = strlen(parts[i]);
		if (o->n + k + 1 > o->cap) {
			size_t nc = o->cap ? o->cap : 256;
			while (o->n + k + 1 > nc)
				nc *= 2;
			char *ns = realloc(o->s, nc);
			if (ns == NULL) {
				o->oom = true;
				return;
			}
			o->s = ns;
			o->cap = nc;
		}
		memcpy(o->s + o->n, parts[i], k + 1);
		o->n += k;
	}
}

static void auth__put_rules(struct auth__out *o, const char *kw, const struct auth__ruleset *rs)
{
	const struct auth__rule *arrs[2] = {rs->deny, rs->allow};
	uint32_t ns[2] = {rs->ndeny, rs->nallow};
	for (int a = 0; a < 2; a++) {
		for (uint32_t i = 0; i < ns[a]; i++) {
			auth__put(o, kw, auth__grant_names[arrs[a][i].grant], " ");
			auth__put(o, arrs[a][i].f.text, "\n", NULL);
		}
	}
}

char *auth_acl_format(const struct auth_acl *acl, size_t *len)
{
	struct auth__out o = {0};
	auth__put(&o, "# ACL file in Mosquitto's acl_file format, written by Tachyon.\n", NULL,
		  NULL);
	auth__put_rules(&o, "topic ", &acl->anon);
	auth__put_rules(&o, "pattern ", &acl->patterns);
	for (uint32_t u = 0; u < acl->nusers; u++) {
		const struct auth__user *us = &acl->users[u];
		if (auth__ruleset_count(&us->rules) == 0)
			continue;
		auth__put(&o, "\nuser ", us->name, "\n");
		auth__put_rules(&o, "topic ", &us->rules);
	}
	if (o.oom) {
		free(o.s);
		return NULL;
	}
	if (len != NULL)
		*len = o.n;
	return o.s;
}

int auth_acl_save(const struct auth_acl *acl, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = auth_acl_format(acl, &len);
	if (text == NULL) {
		auth__err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = auth__write_atomic(path, text, len, 0644, err, errlen);
	free(text);
	return rc;
}
