/**
 * @file rt_cmds.c
 * The management command table of the runtime and the commands that describe it: help,
 * status (version, uptime, workers, ports, addresses, listeners) and shutdown; `stats` lives
 * in stats.c. Adding a command = a row here and a handler (see mgmt.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "mgmt.h"
#include "rt.h"
#include "rt_auth.h"
#include "util/json.h"
#include "util/log.h"

double rt_uptime_s(const struct rt *rt)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return (double)(now - rt->start_ns) / 1e9;
}

static void rt__kv_ip(struct json_writer *w, const char *key, uint32_t ip)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = htonl(ip) };
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	json_kv_str(w, key, buf);
}

static int rt__cmd_help(struct mgmt_req *req)
{
	struct json_writer *w = req->out;
	json_key(w, "commands");
	json_arr_begin(w);
	for (const struct mgmt_cmd *c = mgmt_commands(req->m); c->name != NULL; c++) {
		json_obj_begin(w);
		json_kv_str(w, "name", c->name);
		json_kv_str(w, "help", c->help);
		json_obj_end(w);
	}
	json_arr_end(w);
	return 0;
}

static void rt__port_json(struct json_writer *w, const struct dp_port *p)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct rte_eth_link link = { 0 };
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);
	if (p->started)
		rte_eth_link_get_nowait(p->port_id, &link);
	json_obj_begin(w);
	json_kv_u64(w, "id", p->port_id);
	json_kv_str(w, "name", p->name);
	json_kv_str(w, "driver", p->driver);
	json_kv_str(w, "kind", p->is_tap ? "tap" : p->is_memif ? "memif" : "pci");
	if (p->is_tap)
		json_kv_str(w, "tap", p->tap_name);
	json_kv_str(w, "mac", mac);
	json_kv_bool(w, "link_up", link.link_status == RTE_ETH_LINK_UP);
	json_kv_u64(w, "speed_mbps", link.link_speed);
	json_kv_u64(w, "queues", p->n_queues);
	json_kv_bool(w, "rx_interrupts", p->rx_intr);
	json_kv_u64(w, "rx_offloads", p->rx_offloads);
	json_kv_u64(w, "tx_offloads", p->tx_offloads);
	json_obj_end(w);
}

static int rt__cmd_status(struct mgmt_req *req)
{
	const struct rt *rt = req->ctx;
	const struct tachyon_config *c = &rt->cfg;
	struct json_writer *w = req->out;

	json_kv_str(w, "version", TACHYON_VERSION);
	json_kv_i64(w, "pid", (int64_t)getpid());
	json_kv_double(w, "uptime_s", rt_uptime_s(rt));
	json_kv_str(w, "config", c->source_path[0] ? c->source_path : "(embedded default)");
	json_kv_str(w, "mgmt_socket", c->mgmt_socket);
	json_kv_str(w, "log_level", tlog_level_name(tlog_get_level()));

	json_key(w, "addresses");
	json_obj_begin(w);
	rt__kv_ip(w, "ip", c->ip);
	json_kv_u64(w, "prefix_len", c->prefix_len);
	if (c->gateway != 0)
		rt__kv_ip(w, "gateway", c->gateway);
	else
		json_kv_str(w, "gateway", NULL);
	if (rt->port.is_tap)
		rt__kv_ip(w, "kernel_ip", c->tap_kernel_ip);
	json_kv_u64(w, "mtu", c->mtu);
	json_obj_end(w);

	json_key(w, "listeners");
	json_arr_begin(w);
	for (unsigned i = 0; i < c->n_listeners; i++) {
		json_obj_begin(w);
		json_kv_u64(w, "port", c->listeners[i].port);
		rt__kv_ip(w, "address", c->listeners[i].bind_ip ? c->listeners[i].bind_ip : c->ip);
		json_kv_bool(w, "tls", c->listeners[i].tls);
		json_obj_end(w);
	}
	json_arr_end(w);

	json_key(w, "workers");
	json_arr_begin(w);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		const struct dp_worker *dw = &rt->workers[i];
		json_obj_begin(w);
		json_kv_u64(w, "index", dw->index);
		json_kv_u64(w, "lcore", dw->lcore_id);
		json_kv_u64(w, "port", dw->port_id);
		json_kv_u64(w, "queue", dw->queue_id);
		bool running = __atomic_load_n(&dw->running, __ATOMIC_ACQUIRE);
		json_kv_bool(w, "running", running);
		/* Set by the worker before `running`: valid once running was seen. */
		json_kv_str(w, "idle_backoff", running ? dw->idle_backoff : NULL);
		json_obj_end(w);
	}
	json_arr_end(w);

	json_key(w, "ports");
	json_arr_begin(w);
	rt__port_json(w, &rt->port);
	json_arr_end(w);
	return 0;
}

static int rt__cmd_shutdown(struct mgmt_req *req)
{
	TLOG_NOTICE("mgmt", "shutdown requested on the management socket");
	json_kv_str(req->out, "message", "shutting down");
	mgmt_stop(req->m);
	return 0;
}

const struct mgmt_cmd rt_cmds[] = {
	{ "help", "list the commands", rt__cmd_help },
	{ "status", "version, uptime, workers, ports, addresses, listeners", rt__cmd_status },
	{ "stats", "per-worker and per-port counters, DPDK port statistics", rt_cmd_stats },
	{ "shutdown", "stop the broker (as SIGTERM does)", rt__cmd_shutdown },
	{ "tls-reload", "re-read TLS certificates, keys and CA files", rt_cmd_tls_reload },
	{ "clients", "connected clients (filters: prefix, worker, protocol_version, state; "
	  "paging: offset, limit)", rt_cmd_clients },
	{ "client", "one client's detail and subscriptions (id)", rt_cmd_client },
	{ "kick", "disconnect a client (id): MQTT 5 gets DISCONNECT 0x98", rt_cmd_kick },
	{ "sessions", "sessions, offline ones included, with expiry", rt_cmd_sessions },
	{ "subscriptions", "subscriptions (by client or by filter)", rt_cmd_subscriptions },
	{ "retained", "retained messages: op list [filter] | get topic | clear topic",
	  rt_cmd_retained },
	{ "publish", "publish a message as the broker (topic, payload, qos, retain)",
	  rt_cmd_publish },
	{ "config", "settings: op get [key] | set key value (run-time keys)", rt_cmd_config },
	{ "reload", "re-read the config file, apply run-time keys, report the others",
	  rt_cmd_reload },
	{ "log", "the log level: get, or set with level", rt_cmd_log },
	RT_AUTH_CMDS,
	{ "snapshot", "write a persistence snapshot now", rt_cmd_snapshot },
	{ NULL, NULL, NULL },
};
