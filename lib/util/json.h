/**
 * @file json.h
 * A small JSON writer and reader for the management protocol (one JSON request per line, one
 * JSON reply per line) and for tools that read those replies (tachyonctl, the exporter).
 *
 * Where it sits: the control core builds every management reply with a json_writer; worker
 * hooks (dp_l4_hooks.stats_json) append their counters to the same writer. The reader parses
 * one request or reply into a tree. Neither is used on the data-plane fast path, so both may
 * allocate with malloc.
 *
 * Writer: calls append to a growable buffer; commas and escaping are handled by the writer.
 * A writer that fails to grow (or is misused: a key outside an object, unbalanced ends) goes
 * into a sticky error state; json_writer_str() then answers NULL. The output has no newlines,
 * so one value is one line.
 *
 * Reader: RFC 8259 values (objects, arrays, strings with all escapes incl. surrogate pairs,
 * numbers, true/false/null), nesting at most JSON_MAX_DEPTH. Integers that fit are kept
 * exactly (uint64 counters do not pass through a double).
 *
 * Error convention: constructors return NULL on failure (json_parse also writes a message);
 * accessors return NULL / a default when the member is absent or of another type.
 *
 * Thread-safety: none; a writer or a parsed tree belongs to one thread.
 */
#ifndef TACHYON_UTIL_JSON_H
#define TACHYON_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Deepest nesting the writer and the reader accept. */
#define JSON_MAX_DEPTH 32

/** A JSON text being built. Initialise with json_writer_init(), release with json_writer_free(). */
struct json_writer {
	char *buf;                      /**< NUL-terminated output, malloc'd */
	size_t len;                     /**< bytes used, excluding the NUL */
	size_t cap;                     /**< bytes allocated */
	bool err;                       /**< sticky: out of memory or misuse */
	unsigned depth;                 /**< open objects/arrays */
	bool in_object[JSON_MAX_DEPTH]; /**< per level: object (true) or array */
	bool need_comma[JSON_MAX_DEPTH + 1]; /**< per level: a value was already written */
	bool after_key;                 /**< a key was written, its value is due */
};

/** Start an empty writer. Never fails (the first append allocates). */
void json_writer_init(struct json_writer *w);

/** Release the writer's buffer. The writer may be initialised again. */
void json_writer_free(struct json_writer *w);

/** Forget the text written so far but keep the buffer (for reuse). */
void json_writer_reset(struct json_writer *w);

/**
 * @return the text written so far (NUL-terminated), or NULL when the writer is in its error
 *   state or an object/array is still open.
 */
const char *json_writer_str(const struct json_writer *w);

void json_obj_begin(struct json_writer *w);   /**< `{` */
void json_obj_end(struct json_writer *w);     /**< `}` */
void json_arr_begin(struct json_writer *w);   /**< `[` */
void json_arr_end(struct json_writer *w);     /**< `]` */
/** A member name inside an object; the next call writes its value. */
void json_key(struct json_writer *w, const char *key);

void json_str(struct json_writer *w, const char *s);  /**< string, escaped; NULL writes null */
/** String of @p len bytes (may contain NULs, escaped as \u0000). */
void json_strn(struct json_writer *w, const char *s, size_t len);
void json_u64(struct json_writer *w, uint64_t v);
void json_i64(struct json_writer *w, int64_t v);
/** A double; NaN and infinities (not JSON) are written as null. */
void json_double(struct json_writer *w, double v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/** A value given as JSON text, copied verbatim: the caller vouches that @p s (@p len bytes)
 *  is one well-formed JSON value (e.g. an object another json_writer produced). */
void json_raw(struct json_writer *w, const char *s, size_t len);

/* Shorthands for `"key": value` inside an object. */
void json_kv_str(struct json_writer *w, const char *key, const char *s);
void json_kv_u64(struct json_writer *w, const char *key, uint64_t v);
void json_kv_i64(struct json_writer *w, const char *key, int64_t v);
void json_kv_double(struct json_writer *w, const char *key, double v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

/** Kinds of parsed values. */
enum json_type {
	JSON_NULL = 0,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/** A parsed value. Trees come from json_parse() and go back with json_free(). */
struct json_value {
	enum json_type type;
	bool b;                     /**< JSON_BOOL */
	double num;                 /**< JSON_NUMBER, always set */
	bool is_int;                /**< JSON_NUMBER without fraction/exponent that fits int64 or uint64 */
	bool is_neg;                /**< is_int: negative (use i), else use u */
	int64_t i;                  /**< is_int && is_neg */
	uint64_t u;                 /**< is_int && !is_neg */
	char *str;                  /**< JSON_STRING: NUL-terminated UTF-8 */
	size_t str_len;             /**< JSON_STRING: length (the string may contain NULs) */
	size_t n;                   /**< JSON_ARRAY / JSON_OBJECT: number of items / members */
	struct json_value **items;  /**< JSON_ARRAY items; JSON_OBJECT member values */
	char **keys;                /**< JSON_OBJECT member names (NUL-terminated) */
};

/**
 * Parse one JSON text (surrounding whitespace allowed, nothing else after the value).
 * @param text, len   the input; need not be NUL-terminated.
 * @param err, errlen receive "offset N: reason" on failure; may be NULL.
 * @return the tree, or NULL on a syntax error, too deep nesting or out of memory.
 */
struct json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);

/** Free a tree from json_parse(). NULL is allowed. */
void json_free(struct json_value *v);

/** @return the member @p key of object @p obj (first match), or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/** @return the string member @p key, or NULL when absent or not a string. */
const char *json_get_str(const struct json_value *obj, const char *key);

/** @return the unsigned integer member @p key, or @p dflt when absent or not a uint. */
uint64_t json_get_u64(const struct json_value *obj, const char *key, uint64_t dflt);

/** @return the boolean member @p key, or @p dflt when absent or not a bool. */
bool json_get_bool(const struct json_value *obj, const char *key, bool dflt);

#endif /* TACHYON_UTIL_JSON_H */
