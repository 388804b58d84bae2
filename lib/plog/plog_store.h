/**
 * @file plog_store.h
 * The persistence store: one directory holding log segments and snapshots, recovered at
 * open, then appended to, synced and snapshotted by the control core. This is the API
 * tachyond uses; plog_log.h, plog_snap.h and plog_state.h are its parts.
 *
 * Control core usage:
 *
 *     struct plog_error err;
 *     struct plog_store *ps = plog_store_open("/var/lib/tachyon", &opts, &err);
 *     if (!ps) { log err.msg; exit(1); }               // unreadable store: stop, say why
 *     log plog_store_describe_recovery(ps, ...);       // what recovery did, one line
 *     restore workers from plog_store_state(ps);
 *     loop:
 *       for each event from the workers' rings: plog_store_append(ps, &rec, now)
 *       if (plog_store_sync_due(ps, now)) plog_store_sync(ps);   // group commit
 *       publish plog_store_durable_seq(ps) to the workers         // sync mode: release acks
 *       arm the timer at plog_store_sync_deadline(ps)
 *       every N minutes or on "snapshot now": plog_store_snapshot(ps, ...)
 *     plog_store_close(ps);
 *
 * Directory: `log-<seq>.tlog` segments, `snapshot-<seq>.tsnap` (the newest two are kept),
 * `LOCK` (flock: one process per store), and after damage `*.bad-<UTC time>` files that hold
 * what recovery refused, for inspection; nothing reads them again. The recovery algorithm is
 * explained in plog_store.c and docs/durability.md.
 *
 * Thread-safety: none; one thread (the control core) owns a store.
 * Errors: plog_store_open() returns NULL and fills @p err; the rest return 0 (or a
 * non-negative value) or a negative errno. Errors of the log writer are latched
 * (plog_log.h): after one, every append/sync fails the same way and the caller must stop
 * acknowledging and restart.
 */
#ifndef TACHYON_PLOG_STORE_H
#define TACHYON_PLOG_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "plog/plog_error.h"
#include "plog/plog_log.h"
#include "plog/plog_snap.h"
#include "plog/plog_state.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a path in the store plus a `.bad-<time>.<n>` suffix. */
#define PLOG_PATH_LEN (PATH_MAX + 128)

/** Store options. Zero-initialise and set what you need. */
struct plog_store_opts {
	struct plog_log_opts log; /**< segment size, buffer, group commit (see plog_log.h) */
	int snap_level;           /**< igzip level 1..3 for snapshots; 0 = default (1) */
	bool start_empty;         /**< move an existing store aside to `<dir>.old-<time>` and
				       start with an empty one (the explicit operator option) */
};

/** What recovery did at open. */
struct plog_recovery {
	bool snapshot_used;        /**< a snapshot was loaded */
	uint64_t snapshot_seq;     /**< its seq (0 if none) */
	uint64_t snapshot_records; /**< frames it held */
	unsigned snapshots_bad;    /**< damaged snapshots set aside before a good one was found */
	uint64_t segments;         /**< log segments read */
	uint64_t records_replayed; /**< log records applied (seq > snapshot_seq) */
	uint64_t records_skipped;  /**< log records already covered by the snapshot */
	unsigned tails_cut;        /**< 1 when a damaged log tail was set aside, else 0 */
	int tail_reason;           /**< enum plog_scan_stop of the damage */
	uint64_t tail_seq;         /**< seq the log ends with after the cut */
	uint64_t bytes_cut;        /**< bytes set aside (the tail plus any later segments) */
	unsigned covered_damage;   /**< damaged segments wholly covered by the snapshot: skipped,
					not cut (nothing needed was lost) */
	char tail_file[PLOG_PATH_LEN];  /**< where the damaged segment's tail went ("" if none) */
	unsigned tmp_removed;      /**< stale snapshot .tmp files deleted */
	uint64_t next_seq;         /**< sequence number the next append gets */
	char moved_aside[PLOG_PATH_LEN]; /**< start_empty: where the old store went ("" if nothing) */
	uint64_t duration_ns;      /**< wall time of the whole open */
};

/** Running counters. */
struct plog_store_stats {
	uint64_t appended;        /**< records appended since open */
	uint64_t syncs;           /**< successful syncs that wrote something */
	uint64_t snapshots;       /**< snapshots written since open */
	uint64_t last_snapshot_seq;
	uint64_t last_seq;        /**< last appended */
	uint64_t durable_seq;     /**< last on disk */
};

struct plog_store;

/**
 * Open (creating it if absent) and recover the store in @p dir: load the newest valid
 * snapshot (setting damaged ones aside, falling back to the previous), replay the log after
 * it up to the first torn or corrupt record (set aside to `<segment>.bad-<time>`, the segment
 * truncated, later segments set aside), then open the writer.
 *
 * @param opts  may be NULL for defaults.
 * @param err   filled on failure with a message naming the file and the problem.
 * @return the store, or NULL with err->code: EACCES/EPERM/ENOENT... (the directory or a file
 *   cannot be created or read), EBUSY (another process holds the store), EBADMSG (a file is
 *   not ours — bad magic — or the log has a gap no snapshot covers), ENOTSUP (written by a
 *   newer format version), ENOMEM, EIO. None of these alter the store; start_empty is the
 *   operator's way past them.
 */
struct plog_store *plog_store_open(const char *dir, const struct plog_store_opts *opts,
				   struct plog_error *err);

/** Sync and close; frees the state. @return the first error met (closed anyway). */
int plog_store_close(struct plog_store *ps);

/** @return what recovery did. Valid until close. */
const struct plog_recovery *plog_store_recovery(const struct plog_store *ps);

/** One line for the log: "recovered: snapshot 1200 (3 frames), 57 records replayed...". */
int plog_store_describe_recovery(const struct plog_store *ps, char *buf, size_t cap);

/** @return the control core's replica of the durable state. Valid until close. */
const struct plog_state *plog_store_state(const struct plog_store *ps);

/** Fill @p out with the running counters. */
void plog_store_stats(const struct plog_store *ps, struct plog_store_stats *out);

/**
 * Record one event: apply it to the replica and append it to the log (buffered; durable
 * after plog_store_sync()). rec->seq is set.
 *
 * @return the record's seq; -EINVAL (does not encode: nothing changed); -ENOMEM (replica out
 *   of memory: nothing changed); or the log's latched I/O error.
 */
int64_t plog_store_append(struct plog_store *ps, struct plog_rec *rec, uint64_t now_ns);

/** plog_log_flush(): hand buffered records to the kernel. */
int plog_store_flush(struct plog_store *ps);

/** plog_log_sync(): make every appended record durable. */
int plog_store_sync(struct plog_store *ps);

/** plog_log_sync_due(). */
bool plog_store_sync_due(const struct plog_store *ps, uint64_t now_ns);

/** plog_log_sync_deadline(). */
uint64_t plog_store_sync_deadline(const struct plog_store *ps);

/** @return the highest seq on disk; acks for records up to it may be released. */
uint64_t plog_store_durable_seq(const struct plog_store *ps);

/**
 * Snapshot now: sync the log, write the replica as `snapshot-<last seq>`, start a new log
 * segment, delete snapshots older than the previous one, and delete the log segments the
 * previous snapshot covers (the previous snapshot stays usable as a fallback, so the log it
 * needs stays too).
 *
 * Runs on the caller's thread and takes time proportional to the state (see
 * docs/benchmarks.md); workers are not paused, their rings buffer meanwhile.
 *
 * @param info  optional: what was written.
 * @return 0 or a negative errno (a failed snapshot leaves the previous ones and the whole log
 *   in place).
 */
int plog_store_snapshot(struct plog_store *ps, struct plog_snap_info *info,
			struct plog_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_PLOG_STORE_H */
