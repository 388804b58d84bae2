/**
 * @file test_dp_worker_tx.c
 * The worker's TX path (dataplane/dp_worker.c) against a port whose TX ring fills up: a
 * net_ring port over an rte_ring of 64 slots that the test drains by hand, standing for a NIC
 * queue that is busy. Checks that frames the ring refuses wait in the backlog and leave
 * later in their original order, that new frames queue behind the backlog, that once the
 * backlog is full the sink refuses new frames with -EBUSY (what TCP takes as "link busy":
 * it keeps the segment and resends it) rather than dropping, and that nothing leaks (the
 * pool is back to full after dp_worker_fini, backlog included).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "conf/conf.h"
#include "dp_test.h"
#include "dp_worker.h"

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) {                                                              \
			fprintf(stderr, "FAIL %s:%d: %s == %s (%llu != %llu)\n", __FILE__,   \
				__LINE__, #a, #b, a_, b_);                                   \
			failures++;                                                          \
		}                                                                            \
	} while (0)

#define POOL 4095u   /* backlog cap = POOL / 8 = 511 */
#define RING 64u     /* the port's TX ring: 63 frames */

static struct rte_mbuf *frame(struct rte_mempool *p, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p);
	if (m == NULL)
		abort();
	char *d = rte_pktmbuf_append(m, 64);
	if (d == NULL)
		abort();
	memcpy(d, &seq, sizeof(seq));
	return m;
}

/* Take every frame out of the TX ring, checking they continue the sequence at *next. */
static unsigned drain(struct rte_ring *r, uint32_t *next)
{
	void *objs[RING];
	unsigned n = rte_ring_dequeue_burst(r, objs, RING, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		uint32_t seq = *rte_pktmbuf_mtod(m, uint32_t *);
		CHECK_EQ(seq, *next);
		*next = seq + 1;
		rte_pktmbuf_free(m);
	}
	return n;
}

/* The idle spin (dp_idle_spin_gap): it stretches to cover the gaps traffic shows, within
 * the configured bound; short gaps inside bursts leave it; pauses and time bring it down. */
static void test_idle_spin(void)
{
	const uint64_t us = 1000, ms = 1000 * us, max = 2 * ms;
	uint64_t t = 1000 * ms;
	struct dp_idle_spin s = { .ns = DP_IDLE_NS, .needed_at = 0 };
	/* bursts every 1 ms: the first gap (slept through) stretches the spin past 1 ms */
	dp_idle_spin_gap(&s, 1 * ms, t, max);
	CHECK_EQ(s.ns, 1250 * us);
	CHECK_EQ(s.needed_at, t);
	/* the short gaps inside a burst leave it, for DP_SPIN_DECAY_NS */
	for (int i = 0; i < 1000; i++)
		dp_idle_spin_gap(&s, 20 * us, t + (uint64_t)i * 50 * us, max);
	CHECK_EQ(s.ns, 1250 * us);
	/* a gap it covers renews it */
	dp_idle_spin_gap(&s, 900 * us, t + 60 * ms, max);
	CHECK_EQ(s.ns, 1250 * us);
	/* never past the bound, whatever the gap below it */
	dp_idle_spin_gap(&s, 1900 * us, t + 61 * ms, max);
	CHECK_EQ(s.ns, max);
	CHECK_EQ(s.needed_at, t + 61 * ms);
	/* no gap needed it for DP_SPIN_DECAY_NS: halved at the next short gap, and again
	 * DP_SPIN_DECAY_NS later, down to DP_IDLE_NS */
	t += 61 * ms + DP_SPIN_DECAY_NS;
	dp_idle_spin_gap(&s, 20 * us, t - 1, max);
	CHECK_EQ(s.ns, max);
	dp_idle_spin_gap(&s, 20 * us, t, max);
	CHECK_EQ(s.ns, max / 2);
	dp_idle_spin_gap(&s, 20 * us, t + 1 * ms, max);
	CHECK_EQ(s.ns, max / 2);
	for (int i = 1; i <= 4; i++)
		dp_idle_spin_gap(&s, 20 * us, t + (uint64_t)i * DP_SPIN_DECAY_NS, max);
	CHECK_EQ(s.ns, DP_IDLE_NS);
	/* a gap longer than the bound is a pause: halved at once */
	dp_idle_spin_gap(&s, 1600 * us, t, max);
	CHECK_EQ(s.ns, max);
	dp_idle_spin_gap(&s, 3 * ms, t, max);
	CHECK_EQ(s.ns, max / 2);
	dp_idle_spin_gap(&s, 60 * ms, t, max);
	CHECK_EQ(s.ns, max / 4);
	dp_idle_spin_gap(&s, 60 * ms, t, max);
	dp_idle_spin_gap(&s, 60 * ms, t, max);
	CHECK_EQ(s.ns, DP_IDLE_NS);
	/* a bound of 0 (or under DP_IDLE_NS): always DP_IDLE_NS */
	dp_idle_spin_gap(&s, 150 * us, t, 0);
	CHECK_EQ(s.ns, DP_IDLE_NS);
	dp_idle_spin_gap(&s, 1 * ms, t, 0);
	CHECK_EQ(s.ns, DP_IDLE_NS);
	dp_idle_spin_gap(&s, 1 * ms, t, 100 * us);
	CHECK_EQ(s.ns, DP_IDLE_NS);
}

int main(void)
{
	test_idle_spin();
	if (dp_test_eal("dpw", "128") != 0)
		return 1;
	struct rte_mempool *pool = rte_pktmbuf_pool_create("dpw_pool", POOL, 0, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct rte_ring *rx = rte_ring_create("dpw_rx", RING, SOCKET_ID_ANY, 0);
	struct rte_ring *tx = rte_ring_create("dpw_tx", RING, SOCKET_ID_ANY, 0);
	CHECK(pool != NULL && rx != NULL && tx != NULL);
	int port = rte_eth_from_rings("dpw_port", &rx, 1, &tx, 1, SOCKET_ID_ANY);
	CHECK(port >= 0);
	if (failures)
		return 1;
	struct rte_eth_conf pconf;
	memset(&pconf, 0, sizeof(pconf));
	CHECK_EQ(rte_eth_dev_configure((uint16_t)port, 1, 1, &pconf), 0);
	CHECK_EQ(rte_eth_rx_queue_setup((uint16_t)port, 0, RING, SOCKET_ID_ANY, NULL, pool), 0);
	CHECK_EQ(rte_eth_tx_queue_setup((uint16_t)port, 0, RING, SOCKET_ID_ANY, NULL), 0);
	CHECK_EQ(rte_eth_dev_start((uint16_t)port), 0);
	struct tachyon_config *cfg = calloc(1, sizeof(*cfg));
	conf_defaults(cfg);
	struct dp_worker *w = rte_zmalloc("dpw", sizeof(*w), RTE_CACHE_LINE_SIZE);
	struct rte_ether_addr mac = { .addr_bytes = { 2, 0, 0, 0, 0, 1 } };
	CHECK(w != NULL);
	CHECK_EQ(dp_worker_init(w, 0, rte_lcore_id(), pool, (uint16_t)port, &mac, 0, false, cfg),
		 0);
	CHECK_EQ(w->txq.cap, POOL / 8);

	/* 600 frames: 63 fill the ring, then the backlog fills; once it is full the sink
	 * refuses (-EBUSY, the frame freed: TCP resends such segments) and drops nothing */
	uint32_t accepted = 0, refused = 0;
	for (uint32_t seq = 0; seq < 600; seq++) {
		int rc = dp_worker_tx(w, frame(pool, accepted));
		if (rc == 0)
			accepted++;
		else {
			CHECK_EQ(rc, -EBUSY);
			refused++;
		}
	}
	dp_worker_flush(w);
	CHECK_EQ(accepted + refused, 600);
	CHECK(refused > 0);
	CHECK_EQ(w->cnt.tx_refused, refused);
	CHECK_EQ(w->cnt.tx_drops, 0);
	CHECK_EQ(rte_ring_count(tx), RING - 1);
	CHECK_EQ(w->cnt.tx_pkts, RING - 1);
	CHECK_EQ(w->txq.len, accepted - (RING - 1));
	CHECK(w->txq.len <= POOL / 8 && w->txq.len >= POOL / 8 - DP_BURST);
	CHECK_EQ(w->cnt.tx_backlogged, w->txq.len);

	/* the link drains: the backlog leaves in order; frames sent meanwhile queue behind it */
	uint32_t next = 0, received = 0;
	received += drain(tx, &next);
	uint32_t late_first = 100000;
	for (int round = 0; round < 40 && (w->txq.len > 0 || rte_ring_count(tx) > 0); round++) {
		if (round == 2) { /* new frames while the backlog is not empty (not full) */
			CHECK_EQ(dp_worker_tx(w, frame(pool, late_first)), 0);
			CHECK_EQ(dp_worker_tx(w, frame(pool, late_first + 1)), 0);
		}
		dp_worker_flush(w);
		void *objs[RING];
		unsigned n = rte_ring_dequeue_burst(tx, objs, RING, NULL);
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = objs[i];
			uint32_t s = *rte_pktmbuf_mtod(m, uint32_t *);
			if (s >= late_first) {
				/* the late frames come after every backlogged one, in order */
				CHECK_EQ(next, accepted);
				CHECK_EQ(s, late_first + (received - next));
			} else {
				CHECK_EQ(s, next);
				next = s + 1;
			}
			received++;
			rte_pktmbuf_free(m);
		}
	}
	CHECK_EQ(next, accepted);
	CHECK_EQ(received, accepted + 2);
	CHECK_EQ(w->txq.len, 0);
	CHECK_EQ(w->cnt.tx_drops, 0);
	CHECK_EQ(rte_mempool_in_use_count(pool), 0);

	/* the link goes down with a backlog (a memif peer that left): the backlog is
	 * dropped at the next flush (counted), not retried forever */
	for (uint32_t i = 0; i < 100 + RING; i++)
		CHECK_EQ(dp_worker_tx(w, frame(pool, i)), 0);
	dp_worker_flush(w);
	CHECK_EQ(w->txq.len, 100 + 1); /* the ring took 63 of 164 */
	CHECK_EQ(rte_eth_dev_set_link_down((uint16_t)port), 0);
	uint64_t drops = w->cnt.tx_drops;
	w->now_ns += 2 * DP_LINK_CHECK_NS;
	dp_worker_flush(w);
	CHECK_EQ(w->txq.len, 0);
	CHECK_EQ(w->cnt.tx_drops - drops, 101);
	uint32_t first = 0;
	CHECK_EQ(drain(tx, &first), RING - 1);
	CHECK_EQ(rte_mempool_in_use_count(pool), 0);
	CHECK_EQ(rte_eth_dev_set_link_up((uint16_t)port), 0);

	/* fini frees what still waits */
	for (uint32_t i = 0; i < 200; i++)
		dp_worker_tx(w, frame(pool, i));
	dp_worker_flush(w);
	CHECK(w->txq.len > 0);
	dp_worker_fini(w);
	uint32_t again = 0;
	drain(tx, &again); /* the 63 the ring took before fini: 0..62 */
	CHECK_EQ(again, RING - 1);
	CHECK_EQ(rte_mempool_in_use_count(pool), 0);
	rte_free(w);
	free(cfg);
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
