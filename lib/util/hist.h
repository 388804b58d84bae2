/**
 * @file hist.h
 * The latency histograms of `stats` (publish-to-deliver, fsync): bucket k counts durations
 * of at most 2^k microseconds (and more than the previous bound), the last bucket the rest.
 * hist_bucket() picks the bucket on the hot path (no loop); hist_json() writes the reply's
 * shape: {"unit":"ns","buckets":[[1000,cum],[2000,cum],...,["+Inf",cum]],"sum":ns,
 * "count":n} with cumulative counts, which the exporter turns into a Prometheus histogram.
 */
#ifndef TACHYON_UTIL_HIST_H
#define TACHYON_UTIL_HIST_H

#include <stdint.h>

struct json_writer;

/** The bucket of a duration of @p ns nanoseconds among @p n buckets (n >= 1). */
static inline unsigned hist_bucket(uint64_t ns, unsigned n)
{
	uint64_t us = (ns + 999) / 1000;
	unsigned k = us <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(us - 1); /* ceil(log2 us) */
	return k < n - 1 ? k : n - 1;
}

/** Member @p key: the histogram of @p n non-cumulative @p buckets with total @p sum_ns. */
void hist_json(struct json_writer *w, const char *key, const uint64_t *buckets, unsigned n,
	       uint64_t sum_ns);

#endif /* TACHYON_UTIL_HIST_H */
