/**
 * @file test_lg_hist.c
 * Unit test of tachyon-loadgen's latency histogram (tools/loadgen/lg_hist.c): every value
 * lands in a bucket no wider than ~3 % that contains it, quantiles follow the nearest-rank
 * rule within that resolution, and the max is exact.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lg.h"

static int failures;

#define CHECK(c)                                                                    \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
			failures++;                                                 \
		}                                                                   \
	} while (0)

/* q-quantile of 1..n by nearest rank is ceil(q * n); the histogram may answer up to one
 * bucket (3.2 %) above it, never below. */
static void check_quantile(const struct lg_hist *h, double q, uint64_t exact)
{
	uint64_t got = lg_hist_quantile(h, q);
	CHECK(got >= exact);
	CHECK((double)got <= (double)exact * 1.0325 + 1);
}

int main(void)
{
	static struct lg_hist h;
	CHECK(lg_hist_quantile(&h, 0.5) == 0);
	for (uint64_t v = 1; v <= 100000; v++)
		lg_hist_add(&h, v);
	CHECK(h.count == 100000 && h.max == 100000);
	check_quantile(&h, 0.5, 50000);
	check_quantile(&h, 0.99, 99000);
	check_quantile(&h, 0.999, 99900);
	CHECK(lg_hist_quantile(&h, 1.0) == 100000);
	CHECK(lg_hist_quantile(&h, 0.00001) == 1);
	/* small values are exact */
	static struct lg_hist s;
	for (uint64_t v = 0; v < 32; v++)
		lg_hist_add(&s, v);
	CHECK(lg_hist_quantile(&s, 0.5) == 15);
	/* huge values (hours in ns, and the top of uint64) do not overflow the table */
	static struct lg_hist b;
	lg_hist_add(&b, 3600ull * 1000000000ull);
	lg_hist_add(&b, UINT64_MAX);
	CHECK(lg_hist_quantile(&b, 0.5) >= 3600ull * 1000000000ull);
	CHECK(lg_hist_quantile(&b, 1.0) == UINT64_MAX);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("lg-hist: all checks passed\n");
	return 0;
}
