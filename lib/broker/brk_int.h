/**
 * @file brk_int.h
 * Internal structures and functions of the broker (lib/broker only). The per-packet files
 * (brk_connect.c, brk_publish.c, ...) share them; nothing outside lib/broker may include it.
 *
 * Ownership: a struct brk_session and a struct brk_conn belong to one worker and are
 * touched only by its thread; a struct brk_msg is immutable after creation and shared by
 * reference count between workers; struct brk_shared holds only thread-safe things (the
 * RCU topic tree and registry, settings, worker pointers). The settings change only through
 * brk_shared_apply_settings() (control core, one atomic store per field; each field is one
 * aligned word, and a worker reads each at most once per decision).
 */
#ifndef TACHYON_BRK_INT_H
#define TACHYON_BRK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "auth/auth_acl.h"
#include "broker/brk.h"
#include "mqtt/mqtt.h"
#include "topic/topic.h"
#include "util/twheel.h"

#define BRK_MAX_SUB_IDS 8          /**< subscription ids carried per delivery */
#define BRK_SEC 1000000000ull
#define BRK_NEVER UINT64_MAX
#define BRK_OUTQ_QOS0_LIMIT (1u << 20) /**< held-back bytes past which QoS 0 is dropped */

/* Relaxed single-writer counter bump: readers on other threads load atomically. */
#define BRK_CNT(w, f, n) \
	__atomic_store_n(&(w)->cnt.f, (w)->cnt.f + (uint64_t)(n), __ATOMIC_RELAXED)

/**
 * A message: one PUBLISH as the broker keeps it, shared by every delivery, queue, worker
 * and retained slot by reference count. Invariant: immutable once created; @c buf holds
 * a complete MQTT 5 PUBLISH (topic resolved, no Topic Alias, no Subscription Identifier)
 * and @c pub are views into it.
 */
struct brk_msg {
	uint32_t refcnt;             /**< atomic */
	uint8_t qos;                 /**< as published */
	bool retain;                 /**< as published */
	uint64_t expire_at;          /**< ns on the broker clock, BRK_NEVER when none */
	uint64_t publisher;          /**< session uid of the publisher (no local), 0: broker */
	uint64_t rx_ns;              /**< broker clock when it arrived (latency histogram) */
	struct topic_retained ret;   /**< the tree's slot when retained */
	struct mqtt_publish pub;     /**< views into buf */
	uint32_t len;                /**< bytes of buf */
	uint8_t buf[];
};

/** Delivery states, as in MQTT 5 section 4.3 (sender side). */
enum brk_dlv_state {
	BRK_DLV_QUEUED = 0,  /**< not sent yet (window full, offline, or held back) */
	BRK_DLV_PUBLISHED,   /**< PUBLISH sent, waiting for PUBACK (QoS 1) / PUBREC (QoS 2) */
	BRK_DLV_RELEASED,    /**< PUBREL sent, waiting for PUBCOMP; msg already dropped */
};

/** One message on its way to one session. */
struct brk_dlv {
	struct brk_dlv *next;
	struct brk_msg *msg;         /**< one reference; NULL in BRK_DLV_RELEASED */
	uint16_t pid;                /**< packet identifier, 0 while queued */
	uint8_t qos;                 /**< granted: min(published, subscription maximum) */
	uint8_t state;               /**< enum brk_dlv_state */
	bool retain;                 /**< RETAIN flag to send */
	uint8_t n_sub_ids;
	uint32_t sub_ids[BRK_MAX_SUB_IDS];
	uint64_t mid;                /**< message id in the durable log (0: not logged) */
};

/** A FIFO of deliveries. */
struct brk_dlvq {
	struct brk_dlv *head, *tail;
	uint32_t n;
	uint64_t bytes;              /**< payload bytes of queued messages */
};

/** One subscription of a session. */
struct brk_sub {
	struct brk_sub *next;
	struct topic_sub *h;         /**< the tree's handle (this worker) */
	struct topic_opts opts;
	uint16_t len;
	char filter[];               /**< as subscribed, "$share/g/..." included */
};

/** Session states. */
enum brk_sess_state {
	BRK_S_PENDING = 0, /**< registered, waiting for the previous owner's state */
	BRK_S_ONLINE,      /**< a connection is attached */
	BRK_S_OFFLINE,     /**< persistent, no connection: queues, expires */
	BRK_S_DEAD,        /**< ended, but a takeover message is on its way: kept until then */
};

/**
 * An MQTT session. Also the client identifier registry's entry: see the takeover essay
 * in brk_session.c. Lives on one worker for life; moving to another worker means a new
 * struct there and the state carried over in a struct brk_xfer.
 */
struct brk_session {
	struct cds_lfht_node reg;    /**< in sh->reg while registered */
	struct rcu_head rcu;
	struct brk_session *h_next;  /**< worker's uid hash chain */
	struct brk_session *l_prev, *l_next; /**< worker's session list */
	struct twheel_node tn;       /**< OFFLINE: on w->sess_wheel (will, expiry, queue prune) */
	struct brk_worker *w;
	uint64_t uid;                /**< topic tree handle, unique for the process */
	uint64_t hash;               /**< registry hash of id */
	char *id;
	uint16_t id_len;
	uint8_t state;               /**< enum brk_sess_state */
	bool durable;                /**< persistent with persistence on: changes are logged */
	bool replaced;               /**< registering it replaced another session */
	uint8_t version;             /**< protocol level of the last CONNECT (records) */
	bool registered;             /**< in sh->reg (not yet replaced or deleted by us) */
	struct brk_conn *conn;       /**< ONLINE and PENDING: the connection */
	uint32_t expiry_s;           /**< Session Expiry Interval (UINT32_MAX: never) */
	uint64_t expire_at;          /**< OFFLINE: when it ends */
	struct brk_sub *subs;
	uint32_t n_subs;
	struct brk_dlvq inflight;    /**< PUBLISHED / RELEASED, in send order */
	struct brk_dlvq queue;       /**< QUEUED */
	uint16_t *rx_pids;           /**< QoS 2 ids received, PUBREL not yet (exactly once) */
	uint32_t n_rx, cap_rx;
	uint16_t next_pid;
	/** The inflight list may not be in packet-id order (restored or taken over): the
	 *  next free id is then found by a scan. Cleared when the list empties. */
	bool pid_unordered;
	char *username;              /**< of the connection that made it (NULL: anonymous),
				      *   for ACL checks while online and offline */
	uint16_t username_len;
	uint8_t lst;                 /**< listener index of that connection: its ACL table */
	struct brk_msg *will;        /**< the will of the current / last connection */
	uint64_t will_at;            /**< OFFLINE with a delayed will: when to send it */
	uint32_t will_delay;         /**< Will Delay Interval, seconds */
	/* A takeover that arrived while PENDING: pass the state on once it comes. */
	struct brk_session *fwd;
	uint16_t fwd_worker;
	bool fwd_set, fwd_clean;
	/* Waiting for the previous owner's state (PENDING): its creation is logged when the
	 * state arrives, fenced after the old owner's records (brk_p_sess_create). */
	bool p_create_due, p_create_clean;
};

/** State moved from one worker to another on takeover. */
struct brk_xfer {
	struct brk_sub *subs;        /**< h is NULL: to subscribe again on the new worker */
	uint32_t n_subs;
	struct brk_dlvq inflight, queue;
	uint16_t *rx_pids;
	uint32_t n_rx, cap_rx;
	uint16_t next_pid;
	bool present;                /**< there was a session (session present) */
};

/** A packet held back because the transport's buffer was full. */
struct brk_out {
	struct brk_out *next;
	struct brk_msg *msg;         /**< payload reference or NULL */
	uint32_t len;
	uint8_t head[];
};

enum brk_conn_state {
	BRK_C_NEW = 0,     /**< waiting for CONNECT */
	BRK_C_WAIT_XFER,   /**< CONNECT seen, waiting for a takeover to finish */
	BRK_C_WAIT_AUTH,   /**< CONNECT seen, its password being checked off the worker */
	BRK_C_CONNECTED,   /**< CONNACK sent */
	BRK_C_CLOSED,      /**< ops->close() called */
};

#define BRK_PAUSE_XFER 1u   /**< waiting for the session */
#define BRK_PAUSE_OUTQ 2u   /**< transport full */
#define BRK_PAUSE_AUTH 4u   /**< waiting for the password check (brk_access.c) */
#define BRK_PAUSE_PLOG 8u   /**< persistence backlog over its bound (brk_persist.c) */

struct brk_vjob;

/** One client connection. */
struct brk_conn {
	struct brk_worker *w;
	struct twheel_node tn;       /**< on w->conn_wheel: CONNECT wait or keep alive */
	const struct brk_conn_ops *ops;
	void *tctx;
	struct brk_listener lst;
	struct brk_conn *prev, *next; /**< worker's connection list */
	struct brk_session *s;
	uint8_t state;               /**< enum brk_conn_state */
	uint8_t version;             /**< enum mqtt_version once CONNECT is seen */
	uint8_t pause;               /**< BRK_PAUSE_* bits */
	bool counted;                /**< counted in connection limits */
	bool clean_start;
	bool normal_disconnect;      /**< DISCONNECT without will seen */
	bool problem_info;           /**< v5 Request Problem Information (default 1) */
	bool session_present;
	bool in_input;               /**< inside brk_conn_packet: free on the way out */
	bool dead;                   /**< closed while in_input */
	uint16_t keepalive;          /**< effective seconds, 0 = none */
	uint64_t last_rx;
	uint32_t max_packet;         /**< the client's Maximum Packet Size (0: unlimited) */
	uint16_t send_max;           /**< outbound window: min(client receive max, config) */
	uint16_t recv_max;           /**< inbound window we announced */
	uint16_t alias_in_max;       /**< aliases the client may use */
	uint16_t alias_out_max;      /**< aliases we may use */
	char **alias_in;             /**< [alias_in_max + 1] topics by alias */
	uint16_t *alias_in_len;
	char **alias_out;            /**< [alias_out_max + 1] topic of each alias we set */
	uint16_t *alias_out_len;
	uint16_t alias_out_used;
	/** Its acknowledgements held in w->held (sync mode), oldest first, chained through
	 *  brk_held.c_next: the FIFO releases a connection's entries in this order, so the
	 *  head of w->held that is ours is always held_first. */
	struct brk_held *held_first, *held_last;
	struct brk_conn *tp_prev, *tp_next; /**< on w->throttled while BRK_PAUSE_PLOG */
	char *assigned_id;           /**< v5: identifier we assigned, for CONNACK */
	uint64_t rx_bytes, tx_bytes; /**< this connection's bytes (management `clients`) */
	uint64_t connected_at;       /**< broker clock at CONNACK */
	uint32_t peer_ip;            /**< source address (brk_conn_set_peer), for the limiter */
	bool cert_user;              /**< username from a verified certificate (no password) */
	struct brk_vjob *vjob;       /**< WAIT_AUTH: the password check under way */
	bool login_ok;               /**< credentials accepted (a resumed CONNECT skips them) */
	struct brk_out *oq_head, *oq_tail;
	uint32_t oq_bytes;
};

/** Broker settings, from struct tachyon_config; updated at run time field by field with
 *  atomic stores (brk_shared_apply_settings), never as a whole. */
struct brk_settings {
	uint16_t max_inflight;       /**< 1..65535 */
	uint32_t max_queued;         /**< 0 = unlimited */
	uint64_t max_queued_bytes;   /**< 0 = unlimited */
	uint32_t message_size_limit; /**< 0 = none */
	uint32_t max_packet_size;    /**< what we accept, 0 = protocol maximum */
	uint16_t max_keepalive;
	bool retain_available;
	uint32_t sys_interval;       /**< seconds, 0 = off */
	bool queue_qos0;
	int64_t max_connections;     /**< -1 = unlimited */
	uint32_t max_subs_per_client; /**< 0 = unlimited */
	uint32_t max_topic_levels;    /**< 1..TOPIC_MAX_LEVELS */
};

/**
 * The security tables in force (brk_access.c). Immutable once published in
 * struct brk_shared.sec; replaced as a whole by brk_security_publish(), freed after an RCU
 * grace period. Holds one reference to each table.
 */
struct brk_sec {
	uint64_t gen;                /**< bumped on every publish: keys the login cache */
	struct brk_sec_listener l[BRK_MAX_LISTENERS];
};

struct brk_pwcache;
struct brk_verifier;
struct auth_rl;

struct brk_shared {
	struct topic_tree *tree;
	struct brk_sec *sec;         /**< RCU pointer: rcu_dereference() on workers */
	unsigned n_listeners;        /**< listeners configured (1..BRK_MAX_LISTENERS), then
				      *   as last published: brk_restore() gives a session of a
				      *   listener past them listener 0 (control core only) */
	uint64_t sec_gen;            /**< last published gen (control core) */
	uint8_t pwc_key[32];         /**< secret that keys the login cache's tags */
	uint32_t rl_burst;           /**< auth_fail_burst */
	uint64_t rl_interval_ns;     /**< auth_fail_interval */
	struct brk_verifier *ver;    /**< the password-check thread, NULL: check inline */
	struct cds_lfht *reg;        /**< client id -> struct brk_session (registry) */
	unsigned n_workers;
	struct brk_worker *workers[BRK_MAX_WORKERS];
	struct brk_settings set;
	uint64_t start_ns;
	uint64_t next_uid;           /**< atomic */
	int64_t n_conns;             /**< atomic: connections counted against max_connections */
	int64_t n_lconns[BRK_MAX_LISTENERS]; /**< atomic: the same per listener */
	int64_t connected;           /**< atomic: connections past CONNACK, process-wide */
	int64_t connected_max;       /**< atomic: its highest value ($SYS, stats) */
	uint64_t next_mid;           /**< atomic: next durable message id */
	/** Sync mode, atomic: dlv_durable[k][j] = how many QoS 1/2 fan-out messages from
	 *  worker j worker k has handled with every record they caused on disk. Written by k,
	 *  read by j (brk_persist.c). */
	uint64_t dlv_durable[BRK_MAX_WORKERS][BRK_MAX_WORKERS];
};

/** A post that found the target's inbox full, retried on each tick. */
struct brk_retry {
	struct brk_retry *next;
	unsigned to;
	struct brk_xmsg m;
};

/**
 * A SUBACK or UNSUBACK as it is to be sent, with (SUBACK) the filters whose retained
 * messages follow it: what a held (UN)SUBACK keeps until its records are durable.
 * data = n_codes reason codes, then n_ret times (u16 length little-endian, filter bytes).
 */
struct brk_suback {
	uint8_t type;                /**< MQTT_SUBACK / MQTT_UNSUBACK */
	uint16_t pid;
	uint32_t n_codes;            /**< codes to send (3.1.x UNSUBACK: 0) */
	uint32_t sub_id;             /**< v5 subscription identifier of the SUBSCRIBE, 0: none */
	uint32_t n_ret;              /**< filters whose retained messages follow */
	uint8_t data[];
};

/** An acknowledgement held until the records it answers for are durable (sync mode). */
struct brk_held {
	struct brk_held *next;
	struct brk_held *c_next;     /**< the same connection's next held entry */
	struct brk_conn *c;          /**< NULL once the connection is gone */
	struct brk_suback *sa;       /**< a held (UN)SUBACK (owned), NULL: type/pid/rc ack */
	uint64_t seq;                /**< this worker's records up to here must be durable */
	uint16_t pid;
	uint8_t type;                /**< MQTT_PUBACK / MQTT_PUBREC / MQTT_PUBREL */
	uint8_t rc;
	bool remote;                 /**< posted[] is meaningful */
	uint64_t posted[];           /**< [n_workers]: fan-out posted to each worker so far */
};

/** A fan-out message from another worker handled here, waiting for our records. */
struct brk_pmark {
	uint64_t n;                  /**< count of such messages from worker j */
	uint64_t seq;                /**< our last record when handled */
	unsigned j;
};

struct brk_worker {
	struct brk_shared *sh;
	unsigned index;
	struct brk_worker_ops ops;
	struct brk_conn *conns;
	struct brk_session *sessions;
	struct brk_session **uid_ht; /**< uid -> session (this worker's), chained */
	uint32_t uid_mask, uid_n;
	struct brk_retry *retry_head, *retry_tail;
	uint64_t now;
	struct twheel conn_wheel;    /**< connections' CONNECT wait / keep alive deadlines */
	struct twheel sess_wheel;    /**< offline sessions' will delay / expiry / queue prune */
	uint64_t next_sys;           /**< next $SYS publish (worker 0) */
	struct topic_hit *hits;
	size_t hits_cap;
	struct brk_counters cnt;     /**< this worker's share; summed by brk_shared_counters */
	struct auth_rl *rl;          /**< failed-login limiter of this worker */
	struct brk_pwcache *pwc;     /**< logins verified lately (brk_access.c) */
	struct brk_vjob *vdone;      /**< atomic: checks the verifier finished (a stack) */
	uint32_t vjobs;              /**< checks submitted and not collected yet */
	/* persistence (brk_persist.c) */
	uint64_t pseq;               /**< last worker-local record sequence number */
	struct brk_held *held, *held_tail;
	uint64_t posted[BRK_MAX_WORKERS]; /**< QoS 1/2 fan-out posted to each worker */
	uint64_t recvd[BRK_MAX_WORKERS];  /**< QoS 1/2 fan-out received from each worker */
	struct brk_pmark *marks;     /**< ring of handled fan-out awaiting durability */
	uint32_t marks_head, marks_n, marks_cap;
	struct brk_conn *throttled;  /**< connections paused for the persistence backlog */
};

/* ---- brk_msg.c ---- */
struct brk_msg *brk_msg_new(const struct mqtt_publish *p, const uint8_t *topic,
			    uint16_t topic_len, uint64_t publisher, uint64_t now);
uint32_t brk_msg_remaining_expiry(const struct brk_msg *m, uint64_t now);
bool brk_msg_expired(const struct brk_msg *m, uint64_t now);

/* ---- brk_out.c: encoding and sending ---- */
int brk_out_packet(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_out_raw(struct brk_conn *c, const uint8_t *head, uint32_t len, struct brk_msg *msg);
void brk_out_flush(struct brk_conn *c);
void brk_out_free(struct brk_conn *c);
void brk_send_ack(struct brk_conn *c, uint8_t type, uint16_t pid, uint8_t rc);
void brk_send_disconnect(struct brk_conn *c, uint8_t rc);

/* ---- brk_reason.c: the one map from internal errors to reason codes ---- */
uint8_t brk_reason_from_errno(int err, uint8_t type);
const char *brk_reason_text(uint8_t rc);
void brk_props_reason(struct brk_conn *c, struct mqtt_props *p, uint8_t rc);

/* ---- brk_conn.c / brk_dispatch.c ---- */
void brk_conn_close(struct brk_conn *c, uint8_t rc);
void brk_conn_resume_check(struct brk_conn *c);

/* ---- per packet ---- */
enum brk_input brk_handle_connect(struct brk_conn *c, const struct mqtt_packet *pkt);
void brk_connect_finish(struct brk_conn *c, struct brk_xfer *x);
int brk_handle_publish(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_pubrel(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_puback(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_pubrec(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_pubcomp(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_subscribe(struct brk_conn *c, const struct mqtt_packet *pkt);
/* Send a (UN)SUBACK and then the retained messages it names (brk_subscribe.c). */
void brk_suback_send(struct brk_conn *c, const struct brk_suback *sa);
int brk_handle_unsubscribe(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_pingreq(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_disconnect(struct brk_conn *c, const struct mqtt_packet *pkt);
int brk_handle_auth(struct brk_conn *c, const struct mqtt_packet *pkt);

/* ---- brk_session.c ---- */
struct brk_session *brk_session_new(struct brk_worker *w, const uint8_t *id, uint16_t len);
struct brk_session *brk_session_find(struct brk_worker *w, uint64_t uid);
void brk_session_register(struct brk_worker *w, struct brk_session *s, bool clean,
			  struct brk_xfer **now_x, bool *wait);
void brk_session_register_restored(struct brk_worker *w, struct brk_session *s);
void brk_session_detach(struct brk_session *s, bool abnormal);
/* Put @p sub (filter and options set) in the topic tree and on @p s's list; on failure it
 * is freed. @return whether it was attached. */
bool brk_session_sub_attach(struct brk_session *s, struct brk_sub *sub);
void brk_session_end(struct brk_session *s);
void brk_session_takeover_req(struct brk_worker *w, const struct brk_xmsg *m);
void brk_session_xfer_in(struct brk_worker *w, const struct brk_xmsg *m);
void brk_session_apply_xfer(struct brk_session *s, struct brk_xfer *x);
/** File (or unfile) @p c on the connection wheel by its state: CONNECT wait, keep alive. */
void brk_conn_timer(struct brk_conn *c);

/** A connection's wheel node fired: close it if its deadline has really passed. */
void brk_conn_timer_fire(struct brk_conn *c);

/** File (or unfile) @p s on the session wheel: an OFFLINE session's next will, expiry or
 *  queue prune. */
void brk_session_timer(struct brk_session *s);

/** A session's wheel node fired: will, expiry, expired queued messages; then refile. */
void brk_session_timer_fire(struct brk_session *s);
void brk_session_destroy_all(struct brk_worker *w);
void brk_session_sub_free_all(struct brk_session *s);
bool brk_session_rx_has(const struct brk_session *s, uint16_t pid);
int brk_session_rx_add(struct brk_session *s, uint16_t pid);
bool brk_session_rx_del(struct brk_session *s, uint16_t pid);

/* ---- brk_deliver.c ---- */
void brk_route(struct brk_worker *w, struct brk_msg *m);
void brk_deliver_local(struct brk_worker *w, struct brk_msg *m);
void brk_deliver_to(struct brk_session *s, struct brk_msg *m, const struct topic_opts *o,
		    const uint32_t *sub_ids, uint8_t n_sub_ids, bool retained);
void brk_deliver_pump(struct brk_session *s);
void brk_deliver_resend(struct brk_session *s);
void brk_dlvq_free(struct brk_dlvq *q);
struct brk_dlv *brk_dlv_take(struct brk_dlvq *q, uint16_t pid, struct brk_dlv **prev);
void brk_dlvq_push(struct brk_dlvq *q, struct brk_dlv *d);
void brk_deliver_expire(struct brk_session *s);

/* ---- brk_will.c ---- */
int brk_will_set(struct brk_conn *c, const struct mqtt_connect *cn);
void brk_will_publish(struct brk_session *s);
void brk_will_drop(struct brk_session *s);

/* ---- brk_ctl.c ---- */
void brk_ctl_observe_latency(struct brk_worker *w, const struct brk_msg *m);
/* ---- brk_access.c: CONNECT credentials and ACL checks ---- */
int brk_sec_shared_init(struct brk_shared *sh, const struct tachyon_config *cfg);
void brk_sec_shared_fini(struct brk_shared *sh);
int brk_sec_worker_init(struct brk_worker *w);
void brk_sec_worker_fini(struct brk_worker *w);
int brk_login(struct brk_conn *c, const struct mqtt_packet *pkt);
void brk_login_collect(struct brk_worker *w);
void brk_login_cancel(struct brk_conn *c);
enum brk_input brk_connect_refuse(struct brk_conn *c, uint8_t rc);
int brk_sec_identity(struct brk_conn *c, struct brk_session *s, const struct mqtt_connect *cn);
bool brk_acl_ok(struct brk_session *s, const struct mqtt_str *topic,
		enum auth_acl_access access);
bool brk_acl_will_ok(struct brk_session *s, const struct mqtt_str *topic);
/* ---- brk_persist.c: durable-state records, held acknowledgements ---- */
static inline bool brk_persist_on(const struct brk_worker *w)
{
	return w->ops.persist != NULL;
}
void brk_p_sess_create(struct brk_session *s, bool clean, bool after_all);
void brk_p_sess(struct brk_session *s, unsigned type);
void brk_p_will(struct brk_session *s);
void brk_p_sub_add(struct brk_session *s, const struct brk_sub *sub);
void brk_p_sub_remove(struct brk_session *s, const char *filter, uint16_t len);
void brk_p_retain(struct brk_worker *w, const struct brk_msg *m);
void brk_p_msg_queue(struct brk_session *s, struct brk_dlv *d);
void brk_p_mref(struct brk_session *s, unsigned type, const struct brk_dlv *d);
void brk_p_q2in(struct brk_session *s, unsigned type, uint16_t pid);
void brk_persist_ack(struct brk_conn *c, uint8_t type, uint16_t pid, uint8_t rc);
/* Send @p sa (malloc'd; taken) now, or hold it in the FIFO until the records of a durable
 * session are on disk (sync mode), or behind the connection's other held acks. */
void brk_persist_suback(struct brk_conn *c, struct brk_suback *sa);
void brk_persist_posted(struct brk_worker *w, unsigned to);
void brk_persist_received(struct brk_worker *w, unsigned from);
void brk_persist_poll(struct brk_worker *w);
void brk_persist_conn_gone(struct brk_conn *c);
/* After a packet of @p c: past the backlog bound, stop reading from it (BRK_PAUSE_PLOG). */
void brk_persist_throttle(struct brk_conn *c);
void brk_persist_free(struct brk_worker *w);

/* ---- brk_sys.c ---- */
void brk_sys_publish(struct brk_worker *w);

/* ---- brk_worker.c ---- */
void brk_post(struct brk_worker *w, unsigned to, const struct brk_xmsg *m, bool must);
void brk_uid_add(struct brk_worker *w, struct brk_session *s);
void brk_uid_del(struct brk_worker *w, struct brk_session *s);
/* A message from the broker itself ($SYS, management publish); topic_len < 65536. */
int brk_publish_internal(struct brk_worker *w, const char *topic, size_t topic_len,
			 const uint8_t *payload, uint32_t len, uint8_t qos, bool retain);

#endif /* TACHYON_BRK_INT_H */
