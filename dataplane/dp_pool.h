/**
 * @file dp_pool.h
 * Mempools as tachyond creates them: each worker's mbuf pools (control/main.c) and the
 * message memory (dp_msgmem.c). Sits under everything that allocates DPDK memory.
 *
 * Why not rte_pktmbuf_pool_create() as it is: a mempool keeps each object IOVA-contiguous,
 * and without hugepages (`--no-huge`) DPDK can only vouch for one 4 KiB page at a time, so
 * it lays out one object per page. A 2 KiB-data-room mbuf (2,368 bytes with its header)
 * then takes 4,096, and because the pool writes every object's header when it is filled,
 * all of it is resident from the start: a 262,143-mbuf pool was 1 GiB of RSS instead of
 * 592 MiB. When IO addresses are virtual addresses (IOVA as VA: always without hugepages,
 * and with an IOMMU), virtually contiguous is IOVA-contiguous, so objects may straddle
 * pages and are packed. With IOVA as PA the layout is DPDK's (a NIC DMAs by physical
 * address there); with hugepages a page holds hundreds of objects and nothing is lost.
 *
 * Threads: main lcore, before the workers run. Error convention: DPDK's (NULL, rte_errno).
 */
#ifndef TACHYON_DP_POOL_H
#define TACHYON_DP_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mempool;

/**
 * Data room of the small send mbufs (headroom included): a TCP header with its options and
 * the IPv4 and Ethernet headers in front, or up to 256 bytes of a copied MQTT head or
 * control packet. With the mbuf itself and the mempool's object header, 576 bytes an mbuf,
 * a quarter of a 2 KiB one: a million subscribers each waiting for the ACK of one small
 * delivery hold one of these (the head; the payload is a reference, another one).
 */
#define DP_POOL_TX_DATA_ROOM (RTE_PKTMBUF_HEADROOM + 256)

/**
 * Whether objects may straddle pages: IOVA as VA. @return the mempool flag to pass
 * (RTE_MEMPOOL_F_NO_IOVA_CONTIG) or 0.
 */
unsigned dp_pool_pack_flags(void);

/**
 * An mbuf pool like rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket), with
 * objects packed when dp_pool_pack_flags() allows it.
 * @param data_room  headroom (RTE_PKTMBUF_HEADROOM) + data bytes of each mbuf
 * @return the pool, or NULL with rte_errno set (ENOMEM, EEXIST, EINVAL ...)
 */
struct rte_mempool *dp_pool_create_mbufs(const char *name, unsigned n, unsigned cache,
					 uint16_t data_room, int socket);

/**
 * Free objects of @p mp as seen from the calling lcore: the pool's common store plus this
 * lcore's cache, without rte_mempool_avail_count()'s walk over every lcore's cache (128 in
 * Debian's DPDK, once per worker loop iteration: 10% of a busy worker's time). Objects in
 * other lcores' caches are not counted: a worker's pools are used by that worker alone, so
 * that is at most what the main lcore freed there, and the estimate errs low.
 */
unsigned dp_pool_avail(const struct rte_mempool *mp);

#endif
