/**
 * @file
 * Subscriptions: the writer side of the fan-out data. An ordinary subscription goes into
 * its worker's list on the filter's node (written by that worker only, no lock) and sets
 * the worker's bit in the node's mask; a shared one ("$share/{group}/{filter}") goes into
 * the group's member array (copy on write under a writer-only spinlock, because members
 * come from every worker). Readers are in topic_match.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "topic/topic_internal.h"

static int topic__opts_check(const struct topic_opts *o)
{
	if (o->max_qos > 2 || o->no_local > 1 || o->retain_as_published > 1 ||
	    o->retain_handling > 2 || o->sub_id > TOPIC_SUBID_MAX)
		return -EINVAL;
	return 0;
}

static void topic__sub_free_rcu(struct rcu_head *head)
{
	topic__tsan_gp_passed();
	free(caa_container_of(head, struct topic_sub, rcu));
	topic__sub(&topic__objects, 1);
}

static void topic__members_free_rcu(struct rcu_head *head)
{
	topic__tsan_gp_passed();
	free(caa_container_of(head, struct topic__members, rcu));
	topic__sub(&topic__objects, 1);
}

/* The worker's list on n, created on first use. Only worker w creates w's list, so the
 * CAS loop below can race with other workers' pushes but never with a second list for w. */
static struct topic__wlist *topic__wlist_get(struct topic_node *n, unsigned worker)
{
	struct topic__wlist *head = topic__load(&n->wlists), *w;

	for (w = head; w != NULL; w = w->next)
		if (w->worker == worker)
			return w;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	CDS_INIT_LIST_HEAD(&w->subs);
	w->worker = (uint8_t)worker;
	topic__add(&topic__objects, 1);
	do {
		w->next = head;
	} while (!topic__cas(&n->wlists, &head, w));
	return w;
}

/* The group named (name, len) on n, created on first use by any worker. */
static struct topic__share *topic__share_get(struct topic_node *n, const char *name,
					     size_t len)
{
	struct topic__share *head = topic__load(&n->shares), *g, *mine = NULL;

	for (;;) {
		for (g = head; g != NULL; g = g->next) {
			if (g->len == len && memcmp(g->name, name, len) == 0) {
				if (mine != NULL) {    /* someone pushed it first */
					free(mine);
					topic__sub(&topic__objects, 1);
				}
				return g;
			}
		}
		if (mine == NULL) {
			mine = calloc(1, sizeof(*mine) + len);
			if (mine == NULL)
				return NULL;
			mine->len = (uint16_t)len;
			memcpy(mine->name, name, len);
			topic__add(&topic__objects, 1);
		}
		mine->next = head;
		if (topic__cas(&n->shares, &head, mine))
			return mine;
		/* head now holds the new chain: look again, a racer may have added this name */
	}
}

/* Replace g's member array by one with @p add added or @p del removed (one is NULL). */
static int topic__members_change(struct topic__share *g, struct topic_sub *add,
				 struct topic_sub *del)
{
	struct topic__members *old, *nm = NULL;
	uint32_t n, k = 0;

	topic__spin_lock(&g->lock);
	old = g->members;
	n = old != NULL ? old->n : 0;
	if (add != NULL || n > 1) {
		nm = malloc(sizeof(*nm) + sizeof(nm->m[0]) * (n + 1));
		if (nm == NULL) {
			topic__spin_unlock(&g->lock);
			return -ENOMEM;
		}
		topic__add(&topic__objects, 1);
		for (uint32_t i = 0; i < n; i++)
			if (old->m[i] != del)
				nm->m[k++] = old->m[i];
		if (add != NULL)
			nm->m[k++] = add;
		nm->n = k;
	}
	topic__store(&g->members, nm);
	topic__spin_unlock(&g->lock);
	if (old != NULL)
		call_rcu(&old->rcu, topic__members_free_rcu);
	return 0;
}

int topic_subscribe(struct topic_tree *t, const char *filter, size_t len, unsigned worker,
		    uint64_t session, const struct topic_opts *opts, struct topic_sub **out)
{
	struct topic_node *n;
	struct topic_sub *e;
	size_t off, glen;
	int rc;

	if (worker >= TOPIC_MAX_WORKERS || opts == NULL || out == NULL ||
	    topic__opts_check(opts) != 0)
		return -EINVAL;
	rc = topic_filter_check(filter, len);
	if (rc != 0)
		return rc;
	e = malloc(sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	topic__add(&topic__objects, 1);
	off = topic_share_split(filter, len, &glen);
	/* the walk's reference on the node becomes the entry's */
	n = topic__node_walk(t, filter + off, len - off, true, &rc);
	if (n == NULL)
		goto err_entry;
	e->session = session;
	e->node = n;
	e->opts = topic__opts_pack(opts) | (uint64_t)worker << TOPIC__W_SHIFT;
	if (glen == 0) {
		struct topic__wlist *w = topic__wlist_get(n, worker);

		if (w == NULL)
			goto err_node;
		e->owner = w;
		topic__list_add(&e->link, &w->subs);
		/* the entry is in the list before the bit says "look here" */
		if (w->count++ == 0)
			__atomic_fetch_or(&n->worker_mask, 1ULL << worker, __ATOMIC_SEQ_CST);
	} else {
		struct topic__share *g = topic__share_get(n, filter + off - glen - 1, glen);

		if (g == NULL)
			goto err_node;
		e->opts |= TOPIC__SHARED;
		e->owner = g;
		if (topic__members_change(g, e, NULL) != 0)
			goto err_node;
	}
	topic__add(&t->subs, 1);
	*out = e;
	topic__tsan_op_end();
	return 0;

err_node:
	rc = -ENOMEM;
	topic__node_put(t, n);
err_entry:
	free(e);
	topic__sub(&topic__objects, 1);
	return rc;
}

int topic_sub_set_opts(struct topic_sub *e, const struct topic_opts *opts)
{
	uint64_t keep;

	if (opts == NULL || topic__opts_check(opts) != 0)
		return -EINVAL;
	keep = e->opts & (0xffULL << TOPIC__W_SHIFT | TOPIC__SHARED);
	__atomic_store_n(&e->opts, topic__opts_pack(opts) | keep, __ATOMIC_RELEASE);
	return 0;
}

void topic_sub_get_opts(const struct topic_sub *e, struct topic_opts *opts)
{
	topic__opts_unpack(__atomic_load_n(&e->opts, __ATOMIC_ACQUIRE), opts);
}

void topic_unsubscribe(struct topic_tree *t, struct topic_sub *e)
{
	struct topic_node *n = e->node;

	if (e->opts & TOPIC__SHARED) {
		/* removing never allocates when it empties the group; otherwise retry on the
		 * (rare) allocation failure rather than leave a freed entry in the array */
		while (topic__members_change(e->owner, NULL, e) != 0)
			sched_yield();
	} else {
		struct topic__wlist *w = e->owner;

		topic__list_del(&e->link);
		if (--w->count == 0)
			__atomic_fetch_and(&n->worker_mask, ~(1ULL << topic__opts_worker(e->opts)),
					   __ATOMIC_SEQ_CST);
	}
	call_rcu(&e->rcu, topic__sub_free_rcu);
	topic__sub(&t->subs, 1);
	topic__node_put(t, n);
	topic__tsan_op_end();
}
