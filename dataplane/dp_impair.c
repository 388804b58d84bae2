/**
 * @file dp_impair.c
 * The seeded impairment layer (see dp_impair.h). A frame's fate is decided once, on entry:
 * dropped (impair_loss), corrupted (impair_corrupt), duplicated (impair_dup; the copy gets
 * its own delay), then held for impair_delay_us +- impair_jitter_us. Holding uses a queue
 * sorted by due time, so jitter larger than the spacing of frames reorders them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "conf/conf.h"
#include "dp_impair.h"

static double dp__impair_rand(struct dp_impair *im)
{
	/* xorshift64*: plenty for test decisions, reproducible from the seed */
	im->rng ^= im->rng >> 12;
	im->rng ^= im->rng << 25;
	im->rng ^= im->rng >> 27;
	return (double)((im->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

int dp_impair_init(struct dp_impair *im, const struct tachyon_config *cfg,
		   struct rte_mempool *pool, bool tx, uint64_t salt)
{
	memset(im, 0, sizeof(*im));
	im->loss = cfg->impair_loss;
	im->dup = cfg->impair_dup;
	im->corrupt = cfg->impair_corrupt;
	im->delay_us = cfg->impair_delay_us;
	im->jitter_us = cfg->impair_jitter_us;
	im->on = im->loss > 0 || im->dup > 0 || im->corrupt > 0 || im->delay_us > 0 ||
		 im->jitter_us > 0;
	im->tx = tx;
	im->pool = pool;
	im->rng = (cfg->impair_seed + 1) * 0x9E3779B97F4A7C15ULL ^ (salt * 0xBF58476D1CE4E5B9ULL);
	if (im->rng == 0)
		im->rng = 1;
	if (im->on && (im->delay_us > 0 || im->jitter_us > 0)) {
		im->q = calloc(DP_IMPAIR_QLEN, sizeof(*im->q));
		if (im->q == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void dp__impair_corrupt(struct dp_impair *im, struct rte_mbuf *m)
{
	unsigned from = 14; /* past the Ethernet header */
	if (im->tx) {
		/* The PMD would compute an offloaded checksum over the damage and hide it: skip
		 * frames with L4 offload, and keep out of the IPv4 header when only its checksum
		 * is offloaded (the TCP checksum, ours, then reveals the flip). */
		if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) {
			im->st.corrupt_skipped++;
			return;
		}
		if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)
			from = 14 + (m->l3_len ? m->l3_len : 20);
	} else {
		/* The PMD may have verified the checksums already: the flip happens "on the wire"
		 * after that, so the verdict must go and the stack must check for itself. */
		m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	}
	if (m->data_len <= from) {
		im->st.corrupt_skipped++;
		return;
	}
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	unsigned off = from + (unsigned)(dp__impair_rand(im) * (m->data_len - from));
	if (off >= m->data_len)
		off = m->data_len - 1;
	p[off] ^= (uint8_t)(1u << ((unsigned)(dp__impair_rand(im) * 8) & 7));
	im->st.corrupted++;
}

/* Hold @p m until its due time; false when the queue is full (deliver it now). */
static bool dp__impair_hold(struct dp_impair *im, struct rte_mbuf *m, uint64_t now_ns)
{
	if (im->q == NULL || im->n == DP_IMPAIR_QLEN)
		return false;
	double d = im->delay_us;
	if (im->jitter_us)
		d += (dp__impair_rand(im) * 2 - 1) * im->jitter_us;
	if (d < 0)
		d = 0;
	uint64_t due = now_ns + (uint64_t)(d * 1000.0);
	unsigned i = im->n;
	while (i > 0 && im->q[i - 1].due_ns > due) {
		im->q[i] = im->q[i - 1];
		i--;
	}
	im->q[i].m = m;
	im->q[i].due_ns = due;
	im->n++;
	im->st.delayed++;
	return true;
}

unsigned dp_impair_apply(struct dp_impair *im, struct rte_mbuf **pkts, unsigned n,
			 struct rte_mbuf **out, unsigned cap, uint64_t now_ns)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		im->st.seen++;
		if (dp__impair_rand(im) < im->loss) {
			im->st.dropped++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (dp__impair_rand(im) < im->corrupt)
			dp__impair_corrupt(im, m);
		struct rte_mbuf *copy = NULL;
		if (dp__impair_rand(im) < im->dup) {
			copy = rte_pktmbuf_copy(m, im->pool, 0, UINT32_MAX);
			if (copy != NULL) {
				copy->ol_flags = m->ol_flags;
				copy->tx_offload = m->tx_offload;
				im->st.duplicated++;
			}
		}
		for (int j = 0; j < 2; j++) {
			struct rte_mbuf *f = j == 0 ? m : copy;
			if (f == NULL)
				continue;
			if (dp__impair_hold(im, f, now_ns))
				continue;
			if (k < cap)
				out[k++] = f;
			else
				rte_pktmbuf_free(f); /* no room at all: a loss */
		}
	}
	/* release what is due (oldest first, in front of nothing: the queue is sorted) */
	unsigned due = 0;
	while (due < im->n && im->q[due].due_ns <= now_ns && k < cap)
		out[k++] = im->q[due++].m;
	if (due > 0) {
		memmove(im->q, im->q + due, (im->n - due) * sizeof(*im->q));
		im->n -= due;
	}
	return k;
}

void dp_impair_fini(struct dp_impair *im)
{
	for (unsigned i = 0; i < im->n; i++)
		rte_pktmbuf_free(im->q[i].m);
	im->n = 0;
	free(im->q);
	im->q = NULL;
}
