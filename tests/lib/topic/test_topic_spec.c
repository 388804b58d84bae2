/**
 * @file
 * Topic tables against the specifications: every topic name / filter example of
 * MQTT 3.1.1 section 4.7 and MQTT 5 sections 4.7 and 4.8.2, the '$' rules, shared groups
 * (round robin and publisher hash), subscription options and overlap, no local, retained
 * messages (replace, clear, limits, counters, lookup with wildcards) and the node count
 * returning to zero.
 */
#include <errno.h>

#include "topic_test.h"

static struct topic_tree *tree;
static const struct topic_opts qos0 = { 0 };

static int check_f(const char *f)
{
	return topic_filter_check(f, strlen(f));
}

static int check_n(const char *n)
{
	return topic_name_check(n, strlen(n));
}

static void test_validation(void)
{
	/* MQTT 4.7.1.2 / 4.7.1.3 examples */
	CHECK_EQ(check_f("sport/tennis/player1/#"), 0);
	CHECK_EQ(check_f("sport/#"), 0);
	CHECK_EQ(check_f("#"), 0);
	CHECK_EQ(check_f("sport/tennis/#"), 0);
	CHECK_EQ(check_f("sport/tennis#"), -EINVAL);
	CHECK_EQ(check_f("sport/tennis/#/ranking"), -EINVAL);
	CHECK_EQ(check_f("+"), 0);
	CHECK_EQ(check_f("+/tennis/#"), 0);
	CHECK_EQ(check_f("sport+"), -EINVAL);
	CHECK_EQ(check_f("sport/+/player1"), 0);
	CHECK_EQ(check_f("/finance"), 0);
	CHECK_EQ(check_f("+/+"), 0);
	CHECK_EQ(check_f("/+"), 0);
	CHECK_EQ(check_f("/"), 0);
	CHECK_EQ(check_f("//"), 0);
	CHECK_EQ(check_f("a/#/"), -EINVAL);
	CHECK_EQ(check_f("a/b+/c"), -EINVAL);
	CHECK_EQ(check_f("a/+b/c"), -EINVAL);
	CHECK_EQ(check_f("##"), -EINVAL);
	CHECK_EQ(check_f("++"), -EINVAL);
	CHECK_EQ(check_f(""), -EINVAL);
	CHECK_EQ(topic_filter_check("a\0b", 3), -EINVAL);          /* U+0000 */
	CHECK_EQ(check_f("caf\xc3\xa9/+"), 0);                      /* UTF-8 */
	CHECK_EQ(check_f("a/\xc0\xaf"), -EINVAL);                   /* overlong '/' */
	CHECK_EQ(check_f("a/\xed\xa0\x80"), -EINVAL);               /* surrogate */
	CHECK_EQ(check_f("a/\xf4\x90\x80\x80"), -EINVAL);           /* > U+10FFFF */
	CHECK_EQ(check_f("a/\xe2\x82"), -EINVAL);                   /* truncated */
	/* MQTT 5 4.8.2 shared subscriptions */
	CHECK_EQ(check_f("$share/consumer1/sport/tennis/+"), 0);
	CHECK_EQ(check_f("$share/consumer2/sport/tennis/+"), 0);
	CHECK_EQ(check_f("$share/consumer1//finance"), 0);
	CHECK_EQ(check_f("$share/consumer1/+/finance"), 0);
	CHECK_EQ(check_f("$share/consumer1/#"), 0);
	CHECK_EQ(check_f("$share/consumer1"), -EINVAL);
	CHECK_EQ(check_f("$share/consumer1/"), -EINVAL);
	CHECK_EQ(check_f("$share//sport"), -EINVAL);
	CHECK_EQ(check_f("$share/"), -EINVAL);        /* no group name */
	CHECK_EQ(check_f("$share"), 0);               /* an ordinary filter */
	CHECK_EQ(check_f("$share/a+b/sport"), -EINVAL);
	CHECK_EQ(check_f("$share/+/sport"), -EINVAL);
	CHECK_EQ(check_f("$share/#/sport"), -EINVAL);
	CHECK_EQ(check_f("$share/g/sport+"), -EINVAL);
	CHECK_EQ(check_f("$sharex/g/a"), 0);          /* not shared: an ordinary filter */
	CHECK_EQ(check_f("$SYS/#"), 0);
	/* names: 4.7.3 */
	CHECK_EQ(check_n("ACCOUNTS"), 0);
	CHECK_EQ(check_n("Accounts payable"), 0);
	CHECK_EQ(check_n("/"), 0);
	CHECK_EQ(check_n("sport/+"), -EINVAL);
	CHECK_EQ(check_n("sport/#"), -EINVAL);
	CHECK_EQ(check_n(""), -EINVAL);
	CHECK_EQ(topic_name_check("a\0", 2), -EINVAL);
	/* depth limit */
	{
		char f[2 * TOPIC_MAX_LEVELS + 4];
		size_t n = 0;

		for (int i = 0; i < TOPIC_MAX_LEVELS; i++) {
			f[n++] = 'x';
			f[n++] = '/';
		}
		CHECK_EQ(topic_filter_check(f, n - 1), 0);
		CHECK_EQ(topic_filter_check(f, n), -E2BIG);   /* one more level, empty */
	}
	/* share split */
	{
		size_t g, off = topic_share_split("$share/grp/a/b", 14, &g);

		CHECK_EQ(off, 11);
		CHECK_EQ(g, 3);
		CHECK_EQ(topic_share_split("a/b", 3, &g), 0);
		CHECK_EQ(g, 0);
	}
}

/* ---- matching helpers ---- */

struct hits {
	uint64_t s[64];
	int n;
};

static void add_hit(void *arg, const struct topic_hit *h)
{
	struct hits *x = arg;

	if (x->n < 64)
		x->s[x->n] = h->session;
	x->n++;
}

/* Sessions of worker 0 matching topic, as a bit set (sessions are 0..63). */
static uint64_t match_set(const char *topic)
{
	struct hits h = { .n = 0 };
	uint64_t set = 0;

	topic_match(tree, topic, strlen(topic), 0, UINT64_MAX, add_hit, &h);
	for (int i = 0; i < h.n && i < 64; i++)
		set |= 1ULL << h.s[i];
	return set;
}

static struct topic_sub *sub(const char *f, uint64_t session)
{
	struct topic_sub *s = NULL;
	int rc = topic_subscribe(tree, f, strlen(f), 0, session, &qos0, &s);

	CHECK_EQ(rc, 0);
	return s;
}

static bool matches(const char *filter, const char *topic)
{
	struct topic_sub *s = sub(filter, 7);
	bool m = (match_set(topic) >> 7 & 1) != 0;

	/* and the reference agrees with the spec example too */
	CHECK_EQ(tt_ref_match(filter, topic), m);
	topic_unsubscribe(tree, s);
	return m;
}

static void test_spec_matching(void)
{
	/* 4.7.1.2 multi-level wildcard */
	CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1"));
	CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
	CHECK(matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
	CHECK(matches("sport/#", "sport"));
	CHECK(matches("#", "sport/tennis"));
	CHECK(!matches("sport/tennis/player1/#", "sport/tennis/player2"));
	/* 4.7.1.3 single-level wildcard */
	CHECK(matches("sport/tennis/+", "sport/tennis/player1"));
	CHECK(matches("sport/tennis/+", "sport/tennis/player2"));
	CHECK(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
	CHECK(!matches("sport/+", "sport"));
	CHECK(matches("sport/+", "sport/"));
	CHECK(matches("+/+", "/finance"));
	CHECK(matches("/+", "/finance"));
	CHECK(!matches("+", "/finance"));
	CHECK(matches("sport/+/player1", "sport/tennis/player1"));
	CHECK(matches("+/tennis/#", "sport/tennis/player1/ranking"));
	CHECK(matches("+", "sport"));
	CHECK(matches("+/+/+", "//"));
	/* 4.7.2 topics beginning with $ */
	CHECK(!matches("#", "$SYS/monitor/Clients"));
	CHECK(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
	CHECK(matches("$SYS/#", "$SYS/monitor/Clients"));
	CHECK(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
	CHECK(matches("$SYS/#", "$SYS"));
	CHECK(!matches("+", "$SYS"));
	CHECK(matches("a/+", "a/$b"));      /* only the first level is special */
	CHECK(matches("a/#", "a/$b/c"));
	/* 4.7.3 names are case sensitive and exact */
	CHECK(!matches("ACCOUNTS", "Accounts"));
	CHECK(matches("Accounts payable", "Accounts payable"));
	CHECK(!matches("/finance", "finance"));
	CHECK(!matches("finance", "/finance"));
	CHECK(!matches("a/b", "a/b/"));
	CHECK(!matches("a", "a/b"));
	CHECK(!matches("a/b/c", "a/b"));
	CHECK(matches("caf\xc3\xa9/+", "caf\xc3\xa9/x"));
}

static void test_overlap_and_options(void)
{
	struct topic_opts o1 = { .max_qos = 1, .sub_id = 11 };
	struct topic_opts o2 = { .max_qos = 2, .sub_id = 22, .retain_as_published = 1 };
	struct topic_opts o3 = { .max_qos = 0, .sub_id = 33 };
	struct topic_opts nl = { .max_qos = 1, .no_local = 1 };
	struct topic_opts bad = { .max_qos = 3 };
	struct topic_sub *a, *b, *c, *d, *e;
	struct topic_hit hits[8];
	size_t n;

	CHECK_EQ(topic_subscribe(tree, "x/+", 3, 0, 5, &o1, &a), 0);
	CHECK_EQ(topic_subscribe(tree, "x/#", 3, 0, 5, &o2, &b), 0);
	CHECK_EQ(topic_subscribe(tree, "x/y", 3, 0, 4, &o3, &c), 0);
	CHECK_EQ(topic_subscribe(tree, "x/y", 3, 0, 9, &nl, &d), 0);
	CHECK_EQ(topic_subscribe(tree, "x/y", 3, 0, 9, &bad, &e), -EINVAL);
	CHECK_EQ(topic_subscribe(tree, "x/y", 3, 64, 9, &o1, &e), -EINVAL);
	CHECK_EQ(topic_subscribe(tree, "x/y#", 4, 0, 9, &o1, &e), -EINVAL);

	/* publisher 9: its no_local subscription is skipped */
	n = topic_collect(tree, "x/y", 3, 0, 9, hits, 8);
	CHECK_EQ(n, 3);
	CHECK_EQ(hits[0].session, 4);
	CHECK_EQ(hits[1].session, 5);
	CHECK_EQ(hits[2].session, 5);
	CHECK_EQ(hits[1].opts.sub_id + hits[2].opts.sub_id, 33);   /* both ids are there */
	n = topic_hits_merge(hits, n);
	CHECK_EQ(n, 2);
	CHECK_EQ(hits[1].session, 5);
	CHECK_EQ(hits[1].opts.max_qos, 2);          /* the highest QoS of the overlap */
	CHECK_EQ(hits[1].opts.retain_as_published, 1);

	/* another publisher: session 9 gets it */
	n = topic_collect(tree, "x/y", 3, 0, 1, hits, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(hits[3].session, 9);
	CHECK_EQ(hits[3].opts.no_local, 1);
	/* a short array: the count says how many there are */
	CHECK_EQ(topic_collect(tree, "x/y", 3, 0, 1, hits, 2), 4);

	/* resubscribe = replace options */
	CHECK_EQ(topic_sub_set_opts(c, &o2), 0);
	CHECK_EQ(topic_sub_set_opts(c, &bad), -EINVAL);
	{
		struct topic_opts got;

		topic_sub_get_opts(c, &got);
		CHECK_EQ(got.sub_id, 22);
		CHECK_EQ(got.max_qos, 2);
	}
	n = topic_collect(tree, "x/y", 3, 0, 1, hits, 8);
	CHECK_EQ(hits[0].opts.sub_id, 22);
	CHECK_EQ(hits[0].worker, 0);
	CHECK_EQ(hits[0].shared, 0);

	/* the mask: worker 3 joins */
	{
		struct topic_sub *w3;

		CHECK_EQ(topic_route(tree, "x/y", 3, 1, NULL, NULL), 1);
		CHECK_EQ(topic_subscribe(tree, "x/y", 3, 3, 77, &o1, &w3), 0);
		CHECK_EQ(topic_route(tree, "x/y", 3, 1, NULL, NULL), 1 | 8);
		CHECK_EQ(topic_route(tree, "x/z", 3, 1, NULL, NULL), 1);
		CHECK_EQ(topic_match(tree, "x/y", 3, 3, 1, add_hit, &(struct hits){ .n = 0 }), 1);
		topic_unsubscribe(tree, w3);
		CHECK_EQ(topic_route(tree, "x/y", 3, 1, NULL, NULL), 1);
	}
	topic_unsubscribe(tree, a);
	topic_unsubscribe(tree, b);
	topic_unsubscribe(tree, c);
	topic_unsubscribe(tree, d);
	CHECK_EQ(topic_route(tree, "x/y", 3, 1, NULL, NULL), 0);
}

/* ---- shared subscriptions ---- */

struct picks {
	int count[16];
	int total;
	uint8_t shared;
};

static void on_pick(void *arg, const struct topic_hit *h)
{
	struct picks *p = arg;

	p->count[h->session % 16]++;
	p->total++;
	p->shared &= h->shared;
}

static void test_shared(void)
{
	struct topic_sub *s[6], *plain;
	struct picks p = { .shared = 1 };
	uint64_t mask;

	/* 4.8.2 example: two groups and an ordinary subscriber on sport/tennis/+ */
	CHECK_EQ(topic_subscribe(tree, "$share/consumer1/sport/tennis/+", 31, 1, 1, &qos0, &s[0]), 0);
	CHECK_EQ(topic_subscribe(tree, "$share/consumer1/sport/tennis/+", 31, 2, 2, &qos0, &s[1]), 0);
	CHECK_EQ(topic_subscribe(tree, "$share/consumer1/sport/tennis/+", 31, 1, 3, &qos0, &s[2]), 0);
	CHECK_EQ(topic_subscribe(tree, "$share/consumer2/sport/tennis/+", 31, 2, 8, &qos0, &s[3]), 0);
	CHECK_EQ(topic_subscribe(tree, "sport/tennis/+", 14, 0, 9, &qos0, &plain), 0);
	/* a group with another filter is another group */
	CHECK_EQ(topic_subscribe(tree, "$share/consumer1/sport/#", 24, 0, 10, &qos0, &s[4]), 0);
	CHECK_EQ(topic_subscribe(tree, "$share/consumer1//finance", 25, 0, 11, &qos0, &s[5]), 0);

	for (int i = 0; i < 300; i++) {
		mask = topic_route(tree, "sport/tennis/player1", 20, 42, on_pick, &p);
		CHECK_EQ(mask, 1);   /* only the ordinary subscriber's worker */
	}
	/* each message: one of consumer1 (tennis), consumer2, consumer1 (sport/#) */
	CHECK_EQ(p.total, 900);
	CHECK_EQ(p.count[1], 100);      /* round robin: even shares */
	CHECK_EQ(p.count[2], 100);
	CHECK_EQ(p.count[3], 100);
	CHECK_EQ(p.count[8], 300);
	CHECK_EQ(p.count[10], 300);
	CHECK_EQ(p.count[11], 0);
	CHECK_EQ(p.shared, 1);
	/* shared members are not in the per-worker lists */
	CHECK_EQ(topic_match(tree, "sport/tennis/player1", 20, 1, 0, add_hit, &(struct hits){ .n = 0 }), 0);
	memset(&p, 0, sizeof(p));
	topic_route(tree, "/finance", 8, 42, on_pick, &p);
	CHECK_EQ(p.count[11], 1);
	/* '$' rule holds for shared groups too: "$share/consumer1/#" misses $SYS */
	{
		struct topic_sub *all;

		CHECK_EQ(topic_subscribe(tree, "$share/c/#", 10, 0, 12, &qos0, &all), 0);
		memset(&p, 0, sizeof(p));
		topic_route(tree, "$SYS/x", 6, 42, on_pick, &p);
		CHECK_EQ(p.total, 0);
		topic_unsubscribe(tree, all);
	}
	/* a member leaves: the others share the load */
	topic_unsubscribe(tree, s[1]);
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 100; i++)
		topic_route(tree, "sport/tennis/x", 14, 42, on_pick, &p);
	CHECK_EQ(p.count[2], 0);
	CHECK_EQ(p.count[1] + p.count[3], 100);
	CHECK_EQ(p.count[1], 50);
	for (int i = 0; i < 6; i++)
		if (i != 1)
			topic_unsubscribe(tree, s[i]);
	topic_unsubscribe(tree, plain);
}

static void test_shared_hash(void)
{
	struct topic_conf conf = { .share_strategy = TOPIC_SHARE_HASH_PUBLISHER };
	struct topic_tree *t = topic_tree_create(&conf);
	struct topic_sub *s[4];
	struct picks p;
	int firsts[16] = { 0 };

	CHECK(t != NULL);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(topic_subscribe(t, "$share/g/a", 10, (unsigned)i, (uint64_t)i, &qos0, &s[i]), 0);
	/* one publisher always reaches the same member; many publishers spread */
	for (uint64_t pub = 0; pub < 64; pub++) {
		memset(&p, 0, sizeof(p));
		for (int k = 0; k < 5; k++)
			topic_route(t, "a", 1, pub, on_pick, &p);
		CHECK_EQ(p.total, 5);
		for (int m = 0; m < 4; m++) {
			if (p.count[m] != 0) {
				CHECK_EQ(p.count[m], 5);
				firsts[m]++;
			}
		}
	}
	for (int m = 0; m < 4; m++)
		CHECK(firsts[m] > 0);
	for (int i = 0; i < 4; i++)
		topic_unsubscribe(t, s[i]);
	topic_tree_destroy(t);
	errno = 0;
	conf.share_strategy = (enum topic_share_strategy)7;
	CHECK(topic_tree_create(&conf) == NULL);
	CHECK_EQ(errno, EINVAL);
}

/* ---- retained ---- */

struct msg {
	struct topic_retained r;
	int id;
};

static int freed[64];

static void msg_free(struct topic_retained *r)
{
	struct msg *m = caa_container_of(r, struct msg, r);

	freed[m->id]++;
	free(m);
}

static struct topic_retained *msg(int id, uint32_t size)
{
	struct msg *m = calloc(1, sizeof(*m));

	m->r.free_fn = msg_free;
	m->r.size = size;
	m->id = id;
	return &m->r;
}

static void on_retained(void *arg, struct topic_retained *r)
{
	uint64_t *set = arg;

	*set |= 1ULL << caa_container_of(r, struct msg, r)->id;
}

static uint64_t rlookup(struct topic_tree *t, const char *f)
{
	uint64_t set = 0;
	size_t n = topic_retained_lookup(t, f, strlen(f), on_retained, &set);

	CHECK_EQ(n, __builtin_popcountll(set));
	return set;
}

static void test_retained(void)
{
	struct topic_conf conf = { .max_retained = 8, .max_retained_bytes = 1000 };
	struct topic_tree *t = topic_tree_create(&conf);
	static const char *names[] = {
		"sport/tennis/player1", "sport/tennis/player1/ranking", "sport", "sport/",
		"/finance", "$SYS/monitor/Clients", "finance", "sport/tennis/player2",
	};
	struct topic_stats st;
	struct topic_retained *big;

	memset(freed, 0, sizeof(freed));
	for (int i = 0; i < 8; i++)
		CHECK_EQ(topic_retained_set(t, names[i], strlen(names[i]), msg(i, 100)), 0);
	topic_tree_stats(t, &st);
	CHECK_EQ(st.retained, 8);
	CHECK_EQ(st.retained_bytes, 800);
	/* count limit: a ninth is refused, the caller keeps it */
	big = msg(9, 1);
	CHECK_EQ(topic_retained_set(t, "x", 1, big), -ENOSPC);
	msg_free(big);
	/* a replacement within limits is fine; beyond the byte limit it is not */
	CHECK_EQ(topic_retained_set(t, "sport", 5, msg(10, 150)), 0);
	big = msg(11, 400);
	CHECK_EQ(topic_retained_set(t, "sport", 5, big), -ENOSPC);
	msg_free(big);
	topic_tree_stats(t, &st);
	CHECK_EQ(st.retained, 8);
	CHECK_EQ(st.retained_bytes, 850);
	CHECK_EQ(st.retained_rejected, 2);
	big = msg(12, 1);
	CHECK_EQ(topic_retained_set(t, "a/+", 3, big), -EINVAL);
	msg_free(big);
	tt_settle();
	CHECK_EQ(freed[2], 1);    /* the replaced "sport" went after the grace period */

	CHECK_EQ(rlookup(t, "sport/tennis/player1/#"), 1 << 0 | 1 << 1);
	CHECK_EQ(rlookup(t, "sport/#"), 1 << 0 | 1 << 1 | 1 << 10 | 1 << 3 | 1 << 7);
	CHECK_EQ(rlookup(t, "sport/tennis/+"), 1 << 0 | 1 << 7);
	CHECK_EQ(rlookup(t, "sport/+"), 1 << 3);
	CHECK_EQ(rlookup(t, "+/+"), 1 << 3 | 1 << 4);
	CHECK_EQ(rlookup(t, "+"), 1 << 10 | 1 << 6);
	CHECK_EQ(rlookup(t, "#"), (0xffULL & ~(1ULL << 2 | 1ULL << 5)) | 1ULL << 10);
	CHECK_EQ(rlookup(t, "$SYS/#"), 1 << 5);
	CHECK_EQ(rlookup(t, "$SYS/monitor/+"), 1 << 5);
	CHECK_EQ(rlookup(t, "+/monitor/Clients"), 0);
	CHECK_EQ(rlookup(t, "sport/tennis/player1"), 1 << 0);
	CHECK_EQ(rlookup(t, "nothing/here/#"), 0);

	/* clear with an empty payload (NULL): gone, counted, freed later */
	CHECK_EQ(topic_retained_set(t, "sport/tennis/player1", 20, NULL), 0);
	CHECK_EQ(topic_retained_set(t, "never/set", 9, NULL), 0);
	CHECK_EQ(rlookup(t, "sport/tennis/+"), 1 << 7);
	CHECK_EQ(rlookup(t, "sport/tennis/player1/#"), 1 << 1);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(topic_retained_set(t, names[i], strlen(names[i]), NULL), 0);
	topic_tree_stats(t, &st);
	CHECK_EQ(st.retained, 0);
	CHECK_EQ(st.retained_bytes, 0);
	CHECK_EQ(st.nodes, 0);
	tt_settle();
	for (int i = 0; i <= 12; i++)
		CHECK_EQ(freed[i], i != 8);    /* each message freed exactly once */
	/* destroy frees what is still retained */
	CHECK_EQ(topic_retained_set(t, "keep/me", 7, msg(13, 5)), 0);
	topic_tree_destroy(t);
	CHECK_EQ(freed[13], 1);
}

/* Thousands of siblings: the depth table grows several times; all still found. */
static void test_growth(void)
{
	enum { N = 5000 };
	static struct topic_sub *h[N];
	struct topic_stats st;
	char f[32];

	for (int i = 0; i < N; i++) {
		int len = snprintf(f, sizeof(f), "g/%d", i);

		CHECK_EQ(topic_subscribe(tree, f, (size_t)len, 0, 1, &qos0, &h[i]), 0);
	}
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.nodes, N + 1);
	for (int i = 0; i < N; i++) {
		int len = snprintf(f, sizeof(f), "g/%d", i);

		CHECK_EQ(topic_match(tree, f, (size_t)len, 0, 0, add_hit, &(struct hits){ .n = 0 }), 1);
	}
	CHECK_EQ(topic_match(tree, "g/x", 3, 0, 0, add_hit, &(struct hits){ .n = 0 }), 0);
	for (int i = 0; i < N; i++)
		topic_unsubscribe(tree, h[i]);
	rcu_quiescent_state();
}

int main(void)
{
	struct topic_stats st;

	rcu_register_thread();
	tree = topic_tree_create(NULL);
	CHECK(tree != NULL);
	test_validation();
	test_spec_matching();
	test_overlap_and_options();
	test_shared();
	test_shared_hash();
	test_retained();
	test_growth();

	/* everything unsubscribed: no live node, nothing left after the grace period */
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.subs, 0);
	tt_settle();
	topic_tree_stats(tree, &st);
	CHECK_EQ(st.objects, 0);
	topic_tree_destroy(tree);
	rcu_unregister_thread();
	if (tt_failures != 0) {
		fprintf(stderr, "%d failure(s)\n", tt_failures);
		return 1;
	}
	printf("topic spec: ok\n");
	return 0;
}
