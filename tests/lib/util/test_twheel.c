/**
 * @file test_twheel.c
 * The timer wheel against a brute-force list of deadlines: random adds, moves, deletes and
 * advances (small steps and stalls longer than a revolution), refiling from the callback.
 * Checked: a node fires only when due, never twice, and no later than the first advance at
 * or past the end of its deadline's tick (or, after a stall longer than a revolution, the
 * advance after that); the count matches.
 * Usage: test_twheel [seed]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/twheel.h"

#define N 2000
#define GRAN 1000u
#define SLOTS 64u

struct obj {
	struct twheel_node node;
	bool filed;
	uint64_t at;
	unsigned refires; /* fire() files it again this many more times */
	uint64_t due_tick; /* the tick by whose end it must have fired */
};

static struct obj objs[N];
static struct twheel tw;
static uint64_t now;
static unsigned failures;
static uint64_t fired_total;
static bool quiet; /* fire() leaves other nodes alone */

/* File @p o for @p at as the wheel must: the first tick at or after at, never a visited one. */
static void file(struct obj *o, uint64_t at)
{
	uint64_t t = at / GRAN + (at % GRAN != 0);
	o->due_tick = t > tw.tick ? t : tw.tick + 1;
	o->at = at;
	o->filed = true;
	twheel_add(&tw, &o->node, at);
}

#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); } } while (0)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fire(struct twheel_node *n, void *arg)
{
	uint64_t *seed = arg;
	struct obj *o = (struct obj *)n;
	size_t i = (size_t)(o - objs);
	CHECK(o->filed, "node %zu fired but not filed", i);
	CHECK(o->at <= now, "node %zu fired early: at %" PRIu64 " now %" PRIu64, i, o->at, now);
	CHECK(!twheel_filed(n), "node %zu still filed inside fire()", i);
	o->filed = false;
	fired_total++;
	if (o->refires > 0) {
		o->refires--;
		file(o, now + 1 + rnd(seed) % (3 * SLOTS * GRAN));
	}
	/* Sometimes delete or move another node from inside the callback. */
	struct obj *other = &objs[rnd(seed) % N];
	if (!quiet && other != o && rnd(seed) % 4 == 0) {
		if (rnd(seed) % 2) {
			twheel_del(&tw, &other->node);
			other->filed = false;
		} else {
			file(other, now + 1 + rnd(seed) % (2 * SLOTS * GRAN));
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x9e3779b97f4a7c15ull;
	printf("seed %#" PRIx64 "\n", seed);
	now = 123456;
	if (twheel_init(&tw, SLOTS - 3, GRAN, now) != 0 || tw.mask != SLOTS - 1) {
		fprintf(stderr, "FAIL: init\n");
		return 1;
	}
	bool stalled = false;
	for (int round = 0; round < 20000; round++) {
		for (int k = 0; k < 5; k++) {
			struct obj *o = &objs[rnd(&seed) % N];
			switch (rnd(&seed) % 3) {
			case 0:
			case 1: /* add or move; sometimes into the past */
				o->refires = rnd(&seed) % 3 == 0;
				file(o, now + rnd(&seed) % (4 * SLOTS * GRAN) - GRAN);
				break;
			default:
				twheel_del(&tw, &o->node);
				o->filed = false;
				break;
			}
		}
		uint64_t step = rnd(&seed) % 50 == 0 ? (SLOTS + rnd(&seed) % SLOTS) * GRAN
						      : rnd(&seed) % (3 * GRAN);
		bool was_stalled = stalled;
		stalled = step > (uint64_t)SLOTS * GRAN;
		now += step;
		twheel_advance(&tw, now, fire, &seed);
		uint64_t filed = 0;
		for (int i = 0; i < N; i++) {
			struct obj *o = &objs[i];
			CHECK(o->filed == twheel_filed(&o->node), "node %d: filed %d, wheel says %d", i,
			      o->filed, twheel_filed(&o->node));
			if (!o->filed)
				continue;
			filed++;
			if (!stalled && !was_stalled)
				CHECK(o->due_tick * GRAN > now, "node %d overdue: at %" PRIu64
				      " now %" PRIu64, i, o->at, now);
		}
		CHECK(filed == tw.count, "count %" PRIu64 ", filed %" PRIu64, tw.count, filed);
		if (failures > 20)
			break;
	}
	/* Everything left fires once the clock passes the last possible deadline. */
	now += 8 * SLOTS * GRAN;
	for (int i = 0; i < N; i++)
		objs[i].refires = 0;
	quiet = true;
	twheel_advance(&tw, now, fire, &seed);
	now += 2 * SLOTS * GRAN;
	twheel_advance(&tw, now, fire, &seed);
	CHECK(tw.count == 0, "%" PRIu64 " nodes left after the end", tw.count);
	twheel_fini(&tw);
	printf("%" PRIu64 " fired, %u failures\n", fired_total, failures);
	return failures == 0 ? 0 : 1;
}
