/**
 * @file test_dp_pool.c
 * The worker's mempools (dataplane/dp_pool.c) without hugepages, where IO addresses are
 * virtual ones: objects are packed across 4 KiB pages (a 2 KiB mbuf takes its 2,368 bytes,
 * not a page of its own, which made a 262,143-mbuf pool 1 GiB resident), every mbuf's whole
 * data room is usable and disjoint from the others, and the small send pool has the data
 * room the TCP headers need.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp_pool.h"
#include "dp_test.h"

static void add_len(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *hdr,
		    unsigned idx)
{
	(void)mp;
	(void)idx;
	*(size_t *)opaque += hdr->len;
}

/* Memory the pool's objects occupy (all its chunks). */
static size_t footprint(struct rte_mempool *mp)
{
	size_t len = 0;
	rte_mempool_mem_iter(mp, add_len, &len);
	return len;
}

/* Take every mbuf, fill each one's whole data room with its own byte, check nothing was
 * overwritten by a neighbour, give them back. */
static void fill_all(struct rte_mempool *mp, unsigned n)
{
	struct rte_mbuf **m = calloc(n, sizeof(*m));
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(rte_pktmbuf_alloc_bulk(mp, m, n) == 0);
	for (unsigned i = 0; i < n; i++)
		memset(m[i]->buf_addr, (int)(i & 0xff), m[i]->buf_len);
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = m[i]->buf_addr;
		for (unsigned k = 0; k < m[i]->buf_len; k++)
			bad += p[k] != (uint8_t)(i & 0xff);
		CHECK(m[i]->pool == mp && rte_pktmbuf_headroom(m[i]) == RTE_PKTMBUF_HEADROOM);
	}
	CHECK(bad == 0);
	rte_pktmbuf_free_bulk(m, n);
	free(m);
	CHECK(rte_mempool_avail_count(mp) == n);
}

int main(void)
{
	if (dp_test_eal("dppool", "128") != 0)
		return 1;
	CHECK(rte_eal_iova_mode() == RTE_IOVA_VA); /* no hugepages, no physical addresses */
	CHECK(dp_pool_pack_flags() == RTE_MEMPOOL_F_NO_IOVA_CONTIG);

	const unsigned n = 4095;
	struct rte_mempool *big = dp_pool_create_mbufs("dpp_big", n, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						       SOCKET_ID_ANY);
	CHECK(big != NULL);
	if (big != NULL) {
		CHECK(big->size == n && big->populated_size == n);
		CHECK(rte_pktmbuf_data_room_size(big) == RTE_MBUF_DEFAULT_BUF_SIZE);
		size_t per = footprint(big) / n;
		printf("2 KiB mbufs: %zu bytes each (object %u + header %u)\n", per,
		       big->elt_size, big->header_size);
		CHECK(per < 2560); /* one object a page would be 4096 */
		fill_all(big, n);
		rte_mempool_free(big);
	}

	struct rte_mempool *tx = dp_pool_create_mbufs("dpp_tx", n, 0, DP_POOL_TX_DATA_ROOM,
						      SOCKET_ID_ANY);
	CHECK(tx != NULL);
	if (tx != NULL) {
		CHECK(rte_pktmbuf_data_room_size(tx) == RTE_PKTMBUF_HEADROOM + 256);
		size_t per = footprint(tx) / n;
		printf("send mbufs: %zu bytes each\n", per);
		CHECK(per <= 600);
		fill_all(tx, n);
		rte_mempool_free(tx);
	}

	/* dp_pool_avail: the common store plus this lcore's cache, as rte_mempool_avail_count
	 * counts it with one lcore, while objects move between the cache and the store. */
	struct rte_mempool *c = dp_pool_create_mbufs("dpp_cache", 2047, 256, DP_POOL_TX_DATA_ROOM,
						     SOCKET_ID_ANY);
	CHECK(c != NULL);
	if (c != NULL) {
		struct rte_mbuf *m[600];
		CHECK(dp_pool_avail(c) == 2047);
		unsigned bad = 0;
		for (unsigned k = 1; k <= 600; k += 37) {
			CHECK(rte_pktmbuf_alloc_bulk(c, m, k) == 0);
			bad += dp_pool_avail(c) != 2047 - k ||
			       dp_pool_avail(c) != rte_mempool_avail_count(c);
			for (unsigned i = 0; i < k; i += 2)
				rte_pktmbuf_free(m[i]); /* into the cache, some flushed */
			for (unsigned i = 1; i < k; i += 2)
				rte_pktmbuf_free(m[i]);
			bad += dp_pool_avail(c) != 2047 ||
			       dp_pool_avail(c) != rte_mempool_avail_count(c);
		}
		CHECK(bad == 0);
		rte_mempool_free(c);
	}

	/* The same name twice: NULL and rte_errno, nothing leaked. */
	struct rte_mempool *a = dp_pool_create_mbufs("dpp_dup", 511, 0, DP_POOL_TX_DATA_ROOM,
						     SOCKET_ID_ANY);
	struct rte_mempool *b = dp_pool_create_mbufs("dpp_dup", 511, 0, DP_POOL_TX_DATA_ROOM,
						     SOCKET_ID_ANY);
	CHECK(a != NULL && b == NULL && rte_errno == EEXIST);
	rte_mempool_free(a);

	rte_eal_cleanup();
	if (failures == 0)
		printf("0 failure(s)\n");
	return failures == 0 ? 0 : 1;
}
