/**
 * @file prom.c
 * The Prometheus text exposition builder (see prom.h): families with their formatted sample
 * lines, name validation, escaping, duplicate-series refusal, rendering.
 *
 * Samples are formatted as they are added (into the family's line buffer) rather than kept
 * as structures: the only thing ever done with them is printing, and a scrape of a big broker
 * is a few thousand lines, so one buffer per family is both the simplest and the cheapest.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* ---- prom_buf ---------------------------------------------------------------------- */

static int prom__buf_reserve(struct prom_buf *b, size_t extra)
{
	if (b->err)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			b->err = true;
			return -1;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->err = true;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int prom_buf_put(struct prom_buf *b, const void *data, size_t len)
{
	if (prom__buf_reserve(b, len) != 0)
		return -1;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int prom_buf_puts(struct prom_buf *b, const char *s)
{
	return prom_buf_put(b, s, strlen(s));
}

int prom_buf_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || prom__buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void prom_buf_free(struct prom_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- names and values -------------------------------------------------------------- */

bool prom_metric_name_ok(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *c = name; *c != '\0'; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
			     *c == ':';
		bool digit = *c >= '0' && *c <= '9';
		if (!alpha && !(digit && c != name))
			return false;
	}
	return true;
}

bool prom_label_name_ok(const char *name)
{
	if (!prom_metric_name_ok(name) || strchr(name, ':') != NULL)
		return false;
	return strncmp(name, "__", 2) != 0;
}

void prom_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || *s == '_';
		if (!ok)
			*s = '_';
	}
}

char *prom_format_double(double v, char *out, size_t outlen)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
	} else if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
	} else {
		/* The shortest of %.15g..%.17g that reads back as the same double: 0.1 stays
		 * "0.1" rather than "0.10000000000000001", and nothing is ever rounded away. */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, outlen, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
	return out;
}

/* Length of the well-formed UTF-8 sequence at @p s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if the bytes there are not one. */
static size_t prom__utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned cp;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const unsigned min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Escaped text: backslash and line feed always, the double quote in label values (the
 * format's rules). Bytes that are not UTF-8 become U+FFFD: label values come from the stats
 * reply's keys and strings, which the JSON reader passes through unchecked, and Prometheus
 * refuses a whole scrape over one invalid label value.
 */
static int prom__put_escaped(struct prom_buf *b, const char *v, bool quote)
{
	const unsigned char *p = (const unsigned char *)v;
	while (*p != '\0') {
		int rc;
		size_t n = prom__utf8_len(p);
		if (n == 0) {
			rc = prom_buf_put(b, "\xef\xbf\xbd", 3);
			n = 1;
		} else if (*p == '\\') {
			rc = prom_buf_put(b, "\\\\", 2);
		} else if (*p == '"' && quote) {
			rc = prom_buf_put(b, "\\\"", 2);
		} else if (*p == '\n') {
			rc = prom_buf_put(b, "\\n", 2);
		} else {
			rc = prom_buf_put(b, p, n);
		}
		if (rc != 0)
			return -1;
		p += n;
	}
	return 0;
}

static const char *prom__type_name(enum prom_type t)
{
	switch (t) {
	case PROM_COUNTER: return "counter";
	case PROM_GAUGE: return "gauge";
	case PROM_HISTOGRAM: return "histogram";
	default: return "untyped";
	}
}

/* ---- the set ----------------------------------------------------------------------- */

void prom_set_init(struct prom_set *s)
{
	memset(s, 0, sizeof(*s));
}

void prom_set_free(struct prom_set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		free(s->families[i].name);
		free(s->families[i].help);
		prom_buf_free(&s->families[i].lines);
	}
	free(s->families);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}

/* Linear search: a scrape has ~150 families; a hash would save microseconds per scrape. */
static struct prom_family *prom__find(struct prom_set *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->families[i].name, name) == 0)
			return &s->families[i];
	return NULL;
}

struct prom_family *prom_family(struct prom_set *s, const char *name, enum prom_type type,
				const char *help)
{
	if (!prom_metric_name_ok(name)) {
		s->refused++;
		return NULL;
	}
	struct prom_family *f = prom__find(s, name);
	if (f != NULL) {
		if (f->type != type) {
			s->refused++;
			return NULL;
		}
		return f;
	}
	if (s->n == s->cap) {
		unsigned cap = s->cap != 0 ? s->cap * 2 : 64;
		struct prom_family *nf = realloc(s->families, cap * sizeof(*nf));
		if (nf == NULL) {
			s->oom = true;
			return NULL;
		}
		s->families = nf;
		s->cap = cap;
	}
	f = &s->families[s->n];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->help = strdup(help != NULL ? help : name);
	f->type = type;
	if (f->name == NULL || f->help == NULL) {
		free(f->name);
		free(f->help);
		s->oom = true;
		return NULL;
	}
	s->n++;
	return f;
}

/* FNV-1a, 64 bit, over the text that identifies a series (callers map 0, which marks an
 * empty slot, to 1). */
static uint64_t prom__hash(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Remember @p h; @return 1 if it was new, 0 if already seen, -1 out of memory. */
static int prom__seen_insert(struct prom_set *s, uint64_t h)
{
	if (2 * (s->seen_n + 1) > s->seen_cap) {
		size_t cap = s->seen_cap != 0 ? s->seen_cap * 2 : 256;
		uint64_t *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return -1;
		for (size_t i = 0; i < s->seen_cap; i++) {
			if (s->seen[i] == 0)
				continue;
			size_t k = s->seen[i] & (cap - 1);
			while (t[k] != 0)
				k = (k + 1) & (cap - 1);
			t[k] = s->seen[i];
		}
		free(s->seen);
		s->seen = t;
		s->seen_cap = cap;
	}
	size_t k = h & (s->seen_cap - 1);
	while (s->seen[k] != 0) {
		if (s->seen[k] == h)
			return 0;
		k = (k + 1) & (s->seen_cap - 1);
	}
	s->seen[k] = h;
	s->seen_n++;
	return 1;
}

/* The common part of prom_add and prom_add_u64: everything up to the value. */
static int prom__add_head(struct prom_set *s, const char *name, enum prom_type type,
			  const char *help, const char *suffix, const struct prom_label *labels,
			  unsigned n, struct prom_family **out)
{
	struct prom_family *f = prom_family(s, name, type, help);
	if (f == NULL)
		return -1;
	if (suffix == NULL)
		suffix = "";
	for (unsigned i = 0; i < n; i++) {
		if (labels[i].value != NULL && !prom_label_name_ok(labels[i].name)) {
			s->refused++;
			return -1;
		}
	}

	struct prom_buf *b = &f->lines;
	size_t mark = b->len;
	prom_buf_puts(b, name);
	prom_buf_puts(b, suffix);
	bool first = true;
	for (unsigned i = 0; i < n; i++) {
		if (labels[i].value == NULL)
			continue;
		prom_buf_puts(b, first ? "{" : ",");
		prom_buf_puts(b, labels[i].name);
		prom_buf_puts(b, "=\"");
		prom__put_escaped(b, labels[i].value, true);
		prom_buf_puts(b, "\"");
		first = false;
	}
	if (!first)
		prom_buf_puts(b, "}");
	if (b->err) {
		s->oom = true;
		return -1;
	}
	/* The series' identity is its text as printed (name, suffix, escaped labels): two
	 * values that print alike (e.g. both invalid UTF-8) are one series to Prometheus. */
	uint64_t h = prom__hash(0xcbf29ce484222325ULL, b->p + mark, b->len - mark);
	if (h == 0)
		h = 1;
	int rc = prom__seen_insert(s, h);
	if (rc <= 0) {
		b->len = mark; /* take the line back */
		b->p[mark] = '\0';
		if (rc < 0)
			s->oom = true;
		else
			s->refused++;
		return -1;
	}
	prom_buf_puts(b, " ");
	f->n_samples++;
	*out = f;
	return 0;
}

int prom_add(struct prom_set *s, const char *name, enum prom_type type, const char *help,
	     const char *suffix, const struct prom_label *labels, unsigned n, double v)
{
	struct prom_family *f;
	if (prom__add_head(s, name, type, help, suffix, labels, n, &f) != 0)
		return -1;
	char num[40];
	prom_buf_puts(&f->lines, prom_format_double(v, num, sizeof(num)));
	if (prom_buf_puts(&f->lines, "\n") != 0) {
		s->oom = true;
		return -1;
	}
	return 0;
}

int prom_add_u64(struct prom_set *s, const char *name, enum prom_type type, const char *help,
		 const char *suffix, const struct prom_label *labels, unsigned n, uint64_t v)
{
	struct prom_family *f;
	if (prom__add_head(s, name, type, help, suffix, labels, n, &f) != 0)
		return -1;
	if (prom_buf_printf(&f->lines, "%" PRIu64 "\n", v) != 0) {
		s->oom = true;
		return -1;
	}
	return 0;
}

char *prom_render(const struct prom_set *s, size_t *len)
{
	struct prom_buf out = { 0 };
	for (unsigned i = 0; i < s->n; i++) {
		const struct prom_family *f = &s->families[i];
		if (f->n_samples == 0)
			continue;
		prom_buf_printf(&out, "# HELP %s ", f->name);
		prom__put_escaped(&out, f->help, false);
		prom_buf_printf(&out, "\n# TYPE %s %s\n", f->name, prom__type_name(f->type));
		if (f->lines.err) {
			out.err = true;
			break;
		}
		prom_buf_put(&out, f->lines.p, f->lines.len);
	}
	if (out.p == NULL && !out.err)
		prom_buf_puts(&out, "");
	if (out.err) {
		prom_buf_free(&out);
		return NULL;
	}
	if (len != NULL)
		*len = out.len;
	return out.p;
}
