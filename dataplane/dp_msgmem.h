/**
 * @file dp_msgmem.h
 * Message memory in DPDK memory: the broker's messages (struct brk_msg, which holds the
 * payload every subscriber's segments point at) and the external-buffer descriptors of
 * each send come from here, so a PCI NIC can DMA the payload straight out of the message.
 * malloc() memory is not in the IOMMU's map (IOVA as VA) nor physically known (IOVA as
 * PA); only the tap PMD, which copies by virtual address, could send from it.
 *
 * Messages: size classes of rte_mempools (objects IOVA-contiguous, packed as dp_pool.h says;
 * per-lcore caches, so no lock on the publish path); a message larger than the largest class, or one arriving when
 * its class and every larger one are empty, comes from rte_malloc (the heap's lock; counted
 * as a fallback). Out of both: NULL, and the broker drops the publish (Server busy).
 * Descriptors: one fixed-size mempool.
 *
 * Threads: dp_msgmem_init() on the main lcore before any worker runs (and before
 * brk_shared_create, which it must precede to set the broker's allocator); everything else
 * from any thread. The pools live until the process ends (mbufs in flight still point into
 * them at shutdown).
 */
#ifndef TACHYON_DP_MSGMEM_H
#define TACHYON_DP_MSGMEM_H

#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

struct json_writer;

/**
 * Create the pools and make them the broker's message allocator.
 * @param pool_mb  MiB spread over the size classes (0: every message from rte_malloc)
 * @param n_descs  external-buffer descriptors (one per send carrying a payload in flight)
 * @return 0, or -ENOMEM (EAL memory too small: raise memory_mb or lower message_pool_mb).
 */
int dp_msgmem_init(unsigned pool_mb, unsigned n_descs);

/** A descriptor's worth of memory (@p size at most the descriptor size), or NULL. */
void *dp_msgmem_desc_get(size_t size);

/** Return a descriptor. Any thread. */
void dp_msgmem_desc_put(void *d);

/**
 * The IO address of @p addr for a NIC, and in @p contig how many of the next @p len bytes
 * are contiguous in IO space from it (len when IOVA is VA; up to the end of the memory
 * segment when IOVA is PA).
 */
rte_iova_t dp_msgmem_iova(const void *addr, size_t len, size_t *contig);

/** "message_memory" section of `stats`: per class size, in use, free; fallbacks, failures. */
void dp_msgmem_stats_json(struct json_writer *jw);

#endif /* TACHYON_DP_MSGMEM_H */
