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

#include <stdbool.h>
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
 * the counters and the settings read from @p cfg (copied; a later change reaches the broker
 * through brk_shared_apply_settings()).
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
 * @return true when work waits for brk_worker_tick() that arrived from another thread (the
 * answer of an off-worker password check): a runtime about to sleep must not. Any thread
 * may ask; one load.
 */
bool brk_worker_busy(const struct brk_worker *w);

/**
 * True when held acknowledgements (or fan-out marks) can be released now that more records
 * are durable (sync mode), or connections paused for the persistence backlog can read
 * again; the runtime should not sleep then. Worker thread; cheap.
 */
bool brk_worker_persist_ready(const struct brk_worker *w);

struct plog_state;
struct plog_sess;

/**
 * Recovery: rebuild the durable state the control core recovered (lib/plog) in the broker:
 * sessions (offline, spread over the workers; a reconnecting client takes its session over
 * as in any takeover), their subscriptions, queued and in-flight QoS 1/2 messages (sent
 * again with DUP on reconnect) and inbound QoS 2 ids, and the retained messages. Each
 * session keeps the username and listener of its last connection, so that its will and the
 * messages delivered to it are checked against that listener's ACL as that user; a
 * listener index the configuration no longer has becomes 0 (format 1 and 2 stores have
 * none: anonymous, listener 0).
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

/**
 * Tell the broker a connection's source IPv4 address (host byte order), for the per-address
 * limiter of failed logins. Call right after brk_conn_open(); without it the address is 0.
 */
void brk_conn_set_peer(struct brk_conn *c, uint32_t ip);

/**
 * The transport verified a client certificate whose identity it puts in the CONNECT's
 * username (TLS use_identity_as_username): that username needs no password (Mosquitto's
 * rule); ACLs apply to it as to any user. Call before the CONNECT is handed over.
 */
void brk_conn_set_cert_user(struct brk_conn *c);

/* ---------------------------------------------------------------- security */

struct auth_passwd;
struct auth_acl;

/** What one listener checks (docs/security.md); see brk_security_publish(). */
struct brk_sec_listener {
	bool allow_anonymous;          /**< clients without a username may connect */
	struct auth_passwd *pw;        /**< password table, or NULL: usernames not checked */
	struct auth_acl *acl;          /**< ACL table, or NULL: no acl_file (only $ rules) */
};

/**
 * Publish new security tables, listener by listener (entry i for struct brk_listener.index
 * i; listeners past @p n use entry 0). The broker takes its own references to the tables;
 * the caller keeps its own. Workers switch to the new tables at their next packet, without
 * waiting or locking (an RCU pointer swap); the old ones are released after a grace period,
 * which this call waits for, so the caller must not be an online QSBR reader (the control
 * core is not one). Logins remembered as verified are forgotten (a changed or deleted user
 * must log in against the new table). Until the first call, brk_shared_create() set up
 * allow_anonymous from the configuration and no tables. @p n is also the number of
 * listeners brk_restore() accepts in a restored session (others are given listener 0).
 * @return 0, or -ENOMEM (nothing changed) / -EINVAL (n is 0 or too large).
 */
int brk_security_publish(struct brk_shared *sh, const struct brk_sec_listener *l, unsigned n);

/* ---------------------------------------------------------------- messages */

/** Take a reference to @p m. Any thread. */
void brk_msg_ref(struct brk_msg *m);

/** Drop a reference; the last one frees the message. Any thread. */
void brk_msg_unref(struct brk_msg *m);

/** The message's payload bytes (immutable while a reference is held). */
const uint8_t *brk_msg_payload(const struct brk_msg *m, uint32_t *len);

/**
 * Where messages live: each struct brk_msg is one block holding its PUBLISH encoding, and
 * transports send the payload straight from it, so a runtime whose NIC reads memory by
 * DMA gives DMA-able memory here (dataplane/dp_msgmem.c). Both functions may be called
 * from any thread (the last reference can drop anywhere).
 */
struct brk_msg_alloc {
	void *(*alloc)(void *ctx, size_t size); /**< NULL when out of memory */
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/**
 * Set the message allocator, process-wide. Call before the first brk_shared_create() and
 * never while a message exists; NULL restores malloc()/free() (the default).
 */
void brk_msg_set_alloc(const struct brk_msg_alloc *a);

/* ---------------------------------------------------------------- management (brk_ctl.c) */

/*
 * What the control core asks of a worker (clients, kick, retained ...). The runtime carries
 * the request to the worker that owns the state (struct brk_xmsg of type BRK_X_CTL) and
 * calls these there: every function below runs on the worker thread, walks only that
 * worker's own state and never blocks, so the control core never takes a lock the fast path
 * takes. The settings functions are the exception: any thread (atomic stores).
 */

/** One session of a worker as `clients` / `sessions` report it (valid during the callback). */
struct brk_client_info {
	const char *id;              /**< client identifier (not NUL-terminated) */
	uint16_t id_len;
	unsigned worker;
	bool online;                 /**< a connection is attached (past CONNACK) */
	uint8_t version;             /**< enum mqtt_version of the connection (online), 0 else */
	uint16_t keepalive;          /**< effective keep alive, seconds (online) */
	uint32_t inflight;           /**< deliveries sent, not acknowledged */
	uint32_t queued;             /**< deliveries waiting (window full or offline) */
	uint64_t queued_bytes;
	uint64_t bytes_in, bytes_out; /**< of the current connection (online) */
	double connected_for_s;      /**< since CONNACK (online) */
	uint32_t n_subs;
	uint32_t expiry_s;           /**< Session Expiry Interval (UINT32_MAX: never) */
	double expires_in_s;         /**< offline: seconds until the session ends, -1 never */
	bool has_will;
	void *tctx;                  /**< online: the transport's context of the connection */
	const struct brk_session *sess; /**< for brk_ctl_client_subs() during the callback */
};

/** Callback of brk_ctl_list(); return non-zero to stop the walk. */
typedef int (*brk_client_fn)(void *arg, const struct brk_client_info *ci);

/** One subscription (brk_ctl_client_subs()). @p filter is not NUL-terminated. */
typedef void (*brk_sub_fn)(void *arg, const char *filter, uint16_t len,
			   const struct topic_opts *opts);

/**
 * Call @p fn for each session of worker @p w (online ones and, when @p offline, persistent
 * ones with no connection). Sessions being handed over (pending, ended) are skipped.
 * Worker thread.
 */
void brk_ctl_list(struct brk_worker *w, bool offline, brk_client_fn fn, void *arg);

/** Call @p fn for each subscription of the session in @p ci. Worker thread. */
void brk_ctl_client_subs(const struct brk_client_info *ci, brk_sub_fn fn, void *arg);

/**
 * Disconnect the client with identifier @p id if its connection is on worker @p w: MQTT 5
 * gets DISCONNECT 0x98 (Administrative action), 3.1.x a plain close. It is a close by the
 * server, so the will is published (MQTT 5.0 section 3.1.2.5) and a persistent session
 * stays, offline. Worker thread.
 * @return 0 kicked; -ENOENT no session with that id here; -ENOTCONN the session is offline.
 */
int brk_ctl_kick(struct brk_worker *w, const char *id, size_t len);

/** Callback of brk_ctl_retained(): the topic and payload are views valid during the call. */
typedef void (*brk_retained_fn)(void *arg, const char *topic, uint16_t topic_len,
				const uint8_t *payload, uint32_t len, uint8_t qos);

/**
 * Call @p fn for each retained message matching the filter @p filter (a topic name matches
 * itself). Worker thread (a QSBR reader).
 * @return the number of messages, or -EINVAL for a bad filter.
 */
int brk_ctl_retained(struct brk_worker *w, const char *filter, size_t len, brk_retained_fn fn,
		     void *arg);

/**
 * Remove the retained message of topic @p topic without publishing anything (unlike a
 * client's empty retained PUBLISH, subscribers get no message). Worker thread.
 * @return 0, -EINVAL a bad topic name.
 */
int brk_ctl_retained_clear(struct brk_worker *w, const char *topic, size_t len);

/**
 * Publish a message as the broker itself (no publisher session): routed to every
 * subscriber and, with @p retain, stored (an empty retained payload clears the topic's
 * retained message, as a client's would). Worker thread.
 * @return 0, -EINVAL a bad topic name (wildcards, $-topic, empty), -ENOMEM.
 */
int brk_ctl_publish(struct brk_worker *w, const char *topic, size_t topic_len,
		    const uint8_t *payload, uint32_t len, uint8_t qos, bool retain);

/**
 * Apply the run-time-changeable broker settings of @p cfg (max_inflight_messages,
 * max_queued_messages, max_queued_bytes, message_size_limit, max_packet_size, max_keepalive,
 * retain_available, sys_interval). Each field is stored atomically; workers see the new
 * value from their next packet on (a connection keeps what its CONNACK announced). Any
 * thread.
 */
void brk_shared_apply_settings(struct brk_shared *sh, const struct tachyon_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_BRK_H */
