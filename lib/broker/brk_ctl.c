/**
 * @file brk_ctl.c
 * The broker's side of the management commands: listing a worker's sessions and their
 * subscriptions, kicking a client, reading retained messages, publishing as the broker,
 * applying changed settings, and the publish-to-deliver latency histogram.
 *
 * Where it sits: the control core never touches a worker's sessions. It posts a request to
 * the worker (BRK_X_CTL, carried by the runtime: dataplane/dp_ctl.c), and the worker calls
 * these functions on its own thread between two packets, so they read the session lists
 * with no lock and no race. The settings are the one thing written from the control core:
 * each field of struct brk_settings is one aligned word, stored atomically, read by the
 * workers per packet.
 */
#include <errno.h>
#include <string.h>

#include "broker/brk_int.h"
#include "util/hist.h"
#include "conf/conf.h"

void brk_ctl_observe_latency(struct brk_worker *w, const struct brk_msg *m)
{
	/* The receiving worker stamped rx_ns with its loop clock; ours may be a little
	 * behind it: a negative difference is a zero latency. */
	uint64_t ns = w->now > m->rx_ns ? w->now - m->rx_ns : 0;
	BRK_CNT(w, lat_bucket[hist_bucket(ns, BRK_LAT_BUCKETS)], 1);
	BRK_CNT(w, lat_sum_ns, ns);
	BRK_CNT(w, lat_count, 1);
}

static void brk__info(const struct brk_worker *w, const struct brk_session *s,
		      struct brk_client_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->id = s->id;
	ci->id_len = s->id_len;
	ci->worker = w->index;
	ci->sess = s;
	ci->inflight = s->inflight.n;
	ci->queued = s->queue.n;
	ci->queued_bytes = s->queue.bytes;
	ci->n_subs = s->n_subs;
	ci->expiry_s = s->expiry_s;
	ci->has_will = s->will != NULL;
	ci->expires_in_s = -1;
	const struct brk_conn *c = s->conn;
	if (s->state == BRK_S_ONLINE && c != NULL && c->state == BRK_C_CONNECTED) {
		ci->online = true;
		ci->version = c->version;
		ci->keepalive = c->keepalive;
		ci->bytes_in = c->rx_bytes;
		ci->bytes_out = c->tx_bytes;
		ci->connected_for_s = (double)(w->now - c->connected_at) / (double)BRK_SEC;
		ci->tctx = c->tctx;
	} else if (s->expire_at != BRK_NEVER) {
		ci->expires_in_s = s->expire_at > w->now
					   ? (double)(s->expire_at - w->now) / (double)BRK_SEC : 0;
	}
}

void brk_ctl_list(struct brk_worker *w, bool offline, brk_client_fn fn, void *arg)
{
	for (const struct brk_session *s = w->sessions; s != NULL; s = s->l_next) {
		if (s->state != BRK_S_ONLINE && !(offline && s->state == BRK_S_OFFLINE))
			continue;
		struct brk_client_info ci;
		brk__info(w, s, &ci);
		if (s->state == BRK_S_ONLINE && !ci.online)
			continue; /* between CONNECT and CONNACK */
		if (fn(arg, &ci) != 0)
			return;
	}
}

void brk_ctl_client_subs(const struct brk_client_info *ci, brk_sub_fn fn, void *arg)
{
	for (const struct brk_sub *b = ci->sess->subs; b != NULL; b = b->next)
		fn(arg, b->filter, b->len, &b->opts);
}

int brk_ctl_kick(struct brk_worker *w, const char *id, size_t len)
{
	for (struct brk_session *s = w->sessions; s != NULL; s = s->l_next) {
		if (s->id_len != len || memcmp(s->id, id, len) != 0)
			continue;
		if (s->state == BRK_S_OFFLINE)
			return -ENOTCONN;
		if (s->state != BRK_S_ONLINE || s->conn == NULL)
			continue;
		/* brk_conn_close sends DISCONNECT 0x98 to MQTT 5 clients only; a close that
		 * no DISCONNECT from the client preceded is abnormal: the will goes out. */
		brk_conn_close(s->conn, MQTT_RC_ADMIN_ACTION);
		return 0;
	}
	return -ENOENT;
}

struct brk__ret_ctx {
	brk_retained_fn fn;
	void *arg;
	int n;
};

static void brk__ret_one(void *arg, struct topic_retained *r)
{
	struct brk__ret_ctx *x = arg;
	const struct brk_msg *m = caa_container_of(r, struct brk_msg, ret);
	x->fn(x->arg, (const char *)m->pub.topic.p, (uint16_t)m->pub.topic.len,
	      m->pub.payload.p, (uint32_t)m->pub.payload.len, m->qos);
	x->n++;
}

int brk_ctl_retained(struct brk_worker *w, const char *filter, size_t len, brk_retained_fn fn,
		     void *arg)
{
	if (topic_filter_check(filter, len) != 0)
		return -EINVAL;
	struct brk__ret_ctx x = { .fn = fn, .arg = arg, .n = 0 };
	topic_retained_lookup(w->sh->tree, filter, len, brk__ret_one, &x);
	if (len == 1 && filter[0] == '#') {
		/* "#" does not match $-topics [MQTT-4.7.2-1]; the operator asking for every
		 * retained message wants $SYS's too. */
		topic_retained_lookup(w->sh->tree, "$SYS/#", 6, brk__ret_one, &x);
	}
	return x.n;
}

int brk_ctl_retained_clear(struct brk_worker *w, const char *topic, size_t len)
{
	if (len == 0 || topic_name_check(topic, len) != 0)
		return -EINVAL;
	int rc = topic_retained_set(w->sh->tree, topic, len, NULL);
	return rc == -E2BIG ? -EINVAL : 0;
}

int brk_ctl_publish(struct brk_worker *w, const char *topic, size_t topic_len,
		    const uint8_t *payload, uint32_t len, uint8_t qos, bool retain)
{
	if (topic_len == 0 || topic_len > 65535 || topic_name_check(topic, topic_len) != 0 ||
	    qos > 2)
		return -EINVAL;
	return brk_publish_internal(w, topic, topic_len, payload, len, qos, retain);
}

#define BRK__SET(field, v) __atomic_store_n(&sh->set.field, (v), __ATOMIC_RELAXED)

void brk_shared_apply_settings(struct brk_shared *sh, const struct tachyon_config *cfg)
{
	BRK__SET(max_inflight, cfg->max_inflight_messages == 0 ||
				       cfg->max_inflight_messages > 65535
			       ? (uint16_t)65535 : (uint16_t)cfg->max_inflight_messages);
	BRK__SET(max_queued, (uint32_t)cfg->max_queued_messages);
	BRK__SET(max_queued_bytes, (uint64_t)cfg->max_queued_bytes);
	BRK__SET(message_size_limit, (uint32_t)cfg->message_size_limit);
	BRK__SET(max_packet_size, (uint32_t)cfg->max_packet_size);
	BRK__SET(max_keepalive, (uint16_t)cfg->max_keepalive);
	BRK__SET(retain_available, (bool)cfg->retain_available);
	BRK__SET(sys_interval, (uint32_t)cfg->sys_interval);
}
