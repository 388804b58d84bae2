/**
 * @file net_txq.h
 * A TX backlog: the frames a port's TX queue refused, kept in order and offered first next
 * time, so that a busy link delays segments instead of dropping them (a dropped segment
 * costs its TCP flow a retransmission timeout, a dropped ACK a spurious one at the peer).
 * Used by the worker (dataplane/dp_worker.c) and by tachyon-loadgen.
 *
 * Backpressure: the backlog holds at most @c cap frames; its owner refuses new frames to
 * TCP (-EBUSY: TCP keeps the segment and sends it at its next poll) once net_txq_full()
 * says so, and net_txq_keep() frees (drops) only what arrives past @c cap anyway.
 * Frames of the same connection must not pass each other: while the backlog holds frames,
 * new frames go behind them (net_txq_keep), never straight to the port.
 *
 * Threads: one (the port's TX thread). Errors: init returns 0 or -ENOMEM.
 */
#ifndef TACHYON_NET_TXQ_H
#define TACHYON_NET_TXQ_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;

struct net_txq {
	struct rte_mbuf **q; /**< @c size slots (a power of 2); NULL when cap is 0 */
	uint32_t size;
	uint32_t cap;        /**< frames held at most, <= size (0: no backlog, all dropped) */
	uint32_t head, len;  /**< held frames: q[(head + i) & (size - 1)], i < len <= cap */
};

/**
 * Send up to @p n frames of @p pkts; @return how many the port took (from the front).
 * The port's tx burst, or a wrapper that counts.
 */
typedef uint16_t (*net_txq_tx_fn)(void *ctx, struct rte_mbuf **pkts, uint16_t n);

/** An empty backlog of @p cap frames. @return 0, or -ENOMEM (then cap is 0). */
int net_txq_init(struct net_txq *t, uint32_t cap);

/**
 * Hold at most @p cap frames from now on, at most as many as the slots made at init (an
 * owner that learns its bound later inits with the largest). Frames held beyond it stay
 * and leave in order.
 */
void net_txq_set_cap(struct net_txq *t, uint32_t cap);

/** Free the held frames and the slots. */
void net_txq_fini(struct net_txq *t);

/**
 * Whether @p more frames about to be flushed could overflow it: refuse new ones then.
 * A backlog of cap 0 is never full: there is nothing to overflow, and its owner sends
 * straight to the port (what the port refuses is dropped).
 */
static inline bool net_txq_full(const struct net_txq *t, uint32_t more)
{
	return t->cap != 0 && t->len + more >= t->cap;
}

/**
 * Offer the held frames to @p tx in order, at most @p burst at a time, until none is held
 * or @p tx takes fewer than offered. @return frames sent.
 */
uint32_t net_txq_drain(struct net_txq *t, net_txq_tx_fn tx, void *ctx, uint16_t burst);

/**
 * Hold @p n frames the port refused, behind those already held; the ones that do not fit
 * (past @c cap) are freed. @return frames freed (dropped).
 */
uint32_t net_txq_keep(struct net_txq *t, struct rte_mbuf *const *pkts, uint16_t n);

/** Free every held frame (a link that went down). @return how many. */
uint32_t net_txq_drop_all(struct net_txq *t);

#endif
