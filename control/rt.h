/**
 * @file rt.h
 * tachyond's run-time state, owned by the control core (main lcore): the configuration, the
 * port, the workers and their pools, and the management server. main.c builds it at
 * start-up and tears it down; the management commands (rt_cmds.c) read it.
 *
 * Thread-safety: the control core's thread only. Worker state inside is read through the
 * relaxed snapshot functions (dp_worker_counters_snapshot, net_counters_snapshot).
 */
#ifndef TACHYON_RT_H
#define TACHYON_RT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dp_port.h"
#include "dp_worker.h"

struct mgmt;
struct mgmt_cmd;
struct rt_persist;
struct json_writer;
struct rte_mempool;

/** Upper bound on workers (RTE_MAX_LCORE is larger; one queue pair per worker per port). */
#define RT_MAX_WORKERS 64

struct rt {
	struct tachyon_config cfg;
	uint64_t start_ns;                  /**< CLOCK_MONOTONIC at start, for uptime */
	struct dp_port port;                /**< the one port (tap or PCI) */
	unsigned n_workers;
	struct dp_worker *workers;          /**< n_workers, cache-aligned (rte_zmalloc) */
	struct rte_mempool *pools[RT_MAX_WORKERS]; /**< per worker: 2 KiB mbufs (rx_mbufs):
						    *   receive, TLS, large copies */
	struct rte_mempool *tx_pools[RT_MAX_WORKERS]; /**< per worker: small mbufs (mbufs):
						       *   headers, references, small copies */
	struct mgmt *mgmt;
	struct rt_persist *persist;         /**< NULL when persistence is off (rt_persist.c) */
};

/** The management command table (ctx = struct rt). */
extern const struct mgmt_cmd rt_cmds[];

struct mgmt_req;

/** `stats` (stats.c): per-worker loop/net/L4 counters, per-port DPDK stats, totals. */
int rt_cmd_stats(struct mgmt_req *req);

/** `tls-reload` (rt_tls.c): new TLS contexts from the listeners' files. */
int rt_cmd_tls_reload(struct mgmt_req *req);

/* Operations commands (rt_ops.c): state owned by the workers, asked through dp_ctl
 * requests with a bounded wait; configuration changes at run time. */
int rt_cmd_clients(struct mgmt_req *req);
int rt_cmd_client(struct mgmt_req *req);
int rt_cmd_kick(struct mgmt_req *req);
int rt_cmd_sessions(struct mgmt_req *req);
int rt_cmd_subscriptions(struct mgmt_req *req);
int rt_cmd_retained(struct mgmt_req *req);
int rt_cmd_publish(struct mgmt_req *req);
int rt_cmd_config(struct mgmt_req *req);
int rt_cmd_reload(struct mgmt_req *req);
int rt_cmd_log(struct mgmt_req *req);

/* ---- persistence (rt_persist.c), in start-up order; each returns 0 or -1 with err ---- */
/** Open and recover the store (before the EAL: an unreadable store stops us early). */
int rt_persist_open(struct rt *rt, char *err, size_t errlen);
/** Create the workers' record rings (after the EAL, before the workers attach). */
int rt_persist_attach(struct rt *rt, char *err, size_t errlen);
/** Rebuild the recovered state in the broker (workers attached, not launched). */
int rt_persist_restore(struct rt *rt, char *err, size_t errlen);
/** Wait on the workers' eventfd and the commit/snapshot timer in mgmt_run(). */
int rt_persist_watch(struct rt *rt, char *err, size_t errlen);
/** After the workers stopped: last records, final snapshot, close. */
void rt_persist_close(struct rt *rt);
/** `stats`: the "persistence" object (nothing when persistence is off). */
void rt_persist_stats_json(const struct rt *rt, struct json_writer *w);
/** `snapshot`: write a snapshot now. */
int rt_cmd_snapshot(struct mgmt_req *req);

/** Seconds since start (monotonic). */
double rt_uptime_s(const struct rt *rt);

#endif /* TACHYON_RT_H */
