/**
 * @file brk_worker.c
 * Process-wide and per-worker broker state: creation, the inbox of cross-worker messages
 * (brk_worker_receive), the timer tick, the session-uid table and the counters.
 *
 * Data flow: the runtime drains its ring and calls brk_worker_receive() for each message;
 * it calls brk_worker_tick() every loop iteration (cheap) and rcu_quiescent_state() once
 * per loop, which is what lets the topic tree and the registry free memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/brk_int.h"
#include "conf/conf.h"

struct brk_shared *brk_shared_create(const struct tachyon_config *cfg, unsigned n_workers,
				     uint64_t now_ns)
{
	if (n_workers == 0 || n_workers > BRK_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	struct brk_shared *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		return NULL;
	struct topic_conf tc;
	memset(&tc, 0, sizeof(tc));
	sh->tree = topic_tree_create(&tc);
	sh->reg = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (sh->tree == NULL || sh->reg == NULL) {
		if (sh->reg != NULL)
			cds_lfht_destroy(sh->reg, NULL);
		free(sh);
		errno = ENOMEM;
		return NULL;
	}
	sh->n_workers = n_workers;
	sh->start_ns = now_ns;
	sh->next_uid = 1;
	sh->next_mid = 1;
	struct brk_settings *s = &sh->set;
	/* max_inflight_messages 0 means "unlimited" in Mosquitto: the protocol's 65535. */
	s->max_inflight = cfg->max_inflight_messages == 0 || cfg->max_inflight_messages > 65535
				  ? 65535 : (uint16_t)cfg->max_inflight_messages;
	s->max_queued = cfg->max_queued_messages;
	s->max_queued_bytes = cfg->max_queued_bytes;
	s->message_size_limit = cfg->message_size_limit;
	s->max_packet_size = cfg->max_packet_size;
	s->max_keepalive = cfg->max_keepalive;
	s->retain_available = cfg->retain_available;
	s->sys_interval = cfg->sys_interval;
	s->queue_qos0 = cfg->queue_qos0_messages;
	s->max_connections = cfg->max_connections;
	s->max_subs_per_client = cfg->max_subscriptions_per_client;
	s->max_topic_levels = cfg->max_topic_levels >= 1 && cfg->max_topic_levels <= TOPIC_MAX_LEVELS
				      ? cfg->max_topic_levels : TOPIC_MAX_LEVELS;
	int rc = brk_sec_shared_init(sh, cfg);
	if (rc != 0) {
		topic_tree_destroy(sh->tree);
		cds_lfht_destroy(sh->reg, NULL);
		free(sh);
		errno = -rc;
		return NULL;
	}
	return sh;
}

void brk_shared_destroy(struct brk_shared *sh)
{
	if (sh == NULL)
		return;
	topic_tree_destroy(sh->tree);
	/* cds_lfht_destroy waits for the registry's resize in flight (after a million
	 * sessions went, a shrink), and the resize waits for a grace period: in QSBR, for this
	 * thread too if it is online. Offline, or stopping the broker hung for good. */
	bool online = rcu_read_ongoing();
	if (online)
		rcu_thread_offline();
	cds_lfht_destroy(sh->reg, NULL);
	if (online)
		rcu_thread_online();
	brk_sec_shared_fini(sh);
	free(sh);
}

void brk_shared_counters(const struct brk_shared *sh, struct brk_counters *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t *dst = (uint64_t *)out;
	for (unsigned i = 0; i < sh->n_workers; i++) {
		const struct brk_worker *w = __atomic_load_n(&sh->workers[i], __ATOMIC_ACQUIRE);
		if (w == NULL)
			continue;
		const uint64_t *src = (const uint64_t *)&w->cnt;
		for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
	/* Gauges are per-worker increments and decrements: the sum is the gauge. */
	struct topic_stats ts;
	topic_tree_stats(sh->tree, &ts);
	out->retained = ts.retained;
	out->subscriptions = ts.subs;
	out->clients_maximum = (uint64_t)__atomic_load_n(&sh->connected_max, __ATOMIC_RELAXED);
}

struct brk_worker *brk_worker_create(struct brk_shared *sh, unsigned index,
				     const struct brk_worker_ops *ops)
{
	if (index >= sh->n_workers || sh->workers[index] != NULL) {
		errno = EINVAL;
		return NULL;
	}
	struct brk_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->uid_mask = 1023;
	w->uid_ht = calloc(w->uid_mask + 1, sizeof(*w->uid_ht));
	w->hits_cap = 64;
	w->hits = calloc(w->hits_cap, sizeof(*w->hits));
	if (w->uid_ht == NULL || w->hits == NULL) {
		free(w->uid_ht);
		free(w->hits);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	/* 100 ms ticks; one revolution is 409.6 s (a keep alive of up to 65535 s is checked once
	 * per revolution until it is near, then on time). */
	if (twheel_init(&w->conn_wheel, 4096, BRK_SEC / 10, 0) != 0 ||
	    twheel_init(&w->sess_wheel, 4096, BRK_SEC / 10, 0) != 0) {
		twheel_fini(&w->conn_wheel);
		free(w->uid_ht);
		free(w->hits);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->sh = sh;
	w->index = index;
	w->ops = *ops;
	int rc = brk_sec_worker_init(w);
	if (rc != 0) {
		twheel_fini(&w->conn_wheel);
		twheel_fini(&w->sess_wheel);
		free(w->uid_ht);
		free(w->hits);
		free(w);
		errno = -rc;
		return NULL;
	}
	__atomic_store_n(&sh->workers[index], w, __ATOMIC_RELEASE);
	return w;
}

unsigned brk_worker_index(const struct brk_worker *w)
{
	return w->index;
}

bool brk_worker_busy(const struct brk_worker *w)
{
	return __atomic_load_n(&w->vdone, __ATOMIC_SEQ_CST) != NULL;
}

void brk_worker_destroy(struct brk_worker *w)
{
	if (w == NULL)
		return;
	brk_session_destroy_all(w);
	brk_persist_free(w);
	while (w->retry_head != NULL) {
		struct brk_retry *r = w->retry_head;
		w->retry_head = r->next;
		brk_msg_unref(r->m.msg);
		free(r);
	}
	__atomic_store_n(&w->sh->workers[w->index], NULL, __ATOMIC_RELEASE);
	twheel_fini(&w->conn_wheel);
	twheel_fini(&w->sess_wheel);
	/* Password checks still on the verifier thread refer to this worker: wait for them
	 * (their connections are gone, so collecting only frees them). */
	while (w->vjobs > 0) {
		brk_login_collect(w);
		if (w->vjobs > 0)
			usleep(1000);
	}
	brk_sec_worker_fini(w);
	free(w->uid_ht);
	free(w->hits);
	free(w);
}

/* ---- uid -> session (this worker's sessions: local matches and shared deliveries) ---- */

static uint32_t brk__uid_slot(const struct brk_worker *w, uint64_t uid)
{
	return (uint32_t)((uid * 0x9E3779B97F4A7C15ull) >> 32) & w->uid_mask;
}

static void brk__uid_grow(struct brk_worker *w)
{
	uint32_t nmask = w->uid_mask * 2 + 1;
	struct brk_session **nt = calloc((size_t)nmask + 1, sizeof(*nt));
	if (nt == NULL)
		return; /* longer chains, still correct */
	struct brk_session **ot = w->uid_ht;
	uint32_t omask = w->uid_mask;
	w->uid_ht = nt;
	w->uid_mask = nmask;
	for (uint32_t i = 0; i <= omask; i++) {
		while (ot[i] != NULL) {
			struct brk_session *s = ot[i];
			ot[i] = s->h_next;
			uint32_t k = brk__uid_slot(w, s->uid);
			s->h_next = nt[k];
			nt[k] = s;
		}
	}
	free(ot);
}

void brk_uid_add(struct brk_worker *w, struct brk_session *s)
{
	if (w->uid_n > w->uid_mask)
		brk__uid_grow(w);
	uint32_t k = brk__uid_slot(w, s->uid);
	s->h_next = w->uid_ht[k];
	w->uid_ht[k] = s;
	w->uid_n++;
}

void brk_uid_del(struct brk_worker *w, struct brk_session *s)
{
	struct brk_session **pp = &w->uid_ht[brk__uid_slot(w, s->uid)];
	while (*pp != NULL && *pp != s)
		pp = &(*pp)->h_next;
	if (*pp == s) {
		*pp = s->h_next;
		w->uid_n--;
	}
}

struct brk_session *brk_session_find(struct brk_worker *w, uint64_t uid)
{
	struct brk_session *s = w->uid_ht[brk__uid_slot(w, uid)];
	while (s != NULL && s->uid != uid)
		s = s->h_next;
	return s;
}

/* ---- cross-worker messages ---- */

void brk_post(struct brk_worker *w, unsigned to, const struct brk_xmsg *m, bool must)
{
	if (w->retry_head == NULL || !must) {
		if (w->ops.post(w->ops.ctx, to, m) == 0) {
			if ((m->type == BRK_X_DELIVER || m->type == BRK_X_SHARED) && m->msg->qos > 0)
				brk_persist_posted(w, to);
			return;
		}
	}
	if (!must) {
		/* Fan-out to a worker whose inbox is full: that worker is overloaded; QoS is
		 * end to end per hop, so the loss is counted, as a full queue would be. */
		BRK_CNT(w, xmsg_drops, 1);
		brk_msg_unref(m->msg);
		return;
	}
	/* Takeover traffic must not be lost: keep it, in order, and retry on every tick. */
	struct brk_retry *r = malloc(sizeof(*r));
	if (r == NULL)
		abort(); /* losing a session handover would leave a client hanging forever */
	r->next = NULL;
	r->to = to;
	r->m = *m;
	if (w->retry_tail != NULL)
		w->retry_tail->next = r;
	else
		w->retry_head = r;
	w->retry_tail = r;
}

static void brk__retry(struct brk_worker *w)
{
	while (w->retry_head != NULL) {
		struct brk_retry *r = w->retry_head;
		if (w->ops.post(w->ops.ctx, r->to, &r->m) != 0)
			return;
		w->retry_head = r->next;
		if (w->retry_head == NULL)
			w->retry_tail = NULL;
		free(r);
	}
}

void brk_worker_receive(struct brk_worker *w, const struct brk_xmsg *m)
{
	switch (m->type) {
	case BRK_X_DELIVER:
		brk_deliver_local(w, m->msg);
		if (m->msg->qos > 0)
			brk_persist_received(w, m->from);
		brk_msg_unref(m->msg);
		break;
	case BRK_X_SHARED: {
		struct brk_session *s = brk_session_find(w, m->uid);
		/* The member may have gone between the route and now: the message is then
		 * lost for the group, as it would be had it unsubscribed a moment earlier. */
		if (s != NULL && (s->state == BRK_S_ONLINE || s->state == BRK_S_OFFLINE)) {
			uint32_t sid = m->opts.sub_id;
			brk_deliver_to(s, m->msg, &m->opts, &sid, sid ? 1 : 0, false);
		}
		if (m->msg->qos > 0)
			brk_persist_received(w, m->from);
		brk_msg_unref(m->msg);
		break;
	}
	case BRK_X_TAKEOVER:
		brk_session_takeover_req(w, m);
		break;
	case BRK_X_XFER:
		brk_session_xfer_in(w, m);
		break;
	default:
		break;
	}
}

/* ---- time ---- */

static void brk__conn_fire(struct twheel_node *n, void *arg)
{
	(void)arg;
	brk_conn_timer_fire(caa_container_of(n, struct brk_conn, tn));
}

static void brk__sess_fire(struct twheel_node *n, void *arg)
{
	(void)arg;
	brk_session_timer_fire(caa_container_of(n, struct brk_session, tn));
}

void brk_worker_tick(struct brk_worker *w, uint64_t now_ns)
{
	w->now = now_ns;
	brk_login_collect(w);
	if (w->retry_head != NULL)
		brk__retry(w);
	brk_persist_poll(w);
	/* Deadlines live on timer wheels: a tick costs the slots that came due, not a walk
	 * over every connection and session. */
	twheel_advance(&w->conn_wheel, now_ns, brk__conn_fire, w);
	twheel_advance(&w->sess_wheel, now_ns, brk__sess_fire, w);
	if (w->index == 0 && w->sh->set.sys_interval != 0 && now_ns >= w->next_sys) {
		if (w->next_sys != 0)
			brk_sys_publish(w);
		w->next_sys = now_ns + (uint64_t)w->sh->set.sys_interval * BRK_SEC;
	}
}

int brk_publish_internal(struct brk_worker *w, const char *topic, size_t topic_len,
			 const uint8_t *payload, uint32_t len, uint8_t qos, bool retain)
{
	struct mqtt_publish p;
	memset(&p, 0, sizeof(p));
	p.qos = qos;
	p.retain = retain;
	p.payload.p = payload;
	p.payload.len = len;
	struct brk_msg *m = brk_msg_new(&p, (const uint8_t *)topic, (uint16_t)topic_len, 0,
					w->now);
	if (m == NULL)
		return -ENOMEM;
	brk_route(w, m);
	brk_msg_unref(m);
	return 0;
}
