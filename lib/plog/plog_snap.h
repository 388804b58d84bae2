/**
 * @file plog_snap.h
 * Snapshots: the control core's replica (plog_state.h) written as one compressed file, so
 * that recovery replays only the log written since, and the log can be cut.
 *
 * File `<dir>/snapshot-<seq, 20 digits>.tsnap`: a 64-byte header, then a gzip member
 * (ISA-L igzip, level 1 by default) whose uncompressed content is a stream of record frames
 * (plog_record.h) numbered 1..N, exactly what plog_state_emit() produces. Header, all
 * little-endian:
 *
 *     off size field
 *       0    8 magic "TCHYSNAP"
 *       8    2 format version (3; 1 and 2 are read too)
 *      10    2 header length (64)
 *      12    4 CRC32C of the compressed body (checked before inflating: every bit counts,
 *              even those gzip itself ignores, such as its header's mtime)
 *      16    8 seq: the last log record the snapshot includes
 *      24    8 number of frames N
 *      32    8 uncompressed stream length
 *      40    8 compressed body length (the gzip member, to end of file)
 *      48    8 creation time, Unix ms
 *      56    4 CRC32C of the uncompressed stream
 *      60    4 CRC32C of bytes [0, 60)
 *
 * `tail -c +65 snapshot-....tsnap | zcat | xxd` shows the frames: the body is plain gzip.
 *
 * Writing is crash-safe: `snapshot-<seq>.tsnap.tmp` is written and fdatasync'ed, renamed over
 * the final name, then the directory is fsynced. A crash leaves either no snapshot-<seq> or a
 * complete one (plus perhaps a .tmp that the store deletes at open).
 *
 * Thread-safety: none needed; functions touch only their arguments and the named files.
 * Errors: 0 or a negative errno, with a sentence in the optional `struct plog_error`:
 * -EBADMSG = the file is damaged (any check failed), -ENOTSUP = newer format version,
 * other = the failing system call's errno.
 */
#ifndef TACHYON_PLOG_SNAP_H
#define TACHYON_PLOG_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "plog/plog_error.h"
#include "plog/plog_state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLOG_SNAP_MAGIC "TCHYSNAP"
/**
 * Snapshot format version written; see PLOG_LOG_VERSION (2: may hold PLOG_REC_SESS_WILL;
 * 3: PLOG_REC_SESS_CREATE with username and listener). Frames are read by the header's
 * version.
 */
#define PLOG_SNAP_VERSION PLOG_REC_VERSION
#define PLOG_SNAP_HDR_LEN 64u

/** What a snapshot holds (from its header) and, after writing, what it cost. */
struct plog_snap_info {
	uint64_t seq;        /**< last log record included */
	uint64_t records;    /**< frames in the stream */
	uint64_t raw_bytes;  /**< uncompressed stream length */
	uint64_t file_bytes; /**< header + compressed body */
	uint64_t created_ms; /**< Unix ms */
};

/**
 * Write @p st as the snapshot for sequence number @p seq into @p dir (tmp, fsync, rename,
 * fsync dir). The caller must have made the log durable up to @p seq first.
 *
 * @param level  igzip level 0..3 (1 is the fast default; 0 = stored Huffman only).
 * @param info   optional, filled on success.
 * @return 0 or a negative errno (the .tmp file is removed on failure).
 */
int plog_snap_write(const char *dir, const struct plog_state *st, uint64_t seq, int level,
		    struct plog_snap_info *info, struct plog_error *err);

/**
 * Load a snapshot file into @p st, which should be empty. On failure @p st may hold part of
 * the snapshot: discard it.
 *
 * @return 0; -EBADMSG (damaged: header, gzip, CRC, frame or count mismatch); -ENOTSUP (newer
 *   version); -ENOMEM; or open/read's errno.
 */
int plog_snap_load(const char *path, struct plog_state *st, struct plog_snap_info *info,
		   struct plog_error *err);

/** plog_snap_load() on a file already in memory (also the fuzz entry point). */
int plog_snap_load_buf(const uint8_t *buf, size_t len, struct plog_state *st,
		       struct plog_snap_info *info, struct plog_error *err);

/** Build `<dir>/snapshot-<seq>.tsnap` into @p out. @return 0 or -ENAMETOOLONG. */
int plog_snap_path(char *out, size_t cap, const char *dir, uint64_t seq);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_PLOG_SNAP_H */
