/**
 * @file plog_state.c
 * The control core's replica of the durable state (see plog_state.h): two chained hash maps
 * (sessions by client id, retained messages by topic) and the record -> state transitions.
 *
 * Every object is one allocation holding its variable-length bytes after the struct, so a
 * session with its client id, a subscription with its filter, a message with topic, payload
 * and properties each cost one malloc, and freeing is symmetric. mem_bytes adds up the sizes
 * asked of malloc plus the bucket arrays (allocator overhead not included).
 */
#include "plog/plog_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct plog__hmap {
	struct plog_hnode **b; /* nb buckets, nb a power of two (or 0 before first insert) */
	size_t nb;
	size_t count;
};

struct plog_state {
	struct plog__hmap sess;
	struct plog__hmap ret;
	struct plog_state_stats st;
};

/* ---- hash map ---- */

static uint32_t plog__hash(const void *key, size_t len)
{
	/* CRC32C runs at several bytes per cycle with SSE4.2 and spreads short ASCII keys well
	 * enough for chaining; the map does not face adversarial keys it cannot afford. */
	return plog_crc32c(0x9e3779b9u, key, len);
}

static struct plog_hnode *plog__hfind(const struct plog__hmap *m, const void *key, size_t len,
				      uint32_t h)
{
	if (m->nb == 0)
		return NULL;
	for (struct plog_hnode *n = m->b[h & (m->nb - 1)]; n != NULL; n = n->next)
		if (n->hash == h && plog_mem_eq(n->key, n->klen, key, len))
			return n;
	return NULL;
}

/* Make room for one more entry (load factor <= 1). Called before the object is allocated,
 * so an ENOMEM here leaves the state untouched. */
static int plog__hreserve(struct plog_state *st, struct plog__hmap *m)
{
	if (m->count + 1 <= m->nb)
		return 0;
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct plog_hnode **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct plog_hnode *n = m->b[i];
		while (n != NULL) {
			struct plog_hnode *next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(m->b);
	st->st.mem_bytes += (nb - m->nb) * sizeof(*b);
	m->b = b;
	m->nb = nb;
	return 0;
}

static void plog__hinsert(struct plog__hmap *m, struct plog_hnode *n)
{
	struct plog_hnode **head = &m->b[n->hash & (m->nb - 1)];
	n->next = *head;
	*head = n;
	m->count++;
}

static void plog__hremove(struct plog__hmap *m, struct plog_hnode *n)
{
	struct plog_hnode **pp = &m->b[n->hash & (m->nb - 1)];
	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	m->count--;
}

/* ---- objects ---- */

static void *plog__alloc(struct plog_state *st, size_t size)
{
	void *p = malloc(size);
	if (p != NULL)
		st->st.mem_bytes += size;
	return p;
}

static void plog__release(struct plog_state *st, void *p, size_t size)
{
	if (p == NULL)
		return;
	st->st.mem_bytes -= size;
	free(p);
}

/* Copy @src's bytes to *dst and point @out at them. */
static void plog__put(uint8_t **dst, struct plog_bytes *out, struct plog_bytes src)
{
	out->len = src.len;
	out->ptr = src.len ? *dst : NULL;
	if (src.len)
		memcpy(*dst, src.ptr, src.len);
	*dst += src.len;
}

static size_t plog__will_size(const struct plog_will *w)
{
	return w->present ? (size_t)w->topic.len + w->payload.len + w->props.len : 0;
}

static void plog__will_clear(struct plog_state *st, struct plog_sess *s)
{
	if (s->will.present)
		plog__release(st, (void *)s->will.topic.ptr, plog__will_size(&s->will));
	memset(&s->will, 0, sizeof(s->will));
}

/* Replace the session's will by a copy of @w. The copy is allocated before the old will is
 * freed so that ENOMEM leaves the session as it was. */
static int plog__will_set(struct plog_state *st, struct plog_sess *s, const struct plog_will *w)
{
	if (!w->present) {
		plog__will_clear(st, s);
		return 0;
	}
	size_t size = plog__will_size(w);
	uint8_t *mem = plog__alloc(st, size ? size : 1);
	if (mem == NULL)
		return -ENOMEM;
	if (size == 0)
		st->st.mem_bytes -= 1; /* keep accounting in step with plog__will_size() */
	plog__will_clear(st, s);
	s->will = *w;
	uint8_t *p = mem;
	plog__put(&p, &s->will.topic, w->topic);
	plog__put(&p, &s->will.payload, w->payload);
	plog__put(&p, &s->will.props, w->props);
	/* The topic pointer doubles as the allocation's address for plog__will_clear(). */
	s->will.topic.ptr = mem;
	return 0;
}

/* The session's username: its own allocation (NULL when empty), replaced by every
 * SESS_CREATE. Split in two so that an ENOMEM is found before anything changes. */
static int plog__user_copy(struct plog_state *st, const struct plog_rec_sess *r, uint8_t **out)
{
	*out = NULL;
	if (!r->has_username || r->username.len == 0)
		return 0;
	*out = plog__alloc(st, r->username.len);
	if (*out == NULL)
		return -ENOMEM;
	memcpy(*out, r->username.ptr, r->username.len);
	return 0;
}

static void plog__user_clear(struct plog_state *st, struct plog_sess *s)
{
	plog__release(st, (void *)s->username.ptr, s->username.len);
	s->username = (struct plog_bytes){ NULL, 0 };
	s->has_username = false;
}

static void plog__user_set(struct plog_state *st, struct plog_sess *s,
			   const struct plog_rec_sess *r, uint8_t *copy)
{
	plog__user_clear(st, s);
	s->has_username = r->has_username;
	s->username = (struct plog_bytes){ copy, copy != NULL ? r->username.len : 0 };
}

static size_t plog__qmsg_size(const struct plog_qmsg *m)
{
	return sizeof(*m) + m->topic.len + m->payload.len + m->props.len;
}

static void plog__qmsg_unlink(struct plog_state *st, struct plog_sess *s, struct plog_qmsg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		s->qhead = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		s->qtail = m->prev;
	s->nqueued--;
	st->st.queued--;
	plog__release(st, m, plog__qmsg_size(m));
}

static struct plog_qmsg *plog__qmsg_find(const struct plog_sess *s, uint64_t msg_id)
{
	for (struct plog_qmsg *m = s->qhead; m != NULL; m = m->next)
		if (m->msg_id == msg_id)
			return m;
	return NULL;
}

static void plog__sess_free(struct plog_state *st, struct plog_sess *s)
{
	while (s->subs != NULL) {
		struct plog_sub *sub = s->subs;
		s->subs = sub->next;
		plog__release(st, sub, sizeof(*sub) + sub->filter_len + 1);
	}
	st->st.subscriptions -= s->nsubs;
	while (s->qhead != NULL)
		plog__qmsg_unlink(st, s, s->qhead);
	plog__will_clear(st, s);
	plog__user_clear(st, s);
	plog__release(st, s->q2in, s->q2in_cap * sizeof(uint16_t));
	st->st.q2in -= s->nq2in;
	plog__release(st, s, sizeof(*s) + s->client_id.len);
}

static void plog__sess_delete(struct plog_state *st, struct plog_sess *s)
{
	plog__hremove(&st->sess, &s->node);
	st->st.sessions--;
	plog__sess_free(st, s);
}

static struct plog_sess *plog__sess_get(const struct plog_state *st, struct plog_bytes id)
{
	struct plog_hnode *n = plog__hfind(&st->sess, id.ptr, id.len, plog__hash(id.ptr, id.len));
	return (struct plog_sess *)n; /* node is the first member */
}

/* ---- transitions ---- */

static int plog__apply_sess_create(struct plog_state *st, const struct plog_rec_sess *r)
{
	struct plog_sess *s = plog__sess_get(st, r->client_id);
	/* Every allocation first, so that ENOMEM changes nothing. */
	uint8_t *user;
	if (plog__user_copy(st, r, &user) != 0)
		return -ENOMEM;
	if (s != NULL && r->clean_start) {
		/* Clean start discards any existing session (MQTT 5 3.1.2.4). The replacement is
		 * built first so that ENOMEM changes nothing. */
		struct plog_sess *fresh = plog__alloc(st, sizeof(*fresh) + r->client_id.len);
		if (fresh == NULL)
			goto nomem;
		memset(fresh, 0, sizeof(*fresh));
		if (plog__will_set(st, fresh, &r->will) != 0) {
			plog__release(st, fresh, sizeof(*fresh) + r->client_id.len);
			goto nomem;
		}
		plog__sess_delete(st, s);
		s = fresh;
		goto init;
	}
	if (s != NULL) {
		if (plog__will_set(st, s, &r->will) != 0)
			goto nomem;
		goto fields;
	}
	if (plog__hreserve(st, &st->sess) != 0)
		goto nomem;
	s = plog__alloc(st, sizeof(*s) + r->client_id.len);
	if (s == NULL)
		goto nomem;
	memset(s, 0, sizeof(*s));
	if (plog__will_set(st, s, &r->will) != 0) {
		plog__release(st, s, sizeof(*s) + r->client_id.len);
		goto nomem;
	}
init:;
	uint8_t *p = (uint8_t *)(s + 1);
	plog__put(&p, &s->client_id, r->client_id);
	s->client_id.ptr = (const uint8_t *)(s + 1);
	s->node.key = s->client_id.ptr;
	s->node.klen = r->client_id.len;
	s->node.hash = plog__hash(r->client_id.ptr, r->client_id.len);
	plog__hinsert(&st->sess, &s->node);
	st->st.sessions++;
fields:
	s->proto_version = r->proto_version;
	s->clean_start = r->clean_start;
	s->expiry_interval = r->expiry_interval;
	s->time_ms = r->time_ms;
	s->connected = true;
	/* The connection's identity replaces the last one's: a client id that comes back as
	 * another user (a takeover) is checked as the new user from now on. */
	plog__user_set(st, s, r, user);
	s->listener = r->listener;
	return 0;
nomem:
	plog__release(st, user, user != NULL ? r->username.len : 0);
	return -ENOMEM;
}

static int plog__apply_sub_add(struct plog_state *st, struct plog_sess *s,
			       const struct plog_rec_sub *r)
{
	struct plog_sub **pp = &s->subs;
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (plog_mem_eq((*pp)->filter, (*pp)->filter_len, r->filter.ptr, r->filter.len)) {
			/* MQTT: a SUBSCRIBE to an existing filter replaces its options. */
			(*pp)->options = r->options;
			(*pp)->sub_id = r->sub_id;
			return 0;
		}
	}
	struct plog_sub *sub = plog__alloc(st, sizeof(*sub) + r->filter.len + 1);
	if (sub == NULL)
		return -ENOMEM;
	sub->next = NULL;
	sub->options = r->options;
	sub->sub_id = r->sub_id;
	sub->filter_len = (uint16_t)r->filter.len;
	if (r->filter.len)
		memcpy(sub->filter, r->filter.ptr, r->filter.len);
	sub->filter[r->filter.len] = '\0';
	*pp = sub;
	s->nsubs++;
	st->st.subscriptions++;
	return 0;
}

static bool plog__sub_remove(struct plog_state *st, struct plog_sess *s,
			     const struct plog_rec_sub *r)
{
	for (struct plog_sub **pp = &s->subs; *pp != NULL; pp = &(*pp)->next) {
		struct plog_sub *sub = *pp;
		if (plog_mem_eq(sub->filter, sub->filter_len, r->filter.ptr, r->filter.len)) {
			*pp = sub->next;
			plog__release(st, sub, sizeof(*sub) + sub->filter_len + 1);
			s->nsubs--;
			st->st.subscriptions--;
			return true;
		}
	}
	return false;
}

static int plog__apply_retain_set(struct plog_state *st, const struct plog_rec_retain *r)
{
	uint32_t h = plog__hash(r->topic.ptr, r->topic.len);
	struct plog_retained *old =
		(struct plog_retained *)plog__hfind(&st->ret, r->topic.ptr, r->topic.len, h);
	if (old == NULL && plog__hreserve(st, &st->ret) != 0)
		return -ENOMEM;
	size_t size = sizeof(struct plog_retained) + r->topic.len + r->payload.len + r->props.len;
	struct plog_retained *m = plog__alloc(st, size);
	if (m == NULL)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	uint8_t *p = (uint8_t *)(m + 1);
	plog__put(&p, &m->topic, r->topic);
	plog__put(&p, &m->payload, r->payload);
	plog__put(&p, &m->props, r->props);
	m->qos = r->qos;
	m->expiry_ms = r->expiry_ms;
	m->node.key = (const uint8_t *)(m + 1);
	m->node.klen = r->topic.len;
	m->node.hash = h;
	if (old != NULL) {
		plog__hremove(&st->ret, &old->node);
		plog__release(st, old, sizeof(*old) + old->topic.len + old->payload.len +
					       old->props.len);
		st->st.retained--;
	}
	plog__hinsert(&st->ret, &m->node);
	st->st.retained++;
	return 0;
}

static void plog__retain_clear(struct plog_state *st, struct plog_bytes topic)
{
	struct plog_retained *old = (struct plog_retained *)plog__hfind(
		&st->ret, topic.ptr, topic.len, plog__hash(topic.ptr, topic.len));
	if (old == NULL)
		return; /* clearing nothing is a normal MQTT operation, not an orphan */
	plog__hremove(&st->ret, &old->node);
	plog__release(st, old, sizeof(*old) + old->topic.len + old->payload.len + old->props.len);
	st->st.retained--;
}

static int plog__apply_msg_queue(struct plog_state *st, struct plog_sess *s,
				 const struct plog_rec_msg *r)
{
	size_t size = sizeof(struct plog_qmsg) + r->topic.len + r->payload.len + r->props.len;
	struct plog_qmsg *m = plog__alloc(st, size);
	if (m == NULL)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	uint8_t *p = (uint8_t *)(m + 1);
	plog__put(&p, &m->topic, r->topic);
	plog__put(&p, &m->payload, r->payload);
	plog__put(&p, &m->props, r->props);
	m->msg_id = r->msg_id;
	m->expiry_ms = r->expiry_ms;
	m->packet_id = r->packet_id;
	m->qos = r->qos;
	m->retain = r->retain;
	m->state = PLOG_QMSG_QUEUED;
	m->prev = s->qtail;
	if (s->qtail)
		s->qtail->next = m;
	else
		s->qhead = m;
	s->qtail = m;
	s->nqueued++;
	st->st.queued++;
	return 0;
}

/* QoS 2 outbound after PUBREC: keep only the ids, give the body back. */
static int plog__msg_release(struct plog_state *st, struct plog_sess *s, struct plog_qmsg *m,
			     uint16_t packet_id)
{
	if (m->state != PLOG_QMSG_RELEASED && (m->topic.len || m->payload.len || m->props.len)) {
		struct plog_qmsg *n = plog__alloc(st, sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		*n = *m;
		n->topic = n->payload = n->props = (struct plog_bytes){ 0 };
		if (n->prev)
			n->prev->next = n;
		else
			s->qhead = n;
		if (n->next)
			n->next->prev = n;
		else
			s->qtail = n;
		plog__release(st, m, plog__qmsg_size(m));
		m = n;
	}
	m->state = PLOG_QMSG_RELEASED;
	m->packet_id = packet_id;
	return 0;
}

static size_t plog__q2in_pos(const struct plog_sess *s, uint16_t id)
{
	size_t lo = 0, hi = s->nq2in;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->q2in[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int plog__q2in_add(struct plog_state *st, struct plog_sess *s, uint16_t id)
{
	size_t pos = plog__q2in_pos(s, id);
	if (pos < s->nq2in && s->q2in[pos] == id)
		return 0;
	if (s->nq2in == s->q2in_cap) {
		uint32_t cap = s->q2in_cap ? s->q2in_cap * 2 : 4;
		uint16_t *n = realloc(s->q2in, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		st->st.mem_bytes += (cap - s->q2in_cap) * sizeof(*n);
		s->q2in = n;
		s->q2in_cap = cap;
	}
	memmove(&s->q2in[pos + 1], &s->q2in[pos], (s->nq2in - pos) * sizeof(uint16_t));
	s->q2in[pos] = id;
	s->nq2in++;
	st->st.q2in++;
	return 0;
}

static bool plog__q2in_del(struct plog_state *st, struct plog_sess *s, uint16_t id)
{
	size_t pos = plog__q2in_pos(s, id);
	if (pos >= s->nq2in || s->q2in[pos] != id)
		return false;
	memmove(&s->q2in[pos], &s->q2in[pos + 1], (s->nq2in - pos - 1) * sizeof(uint16_t));
	s->nq2in--;
	st->st.q2in--;
	return true;
}

/* The client id of any record that names a session. */
static struct plog_bytes plog__rec_client(const struct plog_rec *r)
{
	switch (r->type) {
	case PLOG_REC_SESS_DISCONNECT:
	case PLOG_REC_SESS_END:
	case PLOG_REC_SESS_EXPIRE:
		return r->u.sref.client_id;
	case PLOG_REC_SUB_ADD:
	case PLOG_REC_SUB_REMOVE:
		return r->u.sub.client_id;
	case PLOG_REC_MSG_QUEUE:
		return r->u.msg.client_id;
	case PLOG_REC_MSG_DELIVER:
	case PLOG_REC_MSG_ACK:
	case PLOG_REC_QOS2_OUT_REL:
		return r->u.mref.client_id;
	case PLOG_REC_QOS2_IN_RECV:
	case PLOG_REC_QOS2_IN_DONE:
		return r->u.q2in.client_id;
	case PLOG_REC_SESS_WILL:
		return r->u.will.client_id;
	default:
		return (struct plog_bytes){ 0 };
	}
}

int plog_state_apply(struct plog_state *st, const struct plog_rec *r)
{
	int rc = 0;
	bool orphan = false;
	switch (r->type) {
	case PLOG_REC_SESS_CREATE:
		rc = plog__apply_sess_create(st, &r->u.sess);
		goto out;
	case PLOG_REC_RETAIN_SET:
		rc = plog__apply_retain_set(st, &r->u.ret);
		goto out;
	case PLOG_REC_RETAIN_CLEAR:
		plog__retain_clear(st, r->u.ret.topic);
		goto out;
	default:
		break;
	}
	if (!plog_rec_type_valid(r->type))
		return -EINVAL;
	struct plog_sess *s = plog__sess_get(st, plog__rec_client(r));
	if (s == NULL) {
		orphan = true;
		goto out;
	}
	struct plog_qmsg *m;
	switch (r->type) {
	case PLOG_REC_SESS_DISCONNECT:
		s->connected = false;
		s->time_ms = r->u.sref.time_ms;
		plog__will_clear(st, s);
		break;
	case PLOG_REC_SESS_END:
	case PLOG_REC_SESS_EXPIRE:
		plog__sess_delete(st, s);
		break;
	case PLOG_REC_SUB_ADD:
		rc = plog__apply_sub_add(st, s, &r->u.sub);
		break;
	case PLOG_REC_SUB_REMOVE:
		orphan = !plog__sub_remove(st, s, &r->u.sub);
		break;
	case PLOG_REC_MSG_QUEUE:
		if (r->u.msg.msg_id <= s->max_msg_id && plog__qmsg_find(s, r->u.msg.msg_id) != NULL)
			orphan = true; /* a duplicate id would make acks ambiguous: keep the first */
		else
			rc = plog__apply_msg_queue(st, s, &r->u.msg);
		if (rc == 0 && !orphan && r->u.msg.msg_id > s->max_msg_id)
			s->max_msg_id = r->u.msg.msg_id;
		break;
	case PLOG_REC_MSG_DELIVER:
	case PLOG_REC_MSG_ACK:
	case PLOG_REC_QOS2_OUT_REL:
		m = plog__qmsg_find(s, r->u.mref.msg_id);
		if (m == NULL) {
			orphan = true;
		} else if (r->type == PLOG_REC_MSG_ACK) {
			plog__qmsg_unlink(st, s, m);
		} else if (r->type == PLOG_REC_MSG_DELIVER) {
			m->packet_id = r->u.mref.packet_id;
			if (m->state == PLOG_QMSG_QUEUED)
				m->state = PLOG_QMSG_DELIVERED;
		} else {
			rc = plog__msg_release(st, s, m, r->u.mref.packet_id);
		}
		break;
	case PLOG_REC_QOS2_IN_RECV:
		rc = plog__q2in_add(st, s, r->u.q2in.packet_id);
		break;
	case PLOG_REC_QOS2_IN_DONE:
		orphan = !plog__q2in_del(st, s, r->u.q2in.packet_id);
		break;
	case PLOG_REC_SESS_WILL:
		/* A will kept past a disconnect (its delay runs), or one published/dropped. */
		rc = plog__will_set(st, s, &r->u.will.will);
		break;
	default:
		break;
	}
out:
	if (rc != 0)
		return rc;
	st->st.applied++;
	if (orphan)
		st->st.orphans++;
	return 0;
}

/* ---- lifecycle and queries ---- */

struct plog_state *plog_state_new(void)
{
	struct plog_state *st = calloc(1, sizeof(*st));
	if (st != NULL)
		st->st.mem_bytes = sizeof(*st);
	return st;
}

void plog_state_free(struct plog_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->sess.nb; i++) {
		struct plog_hnode *n = st->sess.b[i];
		while (n != NULL) {
			struct plog_hnode *next = n->next;
			plog__sess_free(st, (struct plog_sess *)n);
			n = next;
		}
	}
	for (size_t i = 0; i < st->ret.nb; i++) {
		struct plog_hnode *n = st->ret.b[i];
		while (n != NULL) {
			struct plog_hnode *next = n->next;
			free(n);
			n = next;
		}
	}
	free(st->sess.b);
	free(st->ret.b);
	free(st);
}

void plog_state_stats(const struct plog_state *st, struct plog_state_stats *out)
{
	*out = st->st;
}

const struct plog_sess *plog_state_session(const struct plog_state *st, const void *client_id,
					   size_t len)
{
	return plog__sess_get(st, (struct plog_bytes){ .ptr = client_id, .len = (uint32_t)len });
}

const struct plog_retained *plog_state_retained(const struct plog_state *st, const void *topic,
						size_t len)
{
	return (const struct plog_retained *)plog__hfind(&st->ret, topic, len,
							 plog__hash(topic, len));
}

int plog_state_foreach(const struct plog_state *st,
		       int (*sess_cb)(void *arg, const struct plog_sess *s),
		       int (*ret_cb)(void *arg, const struct plog_retained *r), void *arg)
{
	int rc;
	for (size_t i = 0; sess_cb != NULL && i < st->sess.nb; i++)
		for (struct plog_hnode *n = st->sess.b[i]; n != NULL; n = n->next)
			if ((rc = sess_cb(arg, (const struct plog_sess *)n)) != 0)
				return rc;
	for (size_t i = 0; ret_cb != NULL && i < st->ret.nb; i++)
		for (struct plog_hnode *n = st->ret.b[i]; n != NULL; n = n->next)
			if ((rc = ret_cb(arg, (const struct plog_retained *)n)) != 0)
				return rc;
	return 0;
}
