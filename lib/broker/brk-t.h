/**
 * @file brk-t.h
 * Types of the broker logic that other parts see: the transport interface a connection
 * speaks through, the cross-worker message, the shared message object, and the counters.
 *
 * Where it sits: the TCP glue (dataplane/dp_mqtt.c) or a test's fake transport implements
 * struct brk_conn_ops and struct brk_worker_ops; the broker (brk.h) calls them. Functions
 * live in broker/brk.h; internal structs in broker/brk_int.h.
 */
#ifndef TACHYON_BRK_T_H
#define TACHYON_BRK_T_H

#include <stdbool.h>
#include <stdint.h>

#include "topic/topic.h"

struct brk_msg;
struct brk_session;
struct brk_xfer;
struct plog_rec;

/** Largest number of workers (one bit each in a topic route mask). */
#define BRK_MAX_WORKERS TOPIC_MAX_WORKERS

/** Publish-to-deliver latency histogram buckets: 1 us .. 2^19 us (~0.52 s), then +Inf. */
#define BRK_LAT_BUCKETS 21

/** Results of brk_conn_packet(). */
enum brk_input {
	BRK_CONTINUE = 0, /**< feed the next packet */
	BRK_PAUSE = 1,    /**< stop feeding (keep the bytes): ops->resume() will be called */
	BRK_CLOSED = 2,   /**< the broker called ops->close(): the handle is dead */
};

/**
 * How the broker reaches one client connection. Implemented by the transport; every call is
 * made on the worker thread that owns the connection.
 */
struct brk_conn_ops {
	/**
	 * Queue one packet: @p head (copied by the transport before returning) followed, when
	 * @p msg is not NULL, by the message's payload (brk_msg_payload()), which the transport
	 * must send without copying: it takes its own reference (brk_msg_ref()) for as long as
	 * it needs the bytes.
	 * @return 0 queued; -ENOBUFS nothing queued, the send buffer is full (the broker keeps
	 *   the packet and retries after brk_conn_writable()); -EPIPE the connection is going.
	 */
	int (*send)(void *tctx, const uint8_t *head, uint32_t head_len, struct brk_msg *msg);
	/**
	 * Close the connection after what was queued (the broker is done with it; no further
	 * call is made with @p tctx, and the transport must not call the broker for it again).
	 */
	void (*close)(void *tctx);
	/** Feeding may go on again after a BRK_PAUSE. */
	void (*resume)(void *tctx);
};

/** Cross-worker message kinds (struct brk_xmsg.type). */
enum brk_xmsg_type {
	BRK_X_DELIVER = 1,  /**< fan-out: match msg against the receiver's subscriptions */
	BRK_X_SHARED,       /**< deliver msg to one session (chosen shared-group member) */
	BRK_X_TAKEOVER,     /**< hand the session @c old over to @c sess on worker @c from */
	BRK_X_XFER,         /**< the answer to a takeover: state for @c sess */
	BRK_X_CTL,          /**< a control-core request (@c ctl); handled by the runtime, never
			     *   by brk_worker_receive() (which ignores it) */
};

/**
 * A message between workers. Plain data of fixed size, copied into the receiver's ring;
 * pointers it carries are references the receiver takes over (a msg reference, a session
 * or transfer object whose ownership moves with the message).
 */
struct brk_xmsg {
	uint8_t type;               /**< enum brk_xmsg_type */
	uint8_t clean;              /**< BRK_X_TAKEOVER: the new connection's clean start */
	uint16_t from;              /**< sending worker */
	struct topic_opts opts;     /**< BRK_X_SHARED: the member's options */
	struct brk_msg *msg;        /**< DELIVER, SHARED: one reference, owned by the message */
	uint64_t uid;               /**< DELIVER: publisher session; SHARED: target session */
	struct brk_session *old;    /**< TAKEOVER: the session being taken over */
	struct brk_session *sess;   /**< TAKEOVER, XFER: the new session (on worker @c from /
				     *   the receiver) */
	struct brk_xfer *xfer;      /**< XFER: the state moved, NULL when none */
	void *ctl;                  /**< CTL: the runtime's request object */
};

/**
 * What the broker needs from the runtime of one worker.
 */
struct brk_worker_ops {
	/**
	 * Copy @p m into worker @p to's inbox (multi-producer, single consumer). The receiver
	 * later hands it to brk_worker_receive() on its own thread.
	 * @return 0, or -ENOBUFS when the inbox is full (the broker retries control messages
	 *   and drops fan-out with a counter).
	 */
	int (*post)(void *ctx, unsigned to, const struct brk_xmsg *m);
	/**
	 * Optional (may be NULL): wake worker @p worker if it sleeps, because work for it arrived
	 * from another thread (brk_worker_busy(): a password check finished on the verifier
	 * thread; brk_worker_persist_ready(): records became durable). Called from that thread.
	 * Without it the work waits for the worker's next brk_worker_tick().
	 */
	void (*wake)(void *ctx, unsigned worker);
	void *ctx;                  /**< first argument of every op */
	/**
	 * Persistence (docs/durability.md); NULL = off (nothing durable, acks at once). Hand
	 * one record describing a durable state change to the control core. Must not block and
	 * must keep the order of calls; the record's byte strings are valid during the call
	 * only (the transport copies or encodes them).
	 * @return the record's worker-local sequence number (1, 2, 3... one per successful
	 *   call, no holes), or a negative errno (-ENOMEM): the record is lost, counted.
	 */
	int64_t (*persist)(void *ctx, const struct plog_rec *rec);
	/**
	 * Optional: like persist() (same numbering), and the record is applied only after
	 * every record any other worker had handed over before this call: a fence across
	 * workers. A session's new owner logs the session's creation with it after a takeover,
	 * so the old owner's last records about the session are applied first. NULL: persist().
	 */
	int64_t (*persist_after_all)(void *ctx, const struct plog_rec *rec);
	/**
	 * Sync mode: the highest worker-local sequence number known to be on disk (published
	 * by the control core; a relaxed atomic load). NULL with persist = async mode.
	 */
	uint64_t (*durable)(void *ctx);
	/**
	 * Optional: what the control core has not taken yet of the records persist() handed
	 * over: the number of records (returned) and their bytes (*bytes). Lets the broker
	 * bound that backlog (BRK_PERSIST_BACKLOG_*), which async mode has no other brake
	 * for. A relaxed atomic load; NULL = unbounded.
	 */
	uint64_t (*backlog)(void *ctx, uint64_t *bytes);
};

/**
 * Bound of a worker's persistence backlog (ops->backlog): once more records or bytes than
 * these wait for the control core, the worker stops reading from each connection that
 * sends it a packet (TCP flow control then slows the client down) until the backlog is
 * down to half of both. Memory then stays bounded by about these plus one packet per
 * connection.
 */
#define BRK_PERSIST_BACKLOG_RECORDS 65536u
#define BRK_PERSIST_BACKLOG_BYTES (64ull << 20)

/** Process-wide counters (atomics in struct brk_shared; see docs/broker.md). */
struct brk_counters {
	uint64_t clients_connected;   /**< gauge: connections past CONNACK */
	uint64_t clients_total;       /**< gauge: sessions known (online and offline) */
	uint64_t clients_maximum;     /**< highest clients_connected seen */
	uint64_t connects;            /**< CONNECTs accepted */
	uint64_t connects_refused;    /**< CONNACK with a failure */
	uint64_t takeovers;           /**< sessions taken over by a new connection */
	uint64_t msgs_received;       /**< PUBLISH packets received */
	uint64_t msgs_sent;           /**< PUBLISH packets sent */
	uint64_t bytes_received;      /**< bytes of packets received */
	uint64_t bytes_sent;          /**< bytes of packets sent */
	uint64_t pub_dropped;         /**< deliveries dropped (queue full, too large, expired) */
	uint64_t subscriptions;       /**< gauge: subscriptions held */
	uint64_t retained;            /**< gauge: retained messages held (from the tree) */
	uint64_t wills_sent;          /**< will messages published */
	uint64_t lim_connections;     /**< limit hit: max_connections */
	uint64_t lim_packet_size;     /**< limit hit: max_packet_size / message_size_limit,
				       *   both directions */
	uint64_t lim_inflight;        /**< limit hit: receive maximum exceeded by a client */
	uint64_t lim_queued;          /**< limit hit: max_queued_messages / _bytes (dropped) */
	uint64_t lim_topic_levels;    /**< limit hit: more than TOPIC_MAX_LEVELS levels */
	uint64_t lim_subscriptions;   /**< limit hit: subscriptions per client */
	uint64_t protocol_errors;     /**< connections closed for bad input */
	uint64_t keepalive_timeouts;  /**< connections closed by the keep alive */
	uint64_t expired;             /**< messages dropped because their expiry passed */
	uint64_t xmsg_drops;          /**< fan-out messages lost to a full worker inbox */
	uint64_t msgs_received_qos[3]; /**< PUBLISH packets received, by QoS */
	uint64_t msgs_sent_qos[3];    /**< PUBLISH packets sent, by QoS (as sent) */
	/** Publish-to-deliver latency: time from the PUBLISH's arrival (brk_msg.rx_ns) to its
	 *  hand-over to a subscriber's transport. Bucket k counts latencies <= 2^k us
	 *  (k = 0..BRK_LAT_BUCKETS-2) and above the previous bound; the last counts the rest.
	 *  Not cumulative (the exporter makes the Prometheus buckets cumulative). */
	uint64_t lat_bucket[BRK_LAT_BUCKETS];
	uint64_t lat_sum_ns;          /**< sum of the observed latencies, ns */
	uint64_t lat_count;           /**< observations */
	/* Security (docs/security.md): one counter per kind of denial. */
	uint64_t auth_anon_refused;   /**< CONNECT without username, anonymous not allowed */
	uint64_t auth_unknown_user;   /**< CONNECT with a username not in password_file */
	uint64_t auth_bad_password;   /**< CONNECT with a wrong or missing password */
	uint64_t auth_rate_limited;   /**< CONNECT refused: its address is blocked for now */
	uint64_t auth_error;          /**< CONNECT refused: the digest failed (no memory) */
	uint64_t auth_blocks;         /**< addresses that became blocked (logged once each) */
	uint64_t auth_hashes;         /**< password hashes computed (logins not in the cache) */
	uint64_t auth_cache_hits;     /**< logins answered from the verified-login cache */
	uint64_t acl_denied_publish;  /**< PUBLISH dropped: no write access */
	uint64_t acl_denied_subscribe; /**< SUBSCRIBE filters refused */
	uint64_t acl_denied_read;     /**< deliveries (retained ones too) not made: no read */
	uint64_t acl_denied_will;     /**< wills dropped at publish time: no write access */
	uint64_t persist_records;     /**< durable-state records handed to the control core */
	uint64_t persist_errors;      /**< records that could not be handed over (lost) */
	uint64_t acks_held;           /**< PUBACK/PUBREC/SUBACK/UNSUBACK held until their
				       *   records were durable */
	uint64_t persist_throttled;   /**< connections paused: persistence backlog over its
				       *   bound (BRK_PERSIST_BACKLOG_*) */
};

#endif /* TACHYON_BRK_T_H */
