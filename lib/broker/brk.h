/**
 * @file brk.h
 * The broker logic: sessions, CONNECT / will / keep alive, QoS 0/1/2 state machines,
 * inflight windows, offline queues, expiry, takeover, retained messages, $SYS and fan-out
 * across workers. Transport-agnostic and DPDK-free (docs/broker.md is the overview).
 *
 * Data flow: a transport decodes a connection's bytes with lib/mqtt and hands each packet
 * to brk_conn_packet(); the broker answers through the connection's struct brk_conn_ops.
 * A PUBLISH is routed with topic_route(): subscribers on the same worker are served at
 * once, every other worker with subscribers gets one struct brk_xmsg holding a reference
 * to the one shared struct brk_msg (struct brk_worker_ops.post); that worker's runtime
 * gives it to brk_worker_receive(). Time advances with brk_worker_tick().
 *
 * Threads. One struct brk_worker per worker thread; every function taking a worker, a
 * connection of it, or a message it posted, runs on that thread, which must be registered
 * with liburcu QSBR and online (the topic tree's rule), and must pass through quiescent
 * states regularly (rcu_quiescent_state() once per loop). struct brk_shared is shared by all.
 * brk_msg_ref()/brk_msg_unref() are safe from any thread.
 *
 * Errors: constructors return NULL (errno set); brk_conn_packet() returns enum brk_input.
 */
#ifndef TACHYON_BRK_H
#define TACHYON_BRK_H

#include <stddef.h>
#include <stdint.h>

#include "broker/brk-t.h"
#include "mqtt/mqtt-t.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tachyon_config;
struct brk_shared;
struct brk_worker;
struct brk_conn;

/* ---------------------------------------------------------------- process-wide state */

/**
 * Create the state shared by all workers: the topic tree, the client identifier registry,
 * the counters and the settings read from @p cfg (copied; later changes do not apply).
 * Any thread; no RCU registration needed.
 * @param n_workers  number of workers (1..BRK_MAX_WORKERS)
 * @param now_ns     the clock (monotonic ns) at start, for $SYS uptime
 * @return the state, or NULL with errno EINVAL / ENOMEM.
 */
struct brk_shared *brk_shared_create(const struct tachyon_config *cfg, unsigned n_workers,
				     uint64_t now_ns);

/**
 * Free the shared state. Every worker must have been destroyed; the caller must be a
 * registered QSBR thread (the tree waits for its call_rcu callbacks).
 */
void brk_shared_destroy(struct brk_shared *sh);

/** Copy the counters (relaxed atomic loads; any thread). */
void brk_shared_counters(const struct brk_shared *sh, struct brk_counters *out);

/* ---------------------------------------------------------------- workers */

/**
 * Create the broker state of worker @p index. Any thread (before the worker runs).
 * @return the worker, or NULL with errno EINVAL (bad index, taken) / ENOMEM.
 */
struct brk_worker *brk_worker_create(struct brk_shared *sh, unsigned index,
				     const struct brk_worker_ops *ops);

/**
 * Free worker state: every connection must have been closed or lost before. Sessions left
 * are dropped (their subscriptions removed). Worker thread (registered), after the others
 * stopped sending it messages; drain its inbox first (brk_worker_receive()).
 */
void brk_worker_destroy(struct brk_worker *w);

/**
 * Handle one message another worker posted to this one. Ownership of the references it
 * holds passes to the broker. Worker thread.
 */
void brk_worker_receive(struct brk_worker *w, const struct brk_xmsg *m);

/**
 * Advance time: keep alive checks, will delays, session and message expiry, retries of
 * posts that found a full inbox, and (worker 0) the $SYS publishes. Call at least every
 * 100 ms; cheap when nothing is due. Worker thread.
 */
void brk_worker_tick(struct brk_worker *w, uint64_t now_ns);

/**
 * The server is going down: close every connection of this worker, MQTT 5 ones with
 * DISCONNECT 0x8B (Server shutting down). Sessions stay until brk_worker_destroy().
 * Worker thread.
 */
void brk_worker_shutdown(struct brk_worker *w);

/** The worker's index. */
unsigned brk_worker_index(const struct brk_worker *w);

/**
 * Sync mode: true when held acknowledgements (or fan-out marks) can be released now that
 * more records are durable; the runtime should not sleep then. Worker thread; cheap.
 */
bool brk_worker_persist_ready(const struct brk_worker *w);

struct plog_state;
struct plog_sess;

/**
 * Recovery: rebuild the durable state the control core recovered (lib/plog) in the broker:
 * sessions (offline, spread over the workers; a reconnecting client takes its session over
 * as in any takeover), their subscriptions, queued and in-flight QoS 1/2 messages (sent
 * again with DUP on reconnect) and inbound QoS 2 ids, and the retained messages.
 * Call once every worker exists and before any runs, on a thread registered with QSBR.
 * @param gone  called for each session not restored because it expired while the broker
 *   was down (the control core logs sess_expire for it); may be NULL.
 * @return 0; -EINVAL (a worker missing); -ENOMEM (part of the state was not restored).
 */
int brk_restore(struct brk_shared *sh, const struct plog_state *st, uint64_t now_ns,
		void (*gone)(void *arg, const struct plog_sess *s), void *arg);

/* ---------------------------------------------------------------- connections */

#define BRK_MAX_LISTENERS 16

/** Per-listener settings a connection is accepted with. */
struct brk_listener {
	uint16_t port;                 /**< for messages */
	uint8_t index;                 /**< listener number 0..BRK_MAX_LISTENERS-1: its own
					*   connection count for max_connections */
	int64_t max_connections;       /**< -1 = unlimited */
	uint16_t max_topic_alias;      /**< topic aliases the client may use towards us */
	bool allow_zero_length_clientid;
};

/**
 * A transport accepted a connection. Nothing is sent until the CONNECT arrives.
 * @param lst  the listener's settings (copied)
 * @return the connection, or NULL (ENOMEM): the transport should close it.
 */
struct brk_conn *brk_conn_open(struct brk_worker *w, const struct brk_conn_ops *ops,
			       void *tctx, const struct brk_listener *lst, uint64_t now_ns);

/**
 * One decoded packet from the client (lib/mqtt views, valid during the call only).
 * @param wire_len  the packet's size in bytes (counters)
 * @return BRK_CONTINUE, BRK_PAUSE (keep the remaining bytes until ops->resume()), or
 *   BRK_CLOSED (ops->close() was called; the handle is dead).
 */
enum brk_input brk_conn_packet(struct brk_conn *c, const struct mqtt_packet *pkt,
			       uint32_t wire_len);

/**
 * The decoder refused the stream with reason code @p rc (>= 0x80): the broker answers as
 * the protocol level requires (CONNACK / DISCONNECT with the code, or a plain close) and
 * calls ops->close(). @p version is the decoder's level (a refused CONNECT's own level).
 * The handle is dead afterwards.
 */
void brk_conn_bad_input(struct brk_conn *c, uint8_t rc, uint8_t version);

/**
 * The transport can take more after a send returned -ENOBUFS: the broker sends what it
 * held back (possibly calling ops->resume()). May call ops->close(): then it returns
 * BRK_CLOSED.
 */
enum brk_input brk_conn_writable(struct brk_conn *c);

/**
 * The connection is gone (peer closed, reset, timed out). Abnormal unless a DISCONNECT
 * preceded it: the will is published (after its delay). No call is made on the
 * transport afterwards. The handle is dead.
 */
void brk_conn_lost(struct brk_conn *c);

/* ---------------------------------------------------------------- messages */

/** Take a reference to @p m. Any thread. */
void brk_msg_ref(struct brk_msg *m);

/** Drop a reference; the last one frees the message. Any thread. */
void brk_msg_unref(struct brk_msg *m);

/** The message's payload bytes (immutable while a reference is held). */
const uint8_t *brk_msg_payload(const struct brk_msg *m, uint32_t *len);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_BRK_H */
