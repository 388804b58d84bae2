/**
 * @file prom.h
 * A builder for the Prometheus text exposition format (version 0.0.4), used by
 * tachyon-exporter: the converter (convert.h) adds samples in whatever order it walks the
 * broker's stats reply, and prom_render() prints them grouped by metric family, each family
 * with exactly one `# HELP` and one `# TYPE` line, which is what the format requires (all
 * samples of a family must be contiguous).
 *
 * Where it sits: HTTP GET /metrics -> management socket query -> convert.c -> prom_set ->
 * prom_render() -> HTTP response body.
 *
 * What the builder guarantees about its output, whatever the caller passes:
 *  - metric and label names are valid (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels without `:` and not
 *    starting with `__`); an invalid name is refused, never printed;
 *  - label values are escaped (`\\`, `\"`, `\n`), HELP text too (`\\`, `\n`); bytes that
 *    are not UTF-8 print as U+FFFD (Prometheus refuses a scrape with invalid UTF-8);
 *  - a family has one type: asking for an existing name with another type is refused;
 *  - no series appears twice: a sample whose (family, suffix, labels) was already added is
 *    refused (Prometheus rejects a scrape's duplicate series).
 * Refusals are counted in prom_set.refused, so a caller can notice a mapping bug in tests.
 *
 * Error convention: functions returning int answer 0 or -1 (refused or out of memory);
 * functions returning pointers answer NULL on the same conditions.
 *
 * Thread-safety: none; a set belongs to one thread (the exporter is single-threaded).
 */
#ifndef TACHYON_EXPORTER_PROM_H
#define TACHYON_EXPORTER_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Metric family types of the text format. */
enum prom_type {
	PROM_COUNTER = 0,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_UNTYPED,
};

/** A growable byte buffer, always NUL-terminated once something was appended. */
struct prom_buf {
	char *p;       /**< malloc'd, NULL until the first append */
	size_t len;    /**< bytes used, excluding the NUL */
	size_t cap;    /**< bytes allocated */
	bool err;      /**< sticky: an allocation failed, the contents are incomplete */
};

/** One label: a name and its (unescaped) value. */
struct prom_label {
	const char *name;
	const char *value;
};

/** One metric family: its header and its sample lines, already formatted. */
struct prom_family {
	char *name;              /**< malloc'd, valid metric name */
	char *help;              /**< malloc'd, unescaped */
	enum prom_type type;
	struct prom_buf lines;   /**< sample lines, each ending in '\n' */
	unsigned n_samples;
};

/**
 * The metrics of one scrape. Zero-initialise (or prom_set_init()), fill, render, free.
 * Invariant: families[0..n) have distinct names; seen[] holds a hash of every series added
 * (open addressing, 0 = empty slot, at most half full).
 */
struct prom_set {
	struct prom_family *families; /**< in the order they were first asked for */
	unsigned n, cap;
	uint64_t *seen;               /**< series hashes, for duplicate refusal */
	size_t seen_n, seen_cap;
	unsigned refused;             /**< samples/families refused (bad name, type clash, dup) */
	bool oom;                     /**< an allocation failed somewhere */
};

/** Start an empty set (same as zero-initialising it). */
void prom_set_init(struct prom_set *s);

/** Release everything the set holds. It may be initialised again. */
void prom_set_free(struct prom_set *s);

/**
 * Find or create the family @p name.
 * @param help  the HELP text; only the first caller's text is kept (one HELP per family).
 * @return the family, or NULL when the name is invalid, the family exists with another type
 *   (counted in s->refused), or memory ran out. The pointer is valid until the next
 *   prom_family() call on the same set (the array may move): look it up per use.
 */
struct prom_family *prom_family(struct prom_set *s, const char *name, enum prom_type type,
				const char *help);

/**
 * Add one sample to family @p name (created on first use, see prom_family()).
 * @param suffix  appended to the family name: "" for counters and gauges; "_bucket", "_sum"
 *                or "_count" for histograms.
 * @param labels  @p n labels, printed in this order; NULL values are skipped.
 * @param v       the value; NaN and infinities print as NaN, +Inf, -Inf.
 * @return 0, or -1 when refused (invalid family/label name, type clash, duplicate series) or
 *   out of memory.
 */
int prom_add(struct prom_set *s, const char *name, enum prom_type type, const char *help,
	     const char *suffix, const struct prom_label *labels, unsigned n, double v);

/** Same as prom_add() for an exact unsigned integer (counters beyond 2^53 stay exact). */
int prom_add_u64(struct prom_set *s, const char *name, enum prom_type type, const char *help,
		 const char *suffix, const struct prom_label *labels, unsigned n, uint64_t v);

/**
 * Print the whole set: per family `# HELP`, `# TYPE`, then its samples, families in creation
 * order. Families without samples are left out.
 * @return a malloc'd NUL-terminated text (caller frees) and its length in @p len, or NULL when
 *   memory ran out.
 */
char *prom_render(const struct prom_set *s, size_t *len);

/** @return true if @p name is a valid metric name. */
bool prom_metric_name_ok(const char *name);

/** @return true if @p name is a valid label name (and not reserved: `__` prefix). */
bool prom_label_name_ok(const char *name);

/**
 * Turn @p s into a valid metric name fragment in place: every byte outside `[a-zA-Z0-9_]`
 * becomes '_'. (A fragment may start with a digit: callers put it after a prefix.)
 */
void prom_sanitize(char *s);

/**
 * Format @p v the way the text format wants it (shortest text that reads back exactly;
 * NaN, +Inf, -Inf). @return @p out.
 */
char *prom_format_double(double v, char *out, size_t outlen);

/* ---- prom_buf: also used by the HTTP side for response bodies ---- */

/** Append @p len bytes. On allocation failure sets b->err and returns -1. */
int prom_buf_put(struct prom_buf *b, const void *data, size_t len);
/** Append a NUL-terminated string. */
int prom_buf_puts(struct prom_buf *b, const char *s);
/** Append printf-style. */
int prom_buf_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Release the buffer (it may be used again). */
void prom_buf_free(struct prom_buf *b);

#endif /* TACHYON_EXPORTER_PROM_H */
