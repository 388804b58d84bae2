/**
 * @file plog_test.h
 * Minimal harness for the plog unit tests: CHECK macros that report file:line and keep
 * going, a per-test temporary directory under $TMPDIR removed at the end, and small file
 * helpers. Header-only so every test program stays one file.
 */
#ifndef TACHYON_TESTS_PLOG_TEST_H
#define TACHYON_TESTS_PLOG_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pt_failures;
static int pt_checks;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		pt_checks++;                                                                 \
		if (!(cond)) {                                                               \
			pt_failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long pt_a = (long long)(a), pt_b = (long long)(b);                      \
		pt_checks++;                                                                 \
		if (pt_a != pt_b) {                                                          \
			pt_failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s (%lld) != %s (%lld)\n",  \
				__FILE__, __LINE__, #a, pt_a, #b, pt_b);                     \
		}                                                                            \
	} while (0)

/* Stop the test program: used when continuing would only cascade (NULL handles). */
#define REQUIRE(cond)                                                                        \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

static int pt__rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/** Remove a directory tree (no error if absent). */
static inline void pt_rmrf(const char *path)
{
	nftw(path, pt__rm, 16, FTW_DEPTH | FTW_PHYS);
}

static char pt_tmp_root[512];

static void pt__cleanup(void)
{
	if (pt_tmp_root[0])
		pt_rmrf(pt_tmp_root);
}

/** Create the test's private temp dir (removed at exit) and return it. */
static inline const char *pt_tmpdir(void)
{
	if (pt_tmp_root[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(pt_tmp_root, sizeof(pt_tmp_root), "%s/plog-test-XXXXXX",
			 base && *base ? base : "/tmp");
		REQUIRE(mkdtemp(pt_tmp_root) != NULL);
		atexit(pt__cleanup);
	}
	return pt_tmp_root;
}

/** "<tmpdir>/<name>" in a static rotating buffer. */
static inline const char *pt_path(const char *name)
{
	static char bufs[8][1024];
	static int i;
	char *b = bufs[i++ & 7];
	snprintf(b, sizeof(bufs[0]), "%s/%s", pt_tmpdir(), name);
	return b;
}

/** Read a whole file; returns malloc'd buffer or NULL. */
static inline uint8_t *pt_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

/** Replace a file's content. */
static inline void pt_write(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	REQUIRE(f != NULL);
	REQUIRE(fwrite(buf, 1, len, f) == len);
	fclose(f);
}

/** Copy a directory's regular files (flat) into another, creating it. */
static inline void pt_copy_dir(const char *from, const char *to)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	REQUIRE(system(cmd) == 0);
}

/** Number of entries in @dir whose name contains @needle. */
static inline int pt_count(const char *dir, const char *needle)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "ls -1 '%s' | grep -c -- '%s'", dir, needle);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static inline int pt_done(const char *name)
{
	if (pt_failures) {
		fprintf(stderr, "%s: %d of %d checks FAILED\n", name, pt_failures, pt_checks);
		return 1;
	}
	printf("%s: all %d checks passed\n", name, pt_checks);
	return 0;
}

#endif /* TACHYON_TESTS_PLOG_TEST_H */
