/**
 * @file tcp.h
 * Tachyon's userspace TCP (RFC 9293 with 5681, 6298, 7323, 2018, 6582, 5961, 6528): the one
 * header an application (the MQTT layer, the echo service, the load generator) uses.
 *
 * Where it sits: a worker's rx burst -> net_input() (lib/net) -> tcp_input() (this part) ->
 * the application's callbacks. The application sends with tcp_send(); segments leave through
 * the net_ip_output_fn the stack was created with (see net/net_l4.h). Once per loop iteration
 * the worker calls tcp_poll(): it runs the timers and flushes what the iteration queued, so
 * what the application sends during one iteration leaves in as few segments as the window
 * allows (no Nagle, but coalescing), and ACKs ride on that data.
 *
 * Threading: one struct tcp_stack per worker lcore; nothing in this header is thread-safe.
 * Every function must be called from the thread that owns the stack, callbacks included
 * (callbacks run inside tcp_input() or tcp_poll() on that thread). Callbacks may call any
 * function of this header on any connection of the same stack, including tcp_abort() on the
 * connection being called back.
 *
 * Memory: mbufs only from the configured pools (headers and the indirect mbufs that point
 * into queued payload: from tx_pool, the small one, while it has any, else from pool);
 * control blocks from slabs grown on demand and never returned to libc
 * before tcp_stack_destroy(). No payload byte is ever copied: received data reaches the
 * application as the received mbufs, and queued send data leaves as indirect mbufs attached
 * to the application's buffers.
 *
 * Error convention (the whole part): functions returning int return 0 (or a non-negative
 * count) on success and a negative errno on failure; constructors return NULL and set
 * rte_errno. A failed call changes nothing, and mbuf ownership stays with the caller when a
 * call that takes an mbuf fails.
 */
#ifndef TACHYON_TCP_H
#define TACHYON_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net_l4.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct rte_mempool;
struct tcp_stack;
struct tcp_conn;

/** Why a connection ended (argument of tcp_callbacks.closed). */
enum tcp_close_reason {
	TCP_CLOSE_NORMAL = 0, /**< both directions closed by FIN exchange */
	TCP_CLOSE_RESET,      /**< the peer sent an acceptable RST (or refused the connect) */
	TCP_CLOSE_TIMEOUT,    /**< retransmission retry limit reached: the peer vanished */
	TCP_CLOSE_ABORTED,    /**< the stack aborted it (data after close, stack destroyed) */
};

/**
 * Application callbacks, given to tcp_listen() and tcp_connect(). The table must outlive
 * every connection using it. Each callback receives the connection's user argument (the
 * listener's until tcp_conn_set_arg() changes it). Any member may be NULL.
 *
 * After closed() returns, and after the application itself calls tcp_close() or tcp_abort(),
 * no callback is made for that connection again and the handle must not be used.
 */
struct tcp_callbacks {
	/**
	 * A passive open completed (three-way handshake or a valid SYN cookie). Return 0 to keep
	 * the connection (typically after tcp_conn_set_arg()), or a negative value to refuse it:
	 * the stack then resets it.
	 */
	int (*accepted)(void *arg, struct tcp_conn *c);
	/** An active open (tcp_connect) completed; data may flow. */
	void (*connected)(void *arg, struct tcp_conn *c);
	/**
	 * In-order data arrived: @p m is a chain of the received mbufs (no copy), owned by the
	 * callee from now on. Its pkt_len bytes count against the receive window until the
	 * application calls tcp_recved(). @p m == NULL means the peer sent FIN: no more data.
	 */
	void (*data)(void *arg, struct tcp_conn *c, struct rte_mbuf *m);
	/** Send space freed after a tcp_send() that returned -ENOBUFS (see tcp_sndbuf()). */
	void (*writable)(void *arg, struct tcp_conn *c);
	/** The connection ended for @p reason; the handle dies when this returns. */
	void (*closed)(void *arg, struct tcp_conn *c, enum tcp_close_reason reason);
};

/** Stack configuration. Zero in a numeric field selects the default shown. */
struct tcp_stack_config {
	struct rte_mempool *pool;      /**< mbuf pool for headers and indirect mbufs (required) */
	struct rte_mempool *tx_pool;   /**< optional pool of small mbufs, tried first for headers
					 *   and indirect mbufs (neither needs a data room past the
					 *   headers); `pool` serves when it is empty (counted in
					 *   tx_pool_fallbacks). Needs RTE_PKTMBUF_HEADROOM + 60. */
	net_ip_output_fn ip_output;    /**< where segments leave (required) */
	void *ip_ctx;                  /**< first argument of ip_output */
	uint16_t mtu;                  /**< IP MTU of the port, default 1500; MSS = mtu - 40 */
	bool tx_cksum_offload;         /**< port computes TCP checksums (RTE_MBUF_F_TX_TCP_CKSUM) */
	uint32_t rto_min_ms;           /**< lower RTO bound, default 200 */
	uint32_t rto_max_ms;           /**< upper RTO bound, default 60000 */
	uint32_t rto_initial_ms;       /**< RTO before any RTT sample, default 1000 (RFC 6298) */
	uint32_t max_retries;          /**< RTO expiries in a row before giving up, default 8 */
	uint32_t syn_retries;          /**< same for SYN / SYN-ACK, default 5 */
	uint32_t time_wait_ms;         /**< 2*MSL, default 60000; also the orphan FIN_WAIT_2 bound */
	uint32_t delayed_ack_ms;       /**< delayed ACK timeout, default 40; set no_delayed_ack for 0 */
	bool no_delayed_ack;           /**< ACK every segment at once */
	uint32_t max_conns;            /**< connections (all states) per stack, default 1048576 */
	uint32_t syn_backlog;          /**< SYN_RECEIVED connections before SYN cookies, default 4096 */
	uint32_t sndbuf;               /**< per-connection send queue limit, bytes, default 262144 */
	uint32_t rcvbuf;               /**< receive window + out-of-order bound, default 262144 */
	uint8_t secret[16];            /**< ISN / SYN cookie / hash key; all zero = random */
	uint64_t now_ns;               /**< the clock at creation (same clock as tcp_poll) */
};

/** Counters of one stack (monotonic unless said otherwise). */
struct tcp_stats {
	uint64_t segs_in;            /**< segments given to tcp_input */
	uint64_t segs_out;           /**< segments handed to ip_output */
	uint64_t bytes_in;           /**< payload bytes delivered in order to applications */
	uint64_t bytes_out;          /**< payload bytes sent, retransmissions included */
	uint64_t retransmits;        /**< segments retransmitted (RTO, fast, SACK, probes excl.) */
	uint64_t rto_expired;        /**< retransmission timer expiries */
	uint64_t spurious_rtos;      /**< expiries found spurious (Eifel): congestion state undone */
	uint64_t coalesced;          /**< small tcp_send writes copied into the queue's last mbuf */
	uint64_t gathered;           /**< small writes (tx_pool mbufs, references) copied into
				      *   a fresh mbuf of `pool`: the last queued one was full */
	uint64_t fast_retransmits;   /**< entries into fast recovery */
	uint64_t dup_acks;           /**< duplicate ACKs received */
	uint64_t ooo_segs;           /**< segments queued out of order */
	uint64_t ooo_drops;          /**< out-of-order segments dropped by the memory bound */
	uint64_t cksum_errors;       /**< segments with a bad checksum */
	uint64_t malformed;          /**< truncated headers, bad data offset, bad options */
	uint64_t resets_in;          /**< acceptable RSTs that closed a connection */
	uint64_t resets_out;         /**< RSTs sent */
	uint64_t challenge_acks;     /**< RFC 5961 challenge ACKs sent */
	uint64_t paws_drops;         /**< segments dropped by PAWS (RFC 7323) */
	uint64_t out_of_window;      /**< unacceptable segments (ACKed and dropped) */
	uint64_t syncookies_sent;    /**< SYN-ACKs carrying a SYN cookie */
	uint64_t syncookies_ok;      /**< connections established from a valid cookie */
	uint64_t syncookies_bad;     /**< ACKs to a listener with an invalid cookie */
	uint64_t listen_drops;       /**< SYNs dropped: connection limit reached */
	uint64_t zero_window_probes; /**< zero-window probes sent */
	uint64_t conns_opened;       /**< connections that reached ESTABLISHED */
	uint64_t conns_closed;       /**< connections freed (any reason) */
	uint64_t conns_timed_out;    /**< connections dropped by the retry limit */
	uint64_t conns_cur;          /**< connections currently held (gauge, all states) */
	uint64_t out_nobufs;         /**< segments not sent: mbuf pool empty or ip_output failed */
	uint64_t out_link_busy;      /**< segments not sent: ip_output said -EBUSY (link queue
				      *   full); retried at the next tcp_poll, nothing is lost */
	uint64_t mem_drops;          /**< payloads dropped because the mbuf pool ran low */
	uint64_t tx_pool_fallbacks;  /**< header or indirect mbufs taken from `pool` because
				      *   `tx_pool` was empty */
};

/** Connection state, named as in RFC 9293 section 3.3.2. */
enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/**
 * Create a stack (one per worker).
 * @param cfg  configuration; copied. cfg->pool and cfg->ip_output are required.
 * @return the stack, or NULL with rte_errno = EINVAL (bad config) or ENOMEM.
 */
struct tcp_stack *tcp_stack_create(const struct tcp_stack_config *cfg);

/**
 * Destroy a stack: every connection is freed without a segment sent and without callbacks;
 * every mbuf the stack holds returns to its pool. NULL is a no-op.
 */
void tcp_stack_destroy(struct tcp_stack *s);

/**
 * Receive one segment (a net_l4_input_fn; pass the stack as @p l4). Checks the checksum
 * (unless the mbuf says RX_L4_CKSUM_GOOD), runs the state machine, may call callbacks.
 * Always consumes @p m. ACKs, SYN-ACKs and data leave at the next tcp_poll() (so they
 * coalesce); RSTs, SYN cookies and fast retransmissions go to ip_output at once.
 */
void tcp_input(void *l4, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip);

/**
 * Advance the clock, run expired timers, and send everything queued since the last call.
 * Call once per loop iteration, after the rx burst has been processed.
 * @param now_ns  monotonic time in nanoseconds (never going back).
 */
void tcp_poll(struct tcp_stack *s, uint64_t now_ns);

/**
 * @return the time (ns, same clock as tcp_poll) at which tcp_poll next has timer work, or
 *         UINT64_MAX when no timer is armed. Output queued meanwhile is due at once.
 */
uint64_t tcp_next_deadline_ns(const struct tcp_stack *s);

/** @return the stack's counters (live; read on the owning thread). */
const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s);

/**
 * Accept connections on @p port.
 * @param ip    local address (host order) or 0 for any address given to tcp_input.
 * @param cb    callbacks for every connection accepted here.
 * @param arg   user argument of accepted connections until tcp_conn_set_arg().
 * @return 0, -EADDRINUSE (same ip/port listened), -ENOSPC (listener table full),
 *         -EINVAL (port 0 or cb NULL).
 */
int tcp_listen(struct tcp_stack *s, uint32_t ip, uint16_t port,
	       const struct tcp_callbacks *cb, void *arg);

/**
 * Stop accepting on ip/port. Established connections are not affected; half-open ones
 * (SYN_RECEIVED) complete into a closed listener and are reset.
 * @return 0 or -ENOENT.
 */
int tcp_unlisten(struct tcp_stack *s, uint32_t ip, uint16_t port);

/**
 * Active open: the SYN leaves at the next tcp_poll(); connected() or closed() follows.
 * @param src_ip    local address (host order), one the IP layer owns.
 * @param src_port  local port, or 0 to pick a free ephemeral port (32768..60999).
 * @return the connection, or NULL with rte_errno = EINVAL, EADDRINUSE (4-tuple taken or no
 *         free port), ENOSPC (connection limit) or ENOMEM.
 */
struct tcp_conn *tcp_connect(struct tcp_stack *s, uint32_t src_ip, uint16_t src_port,
			     uint32_t dst_ip, uint16_t dst_port,
			     const struct tcp_callbacks *cb, void *arg);

/** Set the user argument passed to @p c's callbacks. */
void tcp_conn_set_arg(struct tcp_conn *c, void *arg);

/**
 * Queue @p m (a chain) for sending; it leaves at the next tcp_poll() as the windows allow.
 * Zero-copy: the mbufs are kept until acknowledged, then freed; except that a small mbuf
 * (up to 512 bytes) is copied into the last queued one when that one is direct and has the
 * room, and freed at once (many small writes would otherwise make long chains of tiny
 * mbufs: costly to send and to free). Their headers (struct
 * rte_mbuf) must belong to this call alone (refcnt 1); to send one payload on many
 * connections, give each an rte_pktmbuf_clone() of it (indirect mbufs share the buffer).
 *
 * Backpressure: the send limit is soft. The chain is accepted whenever tcp_sndbuf() > 0,
 * even if it is larger (so a message bigger than the limit can be sent); otherwise the call
 * fails with -ENOBUFS and writable() is called once space is freed.
 * Allowed in SYN_SENT, SYN_RECEIVED, ESTABLISHED and CLOSE_WAIT.
 * @return 0 (m now owned by the stack); -ENOBUFS (over the limit), -EPIPE (write side shut
 *         or connection closing), -EINVAL (m NULL, empty, or a shared mbuf header).
 */
int tcp_send(struct tcp_conn *c, struct rte_mbuf *m);

/** @return bytes that may be queued before tcp_send() refuses (0 when full). */
uint32_t tcp_sndbuf(const struct tcp_conn *c);

/**
 * For an application that checks tcp_sndbuf() itself instead of letting tcp_send() refuse:
 * ask for the writable() callback that a refused tcp_send() would have armed.
 * @return true when there is room now (tcp_sndbuf() > 0: send, no callback will come);
 *         false when full: writable() is called once acknowledgements free space.
 */
bool tcp_want_writable(struct tcp_conn *c);

/**
 * The application is done with @p len bytes handed to data(): reopen that much window
 * (a window update is sent when it grows by two segments or half the buffer).
 */
void tcp_recved(struct tcp_conn *c, uint32_t len);

/**
 * Close the write side (half-close): FIN after the queued data. Data still arrives;
 * closed(TCP_CLOSE_NORMAL) follows once the peer's FIN has come and ours is acknowledged.
 * @return 0, or -ENOTCONN (not yet/no longer synchronized or already shut).
 */
int tcp_shutdown(struct tcp_conn *c);

/**
 * Release the connection: the stack sends the queued data and a FIN, finishes the close
 * (FIN_WAIT_x, TIME_WAIT) by itself and makes no more callbacks. Data arriving afterwards
 * is answered with a RST (as Linux does). The handle is invalid after the call.
 */
void tcp_close(struct tcp_conn *c);

/** Send a RST (when synchronized) and free @p c at once; no callback. Handle invalid after. */
void tcp_abort(struct tcp_conn *c);

/** @return the connection's state (diagnostics and tests). */
enum tcp_state tcp_conn_state(const struct tcp_conn *c);

/** The connection's 4-tuple, host byte order. */
void tcp_conn_tuple(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
		    uint32_t *remote_ip, uint16_t *remote_port);

/** @return the state name as in RFC 9293 ("ESTABLISHED", ...). */
const char *tcp_state_name(enum tcp_state st);

/** @return sizeof(struct tcp_conn): the per-connection control block, buffers aside. */
size_t tcp_conn_size(void);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_TCP_H */
