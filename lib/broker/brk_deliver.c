/**
 * @file brk_deliver.c
 * Delivery: from a routed message to bytes for each subscriber.
 *
 * How fan-out by reference works
 * ------------------------------
 * A PUBLISH is copied once, into a struct brk_msg (brk_msg.c). brk_route() asks the topic
 * tree which workers hold matching subscriptions (topic_route(): a mask, plus one chosen
 * member per shared group). Each other worker in the mask gets one BRK_X_DELIVER message
 * carrying one more reference to the same brk_msg - never a copy - through its ring; the
 * publishing worker serves its own subscribers directly. Each worker then walks only its
 * own subscriber lists (topic_collect()), merges the overlapping subscriptions of one
 * session (MQTT 5 3.3.4: one copy, highest QoS, all subscription identifiers), and hands
 * each session a struct brk_dlv holding yet another reference. For the bytes, the
 * subscriber's head (fixed header, topic or alias, packet id, per-subscriber properties)
 * is encoded by mqtt_publish_head_encode(), a few dozen bytes, and the transport chains
 * it in front of the payload it sends by reference (dp_mqtt.c attaches the payload to an
 * mbuf as an external buffer). The payload is freed when the last reference - retained
 * slot, queue, TCP retransmission queue of any worker - is dropped.
 *
 * Per session, QoS 1/2 messages move QUEUED -> PUBLISHED (in the inflight window, at most
 * the client's Receive Maximum / max_inflight_messages) -> (QoS 2) RELEASED -> done.
 * While the client is away, or the transport is full, they stay queued within
 * max_queued_messages / max_queued_bytes; past that, the new message is dropped and
 * counted (lim_queued), the policy Mosquitto follows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"
#include "plog/plog_record.h"

/* ---- queues ---- */

void brk_dlvq_push(struct brk_dlvq *q, struct brk_dlv *d)
{
	d->next = NULL;
	if (q->tail != NULL)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
	q->n++;
	if (d->msg != NULL)
		q->bytes += d->msg->pub.payload.len;
}

static struct brk_dlv *brk__dlvq_pop(struct brk_dlvq *q)
{
	struct brk_dlv *d = q->head;
	if (d == NULL)
		return NULL;
	q->head = d->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	if (d->msg != NULL)
		q->bytes -= d->msg->pub.payload.len;
	d->next = NULL;
	return d;
}

static void brk__dlv_free(struct brk_dlv *d)
{
	brk_msg_unref(d->msg);
	free(d);
}

void brk_dlvq_free(struct brk_dlvq *q)
{
	struct brk_dlv *d;
	while ((d = brk__dlvq_pop(q)) != NULL)
		brk__dlv_free(d);
}

/* Remove and return the delivery with packet id @p pid (NULL if none). */
struct brk_dlv *brk_dlv_take(struct brk_dlvq *q, uint16_t pid, struct brk_dlv **prev_out)
{
	struct brk_dlv *prev = NULL;
	for (struct brk_dlv *d = q->head; d != NULL; prev = d, d = d->next) {
		if (d->pid != pid)
			continue;
		if (prev != NULL)
			prev->next = d->next;
		else
			q->head = d->next;
		if (q->tail == d)
			q->tail = prev;
		q->n--;
		if (d->msg != NULL)
			q->bytes -= d->msg->pub.payload.len;
		d->next = NULL;
		if (prev_out != NULL)
			*prev_out = prev;
		return d;
	}
	return NULL;
}

static uint16_t brk__next_pid(struct brk_session *s)
{
	const struct brk_dlv *h = s->inflight.head, *t = s->inflight.tail;
	if (h == NULL)
		s->pid_unordered = false;
	else if (!s->pid_unordered) {
		/* Launches push at the tail with ids in increasing (cyclic) order and acks only
		 * remove, so the ids in flight lie on the arc head..tail: one outside it is
		 * free. (A scan per launch made a large inflight window quadratic.) */
		uint16_t pid = s->next_pid;
		uint32_t span = ((uint32_t)t->pid + 65535u - h->pid) % 65535u;
		uint32_t off = ((uint32_t)pid + 65535u - h->pid) % 65535u;
		if (off > span) {
			s->next_pid = pid == 65535 ? 1 : (uint16_t)(pid + 1);
			return pid;
		}
	}
	for (;;) {
		uint16_t pid = s->next_pid;
		s->next_pid = pid == 65535 ? 1 : (uint16_t)(pid + 1);
		bool used = false;
		for (struct brk_dlv *d = s->inflight.head; d != NULL && !used; d = d->next)
			used = d->pid == pid;
		if (!used) {
			if (h != NULL)
				s->pid_unordered = true; /* an id from inside the arc: out of order */
			return pid;
		}
	}
}

/* ---- encoding one PUBLISH for one subscriber ---- */

/* Find or pick the alias for @p m's topic on @p c. Sets *fresh when the alias is new (the
 * topic must be sent with it). Returns 0 when no alias can be used. Nothing is committed. */
static uint16_t brk__alias_out(struct brk_conn *c, const struct mqtt_str *t, bool *fresh)
{
	*fresh = false;
	if (c->alias_out_max == 0)
		return 0;
	for (uint16_t a = 1; a <= c->alias_out_used; a++)
		if (c->alias_out_len[a] == t->len && memcmp(c->alias_out[a], t->p, t->len) == 0)
			return a;
	if (c->alias_out_used >= c->alias_out_max)
		return 0; /* table full: keep the aliases we have, send the topic in full */
	*fresh = true;
	return (uint16_t)(c->alias_out_used + 1);
}

/* Send PUBLISH for @p d on @p c. @return 0 sent or held back, -EMSGSIZE dropped because
 * it exceeds the client's Maximum Packet Size (the spec says: act as if delivered),
 * another negative errno if it could not be sent at all. */
static int brk__send_publish(struct brk_conn *c, struct brk_msg *m, uint8_t qos, bool retain,
			     uint16_t pid, bool dup, const uint32_t *sub_ids, uint8_t n_sub_ids)
{
	struct mqtt_publish_shape sh;
	memset(&sh, 0, sizeof(sh));
	sh.qos = qos;
	sh.retain = retain;
	sh.dup = dup;
	sh.packet_id = pid;
	bool fresh = false;
	if (c->version == MQTT_V5) {
		if (m->expire_at != BRK_NEVER) {
			sh.set_message_expiry = true;
			sh.message_expiry = brk_msg_remaining_expiry(m, c->w->now);
		}
		sh.sub_ids = sub_ids;
		sh.n_sub_ids = n_sub_ids;
		sh.topic_alias = brk__alias_out(c, &m->pub.topic, &fresh);
		sh.omit_topic = sh.topic_alias != 0 && !fresh;
	}
	size_t hl = mqtt_publish_head_size(c->version, &m->pub, &sh);
	if (hl == 0)
		return -EINVAL;
	if (c->max_packet != 0 && hl + m->pub.payload.len > c->max_packet) {
		BRK_CNT(c->w, lim_packet_size, 1);
		BRK_CNT(c->w, pub_dropped, 1);
		return -EMSGSIZE;
	}
	uint8_t stack[256];
	uint8_t *buf = hl <= sizeof(stack) ? stack : malloc(hl);
	if (buf == NULL)
		return -ENOMEM;
	int rc = -EINVAL;
	if (mqtt_publish_head_encode(c->version, &m->pub, &sh, buf, hl, NULL) == hl) {
		rc = brk_out_raw(c, buf, (uint32_t)hl, m);
		if (rc == 0 && fresh) {
			char *copy = malloc(m->pub.topic.len ? m->pub.topic.len : 1);
			if (copy != NULL) {
				memcpy(copy, m->pub.topic.p, m->pub.topic.len);
				c->alias_out[sh.topic_alias] = copy;
				c->alias_out_len[sh.topic_alias] = (uint16_t)m->pub.topic.len;
				c->alias_out_used++;
			}
		}
	}
	if (buf != stack)
		free(buf);
	return rc;
}

static bool brk__can_send(const struct brk_session *s)
{
	return s->state == BRK_S_ONLINE && s->conn != NULL &&
	       s->conn->state == BRK_C_CONNECTED && s->conn->oq_head == NULL;
}

/* Put @p d in flight and send it. @return false if it was dropped (and freed). */
static void brk__launch(struct brk_session *s, struct brk_dlv *d)
{
	struct brk_conn *c = s->conn;
	if (d->qos == 0) {
		brk__send_publish(c, d->msg, 0, d->retain, 0, false, d->sub_ids, d->n_sub_ids);
		brk__dlv_free(d);
		return;
	}
	d->pid = brk__next_pid(s);
	d->state = BRK_DLV_PUBLISHED;
	brk_p_mref(s, PLOG_REC_MSG_DELIVER, d);
	int rc = brk__send_publish(c, d->msg, d->qos, d->retain, d->pid, false, d->sub_ids,
				   d->n_sub_ids);
	if (rc == -EMSGSIZE || rc == -EINVAL) {
		brk_p_mref(s, PLOG_REC_MSG_ACK, d);
		brk__dlv_free(d);
		return;
	}
	brk_dlvq_push(&s->inflight, d);
}

void brk_deliver_pump(struct brk_session *s)
{
	struct brk_worker *w = s->w;
	while (s->queue.head != NULL && brk__can_send(s) &&
	       (s->queue.head->qos == 0 || s->inflight.n < s->conn->send_max)) {
		struct brk_dlv *d = brk__dlvq_pop(&s->queue);
		if (brk_msg_expired(d->msg, w->now)) {
			BRK_CNT(w, expired, 1);
			brk_p_mref(s, PLOG_REC_MSG_ACK, d);
			brk__dlv_free(d);
			continue;
		}
		brk__launch(s, d);
	}
}

void brk_deliver_resend(struct brk_session *s)
{
	struct brk_conn *c = s->conn;
	for (struct brk_dlv *d = s->inflight.head; d != NULL; d = d->next) {
		if (d->state == BRK_DLV_PUBLISHED)
			/* [MQTT-4.4.0-1] / 3.1.1 4.4: same packet id, DUP set. */
			brk__send_publish(c, d->msg, d->qos, d->retain, d->pid, true, d->sub_ids,
					  d->n_sub_ids);
		else
			brk_send_ack(c, MQTT_PUBREL, d->pid, 0);
	}
}

void brk_deliver_expire(struct brk_session *s)
{
	struct brk_worker *w = s->w;
	struct brk_dlvq keep;
	memset(&keep, 0, sizeof(keep));
	struct brk_dlv *d;
	while ((d = brk__dlvq_pop(&s->queue)) != NULL) {
		if (brk_msg_expired(d->msg, w->now)) {
			BRK_CNT(w, expired, 1);
			brk_p_mref(s, PLOG_REC_MSG_ACK, d);
			brk__dlv_free(d);
		} else {
			brk_dlvq_push(&keep, d);
		}
	}
	s->queue = keep;
}

void brk_deliver_to(struct brk_session *s, struct brk_msg *m, const struct topic_opts *o,
		    const uint32_t *sub_ids, uint8_t n_sub_ids, bool retained)
{
	struct brk_worker *w = s->w;
	const struct brk_settings *set = &w->sh->set;
	if (brk_msg_expired(m, w->now)) {
		BRK_CNT(w, expired, 1);
		return;
	}
	/* Read access, checked for every delivery (retained ones too): a subscription the
	 * ACL accepted may still cover topics the client may not read (brk_access.c). */
	if (!brk_acl_ok(s, &m->pub.topic, AUTH_ACL_READ))
		return;
	uint8_t qos = m->qos < o->max_qos ? m->qos : o->max_qos;
	bool retain = retained || (o->retain_as_published && m->retain);
	bool online = s->state == BRK_S_ONLINE && s->conn != NULL &&
		      s->conn->state == BRK_C_CONNECTED;
	if (qos == 0 && online && s->queue.head == NULL) {
		if (s->conn->oq_bytes > BRK_OUTQ_QOS0_LIMIT) {
			BRK_CNT(w, pub_dropped, 1);
			return;
		}
		brk__send_publish(s->conn, m, 0, retain, 0, false, sub_ids, n_sub_ids);
		return;
	}
	/* QoS 0 is not kept for a session that is away (unless configured); for one that is
	 * here but has QoS 1/2 messages waiting, it waits behind them: messages are delivered
	 * in the order they were published, whatever their QoS (MQTT 4.6). */
	if (qos == 0 && !online && !set->queue_qos0)
		return;
	if (set->max_queued != 0 && s->queue.n >= set->max_queued &&
	    !(online && s->queue.n == 0)) {
		BRK_CNT(w, lim_queued, 1);
		BRK_CNT(w, pub_dropped, 1);
		return;
	}
	if (set->max_queued_bytes != 0 &&
	    s->queue.bytes + m->pub.payload.len > set->max_queued_bytes &&
	    !(online && s->queue.n == 0)) {
		BRK_CNT(w, lim_queued, 1);
		BRK_CNT(w, pub_dropped, 1);
		return;
	}
	struct brk_dlv *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		BRK_CNT(w, pub_dropped, 1);
		return;
	}
	brk_msg_ref(m);
	d->msg = m;
	d->qos = qos;
	d->retain = retain;
	d->n_sub_ids = n_sub_ids > BRK_MAX_SUB_IDS ? BRK_MAX_SUB_IDS : n_sub_ids;
	memcpy(d->sub_ids, sub_ids, d->n_sub_ids * sizeof(uint32_t));
	brk_p_msg_queue(s, d);
	if (online && s->queue.head == NULL && brk__can_send(s) &&
	    (qos == 0 || s->inflight.n < s->conn->send_max)) {
		brk__launch(s, d);
		return;
	}
	brk_dlvq_push(&s->queue, d);
	if (s->state == BRK_S_OFFLINE && !twheel_filed(&s->tn))
		brk_session_timer(s); /* expired queued messages get pruned while it is away */
}

/* ---- matching on this worker ---- */

void brk_deliver_local(struct brk_worker *w, struct brk_msg *m)
{
	const char *t = (const char *)m->pub.topic.p;
	size_t tl = m->pub.topic.len;
	size_t n = topic_collect(w->sh->tree, t, tl, w->index, m->publisher, w->hits, w->hits_cap);
	if (n > w->hits_cap) {
		size_t cap = n * 2;
		struct topic_hit *nh = realloc(w->hits, cap * sizeof(*nh));
		if (nh == NULL) {
			n = w->hits_cap;
		} else {
			w->hits = nh;
			w->hits_cap = cap;
			n = topic_collect(w->sh->tree, t, tl, w->index, m->publisher, w->hits,
					  w->hits_cap);
			if (n > w->hits_cap)
				n = w->hits_cap;
		}
	}
	/* Hits are values: delivering (which may close connections and so unsubscribe)
	 * cannot invalidate them. One copy per session, subscriptions merged. */
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		struct topic_opts o = w->hits[i].opts;
		uint32_t ids[BRK_MAX_SUB_IDS];
		uint8_t nid = 0;
		for (; j < n && w->hits[j].session == w->hits[i].session; j++) {
			const struct topic_opts *h = &w->hits[j].opts;
			if (h->max_qos > o.max_qos)
				o.max_qos = h->max_qos;
			o.retain_as_published |= h->retain_as_published;
			if (h->sub_id != 0 && nid < BRK_MAX_SUB_IDS)
				ids[nid++] = h->sub_id;
		}
		struct brk_session *s = brk_session_find(w, w->hits[i].session);
		if (s != NULL)
			brk_deliver_to(s, m, &o, ids, nid, false);
		i = j;
	}
}

struct brk__route_ctx {
	struct topic_hit hits[16];
	unsigned n;
	unsigned lost;
};

static void brk__shared_hit(void *arg, const struct topic_hit *hit)
{
	struct brk__route_ctx *rc = arg;
	if (rc->n < 16)
		rc->hits[rc->n++] = *hit;
	else
		rc->lost++;
}

static void brk__retained_free(struct topic_retained *r)
{
	brk_msg_unref(caa_container_of(r, struct brk_msg, ret));
}

void brk_route(struct brk_worker *w, struct brk_msg *m)
{
	struct brk_shared *sh = w->sh;
	const char *t = (const char *)m->pub.topic.p;
	size_t tl = m->pub.topic.len;
	if (m->retain) {
		if (m->pub.payload.len == 0) {
			topic_retained_set(sh->tree, t, tl, NULL); /* clear [MQTT-3.3.1-10] */
			brk_p_retain(w, m);
		} else {
			brk_msg_ref(m);
			m->ret.free_fn = brk__retained_free;
			int rc = topic_retained_set(sh->tree, t, tl, &m->ret);
			if (rc != 0) {
				if (rc == -E2BIG)
					BRK_CNT(w, lim_topic_levels, 1);
				brk_msg_unref(m);
			} else {
				brk_p_retain(w, m);
			}
		}
	}
	struct brk__route_ctx rc;
	rc.n = 0;
	rc.lost = 0;
	uint64_t mask = topic_route(sh->tree, t, tl, m->publisher, brk__shared_hit, &rc);
	for (unsigned i = 0; i < sh->n_workers; i++) {
		if (!(mask & (1ull << i)) || i == w->index)
			continue;
		brk_msg_ref(m);
		struct brk_xmsg x = { .type = BRK_X_DELIVER, .from = (uint16_t)w->index, .msg = m,
				      .uid = m->publisher };
		brk_post(w, i, &x, false);
	}
	if (mask & (1ull << w->index))
		brk_deliver_local(w, m);
	for (unsigned k = 0; k < rc.n; k++) {
		const struct topic_hit *h = &rc.hits[k];
		if (h->worker == w->index) {
			struct brk_session *s = brk_session_find(w, h->session);
			uint32_t sid = h->opts.sub_id;
			if (s != NULL)
				brk_deliver_to(s, m, &h->opts, &sid, sid ? 1 : 0, false);
			continue;
		}
		brk_msg_ref(m);
		struct brk_xmsg x = { .type = BRK_X_SHARED, .from = (uint16_t)w->index, .msg = m,
				      .uid = h->session, .opts = h->opts };
		brk_post(w, h->worker, &x, false);
	}
	if (rc.lost)
		BRK_CNT(w, pub_dropped, rc.lost);
}
