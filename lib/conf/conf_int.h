/**
 * @file conf_int.h
 * Internals shared by the files of the conf part (not for other parts): the registry entry
 * behind each public struct conf_key_info, and the value parsers/formatters of conf_value.c.
 *
 * How a setting flows: conf.c splits a line into key and value, looks the key up in the table
 * of conf_keys.c, and calls conf__apply(), which either runs the key's own setter (special
 * syntax) or parses the value by type (conf_value.c) and stores it at the field's offset in
 * the struct tachyon_config or in the current struct conf_listener.
 *
 * Error convention: as conf.h; every setter writes "<where>: <key>: <message>" into err.
 */
#ifndef TACHYON_CONF_INT_H
#define TACHYON_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct conf__key;

/** Own setter for a CONF_TYPE_SPECIAL key (or a typed key with an extra rule). */
typedef int (*conf__set_fn)(struct tachyon_config *c, const struct conf__key *k,
			    const char *value, const char *where, char *err, size_t errlen);
/** Own getter; @p li: listener index, or CONF__GLOBAL. 0, or -1 with errno. */
typedef int (*conf__get_fn)(const struct tachyon_config *c, const struct conf__key *k,
			    unsigned li, char *buf, size_t len);

/**
 * One registry entry. Invariant: a supported typed key has a global field (gsize != 0) unless
 * its scope is CONF_SCOPE_LISTENER, and a listener field (lsize != 0) unless it is GLOBAL.
 */
struct conf__key {
	struct conf_key_info info;   /**< the public part, returned by conf_key_info() */
	size_t goff, gsize;          /**< field in struct tachyon_config, gsize 0 = none */
	size_t loff, lsize;          /**< field in struct conf_listener, lsize 0 = none */
	int64_t min, max;            /**< CONF_TYPE_INT bounds */
	double dmin, dmax;           /**< CONF_TYPE_DOUBLE bounds */
	const char *const *names;    /**< CONF_TYPE_ENUM words, NULL-terminated; value = index */
	conf__set_fn set;            /**< non-NULL: replaces the typed store */
	conf__get_fn get;            /**< non-NULL: replaces the typed formatter */
	bool rest;                   /**< SPECIAL: the value is the rest of the line (several
				      *   words); typed keys: STRING only */
};

/* conf_keys.c: the table */
extern const struct conf__key conf__keys[];
extern const unsigned conf__n_keys;
const struct conf__key *conf__key_find(const char *name);

/* conf.c: the section rules shared with the setters */
/** "No listener": conf__format() of a key's global value. */
#define CONF__GLOBAL UINT32_MAX
/** A fresh listener section: every per-listener value inherits. */
void conf__listener_init(struct conf_listener *l, uint16_t port, uint32_t bind_ip);
/** Index of the listener that listener keys apply to now. */
unsigned conf__cur_listener(const struct tachyon_config *c);
/** Apply a value to a key (typed or special). 0, or -1 with err. */
int conf__apply(struct tachyon_config *c, const struct conf__key *k, const char *value,
		const char *where, char *err, size_t errlen);
/** The typed store (by info.type) that special setters may call after their own checks. */
int conf__store_typed(struct tachyon_config *c, const struct conf__key *k, const char *value,
		      const char *where, char *err, size_t errlen);
/** `include_dir` (conf.c): load the directory's *.conf files in Mosquitto's order;
 *  @p depth is the include depth of the line (0 = main file). */
int conf__include_dir(struct tachyon_config *c, const char *dir, int depth, const char *where,
		      char *err, size_t errlen);
/** Format a key's value for listener @p li (typed or special). 0, or -1 with errno. */
int conf__format(const struct tachyon_config *c, const struct conf__key *k, unsigned li,
		 char *buf, size_t len);

/* conf_value.c: parsing and formatting single values */
int conf__parse_bool(const char *s, bool *out);
int conf__parse_int(const char *s, int64_t *out);      /**< 0, -1 not a number, -2 too big */
int conf__parse_double(const char *s, double *out);
int conf__parse_ipv4(const char *s, uint32_t *out);    /**< host byte order */
/** Validate an EAL core list ("0-3,5"). */
int conf__parse_corelist(const char *s);
void conf__format_ipv4(uint32_t ip, char *buf, size_t len);
/** Store an integer into a field of 1, 2, 4 or 8 bytes (signedness by the caller's bounds). */
void conf__store_int(void *field, size_t size, int64_t v);
int64_t conf__load_int(const void *field, size_t size, bool is_signed);
/** snprintf into err, never overflowing; returns -1 for `return conf__err(...)`. */
int conf__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** snprintf into buf; 0, or -1 with errno ENOSPC when cut. */
int conf__out(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* TACHYON_CONF_INT_H */
