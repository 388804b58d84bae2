/**
 * @file test_net_txq.c
 * The TX backlog (lib/net/net_txq.c) against a port that takes a scripted number of frames
 * per call: held frames leave in the order they came, across the ring's wrap; a drain stops
 * at the first call that takes less than offered and never offers more than the burst;
 * frames past the cap are freed and counted, never held; net_txq_full() says when to refuse
 * (never at cap 0); drop_all and fini give every mbuf back to the pool.
 */
#include "net_test_util.h"
#include "net/net_txq.h"

/* The port: takes up to takes[call] frames per call (then all), and records their tags. */
static unsigned takes[16], n_takes, call;
static uint32_t sent_tags[256];
static unsigned n_sent, max_offered;

static uint16_t t_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	(void)ctx;
	if (n > max_offered)
		max_offered = n;
	uint16_t k = call < n_takes ? (uint16_t)(takes[call] < n ? takes[call] : n) : n;
	call++;
	for (uint16_t i = 0; i < k; i++) {
		sent_tags[n_sent++] = *rte_pktmbuf_mtod(pkts[i], uint32_t *);
		rte_pktmbuf_free(pkts[i]);
	}
	return k;
}

static void t_port(const unsigned *script, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		takes[i] = script[i];
	n_takes = n;
	call = 0;
	n_sent = 0;
	max_offered = 0;
}

static uint32_t next_tag;

static void t_frames(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		m[i] = rte_pktmbuf_alloc(nt_pool);
		*(uint32_t *)rte_pktmbuf_append(m[i], 4) = next_tag++;
	}
}

static bool t_in_order(uint32_t first, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (sent_tags[i] != first + i)
			return false;
	return true;
}

int main(void)
{
	nt_eal_init("txq");
	unsigned full = rte_mempool_avail_count(nt_pool);
	struct net_txq q;
	NT_EQ(net_txq_init(&q, 5), 0);
	NT_EQ(q.size, 8);
	NT_EQ(q.cap, 5);
	NT_CHECK(!net_txq_full(&q, 4));
	NT_CHECK(net_txq_full(&q, 5));

	/* 7 refused frames: 5 held, 2 freed. */
	struct rte_mbuf *m[32];
	t_frames(m, 7);
	NT_EQ(net_txq_keep(&q, m, 7), 2);
	NT_EQ(q.len, 5);
	NT_EQ(rte_mempool_avail_count(nt_pool), full - 5);

	/* Offered 2 at a time, the port takes 2, then 1 of 2: the drain stops there (one
	 * more try would only be refused again), 2 held. */
	unsigned s1[] = { 2, 1, 0 };
	t_port(s1, 3);
	NT_EQ(net_txq_drain(&q, t_tx, NULL, 2), 3);
	NT_EQ(call, 2);
	NT_CHECK(t_in_order(0, 3));
	NT_EQ(q.len, 2);
	NT_EQ(q.head, 3);

	/* 6 more wrap around the 8 slots (3 fit: cap 5); all 5 leave in order in pieces of
	 * at most the burst and of the contiguous part. */
	t_frames(m, 6);
	NT_EQ(net_txq_keep(&q, m, 6), 3);
	NT_EQ(q.len, 5);
	NT_CHECK(net_txq_full(&q, 0));
	t_port(NULL, 0);
	NT_EQ(net_txq_drain(&q, t_tx, NULL, 2), 5);
	NT_CHECK(max_offered <= 2);
	NT_EQ(n_sent, 5);
	NT_CHECK(sent_tags[0] == 3 && sent_tags[1] == 4 && t_in_order(3, 2));
	NT_CHECK(sent_tags[2] == 7 && sent_tags[3] == 8 && sent_tags[4] == 9);
	NT_EQ(q.len, 0);
	NT_EQ(q.head, 0);
	NT_EQ(rte_mempool_avail_count(nt_pool), full);

	/* A link gone: drop_all gives everything back; fini with frames held does too. */
	t_frames(m, 4);
	net_txq_keep(&q, m, 4);
	NT_EQ(net_txq_drop_all(&q), 4);
	NT_EQ(q.len, 0);
	t_frames(m, 3);
	net_txq_keep(&q, m, 3);
	net_txq_fini(&q);
	NT_EQ(rte_mempool_avail_count(nt_pool), full);

	/* A cap lowered after init: at most the slots, and keep() follows it. */
	NT_EQ(net_txq_init(&q, 8), 0);
	net_txq_set_cap(&q, 100);
	NT_EQ(q.cap, 8);
	net_txq_set_cap(&q, 2);
	t_frames(m, 3);
	NT_EQ(net_txq_keep(&q, m, 3), 1);
	NT_EQ(q.len, 2);
	net_txq_fini(&q);
	NT_EQ(rte_mempool_avail_count(nt_pool), full);

	/* Cap 0: no backlog, so never full, and every frame the port refused is freed. */
	NT_EQ(net_txq_init(&q, 0), 0);
	NT_CHECK(!net_txq_full(&q, 0));
	NT_CHECK(!net_txq_full(&q, 1));
	NT_CHECK(!net_txq_full(&q, 512));
	t_frames(m, 2);
	NT_EQ(net_txq_keep(&q, m, 2), 2);
	NT_EQ(net_txq_drain(&q, t_tx, NULL, 8), 0);
	net_txq_fini(&q);
	NT_EQ(rte_mempool_avail_count(nt_pool), full);

	if (nt_failures) {
		fprintf(stderr, "%d check(s) failed\n", nt_failures);
		return 1;
	}
	printf("net-txq: all tests passed\n");
	return 0;
}
