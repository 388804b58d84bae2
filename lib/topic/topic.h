/**
 * @file
 * Topic tables: who wants a PUBLISH, and which retained messages match a SUBSCRIBE.
 *
 * Sits between the MQTT codec and the broker logic. A worker that decodes a PUBLISH asks
 * topic_route() which workers hold subscribers (one message reference per worker) and which
 * member of each shared group is chosen; each of those workers then asks topic_match() for
 * its own subscribers. A SUBSCRIBE calls topic_subscribe() and topic_retained_lookup().
 * The tree, the RCU rules and the routing data are described in docs/topics.md.
 *
 * Threads. Every function except topic_name_check(), topic_filter_check(),
 * topic_share_split(), topic_hits_merge() and topic_tree_create() needs the calling thread
 * registered with liburcu QSBR (rcu_register_thread() from <urcu-qsbr.h>) and online.
 * Pointers the tree hands out for reading (struct topic_retained pointers given to a
 * visitor; topic_hit is plain values) stay valid only until the thread's next
 * rcu_quiescent_state() or rcu_thread_offline(), and topic_subscribe() and topic_retained_set() can act as one:
 * when they grow a hash table, cds_lfht_resize() takes the thread offline for the
 * duration. The read side (topic_route, topic_match, topic_collect,
 * topic_retained_lookup) takes no lock and writes no shared memory (round-robin counters
 * of shared groups excepted: one atomic add per matched group).
 *
 * Worker ownership. A subscription belongs to a worker index (0..TOPIC_MAX_WORKERS-1).
 * topic_subscribe(), topic_unsubscribe() and topic_sub_set_opts() for worker w must be
 * called by the one thread acting as worker w; two threads must never act as the same
 * worker at once. The control core may act as worker w (restore after restart) only while
 * worker w's thread does not call these functions. Different workers may subscribe and
 * unsubscribe concurrently with each other and with readers.
 *
 * Errors. Functions that can fail return 0 (or a count) on success and a negative errno
 * value on failure; topic_tree_create() returns NULL and sets errno.
 */
#ifndef TACHYON_TOPIC_TOPIC_H
#define TACHYON_TOPIC_TOPIC_H

#include <stddef.h>
#include <stdint.h>
#include <urcu-qsbr.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOPIC_MAX_WORKERS 64     /**< worker indexes are 0..63: one bit each in a mask */
#define TOPIC_MAX_LEVELS  128    /**< most levels in a filter or a retained topic name */
#define TOPIC_MAX_LEN     65535  /**< longest name or filter (MQTT string length) */
#define TOPIC_SUBID_MAX   268435455u /**< largest MQTT 5 subscription identifier */

struct topic_tree;
struct topic_sub;

/** How a shared group picks the member that gets a message. */
enum topic_share_strategy {
	TOPIC_SHARE_ROUND_ROBIN = 0, /**< an atomic counter per group (default) */
	TOPIC_SHARE_HASH_PUBLISHER,  /**< hash of the publisher id: sticky per publisher */
};

/** Tree configuration; zero fields take the defaults given. */
struct topic_conf {
	uint64_t max_retained;       /**< most retained messages; 0 = unlimited */
	uint64_t max_retained_bytes; /**< most bytes over all retained messages; 0 = unlimited */
	enum topic_share_strategy share_strategy; /**< default TOPIC_SHARE_ROUND_ROBIN */
};

/** Subscription options (MQTT 5 3.8.3.1; MQTT 3.1.1 clients use only max_qos). */
struct topic_opts {
	uint8_t max_qos;             /**< 0..2 */
	uint8_t no_local;            /**< 1: not delivered to the publishing session */
	uint8_t retain_as_published; /**< 1: keep the RETAIN flag when forwarding */
	uint8_t retain_handling;     /**< 0..2, used by the broker at SUBSCRIBE time */
	uint32_t sub_id;             /**< subscription identifier, 0 = none */
};

/** One matching subscription, as given to a visitor. Plain values: safe to copy. */
struct topic_hit {
	uint64_t session;            /**< the subscriber's opaque session handle */
	struct topic_opts opts;      /**< its options */
	uint8_t worker;              /**< the worker it lives on */
	uint8_t shared;              /**< 1: chosen member of a shared group */
};

/**
 * A retained message, embedded by the broker in its own message object. The tree holds
 * one pointer per topic; when replaced or cleared, the old one is passed to free_fn after
 * an RCU grace period (from the call_rcu thread), so readers can use it until their next
 * quiescent state.
 */
struct topic_retained {
	struct rcu_head rcu;         /**< used by the tree: do not touch */
	void (*free_fn)(struct topic_retained *r); /**< called once the tree drops it */
	uint32_t size;               /**< bytes charged to max_retained_bytes */
};

/** Counters of a tree (each read atomically; the set is not a snapshot). */
struct topic_stats {
	uint64_t nodes;              /**< live tree nodes, root excluded (freed after grace) */
	uint64_t subs;               /**< subscriptions (shared included) */
	uint64_t retained;           /**< retained messages held */
	uint64_t retained_bytes;     /**< sum of their sizes */
	uint64_t retained_rejected;  /**< topic_retained_set() refused by a limit */
	uint64_t objects;            /**< tree objects allocated and not yet freed, all trees
					  of the process together (0 after everything is
					  unsubscribed and rcu_barrier() returned) */
};

typedef void (*topic_hit_fn)(void *arg, const struct topic_hit *hit);
typedef void (*topic_retained_fn)(void *arg, struct topic_retained *r);

/* ---- validation (pure functions, any thread) ---- */

/**
 * Check a topic name (PUBLISH, will, retained): 1..65535 bytes, well-formed UTF-8 without
 * U+0000, no '+' or '#'.
 * @return 0 if valid, -EINVAL if not.
 */
int topic_name_check(const char *name, size_t len);

/**
 * Check a topic filter, shared ("$share/{group}/{filter}") or not: 1..65535 bytes,
 * well-formed UTF-8 without U+0000, '+' only as a whole level, '#' only as the whole last
 * level, at most TOPIC_MAX_LEVELS levels. A shared group name is non-empty and holds no
 * '/', '+' or '#'; the filter after it must itself be valid.
 * @return 0 if valid, -EINVAL if not, -E2BIG if valid MQTT but deeper than TOPIC_MAX_LEVELS.
 */
int topic_filter_check(const char *filter, size_t len);

/**
 * Split a filter into shared group and plain filter. Does not validate.
 * @param group_len  set to the group name's length, 0 if the filter is not shared
 * @return offset of the plain filter within @p filter (0 if not shared).
 */
size_t topic_share_split(const char *filter, size_t len, size_t *group_len);

/* ---- tree ---- */

/**
 * Create an empty tree. Any thread; no RCU registration needed.
 * @return the tree, or NULL with errno ENOMEM (or EINVAL for a bad conf).
 */
struct topic_tree *topic_tree_create(const struct topic_conf *conf);

/**
 * Free a tree and all it holds (subscriptions, retained messages via free_fn). No other
 * thread may use the tree any more; the caller must be a registered QSBR thread. Waits for
 * pending call_rcu callbacks (rcu_barrier). NULL is a no-op.
 */
void topic_tree_destroy(struct topic_tree *tree);

/** Read the tree's counters. Any registered thread. */
void topic_tree_stats(const struct topic_tree *tree, struct topic_stats *st);

/* ---- subscriptions (writer side) ---- */

/**
 * Add a subscription for @p session on worker @p worker. Each call adds a new entry: the
 * broker keeps, per session, filter -> handle and calls topic_sub_set_opts() when a client
 * subscribes again to the same filter (MQTT: the new subscription replaces the old one).
 * Thread: the thread acting as @p worker (see the file comment). May pass through a
 * quiescent state (table growth), so hold no tree pointer across it.
 * @param filter   a filter (shared or not), checked with topic_filter_check()
 * @param out      set to the handle to give topic_unsubscribe()
 * @return 0; -EINVAL bad filter, worker or options; -E2BIG too deep; -ENOMEM.
 */
int topic_subscribe(struct topic_tree *tree, const char *filter, size_t len,
		    unsigned worker, uint64_t session, const struct topic_opts *opts,
		    struct topic_sub **out);

/**
 * Replace a subscription's options; readers see the old or the new ones, never a mix.
 * Thread: the thread acting as the subscription's worker.
 * @return 0, or -EINVAL for bad options.
 */
int topic_sub_set_opts(struct topic_sub *sub, const struct topic_opts *opts);

/** Read a subscription's options. Thread: its worker. */
void topic_sub_get_opts(const struct topic_sub *sub, struct topic_opts *opts);

/**
 * Remove a subscription; the handle is freed after a grace period and must not be used
 * again. Empty tree nodes are removed on the way up and freed after a grace period.
 * Thread: the thread acting as the subscription's worker.
 */
void topic_unsubscribe(struct topic_tree *tree, struct topic_sub *sub);

/* ---- matching (read side, lock-free) ---- */

/**
 * Publisher's view of a PUBLISH to @p topic: which workers hold ordinary subscribers, and
 * one chosen member per matching shared group (given to @p shared_fn, which may be NULL).
 * @param topic      a topic name that passed topic_name_check()
 * @param publisher  the publishing session (hash strategy of shared groups)
 * @return the mask of workers (bit w = worker w) with ordinary matching subscriptions.
 *         A bit may be set although no_local filters out every subscription there.
 */
uint64_t topic_route(struct topic_tree *tree, const char *topic, size_t len,
		     uint64_t publisher, topic_hit_fn shared_fn, void *arg);

/**
 * Worker's view: call @p fn for every ordinary (non-shared) subscription of worker
 * @p worker that matches @p topic, once per matching subscription (a session with two
 * matching filters is given twice: see topic_collect()). Subscriptions with no_local set
 * whose session equals @p publisher are skipped.
 * @return the number of hits.
 */
size_t topic_match(struct topic_tree *tree, const char *topic, size_t len, unsigned worker,
		   uint64_t publisher, topic_hit_fn fn, void *arg);

/**
 * topic_match() into an array, sorted by session so that one session's overlapping
 * subscriptions are adjacent. MQTT 5 3.3.4 lets the server send one copy per client; the
 * broker sends one PUBLISH per run of equal sessions with the highest max_qos of the run,
 * every non-zero sub_id of the run, and the RETAIN flag kept if any retain_as_published is
 * set. Use topic_hits_merge() to do that.
 * @return the number of hits found, which may exceed @p cap (only @p cap are stored and
 *         sorted; call again with a bigger array to get them all).
 */
size_t topic_collect(struct topic_tree *tree, const char *topic, size_t len, unsigned worker,
		     uint64_t publisher, struct topic_hit *hits, size_t cap);

/**
 * Merge a sorted run: hits[0..n) (from topic_collect()) into one hit per session, in
 * place. The merged hit has the highest max_qos, retain_as_published ORed, no_local and
 * retain_handling of the first; sub_id is that of the first hit: all sub_ids of a session
 * are still in the input before merging, so collect them first if needed.
 * @return the number of distinct sessions now at hits[0..ret).
 */
size_t topic_hits_merge(struct topic_hit *hits, size_t n);

/* ---- retained messages ---- */

/**
 * Set (or with @p r NULL, clear) the retained message of @p topic. The old message, if
 * any, goes to its free_fn after a grace period. On -ENOSPC or -ENOMEM the tree is
 * unchanged and @p r is NOT freed (the caller still owns it).
 * Thread: any registered thread; concurrent setters of one topic are serialised by an
 * atomic exchange (the last one wins).
 * @param topic  a topic name (checked with topic_name_check())
 * @return 0; -EINVAL not a valid topic name; -ENOSPC a count or byte limit would be
 *         passed (counted in retained_rejected); -E2BIG more than TOPIC_MAX_LEVELS
 *         levels (clearing such a topic returns 0: nothing can be stored there); -ENOMEM.
 */
int topic_retained_set(struct topic_tree *tree, const char *topic, size_t len,
		       struct topic_retained *r);

/**
 * Call @p fn for each retained message whose topic matches @p filter (a plain filter: the
 * broker strips "$share/{group}/"; MQTT 5 sends no retained messages for shared
 * subscriptions anyway). Walks only the branches the filter can match; '$' topics are not
 * matched by a leading wildcard. Read side: no lock.
 * @p fn must take its own reference on a message it keeps past the caller's next
 * quiescent state (which a later topic_subscribe() may be: see the file comment).
 * @return the number of messages given to @p fn.
 */
size_t topic_retained_lookup(struct topic_tree *tree, const char *filter, size_t len,
			     topic_retained_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_TOPIC_TOPIC_H */
