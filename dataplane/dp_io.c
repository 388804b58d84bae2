/**
 * @file dp_io.c
 * Frame I/O of a worker: the two functions every rx and tx burst of the runtime goes through
 * (see dp_io.h). Normally they call the PMD directly; when a test config sets impair_* keys,
 * frames pass through the seeded impairment layer (dp_impair.h) in both directions. The
 * per-worker impairment state lives here, indexed by worker number, set up on the worker's
 * first call (the worker owns it; nothing else touches it).
 */
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "dp_impair.h"
#include "dp_io.h"
#include "dp_worker.h"

struct dp__io_impair {
	bool init, on;
	struct dp_impair rx, tx;
};

static struct dp__io_impair dp__impair[RTE_MAX_LCORE];

static struct dp__io_impair *dp__io_impair_of(struct dp_worker *w)
{
	if (w->index >= RTE_MAX_LCORE || w->cfg == NULL)
		return NULL;
	struct dp__io_impair *ii = &dp__impair[w->index];
	if (!ii->init) {
		ii->init = true;
		if (dp_impair_init(&ii->rx, w->cfg, w->pool, false, 2 * w->index + 1) == 0 &&
		    dp_impair_init(&ii->tx, w->cfg, w->pool, true, 2 * w->index + 2) == 0)
			ii->on = ii->rx.on;
	}
	return ii->on ? ii : NULL;
}

/* Send the TX frames whose delay has passed (called from both paths: the worker polls rx
 * every iteration, so held frames leave even when nothing new is sent). */
static void dp__io_tx_release(struct dp_worker *w, struct dp__io_impair *ii, uint64_t now)
{
	struct rte_mbuf *out[DP_BURST];
	unsigned k;
	while ((k = dp_impair_apply(&ii->tx, NULL, 0, out, DP_BURST, now)) > 0) {
		uint16_t sent = rte_eth_tx_burst(w->port_id, w->queue_id, out, (uint16_t)k);
		for (unsigned i = sent; i < k; i++)
			rte_pktmbuf_free(out[i]);
		if (k < DP_BURST)
			break;
	}
}

uint16_t dp_io_rx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t got = rte_eth_rx_burst(w->port_id, w->queue_id, pkts, n);
	struct dp__io_impair *ii = dp__io_impair_of(w);
	if (ii == NULL)
		return got;
	uint64_t now = dp_clock_ns();
	dp__io_tx_release(w, ii, now);
	struct rte_mbuf *in[DP_BURST * 2];
	if (got > DP_BURST * 2)
		got = DP_BURST * 2; /* cannot happen: bursts are DP_BURST */
	memcpy(in, pkts, got * sizeof(*pkts));
	return (uint16_t)dp_impair_apply(&ii->rx, in, got, pkts, n, now);
}

uint16_t dp_io_tx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp__io_impair *ii = dp__io_impair_of(w);
	if (ii == NULL)
		return rte_eth_tx_burst(w->port_id, w->queue_id, pkts, n);
	/* every frame is taken: dropped, held, or sent now (what the PMD refuses is freed) */
	uint64_t now = dp_clock_ns();
	struct rte_mbuf *out[DP_BURST * 2];
	unsigned k = dp_impair_apply(&ii->tx, pkts, n, out, DP_BURST * 2, now);
	uint16_t sent = k ? rte_eth_tx_burst(w->port_id, w->queue_id, out, (uint16_t)k) : 0;
	for (unsigned i = sent; i < k; i++)
		rte_pktmbuf_free(out[i]);
	return n;
}
