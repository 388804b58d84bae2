/**
 * @file dp_worker.h
 * A worker lcore: its state and its loop.
 *
 * The loop (dp_worker_main), modelled on DPDK's l2fwd:
 *   while not stopped:
 *     now_ns = clock; rx burst (dp_io_rx) -> net_input() per frame
 *     l4.poll(now_ns)
 *     drain the TX buffer when full or when DP_TX_DRAIN_NS passed since it started filling
 *     app_poll(now_ns): the MQTT glue (dp_mqtt.c): inbox ring, resumed connections, timers
 *     rcu_quiescent_state(): the thread is a liburcu QSBR reader (topic tables, registry)
 *     every DP_HOUSEKEEP_NS: net_timer() (ARP retries)
 *     on stop: app_stop(false) (MQTT: DISCONNECT 0x8B to everyone), DP_STOP_LINGER_NS more
 *     iterations so that it leaves, app_stop(true) (reset the rest), leave
 *     idle backoff: after a spin without frames, sleep until a frame arrives (epoll on
 *     the queue fd, or a real rx interrupt) or the next L4 deadline, at most
 *     DP_MAX_SLEEP_MS; without either, usleep(DP_SLEEP_US) per empty poll instead. The
 *     spin is DP_IDLE_NS, stretched to cover the gaps the traffic shows up to the
 *     `idle_spin_max_us` key (dp_idle_spin_gap): a worker at half load would otherwise
 *     fall asleep between bursts and pay a wake-up at the head of each one.
 *
 * Error convention: set-up functions return 0 or a negative errno; the loop itself has no
 * errors to return (every loss is a counter).
 *
 * Ownership: one struct dp_worker per worker lcore, written only by that lcore once launched,
 * except `stop` (set by the control core) and the counters, which the control core reads
 * with relaxed loads (dp_worker_counters_snapshot()).
 */
#ifndef TACHYON_DP_WORKER_H
#define TACHYON_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "dp_l4.h"
#include "net/net.h"
#include "net/net_txq.h"

struct rte_mempool;
struct rte_mbuf;
struct tachyon_config;
struct dp_mqtt;

#define DP_BURST 32                            /**< rx burst and TX buffer size */
#define DP_RX_BURSTS 4                         /**< rx bursts per iteration, at most */
#define DP_TX_DRAIN_NS (100ull * 1000)         /**< max time a frame waits in the TX buffer */
#define DP_TXQ_MAX 4096                        /**< TX backlog cap (power of 2), see txq */
#define DP_LINK_CHECK_NS (1000ull * 1000)      /**< link status read at most this often */
#define DP_HOUSEKEEP_NS (100ull * 1000000)     /**< net_timer() period */
#define DP_IDLE_NS (200ull * 1000)             /**< spin at least this long without frames,
						 *   then sleep (see dp_idle_spin_gap) */
#define DP_MAX_SLEEP_MS 10                     /**< longest sleep: bounds stop latency */
#define DP_SLEEP_US 100                        /**< sleep per empty poll without rx intr */
#define DP_STOP_LINGER_NS (300ull * 1000000)    /**< loop on after stop for app goodbyes */

/** Loop counters (single writer: the worker). */
struct dp_worker_counters {
	uint64_t loops;          /**< loop iterations */
	uint64_t rx_pkts;        /**< frames received */
	uint64_t rx_bursts;      /**< non-empty rx bursts */
	uint64_t tx_pkts;        /**< frames the PMD accepted */
	uint64_t tx_drops;       /**< frames freed unsent: ring and backlog full, or the backlog
				  *   dropped while the link was down */
	uint64_t tx_flushes;     /**< TX bursts */
	uint64_t sleeps;         /**< times the worker went to sleep (idle backoff) */
	uint64_t wakeups_rx;     /**< sleeps ended by an rx interrupt */
	uint64_t arp_shared_out; /**< ARP bindings passed to other workers */
	uint64_t arp_shared_in;  /**< ARP bindings received from other workers */
	uint64_t arp_share_drops; /**< bindings not passed: a peer's ring was full */
	uint64_t tx_backlogged;  /**< frames the PMD refused at first, kept in the backlog */
	uint64_t tx_refused;     /**< frames refused with -EBUSY: the backlog was full (TCP
				  *   holds its segments back and retries; nothing is dropped) */
	uint64_t rx_kicks;       /**< net_tap: the queue fd held frames that polls did not
				  *   return, so the worker raised the PMD's SIGIO itself */
	uint64_t preempted;      /**< involuntary context switches: times the OS gave the
				  *   worker's CPU to another task (read every DP_HOUSEKEEP_NS) */
	uint64_t cpu_wait_us;    /**< time the worker waited, runnable, for its CPU
				  *   (schedstat; likewise) */
};

/** How long a worker polls on without frames before it sleeps (dp_idle_spin_gap). */
struct dp_idle_spin {
	uint64_t ns;           /**< the spin, DP_IDLE_NS .. max(idle_spin_max_ns, DP_IDLE_NS) */
	uint64_t needed_at;    /**< when a gap last needed it this long */
};
#define DP_SPIN_DECAY_NS (100ull * 1000000) /**< a spin no gap needed this long halves */

/**
 * An idle gap of @p gap_ns ended with work at @p now_ns: adapt the spin @p s. It grows at
 * once to cover gaps up to @p max_ns (with a quarter more), so that the next such gap is
 * spun through instead of slept through. A gap longer than @p max_ns is a pause: the spin
 * halves. Shorter gaps leave it, but once no gap has needed it for DP_SPIN_DECAY_NS it
 * halves at each: the many short gaps inside a burst must not undo what the gaps between
 * bursts need. Never below DP_IDLE_NS. Pure, for the tests.
 */
void dp_idle_spin_gap(struct dp_idle_spin *s, uint64_t gap_ns, uint64_t now_ns,
		      uint64_t max_ns);

/** Names of the struct dp_worker_counters fields, in order. */
extern const char *const dp_worker_counter_names[];
extern const unsigned dp_worker_counter_count;

/** One worker. See dp_l4.h for the fields a transport may use. */
struct dp_worker {
	unsigned index;                /**< 0..n-1; also the queue id on the port */
	unsigned lcore_id;
	int socket_id;
	struct rte_mempool *pool;      /**< this worker's 2 KiB mbufs (receive, large copies) */
	struct rte_mempool *tx_pool;   /**< its small mbufs for sending, or NULL: pool */
	uint16_t port_id;
	uint16_t queue_id;
	uint32_t ip;                   /**< our address, host byte order */
	uint64_t tx_offloads;          /**< RTE_ETH_TX_OFFLOAD_* enabled on the port */
	bool rx_intr;                  /**< the port's rx interrupts can wake this worker */
	const struct tachyon_config *cfg;
	uint64_t now_ns;               /**< clock at the start of the current iteration */
	struct dp_l4_hooks l4;         /**< the transport, or all NULL */
	/** The application on top of the transport (dp_mqtt_poll), run each iteration before
	 *  l4.poll so that what it sends leaves in the same iteration; NULL = none. */
	void (*app_poll)(void *ctx, uint64_t now_ns);
	void *app_ctx;
	struct dp_mqtt *mqtt;          /**< the MQTT glue of this worker (stats), or NULL */
	/** Whether the application has work queued by other threads (its inbox), checked
	 *  just before sleeping; NULL = never. */
	bool (*app_busy)(void *ctx);
	/** Stopping: called with false when the stop request is seen (the loop then runs
	 *  DP_STOP_LINGER_NS more, so that goodbyes leave), with true just before it ends. */
	void (*app_stop)(void *ctx, bool final);
	int wake_fd;                   /**< eventfd other workers write to wake us, or -1 */
	volatile bool sleeping;        /**< in epoll_wait (see dp_worker_wake) */
	volatile bool stop;            /**< set by the control core: leave the loop */
	volatile bool running;         /**< set by the worker while inside its loop */
	uint64_t idle_spin_max_ns;     /**< longest spin before sleeping (idle_spin_max_us) */
	const char *idle_backoff;      /**< how it sleeps when idle, set before running: "queue fd
					*   epoll", "rx interrupt" or "sleep" */

	uint16_t tx_n;                 /**< frames in tx_buf */
	uint64_t tx_first_ns;          /**< when tx_buf's oldest frame was queued */
	struct rte_mbuf *tx_buf[DP_BURST];
	/** TX backlog: frames a full TX ring refused, sent first on the next flushes, in order
	 *  (a software queue like a qdisc: dropping them would cost each TCP connection a
	 *  retransmission timeout). At most min(DP_TXQ_MAX, size / 8 of the send pool, tx_pool
	 *  or pool) frames, so the backlog can never starve it; once it is that full new
	 *  frames are refused (dp_worker_tx: -EBUSY). */
	struct net_txq txq;
	uint64_t link_checked_ns;      /**< last link check after a refused backlog (see flush) */

	/* ARP sharing: bindings learnt by one worker reach the others through their rings
	 * (multi-producer, single consumer: the owner drains it each loop iteration). */
	struct rte_ring *arp_ring;
	struct dp_worker *peers;       /**< all workers (array), this one included */
	unsigned n_peers;

	struct dp_worker_counters cnt;
	struct net_if nif;             /**< L2/L3 state and counters */
} __rte_cache_aligned;

/**
 * Prepare worker @p w (on the main lcore): set its identity, give its net_if the addresses
 * of @p cfg (ip, prefix_len, gateway, mtu) and wire it to the TX buffer, create its ARP
 * ring. The caller then calls dp_l4_attach(), dp_worker_wire_l4(), dp_worker_set_peers().
 * @param mac  the port's MAC.
 * @return 0, -EINVAL for a bad prefix, -ENOMEM when the ring cannot be created.
 */
int dp_worker_init(struct dp_worker *w, unsigned index, unsigned lcore_id,
		   struct rte_mempool *pool, uint16_t port_id, const struct rte_ether_addr *mac,
		   uint64_t tx_offloads, bool rx_intr, const struct tachyon_config *cfg);

/**
 * Give worker @p w its pool of small send mbufs (main lcore, after dp_worker_init() and
 * before dp_l4_attach(), which hands it to TCP and MQTT). The TX backlog's cap then follows
 * that pool's size, as the frames it holds are mostly made of its mbufs. NULL: everything
 * comes from w->pool, as before.
 */
void dp_worker_set_tx_pool(struct dp_worker *w, struct rte_mempool *tx_pool);

/**
 * Let the @p n workers of @p workers share ARP bindings (main lcore, before launch): a
 * binding one learns from an ARP frame is passed to the others. A no-op for one worker.
 */
void dp_worker_set_peers(struct dp_worker *workers, unsigned n);

/** Connect w->l4.input/ctx to the net_if (after dp_l4_attach()). */
void dp_worker_wire_l4(struct dp_worker *w);

/** lcore entry point (rte_eal_remote_launch): @p arg is the struct dp_worker *. @return 0. */
int dp_worker_main(void *arg);

/**
 * Wake worker @p w if it sleeps, after a message was put in its inbox. Any thread; cheap
 * when the worker is awake (one load).
 */
void dp_worker_wake(struct dp_worker *w);

/** Ask the worker to leave its loop (it notices within DP_MAX_SLEEP_MS). Any thread. */
void dp_worker_stop(struct dp_worker *w);

/** Free what the worker still holds (TX buffer, parked ARP frames, the transport). */
void dp_worker_fini(struct dp_worker *w);

/** Relaxed copy of the loop counters, safe from any thread. */
void dp_worker_counters_snapshot(const struct dp_worker *w, struct dp_worker_counters *out);

/**
 * Queue one frame for TX on @p w (the net_if's tx sink). Flushes when the buffer is full.
 * The frame is consumed in every case.
 * @return 0 (queued), or -EBUSY when the TX backlog is full (the frame is freed; TCP takes
 *         this as "link busy" and resends the segment at its next poll).
 */
int dp_worker_tx(void *w, struct rte_mbuf *m);

/** Send the TX backlog, then everything in the TX buffer (what the ring refuses joins the
 *  backlog). */
void dp_worker_flush(struct dp_worker *w);

/* ---- clock ---- */

/** TSC-to-ns factor, 32.32 fixed point; set by dp_clock_init(). */
extern uint64_t dp_clock_mult;

/** Compute the TSC-to-ns factor from rte_get_tsc_hz(). Call once after rte_eal_init(). */
void dp_clock_init(void);

/** Monotonic nanoseconds from the TSC (cheap: one rdtsc and a 128-bit multiply). */
static inline uint64_t dp_clock_ns(void)
{
	return (uint64_t)(((unsigned __int128)rte_get_tsc_cycles() * dp_clock_mult) >> 32);
}

#endif /* TACHYON_DP_WORKER_H */
