/**
 * @file auth_int.h
 * Internals shared by the files of lib/auth (not installed, not for other parts): error
 * messages, whole-file reading, the atomic file writer, a line iterator and strict base64.
 *
 * All of these run on the control core at load/save time, never on a worker's hot path, so
 * they may allocate and make syscalls.
 */
#ifndef TACHYON_AUTH_INT_H
#define TACHYON_AUTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Largest password or ACL file we read: far above any real file, small enough to refuse a
 *  mistaken path to a huge file before we allocate for it. */
#define AUTH__MAX_FILE (64u * 1024 * 1024)

/** Longest MQTT string (username, client id, topic): a 16-bit length prefix. */
#define AUTH__MAX_STR 65535u

/** Format into the caller's error buffer (always NUL-terminated; NULL/0 = discard). */
void auth__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Read a whole file into a fresh NUL-terminated buffer.
 * @return 0 with *buf (free() it) and *len set; -1 with "path: reason" in @p err.
 */
int auth__read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/**
 * Replace @p path with @p len bytes atomically: write a temporary file in the same directory,
 * fsync it, rename it over @p path, fsync the directory. A reader sees the old file or the
 * new one, never a mix, even across a crash. The new file keeps the old one's mode and owner
 * when there was one (so a file shared with mosquitto stays readable by it), else gets
 * @p new_mode.
 * @return 0, or -1 with "path: reason" in @p err (the temporary file is removed).
 */
int auth__write_atomic(const char *path, const char *data, size_t len, mode_t new_mode,
		       char *err, size_t errlen);

/** Iterates over the lines of a buffer; lines end at '\n', a trailing '\r' is dropped. */
struct auth__lines {
	const char *p;      /**< next unread byte */
	const char *end;    /**< one past the buffer */
	unsigned lineno;    /**< number of the line last returned, 1-based */
};

void auth__lines_init(struct auth__lines *it, const char *buf, size_t len);

/** Next line as (*line, *len) without its terminator. @return false at the end. */
bool auth__lines_next(struct auth__lines *it, const char **line, size_t *len);

/** Blanks, as Mosquitto's isspace() trimming sees them, minus the line break. */
static inline bool auth__is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/** Strip blanks (auth__is_blank) at both ends of (*s, *len). */
void auth__trim(const char **s, size_t *len);

/** Bytes needed to base64-encode @p n bytes, with padding, without the NUL (a constant
 *  expression, so it can size arrays). */
#define AUTH__B64_LEN(n) (((n) + 2) / 3 * 4)

/** Standard base64 with '=' padding; writes AUTH__B64_LEN(n) chars plus a NUL. */
void auth__b64_encode(const uint8_t *in, size_t n, char *out);

/**
 * Strict standard-alphabet base64 decoding; padding optional, no blanks or line breaks.
 * @return the decoded length, or -1 if the text is not base64 or needs more than @p cap bytes.
 */
long auth__b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/** FNV-1a, for the small hash indexes built at load time. */
static inline uint64_t auth__hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/** strndup that reports failure as NULL (kept here so callers need not define _GNU_SOURCE). */
char *auth__strndup(const char *s, size_t n);

#endif /* TACHYON_AUTH_INT_H */
