/**
 * @file auth_util.c
 * Load/save helpers for lib/auth: error formatting, reading a file, replacing one atomically,
 * splitting lines and strict base64. Control-core code only (see auth_int.h).
 */
#include "auth/auth_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void auth__err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *auth__strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int auth__read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		auth__err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		auth__err(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		auth__err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > AUTH__MAX_FILE) {
		auth__err(err, errlen, "%s: file is larger than %u bytes", path, AUTH__MAX_FILE);
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size, n = 0;
	char *b = malloc(cap + 1);
	if (b == NULL) {
		auth__err(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	/* Read to EOF rather than trusting st_size: the file may change while we read it. */
	for (;;) {
		if (n == cap) {
			if (cap >= AUTH__MAX_FILE) {
				auth__err(err, errlen, "%s: file is larger than %u bytes", path,
					  AUTH__MAX_FILE);
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(b, cap + 1);
			if (nb == NULL) {
				auth__err(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			auth__err(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return -1;
}

static int auth__write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int auth__write_atomic(const char *path, const char *data, size_t len, mode_t new_mode,
		       char *err, size_t errlen)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	char *dir = malloc(plen + 2);
	int fd = -1;
	if (tmp == NULL || dir == NULL) {
		auth__err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		auth__err(err, errlen, "%s: cannot create a temporary file: %s", path,
			  strerror(errno));
		free(tmp);
		tmp = NULL;
		goto fail;
	}

	struct stat old;
	if (stat(path, &old) == 0) {
		/* Keep what the operator set up: mosquitto may run as another user. fchown
		 * fails without privileges; then the file simply becomes ours. */
		if (fchown(fd, old.st_uid, old.st_gid) != 0) {
			/* not fatal, see above */
		}
		new_mode = old.st_mode & 07777;
	}
	if (fchmod(fd, new_mode) != 0 || auth__write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		auth__err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		auth__err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		auth__err(err, errlen, "%s: cannot rename %s over it: %s", path, tmp,
			  strerror(errno));
		goto fail;
	}
	free(tmp);
	tmp = NULL;

	/* The rename is durable only once the directory entry is on disk. */
	memcpy(dir, path, plen + 1);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return -1;
}

void auth__lines_init(struct auth__lines *it, const char *buf, size_t len)
{
	it->p = buf;
	it->end = buf + len;
	it->lineno = 0;
}

bool auth__lines_next(struct auth__lines *it, const char **line, size_t *len)
{
	if (it->p >= it->end)
		return false;
	const char *s = it->p;
	const char *nl = memchr(s, '\n', (size_t)(it->end - s));
	const char *e = nl ? nl : it->end;
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	if (e > s && e[-1] == '\r')
		e--;
	*line = s;
	*len = (size_t)(e - s);
	return true;
}

void auth__trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;
	while (n > 0 && auth__is_blank(*p)) {
		p++;
		n--;
	}
	while (n > 0 && auth__is_blank(p[n - 1]))
		n--;
	*s = p;
	*len = n;
}

static const char auth__b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void auth__b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = auth__b64_chars[v >> 18];
		*out++ = auth__b64_chars[(v >> 12) & 63];
		*out++ = auth__b64_chars[(v >> 6) & 63];
		*out++ = auth__b64_chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*out++ = auth__b64_chars[v >> 18];
		*out++ = auth__b64_chars[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = auth__b64_chars[v >> 18];
		*out++ = auth__b64_chars[(v >> 12) & 63];
		*out++ = auth__b64_chars[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

static int auth__b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long auth__b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	/* Up to two '=' at the very end, and then the length must be a multiple of 4. */
	size_t pad = 0;
	while (pad < 2 && n > 0 && in[n - 1] == '=') {
		n--;
		pad++;
	}
	if (pad > 0 && (n + pad) % 4 != 0)
		return -1;
	if (n % 4 == 1)
		return -1;
	size_t outlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (outlen > cap)
		return -1;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = auth__b64_val(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Non-zero leftover bits mean a non-canonical encoding: refuse it, so a hash has
	 * exactly one spelling. */
	if (acc != 0)
		return -1;
	return (long)o;
}
