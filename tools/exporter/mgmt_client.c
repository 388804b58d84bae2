/**
 * @file mgmt_client.c
 * Management socket client with a deadline (see mgmt_client.h). One connection per query:
 * tachyond serves requests on a connection in order, so all requests go out at once and the
 * replies come back in the same order, one line each.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mgmt_client.h"

static int64_t mgc__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mgc__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void mgc__err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Wait for @p events on @p fd until @p deadline. @return 1 ready, 0 timeout, -1 error. */
static int mgc__wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mgc__now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (rc < 0 && errno == EINTR)
			continue;
		return rc < 0 ? -1 : rc > 0 ? 1 : 0;
	}
}

static int mgc__connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		mgc__err(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mgc__err(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A Unix stream connect completes at once or fails (EAGAIN: the listener's backlog is
	 * full, i.e. the broker is not accepting); there is no EINPROGRESS to wait for. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		mgc__err(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int mgc_query(const char *path, const char *const *requests, unsigned n, int timeout_ms,
	      size_t max_bytes, char **replies, char *err, size_t errlen)
{
	int64_t deadline = mgc__now_ms() + timeout_ms;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned got = 0;
	int fd = -1;

	for (unsigned i = 0; i < n; i++)
		replies[i] = NULL;
	if (n == 0 || n > MGC_MAX_REQUESTS) {
		mgc__err(err, errlen, "bad request count %u", n);
		return -1;
	}
	fd = mgc__connect(path, err, errlen);
	if (fd < 0)
		return -1;

	/* Send: the requests are tiny, but the socket is non-blocking, so loop on partial
	 * writes like for any other size. */
	for (unsigned i = 0; i < n; i++) {
		for (int part = 0; part < 2; part++) {
			const char *p = part == 0 ? requests[i] : "\n";
			size_t left = strlen(p);
			while (left > 0) {
				ssize_t w = send(fd, p, left, MSG_NOSIGNAL);
				if (w > 0) {
					p += w;
					left -= (size_t)w;
					continue;
				}
				if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
					int rc = mgc__wait(fd, POLLOUT, deadline);
					if (rc > 0)
						continue;
					mgc__err(err, errlen, rc == 0 ? "timeout sending to %s"
								      : "poll on %s failed", path);
				} else {
					mgc__err(err, errlen, "cannot send to %s: %s", path,
						 strerror(errno));
				}
				goto fail;
			}
		}
	}

	/* Receive until n newlines. Lines are cut out of the buffer as they complete. */
	while (got < n) {
		char *nl = len > 0 ? memchr(buf, '\n', len) : NULL;
		if (nl != NULL) {
			size_t ll = (size_t)(nl - buf);
			replies[got] = malloc(ll + 1);
			if (replies[got] == NULL) {
				mgc__err(err, errlen, "out of memory");
				goto fail;
			}
			memcpy(replies[got], buf, ll);
			replies[got][ll] = '\0';
			got++;
			memmove(buf, nl + 1, len - ll - 1);
			len -= ll + 1;
			continue;
		}
		if (len + 4096 > cap) {
			size_t ncap = cap != 0 ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				mgc__err(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r > 0) {
			len += (size_t)r;
			if (len > max_bytes) {
				mgc__err(err, errlen, "reply from %s larger than %zu bytes", path,
					 max_bytes);
				goto fail;
			}
			continue;
		}
		if (r == 0) {
			mgc__err(err, errlen, "%s closed the connection before reply %u of %u",
				 path, got + 1, n);
			goto fail;
		}
		if (errno == EAGAIN || errno == EINTR) {
			int rc = mgc__wait(fd, POLLIN, deadline);
			if (rc > 0)
				continue;
			mgc__err(err, errlen, rc == 0 ? "no reply from %s within %d ms"
						      : "poll on %s failed (timeout %d ms)",
				 path, timeout_ms);
			goto fail;
		}
		mgc__err(err, errlen, "cannot read from %s: %s", path, strerror(errno));
		goto fail;
	}
	free(buf);
	close(fd);
	return 0;

fail:
	for (unsigned i = 0; i < n; i++) {
		free(replies[i]);
		replies[i] = NULL;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}
