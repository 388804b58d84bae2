/**
 * @file json.c
 * JSON writer (growable buffer, automatic commas, escaping) and a recursive-descent reader
 * that builds a malloc'd tree. See json.h for the contract.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* ------------------------------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------------------------- */

void json_writer_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void json_writer_reset(struct json_writer *w)
{
	char *buf = w->buf;
	size_t cap = w->cap;
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (buf != NULL)
		buf[0] = '\0';
}

const char *json_writer_str(const struct json_writer *w)
{
	if (w->err || w->depth != 0 || w->after_key)
		return NULL;
	return w->buf != NULL ? w->buf : "";
}

static void json__put(struct json_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *nb = realloc(w->buf, cap);
		if (nb == NULL) {
			w->err = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void json__putc(struct json_writer *w, char c)
{
	json__put(w, &c, 1);
}

/* Called before every value: writes the separating comma, and checks that a value is legal
 * here (inside an object, only right after a key). */
static void json__value_prefix(struct json_writer *w)
{
	if (w->depth > 0 && w->in_object[w->depth - 1]) {
		if (!w->after_key) {
			w->err = true;
			return;
		}
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		json__putc(w, ',');
	w->need_comma[w->depth] = true;
}

static void json__open(struct json_writer *w, bool object)
{
	json__value_prefix(w);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->err = true;
		return;
	}
	json__putc(w, object ? '{' : '[');
	w->in_object[w->depth] = object;
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void json__close(struct json_writer *w, bool object)
{
	if (w->depth == 0 || w->in_object[w->depth - 1] != object || w->after_key) {
		w->err = true;
		return;
	}
	w->depth--;
	json__putc(w, object ? '}' : ']');
}

void json_obj_begin(struct json_writer *w) { json__open(w, true); }
void json_obj_end(struct json_writer *w) { json__close(w, true); }
void json_arr_begin(struct json_writer *w) { json__open(w, false); }
void json_arr_end(struct json_writer *w) { json__close(w, false); }

static void json__escaped(struct json_writer *w, const char *s, size_t n)
{
	json__putc(w, '"');
	size_t run = 0; /* start of the current run of bytes that need no escaping */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char ubuf[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
				esc = ubuf;
			}
		}
		if (esc != NULL) {
			json__put(w, s + run, i - run);
			json__put(w, esc, strlen(esc));
			run = i + 1;
		}
	}
	json__put(w, s + run, n - run);
	json__putc(w, '"');
}

void json_key(struct json_writer *w, const char *key)
{
	if (w->depth == 0 || !w->in_object[w->depth - 1] || w->after_key) {
		w->err = true;
		return;
	}
	if (w->need_comma[w->depth])
		json__putc(w, ',');
	w->need_comma[w->depth] = true;
	json__escaped(w, key, strlen(key));
	json__putc(w, ':');
	w->after_key = true;
}

void json_strn(struct json_writer *w, const char *s, size_t len)
{
	json__value_prefix(w);
	json__escaped(w, s, len);
}

void json_str(struct json_writer *w, const char *s)
{
	if (s == NULL) {
		json_null(w);
		return;
	}
	json_strn(w, s, strlen(s));
}

static void json__fmt(struct json_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void json__fmt(struct json_writer *w, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json__value_prefix(w);
	json__put(w, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void json_u64(struct json_writer *w, uint64_t v) { json__fmt(w, "%" PRIu64, v); }
void json_i64(struct json_writer *w, int64_t v) { json__fmt(w, "%" PRId64, v); }
void json_bool(struct json_writer *w, bool v) { json__fmt(w, "%s", v ? "true" : "false"); }
void json_null(struct json_writer *w) { json__fmt(w, "null"); }

void json_raw(struct json_writer *w, const char *s, size_t len)
{
	json__value_prefix(w);
	json__put(w, s, len);
}

void json_double(struct json_writer *w, double v)
{
	if (!isfinite(v)) {
		json_null(w);
		return;
	}
	/* %.17g round-trips every double; it never prints inf/nan here. */
	json__fmt(w, "%.17g", v);
}

void json_kv_str(struct json_writer *w, const char *k, const char *s) { json_key(w, k); json_str(w, s); }
void json_kv_u64(struct json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_u64(w, v); }
void json_kv_i64(struct json_writer *w, const char *k, int64_t v) { json_key(w, k); json_i64(w, v); }
void json_kv_double(struct json_writer *w, const char *k, double v) { json_key(w, k); json_double(w, v); }
void json_kv_bool(struct json_writer *w, const char *k, bool v) { json_key(w, k); json_bool(w, v); }

/* ------------------------------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------------------------- */

struct json__parser {
	const char *p;      /* next byte */
	const char *start;
	const char *end;
	char *err;
	size_t errlen;
	bool failed;
};

static void json__fail(struct json__parser *ps, const char *why)
{
	if (ps->failed)
		return;
	ps->failed = true;
	if (ps->err != NULL && ps->errlen > 0)
		snprintf(ps->err, ps->errlen, "offset %zu: %s", (size_t)(ps->p - ps->start), why);
}

static void json__ws(struct json__parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool json__lit(struct json__parser *ps, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) {
		json__fail(ps, "invalid literal");
		return false;
	}
	ps->p += n;
	return true;
}

static int json__hex4(struct json__parser *ps, unsigned *out)
{
	if (ps->end - ps->p < 4) {
		json__fail(ps, "short \\u escape");
		return -1;
	}
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = ps->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			json__fail(ps, "bad hex digit in \\u escape");
			return -1;
		}
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static size_t json__utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parses a string starting at the opening quote. The decoded text is never longer than the
 * encoded one, so one allocation of the encoded length suffices. */
static char *json__string(struct json__parser *ps, size_t *len_out)
{
	ps->p++; /* opening quote */
	const char *q = ps->p;
	while (q < ps->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= ps->end) {
		json__fail(ps, "unterminated string");
		return NULL;
	}
	char *out = malloc((size_t)(q - ps->p) + 1);
	if (out == NULL) {
		json__fail(ps, "out of memory");
		return NULL;
	}
	size_t n = 0;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		if (c < 0x20) {
			json__fail(ps, "control character in string");
			goto err;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			ps->p++;
			continue;
		}
		ps->p++;
		char e = *ps->p++;
		switch (e) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned cp;
			if (json__hex4(ps, &cp) != 0)
				goto err;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
					json__fail(ps, "lone high surrogate");
					goto err;
				}
				ps->p += 2;
				if (json__hex4(ps, &lo) != 0)
					goto err;
				if (lo < 0xdc00 || lo > 0xdfff) {
					json__fail(ps, "bad low surrogate");
					goto err;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				json__fail(ps, "lone low surrogate");
				goto err;
			}
			/* "\uXXXX" is 6 bytes, its UTF-8 at most 3; a pair is 12 -> 4. */
			n += json__utf8(out + n, cp);
			break;
		}
		default:
			json__fail(ps, "bad escape");
			goto err;
		}
	}
	ps->p++; /* closing quote */
	out[n] = '\0';
	*len_out = n;
	return out;
err:
	free(out);
	return NULL;
}

static bool json__isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static void json__number(struct json__parser *ps, struct json_value *v)
{
	const char *s = ps->p;
	const char *q = s;
	bool integral = true;
	if (q < ps->end && *q == '-')
		q++;
	if (q >= ps->end || !json__isdigit(*q)) {
		json__fail(ps, "bad number");
		return;
	}
	if (*q == '0')
		q++;
	else
		while (q < ps->end && json__isdigit(*q))
			q++;
	if (q < ps->end && *q == '.') {
		integral = false;
		q++;
		if (q >= ps->end || !json__isdigit(*q)) {
			json__fail(ps, "bad fraction");
			return;
		}
		while (q < ps->end && json__isdigit(*q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		integral = false;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || !json__isdigit(*q)) {
			json__fail(ps, "bad exponent");
			return;
		}
		while (q < ps->end && json__isdigit(*q))
			q++;
	}
	char buf[64];
	size_t n = (size_t)(q - s);
	if (n >= sizeof(buf)) {
		json__fail(ps, "number too long");
		return;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	v->type = JSON_NUMBER;
	v->num = strtod(buf, NULL);
	if (integral) {
		errno = 0;
		if (buf[0] == '-') {
			long long i = strtoll(buf, NULL, 10);
			if (errno == 0) {
				v->is_int = true;
				v->is_neg = i < 0;
				v->i = i;
				if (i >= 0) /* "-0" */
					v->u = (uint64_t)i;
			}
		} else {
			unsigned long long u = strtoull(buf, NULL, 10);
			if (errno == 0) {
				v->is_int = true;
				v->u = u;
				if (u <= INT64_MAX)
					v->i = (int64_t)u;
			}
		}
	}
	ps->p = q;
}

static struct json_value *json__value(struct json__parser *ps, unsigned depth);

/* Appends to a growing (items, keys) pair; keys may be NULL for arrays. */
static int json__push(struct json__parser *ps, struct json_value *v, struct json_value *item,
		      char *key, size_t *cap)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct json_value **ni = realloc(v->items, nc * sizeof(*ni));
		if (ni == NULL)
			goto oom;
		v->items = ni;
		if (v->type == JSON_OBJECT) {
			char **nk = realloc(v->keys, nc * sizeof(*nk));
			if (nk == NULL)
				goto oom;
			v->keys = nk;
		}
		*cap = nc;
	}
	v->items[v->n] = item;
	if (v->type == JSON_OBJECT)
		v->keys[v->n] = key;
	v->n++;
	return 0;
oom:
	json__fail(ps, "out of memory");
	json_free(item);
	free(key);
	return -1;
}

static void json__container(struct json__parser *ps, struct json_value *v, unsigned depth)
{
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	size_t cap = 0;
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	if (depth >= JSON_MAX_DEPTH) {
		json__fail(ps, "nesting too deep");
		return;
	}
	ps->p++;
	json__ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return;
	}
	for (;;) {
		char *key = NULL;
		json__ws(ps);
		if (object) {
			size_t klen;
			if (ps->p >= ps->end || *ps->p != '"') {
				json__fail(ps, "expected member name");
				return;
			}
			key = json__string(ps, &klen);
			if (key == NULL)
				return;
			json__ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				json__fail(ps, "expected ':'");
				return;
			}
			ps->p++;
		}
		struct json_value *item = json__value(ps, depth + 1);
		if (item == NULL) {
			free(key);
			return;
		}
		if (json__push(ps, v, item, key, &cap) != 0)
			return;
		json__ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return;
		}
		json__fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return;
	}
}

static struct json_value *json__value(struct json__parser *ps, unsigned depth)
{
	json__ws(ps);
	if (ps->p >= ps->end) {
		json__fail(ps, "unexpected end of input");
		return NULL;
	}
	struct json_value *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		json__fail(ps, "out of memory");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
	case '[':
		json__container(ps, v, depth);
		break;
	case '"':
		v->type = JSON_STRING;
		v->str = json__string(ps, &v->str_len);
		break;
	case 't':
		v->type = JSON_BOOL;
		v->b = json__lit(ps, "true");
		break;
	case 'f':
		v->type = JSON_BOOL;
		json__lit(ps, "false");
		break;
	case 'n':
		v->type = JSON_NULL;
		json__lit(ps, "null");
		break;
	default:
		json__number(ps, v);
		break;
	}
	if (ps->failed) {
		json_free(v);
		return NULL;
	}
	return v;
}

struct json_value *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json__parser ps = {
		.p = text, .start = text, .end = text + len, .err = err, .errlen = errlen,
	};
	struct json_value *v = json__value(&ps, 0);
	if (v == NULL)
		return NULL;
	json__ws(&ps);
	if (ps.p != ps.end) {
		json__fail(&ps, "trailing characters");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json_value *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		json_free(v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const char *json_get_str(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);
	return v != NULL && v->type == JSON_STRING ? v->str : NULL;
}

uint64_t json_get_u64(const struct json_value *obj, const char *key, uint64_t dflt)
{
	const struct json_value *v = json_get(obj, key);
	if (v == NULL || v->type != JSON_NUMBER || !v->is_int || v->is_neg)
		return dflt;
	return v->u;
}

bool json_get_bool(const struct json_value *obj, const char *key, bool dflt)
{
	const struct json_value *v = json_get(obj, key);
	return v != NULL && v->type == JSON_BOOL ? v->b : dflt;
}
