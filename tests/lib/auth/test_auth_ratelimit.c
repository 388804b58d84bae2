/**
 * @file test_auth_ratelimit.c
 * The failure rate limiter in virtual time: burst then block, one more try per interval,
 * addresses independent, the block does not grow without bound, entries expire, eviction
 * keeps blocked addresses, bad settings refused.
 */
#include <errno.h>
#include <stdbool.h>

#include "auth/auth_ratelimit.h"
#include "auth_test.h"

#define MS 1000000ull
#define SEC (1000 * MS)

static struct auth_rl *mk(uint32_t burst, uint64_t interval, uint32_t entries)
{
	struct auth_rl_config cfg = {
		.burst = burst, .interval_ns = interval, .entries = entries, .seed = 12345};
	return auth_rl_create(&cfg);
}

static void test_burst_and_refill(void)
{
	struct auth_rl *rl = mk(3, 10 * SEC, 64);
	CHECK(rl != NULL);
	if (rl == NULL)
		return;
	const uint32_t ip = 0x0a000001, other = 0x0a000002;
	uint64_t t = 1000 * SEC;

	CHECK(auth_rl_allowed(rl, ip, t));
	CHECK_EQ(auth_rl_fail(rl, ip, t), AUTH_RL_COUNTED);
	CHECK_EQ(auth_rl_fail(rl, ip, t + 1 * SEC), AUTH_RL_COUNTED);
	CHECK(auth_rl_allowed(rl, ip, t + 2 * SEC));
	CHECK_EQ(auth_rl_fail(rl, ip, t + 2 * SEC), AUTH_RL_NOW_BLOCKED);
	CHECK(!auth_rl_allowed(rl, ip, t + 2 * SEC));
	CHECK(!auth_rl_allowed(rl, ip, t + 3 * SEC));
	/* Another address is not affected. */
	CHECK(auth_rl_allowed(rl, other, t + 3 * SEC));
	/* Debt: 3 failures = 30 s, minus 2 s drained at t+2 => 28 s; one try needs debt <= 20 s,
	 * so the block ends at t+10 s. */
	CHECK_EQ(auth_rl_blocked_for(rl, ip, t + 3 * SEC), 7 * SEC);
	CHECK(!auth_rl_allowed(rl, ip, t + 10 * SEC - 1));
	CHECK(auth_rl_allowed(rl, ip, t + 10 * SEC));
	CHECK_EQ(auth_rl_blocked_for(rl, ip, t + 10 * SEC), 0);
	/* One more failure blocks it again at once. */
	CHECK_EQ(auth_rl_fail(rl, ip, t + 10 * SEC), AUTH_RL_NOW_BLOCKED);
	CHECK(!auth_rl_allowed(rl, ip, t + 10 * SEC));
	/* Failures reported while blocked do not extend the block beyond one interval. */
	for (int i = 0; i < 100; i++)
		CHECK_EQ(auth_rl_fail(rl, ip, t + 11 * SEC), AUTH_RL_STILL_BLOCKED);
	CHECK(auth_rl_allowed(rl, ip, t + 21 * SEC));
	/* After the whole debt drains, a full burst is available again. */
	uint64_t later = t + 100 * SEC;
	CHECK_EQ(auth_rl_fail(rl, ip, later), AUTH_RL_COUNTED);
	CHECK_EQ(auth_rl_fail(rl, ip, later), AUTH_RL_COUNTED);
	CHECK_EQ(auth_rl_fail(rl, ip, later), AUTH_RL_NOW_BLOCKED);

	const struct auth_rl_stats *st = auth_rl_stats(rl);
	CHECK_EQ(st->failures, 3 + 1 + 100 + 3);
	CHECK_EQ(st->blocks, 3);
	CHECK_EQ(st->refused, 4);
	CHECK_EQ(st->evictions, 0);
	auth_rl_free(rl);
}

static void test_burst_one_and_clock_zero(void)
{
	struct auth_rl *rl = mk(1, 1 * SEC, 4);
	CHECK(rl != NULL);
	if (rl == NULL)
		return;
	/* A virtual clock may start at 0. */
	CHECK(auth_rl_allowed(rl, 7, 0));
	CHECK_EQ(auth_rl_fail(rl, 7, 0), AUTH_RL_NOW_BLOCKED);
	CHECK(!auth_rl_allowed(rl, 7, 0));
	CHECK(!auth_rl_allowed(rl, 7, SEC - 1));
	CHECK(auth_rl_allowed(rl, 7, SEC));
	auth_rl_free(rl);
}

static void test_eviction(void)
{
	/* 4 entries = a single bucket of 4 ways: every address competes for it. */
	struct auth_rl *rl = mk(2, 60 * SEC, 4);
	CHECK(rl != NULL);
	if (rl == NULL)
		return;
	uint64_t t = 5 * SEC;
	const uint32_t victim = 0xc0a80001;
	auth_rl_fail(rl, victim, t);
	CHECK_EQ(auth_rl_fail(rl, victim, t), AUTH_RL_NOW_BLOCKED);
	/* A flood of fresh addresses, each failing once, cycles through the other ways. */
	for (uint32_t i = 0; i < 1000; i++)
		CHECK_EQ(auth_rl_fail(rl, 0x01000000 + i, t + i), AUTH_RL_COUNTED);
	/* The blocked address has the most debt, so it was never the one evicted. */
	CHECK(!auth_rl_allowed(rl, victim, t + 1000));
	const struct auth_rl_stats *st = auth_rl_stats(rl);
	CHECK_EQ(st->evictions, 1000 - 3);
	/* Once debts have drained, entries are free again without eviction. */
	uint64_t before = st->evictions;
	auth_rl_fail(rl, 0x02000000, t + 1000 * SEC);
	CHECK_EQ(st->evictions, before);
	CHECK(auth_rl_allowed(rl, victim, t + 1000 * SEC));
	auth_rl_free(rl);
}

static void test_config(void)
{
	struct auth_rl_config bad[] = {
		{.burst = 0, .interval_ns = SEC, .entries = 64},
		{.burst = 3, .interval_ns = 10, .entries = 64},
		{.burst = 3, .interval_ns = SEC, .entries = 2},
		{.burst = 3, .interval_ns = 2 * 86400 * SEC, .entries = 64},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK(auth_rl_create(&bad[i]) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	CHECK(auth_rl_create(NULL) == NULL);
	/* seed 0: a random one is drawn. 4000 entries round up to 4096 (1024 buckets of 4):
	 * 1000 addresses fit with few or no evictions, and each evicted one is unblocked. */
	struct auth_rl_config ok = {.burst = 1, .interval_ns = SEC, .entries = 4000, .seed = 0};
	struct auth_rl *rl = auth_rl_create(&ok);
	CHECK(rl != NULL);
	if (rl == NULL)
		return;
	for (uint32_t ip = 1; ip <= 1000; ip++)
		auth_rl_fail(rl, ip, SEC);
	uint64_t blocked = 0;
	for (uint32_t ip = 1; ip <= 1000; ip++)
		blocked += !auth_rl_allowed(rl, ip, SEC);
	CHECK(auth_rl_stats(rl)->evictions < 50);
	CHECK_EQ(blocked, 1000 - auth_rl_stats(rl)->evictions);
	auth_rl_free(rl);
	auth_rl_free(NULL);
}

int main(void)
{
	test_burst_and_refill();
	test_burst_one_and_clock_zero();
	test_eviction();
	test_config();
	return at_finish("test_auth_ratelimit");
}
