/**
 * @file plog_fs.c
 * POSIX file helpers for lib/plog (see plog_fs.h). Kept apart so that the log, snapshot and
 * store files read as the algorithm, not as EINTR loops.
 */
#include "plog/plog_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int plog_fs_err(struct plog_error *e, int neg_errno, const char *fmt, ...)
{
	if (e != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		e->code = -neg_errno;
	}
	return neg_errno;
}

int plog_fs_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t plog_fs_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int64_t)got;
}

int plog_fs_read_file(const char *path, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	/* +1 so that an empty file still gets a valid pointer. */
	uint8_t *b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	int64_t n = plog_fs_pread_all(fd, b, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		free(b);
		return (int)n;
	}
	*buf = b;
	*len = (size_t)n;
	return 0;
}

int plog_fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

static int plog__entry_cmp(const void *a, const void *b)
{
	const struct plog_fs_entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int plog_fs_list(const char *dir, const char *prefix, const char *suffix,
		 struct plog_fs_entry **out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	size_t plen = strlen(prefix), slen = strlen(suffix);
	struct plog_fs_entry *arr = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (len <= plen + slen || len >= sizeof(arr->name) || strncmp(nm, prefix, plen) != 0 ||
		    strcmp(nm + len - slen, suffix) != 0)
			continue;
		uint64_t seq = 0;
		int ok = 1;
		for (size_t i = plen; i < len - slen; i++) {
			if (nm[i] < '0' || nm[i] > '9' || seq > (UINT64_MAX - 9) / 10) {
				ok = 0;
				break;
			}
			seq = seq * 10 + (uint64_t)(nm[i] - '0');
		}
		if (!ok)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct plog_fs_entry *na = realloc(arr, cap * sizeof(*arr));
			if (na == NULL) {
				free(arr);
				closedir(d);
				return -ENOMEM;
			}
			arr = na;
		}
		arr[n].seq = seq;
		memcpy(arr[n].name, nm, len + 1);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(arr, n, sizeof(*arr), plog__entry_cmp);
	*out = arr;
	return (int)n;
}

int plog_fs_aside_name(char *out, size_t cap, const char *path, const char *tag)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (unsigned i = 0; i < 1000; i++) {
		int n = i == 0 ? snprintf(out, cap, "%s%s%s", path, tag, stamp)
			       : snprintf(out, cap, "%s%s%s.%u", path, tag, stamp, i);
		if (n < 0 || (size_t)n >= cap)
			return -ENAMETOOLONG;
		struct stat st;
		if (lstat(out, &st) != 0)
			return 0;
	}
	return -EEXIST;
}
