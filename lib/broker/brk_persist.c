/**
 * @file brk_persist.c
 * The broker's side of durability: describing every durable state change as a plog record
 * for the control core (struct brk_worker_ops.persist), holding PUBACK / PUBREC / PUBREL /
 * SUBACK / UNSUBACK in sync mode until those records are on disk, bounding the backlog of
 * records the control core has not taken yet, and rebuilding the recovered state at start
 * (brk_restore: sessions with the username and listener of their last connection, their
 * wills, subscriptions, queued messages with their subscription identifiers, retained
 * messages). docs/durability.md is the overview; the
 * control core's side is control/rt_persist.c, the transport's (rings, eventfd)
 * dataplane/dp_persist.c.
 *
 * What is durable: sessions with a non-zero expiry interval ("durable" sessions: their
 * creation, disconnection, end and expiry, their subscriptions, the QoS 1/2 messages queued
 * for them and their delivery state, their inbound QoS 2 packet ids) and retained messages
 * (except `$` topics, which the broker republishes itself). A clean session is never
 * logged; when it replaces a durable one, one `sess_end` says the old state is gone.
 *
 * How a held acknowledgement knows it may go (sync mode)
 * -------------------------------------------------------
 * Each worker numbers the records it hands over (1, 2, 3...: its local sequence) and the
 * control core publishes, per worker, the highest local number on disk (ops->durable). A
 * PUBLISH's own records (retain_set, qos2_in_recv, msg_queue for this worker's
 * subscribers) are covered when durable >= the worker's last number at acknowledgement
 * time. Subscribers on other workers are reached by a BRK_X_DELIVER message and their
 * msg_queue records are written by *that* worker, later. So each worker j counts the QoS
 * 1/2 fan-out messages it posts to each worker k (posted[k]); k counts those it handled
 * from j and, once the records it had written by then are durable, publishes that count in
 * sh->dlv_durable[k][j] and wakes j. The acknowledgement also waits until
 * dlv_durable[k][j] >= the posted[k] it saw. Both conditions only grow, so the held
 * acknowledgements of a worker are released in order from one FIFO (which also keeps each
 * connection's acknowledgements in the order of its PUBLISHes, [MQTT-4.6.0-2]).
 *
 * SUBACK and UNSUBACK of a durable session wait in the same FIFO for their sub_add /
 * sub_remove records (brk_persist_suback). A held entry then owns the whole answer (struct
 * brk_suback: the reason codes and the filters whose retained messages must follow the
 * SUBACK), and releasing it sends the SUBACK and looks the retained messages up at that
 * moment. A connection's acknowledgements of every kind leave in the order of its packets:
 * an acknowledgement that needs nothing itself still queues behind the ones the connection
 * has held (c->held_first).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/brk_int.h"
#include "plog/plog_state.h"

static uint64_t brk__wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct plog_bytes brk__b(const void *p, size_t n)
{
	struct plog_bytes b = { .ptr = p, .len = (uint32_t)n };
	return b;
}

static void brk__emit_fenced(struct brk_worker *w, struct plog_rec *r, bool after_all)
{
	int64_t seq = after_all && w->ops.persist_after_all != NULL
			      ? w->ops.persist_after_all(w->ops.ctx, r)
			      : w->ops.persist(w->ops.ctx, r);
	if (seq < 0) {
		BRK_CNT(w, persist_errors, 1);
		return;
	}
	w->pseq = (uint64_t)seq;
	BRK_CNT(w, persist_records, 1);
}

static void brk__emit(struct brk_worker *w, struct plog_rec *r)
{
	brk__emit_fenced(w, r, false);
}

/* Broker clock -> wall clock (Unix ms) for an expiry; 0 = never. */
static uint64_t brk__expiry_ms(const struct brk_worker *w, uint64_t at)
{
	if (at == BRK_NEVER)
		return 0;
	uint64_t left = at > w->now ? (at - w->now) / 1000000u : 0;
	return brk__wall_ms() + left + 1;
}

/* ---- records ---- */

/* The session's will as a record field (its properties without the Will Delay Interval,
 * which has its own field). */
static void brk__will_rec(const struct brk_session *s, struct plog_will *pw)
{
	const struct brk_msg *m = s->will;
	memset(pw, 0, sizeof(*pw));
	if (m == NULL)
		return;
	pw->present = true;
	pw->qos = m->qos;
	pw->retain = m->retain;
	pw->delay_interval = s->will_delay;
	pw->topic = brk__b(m->pub.topic.p, m->pub.topic.len);
	pw->payload = brk__b(m->pub.payload.p, m->pub.payload.len);
	pw->props = brk__b(m->pub.props.raw.p, m->pub.props.raw.len);
}

/* @p after_all: the session was taken over from another worker (or waited for one): the
 * record is fenced after every other worker's records so far (ops->persist_after_all). */
void brk_p_sess_create(struct brk_session *s, bool clean, bool after_all)
{
	struct brk_worker *w = s->w;
	if (!brk_persist_on(w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	if (!s->durable) {
		/* A clean session replacing a durable one: the old state is gone. */
		r.type = PLOG_REC_SESS_END;
		r.u.sref.client_id = brk__b(s->id, s->id_len);
		r.u.sref.time_ms = brk__wall_ms();
		brk__emit_fenced(w, &r, after_all);
		return;
	}
	r.type = PLOG_REC_SESS_CREATE;
	r.u.sess.client_id = brk__b(s->id, s->id_len);
	r.u.sess.proto_version = s->version >= 3 && s->version <= 5 ? s->version : 4;
	r.u.sess.clean_start = clean;
	r.u.sess.expiry_interval = s->expiry_s;
	r.u.sess.time_ms = brk__wall_ms();
	brk__will_rec(s, &r.u.sess.will);
	/* Who connected, so that a restored will and restored queued messages are checked
	 * against the ACL as this user on this listener (brk_restore). */
	r.u.sess.has_username = s->username != NULL;
	r.u.sess.username = brk__b(s->username, s->username != NULL ? s->username_len : 0);
	r.u.sess.listener = s->lst;
	brk__emit_fenced(w, &r, after_all);
}

void brk_p_will(struct brk_session *s)
{
	if (!s->durable || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SESS_WILL;
	r.u.will.client_id = brk__b(s->id, s->id_len);
	brk__will_rec(s, &r.u.will.will);
	brk__emit(s->w, &r);
}

void brk_p_sess(struct brk_session *s, unsigned type)
{
	if (!s->durable || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = (enum plog_rec_type)type;
	r.u.sref.client_id = brk__b(s->id, s->id_len);
	r.u.sref.time_ms = brk__wall_ms();
	brk__emit(s->w, &r);
}

void brk_p_sub_add(struct brk_session *s, const struct brk_sub *sub)
{
	if (!s->durable || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SUB_ADD;
	r.u.sub.client_id = brk__b(s->id, s->id_len);
	r.u.sub.filter = brk__b(sub->filter, sub->len);
	r.u.sub.options = (uint8_t)(sub->opts.max_qos | (sub->opts.no_local ? 4 : 0) |
				    (sub->opts.retain_as_published ? 8 : 0) |
				    ((sub->opts.retain_handling & 3) << 4));
	r.u.sub.sub_id = sub->opts.sub_id;
	brk__emit(s->w, &r);
}

void brk_p_sub_remove(struct brk_session *s, const char *filter, uint16_t len)
{
	if (!s->durable || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SUB_REMOVE;
	r.u.sub.client_id = brk__b(s->id, s->id_len);
	r.u.sub.filter = brk__b(filter, len);
	brk__emit(s->w, &r);
}

void brk_p_retain(struct brk_worker *w, const struct brk_msg *m)
{
	if (!brk_persist_on(w) || (m->pub.topic.len > 0 && m->pub.topic.p[0] == '$'))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.u.ret.topic = brk__b(m->pub.topic.p, m->pub.topic.len);
	if (m->pub.payload.len == 0) {
		r.type = PLOG_REC_RETAIN_CLEAR;
	} else {
		r.type = PLOG_REC_RETAIN_SET;
		r.u.ret.qos = m->qos;
		r.u.ret.payload = brk__b(m->pub.payload.p, m->pub.payload.len);
		r.u.ret.props = brk__b(m->pub.props.raw.p, m->pub.props.raw.len);
		r.u.ret.expiry_ms = brk__expiry_ms(w, m->expire_at);
	}
	brk__emit(w, &r);
}

void brk_p_msg_queue(struct brk_session *s, struct brk_dlv *d)
{
	struct brk_worker *w = s->w;
	if (!s->durable || d->qos == 0 || !brk_persist_on(w))
		return;
	d->mid = __atomic_fetch_add(&w->sh->next_mid, 1, __ATOMIC_RELAXED);
	const struct brk_msg *m = d->msg;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_MSG_QUEUE;
	r.u.msg.client_id = brk__b(s->id, s->id_len);
	r.u.msg.msg_id = d->mid;
	r.u.msg.qos = d->qos;
	r.u.msg.retain = d->retain;
	r.u.msg.topic = brk__b(m->pub.topic.p, m->pub.topic.len);
	r.u.msg.payload = brk__b(m->pub.payload.p, m->pub.payload.len);
	r.u.msg.props = brk__b(m->pub.props.raw.p, m->pub.props.raw.len);
	r.u.msg.expiry_ms = brk__expiry_ms(w, m->expire_at);
	/* The subscription identifiers of this delivery go with the properties, as the
	 * Subscription Identifier properties (0x0B) they are on the wire: the record's
	 * properties are those to send to this subscriber. brk_restore() takes them out again
	 * (a struct brk_msg never holds them). */
	uint8_t stack[256];
	uint8_t *buf = NULL;
	if (d->n_sub_ids > 0) {
		size_t need = m->pub.props.raw.len + (size_t)d->n_sub_ids * 5;
		buf = need <= sizeof(stack) ? stack : malloc(need);
		if (buf == NULL) {
			BRK_CNT(w, persist_errors, 1);
			return;
		}
		size_t o = m->pub.props.raw.len;
		if (o > 0)
			memcpy(buf, m->pub.props.raw.p, o);
		for (uint8_t i = 0; i < d->n_sub_ids; i++) {
			uint32_t v = d->sub_ids[i];
			buf[o++] = MQTT_PROP_SUB_ID;
			do {
				uint8_t b = v & 0x7f;
				v >>= 7;
				buf[o++] = (uint8_t)(b | (v ? 0x80 : 0));
			} while (v);
		}
		r.u.msg.props = brk__b(buf, o);
	}
	brk__emit(w, &r);
	if (buf != stack)
		free(buf);
}

void brk_p_mref(struct brk_session *s, unsigned type, const struct brk_dlv *d)
{
	if (!s->durable || d->mid == 0 || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = (enum plog_rec_type)type;
	r.u.mref.client_id = brk__b(s->id, s->id_len);
	r.u.mref.msg_id = d->mid;
	r.u.mref.packet_id = d->pid;
	brk__emit(s->w, &r);
}

void brk_p_q2in(struct brk_session *s, unsigned type, uint16_t pid)
{
	if (!s->durable || !brk_persist_on(s->w))
		return;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = (enum plog_rec_type)type;
	r.u.q2in.client_id = brk__b(s->id, s->id_len);
	r.u.q2in.packet_id = pid;
	brk__emit(s->w, &r);
}

/* ---- held acknowledgements (sync mode) ---- */

static bool brk__remote_done(const struct brk_worker *w, const uint64_t *posted)
{
	const struct brk_shared *sh = w->sh;
	for (unsigned k = 0; k < sh->n_workers; k++) {
		if (k == w->index)
			continue;
		if (__atomic_load_n(&sh->dlv_durable[k][w->index], __ATOMIC_ACQUIRE) < posted[k])
			return false;
	}
	return true;
}

static void brk__held_push(struct brk_worker *w, struct brk_held *h)
{
	h->next = NULL;
	if (w->held_tail != NULL)
		w->held_tail->next = h;
	else
		w->held = h;
	w->held_tail = h;
	struct brk_conn *c = h->c;
	h->c_next = NULL;
	if (c->held_last != NULL)
		c->held_last->c_next = h;
	else
		c->held_first = h;
	c->held_last = h;
	BRK_CNT(w, acks_held, 1);
}

void brk_persist_ack(struct brk_conn *c, uint8_t type, uint16_t pid, uint8_t rc)
{
	struct brk_worker *w = c->w;
	if (w->ops.durable == NULL) {
		brk_send_ack(c, type, pid, rc);
		return;
	}
	bool remote = !brk__remote_done(w, w->posted);
	if (c->held_first == NULL && !remote && w->ops.durable(w->ops.ctx) >= w->pseq) {
		brk_send_ack(c, type, pid, rc);
		return;
	}
	unsigned n = w->sh->n_workers;
	struct brk_held *h = malloc(sizeof(*h) + (remote ? n : 0) * sizeof(uint64_t));
	if (h == NULL) {
		brk_send_ack(c, type, pid, rc); /* no memory to wait: degrade to async */
		return;
	}
	h->c = c;
	h->sa = NULL;
	h->seq = w->pseq;
	h->pid = pid;
	h->type = type;
	h->rc = rc;
	h->remote = remote;
	if (remote)
		memcpy(h->posted, w->posted, n * sizeof(uint64_t));
	brk__held_push(w, h);
}

/* A (UN)SUBACK waits only for its own records (sub_add / sub_remove: this worker's, so no
 * remote part), and only when the session is durable; a clean session's waits only to stay
 * behind acknowledgements the connection already has held (their order is kept). It goes
 * through the same FIFO as PUBACK/PUBREC, so its retained messages, sent with it, follow it. */
void brk_persist_suback(struct brk_conn *c, struct brk_suback *sa)
{
	struct brk_worker *w = c->w;
	uint64_t seq = c->s != NULL && c->s->durable ? w->pseq : 0;
	struct brk_held *h = NULL;
	if (w->ops.durable != NULL &&
	    (c->held_first != NULL || w->ops.durable(w->ops.ctx) < seq))
		h = malloc(sizeof(*h));
	if (h == NULL) { /* nothing to wait for (or no memory to wait: degrade to async) */
		brk_suback_send(c, sa);
		free(sa);
		return;
	}
	h->c = c;
	h->sa = sa;
	h->seq = seq;
	h->pid = sa->pid;
	h->type = sa->type;
	h->rc = 0;
	h->remote = false;
	brk__held_push(w, h);
}

/* ---- the backlog bound ----
 *
 * In sync mode publishers wait for their acknowledgements, so the records waiting for the
 * control core are bounded by the clients' inflight windows. In async mode nothing slows a
 * worker down to the control core's pace (about 300 k records/s): the backlog in the ring
 * and the overflow list would grow without bound. So once it passes
 * BRK_PERSIST_BACKLOG_RECORDS or _BYTES, every connection that sends the worker a packet
 * is paused after that packet (its bytes stay in TCP: the client's window closes), and all
 * of them resume once the control core has taken the backlog down to half. The check is
 * one relaxed load per packet. */

static bool brk__backlog_over(const struct brk_worker *w, unsigned div)
{
	uint64_t bytes = 0;
	uint64_t n = w->ops.backlog(w->ops.ctx, &bytes);
	return n > BRK_PERSIST_BACKLOG_RECORDS / div || bytes > BRK_PERSIST_BACKLOG_BYTES / div;
}

static void brk__throttled_unlink(struct brk_conn *c)
{
	struct brk_worker *w = c->w;
	if (c->tp_prev != NULL)
		c->tp_prev->tp_next = c->tp_next;
	else
		w->throttled = c->tp_next;
	if (c->tp_next != NULL)
		c->tp_next->tp_prev = c->tp_prev;
	c->tp_prev = c->tp_next = NULL;
	c->pause &= (uint8_t)~BRK_PAUSE_PLOG;
}

void brk_persist_throttle(struct brk_conn *c)
{
	struct brk_worker *w = c->w;
	if (w->ops.backlog == NULL || (c->pause & BRK_PAUSE_PLOG) || c->state != BRK_C_CONNECTED)
		return;
	if (!brk__backlog_over(w, 1))
		return;
	c->pause |= BRK_PAUSE_PLOG;
	c->tp_prev = NULL;
	c->tp_next = w->throttled;
	if (w->throttled != NULL)
		w->throttled->tp_prev = c;
	w->throttled = c;
	BRK_CNT(w, persist_throttled, 1);
}

/* The backlog is down to half: every paused connection reads again. */
static void brk__unthrottle(struct brk_worker *w)
{
	if (w->throttled == NULL || brk__backlog_over(w, 2))
		return;
	while (w->throttled != NULL) {
		struct brk_conn *c = w->throttled;
		brk__throttled_unlink(c);
		brk_conn_resume_check(c); /* the transport feeds it later, from its loop */
	}
}

void brk_persist_conn_gone(struct brk_conn *c)
{
	if (c->pause & BRK_PAUSE_PLOG)
		brk__throttled_unlink(c);
	/* Only its own entries (a walk of the whole FIFO per closing connection was
	 * quadratic when many connections with held acknowledgements closed at once). */
	for (struct brk_held *h = c->held_first; h != NULL; h = h->c_next)
		h->c = NULL;
	c->held_first = c->held_last = NULL;
}

void brk_persist_posted(struct brk_worker *w, unsigned to)
{
	if (w->ops.durable != NULL && to < BRK_MAX_WORKERS)
		w->posted[to]++;
}

void brk_persist_received(struct brk_worker *w, unsigned from)
{
	if (w->ops.durable == NULL || from >= w->sh->n_workers)
		return;
	uint64_t n = ++w->recvd[from];
	if (w->marks_n == 0 && w->ops.durable(w->ops.ctx) >= w->pseq) {
		__atomic_store_n(&w->sh->dlv_durable[w->index][from], n, __ATOMIC_RELEASE);
		if (w->ops.wake != NULL)
			w->ops.wake(w->ops.ctx, from);
		return;
	}
	if (w->marks_n > 0) {
		struct brk_pmark *t = &w->marks[(w->marks_head + w->marks_n - 1) % w->marks_cap];
		if (t->j == from && t->seq == w->pseq) {
			t->n = n;
			return;
		}
	}
	if (w->marks_n == w->marks_cap) {
		uint32_t ncap = w->marks_cap ? w->marks_cap * 2 : 64;
		struct brk_pmark *nm = malloc(ncap * sizeof(*nm));
		if (nm == NULL)
			abort(); /* a lost mark would hold a publisher's acknowledgements forever */
		for (uint32_t i = 0; i < w->marks_n; i++)
			nm[i] = w->marks[(w->marks_head + i) % w->marks_cap];
		free(w->marks);
		w->marks = nm;
		w->marks_cap = ncap;
		w->marks_head = 0;
	}
	struct brk_pmark *t = &w->marks[(w->marks_head + w->marks_n) % w->marks_cap];
	t->j = from;
	t->n = n;
	t->seq = w->pseq;
	w->marks_n++;
}

void brk_persist_poll(struct brk_worker *w)
{
	brk__unthrottle(w);
	if (w->ops.durable == NULL || (w->marks_n == 0 && w->held == NULL))
		return;
	uint64_t dur = w->ops.durable(w->ops.ctx);
	uint64_t wake = 0;
	while (w->marks_n > 0) {
		struct brk_pmark *m = &w->marks[w->marks_head];
		if (m->seq > dur)
			break;
		__atomic_store_n(&w->sh->dlv_durable[w->index][m->j], m->n, __ATOMIC_RELEASE);
		wake |= 1ull << m->j;
		w->marks_head = (w->marks_head + 1) % w->marks_cap;
		w->marks_n--;
	}
	for (unsigned j = 0; wake != 0 && j < w->sh->n_workers; j++)
		if ((wake & (1ull << j)) && w->ops.wake != NULL)
			w->ops.wake(w->ops.ctx, j);
	while (w->held != NULL) {
		struct brk_held *h = w->held;
		if (h->seq > dur || (h->remote && !brk__remote_done(w, h->posted)))
			break;
		w->held = h->next;
		if (w->held == NULL)
			w->held_tail = NULL;
		if (h->c != NULL) {
			struct brk_conn *c = h->c;
			c->held_first = h->c_next; /* h was its oldest */
			if (c->held_first == NULL)
				c->held_last = NULL;
			if (h->c->state == BRK_C_CONNECTED) {
				if (h->sa != NULL)
					brk_suback_send(h->c, h->sa);
				else
					brk_send_ack(h->c, h->type, h->pid, h->rc);
			}
		}
		free(h->sa);
		free(h);
	}
}

bool brk_worker_persist_ready(const struct brk_worker *w)
{
	if (w->throttled != NULL && !brk__backlog_over(w, 2))
		return true;
	if (w->ops.durable == NULL || (w->marks_n == 0 && w->held == NULL))
		return false;
	uint64_t dur = w->ops.durable(w->ops.ctx);
	if (w->marks_n > 0 && w->marks[w->marks_head].seq <= dur)
		return true;
	return w->held != NULL && w->held->seq <= dur;
}

void brk_persist_free(struct brk_worker *w)
{
	while (w->held != NULL) {
		struct brk_held *h = w->held;
		w->held = h->next;
		free(h->sa);
		free(h);
	}
	w->held_tail = NULL;
	free(w->marks);
	w->marks = NULL;
	w->marks_n = w->marks_cap = 0;
}

/* ---- recovery: the control core's replica -> sessions, subscriptions, retained ---- */

/* A message from recovered parts: encode a v5 PUBLISH and decode it, so that the result is
 * exactly what brk_msg_new() makes of a received one. */
static struct brk_msg *brk__msg_rebuild(struct brk_worker *w, struct plog_bytes topic,
					uint8_t qos, bool retain, struct plog_bytes payload,
					struct plog_bytes props, uint64_t expiry_ms,
					uint64_t wall_ms, struct brk_dlv *d)
{
	size_t body = 2 + (size_t)topic.len + (qos ? 2 : 0) + 4 + props.len + payload.len;
	uint8_t *buf = malloc(body + 5 + 4);
	if (buf == NULL)
		return NULL;
	size_t o = 0;
	buf[o++] = (uint8_t)(0x30 | (qos << 1) | (retain ? 1 : 0));
	size_t rem = 2 + topic.len + (qos ? 2 : 0) + payload.len;
	size_t pl = props.len;
	size_t plb = pl < 128 ? 1 : pl < 16384 ? 2 : pl < 2097152 ? 3 : 4;
	rem += plb + pl;
	do {
		uint8_t b = rem & 0x7f;
		rem >>= 7;
		buf[o++] = (uint8_t)(b | (rem ? 0x80 : 0));
	} while (rem);
	buf[o++] = (uint8_t)(topic.len >> 8);
	buf[o++] = (uint8_t)topic.len;
	if (topic.len)
		memcpy(buf + o, topic.ptr, topic.len);
	o += topic.len;
	if (qos) {
		buf[o++] = 0;
		buf[o++] = 1;
	}
	do {
		uint8_t b = pl & 0x7f;
		pl >>= 7;
		buf[o++] = (uint8_t)(b | (pl ? 0x80 : 0));
	} while (pl);
	if (props.len)
		memcpy(buf + o, props.ptr, props.len);
	o += props.len;
	if (payload.len)
		memcpy(buf + o, payload.ptr, payload.len);
	o += payload.len;
	struct mqtt_packet pk;
	struct brk_msg *m = NULL;
	if (mqtt_decode(MQTT_V5, buf, o, &pk) == MQTT_OK && pk.type == MQTT_PUBLISH) {
		/* A queued message's Subscription Identifiers (brk_p_msg_queue) belong to the
		 * delivery; brk_msg_new() leaves them out of the message. */
		uint32_t off = 0;
		struct mqtt_prop pr;
		while (d != NULL && mqtt_props_next(&pk.publish.props, &off, &pr))
			if (pr.id == MQTT_PROP_SUB_ID && d->n_sub_ids < BRK_MAX_SUB_IDS)
				d->sub_ids[d->n_sub_ids++] = pr.num;
		m = brk_msg_new(&pk.publish, pk.publish.topic.p, (uint16_t)pk.publish.topic.len, 0,
				w->now);
	}
	free(buf);
	if (m != NULL && expiry_ms != 0)
		m->expire_at = expiry_ms > wall_ms ? w->now + (expiry_ms - wall_ms) * 1000000u
						   : w->now;
	return m;
}

struct brk__restore {
	struct brk_shared *sh;
	uint64_t now, wall;
	void (*gone)(void *arg, const struct plog_sess *s);
	void *arg;
	uint64_t max_mid;
	int err;
	unsigned next_worker;
};

static int brk__restore_sess(void *arg, const struct plog_sess *ps)
{
	struct brk__restore *R = arg;
	bool never = ps->expiry_interval == PLOG_EXPIRY_NEVER;
	/* A session connected at the crash went offline then: its expiry counts from now. */
	uint64_t base = ps->connected ? R->wall : ps->time_ms;
	uint64_t end = base + (uint64_t)ps->expiry_interval * 1000u;
	bool ended = ps->expiry_interval == 0 || (!never && end <= R->wall);
	if (ps->client_id.len > 65535 || (ended && !ps->will.present)) {
		if (R->gone != NULL)
			R->gone(R->arg, ps);
		return 0;
	}
	struct brk_worker *w = R->sh->workers[R->next_worker++ % R->sh->n_workers];
	w->now = R->now;
	struct brk_session *s = brk_session_new(w, ps->client_id.ptr, (uint16_t)ps->client_id.len);
	if (s == NULL)
		goto nomem;
	s->state = BRK_S_OFFLINE;
	s->durable = true;
	s->version = ps->proto_version;
	s->expiry_s = ps->expiry_interval;
	s->expire_at = never ? BRK_NEVER : ended ? R->now : R->now + (end - R->wall) * 1000000u;
	/* The identity of its last connection: the will and the queued messages are checked
	 * against the ACL as that user on that listener, as before the restart. A listener
	 * the configuration no longer has falls back to the first one's ACL table. */
	s->lst = ps->listener < R->sh->n_listeners ? ps->listener : 0;
	brk_session_register_restored(w, s);
	if (ps->has_username) {
		/* Registered first: on ENOMEM the worker frees the session with the others. */
		s->username = malloc((size_t)ps->username.len + 1);
		if (s->username == NULL)
			goto nomem;
		if (ps->username.len)
			memcpy(s->username, ps->username.ptr, ps->username.len);
		s->username[ps->username.len] = '\0';
		s->username_len = (uint16_t)ps->username.len;
	}
	if (ps->will.present) {
		/* The crash closed a connected session's network connection without DISCONNECT:
		 * its will is due after the delay from now. A will already pending at the crash
		 * is due at its disconnect + delay. Either goes out at the session's end if that
		 * comes first (brk_session_timer_fire), and the worker logs it gone then. */
		const struct plog_will *pw = &ps->will;
		uint64_t due = base + (uint64_t)pw->delay_interval * 1000u;
		s->will = brk__msg_rebuild(w, pw->topic, pw->qos, pw->retain, pw->payload,
					   pw->props, 0, R->wall, NULL);
		if (s->will == NULL)
			goto nomem;
		s->will->publisher = s->uid; /* still only ours: no local applies to it */
		s->will_delay = pw->delay_interval;
		s->will_at = R->now + (due > R->wall ? (due - R->wall) * 1000000u : 0);
	}
	if (ended) {
		/* Expired while tachyond was down with a will: restored bare, so that the first
		 * tick publishes the will and logs the expiry. */
		brk_session_timer(s);
		return 0;
	}
	for (const struct plog_sub *p = ps->subs; p != NULL; p = p->next) {
		struct brk_sub *sub = malloc(sizeof(*sub) + p->filter_len + 1);
		if (sub == NULL)
			goto nomem;
		memcpy(sub->filter, p->filter, p->filter_len);
		sub->filter[p->filter_len] = '\0';
		sub->len = p->filter_len;
		memset(&sub->opts, 0, sizeof(sub->opts));
		sub->opts.max_qos = p->options & 3;
		sub->opts.no_local = (p->options >> 2) & 1;
		sub->opts.retain_as_published = (p->options >> 3) & 1;
		sub->opts.retain_handling = (p->options >> 4) & 3;
		sub->opts.sub_id = p->sub_id;
		brk_session_sub_attach(s, sub);
	}
	uint16_t max_pid = 0;
	for (const struct plog_qmsg *q = ps->qhead; q != NULL; q = q->next) {
		struct brk_dlv *d = calloc(1, sizeof(*d));
		if (d == NULL)
			goto nomem;
		d->mid = q->msg_id;
		d->qos = q->qos;
		d->retain = q->retain;
		d->pid = q->packet_id;
		if (q->msg_id > R->max_mid)
			R->max_mid = q->msg_id;
		if (q->state != PLOG_QMSG_RELEASED) {
			d->msg = brk__msg_rebuild(w, q->topic, q->qos, q->retain, q->payload,
						  q->props, q->expiry_ms, R->wall, d);
			if (d->msg == NULL) {
				free(d);
				continue;
			}
		}
		if (q->state == PLOG_QMSG_QUEUED || q->packet_id == 0) {
			d->pid = 0;
			d->state = BRK_DLV_QUEUED;
			brk_dlvq_push(&s->queue, d);
			continue;
		}
		d->state = q->state == PLOG_QMSG_RELEASED ? BRK_DLV_RELEASED : BRK_DLV_PUBLISHED;
		if (d->pid > max_pid)
			max_pid = d->pid;
		brk_dlvq_push(&s->inflight, d);
	}
	s->next_pid = max_pid == 65535 || max_pid == 0 ? 1 : (uint16_t)(max_pid + 1);
	s->pid_unordered = true; /* restored in log order, not necessarily id order */
	for (uint32_t i = 0; i < ps->nq2in; i++)
		if (brk_session_rx_add(s, ps->q2in[i]) != 0)
			goto nomem;
	brk_session_timer(s); /* offline: its expiry (and queue prune) on the worker's wheel */
	return 0;
nomem:
	R->err = -ENOMEM;
	return 1;
}

static void brk__restored_retained_free(struct topic_retained *r)
{
	brk_msg_unref(caa_container_of(r, struct brk_msg, ret));
}

static int brk__restore_ret(void *arg, const struct plog_retained *pr)
{
	struct brk__restore *R = arg;
	if (pr->expiry_ms != 0 && pr->expiry_ms <= R->wall)
		return 0;
	struct brk_worker *w = R->sh->workers[0];
	w->now = R->now;
	struct brk_msg *m = brk__msg_rebuild(w, pr->topic, pr->qos, true, pr->payload, pr->props,
					     pr->expiry_ms, R->wall, NULL);
	if (m == NULL) {
		R->err = -ENOMEM;
		return 1;
	}
	m->ret.free_fn = brk__restored_retained_free;
	if (topic_retained_set(R->sh->tree, (const char *)m->pub.topic.p, m->pub.topic.len,
			       &m->ret) != 0)
		brk_msg_unref(m);
	return 0;
}

int brk_restore(struct brk_shared *sh, const struct plog_state *st, uint64_t now_ns,
		void (*gone)(void *arg, const struct plog_sess *s), void *arg)
{
	for (unsigned i = 0; i < sh->n_workers; i++)
		if (sh->workers[i] == NULL)
			return -EINVAL;
	struct brk__restore R = { .sh = sh, .now = now_ns, .wall = brk__wall_ms(), .gone = gone,
				  .arg = arg };
	plog_state_foreach(st, brk__restore_sess, brk__restore_ret, &R);
	uint64_t next = __atomic_load_n(&sh->next_mid, __ATOMIC_RELAXED);
	if (R.max_mid + 1 > next)
		__atomic_store_n(&sh->next_mid, R.max_mid + 1, __ATOMIC_RELAXED);
	return R.err;
}
