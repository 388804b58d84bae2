/**
 * @file auth_passwd.c
 * Password tables: mosquitto_passwd's file format, verification, atomic rewrite.
 * The formats and the rules are in auth_passwd.h.
 *
 * Each entry keeps its hash decoded (for verification) and its text as read (for saving, so
 * a rewrite never changes a line we did not mean to touch). Users are found through an
 * open-addressing index over their names; it is rebuilt after a delete, which is a rare,
 * control-core operation.
 */
#include "auth/auth_passwd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#ifdef AUTH_HAVE_ARGON2
#include <argon2.h>
#endif

#include "auth/auth_int.h"

#define AUTH__HASH_LEN 64       /* SHA-512 output, the only length mosquitto writes */
#define AUTH__SALT_MAX 64

enum auth__pw_type {
	AUTH__PW_SHA512 = 6,    /* $6$ */
	AUTH__PW_PBKDF2 = 7,    /* $7$ */
	AUTH__PW_ARGON2ID = 8,  /* $argon2id$, verified by libargon2 from the text */
};

struct auth__pwent {
	char *user;               /**< NUL-terminated */
	uint32_t user_len;
	char *text;               /**< the hash as in the file (NUL-terminated) */
	uint8_t type;             /**< enum auth__pw_type */
	uint8_t salt_len;
	uint32_t iterations;      /**< $7$ only */
	uint8_t salt[AUTH__SALT_MAX];
	uint8_t hash[AUTH__HASH_LEN];
};

/** Invariant: index_cap is 0 or a power of two >= 2 * n; slots hold 0 or 1 + entry index. */
struct auth_passwd {
	int refcnt;               /**< atomic */
	struct auth__pwent *e;
	uint32_t n, cap;
	uint32_t *index;
	uint32_t index_cap;
};

bool auth_passwd_have_argon2(void)
{
#ifdef AUTH_HAVE_ARGON2
	return true;
#else
	return false;
#endif
}

/* ---------------------------------------------------------------------------------------- */
/* Digests and verification                                                                  */
/* ---------------------------------------------------------------------------------------- */

/** Compute the $6$ or $7$ digest of @p pass for entry @p e. @return 0 or -1. */
static int auth__digest(const struct auth__pwent *e, const char *pass, size_t plen,
			uint8_t out[AUTH__HASH_LEN])
{
	if (pass == NULL)
		pass = "";
	if (e->type == AUTH__PW_PBKDF2) {
		return PKCS5_PBKDF2_HMAC(pass, (int)plen, e->salt, e->salt_len, (int)e->iterations,
					 EVP_sha512(), AUTH__HASH_LEN, out) == 1
			       ? 0
			       : -1;
	}
	/* $6$: a single SHA-512 over password then salt, as mosquitto 1.6 did. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int olen = 0;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, pass, plen) == 1 &&
		 EVP_DigestUpdate(ctx, e->salt, e->salt_len) == 1 &&
		 EVP_DigestFinal_ex(ctx, out, &olen) == 1 && olen == AUTH__HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static const struct auth__pwent *auth__find(const struct auth_passwd *pw, const char *user,
					    size_t len)
{
	if (pw->index_cap == 0)
		return NULL;
	uint32_t mask = pw->index_cap - 1;
	for (uint32_t i = (uint32_t)auth__hash(user, len) & mask;; i = (i + 1) & mask) {
		uint32_t slot = pw->index[i];
		if (slot == 0)
			return NULL;
		const struct auth__pwent *e = &pw->e[slot - 1];
		if (e->user_len == len && memcmp(e->user, user, len) == 0)
			return e;
	}
}

int auth_passwd_verify(const struct auth_passwd *pw, const char *user, size_t ulen,
		       const char *pass, size_t plen)
{
	uint8_t out[AUTH__HASH_LEN];
	const struct auth__pwent *e = user ? auth__find(pw, user, ulen) : NULL;
	if (e == NULL) {
		/* Spend what a real $7$ check costs, so response time does not reveal which
		 * usernames exist. */
		static const struct auth__pwent dummy = {
			.type = AUTH__PW_PBKDF2,
			.salt_len = AUTH_PW_SALT_LEN,
			.iterations = AUTH_PW_DEFAULT_ITERATIONS,
		};
		(void)auth__digest(&dummy, pass, plen, out);
		return AUTH_PW_UNKNOWN_USER;
	}
	if (e->type == AUTH__PW_ARGON2ID) {
#ifdef AUTH_HAVE_ARGON2
		int rc = argon2id_verify(e->text, pass ? pass : "", plen);
		if (rc == ARGON2_OK)
			return AUTH_PW_OK;
		return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? AUTH_PW_ERROR : AUTH_PW_BAD_PASSWORD;
#else
		return AUTH_PW_ERROR; /* not reached: such files are refused at load */
#endif
	}
	if (auth__digest(e, pass, plen, out) != 0)
		return AUTH_PW_ERROR;
	return CRYPTO_memcmp(out, e->hash, AUTH__HASH_LEN) == 0 ? AUTH_PW_OK : AUTH_PW_BAD_PASSWORD;
}

bool auth_passwd_has_user(const struct auth_passwd *pw, const char *user)
{
	return auth__find(pw, user, strlen(user)) != NULL;
}

size_t auth_passwd_count(const struct auth_passwd *pw)
{
	return pw->n;
}

const char *auth_passwd_user_at(const struct auth_passwd *pw, size_t i)
{
	return i < pw->n ? pw->e[i].user : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing one hash                                                                          */
/* ---------------------------------------------------------------------------------------- */

/** Split the next '$'-separated field off (*s, *n). @return false if there is none. */
static bool auth__field(const char **s, size_t *n, const char **f, size_t *fn)
{
	if (*n == 0)
		return false;
	const char *d = memchr(*s, '$', *n);
	*f = *s;
	*fn = d ? (size_t)(d - *s) : *n;
	*s = d ? d + 1 : *s + *n;
	*n = d ? *n - *fn - 1 : 0;
	return true;
}

static bool auth__starts(const char *s, size_t n, const char *p)
{
	size_t pn = strlen(p);
	return n >= pn && memcmp(s, p, pn) == 0;
}

/** Decode a hash text into @p e (not text/user). @return 0 or -1 with @p why. */
static int auth__parse_hash(struct auth__pwent *e, const char *s, size_t n, char *why,
			    size_t whylen)
{
	const char *f;
	size_t fn;
	if (auth__starts(s, n, "$argon2id$")) {
#ifdef AUTH_HAVE_ARGON2
		/* $argon2id$v=..$m=..,t=..,p=..$salt$hash: libargon2 checks the details at
		 * verify time; check the shape here so a truncated line fails the load. */
		s += 10;
		n -= 10;
		int fields = 0;
		while (auth__field(&s, &n, &f, &fn)) {
			if (fn == 0)
				break;
			fields++;
		}
		if (fields != 4 || n != 0) {
			auth__err(why, whylen, "malformed $argon2id$ hash");
			return -1;
		}
		e->type = AUTH__PW_ARGON2ID;
		return 0;
#else
		auth__err(why, whylen, "$argon2id$ hashes need a Tachyon built with libargon2");
		return -1;
#endif
	}
	bool pbkdf2 = auth__starts(s, n, "$7$");
	if (!pbkdf2 && !auth__starts(s, n, "$6$")) {
		if (n > 0 && s[0] == '$')
			auth__err(why, whylen, "unknown hash type (allowed: $7$, $6$%s)",
				  auth_passwd_have_argon2() ? ", $argon2id$" : "");
		else
			auth__err(why, whylen, "password is not hashed; convert the file with "
					       "mosquitto_passwd -U");
		return -1;
	}
	s += 3;
	n -= 3;
	e->type = pbkdf2 ? AUTH__PW_PBKDF2 : AUTH__PW_SHA512;
	if (pbkdf2) {
		if (!auth__field(&s, &n, &f, &fn) || fn == 0) {
			auth__err(why, whylen, "missing iteration count in $7$ hash");
			return -1;
		}
		uint64_t it = 0;
		for (size_t i = 0; i < fn; i++) {
			if (f[i] < '0' || f[i] > '9') {
				auth__err(why, whylen, "bad iteration count in $7$ hash");
				return -1;
			}
			if (it <= AUTH_PW_MAX_ITERATIONS) /* saturate: no overflow on long input */
				it = it * 10 + (uint64_t)(f[i] - '0');
		}
		if (it < 1 || it > AUTH_PW_MAX_ITERATIONS) {
			auth__err(why, whylen, "iteration count out of range (allowed: 1..%u)",
				  AUTH_PW_MAX_ITERATIONS);
			return -1;
		}
		e->iterations = (uint32_t)it;
	}
	long k;
	if (!auth__field(&s, &n, &f, &fn) ||
	    (k = auth__b64_decode(f, fn, e->salt, sizeof(e->salt))) < 1) {
		auth__err(why, whylen, "bad salt (base64 of 1..%d bytes expected)", AUTH__SALT_MAX);
		return -1;
	}
	e->salt_len = (uint8_t)k;
	if (!auth__field(&s, &n, &f, &fn) || n != 0 ||
	    auth__b64_decode(f, fn, e->hash, sizeof(e->hash)) != AUTH__HASH_LEN) {
		auth__err(why, whylen, "bad hash (base64 of %d bytes expected)", AUTH__HASH_LEN);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Tables                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static int auth__index_rebuild(struct auth_passwd *pw)
{
	uint32_t cap = 16;
	while (cap < pw->n * 2 + 2)
		cap *= 2;
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < pw->n; k++) {
		uint32_t i = (uint32_t)auth__hash(pw->e[k].user, pw->e[k].user_len) & (cap - 1);
		while (idx[i] != 0)
			i = (i + 1) & (cap - 1);
		idx[i] = k + 1;
	}
	free(pw->index);
	pw->index = idx;
	pw->index_cap = cap;
	return 0;
}

/** Append @p e (taking its strings) and index it. @return 0 or -ENOMEM (e untouched). */
static int auth__append(struct auth_passwd *pw, const struct auth__pwent *e)
{
	if (pw->n == pw->cap) {
		uint32_t nc = pw->cap ? pw->cap * 2 : 16;
		struct auth__pwent *ne = realloc(pw->e, nc * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		pw->e = ne;
		pw->cap = nc;
	}
	pw->e[pw->n++] = *e;
	if ((pw->n * 2 + 2 > pw->index_cap)) {
		if (auth__index_rebuild(pw) != 0) {
			pw->n--;
			return -ENOMEM;
		}
		return 0;
	}
	uint32_t mask = pw->index_cap - 1;
	uint32_t i = (uint32_t)auth__hash(e->user, e->user_len) & mask;
	while (pw->index[i] != 0)
		i = (i + 1) & mask;
	pw->index[i] = pw->n;
	return 0;
}

struct auth_passwd *auth_passwd_new(void)
{
	struct auth_passwd *pw = calloc(1, sizeof(*pw));
	if (pw != NULL)
		pw->refcnt = 1;
	return pw;
}

static void auth__ent_free(struct auth__pwent *e)
{
	free(e->user);
	free(e->text);
}

static void auth__passwd_free(struct auth_passwd *pw)
{
	for (uint32_t i = 0; i < pw->n; i++)
		auth__ent_free(&pw->e[i]);
	/* Hashes are not secrets the way passwords are, but there is no reason to leave them
	 * in freed memory either. */
	if (pw->e != NULL)
		OPENSSL_cleanse(pw->e, pw->cap * sizeof(*pw->e));
	free(pw->e);
	free(pw->index);
	free(pw);
}

struct auth_passwd *auth_passwd_ref(struct auth_passwd *pw)
{
	__atomic_fetch_add(&pw->refcnt, 1, __ATOMIC_RELAXED);
	return pw;
}

void auth_passwd_unref(struct auth_passwd *pw)
{
	if (pw != NULL && __atomic_sub_fetch(&pw->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		auth__passwd_free(pw);
}

struct auth_passwd *auth_passwd_clone(const struct auth_passwd *pw)
{
	struct auth_passwd *c = auth_passwd_new();
	if (c == NULL)
		return NULL;
	for (uint32_t i = 0; i < pw->n; i++) {
		struct auth__pwent e = pw->e[i];
		e.user = auth__strndup(pw->e[i].user, pw->e[i].user_len);
		e.text = auth__strndup(pw->e[i].text, strlen(pw->e[i].text));
		if (e.user == NULL || e.text == NULL || auth__append(c, &e) != 0) {
			auth__ent_free(&e);
			auth_passwd_unref(c);
			return NULL;
		}
	}
	return c;
}

struct auth_passwd *auth_passwd_parse(const char *buf, size_t len, const char *name, char *err,
				      size_t errlen)
{
	struct auth_passwd *pw = auth_passwd_new();
	if (pw == NULL) {
		auth__err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	struct auth__lines it;
	auth__lines_init(&it, buf, len);
	const char *line;
	size_t n;
	char why[160];
	while (auth__lines_next(&it, &line, &n)) {
		auth__trim(&line, &n);
		if (n == 0 || line[0] == '#')
			continue;
		if (memchr(line, '\0', n) != NULL) {
			auth__err(err, errlen, "%s:%u: NUL byte in line", name, it.lineno);
			goto fail;
		}
		const char *colon = memchr(line, ':', n);
		if (colon == NULL) {
			auth__err(err, errlen, "%s:%u: expected 'username:hash'", name, it.lineno);
			goto fail;
		}
		const char *u = line, *h = colon + 1;
		size_t un = (size_t)(colon - line), hn = n - un - 1;
		auth__trim(&u, &un);
		auth__trim(&h, &hn);
		if (un == 0 || un > AUTH__MAX_STR) {
			auth__err(err, errlen, "%s:%u: empty or over-long username", name, it.lineno);
			goto fail;
		}
		if (hn == 0) {
			auth__err(err, errlen, "%s:%u: user '%.*s' has no password hash", name,
				  it.lineno, (int)(un > 64 ? 64 : un), u);
			goto fail;
		}
		if (auth__find(pw, u, un) != NULL) {
			auth__err(err, errlen, "%s:%u: user '%.*s' appears twice", name, it.lineno,
				  (int)(un > 64 ? 64 : un), u);
			goto fail;
		}
		struct auth__pwent e;
		memset(&e, 0, sizeof(e));
		if (auth__parse_hash(&e, h, hn, why, sizeof(why)) != 0) {
			auth__err(err, errlen, "%s:%u: user '%.*s': %s", name, it.lineno,
				  (int)(un > 64 ? 64 : un), u, why);
			goto fail;
		}
		e.user = auth__strndup(u, un);
		e.user_len = (uint32_t)un;
		e.text = auth__strndup(h, hn);
		if (e.user == NULL || e.text == NULL || auth__append(pw, &e) != 0) {
			auth__ent_free(&e);
			auth__err(err, errlen, "%s:%u: out of memory", name, it.lineno);
			goto fail;
		}
	}
	return pw;
fail:
	auth_passwd_unref(pw);
	return NULL;
}

struct auth_passwd *auth_passwd_load(const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	if (auth__read_file(path, &buf, &len, err, errlen) != 0)
		return NULL;
	struct auth_passwd *pw = auth_passwd_parse(buf, len, path, err, errlen);
	free(buf);
	return pw;
}

/* ---------------------------------------------------------------------------------------- */
/* Editing and saving                                                                        */
/* ---------------------------------------------------------------------------------------- */

int auth_passwd_set(struct auth_passwd *pw, const char *user, const char *pass, size_t plen)
{
	size_t un = user ? strlen(user) : 0;
	if (un == 0 || un > AUTH__MAX_STR || strpbrk(user, ":\r\n") != NULL ||
	    auth__is_blank(user[0]) || auth__is_blank(user[un - 1]) || user[0] == '#')
		return -EINVAL;
	if (plen > AUTH__MAX_STR)
		return -EINVAL;

	struct auth__pwent e;
	memset(&e, 0, sizeof(e));
	e.type = AUTH__PW_PBKDF2;
	e.iterations = AUTH_PW_DEFAULT_ITERATIONS;
	e.salt_len = AUTH_PW_SALT_LEN;
	if (RAND_bytes(e.salt, AUTH_PW_SALT_LEN) != 1 || auth__digest(&e, pass, plen, e.hash) != 0)
		return -EIO;

	char salt64[AUTH__B64_LEN(AUTH_PW_SALT_LEN) + 1];
	char hash64[AUTH__B64_LEN(AUTH__HASH_LEN) + 1];
	auth__b64_encode(e.salt, AUTH_PW_SALT_LEN, salt64);
	auth__b64_encode(e.hash, AUTH__HASH_LEN, hash64);
	char text[sizeof(salt64) + sizeof(hash64) + 32];
	snprintf(text, sizeof(text), "$7$%u$%s$%s", AUTH_PW_DEFAULT_ITERATIONS, salt64, hash64);
	e.text = auth__strndup(text, strlen(text));
	if (e.text == NULL)
		return -ENOMEM;

	const struct auth__pwent *old = auth__find(pw, user, un);
	if (old != NULL) {
		struct auth__pwent *o = &pw->e[old - pw->e];
		e.user = o->user;
		e.user_len = o->user_len;
		free(o->text);
		*o = e;
		return 0;
	}
	e.user = auth__strndup(user, un);
	e.user_len = (uint32_t)un;
	if (e.user == NULL || auth__append(pw, &e) != 0) {
		auth__ent_free(&e);
		return -ENOMEM;
	}
	return 0;
}

int auth_passwd_delete(struct auth_passwd *pw, const char *user)
{
	const struct auth__pwent *old = user ? auth__find(pw, user, strlen(user)) : NULL;
	if (old == NULL)
		return -ENOENT;
	uint32_t k = (uint32_t)(old - pw->e);
	auth__ent_free(&pw->e[k]);
	memmove(&pw->e[k], &pw->e[k + 1], (pw->n - k - 1) * sizeof(*pw->e));
	pw->n--;
	if (auth__index_rebuild(pw) != 0) {
		/* Keep lookups correct without the new index: rebuild in place. Capacity is
		 * unchanged and large enough, so this cannot fail. */
		memset(pw->index, 0, pw->index_cap * sizeof(*pw->index));
		uint32_t mask = pw->index_cap - 1;
		for (uint32_t j = 0; j < pw->n; j++) {
			uint32_t i = (uint32_t)auth__hash(pw->e[j].user, pw->e[j].user_len) & mask;
			while (pw->index[i] != 0)
				i = (i + 1) & mask;
			pw->index[i] = j + 1;
		}
	}
	return 0;
}

int auth_passwd_save(const struct auth_passwd *pw, const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	for (uint32_t i = 0; i < pw->n; i++)
		len += pw->e[i].user_len + 1 + strlen(pw->e[i].text) + 1;
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		auth__err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	size_t o = 0;
	for (uint32_t i = 0; i < pw->n; i++) {
		size_t tn = strlen(pw->e[i].text);
		memcpy(buf + o, pw->e[i].user, pw->e[i].user_len);
		o += pw->e[i].user_len;
		buf[o++] = ':';
		memcpy(buf + o, pw->e[i].text, tn);
		o += tn;
		buf[o++] = '\n';
	}
	int rc = auth__write_atomic(path, buf, o, 0600, err, errlen);
	free(buf);
	return rc;
}
