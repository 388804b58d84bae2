/**
 * @file plog_snap.c
 * Snapshot writer (state -> frames -> igzip -> tmp file -> rename) and loader (file -> inflate
 * -> frames -> state). Both stream through fixed buffers so that a snapshot of millions of
 * sessions never needs its whole uncompressed image in memory.
 */
#include "plog/plog_snap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>

#include "plog/plog_fs.h"

#define PLOG__RAW_CHUNK (256u << 10) /* frames gathered before each deflate call */
#define PLOG__OUT_CHUNK (256u << 10) /* compressed bytes per write() */
#define PLOG__WIN (1u << 20)         /* inflate window while loading */

static void plog__wr(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t plog__rd(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int plog_snap_path(char *out, size_t cap, const char *dir, uint64_t seq)
{
	int n = snprintf(out, cap, "%s/snapshot-%020" PRIu64 ".tsnap", dir, seq);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- writing ---- */

struct plog__snapw {
	int fd;
	struct isal_zstream zs;
	uint8_t *raw;
	size_t raw_len;
	uint8_t *out;
	uint64_t records, raw_bytes, file_bytes;
	uint32_t crc;      /* of the uncompressed stream */
	uint32_t body_crc; /* of the compressed bytes written */
	int err;
};

/* Feed raw[0, raw_len) to the compressor; with @fin, finish the gzip member. */
static int plog__deflate(struct plog__snapw *w, int fin)
{
	w->zs.next_in = w->raw;
	w->zs.avail_in = (uint32_t)w->raw_len;
	w->zs.end_of_stream = (uint16_t)fin;
	for (;;) {
		w->zs.next_out = w->out;
		w->zs.avail_out = PLOG__OUT_CHUNK;
		if (isal_deflate(&w->zs) != COMP_OK)
			return -EIO;
		size_t n = PLOG__OUT_CHUNK - w->zs.avail_out;
		if (n > 0) {
			int rc = plog_fs_write_all(w->fd, w->out, n);
			if (rc != 0)
				return rc;
			w->body_crc = plog_crc32c(w->body_crc, w->out, n);
			w->file_bytes += n;
		}
		bool more = fin ? w->zs.internal_state.state != ZSTATE_END
				: (w->zs.avail_in > 0 || w->zs.avail_out == 0);
		if (!more)
			break;
	}
	w->raw_len = 0;
	return 0;
}

static int plog__snap_rec(void *arg, const struct plog_rec *rec)
{
	struct plog__snapw *w = arg;
	struct plog_rec r = *rec;
	r.seq = w->records + 1; /* frames are numbered so the loader can check order and count */
	int64_t size = plog_rec_frame_size(&r);
	if (size < 0)
		return w->err = (int)size;
	if ((size_t)size > PLOG__RAW_CHUNK - w->raw_len) {
		int rc = plog__deflate(w, 0);
		if (rc != 0)
			return w->err = rc;
	}
	uint8_t *dst = w->raw + w->raw_len, *big = NULL;
	if ((size_t)size > PLOG__RAW_CHUNK) {
		/* A frame larger than the chunk (a huge retained payload) goes through alone. */
		big = malloc((size_t)size);
		if (big == NULL)
			return w->err = -ENOMEM;
		dst = big;
	}
	plog_rec_encode(&r, dst, (size_t)size);
	w->crc = plog_crc32c(w->crc, dst, (size_t)size);
	w->records++;
	w->raw_bytes += (uint64_t)size;
	if (big != NULL) {
		uint8_t *saved = w->raw;
		w->raw = big;
		w->raw_len = (size_t)size;
		int rc = plog__deflate(w, 0);
		w->raw = saved;
		free(big);
		if (rc != 0)
			return w->err = rc;
	} else {
		w->raw_len += (size_t)size;
	}
	return 0;
}

int plog_snap_write(const char *dir, const struct plog_state *st, uint64_t seq, int level,
		    struct plog_snap_info *info, struct plog_error *err)
{
	static const uint32_t lvl_buf[] = { ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
					    ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };
	if (level < 0 || level > 3)
		return plog_fs_err(err, -EINVAL, "snapshot: compression level %d not in 0..3", level);
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	if (plog_snap_path(path, sizeof(path), dir, seq) != 0)
		return plog_fs_err(err, -ENAMETOOLONG, "%s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	struct plog__snapw w = { .fd = -1 };
	uint8_t *lbuf = NULL;
	int rc;
	w.raw = malloc(PLOG__RAW_CHUNK);
	w.out = malloc(PLOG__OUT_CHUNK);
	if (lvl_buf[level] > 0)
		lbuf = malloc(lvl_buf[level]);
	if (w.raw == NULL || w.out == NULL || (lvl_buf[level] > 0 && lbuf == NULL)) {
		rc = plog_fs_err(err, -ENOMEM, "snapshot: out of memory");
		goto out;
	}
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (w.fd < 0) {
		rc = plog_fs_err(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* Header placeholder; the real one is written once lengths and CRC are known. */
	uint8_t hdr[PLOG_SNAP_HDR_LEN] = { 0 };
	if ((rc = plog_fs_write_all(w.fd, hdr, sizeof(hdr))) != 0) {
		plog_fs_err(err, rc, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	isal_deflate_init(&w.zs);
	w.zs.level = (uint32_t)level;
	w.zs.level_buf = lbuf;
	w.zs.level_buf_size = lvl_buf[level];
	w.zs.gzip_flag = IGZIP_GZIP;
	rc = plog_state_emit(st, plog__snap_rec, &w);
	if (rc == 0)
		rc = plog__deflate(&w, 1);
	if (rc != 0) {
		rc = w.err ? w.err : rc;
		plog_fs_err(err, rc, "%s: writing: %s", tmp, strerror(-rc));
		goto out;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	memcpy(hdr, PLOG_SNAP_MAGIC, 8);
	plog__wr(hdr + 8, PLOG_SNAP_VERSION, 2);
	plog__wr(hdr + 10, PLOG_SNAP_HDR_LEN, 2);
	plog__wr(hdr + 12, w.body_crc, 4);
	plog__wr(hdr + 16, seq, 8);
	plog__wr(hdr + 24, w.records, 8);
	plog__wr(hdr + 32, w.raw_bytes, 8);
	plog__wr(hdr + 40, w.file_bytes, 8);
	plog__wr(hdr + 48, now_ms, 8);
	plog__wr(hdr + 56, w.crc, 4);
	plog__wr(hdr + 60, plog_crc32c(0, hdr, 60), 4);
	if (pwrite(w.fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fdatasync(w.fd) != 0) {
		rc = plog_fs_err(err, errno ? -errno : -EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(w.fd);
	w.fd = -1;
	if (rename(tmp, path) != 0) {
		rc = plog_fs_err(err, -errno, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = plog_fs_fsync_dir(dir)) != 0) {
		plog_fs_err(err, rc, "%s: fsync: %s", dir, strerror(-rc));
		goto out;
	}
	if (info != NULL)
		*info = (struct plog_snap_info){ seq, w.records, w.raw_bytes,
						 w.file_bytes + PLOG_SNAP_HDR_LEN, now_ms };
out:
	if (w.fd >= 0)
		close(w.fd);
	if (rc != 0)
		unlink(tmp);
	free(lbuf);
	free(w.raw);
	free(w.out);
	return rc;
}

/* ---- loading ---- */

static int plog__bad(struct plog_error *err, const char *what)
{
	return plog_fs_err(err, -EBADMSG, "%s", what);
}

int plog_snap_load_buf(const uint8_t *buf, size_t len, struct plog_state *st,
		       struct plog_snap_info *info, struct plog_error *err)
{
	if (len < PLOG_SNAP_HDR_LEN || memcmp(buf, PLOG_SNAP_MAGIC, 8) != 0)
		return plog__bad(err, "not a snapshot (short file or bad magic)");
	if (plog_crc32c(0, buf, 60) != (uint32_t)plog__rd(buf + 60, 4))
		return plog__bad(err, "header CRC32C mismatch");
	uint32_t version = (uint32_t)plog__rd(buf + 8, 2);
	if (version > PLOG_SNAP_VERSION)
		return plog_fs_err(err, -ENOTSUP, "format version %u is newer than this build (%u)",
				   version, PLOG_SNAP_VERSION);
	struct plog_snap_info hi = {
		.seq = plog__rd(buf + 16, 8),
		.records = plog__rd(buf + 24, 8),
		.raw_bytes = plog__rd(buf + 32, 8),
		.file_bytes = len,
		.created_ms = plog__rd(buf + 48, 8),
	};
	uint64_t body = plog__rd(buf + 40, 8);
	uint32_t want_crc = (uint32_t)plog__rd(buf + 56, 4);
	if (version == 0 || plog__rd(buf + 10, 2) != PLOG_SNAP_HDR_LEN ||
	    body != len - PLOG_SNAP_HDR_LEN)
		return plog__bad(err, "header fields inconsistent with file length");
	if (plog_crc32c(0, buf + PLOG_SNAP_HDR_LEN, body) != (uint32_t)plog__rd(buf + 12, 4))
		return plog__bad(err, "compressed body CRC32C mismatch");

	struct inflate_state *is = malloc(sizeof(*is));
	size_t cap = PLOG__WIN;
	uint8_t *win = malloc(cap);
	int rc = 0;
	if (is == NULL || win == NULL) {
		rc = plog_fs_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (body > UINT32_MAX) {
		/* isal_inflate() counts input in 32 bits; the writer never gets near that. */
		rc = plog__bad(err, "compressed body too large");
		goto out;
	}
	isal_inflate_init(is);
	is->crc_flag = ISAL_GZIP;
	is->next_in = (uint8_t *)buf + PLOG_SNAP_HDR_LEN;
	is->avail_in = (uint32_t)body;
	size_t have = 0;
	uint64_t records = 0, raw = 0;
	uint32_t crc = 0;
	bool done = false;
	while (!done) {
		is->next_out = win + have;
		is->avail_out = (uint32_t)(cap - have);
		uint32_t in_before = is->avail_in;
		int irc = isal_inflate(is);
		if (irc < 0) {
			rc = plog__bad(err, "compressed body damaged (inflate error)");
			goto out;
		}
		size_t produced = (size_t)(is->next_out - (win + have));
		have += produced;
		done = is->block_state == ISAL_BLOCK_FINISH;
		if (!done && produced == 0 && (is->avail_in == 0 || is->avail_in == in_before)) {
			/* No progress: input exhausted before the gzip trailer (truncated), or the
			 * inflater is stuck on garbage. Either way the body is not a whole member. */
			rc = plog__bad(err, "compressed body truncated");
			goto out;
		}
		/* Apply every complete frame in the window, keep a partial one for the next round. */
		size_t off = 0;
		for (;;) {
			struct plog_rec rec;
			size_t flen;
			int perr = plog_rec_parse_ver(win + off, have - off, version, &rec, &flen);
			if (perr == PLOG_PARSE_SHORT && flen > cap) {
				/* One frame bigger than the window: grow it to hold the frame. */
				memmove(win, win + off, have - off);
				have -= off;
				off = 0;
				uint8_t *nw = realloc(win, flen);
				if (nw == NULL) {
					rc = plog_fs_err(err, -ENOMEM, "out of memory");
					goto out;
				}
				win = nw;
				cap = flen;
				break;
			}
			if (perr == PLOG_PARSE_SHORT)
				break;
			if (perr != 0 || rec.seq != records + 1) {
				rc = plog__bad(err, perr ? plog_parse_err_str(perr)
							 : "frames out of order");
				goto out;
			}
			crc = plog_crc32c(crc, win + off, flen);
			if ((rc = plog_state_apply(st, &rec)) != 0) {
				plog_fs_err(err, rc, "out of memory");
				goto out;
			}
			records++;
			raw += flen;
			off += flen;
		}
		memmove(win, win + off, have - off);
		have -= off;
	}
	if (have != 0 || is->avail_in != 0 || records != hi.records || raw != hi.raw_bytes ||
	    crc != want_crc) {
		rc = plog__bad(err, "content does not match header (count, length or CRC32C)");
		goto out;
	}
	if (info != NULL)
		*info = hi;
out:
	free(is);
	free(win);
	return rc;
}

int plog_snap_load(const char *path, struct plog_state *st, struct plog_snap_info *info,
		   struct plog_error *err)
{
	uint8_t *buf;
	size_t len;
	int rc = plog_fs_read_file(path, &buf, &len);
	if (rc != 0)
		return plog_fs_err(err, rc, "%s: %s", path, strerror(-rc));
	rc = plog_snap_load_buf(buf, len, st, info, err);
	free(buf);
	if (rc != 0 && err != NULL) {
		char m[sizeof(err->msg)];
		snprintf(m, sizeof(m), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "%s: %.300s", path, m);
	}
	return rc;
}
