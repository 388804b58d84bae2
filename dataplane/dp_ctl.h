/**
 * @file dp_ctl.h
 * Control-core requests to the workers: how a management command (clients, kick, retained,
 * publish ...) reads or changes state that a worker owns, without a lock on the worker's
 * fast path and without the control core ever waiting on a worker for longer than a bound.
 *
 * How it works:
 *   1. the control core builds a struct dp_ctl_req (kind + arguments) with an eventfd, and
 *      posts it to each worker concerned (dp_ctl_post: a BRK_X_CTL message in the worker's
 *      inbox ring, the same ring cross-worker fan-out uses; the worker is woken);
 *   2. the worker, between two loop iterations, runs the request against its own broker
 *      state (lib/broker's brk_ctl_* functions), fills its part of the reply (a malloc'd
 *      array of JSON records), marks the part done (release store) and writes the eventfd;
 *   3. the control core waits on the eventfd with a deadline (dp_ctl_wait). A worker that
 *      has not answered by then is reported as such; its part is ignored.
 *
 * Lifetime: the request is reference counted (the control core's reference plus one per
 * posted worker). Whoever drops the last reference frees it, so a worker answering after
 * the control core gave up frees it, and the control core never waits for that.
 *
 * Threads: dp_ctl_req_new / post / wait / put on the control core; dp_ctl_handle and
 * dp_ctl_abandon on the worker owning the part (or the main lcore at teardown).
 * Errors: negative errno.
 */
#ifndef TACHYON_DP_CTL_H
#define TACHYON_DP_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct brk_worker;

/** What a request asks. */
enum dp_ctl_kind {
	DP_CTL_CLIENTS = 1,   /**< sessions as records (filters below), one per session */
	DP_CTL_SUBS,          /**< subscriptions as records, one per (session, filter) */
	DP_CTL_KICK,          /**< disconnect client @c id (no records) */
	DP_CTL_RETAINED,      /**< retained messages matching @c filter, one record each */
	DP_CTL_PUBLISH,       /**< publish @c topic / @c payload as the broker (no records) */
	DP_CTL_RETAINED_CLEAR, /**< remove the retained message of @c topic (no records) */
};

/** One record of a reply: a JSON object as text, and a key to sort by. */
struct dp_ctl_rec {
	char *key;            /**< client id or topic (sorting, paging) */
	char *json;           /**< one JSON object */
};

/** One worker's part of the reply. */
struct dp_ctl_part {
	struct dp_ctl_rec *recs;
	size_t n, cap;
	int rc;               /**< 0, or a negative errno (e.g. -ENOENT for kick) */
	uint32_t posted;      /**< set by the control core when posted */
	uint32_t done;        /**< atomic: the part is complete (release store by the worker) */
};

struct dp_ctl_req {
	uint32_t refs;        /**< atomic reference count */
	int efd;              /**< eventfd, written once per finished part */
	enum dp_ctl_kind kind;
	/* ---- arguments (read-only once posted) ---- */
	char *id;             /**< exact client id (CLIENTS/SUBS: filter, KICK: target), or NULL */
	char *prefix;         /**< CLIENTS: client id prefix, or NULL */
	char *filter;         /**< SUBS: exact subscription filter; RETAINED: topic filter */
	int state;            /**< CLIENTS: 0 any, 1 online only, 2 offline only */
	uint8_t version;      /**< CLIENTS: protocol version (3, 4, 5), 0 any */
	bool offline;         /**< CLIENTS/SUBS: include offline sessions */
	bool with_subs;       /**< CLIENTS: add each session's subscriptions */
	bool with_payload;    /**< RETAINED: add the payload */
	char *topic;          /**< PUBLISH */
	uint8_t *payload;     /**< PUBLISH */
	uint32_t len;
	uint8_t qos;
	bool retain;
	unsigned n_parts;
	struct dp_ctl_part part[]; /**< indexed by worker */
};

/**
 * A new request for @p n_workers workers, one reference (the caller's).
 * @return the request, or NULL (errno) when out of memory or no eventfd.
 */
struct dp_ctl_req *dp_ctl_req_new(enum dp_ctl_kind kind, unsigned n_workers);

/**
 * Post @p r to worker @p worker. Control core.
 * @return 0; -ENOBUFS the worker's inbox is full; -EINVAL no such worker.
 */
int dp_ctl_post(struct dp_ctl_req *r, unsigned worker);

/**
 * Wait until every posted part is done, at most @p timeout_ms. Control core.
 * @return the number of posted parts still not done (0: all answered).
 */
unsigned dp_ctl_wait(struct dp_ctl_req *r, int timeout_ms);

/** True if part @p i was posted and is done (acquire load: its contents may be read). */
bool dp_ctl_part_done(const struct dp_ctl_req *r, unsigned i);

/** Drop a reference; the last frees the request, its arguments and every part's records. */
void dp_ctl_req_put(struct dp_ctl_req *r);

/** Worker side: run @p r on broker worker @p bw (index @p i), complete part i, drop the
 *  worker's reference. */
void dp_ctl_handle(struct dp_ctl_req *r, struct brk_worker *bw, unsigned i);

/** Complete part @p i with -ESHUTDOWN without running it (teardown), drop the reference. */
void dp_ctl_abandon(struct dp_ctl_req *r, unsigned i);

#endif /* TACHYON_DP_CTL_H */
