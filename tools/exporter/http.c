/**
 * @file http.c
 * HTTP/1.x request-head parsing and response framing for the exporter (see http.h).
 * Strict where it costs nothing (method token, target characters, version), lenient where
 * real clients differ (LF or CRLF line ends, any header set).
 */
#include <stdio.h>
#include <string.h>

#include "http.h"

/* RFC 9110 tchar: the characters of a token (method, header name). */
static bool http__tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Find the end of the head: the first empty line. @return the offset just past it, or 0. */
static size_t http__head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* An empty line is "\n" right after the previous "\n" (optionally with a CR). */
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/*
 * Can the @p len bytes seen so far still begin a valid request line? Garbage then gets its
 * 400 at once instead of holding a connection slot until the read timeout. Checks only what
 * is cheap: the method's characters, one space, a target starting with '/' or '*', one
 * space, a prefix of "HTTP/1.".
 */
static bool http__line_prefix_ok(const char *buf, size_t len)
{
	static const char ver[] = "HTTP/1.";
	size_t i = 0;
	while (i < len && http__tchar(buf[i]))
		i++;
	if (i == len)
		return true;
	if (i == 0 || buf[i] != ' ')
		return false;
	if (++i == len)
		return true;
	if (buf[i] != '/' && buf[i] != '*')
		return false;
	while (i < len && buf[i] > ' ' && buf[i] != 0x7f)
		i++;
	if (i == len)
		return true;
	if (buf[i] != ' ')
		return false;
	i++;
	for (size_t k = 0; i < len && k < sizeof(ver) - 1; k++, i++)
		if (buf[i] != ver[k])
			return false;
	return true;
}

enum http_parse_result http_parse(const char *buf, size_t len, struct http_request *req)
{
	/* Up to the end of the head if it is complete, else over what has arrived: complete
	 * lines are checked as soon as they are there, so garbage gets its 400 at once
	 * instead of holding a connection slot until the read timeout. */
	size_t end = http__head_end(buf, len);
	size_t lim = end != 0 ? end : len;
	if (end > HTTP_MAX_HEAD)
		return HTTP_TOO_LARGE;
	if (memchr(buf, '\n', lim) == NULL) {
		if (!http__line_prefix_ok(buf, lim))
			return HTTP_BAD;
		return len >= HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
	}
	memset(req, 0, sizeof(*req));

	/* Request line (complete: a '\n' follows): method SP target SP version. */
	size_t i = 0;
	size_t m = 0;
	while (i < lim && http__tchar(buf[i])) {
		if (m + 1 >= sizeof(req->method))
			return HTTP_BAD;
		req->method[m++] = buf[i++];
	}
	if (m == 0 || i >= lim || buf[i] != ' ')
		return HTTP_BAD;
	i++;
	size_t t0 = i;
	while (i < lim && buf[i] > ' ' && buf[i] != 0x7f)
		i++;
	size_t tlen = i - t0;
	if (tlen == 0 || i >= lim || buf[i] != ' ')
		return HTTP_BAD;
	i++;
	if (lim - i < 9 || memcmp(buf + i, "HTTP/1.", 7) != 0 || buf[i + 7] < '0' ||
	    buf[i + 7] > '9')
		return HTTP_BAD;
	req->minor = buf[i + 7] - '0';
	i += 8;
	if (buf[i] == '\r')
		i++;
	if (i >= lim || buf[i] != '\n')
		return HTTP_BAD;
	i++;

	/* Target: origin-form ("/path?query"), or "*" for OPTIONS; absolute-form is refused
	 * (only proxies need it). The path is what routing looks at. */
	const char *t = buf + t0;
	if (t[0] != '/' && !(tlen == 1 && t[0] == '*'))
		return HTTP_BAD;
	size_t plen = 0;
	while (plen < tlen && t[plen] != '?' && t[plen] != '#')
		plen++;
	if (plen >= sizeof(req->path))
		return HTTP_BAD;
	memcpy(req->path, t, plen);
	req->path[plen] = '\0';

	/* Headers: "name: value" lines until the empty line. Only their shape is checked; a
	 * last line still arriving (no '\n' yet) waits. */
	while (i < lim) {
		const char *nl = memchr(buf + i, '\n', lim - i);
		if (nl == NULL)
			break;
		size_t ls = i;
		size_t le = (size_t)(nl - buf);
		i = le + 1;
		if (le > ls && buf[le - 1] == '\r')
			le--;
		if (le == ls)
			break; /* the empty line */
		size_t k = ls;
		while (k < le && http__tchar(buf[k]))
			k++;
		if (k == ls || k >= le || buf[k] != ':')
			return HTTP_BAD;
		for (size_t x = k; x < le; x++)
			if (buf[x] == '\0' || buf[x] == '\r')
				return HTTP_BAD;
	}
	if (end == 0)
		return len >= HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
	return HTTP_DONE;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

int http_response(struct prom_buf *out, int status, const char *content_type,
		  const char *extra_headers, const char *body, size_t body_len, bool head_only)
{
	prom_buf_printf(out,
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: %s\r\n"
			"Content-Length: %zu\r\n"
			"Connection: close\r\n"
			"Cache-Control: no-store\r\n"
			"%s"
			"\r\n",
			status, http_reason(status), content_type, body_len,
			extra_headers != NULL ? extra_headers : "");
	if (!head_only && body_len > 0)
		prom_buf_put(out, body, body_len);
	return out->err ? -1 : 0;
}
