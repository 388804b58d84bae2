/**
 * @file
 * Retained messages: one pointer per topic-name node, swapped atomically; the old message
 * goes to its free_fn after a grace period. The lookup for a new subscription walks the
 * tree along the filter: an exact level is one hash lookup, '+' walks the node's children
 * list, '#' walks the subtree; nothing outside the filter's reach is visited.
 */
#include <errno.h>
#include <string.h>

#include "topic/topic_internal.h"

static void topic__retained_free_rcu(struct rcu_head *head)
{
	struct topic_retained *r = caa_container_of(head, struct topic_retained, rcu);

	topic__tsan_gp_passed();
	r->free_fn(r);
}

/* Account for a message leaving the tree and free it after a grace period. */
static void topic__retained_drop(struct topic_tree *t, struct topic_retained *old)
{
	topic__sub(&t->retained, 1);
	topic__sub(&t->retained_bytes, old->size);
	call_rcu(&old->rcu, topic__retained_free_rcu);
}

static int topic__retained_set(struct topic_tree *t, const char *topic, size_t len,
				struct topic_retained *r)
{
	struct topic_retained *peek, *old;
	struct topic_node *n;
	uint64_t cnt, bytes;
	int rc;

	rc = topic_name_check(topic, len);
	if (rc != 0)
		return rc;
	n = topic__node_walk(t, topic, len, r != NULL, &rc);
	if (n == NULL)
		return r == NULL && rc != -ENOMEM ? 0 : (rc != 0 ? rc : -ENOMEM);
	if (r == NULL) {
		old = topic__xchg(&n->retained, NULL);
		if (old != NULL) {
			topic__retained_drop(t, old);
			topic__node_put(t, n);   /* the message's reference */
		}
		topic__node_put(t, n);           /* the walk's */
		return 0;
	}
	/*
	 * Charge first, check, then swap: concurrent setters cannot both slip under a limit
	 * (they may both be refused near it). A message that replaces one is judged with the
	 * old one's share given back.
	 */
	peek = topic__load(&n->retained);
	cnt = topic__add(&t->retained, 1);
	bytes = topic__add(&t->retained_bytes, r->size);
	if ((t->conf.max_retained != 0 && cnt - (peek != NULL) > t->conf.max_retained) ||
	    (t->conf.max_retained_bytes != 0 &&
	     bytes - (peek != NULL ? peek->size : 0) > t->conf.max_retained_bytes)) {
		topic__sub(&t->retained, 1);
		topic__sub(&t->retained_bytes, r->size);
		topic__add(&t->retained_rejected, 1);
		topic__node_put(t, n);
		return -ENOSPC;
	}
	old = topic__xchg(&n->retained, r);
	if (old != NULL) {
		topic__retained_drop(t, old);
		topic__node_put(t, n);   /* the node already held a reference for the old one */
	}
	/* else the walk's reference is now the new message's */
	return 0;
}

int topic_retained_set(struct topic_tree *t, const char *topic, size_t len,
		       struct topic_retained *r)
{
	int rc = topic__retained_set(t, topic, len, r);

	topic__tsan_op_end();
	return rc;
}

struct topic__rctx {
	const char *f;
	size_t len;
	topic_retained_fn fn;
	void *arg;
	size_t n;
};

static void topic__rvisit(struct topic__rctx *c, struct topic_node *n)
{
	struct topic_retained *r = topic__load(&n->retained);

	if (r != NULL) {
		c->n++;
		c->fn(c->arg, r);
	}
}

static struct topic_node *topic__first_child(struct topic_node *n)
{
	struct cds_list_head *p = topic__load(&n->children.next);

	return p == &n->children ? NULL : caa_container_of(p, struct topic_node, sibling);
}

static struct topic_node *topic__next_sibling(struct topic_node *n)
{
	struct cds_list_head *p = topic__load(&n->sibling.next);

	return p == &n->parent->children ? NULL : caa_container_of(p, struct topic_node, sibling);
}

static bool topic__dollar_hidden(const struct topic_node *n)
{
	/* MQTT 4.7.2: a filter starting with a wildcard does not match "$..." topics */
	return n->depth == 1 && n->len > 0 && n->level[0] == '$';
}

/*
 * '#': n itself and everything below it, depth first without a stack: down to the first
 * child, else across to the next sibling, else up and across. Parent pointers never
 * change and an unlinked node keeps its next pointer, so this holds under concurrent
 * removal (RCU keeps every node we can reach alive until our next quiescent state).
 */
static void topic__rsubtree(struct topic__rctx *c, struct topic_node *top)
{
	struct topic_node *n = topic__first_child(top), *x;

	if (top->kind != TOPIC__ROOT)
		topic__rvisit(c, top);
	while (n != NULL) {
		if (top->kind == TOPIC__ROOT && topic__dollar_hidden(n)) {
			x = NULL;     /* skip the whole "$..." subtree */
		} else {
			topic__rvisit(c, n);
			x = topic__first_child(n);
		}
		if (x != NULL) {
			n = x;
			continue;
		}
		while (n != top && (x = topic__next_sibling(n)) == NULL)
			n = n->parent;
		n = n == top ? NULL : x;
	}
}

static void topic__rwalk(struct topic__rctx *c, struct topic_tree *t, struct topic_node *n,
			 size_t pos)
{
	const char *lv, *slash;
	size_t l, next;

	if (pos > c->len) {
		topic__rvisit(c, n);
		return;
	}
	lv = c->f + pos;
	slash = memchr(lv, '/', c->len - pos);
	l = slash != NULL ? (size_t)(slash - lv) : c->len - pos;
	next = pos + l + 1;
	if (l == 1 && lv[0] == '#') {
		topic__rsubtree(c, n);
	} else if (l == 1 && lv[0] == '+') {
		struct topic_node *x;

		topic__list_for_each_entry(x, &n->children, sibling) {
			if (n->kind == TOPIC__ROOT && topic__dollar_hidden(x))
				continue;
			topic__rwalk(c, t, x, next);
		}
	} else {
		struct topic_node *x = topic__child_lookup(t, n, lv, l);

		if (x != NULL)
			topic__rwalk(c, t, x, next);
	}
}

size_t topic_retained_lookup(struct topic_tree *t, const char *filter, size_t len,
			     topic_retained_fn fn, void *arg)
{
	struct topic__rctx c = { filter, len, fn, arg, 0 };

	if (len == 0)
		return 0;
	topic__rwalk(&c, t, t->root, 0);
	topic__tsan_op_end();
	return c.n;
}
