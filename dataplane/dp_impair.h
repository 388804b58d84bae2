/**
 * @file dp_impair.h
 * Seeded, test-only link impairment in the frame I/O path (dp_io.c): loss, delay with jitter
 * (and so reordering), duplication and corruption, applied to received frames before the
 * stack sees them and to sent frames before the PMD does. Off unless a config key
 * impair_loss / impair_dup / impair_corrupt / impair_delay_us / impair_jitter_us is set; the
 * same impair_seed gives the same decisions for the same frame sequence.
 *
 * The kernel here has no netem; this layer lets the integration tests run the TCP stack
 * against the kernel over a lossy, reordering, duplicating, corrupting link.
 *
 * Corruption flips one bit of a frame's first segment past the Ethernet header (headers:
 * the IPv4 or TCP checksum catches it). On RX the PMD's checksum verdict is cleared, since
 * the flip stands for damage on the wire. On TX a frame asking for TCP checksum offload is
 * left alone and one asking for IPv4 checksum offload is hit past its IPv4 header, since the
 * PMD would compute those checksums over the damage and hide it (counted in corrupt_skipped).
 *
 * Threading: one struct dp_impair per worker and direction, used only by that worker.
 */
#ifndef TACHYON_DP_IMPAIR_H
#define TACHYON_DP_IMPAIR_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct tachyon_config;

#define DP_IMPAIR_QLEN 4096 /**< frames one direction can hold back; more pass undelayed */

/** Counters of one direction. */
struct dp_impair_stats {
	uint64_t seen, dropped, duplicated, corrupted, corrupt_skipped, delayed;
};

/** One direction's impairment state. */
struct dp_impair {
	bool on;
	bool tx;                       /**< TX direction (corruption rule differs) */
	uint64_t rng;
	double loss, dup, corrupt;
	uint32_t delay_us, jitter_us;
	struct rte_mempool *pool;      /**< for duplicates */
	unsigned n;                    /**< frames held, sorted by due time in q[] */
	struct {
		struct rte_mbuf *m;
		uint64_t due_ns;
	} *q;
	struct dp_impair_stats st;
};

/**
 * Set up one direction from @p cfg's impair_* keys. @p salt distinguishes workers and
 * directions so they draw different numbers from the same seed.
 * @return 0, or -ENOMEM (the delay queue could not be allocated).
 */
int dp_impair_init(struct dp_impair *im, const struct tachyon_config *cfg,
		   struct rte_mempool *pool, bool tx, uint64_t salt);

/**
 * Pass @p n frames through the impairment: dropped ones are freed, duplicates added,
 * delayed ones held. Writes the frames to deliver now (due held ones first, oldest first)
 * to @p out (capacity @p cap) and returns their count; frames that do not fit stay held.
 */
unsigned dp_impair_apply(struct dp_impair *im, struct rte_mbuf **pkts, unsigned n,
			 struct rte_mbuf **out, unsigned cap, uint64_t now_ns);

/** Free the held frames and the queue. */
void dp_impair_fini(struct dp_impair *im);

#endif /* TACHYON_DP_IMPAIR_H */
