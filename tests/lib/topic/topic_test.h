/**
 * @file
 * Helpers shared by the topic-table tests: a check macro that reports and counts
 * failures, a seeded PRNG, the brute-force reference matcher the tree is judged against,
 * and helpers to settle RCU (wait for every pending call_rcu) from a QSBR thread.
 */
#ifndef TACHYON_TESTS_TOPIC_TEST_H
#define TACHYON_TESTS_TOPIC_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic/topic.h"

static int tt_failures __attribute__((unused));

#define CHECK(cond) do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			if (++tt_failures > 20) \
				exit(1); \
		} \
	} while (0)

#define CHECK_EQ(a, b) do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		if (a_ != b_) { \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, a_, b_); \
			if (++tt_failures > 20) \
				exit(1); \
		} \
	} while (0)

/* splitmix64: deterministic, seedable, good enough for test data */
static inline uint64_t tt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned tt_below(uint64_t *s, unsigned n)
{
	return (unsigned)(tt_rand(s) % n);
}

/* A multiplier for sizes: TOPIC_TEST_SCALE=10 runs ten times the default work. */
static inline unsigned tt_scale(void)
{
	const char *e = getenv("TOPIC_TEST_SCALE");
	int v = e != NULL ? atoi(e) : 1;

	return v > 0 ? (unsigned)v : 1;
}

/*
 * The reference: MQTT 4.7 read literally, one level at a time on NUL-terminated strings.
 * Independent of the tree on purpose (no shared code).
 */
static inline bool tt_ref_match(const char *f, const char *t)
{
	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		const char *fe = strchr(f, '/'), *te = strchr(t, '/');
		size_t fl, tl;

		if (fe == NULL)
			fe = f + strlen(f);
		if (te == NULL)
			te = t + strlen(t);
		fl = (size_t)(fe - f);
		tl = (size_t)(te - t);
		if (fl == 1 && f[0] == '#')
			return true;
		if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0))
			return false;
		if (*fe == '\0' && *te == '\0')
			return true;
		if (*te == '\0')
			return strcmp(fe, "/#") == 0;   /* "a/#" matches "a" */
		if (*fe == '\0')
			return false;
		f = fe + 1;
		t = te + 1;
	}
}

/* Run every pending call_rcu callback (the caller is an online QSBR thread). */
static inline void tt_settle(void)
{
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
}

#endif
