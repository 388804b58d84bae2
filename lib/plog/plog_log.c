/**
 * @file plog_log.c
 * Log segments: the writer (append -> buffer -> write -> fdatasync, rotation, cut) and the
 * scanner recovery uses. See plog_log.h for the contract and docs/durability.md for the
 * format.
 */
#include "plog/plog_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog/plog_fs.h"

#define PLOG__SEG_PREFIX "log-"
#define PLOG__SEG_SUFFIX ".tlog"

/*
 * Invariants:
 *  - last_seq is the seq of the last appended record; durable_seq <= last_seq.
 *  - the current segment's file holds seg_written bytes; buf holds buf_len more that belong
 *    after them; seg_written + buf_len is the segment's logical size.
 *  - pending_bytes counts bytes appended since the last successful sync; when it is 0,
 *    durable_seq == last_seq (unless failed).
 *  - seg_records == 0 means the current segment holds only its header (base seg_base).
 */
struct plog_log {
	char dir[PATH_MAX];
	struct plog_log_opts opts;
	int fd;               /* current segment */
	uint64_t seg_base;    /* its base seq */
	uint64_t seg_records; /* records in it (file + buffer) */
	uint64_t seg_written; /* bytes in the file */
	uint8_t *buf;
	size_t buf_len, buf_cap;
	uint64_t last_seq, durable_seq;
	size_t pending_bytes;
	uint64_t pending_since_ns;
	bool dir_dirty; /* a segment was created and the directory not fsynced since */
	int failed;     /* latched negative errno, 0 when healthy */
};

bool plog_commit_due(const struct plog_commit_policy *p, uint64_t now_ns, size_t bytes_pending,
		     uint64_t oldest_pending_ns)
{
	if (bytes_pending == 0)
		return false;
	if (p->max_bytes != 0 && bytes_pending >= p->max_bytes)
		return true;
	if (p->max_delay_ns == UINT64_MAX)
		return false;
	return now_ns >= oldest_pending_ns && now_ns - oldest_pending_ns >= p->max_delay_ns;
}

void plog_log_header(uint8_t out[PLOG_LOG_HDR_LEN], uint64_t base_seq)
{
	memset(out, 0, PLOG_LOG_HDR_LEN);
	memcpy(out, PLOG_LOG_MAGIC, 8);
	uint32_t v = PLOG_LOG_VERSION, hl = PLOG_LOG_HDR_LEN;
	for (int i = 0; i < 4; i++) {
		out[8 + i] = (uint8_t)(v >> (8 * i));
		out[12 + i] = (uint8_t)(hl >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		out[16 + i] = (uint8_t)(base_seq >> (8 * i));
	uint32_t crc = plog_crc32c(0, out, 28);
	for (int i = 0; i < 4; i++)
		out[28 + i] = (uint8_t)(crc >> (8 * i));
}

static uint64_t plog__le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- scanning ---- */

const char *plog_scan_stop_str(int stop)
{
	switch (stop) {
	case PLOG_SCAN_END:
		return "clean end";
	case PLOG_SCAN_HEADER:
		return "torn segment header";
	case PLOG_SCAN_TORN:
		return "truncated record (torn write)";
	case PLOG_SCAN_LENGTH:
		return "impossible record length";
	case PLOG_SCAN_CRC:
		return "CRC32C mismatch";
	case PLOG_SCAN_FORMAT:
		return "malformed record";
	case PLOG_SCAN_SEQ:
		return "sequence number out of order";
	default:
		return "unknown";
	}
}

int plog_log_scan_buf(const uint8_t *buf, size_t len, plog_scan_cb cb, void *arg,
		      struct plog_scan *res)
{
	memset(res, 0, sizeof(*res));
	res->file_len = len;
	/* A header is written once, fsynced before any record: if it is short or all zeros the
	 * machine died while creating the file (some filesystems show zeros for allocated but
	 * unwritten blocks). That is a torn tail, not a foreign file. */
	static const uint8_t zeros[8];
	if (len < PLOG_LOG_HDR_LEN || memcmp(buf, zeros, 8) == 0) {
		if (len >= 8 && memcmp(buf, zeros, 8) != 0 && memcmp(buf, PLOG_LOG_MAGIC, 8) != 0)
			return -EBADMSG;
		if (len < 8 && len > 0 && memcmp(buf, PLOG_LOG_MAGIC, len) != 0)
			return -EBADMSG;
		res->stop = PLOG_SCAN_HEADER;
		return 0;
	}
	if (memcmp(buf, PLOG_LOG_MAGIC, 8) != 0)
		return -EBADMSG;
	if (plog_crc32c(0, buf, 28) != (uint32_t)plog__le(buf + 28, 4)) {
		res->stop = PLOG_SCAN_HEADER;
		return 0;
	}
	/* Version is checked only once the CRC vouches for the header: a flipped bit must read
	 * as damage, a genuine newer file as "upgrade needed". */
	if (plog__le(buf + 8, 4) > PLOG_LOG_VERSION)
		return -ENOTSUP;
	uint64_t hdr_len = plog__le(buf + 12, 4);
	if (plog__le(buf + 8, 4) == 0 || hdr_len != PLOG_LOG_HDR_LEN) {
		res->stop = PLOG_SCAN_HEADER;
		return 0;
	}
	res->version = (uint32_t)plog__le(buf + 8, 4);
	res->base_seq = plog__le(buf + 16, 8);
	res->last_seq = res->base_seq - 1;
	res->valid_end = PLOG_LOG_HDR_LEN;
	size_t off = PLOG_LOG_HDR_LEN;
	while (off < len) {
		struct plog_rec rec;
		size_t flen;
		int perr = plog_rec_parse_ver(buf + off, len - off, res->version, &rec, &flen);
		if (perr != 0) {
			res->stop = perr == PLOG_PARSE_SHORT    ? PLOG_SCAN_TORN
				    : perr == PLOG_PARSE_LENGTH ? PLOG_SCAN_LENGTH
				    : perr == PLOG_PARSE_CRC    ? PLOG_SCAN_CRC
								: PLOG_SCAN_FORMAT;
			return 0;
		}
		if (rec.seq != res->last_seq + 1) {
			res->stop = PLOG_SCAN_SEQ;
			return 0;
		}
		if (cb != NULL) {
			int rc = cb(arg, &rec);
			if (rc < 0)
				return rc;
		}
		off += flen;
		res->records++;
		res->last_seq = rec.seq;
		res->valid_end = off;
	}
	res->stop = PLOG_SCAN_END;
	return 0;
}

int plog_log_scan_file(const char *path, plog_scan_cb cb, void *arg, struct plog_scan *res)
{
	memset(res, 0, sizeof(*res));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (st.st_size == 0) {
		close(fd);
		return plog_log_scan_buf((const uint8_t *)"", 0, cb, arg, res);
	}
	/* mmap rather than read(): recovery scans every segment once, and copying 64 MiB
	 * segments through read() was a tenth of recovery time. The store's LOCK guarantees
	 * nobody truncates the file under the mapping (which would raise SIGBUS). */
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	int rc = plog_log_scan_buf(map, (size_t)st.st_size, cb, arg, res);
	munmap(map, (size_t)st.st_size);
	return rc;
}

/* ---- writer ---- */

static int plog__fail(struct plog_log *log, int rc)
{
	if (log->failed == 0)
		log->failed = rc;
	return rc;
}

/* Create `log-<base>.tlog` with its header, fsynced; the directory entry is made durable by
 * the next sync (dir_dirty), before any record in the file is reported durable. */
static int plog__seg_create(struct plog_log *log, uint64_t base)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/" PLOG__SEG_PREFIX "%020" PRIu64 PLOG__SEG_SUFFIX,
		 log->dir, base);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	uint8_t hdr[PLOG_LOG_HDR_LEN];
	plog_log_header(hdr, base);
	int rc = plog_fs_write_all(fd, hdr, sizeof(hdr));
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	log->fd = fd;
	log->seg_base = base;
	log->seg_records = 0;
	log->seg_written = PLOG_LOG_HDR_LEN;
	log->dir_dirty = true;
	return 0;
}

static int plog__write_out(struct plog_log *log)
{
	if (log->failed)
		return log->failed;
	if (log->buf_len == 0)
		return 0;
	int rc = plog_fs_write_all(log->fd, log->buf, log->buf_len);
	if (rc != 0)
		return plog__fail(log, rc);
	log->seg_written += log->buf_len;
	log->buf_len = 0;
	return 0;
}

int plog_log_flush(struct plog_log *log)
{
	return plog__write_out(log);
}

int plog_log_sync(struct plog_log *log)
{
	int rc = plog__write_out(log);
	if (rc != 0)
		return rc;
	if (log->pending_bytes == 0 && !log->dir_dirty)
		return 0;
	if (fdatasync(log->fd) != 0)
		return plog__fail(log, -errno);
	if (log->dir_dirty) {
		rc = plog_fs_fsync_dir(log->dir);
		if (rc != 0)
			return plog__fail(log, rc);
		log->dir_dirty = false;
	}
	log->durable_seq = log->last_seq;
	log->pending_bytes = 0;
	return 0;
}

static int plog__rotate_to(struct plog_log *log, uint64_t base)
{
	/* Sync the old segment first: durable_seq then never depends on more than the current
	 * file plus the directory. */
	int rc = plog_log_sync(log);
	if (rc != 0)
		return rc;
	close(log->fd);
	log->fd = -1;
	rc = plog__seg_create(log, base);
	if (rc != 0)
		return plog__fail(log, rc);
	return 0;
}

int plog_log_rotate(struct plog_log *log)
{
	if (log->failed)
		return log->failed;
	if (log->seg_records == 0)
		return plog_log_sync(log);
	return plog__rotate_to(log, log->last_seq + 1);
}

int64_t plog_log_append(struct plog_log *log, struct plog_rec *rec, uint64_t now_ns)
{
	if (log->failed)
		return log->failed;
	int64_t fsize = plog_rec_frame_size(rec);
	if (fsize < 0)
		return fsize;
	size_t fs = (size_t)fsize;
	int rc;
	if (log->seg_records > 0 &&
	    log->seg_written + log->buf_len + fs > log->opts.segment_bytes) {
		rc = plog__rotate_to(log, log->last_seq + 1);
		if (rc != 0)
			return rc;
	}
	if (log->buf_cap - log->buf_len < fs) {
		rc = plog__write_out(log);
		if (rc != 0)
			return rc;
		if (log->buf_cap < fs) {
			uint8_t *nb = realloc(log->buf, fs);
			if (nb == NULL)
				return -ENOMEM;
			log->buf = nb;
			log->buf_cap = fs;
		}
	}
	rec->seq = log->last_seq + 1;
	int64_t n = plog_rec_encode(rec, log->buf + log->buf_len, log->buf_cap - log->buf_len);
	if (n < 0)
		return n;
	log->buf_len += (size_t)n;
	if (log->pending_bytes == 0)
		log->pending_since_ns = now_ns;
	log->pending_bytes += (size_t)n;
	log->seg_records++;
	log->last_seq = rec->seq;
	return (int64_t)rec->seq;
}

bool plog_log_sync_due(const struct plog_log *log, uint64_t now_ns)
{
	return plog_commit_due(&log->opts.commit, now_ns, log->pending_bytes, log->pending_since_ns);
}

uint64_t plog_log_sync_deadline(const struct plog_log *log)
{
	if (log->pending_bytes == 0 || log->opts.commit.max_delay_ns == UINT64_MAX)
		return UINT64_MAX;
	uint64_t d = log->pending_since_ns + log->opts.commit.max_delay_ns;
	return d < log->pending_since_ns ? UINT64_MAX : d;
}

uint64_t plog_log_durable_seq(const struct plog_log *log)
{
	return log->durable_seq;
}

uint64_t plog_log_last_seq(const struct plog_log *log)
{
	return log->last_seq;
}

size_t plog_log_pending_bytes(const struct plog_log *log)
{
	return log->pending_bytes;
}

int plog_log_cut(struct plog_log *log, uint64_t seq)
{
	struct plog_fs_entry *segs;
	int n = plog_fs_list(log->dir, PLOG__SEG_PREFIX, PLOG__SEG_SUFFIX, &segs);
	if (n < 0)
		return n;
	int removed = 0, rc = 0;
	/* Segment i holds [base_i, base_{i+1} - 1]; delete it when that range is <= seq. Stop at
	 * the first one kept so that the log never gets a hole. */
	for (int i = 0; i + 1 < n && segs[i].seq != log->seg_base; i++) {
		if (segs[i + 1].seq > seq + 1)
			break;
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", log->dir, segs[i].name);
		if (unlink(path) != 0) {
			rc = -errno;
			break;
		}
		removed++;
	}
	free(segs);
	if (removed > 0) {
		int r2 = plog_fs_fsync_dir(log->dir);
		if (rc == 0)
			rc = r2;
	}
	return rc != 0 ? rc : removed;
}

static void plog__defaults(struct plog_log_opts *o)
{
	if (o->segment_bytes == 0)
		o->segment_bytes = 64u << 20;
	if (o->buffer_bytes == 0)
		o->buffer_bytes = 1u << 20;
	if (o->commit.max_delay_ns == 0 && o->commit.max_bytes == 0) {
		o->commit.max_delay_ns = 2000000;
		o->commit.max_bytes = 1u << 20;
	}
}

/* Decide where appends go: the newest segment if it ends exactly at next_seq - 1. */
static int plog__open_tail(struct plog_log *log, uint64_t next_seq, struct plog_error *err)
{
	struct plog_fs_entry *segs;
	int n = plog_fs_list(log->dir, PLOG__SEG_PREFIX, PLOG__SEG_SUFFIX, &segs);
	if (n < 0)
		return plog_fs_err(err, n, "%s: cannot list: %s", log->dir, strerror(-n));
	int rc = 0;
	if (n > 0) {
		const struct plog_fs_entry *last = &segs[n - 1];
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", log->dir, last->name);
		struct plog_scan sc;
		rc = plog_log_scan_file(path, NULL, NULL, &sc);
		if (rc == -ENOTSUP) {
			rc = plog_fs_err(err, rc, "%s: format version newer than %u", path,
					 PLOG_LOG_VERSION);
		} else if (rc != 0) {
			rc = plog_fs_err(err, rc, "%s: %s", path,
					 rc == -EBADMSG ? "not a log segment" : strerror(-rc));
		} else if (sc.stop != PLOG_SCAN_END || sc.base_seq != last->seq) {
			rc = plog_fs_err(err, -EBADMSG, "%s: damaged (%s); run recovery first", path,
					 plog_scan_stop_str(sc.stop));
		} else if (sc.last_seq + 1 == next_seq && sc.version == PLOG_LOG_VERSION) {
			int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (fd < 0) {
				rc = plog_fs_err(err, -errno, "%s: %s", path, strerror(errno));
			} else {
				log->fd = fd;
				log->seg_base = sc.base_seq;
				log->seg_records = sc.records;
				log->seg_written = sc.file_len;
			}
			free(segs);
			return rc;
		} else if (sc.last_seq + 1 == next_seq) {
			/* A segment of an older format version: our records (maybe of types that
			 * version lacks) go to a new segment with our version in its header, so
			 * that an older build refuses them instead of reading them as damage. An
			 * empty one is simply written again under the same name. */
		} else if (sc.last_seq >= next_seq || last->seq >= next_seq) {
			/* Appending elsewhere would give two records the same sequence number. */
			rc = plog_fs_err(err, -EBADMSG,
					 "%s: holds records at or after %" PRIu64 " (log ahead of state)",
					 path, next_seq);
		}
	}
	free(segs);
	if (rc != 0)
		return rc;
	rc = plog__seg_create(log, next_seq);
	if (rc != 0)
		return plog_fs_err(err, rc, "%s: cannot create segment: %s", log->dir, strerror(-rc));
	return 0;
}

struct plog_log *plog_log_open(const char *dir, const struct plog_log_opts *opts,
			       uint64_t next_seq, struct plog_error *err)
{
	if (next_seq == 0 || strlen(dir) >= PATH_MAX) {
		plog_fs_err(err, -EINVAL, "%s: invalid log open arguments", dir);
		return NULL;
	}
	struct plog_log *log = calloc(1, sizeof(*log));
	if (log == NULL) {
		plog_fs_err(err, -ENOMEM, "%s: out of memory", dir);
		return NULL;
	}
	strcpy(log->dir, dir);
	if (opts != NULL)
		log->opts = *opts;
	plog__defaults(&log->opts);
	log->fd = -1;
	log->last_seq = log->durable_seq = next_seq - 1;
	log->buf_cap = log->opts.buffer_bytes;
	log->buf = malloc(log->buf_cap);
	if (log->buf == NULL) {
		plog_fs_err(err, -ENOMEM, "%s: out of memory", dir);
		goto err;
	}
	if (plog__open_tail(log, next_seq, err) != 0)
		goto err;
	return log;
err:
	free(log->buf);
	free(log);
	return NULL;
}

int plog_log_close(struct plog_log *log)
{
	if (log == NULL)
		return 0;
	int rc = log->failed ? log->failed : plog_log_sync(log);
	if (log->fd >= 0)
		close(log->fd);
	free(log->buf);
	free(log);
	return rc;
}
