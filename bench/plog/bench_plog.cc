/**
 * @file bench_plog.cc
 * Persistence micro-benchmarks: record encode/parse, log append, group commit (real
 * fdatasync), snapshot write/load time and size for N sessions, and recovery time for N
 * sessions in a snapshot plus M log records after it.
 *
 * Default run is short: N = 100k sessions, M = 1M records. The full sizes
 * (N = 1M, M = 10M; needs ~2 GB of disk and a few minutes) run with PLOG_BENCH_FULL=1.
 * Files go under $PLOG_BENCH_DIR (default $TMPDIR or /tmp) in a directory removed at exit.
 * Recovery reads files the benchmark just wrote, so they are in the page cache: the figure
 * is CPU cost (decode, CRC, inflate, apply), not cold-disk read time.
 *
 *   ninja -C build bench/plog/bench_plog && build/bench/plog/bench_plog
 *   PLOG_BENCH_FULL=1 build/bench/plog/bench_plog --benchmark_filter='Snapshot|Recovery'
 */
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog/plog_store.h"
#include "plog_gen.h"

namespace {

struct Sizes {
	uint32_t sessions;
	uint64_t log_records;
};

Sizes sizes()
{
	const char *full = getenv("PLOG_BENCH_FULL");
	if (full != nullptr && *full != '\0' && *full != '0')
		return { 1000000, 10000000 };
	return { 100000, 1000000 };
}

std::string g_root;

int rm_cb(const char *p, const struct stat *, int, struct FTW *)
{
	return remove(p);
}

void cleanup()
{
	if (!g_root.empty())
		nftw(g_root.c_str(), rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh, empty directory under the benchmark's root. */
std::string fresh_dir(const char *name)
{
	if (g_root.empty()) {
		const char *base = getenv("PLOG_BENCH_DIR");
		if (base == nullptr || *base == '\0')
			base = getenv("TMPDIR");
		std::string t = std::string(base && *base ? base : "/tmp") + "/plog-bench-XXXXXX";
		if (mkdtemp(&t[0]) == nullptr) {
			perror("mkdtemp");
			exit(1);
		}
		g_root = t;
		atexit(cleanup);
	}
	std::string d = g_root + "/" + name;
	nftw(d.c_str(), rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(d.c_str(), 0700);
	return d;
}

/* Bytes in the files of @dir whose names end with @suffix. */
uint64_t dir_bytes(const std::string &dir, const char *suffix)
{
	uint64_t total = 0;
	DIR *d = opendir(dir.c_str());
	if (d == nullptr)
		return 0;
	size_t sl = strlen(suffix);
	while (struct dirent *e = readdir(d)) {
		size_t l = strlen(e->d_name);
		struct stat sb;
		std::string p = dir + "/" + e->d_name;
		if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0 && stat(p.c_str(), &sb) == 0)
			total += (uint64_t)sb.st_size;
	}
	closedir(d);
	return total;
}

/* The record every per-record benchmark uses: a QoS 1 message queued, 64-byte payload. */
void sample_msg(plog_gen *g, plog_rec *r)
{
	plog_gen_example(g, PLOG_REC_MSG_QUEUE, r);
	r->u.msg.payload.len = 64;
}

void BM_RecordEncode(benchmark::State &state)
{
	plog_gen g;
	plog_gen_init(&g, 1, 1, 64);
	plog_rec r;
	sample_msg(&g, &r);
	uint8_t buf[512];
	int64_t n = 0;
	for (auto _ : state) {
		n = plog_rec_encode(&r, buf, sizeof(buf));
		benchmark::DoNotOptimize(buf);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * n);
	state.counters["frame_bytes"] = (double)n;
	plog_gen_free(&g);
}
BENCHMARK(BM_RecordEncode);

void BM_RecordParse(benchmark::State &state)
{
	plog_gen g;
	plog_gen_init(&g, 1, 1, 64);
	plog_rec r, out;
	sample_msg(&g, &r);
	uint8_t buf[512];
	int64_t n = plog_rec_encode(&r, buf, sizeof(buf));
	size_t flen;
	for (auto _ : state) {
		int rc = plog_rec_parse(buf, (size_t)n, &out, &flen);
		benchmark::DoNotOptimize(rc);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * n);
	plog_gen_free(&g);
}
BENCHMARK(BM_RecordParse);

/* Append without fsync: encode + buffer + write() in 1 MiB pieces (page cache). */
void BM_LogAppend(benchmark::State &state)
{
	std::string dir = fresh_dir("append");
	plog_error err;
	plog_log *log = plog_log_open(dir.c_str(), nullptr, 1, &err);
	plog_gen g;
	plog_gen_init(&g, 1, 1, 64);
	plog_rec r;
	sample_msg(&g, &r);
	for (auto _ : state)
		plog_log_append(log, &r, 0);
	plog_log_flush(log);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * plog_rec_frame_size(&r));
	plog_log_close(log);
	plog_gen_free(&g);
	fresh_dir("append");
}
BENCHMARK(BM_LogAppend)->Iterations(1000000);

/* Group commit: a batch of N records then one fdatasync. Time per commit = ack latency. */
void BM_GroupCommit(benchmark::State &state)
{
	std::string dir = fresh_dir("commit");
	plog_error err;
	plog_log *log = plog_log_open(dir.c_str(), nullptr, 1, &err);
	plog_gen g;
	plog_gen_init(&g, 1, 1, 64);
	plog_rec r;
	sample_msg(&g, &r);
	const int64_t batch = state.range(0);
	for (auto _ : state) {
		for (int64_t i = 0; i < batch; i++)
			plog_log_append(log, &r, 0);
		if (plog_log_sync(log) != 0)
			state.SkipWithError("sync failed");
	}
	state.SetItemsProcessed(state.iterations() * batch);
	state.counters["commits/s"] =
		benchmark::Counter((double)state.iterations(), benchmark::Counter::kIsRate);
	plog_log_close(log);
	plog_gen_free(&g);
	fresh_dir("commit");
}
BENCHMARK(BM_GroupCommit)->Arg(1)->Arg(64)->Arg(1024)->Iterations(200)->UseRealTime();

/* A state of N sessions, one subscription each (the "1M sessions" figure). */
plog_state *population(uint32_t n)
{
	plog_gen g;
	plog_gen_init(&g, 1, n, 0);
	plog_state *st = plog_state_new();
	for (uint64_t k = 0; k < 2ull * n; k++) {
		plog_rec r;
		plog_gen_populate(&g, k, &r);
		plog_state_apply(st, &r);
	}
	plog_gen_free(&g);
	return st;
}

void BM_SnapshotWrite(benchmark::State &state)
{
	Sizes sz = sizes();
	plog_state *st = population(sz.sessions);
	std::string dir = fresh_dir("snapw");
	plog_snap_info info{};
	plog_error err;
	for (auto _ : state)
		if (plog_snap_write(dir.c_str(), st, 1, 1, &info, &err) != 0)
			state.SkipWithError(err.msg);
	struct plog_state_stats ss;
	plog_state_stats(st, &ss);
	state.counters["sessions"] = sz.sessions;
	state.counters["file_MB"] = (double)info.file_bytes / 1e6;
	state.counters["raw_MB"] = (double)info.raw_bytes / 1e6;
	state.counters["bytes/session"] = (double)info.file_bytes / sz.sessions;
	state.counters["state_MB"] = (double)ss.mem_bytes / 1e6;
	state.counters["sessions/s"] = benchmark::Counter(
		(double)sz.sessions * (double)state.iterations(), benchmark::Counter::kIsRate);
	plog_state_free(st);
}
BENCHMARK(BM_SnapshotWrite)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SnapshotLoad(benchmark::State &state)
{
	Sizes sz = sizes();
	std::string dir = fresh_dir("snapl");
	plog_error err;
	{
		plog_state *st = population(sz.sessions);
		plog_snap_write(dir.c_str(), st, 1, 1, nullptr, &err);
		plog_state_free(st);
	}
	char path[4200];
	plog_snap_path(path, sizeof(path), dir.c_str(), 1);
	for (auto _ : state) {
		plog_state *st = plog_state_new();
		if (plog_snap_load(path, st, nullptr, &err) != 0)
			state.SkipWithError(err.msg);
		state.PauseTiming();
		plog_state_free(st);
		state.ResumeTiming();
	}
	state.counters["sessions/s"] = benchmark::Counter(
		(double)sz.sessions * (double)state.iterations(), benchmark::Counter::kIsRate);
	fresh_dir("snapl");
}
BENCHMARK(BM_SnapshotLoad)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

/* Recovery: snapshot of N sessions, then M mixed records (queue/deliver/ack, subscriptions,
 * retained, QoS 2, disconnects) in the log after it. Timed: plog_store_open(). */
void BM_Recovery(benchmark::State &state)
{
	Sizes sz = sizes();
	std::string dir = fresh_dir("recovery");
	plog_error err;
	{
		plog_store *ps = plog_store_open(dir.c_str(), nullptr, &err);
		if (ps == nullptr) {
			state.SkipWithError(err.msg);
			return;
		}
		plog_gen g;
		plog_gen_init(&g, 1, sz.sessions, 64);
		plog_rec r;
		for (uint64_t k = 0; k < 2ull * sz.sessions; k++) {
			plog_gen_populate(&g, k, &r);
			plog_store_append(ps, &r, 0);
		}
		plog_store_snapshot(ps, nullptr, &err);
		for (uint64_t i = 0; i < sz.log_records; i++) {
			plog_gen_next(&g, &r);
			plog_store_append(ps, &r, 0);
			if (i % 65536 == 0)
				plog_store_flush(ps);
		}
		plog_store_close(ps);
		plog_gen_free(&g);
	}
	plog_recovery rec{};
	struct plog_state_stats ss{};
	for (auto _ : state) {
		plog_store *ps = plog_store_open(dir.c_str(), nullptr, &err);
		if (ps == nullptr) {
			state.SkipWithError(err.msg);
			break;
		}
		state.PauseTiming();
		rec = *plog_store_recovery(ps);
		plog_state_stats(plog_store_state(ps), &ss);
		plog_store_close(ps);
		state.ResumeTiming();
	}
	state.counters["snapshot_sessions"] = sz.sessions;
	state.counters["log_records"] = (double)rec.records_replayed;
	state.counters["records/s"] = benchmark::Counter(
		(double)rec.records_replayed * (double)state.iterations(), benchmark::Counter::kIsRate);
	state.counters["state_MB"] = (double)ss.mem_bytes / 1e6;
	state.counters["queued_msgs"] = (double)ss.queued;
	state.counters["log_MB"] = (double)dir_bytes(dir, ".tlog") / 1e6;
	state.counters["snap_MB"] = (double)dir_bytes(dir, ".tsnap") / 1e6;
	fresh_dir("recovery");
}
BENCHMARK(BM_Recovery)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
