/**
 * @file
 * Concurrency stress: four writer threads (each acting as one worker) subscribe,
 * unsubscribe, change options, join and leave shared groups and set/clear retained
 * messages, while two reader threads match and look up retained messages, all as QSBR
 * threads. During the run readers check that every hit is real (its filter matches: no
 * phantom) and that a fixed set of subscriptions that never change is always found (no
 * loss). Once the writers stop, every topic's hits are compared exactly with what the
 * writers hold; then everything is removed and no node, entry or message is left.
 * A second phase grows the hash tables under the same load (see grow_phase()).
 * Meant for the ASan/UBSan build; TOPIC_TEST_SCALE multiplies the operations.
 */
#include <pthread.h>

#include "topic_test.h"

#define NWRITERS 4
#define STABLE_WORKER 5
#define MAXLIVE 48

static const char *filters[] = {
	"a", "a/b", "a/+", "a/#", "+/b", "+/+", "#", "b/c/a", "a/b/c", "+/b/#", "$s/#",
	"$s/+", "+", "a//c", "/+", "+/+/+", "c/#", "b", "$s", "a/b/+",
};
#define NFILTERS (int)(sizeof(filters) / sizeof(filters[0]))

static const char *topics[] = {
	"a", "a/b", "a/c", "a/b/c", "b/b", "b", "c", "b/c/a", "$s", "$s/a", "a//c", "/x",
	"c/d/e", "a/b/c/d", "//", "$s/a/b",
};
#define NTOPICS (int)(sizeof(topics) / sizeof(topics[0]))

static struct topic_tree *tree;
static int stop;
static unsigned ops_per_writer;

/* session = filter index | shared << 7 | worker << 8 | serial << 16 */
static inline int s_filter(uint64_t s) { return (int)(s & 0x7f); }

struct live {
	struct topic_sub *h[MAXLIVE];
	uint64_t session[MAXLIVE];
	int n;
};

static struct live lives[NWRITERS];

struct rmsg {
	struct topic_retained r;
	int topic;
	int magic;            /* 0x5a while owned by the tree; a freed one is caught by ASan */
};

static void rmsg_free(struct topic_retained *r)
{
	struct rmsg *m = caa_container_of(r, struct rmsg, r);

	m->magic = 0;
	free(m);
}

static void *writer(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;
	uint64_t rng = 0x1234 + w;
	struct live *l = &lives[w];
	uint64_t serial = 0;

	rcu_register_thread();
	for (unsigned op = 0; op < ops_per_writer; op++) {
		unsigned r = tt_below(&rng, 100);

		if (r < 45 && l->n < MAXLIVE) {
			int f = (int)tt_below(&rng, NFILTERS);
			bool shared = tt_below(&rng, 4) == 0;
			char full[64];
			struct topic_opts o = { .max_qos = (uint8_t)tt_below(&rng, 3) };
			uint64_t s = (uint64_t)f | (uint64_t)shared << 7 | (uint64_t)w << 8 |
				     ++serial << 16;

			snprintf(full, sizeof(full), "%s%s", shared ? "$share/g/" : "", filters[f]);
			CHECK_EQ(topic_subscribe(tree, full, strlen(full), w, s, &o, &l->h[l->n]), 0);
			l->session[l->n++] = s;
		} else if (r < 90 && l->n > 0) {
			int k = (int)tt_below(&rng, (unsigned)l->n);

			topic_unsubscribe(tree, l->h[k]);
			l->h[k] = l->h[--l->n];
			l->session[k] = l->session[l->n];
		} else if (r < 93 && l->n > 0) {
			struct topic_opts o = { .max_qos = 2, .sub_id = op + 1 };

			CHECK_EQ(topic_sub_set_opts(l->h[tt_below(&rng, (unsigned)l->n)], &o), 0);
		} else {
			int t = (int)tt_below(&rng, NTOPICS);
			struct rmsg *m = NULL;

			if (r < 97) {
				m = calloc(1, sizeof(*m));
				m->r.free_fn = rmsg_free;
				m->r.size = 1;
				m->topic = t;
				m->magic = 0x5a;
			}
			CHECK_EQ(topic_retained_set(tree, topics[t], strlen(topics[t]),
						    m != NULL ? &m->r : NULL), 0);
		}
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

struct rstate {
	int topic;
	const char *filter;
	int stable_seen[NFILTERS];
	unsigned bad;
};

static void on_hit(void *arg, const struct topic_hit *h)
{
	struct rstate *st = arg;
	int f = s_filter(h->session);

	if (f >= NFILTERS || !tt_ref_match(filters[f], topics[st->topic])) {
		st->bad++;
		return;
	}
	if (h->worker == STABLE_WORKER)
		st->stable_seen[f]++;
}

static void on_ret(void *arg, struct topic_retained *r)
{
	struct rstate *st = arg;
	struct rmsg *m = caa_container_of(r, struct rmsg, r);

	if (m->magic != 0x5a || !tt_ref_match(st->filter, topics[m->topic]))
		st->bad++;
}

static unsigned long reader_rounds;

static void *reader(void *arg)
{
	uint64_t rng = 0x9999 + (uintptr_t)arg;
	unsigned long rounds = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct rstate st = { .topic = (int)tt_below(&rng, NTOPICS) };
		const char *t = topics[st.topic];
		uint64_t mask;
		bool any_stable = false;

		for (unsigned w = 0; w <= STABLE_WORKER; w++)
			topic_match(tree, t, strlen(t), w, 0, on_hit, &st);
		/* no loss: every stable subscription whose filter matches was found, once */
		for (int f = 0; f < NFILTERS; f++) {
			int want = tt_ref_match(filters[f], t);

			any_stable |= want;
			CHECK_EQ(st.stable_seen[f], want);
		}
		mask = topic_route(tree, t, strlen(t), 0, on_hit, &st);
		CHECK_EQ(mask >> STABLE_WORKER & 1, any_stable);
		st.filter = filters[tt_below(&rng, NFILTERS)];
		topic_retained_lookup(tree, st.filter, strlen(st.filter), on_ret, &st);
		CHECK_EQ(st.bad, 0);
		rcu_quiescent_state();
		rounds++;
	}
	__atomic_fetch_add(&reader_rounds, rounds, __ATOMIC_RELAXED);
	rcu_unregister_thread();
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct collect {
	uint64_t s[NWRITERS * MAXLIVE + NFILTERS];
	int n;
};

static void on_collect(void *arg, const struct topic_hit *h)
{
	struct collect *c = arg;

	c->s[c->n++] = h->session;
}

/* After the writers stopped: exact agreement with what they hold. */
static void final_check(void)
{
	for (int t = 0; t < NTOPICS; t++) {
		uint64_t want_mask = 0, mask;
		struct rstate st = { .topic = t };

		for (unsigned w = 0; w < NWRITERS; w++) {
			struct collect got = { .n = 0 }, want = { .n = 0 };

			topic_match(tree, topics[t], strlen(topics[t]), w, 0, on_collect, &got);
			for (int k = 0; k < lives[w].n; k++) {
				uint64_t s = lives[w].session[k];

				if ((s >> 7 & 1) == 0 && tt_ref_match(filters[s_filter(s)], topics[t])) {
					want.s[want.n++] = s;
					want_mask |= 1ULL << w;
				}
			}
			qsort(got.s, (size_t)got.n, sizeof(uint64_t), cmp_u64);
			qsort(want.s, (size_t)want.n, sizeof(uint64_t), cmp_u64);
			CHECK_EQ(got.n, want.n);
			CHECK(memcmp(got.s, want.s, sizeof(uint64_t) * (size_t)want.n) == 0);
		}
		for (int f = 0; f < NFILTERS; f++)
			if (tt_ref_match(filters[f], topics[t]))
				want_mask |= 1ULL << STABLE_WORKER;
		mask = topic_route(tree, topics[t], strlen(topics[t]), 0, on_hit, &st);
		CHECK_EQ(mask, want_mask);
		CHECK_EQ(st.bad, 0);
	}
}

/*
 * Phase 2, growth under load: each writer adds thousands of distinct filters (the depth
 * tables grow several times, by whichever writer crosses the threshold) while readers
 * check that every filter already added is found, and one never added is not.
 */
#define GROW_PER_WRITER 3000
static unsigned grow_done[NWRITERS];
static struct topic_sub *grow_subs[NWRITERS][GROW_PER_WRITER];

static void *grow_writer(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;
	struct topic_opts o = { 0 };
	char f[48];

	rcu_register_thread();
	for (unsigned i = 0; i < GROW_PER_WRITER; i++) {
		int len = snprintf(f, sizeof(f), "grow/%u/%u", w, i);

		CHECK_EQ(topic_subscribe(tree, f, (size_t)len, w, i, &o, &grow_subs[w][i]), 0);
		__atomic_store_n(&grow_done[w], i + 1, __ATOMIC_RELEASE);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void count_fn(void *arg, const struct topic_hit *h)
{
	(void)h;
	++*(int *)arg;
}

static void *grow_reader(void *arg)
{
	uint64_t rng = 0x777 + (uintptr_t)arg;
	char f[48];

	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned w = tt_below(&rng, NWRITERS);
		unsigned done = __atomic_load_n(&grow_done[w], __ATOMIC_ACQUIRE);
		int hits = 0, len;

		if (done > 0) {
			len = snprintf(f, sizeof(f), "grow/%u/%u", w, tt_below(&rng, done));
			topic_match(tree, f, (size_t)len, w, UINT64_MAX, count_fn, &hits);
			CHECK_EQ(hits, 1);
		}
		hits = 0;
		len = snprintf(f, sizeof(f), "grow/%u/%u", w, GROW_PER_WRITER + tt_below(&rng, 99));
		topic_match(tree, f, (size_t)len, w, UINT64_MAX, count_fn, &hits);
		CHECK_EQ(hits, 0);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void grow_phase(void)
{
	pthread_t wt[NWRITERS], rt[2];
	struct topic_stats st;

	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	rcu_thread_offline();
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&rt[i], NULL, grow_reader, (void *)i);
	for (uintptr_t i = 0; i < NWRITERS; i++)
		pthread_create(&wt[i], NULL, grow_writer, (void *)i);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	rcu_thread_online();
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.subs, NWRITERS * GROW_PER_WRITER);
	CHECK_EQ(st.nodes, 1 + NWRITERS + NWRITERS * GROW_PER_WRITER);
	for (int w = 0; w < NWRITERS; w++)
		for (int i = 0; i < GROW_PER_WRITER; i++)
			topic_unsubscribe(tree, grow_subs[w][i]);
}

int main(void)
{
	pthread_t wt[NWRITERS], rt[2];
	struct topic_sub *stable[NFILTERS];
	struct topic_opts o = { .max_qos = 1 };
	struct topic_stats st;

	ops_per_writer = 250000 * tt_scale();
	rcu_register_thread();
	tree = topic_tree_create(NULL);
	for (int f = 0; f < NFILTERS; f++)
		CHECK_EQ(topic_subscribe(tree, filters[f], strlen(filters[f]), STABLE_WORKER,
					 (uint64_t)f | (uint64_t)STABLE_WORKER << 8, &o, &stable[f]), 0);
	/* the main thread only waits from here on: offline, so grace periods do not wait on it */
	rcu_thread_offline();
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&rt[i], NULL, reader, (void *)i);
	for (uintptr_t i = 0; i < NWRITERS; i++)
		pthread_create(&wt[i], NULL, writer, (void *)i);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	rcu_thread_online();

	final_check();
	/* the writers are gone: the main thread may act as each of their workers */
	for (int w = 0; w < NWRITERS; w++)
		for (int k = 0; k < lives[w].n; k++)
			topic_unsubscribe(tree, lives[w].h[k]);
	for (int f = 0; f < NFILTERS; f++)
		topic_unsubscribe(tree, stable[f]);
	for (int t = 0; t < NTOPICS; t++)
		CHECK_EQ(topic_retained_set(tree, topics[t], strlen(topics[t]), NULL), 0);
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.subs, 0);
	CHECK_EQ(st.retained, 0);
	grow_phase();
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.subs, 0);
	CHECK_EQ(st.retained_bytes, 0);
	tt_settle();
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.objects, 0);
	topic_tree_destroy(tree);
	rcu_unregister_thread();
	printf("topic stress: %u ops per writer, %lu reader rounds\n", ops_per_writer, reader_rounds);
	if (tt_failures != 0) {
		fprintf(stderr, "%d failure(s)\n", tt_failures);
		return 1;
	}
	return 0;
}
