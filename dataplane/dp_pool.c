/**
 * @file dp_pool.c
 * Mempools with packed objects where IO addresses allow it (see dp_pool.h).
 */
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include "dp_pool.h"

unsigned dp_pool_pack_flags(void)
{
	return rte_eal_iova_mode() == RTE_IOVA_VA ? RTE_MEMPOOL_F_NO_IOVA_CONTIG : 0;
}

/* rte_pktmbuf_pool_create_by_ops() with a flags argument, which 22.11 does not take. */
struct rte_mempool *dp_pool_create_mbufs(const char *name, unsigned n, unsigned cache,
					 uint16_t data_room, int socket)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = data_room,
		.mbuf_priv_size = 0,
	};
	unsigned elt = (unsigned)sizeof(struct rte_mbuf) + data_room;
	struct rte_mempool *mp = rte_mempool_create_empty(name, n, elt, cache, sizeof(priv),
							  socket, dp_pool_pack_flags());
	if (mp == NULL)
		return NULL;
	int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc != 0)
		goto err;
	rte_pktmbuf_pool_init(mp, &priv);
	rc = rte_mempool_populate_default(mp);
	if (rc < 0)
		goto err;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
err:
	rte_mempool_free(mp);
	rte_errno = rc < 0 ? -rc : rc;
	return NULL;
}

unsigned dp_pool_avail(const struct rte_mempool *mp)
{
	/* The common store's count, as rte_mempool_ops_get_count() (not exported in 22.11). */
	unsigned n = rte_mempool_get_ops(mp->ops_index)->get_count(mp);
	unsigned lc = rte_lcore_id();
	if (mp->cache_size != 0 && lc < RTE_MAX_LCORE)
		n += mp->local_cache[lc].len;
	return n < mp->size ? n : mp->size;
}
