/**
 * @file
 * Topic-table micro-benchmarks (Google Benchmark): matches/s over a million subscriptions
 * (80% exact per-device topics site/<n>/dev/<m>/temp, 20% filters with '+' or '#'),
 * with 1 and 2 reader threads; subscribe and unsubscribe rates; bytes per subscription;
 * retained lookups over a million retained topics.
 *
 * TOPIC_BENCH_SUBS=<n> changes the population (default 1000000). Every benchmark thread
 * is a QSBR reader that reports a quiescent state every 64 operations, as a worker would
 * once per loop iteration.
 */
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "topic/topic.h"

namespace {

constexpr unsigned kDevsPerSite = 1000;
constexpr unsigned kWorkers = 4;

struct Population {
	struct topic_tree *tree = nullptr;
	std::vector<struct topic_sub *> subs;
	unsigned sites = 0;
	double bytes_per_sub = 0;
	double build_seconds = 0;
};

/*
 * QSBR registration, once per thread: Google Benchmark runs thread 0 of a multi-thread
 * benchmark on the main thread, which registered when it built the population.
 */
thread_local bool tl_registered;

struct RcuThread {
	bool mine = !tl_registered;

	RcuThread()
	{
		if (mine) {
			rcu_register_thread();
			tl_registered = true;
		}
	}
	~RcuThread()
	{
		if (mine) {
			rcu_unregister_thread();
			tl_registered = false;
		}
	}
};

unsigned bench_subs()
{
	const char *e = getenv("TOPIC_BENCH_SUBS");
	long v = e != nullptr ? atol(e) : 0;

	return v > 0 ? (unsigned)v : 1000000u;
}

uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Sessions spread over workers by a hash: a site's subscribers are not all on one. */
unsigned worker_of(unsigned i)
{
	uint64_t s = i;

	return (unsigned)(rng_next(&s) % kWorkers);
}

/* The i-th subscription's filter: 80% exact devices, 20% wildcard filters. */
int filter_of(unsigned i, unsigned n, char *buf, size_t cap)
{
	unsigned exact = n / 10 * 8;

	if (i < exact)
		return snprintf(buf, cap, "site/%u/dev/%u/temp", i / kDevsPerSite, i % kDevsPerSite);
	unsigned k = i - exact, sites = (exact + kDevsPerSite - 1) / kDevsPerSite;

	switch (k % 10) {
	case 0: case 1: case 2: case 3:          /* one device, any metric */
		return snprintf(buf, cap, "site/%u/dev/%u/+", k % sites, k / 10 % kDevsPerSite);
	case 4: case 5: case 6:                   /* one site, any device's temp */
		return snprintf(buf, cap, "site/%u/dev/+/temp", k % sites);
	case 7: case 8:                           /* a whole site */
		return snprintf(buf, cap, "site/%u/#", k % sites);
	default:                                  /* one device number on every site */
		return snprintf(buf, cap, "site/+/dev/%u/temp", k / 10 % kDevsPerSite);
	}
}

Population &population()
{
	static Population p;

	if (p.tree != nullptr)
		return p;
	unsigned n = bench_subs();
	struct topic_opts o = {};
	char f[96];

	if (!tl_registered) {
		rcu_register_thread();   /* the main thread stays registered */
		tl_registered = true;
	}
	size_t before = mallinfo2().uordblks;
	auto t0 = std::chrono::steady_clock::now();
	p.tree = topic_tree_create(nullptr);
	p.subs.resize(n);
	for (unsigned i = 0; i < n; i++) {
		int len = filter_of(i, n, f, sizeof(f));

		o.max_qos = (uint8_t)(i % 3);
		if (topic_subscribe(p.tree, f, (size_t)len, worker_of(i), i, &o, &p.subs[i]) != 0)
			abort();
		if ((i & 1023) == 0)
			rcu_quiescent_state();
	}
	p.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	/* the handle vector is the broker's, not the tree's: leave it out */
	p.bytes_per_sub = (double)(mallinfo2().uordblks - before - n * sizeof(void *)) / n;
	p.sites = (n / 10 * 8 + kDevsPerSite - 1) / kDevsPerSite;
	return p;
}

struct Counter {
	size_t hits = 0;
};

void count_hit(void *arg, const struct topic_hit *)
{
	static_cast<Counter *>(arg)->hits++;
}

/* Publisher's question: which workers, and which shared members. */
void BM_route(benchmark::State &state)
{
	Population &p = population();
	uint64_t rng = 42 + (uint64_t)state.thread_index();
	uint64_t workers = 0;
	char topic[64];
	unsigned ops = 0;

	RcuThread rcu;

	for (auto _ : state) {
		uint64_t r = rng_next(&rng);
		int len = snprintf(topic, sizeof(topic), "site/%u/dev/%u/temp",
				   (unsigned)(r % p.sites), (unsigned)(r >> 32) % kDevsPerSite);

		workers |= topic_route(p.tree, topic, (size_t)len, 0, nullptr, nullptr);
		if ((++ops & 63) == 0)
			rcu_quiescent_state();
	}
	benchmark::DoNotOptimize(workers);
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_route)->Threads(1)->Threads(2)->UseRealTime();

/* A worker's question: its own subscribers of the topic (one of 4 workers). */
void BM_match_worker(benchmark::State &state)
{
	Population &p = population();
	uint64_t rng = 7 + (uint64_t)state.thread_index();
	Counter c;
	char topic[64];
	unsigned ops = 0;

	RcuThread rcu;

	for (auto _ : state) {
		uint64_t r = rng_next(&rng);
		int len = snprintf(topic, sizeof(topic), "site/%u/dev/%u/temp",
				   (unsigned)(r % p.sites), (unsigned)(r >> 32) % kDevsPerSite);

		topic_match(p.tree, topic, (size_t)len, (unsigned)(r % kWorkers), 0, count_hit, &c);
		if ((++ops & 63) == 0)
			rcu_quiescent_state();
	}
	state.SetItemsProcessed(state.iterations());
	/* per thread, averaged over threads (counters are summed otherwise) */
	state.counters["hits_per_match"] = benchmark::Counter(
		(double)c.hits / (double)state.iterations(), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_match_worker)->Threads(1)->Threads(2)->UseRealTime();

/* New subscriptions on fresh leaves (site/<n>/dev/<m>/hum) of the populated tree. */
void BM_subscribe(benchmark::State &state)
{
	Population &p = population();
	std::vector<struct topic_sub *> mine;
	struct topic_opts o = {};
	char f[64];
	unsigned i = 0;

	mine.reserve(1 << 20);
	for (auto _ : state) {
		int len = snprintf(f, sizeof(f), "site/%u/dev/%u/hum", i % p.sites,
				   i / p.sites % kDevsPerSite);
		struct topic_sub *s;

		if (topic_subscribe(p.tree, f, (size_t)len, 0, i, &o, &s) != 0)
			abort();
		mine.push_back(s);
		if ((++i & 63) == 0)
			rcu_quiescent_state();
	}
	/* after the loop: not timed */
	for (struct topic_sub *s : mine)
		topic_unsubscribe(p.tree, s);
	rcu_quiescent_state();
	state.SetItemsProcessed(state.iterations());
	state.counters["bytes_per_sub_1M"] = p.bytes_per_sub;
	state.counters["build_1M_s"] = p.build_seconds;
}
BENCHMARK(BM_subscribe);

/* Unsubscribing (the last subscriber of a leaf: node removal included), then back. */
void BM_unsubscribe(benchmark::State &state)
{
	Population &p = population();
	constexpr unsigned kBatch = 100000;
	std::vector<struct topic_sub *> mine(kBatch);
	struct topic_opts o = {};
	char f[64];

	for (unsigned i = 0; i < kBatch; i++) {
		int len = snprintf(f, sizeof(f), "site/%u/dev/%u/hum", i % p.sites,
				   i / p.sites % kDevsPerSite);

		if (topic_subscribe(p.tree, f, (size_t)len, 0, i, &o, &mine[i]) != 0)
			abort();
	}
	rcu_quiescent_state();
	unsigned i = 0;
	for (auto _ : state) {
		topic_unsubscribe(p.tree, mine[i++]);
		if ((i & 63) == 0)
			rcu_quiescent_state();
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_unsubscribe)->Iterations(100000);

/* ---- retained ---- */

struct Msg {
	struct topic_retained r;
};

void msg_free(struct topic_retained *r)
{
	delete reinterpret_cast<Msg *>(r);
}

struct topic_tree *retained_tree()
{
	static struct topic_tree *t;

	if (t != nullptr)
		return t;
	unsigned n = bench_subs();
	char f[64];

	if (!tl_registered) {
		rcu_register_thread();
		tl_registered = true;
	}
	t = topic_tree_create(nullptr);
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(f, sizeof(f), "site/%u/dev/%u/temp", i / kDevsPerSite,
				   i % kDevsPerSite);
		Msg *m = new Msg();

		m->r.free_fn = msg_free;
		m->r.size = 100;
		if (topic_retained_set(t, f, (size_t)len, &m->r) != 0)
			abort();
		if ((i & 1023) == 0)
			rcu_quiescent_state();
	}
	return t;
}

void count_retained(void *arg, struct topic_retained *)
{
	static_cast<Counter *>(arg)->hits++;
}

void BM_retained_lookup(benchmark::State &state, const char *filter)
{
	struct topic_tree *t = retained_tree();
	Counter c;

	for (auto _ : state) {
		topic_retained_lookup(t, filter, strlen(filter), count_retained, &c);
		rcu_quiescent_state();
	}
	state.counters["msgs_per_lookup"] = (double)c.hits / (double)state.iterations();
	state.counters["msgs_per_s"] = benchmark::Counter((double)c.hits, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_retained_lookup, hash_all, "#")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_retained_lookup, one_site, "site/7/#")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_retained_lookup, plus_sites, "site/+/dev/7/temp")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_retained_lookup, exact, "site/7/dev/7/temp");

}  // namespace

BENCHMARK_MAIN();
