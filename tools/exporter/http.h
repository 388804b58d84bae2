/**
 * @file http.h
 * The little HTTP/1.x the exporter needs: parse one request head from a byte buffer, and
 * frame one response. Pure functions over buffers (no sockets), so the parser is unit-tested
 * and fuzz-friendly; exporter.c owns the connections.
 *
 * What is accepted: `METHOD SP request-target SP HTTP/1.<digit> CRLF` followed by header
 * lines and an empty line (bare LF line ends are tolerated, as RFC 9112 section 2.2 allows).
 * Headers are checked for shape only (a name, a colon); none changes the answer: every
 * response is `Connection: close`, and request bodies are never read.
 *
 * Error convention: http_parse() answers HTTP_NEED_MORE / HTTP_DONE / HTTP_BAD /
 * HTTP_TOO_LARGE and never reads past @p len. A request line that is already wrong is
 * HTTP_BAD before the head is complete, so garbage does not wait for the read timeout.
 * Thread-safety: reentrant.
 */
#ifndef TACHYON_EXPORTER_HTTP_H
#define TACHYON_EXPORTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "prom.h"

/** Longest request head accepted (request line + headers). */
#define HTTP_MAX_HEAD 8192
/** Longest path kept (the target without its query string). */
#define HTTP_MAX_PATH 1024

enum http_parse_result {
	HTTP_NEED_MORE = 0,   /**< no complete head yet, keep reading */
	HTTP_DONE,            /**< @p req is filled */
	HTTP_BAD,             /**< malformed (possibly before the head ended): answer 400 */
	HTTP_TOO_LARGE,       /**< no end of head within HTTP_MAX_HEAD bytes: answer 431 */
};

/** A parsed request head. */
struct http_request {
	char method[16];            /**< e.g. "GET" */
	char path[HTTP_MAX_PATH];   /**< the target's path, query and fragment cut off */
	int minor;                  /**< HTTP/1.<minor> */
};

/**
 * Parse the request head at the start of @p buf.
 * @return HTTP_DONE (and @p req filled), HTTP_NEED_MORE, HTTP_BAD or HTTP_TOO_LARGE.
 */
enum http_parse_result http_parse(const char *buf, size_t len, struct http_request *req);

/** @return the reason phrase of @p status ("OK", "Not Found", ...). */
const char *http_reason(int status);

/**
 * Frame a complete response into @p out (status line, Content-Type, Content-Length,
 * Connection: close, @p extra_headers if not NULL (each ending in CRLF), empty line, then the
 * body unless @p head_only).
 * @return 0, or -1 when memory ran out.
 */
int http_response(struct prom_buf *out, int status, const char *content_type,
		  const char *extra_headers, const char *body, size_t body_len, bool head_only);

#endif /* TACHYON_EXPORTER_HTTP_H */
