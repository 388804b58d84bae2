/**
 * @file dp_l4.c
 * Attaches the TCP stack (lib/tcp) to a worker (see dp_l4.h): one struct tcp_stack per
 * worker, configured from the tcp_* keys, sending through net_ip_output() on the worker's
 * net_if; MQTT on it (dp_mqtt.c: the listeners of the config and the broker); the diagnostic
 * echo service when tcp_echo_port is set; the stack's counters in the worker's `stats` entry
 * under "tcp".
 *
 * Error convention: dp_l4_attach returns 0 or a negative errno (start-up stops).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>

#include "conf/conf.h"
#include "dp_l4.h"
#include "dp_mqtt.h"
#include "dp_worker.h"
#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_echo.h"
#include "util/json.h"

/* A worker's transport context (w->l4.ctx): its TCP stack (with MQTT on it, dp_mqtt.c)
 * and the optional echo service. */
struct dp__tcp {
	struct tcp_stack *stack;
	struct tcp_echo *echo;
};

static void dp__tcp_input(void *ctx, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip)
{
	tcp_input(((struct dp__tcp *)ctx)->stack, m, src_ip, dst_ip);
}

static void dp__tcp_poll(void *ctx, uint64_t now_ns)
{
	tcp_poll(((struct dp__tcp *)ctx)->stack, now_ns);
}

static uint64_t dp__tcp_deadline(void *ctx)
{
	return tcp_next_deadline_ns(((struct dp__tcp *)ctx)->stack);
}

/* Runs on the control core while the worker writes the counters: relaxed 64-bit loads give
 * each counter whole (x86-64 and arm64), the set as a whole is approximate. */
static void dp__tcp_stats_json(void *ctx, struct json_writer *jw)
{
	const struct tcp_stats *st = tcp_stack_stats(((struct dp__tcp *)ctx)->stack);
#define F(name) json_kv_u64(jw, #name, __atomic_load_n(&st->name, __ATOMIC_RELAXED))
	json_key(jw, "tcp");
	json_obj_begin(jw);
	F(segs_in);
	F(segs_out);
	F(bytes_in);
	F(bytes_out);
	F(retransmits);
	F(rto_expired);
	F(spurious_rtos);
	F(coalesced);
	F(gathered);
	F(out_link_busy);
	F(fast_retransmits);
	F(dup_acks);
	F(ooo_segs);
	F(ooo_drops);
	F(cksum_errors);
	F(malformed);
	F(resets_in);
	F(resets_out);
	F(challenge_acks);
	F(paws_drops);
	F(out_of_window);
	F(syncookies_sent);
	F(syncookies_ok);
	F(syncookies_bad);
	F(listen_drops);
	F(zero_window_probes);
	F(conns_opened);
	F(conns_closed);
	F(conns_timed_out);
	F(conns_cur);
	F(out_nobufs);
	F(mem_drops);
	F(tx_pool_fallbacks);
	json_obj_end(jw);
#undef F
}

static void dp__tcp_destroy(void *ctx)
{
	struct dp__tcp *t = ctx;
	tcp_echo_stop(t->echo);
	tcp_stack_destroy(t->stack);
	free(t);
}

int dp_l4_attach(struct dp_worker *w, const struct tachyon_config *cfg)
{
	memset(&w->l4, 0, sizeof(w->l4));
	struct dp__tcp *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	struct tcp_stack_config sc;
	memset(&sc, 0, sizeof(sc));
	sc.pool = w->pool;
	sc.tx_pool = w->tx_pool;
	sc.ip_output = net_ip_output;
	sc.ip_ctx = &w->nif;
	sc.mtu = cfg->mtu;
	/* Our data segments are chains of slices of arbitrary length. net_tap "offloads" in
	 * software with DPDK 22.11's multi-segment sum, which loses carries at odd segment
	 * boundaries (see tcp_out.c): on tap ports the stack computes the sum itself. */
	struct rte_eth_dev_info info;
	bool tap = rte_eth_dev_info_get(w->port_id, &info) == 0 && info.driver_name != NULL &&
		   strcmp(info.driver_name, "net_tap") == 0;
	sc.tx_cksum_offload = !tap && (w->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
	sc.rto_min_ms = cfg->tcp_rto_min_ms;
	sc.rto_max_ms = cfg->tcp_rto_max_ms;
	sc.max_retries = cfg->tcp_max_retries;
	sc.time_wait_ms = cfg->tcp_time_wait_ms;
	sc.delayed_ack_ms = cfg->tcp_delayed_ack_ms;
	sc.no_delayed_ack = cfg->tcp_delayed_ack_ms == 0;
	sc.max_conns = cfg->tcp_max_conns_per_worker;
	sc.syn_backlog = cfg->tcp_syn_backlog;
	sc.sndbuf = cfg->tcp_sndbuf;
	sc.rcvbuf = cfg->tcp_rcvbuf;
	sc.now_ns = dp_clock_ns(); /* secret left zero: random per worker */
	t->stack = tcp_stack_create(&sc);
	if (t->stack == NULL) {
		int rc = -rte_errno;
		free(t);
		return rc;
	}
	if (cfg->tcp_echo_port != 0) {
		t->echo = tcp_echo_start(t->stack, cfg->tcp_echo_port);
		if (t->echo == NULL) {
			int rc = -rte_errno;
			tcp_stack_destroy(t->stack);
			free(t);
			return rc;
		}
	}
	/* MQTT on this worker's stack: listeners, the broker's worker state, its inbox. */
	int mrc = dp_mqtt_attach(w, t->stack, cfg);
	if (mrc != 0) {
		tcp_echo_stop(t->echo);
		tcp_stack_destroy(t->stack);
		free(t);
		return mrc;
	}
	w->l4.ctx = t;
	w->l4.input = dp__tcp_input;
	w->l4.poll = dp__tcp_poll;
	w->l4.next_deadline_ns = dp__tcp_deadline;
	w->l4.stats_json = dp__tcp_stats_json;
	w->l4.destroy = dp__tcp_destroy;
	return 0;
}
