/**
 * @file dp_msgmem.c
 * Message memory in DPDK memory (see dp_msgmem.h): size-class mempools for messages with
 * an rte_malloc fallback, a descriptor mempool, and IOVA lookup for the send path.
 *
 * Every message block starts with a 16-byte tag saying where it came from (class index or
 * the heap), so a free needs no lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <inttypes.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_mempool.h>

#include "broker/brk.h"
#include "dp_msgmem.h"
#include "dp_pool.h"
#include "util/json.h"
#include "util/log.h"

#define DP__MM_CLASSES 4
#define DP__MM_HEAP 0xffu
#define DP__MM_MAGIC 0x7a63686du

/* Object sizes, tag and struct brk_msg (~350 bytes) included: a small PUBLISH (about 400
 * bytes of topic and payload), then 2, 8 and 64 KiB. */
static const uint32_t dp__mm_size[DP__MM_CLASSES] = { 768, 2048, 8192, 65536 };

struct dp__mm_tag {
	uint32_t magic;
	uint8_t cls;                   /* class index, or DP__MM_HEAP */
	uint8_t pad[11];
};
_Static_assert(sizeof(struct dp__mm_tag) == 16, "the tag keeps 16-byte alignment");

static struct rte_mempool *dp__mm_pool[DP__MM_CLASSES];
static struct rte_mempool *dp__mm_desc;
static uint64_t dp__mm_heap_allocs;  /* atomics: messages from rte_malloc */
static uint64_t dp__mm_fail;         /* no memory anywhere */
static bool dp__mm_iova_va;

static void *dp__mm_alloc(void *ctx, size_t size)
{
	(void)ctx;
	size_t need = size + sizeof(struct dp__mm_tag);
	struct dp__mm_tag *t = NULL;
	unsigned cls;
	for (cls = 0; cls < DP__MM_CLASSES; cls++) {
		if (need > dp__mm_size[cls] || dp__mm_pool[cls] == NULL)
			continue;
		void *o;
		if (rte_mempool_get(dp__mm_pool[cls], &o) == 0) {
			t = o;
			break;
		}
	}
	if (t == NULL) {
		cls = DP__MM_HEAP;
		t = rte_malloc("brk_msg", need, 16);
		if (t == NULL) {
			__atomic_fetch_add(&dp__mm_fail, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		__atomic_fetch_add(&dp__mm_heap_allocs, 1, __ATOMIC_RELAXED);
	}
	t->magic = DP__MM_MAGIC;
	t->cls = (uint8_t)cls;
	return t + 1;
}

static void dp__mm_free(void *ctx, void *p)
{
	(void)ctx;
	if (p == NULL)
		return;
	struct dp__mm_tag *t = (struct dp__mm_tag *)p - 1;
	RTE_ASSERT(t->magic == DP__MM_MAGIC);
	t->magic = 0;
	if (t->cls == DP__MM_HEAP)
		rte_free(t);
	else
		rte_mempool_put(dp__mm_pool[t->cls], t);
}

int dp_msgmem_init(unsigned pool_mb, unsigned n_descs)
{
	if (dp__mm_desc != NULL)
		return 0; /* once per process: the pools outlive a broker (mbufs in flight) */
	dp__mm_iova_va = rte_eal_iova_mode() == RTE_IOVA_VA;
	uint64_t per_class = (uint64_t)pool_mb * 1024 * 1024 / DP__MM_CLASSES;
	for (unsigned i = 0; i < DP__MM_CLASSES && pool_mb > 0; i++) {
		uint64_t n = per_class / dp__mm_size[i];
		if (n < 16)
			continue; /* too little for this class: larger messages use the heap */
		if (n > UINT32_MAX / 2)
			n = UINT32_MAX / 2;
		unsigned cache = n / 16 < 128 ? (unsigned)(n / 16) : 128;
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "msg_%u", dp__mm_size[i]);
		dp__mm_pool[i] = rte_mempool_create(name, (unsigned)n, dp__mm_size[i], cache, 0,
						    NULL, NULL, NULL, NULL, SOCKET_ID_ANY,
						    dp_pool_pack_flags());
		if (dp__mm_pool[i] == NULL) {
			TLOG_ERR("msgmem", "no room for %" PRIu64 " x %u bytes (%s): raise "
				  "memory_mb or lower message_pool_mb", n, dp__mm_size[i],
				  rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	if (n_descs < 1024)
		n_descs = 1024;
	dp__mm_desc = rte_mempool_create("msg_desc", n_descs, 64, 256, 0, NULL, NULL, NULL,
					 NULL, SOCKET_ID_ANY, dp_pool_pack_flags());
	if (dp__mm_desc == NULL) {
		TLOG_ERR("msgmem", "no room for %u send descriptors (%s)", n_descs,
			  rte_strerror(rte_errno));
		return -ENOMEM;
	}
	struct brk_msg_alloc a = { .alloc = dp__mm_alloc, .free = dp__mm_free, .ctx = NULL };
	brk_msg_set_alloc(&a);
	return 0;
}

void *dp_msgmem_desc_get(size_t size)
{
	if (size > 64 || dp__mm_desc == NULL)
		return NULL;
	void *d;
	return rte_mempool_get(dp__mm_desc, &d) == 0 ? d : NULL;
}

void dp_msgmem_desc_put(void *d)
{
	rte_mempool_put(dp__mm_desc, d);
}

rte_iova_t dp_msgmem_iova(const void *addr, size_t len, size_t *contig)
{
	*contig = len;
	if (dp__mm_iova_va)
		return (rte_iova_t)(uintptr_t)addr;
	const struct rte_memseg *ms = rte_mem_virt2memseg(addr, NULL);
	if (ms == NULL || ms->iova == RTE_BAD_IOVA)
		return (rte_iova_t)(uintptr_t)addr; /* not DPDK memory, or no IO addresses (tap) */
	size_t off = (size_t)((const uint8_t *)addr - (const uint8_t *)ms->addr);
	if (ms->len - off < len)
		*contig = ms->len - off;
	return ms->iova + off;
}

void dp_msgmem_stats_json(struct json_writer *jw)
{
	json_key(jw, "message_memory");
	json_obj_begin(jw);
	json_key(jw, "classes");
	json_arr_begin(jw);
	for (unsigned i = 0; i < DP__MM_CLASSES; i++) {
		if (dp__mm_pool[i] == NULL)
			continue;
		json_obj_begin(jw);
		json_kv_u64(jw, "size", dp__mm_size[i]);
		json_kv_u64(jw, "in_use", rte_mempool_in_use_count(dp__mm_pool[i]));
		json_kv_u64(jw, "available", rte_mempool_avail_count(dp__mm_pool[i]));
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_kv_u64(jw, "heap_allocs", __atomic_load_n(&dp__mm_heap_allocs, __ATOMIC_RELAXED));
	json_kv_u64(jw, "failures", __atomic_load_n(&dp__mm_fail, __ATOMIC_RELAXED));
	if (dp__mm_desc != NULL) {
		json_kv_u64(jw, "descs_in_use", rte_mempool_in_use_count(dp__mm_desc));
		json_kv_u64(jw, "descs_available", rte_mempool_avail_count(dp__mm_desc));
	}
	json_obj_end(jw);
}
