/**
 * @file plog_store.c
 * The store facade: recovery at open, then append / sync / snapshot on behalf of the control
 * core (plog_store.h).
 *
 * How it works: log replay and torn tails
 * ---------------------------------------
 * The log is a sequence of frames numbered 1, 2, 3... without holes, split over segment files
 * named by their first number. A frame is written with one write() after the previous ones
 * and made durable by a later fdatasync(); a crash can therefore leave, at the end of the
 * newest segment, any prefix of the bytes written since the last fdatasync — the last frame
 * cut anywhere, or (on filesystems that allocate before they write) zeros in place of data.
 * Nothing before the last fdatasync can be torn, so damage found *before* the end is bit rot
 * or a foreign hand, not a crash.
 *
 * Recovery reads snapshot, then log:
 *   1. Snapshots newest first. Each is checked end to end (header CRC, gzip CRC, per-frame
 *      CRC, frame count, CRC32C of the whole stream) before it counts; a damaged one is
 *      renamed `.bad-<time>` and the previous one is tried. Snapshot S covers records <= S.
 *   2. Segments in order. Records <= S are skipped, the rest applied. The scan stops at the
 *      first frame that is short (torn), has an impossible length, a CRC mismatch, a
 *      malformed payload, or a number that is not previous + 1. Everything before that point
 *      is valid by construction (each frame carries its own CRC and number); everything from
 *      it on is not replayed, ever: a frame after a bad one could describe a change whose
 *      predecessor was lost, and applying it would build a state that never existed. A
 *      segment whose header disagrees with its file name (or overlaps the previous one) is
 *      bad from byte 0, judged from the header before any record of it is applied.
 *   3. The refused bytes are kept for a human: the damaged segment's tail is copied to
 *      `<segment>.bad-<time>` and fsynced, the segment truncated to its valid end and fsynced;
 *      later segments are renamed aside whole; then the directory is fsynced. The order
 *      matters: copy before truncate, so a crash during recovery loses nothing and the next
 *      recovery simply does the same again.
 *   4. The writer resumes at max(last valid record, S) + 1, in the last segment if it ends
 *      exactly there, else in a new one. Sequence numbers never repeat.
 *
 * Damage in a segment whose records the loaded snapshot wholly covers (the next segment
 * starts at or before S + 1) loses nothing: it is counted (covered_damage) and skipped, and
 * the later segments are replayed as usual.
 *
 * A missing range is not damage but loss: if the first segment after S starts beyond S + 1
 * (both snapshots bad after the log was cut, or files deleted by hand), replaying would skip
 * changes silently, so open fails with EBADMSG and the operator decides (start_empty).
 *
 * Why keep two snapshots and cut the log at the older one: when the newest snapshot is bad,
 * recovery falls back to the previous one, which needs every record after *its* number. So
 * after snapshot N is written, segments are deleted only up to snapshot N-1's number.
 */
#include "plog/plog_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plog/plog_fs.h"

struct plog_store {
	char dir[PATH_MAX];
	struct plog_store_opts opts;
	int lock_fd;
	struct plog_state *state;
	struct plog_log *log;
	struct plog_recovery rec;
	struct plog_store_stats stats;
	uint64_t snap_seqs[2]; /* newest two snapshots kept: [0] newest, 0 = none */
};

static uint64_t plog__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int plog__path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Rename @name in the store aside to `<name>.bad-<time>`. */
static int plog__set_aside(struct plog_store *ps, const char *name, char *out, size_t cap)
{
	char from[PATH_MAX + 64], to[PATH_MAX + 96];
	plog__path(from, sizeof(from), ps->dir, name);
	int rc = plog_fs_aside_name(to, sizeof(to), from, ".bad-");
	if (rc != 0)
		return rc;
	if (rename(from, to) != 0)
		return -errno;
	if (out != NULL)
		snprintf(out, cap, "%s", to);
	return 0;
}

/* ---- step 0: the directory, its lock, start_empty ---- */

static int plog__prepare_dir(struct plog_store *ps, struct plog_error *err)
{
	struct stat st;
	if (ps->opts.start_empty && stat(ps->dir, &st) == 0) {
		char to[PATH_MAX];
		int rc = plog_fs_aside_name(to, sizeof(to), ps->dir, ".old-");
		if (rc != 0)
			return plog_fs_err(err, rc, "store %s: cannot name the old store", ps->dir);
		if (rename(ps->dir, to) != 0)
			return plog_fs_err(err, -errno, "store %s: cannot move aside to %s: %s",
					   ps->dir, to, strerror(errno));
		snprintf(ps->rec.moved_aside, sizeof(ps->rec.moved_aside), "%s", to);
	}
	bool created = mkdir(ps->dir, 0750) == 0;
	if (!created && errno != EEXIST)
		return plog_fs_err(err, -errno, "store %s: cannot create: %s", ps->dir,
				   strerror(errno));
	if (created || ps->rec.moved_aside[0] != '\0') {
		/* Make the new directory (and the rename) durable in the parent: a log record
		 * fsynced into a directory whose own entry is lost would be lost with it. */
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", ps->dir);
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		else
			strcpy(parent, ".");
		plog_fs_fsync_dir(parent);
	}
	char lock[PATH_MAX + 8];
	if (plog__path(lock, sizeof(lock), ps->dir, "LOCK") != 0)
		return plog_fs_err(err, -ENAMETOOLONG, "store %s: path too long", ps->dir);
	ps->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (ps->lock_fd < 0)
		return plog_fs_err(err, -errno, "store %s: cannot open %s: %s", ps->dir, lock,
				   strerror(errno));
	if (flock(ps->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return plog_fs_err(err, errno == EWOULDBLOCK ? -EBUSY : -errno,
				   "store %s: in use by another process (%s is locked)", ps->dir,
				   lock);
	return 0;
}

static int plog__remove_tmp(struct plog_store *ps, struct plog_error *err)
{
	struct plog_fs_entry *tmps;
	int n = plog_fs_list(ps->dir, "snapshot-", ".tsnap.tmp", &tmps);
	if (n < 0)
		return plog_fs_err(err, n, "store %s: cannot list: %s", ps->dir, strerror(-n));
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX + 64];
		plog__path(p, sizeof(p), ps->dir, tmps[i].name);
		if (unlink(p) == 0)
			ps->rec.tmp_removed++;
	}
	free(tmps);
	return 0;
}

/* ---- step 1: snapshots ---- */

static int plog__load_snapshot(struct plog_store *ps, struct plog_error *err)
{
	struct plog_fs_entry *snaps;
	int n = plog_fs_list(ps->dir, "snapshot-", ".tsnap", &snaps);
	if (n < 0)
		return plog_fs_err(err, n, "store %s: cannot list: %s", ps->dir, strerror(-n));
	int rc = 0;
	for (int i = n - 1; i >= 0; i--) {
		char p[PATH_MAX + 64];
		plog__path(p, sizeof(p), ps->dir, snaps[i].name);
		struct plog_state *st = plog_state_new();
		if (st == NULL) {
			rc = plog_fs_err(err, -ENOMEM, "store %s: out of memory", ps->dir);
			break;
		}
		struct plog_snap_info info;
		struct plog_error serr;
		rc = plog_snap_load(p, st, &info, &serr);
		if (rc == 0 && info.seq != snaps[i].seq)
			rc = plog_fs_err(&serr, -EBADMSG, "%s: header says seq %" PRIu64, p, info.seq);
		if (rc == 0) {
			plog_state_free(ps->state);
			ps->state = st;
			ps->rec.snapshot_used = true;
			ps->rec.snapshot_seq = info.seq;
			ps->rec.snapshot_records = info.records;
			ps->snap_seqs[0] = info.seq;
			ps->snap_seqs[1] = i > 0 ? snaps[i - 1].seq : 0;
			break;
		}
		plog_state_free(st);
		if (rc != -EBADMSG) {
			/* Not damage but a store we must not guess about: newer format, no
			 * permission, I/O error. Stop with the snapshot's own message. */
			plog_fs_err(err, rc, "store %s: %.300s", ps->dir, serr.msg);
			break;
		}
		rc = plog__set_aside(ps, snaps[i].name, NULL, 0);
		if (rc != 0) {
			plog_fs_err(err, rc, "store %s: cannot set damaged %s aside: %s", ps->dir,
				    snaps[i].name, strerror(-rc));
			break;
		}
		ps->rec.snapshots_bad++;
	}
	free(snaps);
	return rc;
}

/* ---- step 2 and 3: log replay, tail cut ---- */

static int plog__replay_rec(void *arg, const struct plog_rec *rec)
{
	struct plog_store *ps = arg;
	if (rec->seq <= ps->rec.snapshot_seq) {
		ps->rec.records_skipped++;
		return 0;
	}
	int rc = plog_state_apply(ps->state, rec);
	if (rc == 0)
		ps->rec.records_replayed++;
	return rc;
}

/* Keep bytes [off, EOF) of segment @name in `<name>.bad-<time>`, then truncate it to @off. */
static int plog__cut_tail(struct plog_store *ps, const char *name, uint64_t off, uint64_t len)
{
	char p[PATH_MAX + 64];
	plog__path(p, sizeof(p), ps->dir, name);
	if (off == 0)
		return plog__set_aside(ps, name, ps->rec.tail_file, sizeof(ps->rec.tail_file));
	char to[PATH_MAX + 96];
	int rc = plog_fs_aside_name(to, sizeof(to), p, ".bad-");
	if (rc != 0)
		return rc;
	int in = open(p, O_RDWR | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	uint8_t buf[64 * 1024];
	for (uint64_t pos = off; pos < len && rc == 0;) {
		size_t want = len - pos < sizeof(buf) ? (size_t)(len - pos) : sizeof(buf);
		int64_t n = plog_fs_pread_all(in, buf, want, pos);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		rc = plog_fs_write_all(out, buf, (size_t)n);
		pos += (uint64_t)n;
	}
	if (rc == 0 && fsync(out) != 0)
		rc = -errno;
	if (rc == 0 && (ftruncate(in, (off_t)off) != 0 || fsync(in) != 0))
		rc = -errno;
	close(out);
	close(in);
	if (rc == 0)
		snprintf(ps->rec.tail_file, sizeof(ps->rec.tail_file), "%s", to);
	return rc;
}

/* Check the segment header at @path alone (same verdicts as a scan of an empty segment). */
static int plog__seg_header(const char *path, struct plog_scan *sc)
{
	uint8_t hdr[PLOG_LOG_HDR_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int64_t n = plog_fs_pread_all(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0)
		return (int)n;
	return plog_log_scan_buf(hdr, (size_t)n, NULL, NULL, sc);
}

static int plog__replay_log(struct plog_store *ps, uint64_t *last_seq, struct plog_error *err)
{
	struct plog_fs_entry *segs;
	int n = plog_fs_list(ps->dir, "log-", ".tlog", &segs);
	if (n < 0)
		return plog_fs_err(err, n, "store %s: cannot list: %s", ps->dir, strerror(-n));
	uint64_t snap = ps->rec.snapshot_seq;
	*last_seq = 0; /* last valid log record seen */
	int rc = 0, bad = -1;
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX + 64];
		plog__path(p, sizeof(p), ps->dir, segs[i].name);
		uint64_t expect = (*last_seq > snap ? *last_seq : snap) + 1;
		if (segs[i].seq > expect) {
			rc = plog_fs_err(err, -EBADMSG,
					 "store %s: records %" PRIu64 "..%" PRIu64 " are missing (%s "
					 "starts at %" PRIu64 ", %s); refusing to replay past a gap",
					 ps->dir, expect, segs[i].seq - 1, segs[i].name, segs[i].seq,
					 snap ? "after the snapshot" : "no valid snapshot");
			break;
		}
		/* A header that names another base than the file name, or a base that overlaps
		 * what came before, makes the whole file untrustworthy in sequence: decide that
		 * from the header alone, before a single record of it is applied. */
		struct plog_scan sc;
		bool misplaced = false;
		rc = plog__seg_header(p, &sc);
		if (rc == 0 && sc.stop == PLOG_SCAN_END &&
		    (sc.base_seq != segs[i].seq || (i > 0 && sc.base_seq <= *last_seq))) {
			misplaced = true;
			sc.stop = sc.base_seq != segs[i].seq ? PLOG_SCAN_HEADER : PLOG_SCAN_SEQ;
			sc.valid_end = 0;
			sc.records = 0;
			struct stat st;
			sc.file_len = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
		}
		if (rc == 0 && !misplaced)
			rc = plog_log_scan_file(p, plog__replay_rec, ps, &sc);
		if (rc == -EBADMSG) {
			rc = plog_fs_err(err, rc, "store %s: %s is not a log segment (bad magic)",
					 ps->dir, segs[i].name);
			break;
		} else if (rc == -ENOTSUP) {
			rc = plog_fs_err(err, rc,
					 "store %s: %s: format version newer than this build (%u)",
					 ps->dir, segs[i].name, PLOG_LOG_VERSION);
			break;
		} else if (rc == -ENOMEM) {
			rc = plog_fs_err(err, rc, "store %s: out of memory replaying %s", ps->dir,
					 segs[i].name);
			break;
		} else if (rc != 0) {
			rc = plog_fs_err(err, rc, "store %s: %s: %s", ps->dir, segs[i].name,
					 strerror(-rc));
			break;
		}
		ps->rec.segments++;
		if (sc.valid_end > 0 && sc.records > 0)
			*last_seq = sc.last_seq;
		if (sc.stop != PLOG_SCAN_END && i + 1 < n && segs[i + 1].seq <= snap + 1) {
			/* The damage lies wholly in records the snapshot covers (this segment is
			 * kept only as the fallback's log): nothing to replay is lost, so go on.
			 * The next log cut deletes the file. */
			ps->rec.covered_damage++;
			continue;
		}
		if (sc.stop != PLOG_SCAN_END) {
			ps->rec.tails_cut = 1;
			ps->rec.tail_reason = sc.stop;
			ps->rec.bytes_cut = sc.file_len - sc.valid_end;
			rc = plog__cut_tail(ps, segs[i].name, sc.valid_end, sc.file_len);
			if (rc != 0) {
				plog_fs_err(err, rc, "store %s: cannot set the damaged tail of %s aside: %s",
					    ps->dir, segs[i].name, strerror(-rc));
				break;
			}
			bad = i;
			break;
		}
	}
	/* Segments after the damage are past the point of no replay: set aside whole. */
	for (int i = bad + 1; bad >= 0 && rc == 0 && i < n; i++) {
		char p[PATH_MAX + 64];
		struct stat st;
		plog__path(p, sizeof(p), ps->dir, segs[i].name);
		if (stat(p, &st) == 0)
			ps->rec.bytes_cut += (uint64_t)st.st_size;
		rc = plog__set_aside(ps, segs[i].name, NULL, 0);
		if (rc != 0)
			plog_fs_err(err, rc, "store %s: cannot set %s aside: %s", ps->dir,
				    segs[i].name, strerror(-rc));
	}
	if (rc == 0 && bad >= 0) {
		rc = plog_fs_fsync_dir(ps->dir);
		if (rc != 0)
			plog_fs_err(err, rc, "store %s: fsync: %s", ps->dir, strerror(-rc));
	}
	free(segs);
	return rc;
}

/* ---- open / close ---- */

struct plog_store *plog_store_open(const char *dir, const struct plog_store_opts *opts,
				   struct plog_error *err)
{
	uint64_t t0 = plog__mono_ns();
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--; /* "x/" and "x" are the same store; rename() of "x/" aside would fail */
	if (dlen == 0 || dlen >= sizeof(((struct plog_store *)0)->dir) - 80) {
		plog_fs_err(err, -EINVAL, "store %s: empty or too long a path", dir);
		return NULL;
	}
	struct plog_store *ps = calloc(1, sizeof(*ps));
	if (ps == NULL) {
		plog_fs_err(err, -ENOMEM, "store %s: out of memory", dir);
		return NULL;
	}
	memcpy(ps->dir, dir, dlen);
	ps->lock_fd = -1;
	if (opts != NULL)
		ps->opts = *opts;
	if (ps->opts.snap_level <= 0 || ps->opts.snap_level > 3)
		ps->opts.snap_level = 1;
	uint64_t last = 0;
	if (plog__prepare_dir(ps, err) != 0 || plog__remove_tmp(ps, err) != 0)
		goto fail;
	ps->state = plog_state_new();
	if (ps->state == NULL) {
		plog_fs_err(err, -ENOMEM, "store %s: out of memory", dir);
		goto fail;
	}
	if (plog__load_snapshot(ps, err) != 0 || plog__replay_log(ps, &last, err) != 0)
		goto fail;
	ps->rec.tail_seq = last;
	ps->rec.next_seq = (last > ps->rec.snapshot_seq ? last : ps->rec.snapshot_seq) + 1;
	ps->log = plog_log_open(ps->dir, &ps->opts.log, ps->rec.next_seq, err);
	if (ps->log == NULL)
		goto fail;
	ps->stats.last_snapshot_seq = ps->rec.snapshot_seq;
	ps->rec.duration_ns = plog__mono_ns() - t0;
	return ps;
fail:
	plog_state_free(ps->state);
	if (ps->lock_fd >= 0)
		close(ps->lock_fd);
	free(ps);
	return NULL;
}

int plog_store_close(struct plog_store *ps)
{
	if (ps == NULL)
		return 0;
	int rc = plog_log_close(ps->log);
	plog_state_free(ps->state);
	if (ps->lock_fd >= 0)
		close(ps->lock_fd); /* releases the flock */
	free(ps);
	return rc;
}

const struct plog_recovery *plog_store_recovery(const struct plog_store *ps)
{
	return &ps->rec;
}

int plog_store_describe_recovery(const struct plog_store *ps, char *buf, size_t cap)
{
	const struct plog_recovery *r = &ps->rec;
	int n = snprintf(buf, cap,
			 "store %s recovered in %.3f s: snapshot %s%" PRIu64 " (%" PRIu64
			 " frames, %u damaged set aside), %" PRIu64 " log records replayed, %" PRIu64
			 " skipped, next seq %" PRIu64,
			 ps->dir, (double)r->duration_ns / 1e9, r->snapshot_used ? "" : "none/",
			 r->snapshot_seq, r->snapshot_records, r->snapshots_bad, r->records_replayed,
			 r->records_skipped, r->next_seq);
	if (n >= 0 && (size_t)n < cap && r->tails_cut)
		n += snprintf(buf + n, cap - (size_t)n,
			      "; log cut after seq %" PRIu64 " (%s), %" PRIu64 " bytes kept in %s",
			      r->tail_seq, plog_scan_stop_str(r->tail_reason), r->bytes_cut,
			      r->tail_file);
	if (n >= 0 && (size_t)n < cap && r->covered_damage)
		n += snprintf(buf + n, cap - (size_t)n,
			      "; %u damaged segment(s) wholly covered by the snapshot skipped",
			      r->covered_damage);
	if (n >= 0 && (size_t)n < cap && r->moved_aside[0])
		n += snprintf(buf + n, cap - (size_t)n, "; old store moved to %s", r->moved_aside);
	return n;
}

const struct plog_state *plog_store_state(const struct plog_store *ps)
{
	return ps->state;
}

void plog_store_stats(const struct plog_store *ps, struct plog_store_stats *out)
{
	*out = ps->stats;
	out->last_seq = plog_log_last_seq(ps->log);
	out->durable_seq = plog_log_durable_seq(ps->log);
}

/* ---- run time ---- */

int64_t plog_store_append(struct plog_store *ps, struct plog_rec *rec, uint64_t now_ns)
{
	/* Check that it encodes before touching the replica, then apply, then log: a record the
	 * log refuses (latched I/O error) leaves the replica ahead of the log, which is harmless
	 * because the caller must restart and recovery rebuilds the replica from the files. */
	if (plog_rec_frame_size(rec) < 0)
		return -EINVAL;
	int rc = plog_state_apply(ps->state, rec);
	if (rc != 0)
		return rc;
	int64_t seq = plog_log_append(ps->log, rec, now_ns);
	if (seq > 0)
		ps->stats.appended++;
	return seq;
}

int plog_store_flush(struct plog_store *ps)
{
	return plog_log_flush(ps->log);
}

int plog_store_sync(struct plog_store *ps)
{
	bool work = plog_log_pending_bytes(ps->log) > 0;
	int rc = plog_log_sync(ps->log);
	if (rc == 0 && work)
		ps->stats.syncs++;
	return rc;
}

bool plog_store_sync_due(const struct plog_store *ps, uint64_t now_ns)
{
	return plog_log_sync_due(ps->log, now_ns);
}

uint64_t plog_store_sync_deadline(const struct plog_store *ps)
{
	return plog_log_sync_deadline(ps->log);
}

uint64_t plog_store_durable_seq(const struct plog_store *ps)
{
	return plog_log_durable_seq(ps->log);
}

int plog_store_snapshot(struct plog_store *ps, struct plog_snap_info *info,
			struct plog_error *err)
{
	int rc = plog_store_sync(ps);
	if (rc != 0)
		return plog_fs_err(err, rc, "store %s: log sync failed: %s", ps->dir, strerror(-rc));
	uint64_t seq = plog_log_last_seq(ps->log);
	rc = plog_snap_write(ps->dir, ps->state, seq, ps->opts.snap_level, info, err);
	if (rc != 0)
		return rc;
	ps->stats.snapshots++;
	ps->stats.last_snapshot_seq = seq;
	if (ps->snap_seqs[0] != seq) {
		ps->snap_seqs[1] = ps->snap_seqs[0];
		ps->snap_seqs[0] = seq;
	}
	/* From here on the new snapshot is safe; what follows only reclaims space, and a
	 * failure leaves extra files that the next snapshot deletes. */
	rc = plog_log_rotate(ps->log);
	if (rc != 0)
		return plog_fs_err(err, rc, "store %s: log rotate failed: %s", ps->dir,
				   strerror(-rc));
	struct plog_fs_entry *snaps;
	int n = plog_fs_list(ps->dir, "snapshot-", ".tsnap", &snaps);
	for (int i = 0; i < n; i++) {
		if (snaps[i].seq == ps->snap_seqs[0] || snaps[i].seq == ps->snap_seqs[1])
			continue;
		char p[PATH_MAX + 64];
		plog__path(p, sizeof(p), ps->dir, snaps[i].name);
		unlink(p);
	}
	free(snaps);
	if (ps->snap_seqs[1] != 0) {
		rc = plog_log_cut(ps->log, ps->snap_seqs[1]);
		if (rc < 0)
			return plog_fs_err(err, rc, "store %s: log cut failed: %s", ps->dir,
					   strerror(-rc));
	}
	return plog_fs_fsync_dir(ps->dir);
}
