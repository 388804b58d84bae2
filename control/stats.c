/**
 * @file stats.c
 * The `stats` command: every worker's loop counters (dp_worker), L2/L3 counters (net_if) and
 * transport counters (the L4 hook's stats_json), each port's DPDK statistics
 * (rte_eth_stats_get), the workers' mbuf pools, and totals over the workers. Worker counters are read with relaxed
 * loads while the workers run (see net.h): each value is exact, the set is not one instant.
 */
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "mgmt.h"
#include "dp_mqtt.h"
#include "rt.h"
#include "util/json.h"

static void stats__counters(struct json_writer *w, const char *key, const uint64_t *v,
			    const char *const *names, unsigned n)
{
	json_key(w, key);
	json_obj_begin(w);
	for (unsigned i = 0; i < n; i++)
		json_kv_u64(w, names[i], v[i]);
	json_obj_end(w);
}

static void stats__port(struct json_writer *w, const struct dp_port *p)
{
	struct rte_eth_stats st;
	json_obj_begin(w);
	json_kv_u64(w, "id", p->port_id);
	json_kv_str(w, "name", p->name);
	if (p->started && rte_eth_stats_get(p->port_id, &st) == 0) {
		json_kv_u64(w, "ipackets", st.ipackets);
		json_kv_u64(w, "opackets", st.opackets);
		json_kv_u64(w, "ibytes", st.ibytes);
		json_kv_u64(w, "obytes", st.obytes);
		json_kv_u64(w, "imissed", st.imissed);
		json_kv_u64(w, "ierrors", st.ierrors);
		json_kv_u64(w, "oerrors", st.oerrors);
		json_kv_u64(w, "rx_nombuf", st.rx_nombuf);
	}
	json_obj_end(w);
}

int rt_cmd_stats(struct mgmt_req *req)
{
	const struct rt *rt = req->ctx;
	struct json_writer *w = req->out;
	struct dp_worker_counters tot_loop = { 0 };
	struct net_counters tot_net = { 0 };

	json_kv_double(w, "uptime_s", rt_uptime_s(rt));
	json_key(w, "workers");
	json_arr_begin(w);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		const struct dp_worker *dw = &rt->workers[i];
		struct dp_worker_counters lc;
		struct net_counters nc;
		dp_worker_counters_snapshot(dw, &lc);
		net_counters_snapshot(&dw->nif, &nc);
		for (unsigned k = 0; k < dp_worker_counter_count; k++)
			((uint64_t *)&tot_loop)[k] += ((const uint64_t *)&lc)[k];
		for (unsigned k = 0; k < net_counter_count; k++)
			((uint64_t *)&tot_net)[k] += ((const uint64_t *)&nc)[k];

		json_obj_begin(w);
		json_kv_u64(w, "index", dw->index);
		json_kv_u64(w, "lcore", dw->lcore_id);
		stats__counters(w, "loop", (const uint64_t *)&lc, dp_worker_counter_names,
				dp_worker_counter_count);
		stats__counters(w, "net", (const uint64_t *)&nc, net_counter_names,
				net_counter_count);
		if (dw->l4.stats_json != NULL) {
			json_key(w, "l4");
			json_obj_begin(w);
			dw->l4.stats_json(dw->l4.ctx, w);
			json_obj_end(w);
		}
		json_obj_end(w);
	}
	json_arr_end(w);

	json_key(w, "totals");
	json_obj_begin(w);
	stats__counters(w, "loop", (const uint64_t *)&tot_loop, dp_worker_counter_names,
			dp_worker_counter_count);
	stats__counters(w, "net", (const uint64_t *)&tot_net, net_counter_names,
			net_counter_count);
	json_obj_end(w);

	/* The broker's counters are process-wide (summed over workers by lib/broker). */
	if (rt->n_workers > 0 && rt->workers[0].mqtt != NULL)
		dp_mqtt_stats_json(rt->workers[0].mqtt, w);
	rt_persist_stats_json(rt, w);

	json_key(w, "ports");
	json_arr_begin(w);
	stats__port(w, &rt->port);
	json_arr_end(w);

	/* Per-worker mbuf pools: mbuf_w<k> (2 KiB: receive, TLS, large copies) and
	 * mbuf_tx_w<k> (small: headers, references, small copies). The counts read the pool's
	 * ring and every lcore cache without a lock: approximate while the worker runs, exact
	 * once it is idle (which is what the tests compare against the count at start). */
	json_key(w, "mempools");
	json_arr_begin(w);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		const struct rte_mempool *pools[2] = { rt->pools[i], rt->tx_pools[i] };
		for (unsigned k = 0; k < 2; k++) {
			const struct rte_mempool *mp = pools[k];
			if (mp == NULL)
				continue;
			json_obj_begin(w);
			json_kv_str(w, "name", mp->name);
			json_kv_u64(w, "worker", i);
			json_kv_u64(w, "size", mp->size);
			json_kv_u64(w, "in_use", rte_mempool_in_use_count(mp));
			json_kv_u64(w, "available", rte_mempool_avail_count(mp));
			json_kv_u64(w, "data_room", rte_pktmbuf_data_room_size(
						     (struct rte_mempool *)mp));
			json_obj_end(w);
		}
	}
	json_arr_end(w);

	/* Each worker's inbox ring (fan-out, takeovers and control requests to it): its depth
	 * is the backlog a slow worker builds up. */
	json_key(w, "rings");
	json_arr_begin(w);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		if (rt->workers[i].mqtt == NULL)
			continue;
		unsigned cnt, cap;
		char name[32];
		dp_mqtt_inbox_depth(rt->workers[i].mqtt, &cnt, &cap);
		snprintf(name, sizeof(name), "w%u.inbox", i);
		json_obj_begin(w);
		json_kv_str(w, "name", name);
		json_kv_u64(w, "count", cnt);
		json_kv_u64(w, "capacity", cap);
		json_obj_end(w);
	}
	json_arr_end(w);
	return 0;
}
