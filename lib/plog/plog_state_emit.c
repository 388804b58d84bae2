/**
 * @file plog_state_emit.c
 * The state described as records (what a snapshot stores) and state comparison (what the
 * tests and the recovery self-check use). Built only on the public plog_state.h interface,
 * so that the snapshot cannot depend on the replica's internals.
 *
 * Emission order per session reproduces the state exactly when applied to an empty state:
 *   SESS_CREATE (will, username and listener included) -> SESS_DISCONNECT if not connected (it clears the will)
 *   -> SESS_WILL if a disconnected session still has one (a delayed will pending: format 2)
 *   -> SUB_ADD in list order -> per queued message
 *   MSG_QUEUE, then MSG_DELIVER (delivered) or QOS2_OUT_REL (released) -> QOS2_IN_RECV per id.
 * Retained messages follow the sessions, one RETAIN_SET each.
 */
#include <string.h>

#include "plog/plog_state.h"

struct plog__emit {
	int (*cb)(void *arg, const struct plog_rec *rec);
	void *arg;
};

static int plog__emit_sess(void *arg, const struct plog_sess *s)
{
	struct plog__emit *e = arg;
	struct plog_rec r = { .type = PLOG_REC_SESS_CREATE };
	int rc;
	r.u.sess.client_id = s->client_id;
	r.u.sess.proto_version = s->proto_version;
	r.u.sess.clean_start = s->clean_start;
	r.u.sess.expiry_interval = s->expiry_interval;
	r.u.sess.time_ms = s->time_ms;
	r.u.sess.will = s->will;
	r.u.sess.has_username = s->has_username;
	r.u.sess.username = s->username;
	r.u.sess.listener = s->listener;
	if ((rc = e->cb(e->arg, &r)) != 0)
		return rc;
	if (!s->connected) {
		r = (struct plog_rec){ .type = PLOG_REC_SESS_DISCONNECT };
		r.u.sref.client_id = s->client_id;
		r.u.sref.time_ms = s->time_ms;
		if ((rc = e->cb(e->arg, &r)) != 0)
			return rc;
		if (s->will.present) {
			r = (struct plog_rec){ .type = PLOG_REC_SESS_WILL };
			r.u.will.client_id = s->client_id;
			r.u.will.will = s->will;
			if ((rc = e->cb(e->arg, &r)) != 0)
				return rc;
		}
	}
	for (const struct plog_sub *sub = s->subs; sub != NULL; sub = sub->next) {
		r = (struct plog_rec){ .type = PLOG_REC_SUB_ADD };
		r.u.sub.client_id = s->client_id;
		r.u.sub.filter = (struct plog_bytes){ (const uint8_t *)sub->filter, sub->filter_len };
		r.u.sub.options = sub->options;
		r.u.sub.sub_id = sub->sub_id;
		if ((rc = e->cb(e->arg, &r)) != 0)
			return rc;
	}
	for (const struct plog_qmsg *m = s->qhead; m != NULL; m = m->next) {
		r = (struct plog_rec){ .type = PLOG_REC_MSG_QUEUE };
		r.u.msg.client_id = s->client_id;
		r.u.msg.msg_id = m->msg_id;
		r.u.msg.packet_id = m->packet_id;
		r.u.msg.qos = m->qos;
		r.u.msg.retain = m->retain;
		r.u.msg.topic = m->topic;
		r.u.msg.payload = m->payload;
		r.u.msg.props = m->props;
		r.u.msg.expiry_ms = m->expiry_ms;
		if ((rc = e->cb(e->arg, &r)) != 0)
			return rc;
		if (m->state == PLOG_QMSG_QUEUED)
			continue;
		r = (struct plog_rec){ .type = m->state == PLOG_QMSG_DELIVERED ? PLOG_REC_MSG_DELIVER
										: PLOG_REC_QOS2_OUT_REL };
		r.u.mref.client_id = s->client_id;
		r.u.mref.msg_id = m->msg_id;
		r.u.mref.packet_id = m->packet_id;
		if ((rc = e->cb(e->arg, &r)) != 0)
			return rc;
	}
	for (uint32_t i = 0; i < s->nq2in; i++) {
		r = (struct plog_rec){ .type = PLOG_REC_QOS2_IN_RECV };
		r.u.q2in.client_id = s->client_id;
		r.u.q2in.packet_id = s->q2in[i];
		if ((rc = e->cb(e->arg, &r)) != 0)
			return rc;
	}
	return 0;
}

static int plog__emit_ret(void *arg, const struct plog_retained *m)
{
	struct plog__emit *e = arg;
	struct plog_rec r = { .type = PLOG_REC_RETAIN_SET };
	r.u.ret.topic = m->topic;
	r.u.ret.qos = m->qos;
	r.u.ret.payload = m->payload;
	r.u.ret.props = m->props;
	r.u.ret.expiry_ms = m->expiry_ms;
	return e->cb(e->arg, &r);
}

int plog_state_emit(const struct plog_state *st, int (*cb)(void *arg, const struct plog_rec *rec),
		    void *arg)
{
	struct plog__emit e = { cb, arg };
	return plog_state_foreach(st, plog__emit_sess, plog__emit_ret, &e);
}

/* ---- equality ---- */

static bool plog__will_eq(const struct plog_will *a, const struct plog_will *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->qos == b->qos && a->retain == b->retain &&
	       a->delay_interval == b->delay_interval && plog_bytes_eq(a->topic, b->topic) &&
	       plog_bytes_eq(a->payload, b->payload) && plog_bytes_eq(a->props, b->props);
}

static bool plog__sess_eq(const struct plog_sess *a, const struct plog_sess *b)
{
	if (a->proto_version != b->proto_version || a->clean_start != b->clean_start ||
	    a->connected != b->connected || a->expiry_interval != b->expiry_interval ||
	    a->time_ms != b->time_ms || a->nsubs != b->nsubs || a->nqueued != b->nqueued ||
	    a->nq2in != b->nq2in || !plog__will_eq(&a->will, &b->will) ||
	    a->has_username != b->has_username || !plog_bytes_eq(a->username, b->username) ||
	    a->listener != b->listener)
		return false;
	const struct plog_sub *x = a->subs, *y = b->subs;
	for (; x != NULL && y != NULL; x = x->next, y = y->next)
		if (x->options != y->options || x->sub_id != y->sub_id ||
		    !plog_mem_eq(x->filter, x->filter_len, y->filter, y->filter_len))
			return false;
	if (x != NULL || y != NULL)
		return false;
	const struct plog_qmsg *m = a->qhead, *n = b->qhead;
	for (; m != NULL && n != NULL; m = m->next, n = n->next)
		if (m->msg_id != n->msg_id || m->expiry_ms != n->expiry_ms ||
		    m->packet_id != n->packet_id || m->qos != n->qos || m->retain != n->retain ||
		    m->state != n->state || !plog_bytes_eq(m->topic, n->topic) ||
		    !plog_bytes_eq(m->payload, n->payload) || !plog_bytes_eq(m->props, n->props))
			return false;
	if (m != NULL || n != NULL)
		return false;
	return a->nq2in == 0 || memcmp(a->q2in, b->q2in, a->nq2in * sizeof(uint16_t)) == 0;
}

static int plog__cmp_sess(void *arg, const struct plog_sess *s)
{
	const struct plog_sess *o = plog_state_session(arg, s->client_id.ptr, s->client_id.len);
	return o != NULL && plog__sess_eq(s, o) ? 0 : 1;
}

static int plog__cmp_ret(void *arg, const struct plog_retained *r)
{
	const struct plog_retained *o = plog_state_retained(arg, r->topic.ptr, r->topic.len);
	return o != NULL && o->qos == r->qos && o->expiry_ms == r->expiry_ms &&
			       plog_bytes_eq(o->payload, r->payload) &&
			       plog_bytes_eq(o->props, r->props)
		       ? 0
		       : 1;
}

bool plog_state_equal(const struct plog_state *a, const struct plog_state *b)
{
	struct plog_state_stats sa, sb;
	plog_state_stats(a, &sa);
	plog_state_stats(b, &sb);
	/* Same counts and every object of a found equal in b: then b has nothing more. */
	if (sa.sessions != sb.sessions || sa.subscriptions != sb.subscriptions ||
	    sa.queued != sb.queued || sa.q2in != sb.q2in || sa.retained != sb.retained)
		return false;
	return plog_state_foreach(a, plog__cmp_sess, plog__cmp_ret, (void *)b) == 0;
}
