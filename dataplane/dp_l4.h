/**
 * @file dp_l4.h
 * How a transport (the TCP stack, lib/tcp) attaches to a worker of the runtime.
 *
 * Data flow: the worker loop (dp_worker.c) calls, per iteration,
 *   dp_io_rx() -> net_input() -> ... -> hooks.input()   (IP protocol 6, via struct net_if)
 *   hooks.poll(ctx, now_ns)                               (timers, flushing, app work)
 * and the transport sends with net_ip_output(&w->nif, ...) (the net_ip_output_fn of
 * net/net_l4.h, ip_ctx = &w->nif), which buffers frames for dp_io_tx().
 * When a worker has had nothing to do for a while it sleeps until a frame arrives or until
 * hooks.next_deadline_ns(), whichever is first (so timers fire within ~1 ms of their
 * deadline; a deadline is never slept past by more than that).
 *
 * What a transport may use in struct dp_worker (dp_worker.h), all set before dp_l4_attach():
 *   - index       worker number 0..n-1 (also the queue id on each port)
 *   - lcore_id, socket_id
 *   - pool        the worker's mbuf pool (allocate TX segments from it; never share it)
 *   - port_id, queue_id   the port and queue this worker polls and sends on
 *   - ip          our IPv4 address, host byte order
 *   - tx_offloads RTE_ETH_TX_OFFLOAD_* enabled on the port: when RTE_ETH_TX_OFFLOAD_TCP_CKSUM
 *                 is set, a transport may leave the pseudo-header sum in the TCP checksum
 *                 and set RTE_MBUF_F_TX_TCP_CKSUM (net_ip_output sets l2/l3_len, IPv4 flags)
 *   - nif         the worker's struct net_if: pass &w->nif as ip_ctx to net_ip_output()
 *   - now_ns      the loop's clock at the start of the iteration (ns, monotonic, from the
 *                 TSC); dp_clock_ns() reads it afresh
 *   - cfg         the configuration (const; tcp_* keys)
 *
 * Threading: dp_l4_attach() runs on the main lcore before the worker is launched; input, poll
 * and next_deadline_ns run on the worker's lcore only; stats_json runs on the main lcore
 * (control core) while the worker runs, so it may read only counters (relaxed loads);
 * destroy runs on the main lcore after the worker has stopped.
 */
#ifndef TACHYON_DP_L4_H
#define TACHYON_DP_L4_H

#include <stdint.h>

#include "net/net_l4.h"

struct dp_worker;
struct json_writer;
struct tachyon_config;

/** The callbacks a transport installs on one worker. Any of them may be NULL. */
struct dp_l4_hooks {
	void *ctx;                                   /**< the transport's per-worker state */
	net_l4_input_fn input;                       /**< IP protocol 6 segments (see net_l4.h) */
	/** Each loop iteration, after the rx burst: timers, flushes. @p now_ns = w->now_ns. */
	void (*poll)(void *ctx, uint64_t now_ns);
	/** Earliest time poll() has work to do; UINT64_MAX = none. Consulted before sleeping. */
	uint64_t (*next_deadline_ns)(void *ctx);
	/**
	 * Append the transport's counters to the worker's `stats` entry: called with an object
	 * open; write `"key": value` members only (json_kv_*, or json_key + an object).
	 */
	void (*stats_json)(void *ctx, struct json_writer *w);
	/** Free everything; the worker has stopped. */
	void (*destroy)(void *ctx);
};

/**
 * Attach the transport to worker @p w: fill w->l4. Called once per worker, on the main lcore,
 * before the worker is launched; the runtime then wires w->l4.input into w->nif.
 * @return 0 on success (attaching nothing is success); a negative errno on failure, which
 *   stops tachyond's start-up with an error message.
 */
int dp_l4_attach(struct dp_worker *w, const struct tachyon_config *cfg);

#endif /* TACHYON_DP_L4_H */
