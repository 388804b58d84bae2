/**
 * @file
 * The read side of the subscription tree: given a topic name, visit every node whose
 * filter matches it. topic_route() (on the publishing worker) ORs the nodes' worker
 * masks and picks one member per shared group; topic_match() (on each worker named by
 * that mask) walks only that worker's lists. Lock-free: QSBR readers, no stores except
 * the round-robin counters of shared groups.
 *
 * Matching (MQTT 4.7): at a node with topic levels left, the '#' child matches everything
 * below, the '+' child consumes one level (empty ones too) and the exact child for the
 * level is one hash lookup. With no levels left, the node itself matches, and so does its
 * '#' child ("sport/#" matches "sport"). At the root, a topic starting with '$' skips
 * the wildcard children.
 */
#include <stdlib.h>
#include <string.h>

#include "topic/topic_internal.h"

enum topic__mode { TOPIC__ROUTE, TOPIC__MATCH };

struct topic__mctx {
	struct topic_tree *t;
	const char *topic;
	size_t len;
	enum topic__mode mode;
	unsigned worker;
	uint64_t publisher;
	topic_hit_fn fn;
	void *arg;
	uint64_t mask;               /**< route: union of worker masks */
	size_t hits;
};

static void topic__hit_fill(struct topic_hit *h, const struct topic_sub *e, uint64_t w)
{
	h->session = e->session;
	topic__opts_unpack(w, &h->opts);
	h->worker = (uint8_t)topic__opts_worker(w);
	h->shared = (w & TOPIC__SHARED) != 0;
}

/* One member of g for this publish: round robin or a hash of the publisher. */
static void topic__share_pick(struct topic__mctx *c, struct topic__share *g)
{
	struct topic__members *m = topic__load(&g->members);
	struct topic_hit h;
	const struct topic_sub *e;
	uint64_t i;

	if (m == NULL || m->n == 0)
		return;
	if (c->t->conf.share_strategy == TOPIC_SHARE_HASH_PUBLISHER)
		i = topic__hash(NULL, (const char *)&c->publisher, sizeof(c->publisher)) % m->n;
	else
		i = __atomic_fetch_add(&g->rr, 1, __ATOMIC_RELAXED) % m->n;
	e = m->m[i];
	topic__hit_fill(&h, e, __atomic_load_n(&e->opts, __ATOMIC_ACQUIRE));
	c->hits++;
	if (c->fn != NULL)
		c->fn(c->arg, &h);
}

static void topic__visit(struct topic__mctx *c, struct topic_node *n)
{
	if (c->mode == TOPIC__ROUTE) {
		struct topic__share *g;

		c->mask |= __atomic_load_n(&n->worker_mask, __ATOMIC_ACQUIRE);
		for (g = topic__load(&n->shares); g != NULL; g = g->next)
			topic__share_pick(c, g);
		return;
	}
	for (struct topic__wlist *w = topic__load(&n->wlists); w != NULL; w = w->next) {
		struct topic_sub *e;

		if (w->worker != c->worker)
			continue;
		topic__list_for_each_entry(e, &w->subs, link) {
			uint64_t o = __atomic_load_n(&e->opts, __ATOMIC_ACQUIRE);
			struct topic_hit h;

			/* MQTT 5 3.8.3.1: no local = not to the connection that published it */
			if ((o >> 34 & 1) && e->session == c->publisher)
				continue;
			topic__hit_fill(&h, e, o);
			c->hits++;
			c->fn(c->arg, &h);
		}
		return;   /* one list per worker */
	}
}

/* pos: where the next topic level starts; pos > len: no level left. */
static void topic__walk(struct topic__mctx *c, struct topic_node *n, size_t pos)
{
	struct topic_node *x;
	const char *lv, *slash;
	size_t l;

	if (pos > c->len) {
		topic__visit(c, n);
		if ((x = topic__load(&n->hash)) != NULL)
			topic__visit(c, x);
		return;
	}
	if (n->kind != TOPIC__ROOT || c->topic[0] != '$') {
		if ((x = topic__load(&n->hash)) != NULL)
			topic__visit(c, x);
		if ((x = topic__load(&n->plus)) != NULL) {
			lv = memchr(c->topic + pos, '/', c->len - pos);
			topic__walk(c, x, lv != NULL ? (size_t)(lv - c->topic) + 1 : c->len + 1);
		}
	}
	lv = c->topic + pos;
	slash = memchr(lv, '/', c->len - pos);
	l = slash != NULL ? (size_t)(slash - lv) : c->len - pos;
	if ((x = topic__child_lookup(c->t, n, lv, l)) != NULL)
		topic__walk(c, x, pos + l + 1);
}

uint64_t topic_route(struct topic_tree *t, const char *topic, size_t len, uint64_t publisher,
		     topic_hit_fn shared_fn, void *arg)
{
	struct topic__mctx c = {
		.t = t, .topic = topic, .len = len, .mode = TOPIC__ROUTE,
		.publisher = publisher, .fn = shared_fn, .arg = arg,
	};

	if (len == 0)
		return 0;
	topic__walk(&c, t->root, 0);
	topic__tsan_op_end();
	return c.mask;
}

size_t topic_match(struct topic_tree *t, const char *topic, size_t len, unsigned worker,
		   uint64_t publisher, topic_hit_fn fn, void *arg)
{
	struct topic__mctx c = {
		.t = t, .topic = topic, .len = len, .mode = TOPIC__MATCH, .worker = worker,
		.publisher = publisher, .fn = fn, .arg = arg,
	};

	if (len == 0 || worker >= TOPIC_MAX_WORKERS)
		return 0;
	topic__walk(&c, t->root, 0);
	topic__tsan_op_end();
	return c.hits;
}

struct topic__collect {
	struct topic_hit *hits;
	size_t cap, n;
};

static void topic__collect_fn(void *arg, const struct topic_hit *h)
{
	struct topic__collect *k = arg;

	if (k->n < k->cap)
		k->hits[k->n] = *h;
	k->n++;
}

static int topic__hit_cmp(const void *a, const void *b)
{
	const struct topic_hit *x = a, *y = b;

	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return (x->opts.sub_id > y->opts.sub_id) - (x->opts.sub_id < y->opts.sub_id);
}

size_t topic_collect(struct topic_tree *t, const char *topic, size_t len, unsigned worker,
		     uint64_t publisher, struct topic_hit *hits, size_t cap)
{
	struct topic__collect k = { hits, cap, 0 };

	topic_match(t, topic, len, worker, publisher, topic__collect_fn, &k);
	qsort(hits, k.n < cap ? k.n : cap, sizeof(*hits), topic__hit_cmp);
	return k.n;
}

size_t topic_hits_merge(struct topic_hit *hits, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		struct topic_hit *o;

		if (out > 0 && hits[out - 1].session == hits[i].session) {
			o = &hits[out - 1];
			if (hits[i].opts.max_qos > o->opts.max_qos)
				o->opts.max_qos = hits[i].opts.max_qos;
			o->opts.retain_as_published |= hits[i].opts.retain_as_published;
			continue;
		}
		hits[out++] = hits[i];
	}
	return out;
}
