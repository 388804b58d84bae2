/*
 * tachyon-hiccup: how long this machine takes a CPU away from a thread that never
 * sleeps. One thread per CPU we may run on, each pinned, reads CLOCK_MONOTONIC in a
 * tight loop for --seconds and counts the gaps between two reads by size. On bare metal
 * with isolated cores the gaps stay under a few microseconds; in a VM whose vCPUs the
 * host preempts, or on a CPU shared with other work, they reach milliseconds. A polling
 * broker worker and the load generator lose the same time, so a latency percentile from
 * bench/compare cannot be better than what this shows (docs/benchmarks.md).
 *
 * usage: tachyon-hiccup [--seconds S] [--json]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Gap classes, lower bounds in microseconds; a gap under the first is not counted. */
static const unsigned hic_lim_us[] = { 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000 };
#define HIC_N (sizeof(hic_lim_us) / sizeof(hic_lim_us[0]))

struct hic_cpu {
	pthread_t th;
	int cpu;
	double seconds;
	int err;                  /* pinning failed: errno */
	uint64_t count[HIC_N];    /* gaps in [lim[i], lim[i+1]) */
	uint64_t stalled_ns;      /* sum of the counted gaps */
	uint64_t max_ns;
	uint64_t run_ns;
};

static uint64_t hic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *hic_run(void *arg)
{
	struct hic_cpu *h = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	h->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (h->err != 0)
		return NULL;
	uint64_t start = hic_now(), prev = start;
	uint64_t end = start + (uint64_t)(h->seconds * 1e9);
	for (;;) {
		uint64_t now = hic_now();
		uint64_t gap = now - prev;
		prev = now;
		if (gap > h->max_ns)
			h->max_ns = gap;
		for (int i = (int)HIC_N - 1; i >= 0; i--)
			if (gap >= hic_lim_us[i] * 1000ull) {
				h->count[i]++;
				h->stalled_ns += gap;
				break;
			}
		if (now >= end)
			break;
	}
	h->run_ns = prev - start;
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			char *end;
			seconds = strtod(argv[++i], &end);
			if (*end != '\0' || !(seconds > 0 && seconds <= 3600)) {
				fprintf(stderr, "tachyon-hiccup: --seconds: expected 0 < S <= 3600\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: tachyon-hiccup [--seconds S] [--json]\n");
			return 2;
		}
	}
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		perror("tachyon-hiccup: sched_getaffinity");
		return 1;
	}
	int n = CPU_COUNT(&allowed);
	struct hic_cpu *h = calloc((size_t)n, sizeof(*h));
	if (h == NULL) {
		fprintf(stderr, "tachyon-hiccup: out of memory\n");
		return 1;
	}
	int k = 0;
	for (int c = 0; c < CPU_SETSIZE && k < n; c++)
		if (CPU_ISSET(c, &allowed)) {
			h[k].cpu = c;
			h[k].seconds = seconds;
			int rc = pthread_create(&h[k].th, NULL, hic_run, &h[k]);
			if (rc != 0) {
				fprintf(stderr, "tachyon-hiccup: pthread_create: %s\n", strerror(rc));
				return 1;
			}
			k++;
		}
	for (int i = 0; i < k; i++)
		pthread_join(h[i].th, NULL);
	int bad = 0;
	if (json)
		printf("{\"seconds\":%.3f,\"cpus\":[", seconds);
	else
		printf("%-5s %9s %9s %9s %9s %9s   (gaps between two clock reads of a spinning "
		       "thread, per second)\n", "cpu", ">=100us", ">=500us", ">=1ms", ">=5ms",
		       "max ms");
	for (int i = 0; i < k; i++) {
		if (h[i].err != 0) {
			fprintf(stderr, "tachyon-hiccup: cannot pin to CPU %d: %s\n", h[i].cpu,
				strerror(h[i].err));
			bad = 1;
			continue;
		}
		double s = (double)h[i].run_ns * 1e-9;
		uint64_t at_least[HIC_N]; /* gaps >= lim[j] */
		uint64_t sum = 0;
		for (int j = (int)HIC_N - 1; j >= 0; j--)
			at_least[j] = (sum += h[i].count[j]);
		if (json) {
			printf("%s{\"cpu\":%d,\"run_s\":%.3f,\"stalled_pct\":%.3f,\"max_us\":%.1f,"
			       "\"gaps_at_least_us\":{", i ? "," : "", h[i].cpu, s,
			       100.0 * (double)h[i].stalled_ns / (double)h[i].run_ns,
			       (double)h[i].max_ns / 1e3);
			for (unsigned j = 0; j < HIC_N; j++)
				printf("%s\"%u\":%" PRIu64, j ? "," : "", hic_lim_us[j], at_least[j]);
			printf("}}");
		} else {
			printf("%-5d %9.1f %9.1f %9.1f %9.1f %9.2f   stalled %.2f%% of the time\n",
			       h[i].cpu, (double)at_least[2] / s, (double)at_least[4] / s,
			       (double)at_least[5] / s, (double)at_least[7] / s,
			       (double)h[i].max_ns / 1e6,
			       100.0 * (double)h[i].stalled_ns / (double)h[i].run_ns);
		}
	}
	if (json)
		printf("]}\n");
	free(h);
	return bad;
}
