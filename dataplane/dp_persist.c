/**
 * @file dp_persist.c
 * Durable-state records from the workers to the control core (see dp_persist.h): encode on
 * the worker, one single-producer/single-consumer ring per worker, an overflow list when the
 * ring is full (the worker never blocks), fences between workers, and the durable count
 * published back.
 *
 * How a fence works
 * -----------------
 * Each worker counts the records it handed over (seq, written by the worker with release
 * order after the frame is in its ring or overflow list); the control core counts those it
 * took from each worker (taken). A fenced record carries, for every other worker j, the
 * value of seq[j] read when the record was made: the control core applies it only once
 * taken[j] >= that value for all j. Until then the frame, and every frame behind it in the
 * same worker's ring, wait on that worker's held list; the other workers' rings go on
 * draining, so the fence is met within a loop of each of them (their overflow lists reach
 * the rings in dp_persist_poll()).
 *
 * Why it is enough for a session takeover: worker A writes its last records about the old
 * session, then posts the state (XFER) to worker B through B's inbox ring; B reads seq[A]
 * after dequeuing it, so the value includes them (ring enqueue/dequeue order the two).
 *
 * Why it cannot deadlock: a fence on B waits for A's records up to the moment B read
 * seq[A], all made before B's fenced record. Two fences waiting on each other would each
 * need the other's record made before its own. Records a fence waits for are in a ring
 * or an overflow list, which the worker (or, at shutdown, dp_persist_flush_overflow()) moves
 * into the ring, so every fence is met eventually.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ring.h>

#include "broker/brk.h"
#include "dp_persist.h"
#include "plog/plog_record.h"

#define DP__PRING_SIZE 65536 /* records in flight to the control core, per worker */

struct dp__pframe {
	struct dp__pframe *next; /**< overflow list (worker), then held list (control core) */
	const uint64_t *after;   /**< NULL, or per worker: records to take from it first */
	uint32_t len;
	uint8_t data[];
};

struct dp__pw {
	struct rte_ring *ring;
	struct dp__pframe *ovf, *ovf_tail; /* worker: frames the ring refused, in order */
	uint64_t seq;                /* atomic: records handed over (worker-local sequence);
					written by the worker only */
	uint64_t bytes;              /* their frame bytes (worker only) */
	uint64_t durable;            /* atomic: written by the control core */
	uint64_t taken, taken_bytes; /* atomic: records (bytes) the control core took (fn
					called); written by the control core only */
	uint32_t throttled;          /* atomic: the worker paused connections for the backlog
					and wants a wake-up once it is down to half */
	struct dp__pframe *held, *held_tail; /* control core: dequeued, waiting for a fence */
	unsigned index;
};

static struct dp__pw dp__pws[BRK_MAX_WORKERS];
static unsigned dp__pn;
static int dp__efd = -1;
static bool dp__sync;
static uint32_t dp__pending_kick; /* atomic: the eventfd was written, not drained yet */
static void (*dp__wake)(unsigned worker);
static uint64_t dp__fenced, dp__fence_waits; /* control core only */

static void dp__kick(void)
{
	if (__atomic_load_n(&dp__pending_kick, __ATOMIC_RELAXED) == 0 &&
	    __atomic_exchange_n(&dp__pending_kick, 1, __ATOMIC_ACQ_REL) == 0) {
		uint64_t one = 1;
		if (write(dp__efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, the control core is awake anyway. */
		}
	}
}

/* Move what waits on the overflow list into the ring, in order. @return whether any is
 * still waiting. */
static bool dp__ovf_flush(struct dp__pw *pw)
{
	while (pw->ovf != NULL && rte_ring_sp_enqueue(pw->ring, pw->ovf) == 0) {
		pw->ovf = pw->ovf->next;
		if (pw->ovf == NULL)
			pw->ovf_tail = NULL;
	}
	return pw->ovf != NULL;
}

static int64_t dp__handover(struct dp__pw *pw, const struct plog_rec *rec, bool fenced)
{
	int64_t size = plog_rec_frame_size(rec);
	if (size < 0)
		return size;
	/* A fence's counts follow the frame bytes, 8-byte aligned from the struct's start. */
	size_t at = RTE_ALIGN_CEIL(offsetof(struct dp__pframe, data) + (size_t)size,
				   sizeof(uint64_t));
	size_t extra = fenced ? dp__pn * sizeof(uint64_t) : 0;
	struct dp__pframe *f = malloc(at + extra);
	if (f == NULL)
		return -ENOMEM;
	struct plog_rec r = *rec;
	r.seq = 0;
	if (plog_rec_encode(&r, f->data, (size_t)size) != size) {
		free(f);
		return -EINVAL;
	}
	f->len = (uint32_t)size;
	f->next = NULL;
	f->after = NULL;
	if (fenced) {
		uint64_t *after = (uint64_t *)(void *)((uint8_t *)f + at);
		for (unsigned j = 0; j < dp__pn; j++)
			after[j] = j == pw->index ? 0
						  : __atomic_load_n(&dp__pws[j].seq, __ATOMIC_ACQUIRE);
		f->after = after;
	}
	if (dp__ovf_flush(pw) || rte_ring_sp_enqueue(pw->ring, f) != 0) {
		if (pw->ovf_tail != NULL)
			pw->ovf_tail->next = f;
		else
			pw->ovf = f;
		pw->ovf_tail = f;
	}
	dp__kick();
	pw->bytes += (uint64_t)size; /* not f->len: f may already be the control core's */
	uint64_t seq = pw->seq + 1;
	__atomic_store_n(&pw->seq, seq, __ATOMIC_RELEASE);
	return (int64_t)seq;
}

static int64_t dp__persist(void *ctx, const struct plog_rec *rec)
{
	return dp__handover(ctx, rec, false);
}

static int64_t dp__persist_after_all(void *ctx, const struct plog_rec *rec)
{
	return dp__handover(ctx, rec, dp__pn > 1);
}

/* The worker asks after each packet and, while it has connections paused for the backlog,
 * every loop. While the backlog is over half its bound the control core is asked to wake
 * the worker after its next drain (so that it resumes them, or moves more of its overflow
 * list into the ring). */
static uint64_t dp__backlog(void *ctx, uint64_t *bytes)
{
	struct dp__pw *pw = ctx;
	uint64_t n = pw->seq - __atomic_load_n(&pw->taken, __ATOMIC_ACQUIRE);
	*bytes = pw->bytes - __atomic_load_n(&pw->taken_bytes, __ATOMIC_ACQUIRE);
	if (n > BRK_PERSIST_BACKLOG_RECORDS / 2 || *bytes > BRK_PERSIST_BACKLOG_BYTES / 2)
		__atomic_store_n(&pw->throttled, 1, __ATOMIC_RELEASE);
	return n;
}

static uint64_t dp__durable(void *ctx)
{
	struct dp__pw *pw = ctx;
	return __atomic_load_n(&pw->durable, __ATOMIC_ACQUIRE);
}

int dp_persist_init(unsigned n_workers, int efd, bool sync, void (*wake)(unsigned worker))
{
	if (n_workers == 0 || n_workers > BRK_MAX_WORKERS)
		return -EINVAL;
	for (unsigned i = 0; i < n_workers; i++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "plog_w%u", i);
		memset(&dp__pws[i], 0, sizeof(dp__pws[i]));
		dp__pws[i].index = i;
		dp__pws[i].ring = rte_ring_create(name, DP__PRING_SIZE, SOCKET_ID_ANY,
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (dp__pws[i].ring == NULL) {
			while (i-- > 0)
				rte_ring_free(dp__pws[i].ring);
			return -ENOMEM;
		}
	}
	dp__pn = n_workers;
	dp__efd = efd;
	dp__sync = sync;
	dp__wake = wake;
	return 0;
}

bool dp_persist_ops(unsigned worker, struct brk_worker_ops *ops)
{
	if (worker >= dp__pn)
		return false;
	ops->ctx = &dp__pws[worker];
	ops->persist = dp__persist;
	ops->persist_after_all = dp__persist_after_all;
	ops->durable = dp__sync ? dp__durable : NULL;
	ops->backlog = dp__backlog;
	return true;
}

void dp_persist_poll(unsigned worker)
{
	if (worker >= dp__pn)
		return;
	struct dp__pw *pw = &dp__pws[worker];
	if (pw->ovf != NULL) {
		dp__ovf_flush(pw);
		dp__kick();
	}
}

/* Control core: every record @p f must follow has been taken. */
static bool dp__fence_met(const struct dp__pframe *f)
{
	if (f->after == NULL)
		return true;
	for (unsigned j = 0; j < dp__pn; j++)
		if (__atomic_load_n(&dp__pws[j].taken, __ATOMIC_RELAXED) < f->after[j])
			return false;
	return true;
}

static void dp__hold(struct dp__pw *pw, struct dp__pframe *f)
{
	f->next = NULL;
	if (pw->held_tail != NULL)
		pw->held_tail->next = f;
	else
		pw->held = f;
	pw->held_tail = f;
}

/* Control core: hand @p f to @p fn and free it. */
static void dp__take(struct dp__pframe *f, int (*fn)(void *arg, const uint8_t *frame, uint32_t len),
		     void *arg)
{
	if (f->after != NULL)
		dp__fenced++;
	fn(arg, f->data, f->len);
	free(f);
}

unsigned dp_persist_drain(unsigned i, int (*fn)(void *arg, const uint8_t *frame, uint32_t len),
			  void *arg, unsigned max)
{
	if (i >= dp__pn)
		return 0;
	struct dp__pw *pw = &dp__pws[i];
	if (i == 0)
		__atomic_store_n(&dp__pending_kick, 0, __ATOMIC_RELEASE);
	unsigned total = 0;
	uint64_t bytes = 0;
	/* Frames held for a fence first: they are older than anything in the ring. */
	while (pw->held != NULL && total < max && dp__fence_met(pw->held)) {
		struct dp__pframe *f = pw->held;
		pw->held = f->next;
		if (pw->held == NULL)
			pw->held_tail = NULL;
		bytes += f->len;
		dp__take(f, fn, arg);
		total++;
	}
	void *v[64];
	unsigned n = 0;
	while (pw->held == NULL && total < max) {
		unsigned want = max - total < RTE_DIM(v) ? max - total : RTE_DIM(v);
		n = rte_ring_sc_dequeue_burst(pw->ring, v, want, NULL);
		for (unsigned k = 0; k < n; k++) {
			struct dp__pframe *f = v[k];
			if (pw->held != NULL || !dp__fence_met(f)) {
				dp__hold(pw, f); /* it and all behind it wait */
				continue;
			}
			bytes += f->len;
			dp__take(f, fn, arg);
			total++;
		}
		if (n < want)
			break;
	}
	if (pw->held != NULL)
		dp__fence_waits++;
	if (total == 0)
		return 0;
	/* Only this thread writes taken: plain read, release store (dp__backlog). */
	uint64_t taken = __atomic_load_n(&pw->taken, __ATOMIC_RELAXED) + total;
	uint64_t tbytes = __atomic_load_n(&pw->taken_bytes, __ATOMIC_RELAXED) + bytes;
	__atomic_store_n(&pw->taken_bytes, tbytes, __ATOMIC_RELEASE);
	__atomic_store_n(&pw->taken, taken, __ATOMIC_RELEASE);
	if (__atomic_load_n(&pw->throttled, __ATOMIC_ACQUIRE) != 0 &&
	    __atomic_exchange_n(&pw->throttled, 0, __ATOMIC_ACQ_REL) != 0 && dp__wake != NULL)
		dp__wake(i); /* to resume its paused connections, or flush */
	return total;
}

void dp_persist_durable(unsigned i, uint64_t n)
{
	if (i >= dp__pn || __atomic_load_n(&dp__pws[i].durable, __ATOMIC_RELAXED) >= n)
		return;
	__atomic_store_n(&dp__pws[i].durable, n, __ATOMIC_RELEASE);
	if (dp__wake != NULL)
		dp__wake(i);
}

bool dp_persist_flush_overflow(void)
{
	bool left = false;
	for (unsigned i = 0; i < dp__pn; i++)
		left |= dp__ovf_flush(&dp__pws[i]);
	return left;
}

void dp_persist_fence_stats(uint64_t *fenced, uint64_t *waits)
{
	*fenced = dp__fenced;
	*waits = dp__fence_waits;
}

uint64_t dp_persist_pending(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < dp__pn; i++) {
		/* taken first: a frame can be taken before its worker counts it in seq. */
		uint64_t t = __atomic_load_n(&dp__pws[i].taken, __ATOMIC_ACQUIRE);
		uint64_t s = __atomic_load_n(&dp__pws[i].seq, __ATOMIC_ACQUIRE);
		n += s > t ? s - t : 0;
	}
	return n;
}

static void dp__free_list(struct dp__pframe *f)
{
	while (f != NULL) {
		struct dp__pframe *n = f->next;
		free(f);
		f = n;
	}
}

void dp_persist_fini(void)
{
	for (unsigned i = 0; i < dp__pn; i++) {
		struct dp__pw *pw = &dp__pws[i];
		void *f;
		while (rte_ring_sc_dequeue(pw->ring, &f) == 0)
			free(f);
		dp__free_list(pw->ovf);
		dp__free_list(pw->held);
		rte_ring_free(pw->ring);
		memset(pw, 0, sizeof(*pw));
	}
	dp__pn = 0;
	dp__efd = -1;
	dp__wake = NULL;
}
