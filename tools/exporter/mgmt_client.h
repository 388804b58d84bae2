/**
 * @file mgmt_client.h
 * The exporter's side of tachyond's management socket (docs/management.md): connect, send
 * request lines, read one reply line per request, all within one deadline.
 *
 * Where it sits: called once per scrape by exporter.c, which then parses the replies and
 * hands them to convert.c. A scrape must never hang on a wedged broker, so every step is
 * non-blocking and bounded by the same deadline; a reply larger than the caller's bound is an
 * error rather than an allocation without limit.
 *
 * Error convention: mgc_query() returns 0 or -1 with a one-line reason in @p err.
 * Thread-safety: reentrant (no shared state).
 */
#ifndef TACHYON_EXPORTER_MGMT_CLIENT_H
#define TACHYON_EXPORTER_MGMT_CLIENT_H

#include <stddef.h>

/** Requests one query may send. */
#define MGC_MAX_REQUESTS 4

/**
 * Send @p n request lines (each without its '\n') on one connection to the Unix socket
 * @p path, then read @p n reply lines.
 * @param timeout_ms  deadline for the whole exchange (connect, send, replies).
 * @param max_bytes   bound on the replies' total size.
 * @param replies     receives @p n malloc'd NUL-terminated lines (without '\n'); on failure
 *                    all are NULL. The caller frees them.
 * @return 0, or -1 (cannot connect, timeout, connection closed early, reply too large, out of
 *   memory) with the reason in @p err.
 */
int mgc_query(const char *path, const char *const *requests, unsigned n, int timeout_ms,
	      size_t max_bytes, char **replies, char *err, size_t errlen);

#endif /* TACHYON_EXPORTER_MGMT_CLIENT_H */
