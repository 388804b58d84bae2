/**
 * @file plog_fs.h
 * Internal to lib/plog: the small POSIX file helpers the log, the snapshots and the store share
 * (write everything, read a whole file, fsync a directory, list numbered files, name a file
 * set aside). Not installed, not for other parts.
 *
 * Errors: 0 or a negative errno, as everywhere in plog. Single-threaded caller.
 */
#ifndef TACHYON_PLOG_FS_H
#define TACHYON_PLOG_FS_H

#include <stddef.h>
#include <stdint.h>

#include "plog/plog_error.h"

/** A numbered file in a store directory: `<prefix><20-digit seq><suffix>`. */
struct plog_fs_entry {
	uint64_t seq;
	char name[64];
};

/**
 * Fill @p e (may be NULL) with -@p neg_errno's errno and a formatted sentence.
 * @return @p neg_errno, so that callers can `return plog_fs_err(e, -EIO, "...")`.
 */
int plog_fs_err(struct plog_error *e, int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** write() all of @p buf, retrying on EINTR and short writes. @return 0 or -errno. */
int plog_fs_write_all(int fd, const void *buf, size_t len);

/** pread() exactly @p len bytes at @p off. @return bytes read (< len at EOF) or -errno. */
int64_t plog_fs_pread_all(int fd, void *buf, size_t len, uint64_t off);

/** Read the whole file at @p path into a malloc'd buffer. @return 0 or -errno. */
int plog_fs_read_file(const char *path, uint8_t **buf, size_t *len);

/** fsync() the directory @p dir so that creations, renames and unlinks in it are durable. */
int plog_fs_fsync_dir(const char *dir);

/**
 * List the files of @p dir named `<prefix><digits><suffix>` (exact suffix, so `.tmp` and
 * `.bad-*` files are not listed), sorted by ascending number.
 *
 * @param out  malloc'd array (free() it), NULL when none.
 * @return the number of entries, or -errno (-ENOMEM, or opendir()'s error).
 */
int plog_fs_list(const char *dir, const char *prefix, const char *suffix,
		 struct plog_fs_entry **out);

/**
 * Build a name that does not exist yet: `<path><tag><UTC time>` then `.1`, `.2`... if taken.
 * Used for `<segment>.bad-<time>` and `<dir>.old-<time>`. @return 0 or -ENAMETOOLONG.
 */
int plog_fs_aside_name(char *out, size_t cap, const char *path, const char *tag);

#endif /* TACHYON_PLOG_FS_H */
