/**
 * @file
 * Randomized check of the tree against the brute-force reference matcher: random trees of
 * ordinary and shared subscriptions over a small level alphabet (so that topics collide,
 * and with empty and '$' levels), random topics, and for each topic the per-worker hits,
 * the worker mask and the shared picks compared with a scan of every subscription.
 * Then half the subscriptions go and the check repeats; then retained messages against
 * random filters. Deterministic seeds; TOPIC_TEST_SCALE multiplies the work.
 */
#include <errno.h>

#include "topic_test.h"

#define NWORKERS 4
#define MAXSUBS 400

static const char *alphabet[] = { "a", "b", "c", "", "$s", "dd", "e/f" /* two levels */ };

struct rsub {
	char filter[96];       /* plain filter */
	int group;             /* -1 ordinary, else shared group id */
	unsigned worker;
	struct topic_sub *h;
	bool live;
};

static struct rsub subs[MAXSUBS];
static int nsubs;

static void rand_levels(uint64_t *rng, char *out, size_t cap, bool wild)
{
	int depth = 1 + (int)tt_below(rng, 4);
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < depth; i++) {
		const char *lv;
		unsigned r = tt_below(rng, 10);

		if (wild && r == 0)
			lv = "+";
		else if (wild && r == 1 && i == depth - 1)
			lv = "#";
		else
			lv = alphabet[tt_below(rng, sizeof(alphabet) / sizeof(alphabet[0]))];
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "/" : "", lv);
	}
	if (n == 0)
		rand_levels(rng, out, cap, wild);   /* "" is no topic: draw again */
}

/* Hits of one topic, as a bit set over subscription indexes. */
struct acc {
	uint64_t bits[MAXSUBS / 64 + 1];
	unsigned worker;
	int bad;
};

static void on_hit(void *arg, const struct topic_hit *h)
{
	struct acc *a = arg;

	if (h->session >= (uint64_t)nsubs || subs[h->session].worker != a->worker ||
	    h->worker != a->worker || h->shared) {
		a->bad++;
		return;
	}
	a->bits[h->session / 64] |= 1ULL << (h->session % 64);
}

struct pick {
	int groups[64];
	int n;
	int bad;
	const char *topic;
};

static void on_pick(void *arg, const struct topic_hit *h)
{
	struct pick *p = arg;
	const struct rsub *s;

	if (h->session >= (uint64_t)nsubs || !h->shared) {
		p->bad++;
		return;
	}
	s = &subs[h->session];
	/* a live member of a group whose filter matches */
	if (!s->live || s->group < 0 || !tt_ref_match(s->filter, p->topic) ||
	    h->worker != s->worker) {
		p->bad++;
		return;
	}
	if (p->n < 64)
		p->groups[p->n++] = s->group;
}

static size_t cases;

static void check_topic(struct topic_tree *t, const char *topic)
{
	uint64_t want_mask = 0, got_mask;
	struct pick p = { .n = 0, .topic = topic };
	int want_groups[64], nwant = 0;
	struct acc want[NWORKERS];
	static bool m[MAXSUBS];

	/* the reference, once per topic: a scan of every live subscription */
	memset(want, 0, sizeof(want));
	for (int i = 0; i < nsubs; i++) {
		m[i] = subs[i].live && tt_ref_match(subs[i].filter, topic);
		if (!m[i])
			continue;
		if (subs[i].group < 0) {
			want[subs[i].worker].bits[i / 64] |= 1ULL << (i % 64);
			want_mask |= 1ULL << subs[i].worker;
		} else {
			bool dup = false;

			for (int k = 0; k < nwant; k++)
				dup |= want_groups[k] == subs[i].group;
			if (!dup && nwant < 64)
				want_groups[nwant++] = subs[i].group;
		}
	}
	for (unsigned w = 0; w < NWORKERS; w++) {
		struct acc got = { .worker = w };

		topic_match(t, topic, strlen(topic), w, UINT64_MAX, on_hit, &got);
		CHECK_EQ(got.bad, 0);
		if (memcmp(got.bits, want[w].bits, sizeof(got.bits)) != 0) {
			fprintf(stderr, "topic '%s' worker %u: hits differ\n", topic, w);
			CHECK(0);
		}
		cases++;
	}
	got_mask = topic_route(t, topic, strlen(topic), 0, on_pick, &p);
	CHECK_EQ(got_mask, want_mask);
	CHECK_EQ(p.bad, 0);
	/* exactly one pick per matching group (groups are distinct (name, filter) pairs) */
	CHECK_EQ(p.n, nwant);
	for (int k = 0; k < nwant; k++) {
		int seen = 0;

		for (int j = 0; j < p.n; j++)
			seen += p.groups[j] == want_groups[k];
		CHECK_EQ(seen, 1);
	}
}

static void round_subs(uint64_t seed, int ntopics)
{
	uint64_t rng = seed;
	struct topic_tree *t = topic_tree_create(NULL);
	struct topic_stats st;
	char topic[96];
	/* shared groups: (name index, filter) -> id; two names, filters from the sub set */
	struct { char name[4]; char filter[96]; } groups[MAXSUBS];
	int ngroups = 0;

	nsubs = 50 + (int)tt_below(&rng, MAXSUBS - 50);
	for (int i = 0; i < nsubs; i++) {
		struct rsub *s = &subs[i];
		struct topic_opts o = { .max_qos = (uint8_t)tt_below(&rng, 3) };
		char full[128];
		int rc;

		s->worker = tt_below(&rng, NWORKERS);
		s->group = -1;
		s->live = true;
		if (i > 0 && tt_below(&rng, 4) == 0) {
			/* reuse an earlier filter: several subscribers on one node */
			memcpy(s->filter, subs[tt_below(&rng, (unsigned)i)].filter, sizeof(s->filter));
		} else {
			rand_levels(&rng, s->filter, sizeof(s->filter), true);
		}
		if (tt_below(&rng, 6) == 0) {
			const char *name = tt_below(&rng, 2) ? "g1" : "g2";
			int g;

			for (g = 0; g < ngroups; g++)
				if (strcmp(groups[g].name, name) == 0 &&
				    strcmp(groups[g].filter, s->filter) == 0)
					break;
			if (g == ngroups) {
				snprintf(groups[g].name, sizeof(groups[g].name), "%s", name);
				memcpy(groups[g].filter, s->filter, sizeof(s->filter));
				ngroups++;
			}
			s->group = g;
			strcpy(full, "$share/");
			strcat(full, name);
			strcat(full, "/");
		} else {
			full[0] = '\0';
		}
		strcat(full, s->filter);    /* filters are < 96 bytes: fits */
		rc = topic_subscribe(t, full, strlen(full), s->worker, (uint64_t)i, &o, &s->h);
		CHECK_EQ(rc, 0);
	}
	for (int k = 0; k < ntopics; k++) {
		rand_levels(&rng, topic, sizeof(topic), false);
		check_topic(t, topic);
	}
	/* half of them go; the rest must still match exactly */
	for (int i = 0; i < nsubs; i++) {
		if (tt_below(&rng, 2) == 0) {
			topic_unsubscribe(t, subs[i].h);
			subs[i].live = false;
		}
	}
	rcu_quiescent_state();
	for (int k = 0; k < ntopics / 2; k++) {
		rand_levels(&rng, topic, sizeof(topic), false);
		check_topic(t, topic);
	}
	for (int i = 0; i < nsubs; i++)
		if (subs[i].live)
			topic_unsubscribe(t, subs[i].h);
	topic_tree_stats(t, &st);
	CHECK_EQ(st.nodes, 0);
	CHECK_EQ(st.subs, 0);
	topic_tree_destroy(t);
	rcu_quiescent_state();
}

/* ---- retained against random filters ---- */

struct rmsg {
	struct topic_retained r;
	int id;
};

static void rmsg_free(struct topic_retained *r)
{
	free(caa_container_of(r, struct rmsg, r));
}

static char rnames[256][96];
static int rids[256];         /* id of the message retained under rnames[i], -1 none */

static void on_ret(void *arg, struct topic_retained *r)
{
	int *counts = arg;

	counts[caa_container_of(r, struct rmsg, r)->id]++;
}

static void round_retained(uint64_t seed, int nfilters)
{
	uint64_t rng = seed;
	struct topic_tree *t = topic_tree_create(NULL);
	int n = 20 + (int)tt_below(&rng, 200), nid = 0;
	static int counts[4096];

	for (int i = 0; i < n; i++) {
		rand_levels(&rng, rnames[i], sizeof(rnames[i]), false);
		rids[i] = -1;
		for (int k = 0; k < i; k++)
			if (strcmp(rnames[k], rnames[i]) == 0)
				rids[k] = -2;   /* same name: the later one replaces it */
	}
	for (int i = 0; i < n; i++) {
		struct rmsg *m = calloc(1, sizeof(*m));

		m->r.free_fn = rmsg_free;
		m->r.size = 10;
		m->id = nid++;
		CHECK_EQ(topic_retained_set(t, rnames[i], strlen(rnames[i]), &m->r), 0);
		if (rids[i] != -2)
			rids[i] = m->id;
	}
	/* clear a few with an empty payload */
	for (int i = 0; i < n; i++) {
		if (rids[i] >= 0 && tt_below(&rng, 5) == 0) {
			CHECK_EQ(topic_retained_set(t, rnames[i], strlen(rnames[i]), NULL), 0);
			rids[i] = -1;
		}
	}
	for (int k = 0; k < nfilters; k++) {
		char f[96];

		rand_levels(&rng, f, sizeof(f), true);
		memset(counts, 0, sizeof(int) * (size_t)nid);
		topic_retained_lookup(t, f, strlen(f), on_ret, counts);
		for (int i = 0; i < n; i++) {
			if (rids[i] < 0)
				continue;
			if (counts[rids[i]] != (int)tt_ref_match(f, rnames[i])) {
				fprintf(stderr, "retained: filter '%s' name '%s': %d\n", f, rnames[i],
					counts[rids[i]]);
				CHECK(0);
			}
		}
		cases++;
	}
	topic_tree_destroy(t);
	rcu_quiescent_state();
}

int main(void)
{
	unsigned scale = tt_scale();
	struct topic_stats st;
	struct topic_tree *t;

	rcu_register_thread();
	for (unsigned r = 0; r < 60 * scale; r++)
		round_subs(0x5eed0000 + r, 1000);
	for (unsigned r = 0; r < 100 * scale; r++)
		round_retained(0xbeef0000 + r, 500);
	tt_settle();
	t = topic_tree_create(NULL);
	topic_tree_stats(t, &st);
	CHECK_EQ(st.objects, 0);
	topic_tree_destroy(t);
	rcu_unregister_thread();
	printf("topic random: %zu cases\n", cases);
	if (tt_failures != 0) {
		fprintf(stderr, "%d failure(s)\n", tt_failures);
		return 1;
	}
	return 0;
}
