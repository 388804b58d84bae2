/**
 * @file log.c
 * Logging to stderr (see log.h): one line per call, UTC timestamp with milliseconds.
 */
#include <stdio.h>
#include <time.h>

#include "util/log.h"

/* Relaxed atomics: the level is a hint that may be changed at run time (mgmt `log level`)
 * while workers read it; no ordering with other data is needed. */
static int tlog__level = TLOG_NOTICE;

static const char *const tlog__names[] = { "error", "warning", "notice", "info", "debug" };

void tlog_set_level(int level)
{
	if (level < TLOG_ERROR)
		level = TLOG_ERROR;
	if (level > TLOG_DEBUG)
		level = TLOG_DEBUG;
	__atomic_store_n(&tlog__level, level, __ATOMIC_RELAXED);
}

int tlog_get_level(void)
{
	return __atomic_load_n(&tlog__level, __ATOMIC_RELAXED);
}

const char *tlog_level_name(int level)
{
	if (level < TLOG_ERROR || level > TLOG_DEBUG)
		return "?";
	return tlog__names[level];
}

void tlog_vwrite(int level, const char *tag, const char *fmt, va_list ap)
{
	if (level > tlog_get_level())
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line: stdio's stream lock keeps concurrent lines whole. */
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, tlog_level_name(level), tag ? tag : "-", msg);
}

void tlog_write(int level, const char *tag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tlog_vwrite(level, tag, fmt, ap);
	va_end(ap);
}
