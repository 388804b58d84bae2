/**
 * @file plog_error.h
 * How the persistence part reports a failure in words. Every plog function returns a negative
 * errno on failure (see plog_record.h); the ones that touch files also fill a
 * `struct plog_error` so that tachyond can stop with a message an operator can act on
 * ("store /var/lib/tachyon: snapshot-...tsnap: format version 3 is newer than this build (1)").
 */
#ifndef TACHYON_PLOG_ERROR_H
#define TACHYON_PLOG_ERROR_H

/** A failure: the errno and one sentence naming the file and what is wrong. */
struct plog_error {
	int code;       /**< positive errno (EACCES, EBADMSG, ENOTSUP, ...), 0 when no error */
	char msg[384];  /**< NUL-terminated, no trailing newline */
};

#endif /* TACHYON_PLOG_ERROR_H */
