/**
 * @file plog_log.h
 * The append-only log: segment files of record frames, the writer with group commit, and the
 * reader that recovery uses to find where the valid log ends.
 *
 * Files: `<dir>/log-<first seq, 20 digits>.tlog`. Each starts with a 32-byte header
 * (magic "TCHYNLOG", format version, header length, base seq, CRC32C of the header) followed
 * by frames (plog_record.h) whose sequence numbers run base, base+1, ... without holes. A new
 * segment starts when the current one would grow past `segment_bytes`, and after a snapshot
 * (plog_log_rotate()) so that plog_log_cut() can delete whole files.
 *
 * Writer, as the control core drives it: for each batch of events call plog_log_append()
 * (which assigns sequence numbers and buffers the frames), then ask plog_log_sync_due(); when
 * it says yes — or at plog_log_sync_deadline(), from a timer — call plog_log_sync(), then
 * publish plog_log_durable_seq() to the workers, which release the PUBACK/PUBREC of every
 * message up to it (persistence sync). That is group commit: one fdatasync() covers every
 * record appended since the previous one, bounded by a delay and a byte count.
 *
 * Backpressure: appends never block on the disk except when the append buffer is full (it is
 * then written out with write(), no fsync). Memory is bounded by `buffer_bytes` (grown only
 * for a single frame larger than it).
 *
 * Failure: a failed write or fsync leaves the file in an unknown state (after a failed fsync
 * Linux may already have dropped the dirty pages), so the writer latches the error: every
 * later call returns the same negative errno. The caller must stop acknowledging and restart,
 * letting recovery decide what is on disk.
 *
 * Thread-safety: none. One writer object is used by one thread (the control core). Readers
 * (plog_log_scan_*) are pure and may run anywhere on distinct buffers.
 * Errors: 0 / a non-negative value, or a negative errno; plog_log_open() returns NULL.
 */
#ifndef TACHYON_PLOG_LOG_H
#define TACHYON_PLOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plog/plog_error.h"
#include "plog/plog_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Segment header size (bytes before the first frame). */
#define PLOG_LOG_HDR_LEN 32u
/**
 * Segment format version written by this build (the record format, PLOG_REC_VERSION);
 * higher versions are refused, every lower one is read, each frame by the version of its
 * segment. 2 added the record type PLOG_REC_SESS_WILL (frames are otherwise those of 1),
 * 3 the username and listener of PLOG_REC_SESS_CREATE, so a build that knows only an older
 * version refuses a newer store instead of cutting it at the first record it cannot read.
 */
#define PLOG_LOG_VERSION PLOG_REC_VERSION
/** The 8 magic bytes that open every segment. */
#define PLOG_LOG_MAGIC "TCHYNLOG"

/**
 * Group commit policy: fsync once @ref max_bytes are pending or the oldest pending record has
 * waited @ref max_delay_ns, whichever comes first.
 */
struct plog_commit_policy {
	uint64_t max_delay_ns; /**< 0 = sync after every batch */
	size_t max_bytes;      /**< 0 = no size trigger */
};

/**
 * The group commit decision, as a pure function so that the control core's timer logic and
 * the tests can use it without a log.
 *
 * @param now_ns             the caller's monotonic clock.
 * @param bytes_pending      bytes appended but not yet fsynced.
 * @param oldest_pending_ns  the clock value when the oldest of those was appended.
 * @return true when something is pending and either limit is reached.
 */
bool plog_commit_due(const struct plog_commit_policy *p, uint64_t now_ns, size_t bytes_pending,
		     uint64_t oldest_pending_ns);

/** Writer options. Zero fields take the defaults in brackets. */
struct plog_log_opts {
	size_t segment_bytes;            /**< rotate past this size [64 MiB] */
	size_t buffer_bytes;             /**< append buffer [1 MiB] */
	struct plog_commit_policy commit; /**< group commit [2 ms, 1 MiB]; set max_delay_ns to
					       UINT64_MAX to disable the time trigger */
};

struct plog_log;

/**
 * Open the log writer on @p dir, continuing at sequence number @p next_seq.
 *
 * If the newest segment ends cleanly with record next_seq - 1 (or is empty with base
 * next_seq), appends go there; otherwise a new segment `log-<next_seq>` is created. Recovery
 * (plog_store.h) must have cut any torn tail first: a newest segment that does not end
 * cleanly is refused.
 *
 * @param next_seq  sequence number of the next record, >= 1.
 * @param err       optional sentence on failure.
 * @return the writer, or NULL with @p err filled: EBADMSG (newest segment damaged, or its
 *   last record is not next_seq - 1 and a segment for next_seq exists), ENOTSUP (newer
 *   format), EINVAL, ENOMEM, or the errno of open/write/fsync.
 */
struct plog_log *plog_log_open(const char *dir, const struct plog_log_opts *opts,
			       uint64_t next_seq, struct plog_error *err);

/** Write out, fsync and close. Returns the first error met (the log is closed anyway). */
int plog_log_close(struct plog_log *log);

/**
 * Append one record: assign it the next sequence number (stored in rec->seq) and buffer its
 * frame. Not durable until plog_log_sync().
 *
 * @param now_ns  caller's monotonic clock, starts the group commit delay if nothing was
 *                pending.
 * @return the record's sequence number (>= 1), -EINVAL (record does not encode; nothing is
 *   consumed), or the latched I/O error.
 */
int64_t plog_log_append(struct plog_log *log, struct plog_rec *rec, uint64_t now_ns);

/**
 * Hand the buffered frames to the kernel (write(), no fsync). After it, a crash of the process
 * loses nothing appended; a crash of the machine may. @return 0 or a negative errno.
 */
int plog_log_flush(struct plog_log *log);

/**
 * Make every appended record durable: write out, fdatasync() the segment, and fsync the
 * directory if a segment was created since the last sync.
 *
 * @return 0 (plog_log_durable_seq() == plog_log_last_seq() then) or a negative errno
 *   (latched: see the file comment).
 */
int plog_log_sync(struct plog_log *log);

/** @return plog_commit_due() for this log's policy and pending bytes at @p now_ns. */
bool plog_log_sync_due(const struct plog_log *log, uint64_t now_ns);

/** @return the clock value at which the delay rule fires, UINT64_MAX if nothing is pending. */
uint64_t plog_log_sync_deadline(const struct plog_log *log);

/** @return the highest sequence number known to be on disk (0: none yet). */
uint64_t plog_log_durable_seq(const struct plog_log *log);

/** @return the sequence number of the last appended record (next_seq - 1 at open). */
uint64_t plog_log_last_seq(const struct plog_log *log);

/** @return bytes appended and not yet fsynced. */
size_t plog_log_pending_bytes(const struct plog_log *log);

/**
 * Sync, then start a new segment at the next sequence number, unless the current segment
 * holds no record yet. Used after a snapshot so that older segments can be deleted whole.
 * @return 0 or a negative errno.
 */
int plog_log_rotate(struct plog_log *log);

/**
 * Delete the segments every record of which has a sequence number <= @p seq (a segment's
 * records end where the next segment begins). The current segment is never deleted.
 *
 * @return the number of files deleted, or a negative errno.
 */
int plog_log_cut(struct plog_log *log, uint64_t seq);

/* ---- reading ---- */

/** Why a scan stopped. Anything but PLOG_SCAN_END means the rest of the file is not valid. */
enum plog_scan_stop {
	PLOG_SCAN_END = 0,    /**< clean end of file */
	PLOG_SCAN_HEADER = 1, /**< segment header torn (short, zeros or CRC mismatch) */
	PLOG_SCAN_TORN = 2,   /**< last frame incomplete */
	PLOG_SCAN_LENGTH = 3, /**< impossible length field */
	PLOG_SCAN_CRC = 4,    /**< CRC32C mismatch */
	PLOG_SCAN_FORMAT = 5, /**< CRC fine but undecodable (flags, type, fields) */
	PLOG_SCAN_SEQ = 6,    /**< sequence number not exactly previous + 1 */
};

/** @return a sentence for a plog_scan_stop value. */
const char *plog_scan_stop_str(int stop);

/** What a scan found. */
struct plog_scan {
	uint64_t base_seq;  /**< from the header (0 when the header is torn) */
	uint64_t records;   /**< valid records */
	uint64_t last_seq;  /**< last valid record's seq; base_seq - 1 when none */
	uint64_t valid_end; /**< offset just past the last valid byte: header or last record;
				 0 when the header is torn */
	uint64_t file_len;  /**< bytes in the file/buffer */
	int stop;           /**< enum plog_scan_stop */
	uint32_t version;   /**< format version from the header (0 when the header is torn) */
};

/**
 * Called for each valid record, in order. @p rec's byte strings point into the scanned
 * buffer, valid during the call. Return 0 to go on, a negative errno to abort the scan.
 */
typedef int (*plog_scan_cb)(void *arg, const struct plog_rec *rec);

/**
 * Scan a segment held in memory: check the header, then decode frames until the first that
 * is torn, corrupt or out of sequence.
 *
 * Never reads beyond @p len. A damaged file is not an error: the scan returns 0 with
 * res->stop saying where and why it stopped.
 *
 * @param cb  may be NULL.
 * @return 0, -EBADMSG (not a segment: wrong non-zero magic), -ENOTSUP (format version newer
 *   than PLOG_LOG_VERSION), or the callback's negative return.
 */
int plog_log_scan_buf(const uint8_t *buf, size_t len, plog_scan_cb cb, void *arg,
		      struct plog_scan *res);

/** plog_log_scan_buf() over the file at @p path (mapped whole). Adds open/mmap errnos. */
int plog_log_scan_file(const char *path, plog_scan_cb cb, void *arg, struct plog_scan *res);

/** Write the segment header for @p base_seq into @p out (PLOG_LOG_HDR_LEN bytes). */
void plog_log_header(uint8_t out[PLOG_LOG_HDR_LEN], uint64_t base_seq);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_PLOG_LOG_H */
