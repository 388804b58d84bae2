/**
 * @file test_dp_persist.c
 * The persistence transport (dataplane/dp_persist.c) with three workers driven from one
 * thread, as the control core sees them: records of one worker are taken in order with
 * their worker-local numbers; a fenced record (persist_after_all) and everything behind it
 * on its worker wait until every record the other workers had handed over before it was
 * taken, also when those sit on an overflow list because their ring was full; a fence with
 * nothing to wait for passes at once; durable counts and backlog are published; and
 * dp_persist_fini() frees what is still held (AddressSanitizer's leak check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "broker/brk.h"
#include "dp_test.h"
#include "dp_persist.h"
#include "plog/plog_record.h"


#define NW 3
static struct brk_worker_ops OPS[NW];

/* What the "control core" took, in order: the client ids of sess_end records. */
static char TOOK[70000][16];
static unsigned N_TOOK;

static int t_take(void *arg, const uint8_t *frame, uint32_t len)
{
	(void)arg;
	struct plog_rec r;
	size_t fl = 0;
	if (plog_rec_parse(frame, len, &r, &fl) != 0 || r.type != PLOG_REC_SESS_END) {
		failures++;
		return 0;
	}
	size_t n = r.u.sref.client_id.len < 15 ? r.u.sref.client_id.len : 15;
	memcpy(TOOK[N_TOOK], r.u.sref.client_id.ptr, n);
	TOOK[N_TOOK][n] = 0;
	N_TOOK++;
	return 0;
}

static unsigned WAKES[NW];

static void t_wake(unsigned worker)
{
	WAKES[worker]++;
}

/* Hand over a record tagged @p tag from worker @p w (fenced: after all). */
static int64_t hand(unsigned w, const char *tag, bool fenced)
{
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SESS_END;
	r.u.sref.client_id.ptr = (const uint8_t *)tag;
	r.u.sref.client_id.len = (uint32_t)strlen(tag);
	r.u.sref.time_ms = 1;
	return fenced ? OPS[w].persist_after_all(OPS[w].ctx, &r) : OPS[w].persist(OPS[w].ctx, &r);
}

static unsigned drain(unsigned w)
{
	return dp_persist_drain(w, t_take, NULL, 1u << 20);
}

/* The records taken since @p from, joined with spaces. */
static const char *took(unsigned from)
{
	static char s[4096];
	s[0] = 0;
	for (unsigned i = from; i < N_TOOK && strlen(s) < sizeof(s) - 20; i++) {
		if (i > from)
			strcat(s, " ");
		strcat(s, TOOK[i]);
	}
	return s;
}

static void test_fence_waits_for_the_others(void)
{
	unsigned at = N_TOOK;
	CHECK(hand(1, "a1", false) == 1);
	CHECK(hand(1, "a2", false) == 2);
	CHECK(hand(2, "c1", false) == 1);
	CHECK(hand(0, "b0", false) == 1);
	CHECK(hand(0, "F", true) == 2);   /* must follow a1 a2 c1 */
	CHECK(hand(0, "b1", false) == 3); /* behind F on its worker */
	CHECK(hand(1, "a3", false) == 3); /* made after F: F does not wait for it */
	CHECK(dp_persist_pending() == 7);

	CHECK(drain(0) == 1); /* b0; F and b1 held */
	CHECK(strcmp(took(at), "b0") == 0);
	CHECK(drain(0) == 0);
	CHECK(drain(1) == 3); /* a1 a2 a3 */
	CHECK(drain(0) == 0); /* c1 not taken yet */
	CHECK(drain(2) == 1);
	CHECK(drain(0) == 2); /* F b1 */
	CHECK(strcmp(took(at), "b0 a1 a2 a3 c1 F b1") == 0);
	uint64_t fenced, waits;
	dp_persist_fence_stats(&fenced, &waits);
	CHECK(fenced == 1 && waits == 3); /* drain(0) stopped at F three times */
	CHECK(dp_persist_pending() == 0);
}

static void test_fence_met_at_once(void)
{
	unsigned at = N_TOOK;
	CHECK(hand(2, "G", true) == 2);
	CHECK(hand(2, "g", false) == 3);
	CHECK(drain(2) == 2);
	CHECK(strcmp(took(at), "G g") == 0);
}

/* The records a fence waits for found their ring full: they reach it from the overflow
 * list when their worker polls, and the fence holds until then. */
static void test_fence_and_overflow(void)
{
	unsigned at = N_TOOK;
	unsigned n = 65536 + 10; /* the ring holds 65535 */
	char tag[16];
	for (unsigned i = 0; i < n; i++) {
		snprintf(tag, sizeof(tag), "o%u", i);
		hand(1, tag, false);
	}
	CHECK(hand(0, "H", true) > 0);
	CHECK(drain(0) == 0);
	CHECK(drain(1) == 65535);
	CHECK(drain(0) == 0);    /* 11 of worker 1's records are still on its overflow list */
	CHECK(drain(1) == 0);
	dp_persist_poll(1);      /* worker 1's loop */
	CHECK(drain(1) == 11);
	CHECK(drain(0) == 1);
	CHECK(N_TOOK == at + n + 1 && strcmp(TOOK[N_TOOK - 1], "H") == 0);
	snprintf(tag, sizeof(tag), "o%u", n - 1);
	CHECK(strcmp(TOOK[N_TOOK - 2], tag) == 0);
	/* Worker 1's records kept their order across ring and overflow list. */
	bool ordered = true;
	for (unsigned i = 0; i < n; i++) {
		snprintf(tag, sizeof(tag), "o%u", i);
		ordered &= strcmp(TOOK[at + i], tag) == 0;
	}
	CHECK(ordered);
}

static void test_durable_and_backlog(void)
{
	hand(2, "x1", false);
	hand(2, "x2", false);
	uint64_t bytes = 0;
	CHECK(OPS[2].backlog(OPS[2].ctx, &bytes) == 2 && bytes > 0);
	CHECK(drain(2) == 2);
	CHECK(OPS[2].backlog(OPS[2].ctx, &bytes) == 0 && bytes == 0);
	unsigned w = WAKES[2];
	CHECK(OPS[2].durable(OPS[2].ctx) == 0);
	dp_persist_durable(2, 5);
	CHECK(OPS[2].durable(OPS[2].ctx) == 5 && WAKES[2] == w + 1);
	dp_persist_durable(2, 4); /* never goes back, no wake-up */
	CHECK(OPS[2].durable(OPS[2].ctx) == 5 && WAKES[2] == w + 1);
}

int main(void)
{
	if (dp_test_eal("dpp", "256") != 0)
		return 1;
	int efd = eventfd(0, EFD_NONBLOCK);
	CHECK(dp_persist_init(0, efd, true, t_wake) == -EINVAL);
	CHECK(dp_persist_init(NW, efd, true, t_wake) == 0);
	for (unsigned i = 0; i < NW; i++) {
		CHECK(dp_persist_ops(i, &OPS[i]));
		CHECK(OPS[i].persist != NULL && OPS[i].persist_after_all != NULL &&
		      OPS[i].durable != NULL && OPS[i].backlog != NULL);
	}
	struct brk_worker_ops none;
	memset(&none, 0, sizeof(none));
	CHECK(!dp_persist_ops(NW, &none) && none.persist == NULL);
	uint64_t kicks = 0;
	test_fence_waits_for_the_others();
	CHECK(read(efd, &kicks, sizeof(kicks)) == sizeof(kicks) && kicks >= 1);
	test_fence_met_at_once();
	test_fence_and_overflow();
	test_durable_and_backlog();
	/* Left held at the end: freed by fini. */
	hand(1, "late", false);
	hand(0, "J", true);
	CHECK(drain(0) == 0);
	dp_persist_fini();
	close(efd);
	rte_eal_cleanup();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("dp-persist: all tests passed\n");
	return 0;
}
