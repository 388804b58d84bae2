/**
 * @file auth_test.h
 * A few helpers shared by the lib/auth unit tests: CHECK that counts failures instead of
 * aborting (so one run shows every broken vector), a private temporary directory removed at
 * exit, and running an external tool (mosquitto_passwd) without a shell.
 */
#ifndef TACHYON_TESTS_AUTH_TEST_H
#define TACHYON_TESTS_AUTH_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int at_failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			at_failures++;                                                \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long at_a = (long long)(a), at_b = (long long)(b);                  \
		if (at_a != at_b) {                                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, at_a, at_b);                 \
			at_failures++;                                                   \
		}                                                                        \
	} while (0)

static char at_dir[64];

/** Remove every plain file in at_dir, then the directory (tests create no subdirs). */
static __attribute__((unused)) void at_cleanup(void)
{
	if (at_dir[0] == '\0')
		return;
	DIR *d = opendir(at_dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", at_dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(at_dir);
	at_dir[0] = '\0';
}

/** Create the test's temporary directory; it is removed at exit. */
static __attribute__((unused)) void at_mkdir(void)
{
	snprintf(at_dir, sizeof(at_dir), "/tmp/tachyon-auth-test.XXXXXX");
	if (mkdtemp(at_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(at_cleanup);
}

/** @return at_dir/name in a static rotating buffer. */
static __attribute__((unused)) const char *at_path(const char *name)
{
	static char bufs[4][512];
	static int k;
	char *b = bufs[k++ & 3];
	snprintf(b, sizeof(bufs[0]), "%s/%s", at_dir, name);
	return b;
}

/** Run argv (no shell), stdout/stderr to /dev/null. @return its exit status, or -1. */
static __attribute__((unused)) int at_run(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *f = freopen("/dev/null", "w", stdout);
		(void)f;
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/** Count the entries of at_dir (to see that no temporary file was left behind). */
static __attribute__((unused)) int at_dir_entries(void)
{
	int n = 0;
	DIR *d = opendir(at_dir);
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static __attribute__((unused)) int at_finish(const char *name)
{
	if (at_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, at_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

#endif /* TACHYON_TESTS_AUTH_TEST_H */
