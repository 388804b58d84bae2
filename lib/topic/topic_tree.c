/**
 * @file
 * The tree's skeleton: nodes, the per-depth hash tables, and the node life cycle (find or
 * create a path under concurrent writers, remove empty nodes, free after a grace period).
 * Subscriptions (topic_sub.c), matching (topic_match.c) and retained messages
 * (topic_retain.c) all hang off the nodes made here. See docs/topics.md for the essay.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "topic/topic_internal.h"

/* Objects allocated and not yet freed, all trees together: nodes, wlists, groups, member
 * arrays, subscription entries. Tests check that it returns to zero. */
uint64_t topic__objects;

#ifdef TOPIC__TSAN
char topic__tsan_gp;
#endif

/* ---- hashing ---- */

static inline uint64_t topic__mix(uint64_t h)
{
	/* murmur3's 64-bit finaliser: every input bit reaches every output bit */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t topic__hash(const struct topic_node *parent, const char *s, size_t len)
{
	uint64_t h = topic__mix((uint64_t)(uintptr_t)parent ^ len);

	/* eight bytes a step: levels are short, so this is a handful of multiplies */
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = (h ^ topic__mix(w)) * 0x9e3779b97f4a7c15ULL;
		s += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t w = 0;

		memcpy(&w, s, len);
		h = (h ^ topic__mix(w)) * 0x9e3779b97f4a7c15ULL;
	}
	return topic__mix(h);
}

struct topic__key {
	const struct topic_node *parent;
	const char *s;
	size_t len;
};

static int topic__ht_match(struct cds_lfht_node *hn, const void *key)
{
	const struct topic_node *n = caa_container_of(hn, struct topic_node, hnode);
	const struct topic__key *k = key;

	topic__tsan_found(hn);
	return n->parent == k->parent && n->len == k->len && memcmp(n->level, k->s, k->len) == 0;
}

struct topic_node *topic__child_lookup(struct topic_tree *t, struct topic_node *parent,
				       const char *s, size_t len)
{
	struct topic__key k = { parent, s, len };
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;

	if (parent->depth >= TOPIC_MAX_LEVELS)
		return NULL;
	cds_lfht_lookup(t->depth[parent->depth + 1], topic__hash(parent, s, len),
			topic__ht_match, &k, &it);
	hn = cds_lfht_iter_get_node(&it);
	if (hn == NULL)
		return NULL;
	topic__tsan_found(hn);
	return caa_container_of(hn, struct topic_node, hnode);
}

/* ---- table growth ---- */

#define TOPIC__DEPTH_INIT 64

/*
 * Count a node added to depth[d] and grow the table when it holds more than two nodes a
 * bucket. Why not CDS_LFHT_AUTO_RESIZE: with liburcu 0.13 a bulk load of 100k-500k nodes
 * left the tables stuck far too small now and then (lookups from 1 us to 2 ms, the
 * resize worker idle), with or without CDS_LFHT_ACCOUNTING. Growing here is
 * deterministic: one writer at a time, chosen by a CAS, runs cds_lfht_resize() itself
 * (no grace period is needed to grow; readers go on meanwhile). It costs that subscriber
 * the resize (milliseconds at a million nodes), about log2(n) times in a table's life.
 * Tables do not shrink (see docs/topics.md).
 */
static void topic__depth_grow(struct topic_tree *t, unsigned d)
{
	uint64_t cnt = topic__add(&t->depth_count[d], 1), size;
	int idle = 0;

	if (cnt <= 2 * __atomic_load_n(&t->depth_size[d], __ATOMIC_RELAXED))
		return;
	if (!topic__cas(&t->depth_resizing[d], &idle, 1))
		return;   /* another writer is growing it */
	size = t->depth_size[d];
	if (cnt > 2 * size) {
		while (size < cnt)
			size <<= 1;
		cds_lfht_resize(t->depth[d], size);
		__atomic_store_n(&t->depth_size[d], size, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&t->depth_resizing[d], 0, __ATOMIC_RELEASE);
}

/* ---- writer spinlock (children lists, shared groups; never taken by readers) ---- */

void topic__spin_lock(int *l)
{
	for (unsigned i = 0;; i++) {
		int free_ = 0;

		if (topic__cas(l, &free_, 1))
			return;
		/* the holder may be preempted on a shared core: yield rather than burn it */
		if (i < 64)
			caa_cpu_relax();
		else
			sched_yield();
	}
}

void topic__spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* ---- node life cycle ---- */

static void topic__node_free_rcu(struct rcu_head *head)
{
	struct topic_node *n = caa_container_of(head, struct topic_node, rcu);
	struct topic__wlist *w, *wn;
	struct topic__share *g, *gn;

	topic__tsan_gp_passed();
	/* refs == 0: no entries, members or retained message are left, only the containers */
	for (w = n->wlists; w != NULL; w = wn) {
		wn = w->next;
		free(w);
		topic__sub(&topic__objects, 1);
	}
	for (g = n->shares; g != NULL; g = gn) {
		gn = g->next;
		free(g);
		topic__sub(&topic__objects, 1);
	}
	free(n);
	topic__sub(&topic__objects, 1);
}

bool topic__node_tryget(struct topic_node *n)
{
	uint32_t v = __atomic_load_n(&n->refs, __ATOMIC_RELAXED);

	do {
		if (v == 0)
			return false;   /* dead: never resurrected */
	} while (!topic__cas(&n->refs, &v, v + 1));
	return true;
}

/*
 * Take a dead node out of its parent's lookup structure. Called by the owner of the
 * removal and by any writer that stumbles on the dead node (it helps, then looks again),
 * so both steps tolerate having been done already. The children list is left to the
 * owner: it needs the parent's lock, and a dead node in it is harmless to readers (no
 * subscribers, no retained message, no children).
 */
static void topic__node_unhook(struct topic_tree *t, struct topic_node *n)
{
	struct topic_node *p = n->parent, *expect = n;

	switch (n->kind) {
	case TOPIC__EXACT:
		/* whoever unhashes it (owner or helper) counts it out of the table */
		if (cds_lfht_del(t->depth[n->depth], &n->hnode) == 0)
			topic__sub(&t->depth_count[n->depth], 1);
		break;
	case TOPIC__PLUS:
		(void)topic__cas(&p->plus, &expect, NULL);
		break;
	case TOPIC__HASH:
		(void)topic__cas(&p->hash, &expect, NULL);
		break;
	default:
		break;
	}
}

void topic__node_put(struct topic_tree *t, struct topic_node *n)
{
	/* a loop, not recursion: removing a leaf may empty its parent, and so on up */
	while (n->kind != TOPIC__ROOT) {
		struct topic_node *p = n->parent;

		if (topic__sub(&n->refs, 1) != 0)
			return;
		/* we took it to 0: we own the removal */
		topic__node_unhook(t, n);
		if (n->kind == TOPIC__EXACT) {
			topic__spin_lock(&p->ch_lock);
			topic__list_del(&n->sibling);
			topic__spin_unlock(&p->ch_lock);
		}
		topic__sub(&t->nodes, 1);
		call_rcu(&n->rcu, topic__node_free_rcu);
		n = p;   /* drop the reference n held on its parent */
	}
}

static struct topic_node *topic__node_alloc(struct topic_node *parent, enum topic__kind kind,
					    const char *s, size_t len)
{
	struct topic_node *n = calloc(1, sizeof(*n) + len);

	if (n == NULL)
		return NULL;
	cds_lfht_node_init(&n->hnode);
	CDS_INIT_LIST_HEAD(&n->children);
	CDS_INIT_LIST_HEAD(&n->sibling);
	n->parent = parent;
	n->refs = 1;              /* the creator's hold */
	n->depth = (uint16_t)(parent->depth + 1);
	n->len = (uint16_t)len;
	n->kind = (uint8_t)kind;
	memcpy(n->level, s, len);
	topic__add(&topic__objects, 1);
	return n;
}

/*
 * Find the child (kind, s) of p and take a reference on it, creating it if @p create.
 * The caller holds a reference on p (or p is the root), so p cannot die meanwhile.
 */
static struct topic_node *topic__child_get(struct topic_tree *t, struct topic_node *p,
					   enum topic__kind kind, const char *s, size_t len,
					   bool create, int *err)
{
	for (;;) {
		struct topic_node *c, *n, *expect = NULL;
		bool won;

		if (kind == TOPIC__PLUS)
			c = topic__load(&p->plus);
		else if (kind == TOPIC__HASH)
			c = topic__load(&p->hash);
		else
			c = topic__child_lookup(t, p, s, len);
		if (c != NULL) {
			if (topic__node_tryget(c))
				return c;
			topic__node_unhook(t, c);   /* dying: help it out, look again */
			continue;
		}
		if (!create)
			return NULL;
		n = topic__node_alloc(p, kind, s, len);
		if (n == NULL) {
			*err = -ENOMEM;
			return NULL;
		}
		topic__add(&p->refs, 1);   /* n's reference on p; p is live, we hold it */
		if (kind == TOPIC__PLUS) {
			won = topic__cas(&p->plus, &expect, n);
		} else if (kind == TOPIC__HASH) {
			won = topic__cas(&p->hash, &expect, n);
		} else {
			struct topic__key k = { p, s, len };

			topic__tsan_publish(&n->hnode);
			won = cds_lfht_add_unique(t->depth[n->depth], topic__hash(p, s, len),
						  topic__ht_match, &k, &n->hnode) == &n->hnode;
			if (won) {
				topic__depth_grow(t, n->depth);
				/* n cannot die before this: we still hold its first reference */
				topic__spin_lock(&p->ch_lock);
				topic__list_add(&n->sibling, &p->children);
				topic__spin_unlock(&p->ch_lock);
			}
		}
		if (won) {
			topic__add(&t->nodes, 1);
			return n;
		}
		/* another writer got there first; n was never visible, free it now */
		topic__sub(&p->refs, 1);   /* cannot reach 0: we hold p */
		free(n);
		topic__sub(&topic__objects, 1);
	}
}

struct topic_node *topic__node_walk(struct topic_tree *t, const char *s, size_t len,
				    bool create, int *err)
{
	struct topic_node *cur = t->root;
	size_t pos = 0;

	*err = 0;
	for (;;) {
		const char *lv = s + pos;
		const char *slash = memchr(lv, '/', len - pos);
		size_t l = slash != NULL ? (size_t)(slash - lv) : len - pos;
		enum topic__kind kind = TOPIC__EXACT;
		struct topic_node *c;

		if (cur->depth >= TOPIC_MAX_LEVELS) {
			*err = -E2BIG;
			c = NULL;
		} else {
			if (l == 1 && lv[0] == '+')
				kind = TOPIC__PLUS;
			else if (l == 1 && lv[0] == '#')
				kind = TOPIC__HASH;
			c = topic__child_get(t, cur, kind, lv, l, create, err);
		}
		/* hand over hand: c (if any) holds cur, so this put never frees cur */
		topic__node_put(t, cur);
		if (c == NULL) {
			topic__tsan_op_end();
			return NULL;
		}
		cur = c;
		if (slash == NULL) {
			topic__tsan_op_end();
			return cur;
		}
		pos += l + 1;
	}
}

/* ---- tree ---- */

struct topic_tree *topic_tree_create(const struct topic_conf *conf)
{
	struct topic_tree *t = calloc(1, sizeof(*t));
	int d;

	if (t == NULL)
		goto err_nomem;
	if (conf != NULL) {
		if ((unsigned)conf->share_strategy > TOPIC_SHARE_HASH_PUBLISHER) {
			free(t);
			errno = EINVAL;
			return NULL;
		}
		t->conf = *conf;
	}
	t->root = calloc(1, sizeof(*t->root));
	if (t->root == NULL)
		goto err_tree;
	CDS_INIT_LIST_HEAD(&t->root->children);
	t->root->kind = TOPIC__ROOT;
	t->root->refs = 1;
	/* depth 0 is the root: no table. The others are created up front: 128 small tables
	 * cost ~90 KiB and spare every writer a race on lazy creation. */
	for (d = 1; d <= TOPIC_MAX_LEVELS; d++) {
		t->depth_size[d] = TOPIC__DEPTH_INIT;
		t->depth[d] = cds_lfht_new(TOPIC__DEPTH_INIT, TOPIC__DEPTH_INIT, 0, 0, NULL);
		if (t->depth[d] == NULL)
			goto err_tables;
	}
	return t;

err_tables:
	while (--d >= 1)
		cds_lfht_destroy(t->depth[d], NULL);
	free(t->root);
err_tree:
	free(t);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

/* Destroy pass 1: drop every subscription and retained message, unhash every node. */
static void topic__destroy_contents(struct topic_tree *t, struct topic_node *n)
{
	struct topic_node *c;
	struct topic__wlist *w;
	struct topic__share *g;

	cds_list_for_each_entry(c, &n->children, sibling)
		topic__destroy_contents(t, c);
	if (n->plus != NULL)
		topic__destroy_contents(t, n->plus);
	if (n->hash != NULL)
		topic__destroy_contents(t, n->hash);
	for (w = n->wlists; w != NULL; w = w->next) {
		struct topic_sub *s, *sn;

		cds_list_for_each_entry_safe(s, sn, &w->subs, link) {
			free(s);
			topic__sub(&topic__objects, 1);
		}
	}
	for (g = n->shares; g != NULL; g = g->next) {
		if (g->members == NULL)
			continue;
		for (uint32_t i = 0; i < g->members->n; i++) {
			free(g->members->m[i]);
			topic__sub(&topic__objects, 1);
		}
		free(g->members);
		topic__sub(&topic__objects, 1);
	}
	if (n->retained != NULL)
		n->retained->free_fn(n->retained);
	if (n->kind == TOPIC__EXACT)
		(void)cds_lfht_del(t->depth[n->depth], &n->hnode);
}

/* Destroy pass 3: free the nodes themselves (children lists are still intact). */
static void topic__destroy_nodes(struct topic_node *n)
{
	struct topic_node *c, *cn;

	cds_list_for_each_entry_safe(c, cn, &n->children, sibling)
		topic__destroy_nodes(c);
	if (n->plus != NULL)
		topic__destroy_nodes(n->plus);
	if (n->hash != NULL)
		topic__destroy_nodes(n->hash);
	if (n->kind != TOPIC__ROOT)
		topic__node_free_rcu(&n->rcu);
}

void topic_tree_destroy(struct topic_tree *t)
{
	bool online;

	if (t == NULL)
		return;
	topic__destroy_contents(t, t->root);
	/* QSBR needs the caller offline from here: cds_lfht_destroy waits for a resize in
	 * flight, which waits for a grace period, and rcu_barrier for one too */
	online = rcu_read_ongoing();
	if (online)
		rcu_thread_offline();
	/* pass 2: the resize may still walk the unhashed nodes; only once it is done is
	 * their memory free to go */
	for (int d = 1; d <= TOPIC_MAX_LEVELS; d++)
		cds_lfht_destroy(t->depth[d], NULL);
	topic__destroy_nodes(t->root);
	/* let callbacks queued by earlier unsubscribes run, so counters settle */
	rcu_barrier();
	if (online)
		rcu_thread_online();
	free(t->root);
	free(t);
}

void topic_tree_stats(const struct topic_tree *t, struct topic_stats *st)
{
	st->nodes = __atomic_load_n(&t->nodes, __ATOMIC_RELAXED);
	st->subs = __atomic_load_n(&t->subs, __ATOMIC_RELAXED);
	st->retained = __atomic_load_n(&t->retained, __ATOMIC_RELAXED);
	st->retained_bytes = __atomic_load_n(&t->retained_bytes, __ATOMIC_RELAXED);
	st->retained_rejected = __atomic_load_n(&t->retained_rejected, __ATOMIC_RELAXED);
	st->objects = __atomic_load_n(&topic__objects, __ATOMIC_RELAXED);
}
