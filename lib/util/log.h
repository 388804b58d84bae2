/**
 * @file log.h
 * Process-wide logging to stderr: one line per message with a UTC timestamp, the level and the
 * caller's subsystem tag, e.g. `2026-11-25T23:40:01.123Z notice [mgmt] listening on ...`.
 *
 * Levels follow the config key `log_level` (0 error .. 4 debug). Messages above the current
 * level are discarded before formatting, so TLOG_DEBUG costs one comparison when off.
 *
 * Thread-safety: tlog_write() may be called from any thread (one fprintf per line: stdio locks
 * the stream, so lines do not interleave). tlog_set_level() is a relaxed store; other threads
 * see the new level soon, not at once. Workers should not log per packet: counters are the
 * data-plane's reporting channel.
 */
#ifndef TACHYON_UTIL_LOG_H
#define TACHYON_UTIL_LOG_H

#include <stdarg.h>

/** Levels, matching the config's `log_level` numbers. */
enum tlog_level {
	TLOG_ERROR = 0,
	TLOG_WARNING = 1,
	TLOG_NOTICE = 2,
	TLOG_INFO = 3,
	TLOG_DEBUG = 4,
};

/** Set the most verbose level that is printed; values are clamped to 0..4. */
void tlog_set_level(int level);

/** @return the current level. */
int tlog_get_level(void);

/** @return the level's name ("error", "warning", "notice", "info", "debug"). */
const char *tlog_level_name(int level);

/** Print one line if @p level is enabled. @p tag names the subsystem ("mgmt", "port"). */
void tlog_write(int level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** va_list form of tlog_write(). */
void tlog_vwrite(int level, const char *tag, const char *fmt, va_list ap);

#define TLOG_ERR(tag, ...)    tlog_write(TLOG_ERROR, tag, __VA_ARGS__)
#define TLOG_WARN(tag, ...)   tlog_write(TLOG_WARNING, tag, __VA_ARGS__)
#define TLOG_NOTICE(tag, ...) tlog_write(TLOG_NOTICE, tag, __VA_ARGS__)
#define TLOG_INFO(tag, ...)   tlog_write(TLOG_INFO, tag, __VA_ARGS__)
#define TLOG_DBG(tag, ...)    tlog_write(TLOG_DEBUG, tag, __VA_ARGS__)

#endif /* TACHYON_UTIL_LOG_H */
