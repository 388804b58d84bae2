/**
 * @file
 * Internal types of the topic tables, shared by topic_tree.c (nodes and their life cycle),
 * topic_sub.c (subscriptions), topic_match.c (read side) and topic_retain.c. Not for use
 * outside lib/topic. The design is explained in docs/topics.md.
 */
#ifndef TACHYON_TOPIC_INTERNAL_H
#define TACHYON_TOPIC_INTERNAL_H

#include <stdbool.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>
#include <urcu/list.h>

#include "topic/topic.h"

/*
 * Atomics: GCC builtins rather than uatomic_*, so that sanitizers see them. Pointers
 * published to readers are stored with release and read with acquire (consume is what
 * rcu_dereference gives; on x86 both cost nothing).
 */
#define topic__load(p)        __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define topic__store(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define topic__add(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define topic__sub(p, v)      __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define topic__xchg(p, v)     __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define topic__cas(p, o, n)   __atomic_compare_exchange_n((p), (o), (n), false, \
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

/*
 * ThreadSanitizer cannot see two happens-before edges that liburcu makes in uninstrumented
 * code: publishing a node through cds_lfht_add_unique() and the grace period before a
 * call_rcu callback. In TSan builds we state them: a node is released before it is
 * hashed and acquired by whoever compares or finds it; every tree operation ends with a
 * release on one global token, which every free callback acquires (a callback runs after
 * a grace period, so after every operation that could still see the object ended).
 * Elsewhere these are no-ops.
 */
#if defined(__SANITIZE_THREAD__)
#define TOPIC__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TOPIC__TSAN 1
#endif
#endif
#ifdef TOPIC__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char topic__tsan_gp;
#define topic__tsan_publish(p)   __tsan_release((void *)(p))
#define topic__tsan_found(p)     __tsan_acquire((void *)(p))
#define topic__tsan_op_end()     __tsan_release(&topic__tsan_gp)
#define topic__tsan_gp_passed()  __tsan_acquire(&topic__tsan_gp)
#else
#define topic__tsan_publish(p)   ((void)0)
#define topic__tsan_found(p)     ((void)0)
#define topic__tsan_op_end()     ((void)0)
#define topic__tsan_gp_passed()  ((void)0)
#endif

/*
 * RCU lists: liburcu's cds_list_*_rcu, redone with atomics for the same reason. Writers
 * of one list are serialised (single owner or a spinlock); prev pointers are read by
 * writers only; readers follow next pointers from the head until they are back at it.
 */
static inline void topic__list_add(struct cds_list_head *newp, struct cds_list_head *head)
{
	newp->next = head->next;
	newp->prev = head;
	head->next->prev = newp;
	topic__store(&head->next, newp);   /* publish: newp is complete */
}

static inline void topic__list_del(struct cds_list_head *elem)
{
	/* elem->next stays: a reader standing on elem walks on into the list */
	elem->next->prev = elem->prev;
	topic__store(&elem->prev->next, elem->next);
}

#define topic__list_for_each_entry(pos, head, member) \
	for (pos = caa_container_of(topic__load(&(head)->next), __typeof__(*pos), member); \
	     &pos->member != (head); \
	     pos = caa_container_of(topic__load(&pos->member.next), __typeof__(*pos), member))

/** Node kinds: how a node hangs from its parent. */
enum topic__kind {
	TOPIC__ROOT,   /**< the tree's root: never freed, no level */
	TOPIC__EXACT,  /**< in the depth table and the parent's children list */
	TOPIC__PLUS,   /**< parent->plus */
	TOPIC__HASH,   /**< parent->hash ('#' is always a leaf) */
};

/**
 * Ordinary subscriptions of one worker on one node. Pushed onto node->wlists by its
 * worker (CAS on the head; other workers push theirs concurrently) and never unlinked
 * until the node itself is freed, so readers walk the chain without care. Its subs list
 * is written only by its worker (topic__list_add/del, no lock: single writer).
 */
struct topic__wlist {
	struct topic__wlist *next;   /**< next worker's list on this node (immutable once pushed) */
	struct cds_list_head subs;   /**< struct topic_sub.link, RCU list */
	uint32_t count;              /**< entries in subs; only the worker touches it */
	uint8_t worker;              /**< owner worker index */
};

/** The members of a shared group: replaced whole (copy on write) under group->lock. */
struct topic__members {
	struct rcu_head rcu;
	uint32_t n;                  /**< members in m[] */
	struct topic_sub *m[];       /**< the members' entries */
};

/**
 * One shared group ("$share/{name}/...") on a node. Members come from any worker, so
 * unlike wlists the writers share a (writer-only) spinlock; readers load the members
 * array and pick one. Like wlists, groups stay on the node until the node is freed.
 */
struct topic__share {
	struct topic__share *next;   /**< next group on this node (immutable once pushed) */
	struct topic__members *members; /**< current members, NULL when empty */
	uint64_t rr;                 /**< round-robin counter (atomic add by readers) */
	int lock;                    /**< writers only: 0 free, 1 held */
	uint16_t len;                /**< name length */
	char name[];                 /**< group name, not NUL-terminated */
};

/**
 * A subscription entry: the handle given to the broker. Ordinary entries sit in their
 * worker's wlist; shared entries are referenced from their group's members array.
 * Invariant: an entry holds one reference on its node for as long as it is subscribed.
 */
struct topic_sub {
	struct cds_list_head link;   /**< in wlist->subs (ordinary entries only) */
	uint64_t session;            /**< the subscriber's opaque handle */
	uint64_t opts;               /**< packed options, see topic__opts_pack() */
	struct topic_node *node;     /**< the node it hangs from */
	void *owner;                 /**< struct topic__wlist * or struct topic__share * */
	struct rcu_head rcu;         /**< for the deferred free */
};

/**
 * A tree node: one level of a filter or a topic name.
 *
 * Life cycle, the core invariant: refs counts what keeps the node alive: subscription
 * entries, shared group members, the retained message (0 or 1), child nodes (exact, '+',
 * '#') and short-lived holds of writers walking down. refs == 0 means dead, forever: the
 * thread whose decrement reached 0 unlinks the node, frees it with call_rcu and drops the
 * node's reference on its parent. Nobody increments a 0 (topic__node_tryget() fails), so a
 * writer that finds a dead node helps unlink it and looks again. Every change to a node
 * (new child, new wlist, new group, retained) is made by a thread holding a reference.
 */
struct topic_node {
	/* cold: writers and the retained side */
	struct cds_list_head sibling; /**< in parent->children (TOPIC__EXACT only) */
	struct cds_list_head children; /**< exact children, RCU list, writers hold ch_lock */
	struct topic_retained *retained; /**< retained message of this topic name, or NULL */
	uint32_t refs;               /**< see above */
	int ch_lock;                 /**< writers of children only: 0 free, 1 held */
	struct rcu_head rcu;         /**< for the deferred free */
	/* hot: what a match reads, together, ending with the key the hash lookup compares
	 * (hnode, then parent, len, level), so a lookup touches as few lines as it can */
	struct cds_lfht_node hnode;  /**< in tree->depth[depth] (TOPIC__EXACT only) */
	struct topic_node *plus;     /**< '+' child or NULL */
	struct topic_node *hash;     /**< '#' child or NULL */
	struct topic__wlist *wlists; /**< per-worker ordinary subscribers (push-only chain) */
	struct topic__share *shares; /**< shared groups (push-only chain) */
	uint64_t worker_mask;        /**< bit w set iff worker w's wlist here is non-empty */
	struct topic_node *parent;   /**< immutable; NULL for the root */
	uint16_t depth;              /**< levels from the root (root 0) */
	uint16_t len;                /**< level length */
	uint8_t kind;                /**< enum topic__kind */
	char level[];                /**< the level, not NUL-terminated (exact nodes) */
};

/**
 * The tree: a root and one cds_lfht per depth, keyed by (parent node, level string).
 * One table per depth rather than per node: a cds_lfht costs 704 bytes even empty
 * (measured, liburcu 0.13), which a million leaf parents cannot afford. The tree grows the
 * tables itself (see topic__depth_grow()), not liburcu's AUTO_RESIZE.
 */
struct topic_tree {
	struct topic_node *root;     /**< freed only with the tree; one permanent reference
					  (a pointer: a struct with a flexible array cannot be
					  embedded in standard C) */
	struct cds_lfht *depth[TOPIC_MAX_LEVELS + 1]; /**< depth[d]: exact nodes at depth d */
	uint64_t depth_count[TOPIC_MAX_LEVELS + 1];   /**< nodes in depth[d] */
	uint64_t depth_size[TOPIC_MAX_LEVELS + 1];    /**< buckets last asked of depth[d] */
	int depth_resizing[TOPIC_MAX_LEVELS + 1];     /**< 1 while a writer grows depth[d] */
	struct topic_conf conf;
	uint64_t nodes;              /**< live nodes (decremented in the call_rcu free) */
	uint64_t subs;
	uint64_t retained;
	uint64_t retained_bytes;
	uint64_t retained_rejected;
};

/* topic_tree.c */
uint64_t topic__hash(const struct topic_node *parent, const char *s, size_t len);
struct topic_node *topic__child_lookup(struct topic_tree *t, struct topic_node *parent,
				       const char *s, size_t len);
bool topic__node_tryget(struct topic_node *n);
void topic__node_put(struct topic_tree *t, struct topic_node *n);
struct topic_node *topic__node_walk(struct topic_tree *t, const char *s, size_t len,
				    bool create, int *err);
void topic__spin_lock(int *l);
void topic__spin_unlock(int *l);

extern uint64_t topic__objects;

/*
 * An entry's word: options, worker and the shared flag in one 64-bit word, so that
 * readers see a consistent set. Bits 0-31 sub_id, 32-33 max_qos, 34 no_local,
 * 35 retain_as_published, 36-37 retain_handling, 40-47 worker, 48 shared.
 */
#define TOPIC__W_SHIFT 40
#define TOPIC__SHARED  (1ULL << 48)

static inline uint64_t topic__opts_pack(const struct topic_opts *o)
{
	return (uint64_t)o->sub_id | (uint64_t)o->max_qos << 32 |
	       (uint64_t)o->no_local << 34 | (uint64_t)o->retain_as_published << 35 |
	       (uint64_t)o->retain_handling << 36;
}

static inline unsigned topic__opts_worker(uint64_t v)
{
	return (unsigned)(v >> TOPIC__W_SHIFT & 0xff);
}

static inline void topic__opts_unpack(uint64_t v, struct topic_opts *o)
{
	o->sub_id = (uint32_t)v;
	o->max_qos = (uint8_t)(v >> 32 & 3);
	o->no_local = (uint8_t)(v >> 34 & 1);
	o->retain_as_published = (uint8_t)(v >> 35 & 1);
	o->retain_handling = (uint8_t)(v >> 36 & 3);
}

#endif /* TACHYON_TOPIC_INTERNAL_H */
