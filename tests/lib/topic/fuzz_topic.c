/**
 * @file
 * Fuzz target for the topic tables. An input is lines, each an operation on a fresh tree:
 *   s<filter>  subscribe (worker = index % 4); an invalid filter must be refused
 *   u          unsubscribe the latest subscription
 *   p<topic>   publish: every worker's hits must equal the reference matcher's
 *   r<topic>   retain a message; c<topic> clear it
 *   l<filter>  retained lookup: must equal the reference over the retained names
 * At the end everything is removed and the tree must have no node left. Any disagreement
 * aborts. Built against libFuzzer with -Dfuzz=true, and always replayed over corpus/.
 */
#include "topic_test.h"

#define FMAX 64
#define FLEN 200

#define FCHECK(c) do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_topic: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

struct fsub {
	char f[FLEN + 1];
	bool shared;
	struct topic_sub *h;
};

struct fret {
	struct topic_retained r;
	char name[FLEN + 1];
	bool in_tree;         /**< the reference: set and not cleared since */
	bool live;            /**< the object is the tree's (until its free_fn ran) */
};

static struct topic_tree *tree_;
static struct fsub subs[FMAX];
static struct fret rets[FMAX];
static int nsubs, nrets;

static void fret_free(struct topic_retained *r)
{
	caa_container_of(r, struct fret, r)->live = false;
}

static void on_hit(void *arg, const struct topic_hit *h)
{
	uint64_t *seen = arg;

	FCHECK(h->session < FMAX);
	FCHECK((*seen >> h->session & 1) == 0);     /* one hit per subscription */
	*seen |= 1ULL << h->session;
}

static void on_ret(void *arg, struct topic_retained *r)
{
	uint64_t *seen = arg;
	long i = caa_container_of(r, struct fret, r) - rets;

	FCHECK(i >= 0 && i < FMAX);
	*seen |= 1ULL << i;
}

static void op(char c, const char *a, size_t n)
{
	switch (c) {
	case 's': {
		struct topic_opts o = { 0 };
		struct topic_sub *h;
		int valid = topic_filter_check(a, n) == 0;
		int rc;

		if (nsubs == FMAX)
			return;
		rc = topic_subscribe(tree_, a, n, (unsigned)nsubs % 4, (uint64_t)nsubs, &o, &h);
		FCHECK((rc == 0) == valid);
		if (rc != 0)
			return;
		size_t g, off = topic_share_split(a, n, &g);

		memcpy(subs[nsubs].f, a + off, n - off);
		subs[nsubs].f[n - off] = '\0';
		subs[nsubs].shared = g != 0;
		subs[nsubs].h = h;
		nsubs++;
		return;
	}
	case 'u':
		if (nsubs > 0)
			topic_unsubscribe(tree_, subs[--nsubs].h);
		return;
	case 'p': {
		char t[FLEN + 1];

		if (topic_name_check(a, n) != 0 || memchr(a, 0, n) != NULL)
			return;
		memcpy(t, a, n);
		t[n] = '\0';
		for (unsigned w = 0; w < 4; w++) {
			uint64_t got = 0, want = 0;

			topic_match(tree_, a, n, w, UINT64_MAX, on_hit, &got);
			for (int i = 0; i < nsubs; i++)
				if (!subs[i].shared && (unsigned)i % 4 == w && tt_ref_match(subs[i].f, t))
					want |= 1ULL << i;
			FCHECK(got == want);
		}
		return;
	}
	case 'r':
	case 'c': {
		int i;

		if (topic_name_check(a, n) != 0)
			return;
		for (i = 0; i < nrets; i++)
			if (strlen(rets[i].name) == n && memcmp(rets[i].name, a, n) == 0)
				break;
		if (i == nrets) {
			if (nrets == FMAX || c == 'c')
				return;
			memcpy(rets[i].name, a, n);
			rets[i].name[n] = '\0';
			nrets++;
		}
		if (c == 'c') {
			FCHECK(topic_retained_set(tree_, a, n, NULL) == 0);
			rets[i].in_tree = false;
			return;
		}
		if (rets[i].live)
			return;   /* one object per name, still the tree's: leave it */
		rets[i].r.free_fn = fret_free;
		rets[i].r.size = 1;
		if (topic_retained_set(tree_, a, n, &rets[i].r) == 0)
			rets[i].live = rets[i].in_tree = true;
		return;
	}
	case 'l': {
		char f[FLEN + 1];
		uint64_t got = 0, want = 0;

		if (topic_filter_check(a, n) != 0 || topic_share_split(a, n, &(size_t){ 0 }) != 0)
			return;
		memcpy(f, a, n);
		f[n] = '\0';
		topic_retained_lookup(tree_, a, n, on_ret, &got);
		for (int i = 0; i < nrets; i++)
			if (rets[i].in_tree && tt_ref_match(f, rets[i].name))
				want |= 1ULL << i;
		FCHECK(got == want);
		return;
	}
	default:
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	struct topic_stats st;
	size_t pos = 0;

	if (!registered) {
		rcu_register_thread();
		registered = true;
	}
	tree_ = topic_tree_create(NULL);
	FCHECK(tree_ != NULL);
	nsubs = nrets = 0;
	memset(rets, 0, sizeof(rets));
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;

		if (end > pos && end - pos - 1 <= FLEN)
			op((char)data[pos], (const char *)data + pos + 1, end - pos - 1);
		pos = end + 1;
	}
	while (nsubs > 0)
		topic_unsubscribe(tree_, subs[--nsubs].h);
	for (int i = 0; i < nrets; i++)
		FCHECK(topic_retained_set(tree_, rets[i].name, strlen(rets[i].name), NULL) == 0);
	topic_tree_stats(tree_, &st);
	FCHECK(st.nodes == 0 && st.subs == 0 && st.retained == 0);
	topic_tree_destroy(tree_);   /* waits for the frees: rets[] is free to reuse */
	for (int i = 0; i < nrets; i++)
		FCHECK(!rets[i].live);
	return 0;
}
