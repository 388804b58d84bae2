/**
 * @file lg_hist.c
 * The latency histogram of tachyon-loadgen (see lg.h): values below 32 ns get a bucket
 * each; above, every power of two is split into 32 equal steps, so a bucket is at most ~3%
 * wide and the whole range of uint64 fits in 2,048 counters (16 KiB) with no allocation.
 */
#include "lg.h"

static unsigned lg__hist_index(uint64_t v)
{
	if (v < LG_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);           /* 5..63 */
	unsigned sub = (unsigned)(v >> (e - 5)) & (LG_HIST_SUB - 1); /* the 5 bits below the top */
	return (e - 4) * LG_HIST_SUB + sub;
}

/* The largest value that falls in bucket @p i. */
static uint64_t lg__hist_upper(unsigned i)
{
	if (i < LG_HIST_SUB)
		return i;
	unsigned e = i / LG_HIST_SUB + 4, sub = i % LG_HIST_SUB;
	uint64_t lo = (1ull << e) | ((uint64_t)sub << (e - 5));
	return lo + (1ull << (e - 5)) - 1;
}

void lg_hist_add(struct lg_hist *h, uint64_t v)
{
	h->b[lg__hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	/* rank = ceil(q * count), at least 1: the smallest value with that many at or below */
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t u = lg__hist_upper(i);
			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}
