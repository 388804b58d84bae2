/**
 * @file dp_persist.h
 * The persistence transport: durable-state records from each worker to the control core
 * (docs/durability.md). The broker on a worker describes a change as a plog record and
 * hands it over through struct brk_worker_ops (dp_persist_ops()); the control core
 * (control/rt_persist.c) takes the frames with dp_persist_drain(), appends them to the log
 * and, after each fsync, publishes per worker how many are on disk (dp_persist_durable()).
 *
 * Order. Records of one worker reach the control core in the order they were handed over.
 * Records of different workers are independent, except where the broker asks for a fence
 * (ops->persist_after_all): such a record is taken only after every record any other worker
 * had handed over before it. A session's new owner logs the session's creation that way,
 * so the old owner's last records about it (a message queued, a subscription) come first.
 *
 * Threads: dp_persist_init/fini on the main lcore with no worker running; the ops and
 * dp_persist_poll() on worker @c i's thread only (single producer per ring); drain,
 * durable and flush_overflow on the control core only (single consumer).
 */
#ifndef TACHYON_DP_PERSIST_H
#define TACHYON_DP_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

struct brk_worker_ops;

/**
 * Create one record ring per worker. @p efd: an eventfd the control core polls, written
 * when records wait (at most once per drain of worker 0). @p sync: the broker holds
 * acknowledgements until their records are durable (ops->durable set). @p wake: called
 * (from the control core) to wake worker @c i when its records became durable or its
 * backlog went down; may be NULL.
 * @return 0, -EINVAL (n_workers 0 or over BRK_MAX_WORKERS), -ENOMEM.
 */
int dp_persist_init(unsigned n_workers, int efd, bool sync, void (*wake)(unsigned worker));

/**
 * Fill the persistence members of worker @p worker's broker ops (ctx, persist,
 * persist_after_all, durable in sync mode, backlog). Leaves @p ops alone when persistence
 * is off or the worker has no ring. @return whether it set them.
 */
bool dp_persist_ops(unsigned worker, struct brk_worker_ops *ops);

/**
 * Worker @p worker's loop: move records that found its ring full into it, in order (they
 * would otherwise wait for the worker's next record). Cheap when nothing waits.
 */
void dp_persist_poll(unsigned worker);

/**
 * Control core: take up to @p max record frames (seq 0) worker @p i has handed over, in
 * order, calling @p fn for each (the frame is freed after the call). The n-th frame ever
 * taken from worker i is its record number n. A fenced frame whose fence is not met (the
 * other workers' records it must follow are not all taken yet) stops the drain of this
 * worker; it is retried on the next call, after the other workers were drained.
 * @return frames taken (fn called).
 */
unsigned dp_persist_drain(unsigned i, int (*fn)(void *arg, const uint8_t *frame, uint32_t len),
			  void *arg, unsigned max);

/** Control core: worker @p i's first @p n records are on disk (wakes the worker). */
void dp_persist_durable(unsigned i, uint64_t n);

/**
 * Control core, after the workers stopped: move records waiting on overflow lists into the
 * rings. @return true when some still wait (a ring is full: drain and call again).
 */
bool dp_persist_flush_overflow(void);

/**
 * Control core: fenced records taken so far, and the drains a fence stopped (each one a
 * worker's records waiting for the other workers' records to be taken first).
 */
void dp_persist_fence_stats(uint64_t *fenced, uint64_t *waits);

/** Records handed over but not taken yet, all workers (overflow, rings, held frames). */
uint64_t dp_persist_pending(void);

/** After the last worker stopped and the final drain: free the rings and what is left. */
void dp_persist_fini(void);

#endif
