/**
 * @file plog_state.h
 * The control core's own copy of the durable state: sessions (with their subscriptions,
 * queued QoS 1/2 messages and inbound QoS 2 packet ids) and retained messages, built by
 * applying records in sequence order.
 *
 * Why a copy: the workers own the live state and must never pause, so a snapshot cannot
 * read it. The control core already sees every durable change as a record on its way to the
 * log; applying the same record here keeps a private, single-threaded replica that snapshots
 * serialize (plog_snap.h) and recovery rebuilds (plog_store.h) and then hands to the workers.
 *
 * Applying is total: a record that refers to something absent (an ack for an unknown message,
 * a subscription of an unknown session) changes nothing and is counted in `orphans`. The log
 * is the truth; a replay never fails except for lack of memory.
 *
 * Thread-safety: none; one thread (the control core) owns a state.
 * Errors: plog_state_apply() returns 0, -ENOMEM (the state is unchanged then) or -EINVAL
 * (type not in enum plog_rec_type: a decoded record never has one);
 * plog_state_new() returns NULL on ENOMEM. Lookups return NULL when absent.
 * Cost: lookups and most applies O(1) (hash maps keyed by client id and topic); subscription
 * changes are O(subscriptions of that session); acks O(position in that session's queue), and
 * acks come in queue order, so O(1) in practice.
 */
#ifndef TACHYON_PLOG_STATE_H
#define TACHYON_PLOG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plog/plog_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Intrusive hash map link; the key is stored in the owning object. */
struct plog_hnode {
	struct plog_hnode *next;
	const uint8_t *key;
	uint32_t klen;
	uint32_t hash;
};

/** A subscription, in the order it was first added. */
struct plog_sub {
	struct plog_sub *next;
	uint8_t options;     /**< SUBSCRIBE options byte */
	uint32_t sub_id;     /**< MQTT 5 subscription identifier, 0 = none */
	uint16_t filter_len;
	char filter[];       /**< filter_len bytes, NUL-terminated for convenience */
};

/** Where a queued message stands. */
enum plog_qmsg_state {
	PLOG_QMSG_QUEUED = 0,    /**< not sent yet (or sent at QoS 1 with no record of it) */
	PLOG_QMSG_DELIVERED = 1, /**< sent with packet_id, awaiting PUBACK / PUBREC */
	PLOG_QMSG_RELEASED = 2,  /**< QoS 2: PUBREL sent, awaiting PUBCOMP; body dropped */
};

/** A message queued for a session. topic/payload/props are empty once RELEASED. */
struct plog_qmsg {
	struct plog_qmsg *next, *prev;
	uint64_t msg_id;
	uint64_t expiry_ms;
	uint16_t packet_id;
	uint8_t qos;
	bool retain;
	uint8_t state;           /**< enum plog_qmsg_state */
	struct plog_bytes topic; /**< point into this allocation */
	struct plog_bytes payload;
	struct plog_bytes props;
};

/** A session. Invariant: nsubs and nqueued count the lists; q2in is sorted, unique. */
struct plog_sess {
	struct plog_hnode node;      /**< key = client id */
	struct plog_bytes client_id; /**< same bytes as the key */
	uint8_t proto_version;
	bool clean_start;
	bool connected;              /**< false after SESS_DISCONNECT */
	uint32_t expiry_interval;
	uint64_t time_ms;            /**< last connect or disconnect (expiry counts from it) */
	struct plog_will will;       /**< owned copy; cleared by SESS_DISCONNECT, set again by
					  SESS_WILL when a delayed will is pending (due at
					  time_ms + will.delay_interval * 1000) */
	bool has_username;           /**< false: anonymous (from SESS_CREATE; a format 1 or 2
					  record has none) */
	struct plog_bytes username;  /**< owned copy (its own allocation when len > 0), replaced
					  by every SESS_CREATE: the last connection's user */
	uint8_t listener;            /**< listener index of the last connection (its ACLs) */
	struct plog_sub *subs;
	uint32_t nsubs;
	struct plog_qmsg *qhead, *qtail;
	uint32_t nqueued;
	uint64_t max_msg_id;         /**< highest msg_id queued so far: an id above it cannot be
					  a duplicate, so the common case skips the scan */
	uint16_t *q2in;              /**< inbound QoS 2 packet ids awaiting PUBREL */
	uint32_t nq2in, q2in_cap;
};

/** A retained message. */
struct plog_retained {
	struct plog_hnode node; /**< key = topic */
	struct plog_bytes topic;
	uint8_t qos;
	uint64_t expiry_ms;
	struct plog_bytes payload;
	struct plog_bytes props;
};

/** Counts, for the recovery report, `stats` and the benchmarks. */
struct plog_state_stats {
	uint64_t sessions;
	uint64_t subscriptions;
	uint64_t queued;    /**< queued messages, all states */
	uint64_t q2in;      /**< inbound QoS 2 ids awaiting PUBREL */
	uint64_t retained;
	uint64_t applied;   /**< records applied since creation */
	uint64_t orphans;   /**< records that referred to something absent */
	uint64_t mem_bytes; /**< heap bytes held (objects + hash tables), approximate */
};

struct plog_state;

/** @return a new empty state, or NULL (ENOMEM). */
struct plog_state *plog_state_new(void);

/** Free a state and everything in it. NULL is fine. */
void plog_state_free(struct plog_state *st);

/**
 * Apply one record. The record's bytes are copied; @p rec may be freed afterwards.
 * @return 0; -ENOMEM with the state unchanged; -EINVAL for an unknown type.
 */
int plog_state_apply(struct plog_state *st, const struct plog_rec *rec);

/** Fill @p out with the current counts. */
void plog_state_stats(const struct plog_state *st, struct plog_state_stats *out);

/** @return the session of @p client_id, or NULL. */
const struct plog_sess *plog_state_session(const struct plog_state *st, const void *client_id,
					   size_t len);

/** @return the retained message of @p topic, or NULL. */
const struct plog_retained *plog_state_retained(const struct plog_state *st, const void *topic,
						size_t len);

/**
 * Visit every session, then every retained message (either callback may be NULL), in hash
 * order. Return non-zero from a callback to stop; that value is returned.
 */
int plog_state_foreach(const struct plog_state *st,
		       int (*sess_cb)(void *arg, const struct plog_sess *s),
		       int (*ret_cb)(void *arg, const struct plog_retained *r), void *arg);

/**
 * Describe the state as records which, applied in order to an empty state, rebuild it
 * exactly (plog_state_equal() holds). This is what a snapshot stores. Records have seq 0;
 * their byte strings point into the state and are valid during the callback.
 *
 * @return 0, or the first non-zero callback return (emission stops there).
 */
int plog_state_emit(const struct plog_state *st, int (*cb)(void *arg, const struct plog_rec *rec),
		    void *arg);

/** @return true when @p a and @p b hold the same sessions, lists and retained messages. */
bool plog_state_equal(const struct plog_state *a, const struct plog_state *b);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_PLOG_STATE_H */
