/**
 * @file brk_session.c
 * Sessions: creation, the client identifier registry, takeover (also across workers),
 * going offline, expiry, and the QoS 2 receive set.
 *
 * How session takeover works
 * --------------------------
 * The registry is one RCU hash table (cds_lfht) for the process, keyed by client
 * identifier; its entries are the sessions themselves (struct brk_session.reg). A session
 * lives on one worker for life and only that worker's thread touches its fields; the
 * registry is the one thing other workers see, and they only ever read a session's
 * immutable fields there (its identifier and its worker).
 *
 * A CONNECT on worker B creates a new session S (state PENDING) and inserts it with
 * cds_lfht_add_replace(). That one atomic step decides the order of all connections using
 * one identifier: it returns the entry S replaced, or none. No lock, no retry loop:
 *   - none: S starts empty (session present 0);
 *   - an old session O on B itself: B takes it over at once;
 *   - O on worker A: B posts TAKEOVER(O, S) to A and pauses the new connection.
 * Worker A, when it reads TAKEOVER: sends DISCONNECT 0x8E to O's client (MQTT 5) and closes
 * it, publishes O's will unless the new connection resumes the session within the will
 * delay, removes O's subscriptions from the tree (they are registered per worker),
 * packs O's state (subscriptions, inflight and queued messages - references, never copies -,
 * QoS 2 receive set, next packet id) into a struct brk_xfer, frees O after a grace period,
 * and posts XFER(S, state) back to B. B subscribes again as worker B and answers the
 * CONNECT (session present 1 if there was state and clean start was 0).
 *
 * Races are settled by the replace order: if C replaces S while S still waits for O's
 * state, C's TAKEOVER reaches S's worker while S is PENDING; S records C as its forward
 * address and closes its own connection; when O's state reaches S it is passed on to C
 * unchanged. If O ends at the same time (expiry, clean disconnect), its cds_lfht_del()
 * fails because it was already replaced: O stays as a DEAD husk until the TAKEOVER that
 * must be on its way arrives, and is answered with "no state". So every replaced session
 * gets exactly one TAKEOVER and every TAKEOVER exactly one XFER.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"
#include "plog/plog_record.h"

struct brk__key {
	const char *p;
	uint16_t len;
};

static uint64_t brk__hash(const char *p, uint16_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (uint16_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h;
}

static int brk__reg_match(struct cds_lfht_node *node, const void *key)
{
	const struct brk__key *k = key;
	const struct brk_session *s = caa_container_of(node, struct brk_session, reg);
	return s->id_len == k->len && memcmp(s->id, k->p, k->len) == 0;
}

struct brk_session *brk_session_new(struct brk_worker *w, const uint8_t *id, uint16_t len)
{
	struct brk_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->id = malloc((size_t)len + 1);
	if (s->id == NULL) {
		free(s);
		return NULL;
	}
	memcpy(s->id, id, len);
	s->id[len] = '\0';
	s->id_len = len;
	s->w = w;
	s->uid = __atomic_fetch_add(&w->sh->next_uid, 1, __ATOMIC_RELAXED);
	s->hash = brk__hash(s->id, len);
	s->state = BRK_S_PENDING;
	s->next_pid = 1;
	cds_lfht_node_init(&s->reg);
	s->l_next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->l_prev = s;
	w->sessions = s;
	brk_uid_add(w, s);
	BRK_CNT(w, clients_total, 1);
	return s;
}

static void brk__session_rcu_free(struct rcu_head *h)
{
	struct brk_session *s = caa_container_of(h, struct brk_session, rcu);
	free(s->id);
	free(s->username);
	free(s);
}

/* Unlink from the worker and free after a grace period (registry readers may still
 * compare its identifier). The caller has emptied it. */
static void brk__session_free(struct brk_session *s)
{
	struct brk_worker *w = s->w;
	twheel_del(&w->sess_wheel, &s->tn);
	if (s->l_prev != NULL)
		s->l_prev->l_next = s->l_next;
	else
		w->sessions = s->l_next;
	if (s->l_next != NULL)
		s->l_next->l_prev = s->l_prev;
	brk_uid_del(w, s);
	BRK_CNT(w, clients_total, -1);
	call_rcu(&s->rcu, brk__session_rcu_free);
}

void brk_session_sub_free_all(struct brk_session *s)
{
	while (s->subs != NULL) {
		struct brk_sub *sub = s->subs;
		s->subs = sub->next;
		if (sub->h != NULL)
			topic_unsubscribe(s->w->sh->tree, sub->h);
		free(sub);
	}
	s->n_subs = 0;
}

static void brk__session_clear(struct brk_session *s)
{
	brk_session_sub_free_all(s);
	brk_dlvq_free(&s->inflight);
	brk_dlvq_free(&s->queue);
	free(s->rx_pids);
	s->rx_pids = NULL;
	s->n_rx = s->cap_rx = 0;
	brk_will_drop(s);
}

void brk_session_end(struct brk_session *s)
{
	brk__session_clear(s);
	s->conn = NULL;
	if (s->registered) {
		s->registered = false;
		if (cds_lfht_del(s->w->sh->reg, &s->reg) != 0) {
			/* Replaced meanwhile: a TAKEOVER is on its way (see the essay above). */
			s->state = BRK_S_DEAD;
			return;
		}
	}
	brk__session_free(s);
}

/* ---- state transfer ---- */

static struct brk_xfer *brk__pack(struct brk_session *o)
{
	struct brk_xfer *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->present = true;
	/* Subscriptions leave this worker's part of the tree; the new owner adds them to its
	 * own. In between, messages to them are not lost for a persistent session only if
	 * they were queued before: the window is one ring round trip. */
	struct brk_sub **tail = &x->subs;
	while (o->subs != NULL) {
		struct brk_sub *sub = o->subs;
		o->subs = sub->next;
		topic_unsubscribe(o->w->sh->tree, sub->h);
		sub->h = NULL;
		sub->next = NULL;
		*tail = sub;
		tail = &sub->next;
		x->n_subs++;
	}
	o->n_subs = 0;
	x->inflight = o->inflight;
	x->queue = o->queue;
	memset(&o->inflight, 0, sizeof(o->inflight));
	memset(&o->queue, 0, sizeof(o->queue));
	x->rx_pids = o->rx_pids;
	x->n_rx = o->n_rx;
	x->cap_rx = o->cap_rx;
	o->rx_pids = NULL;
	o->n_rx = o->cap_rx = 0;
	x->next_pid = o->next_pid;
	return x;
}

static void brk__xfer_free(struct brk_xfer *x)
{
	if (x == NULL)
		return;
	while (x->subs != NULL) {
		struct brk_sub *sub = x->subs;
		x->subs = sub->next;
		free(sub);
	}
	brk_dlvq_free(&x->inflight);
	brk_dlvq_free(&x->queue);
	free(x->rx_pids);
	free(x);
}

bool brk_session_sub_attach(struct brk_session *s, struct brk_sub *sub)
{
	struct brk_worker *w = s->w;
	if (topic_subscribe(w->sh->tree, sub->filter, sub->len, w->index, s->uid, &sub->opts,
			    &sub->h) != 0) {
		free(sub);
		return false;
	}
	sub->next = s->subs;
	s->subs = sub;
	s->n_subs++;
	return true;
}

void brk_session_apply_xfer(struct brk_session *s, struct brk_xfer *x)
{
	if (x == NULL)
		return;
	while (x->subs != NULL) {
		struct brk_sub *sub = x->subs;
		x->subs = sub->next;
		brk_session_sub_attach(s, sub);
	}
	s->inflight = x->inflight;
	s->pid_unordered = true; /* conservatively: the next free id is scanned for */
	s->queue = x->queue;
	memset(&x->inflight, 0, sizeof(x->inflight));
	memset(&x->queue, 0, sizeof(x->queue));
	s->rx_pids = x->rx_pids;
	s->n_rx = x->n_rx;
	s->cap_rx = x->cap_rx;
	x->rx_pids = NULL;
	s->next_pid = x->next_pid ? x->next_pid : 1;
	brk__xfer_free(x);
}

/* Take over @p o (on this worker) for a new session on worker @p to_worker.
 * @return 0 with *out set (NULL: nothing to carry over), or 1 when @p o is itself still
 * waiting for its state: it will be forwarded when it comes. */
static int brk__takeover(struct brk_session *o, bool new_clean, struct brk_session *ns,
			 unsigned to_worker, struct brk_xfer **out)
{
	*out = NULL;
	/* Replaced in the registry: never delete it from there again. */
	o->registered = false;
	if (o->state == BRK_S_ONLINE || o->state == BRK_S_OFFLINE)
		BRK_CNT(o->w, takeovers, 1); /* a session (not a husk or a waiter) changed hands */
	switch (o->state) {
	case BRK_S_PENDING:
		o->fwd = ns;
		o->fwd_worker = (uint16_t)to_worker;
		o->fwd_clean = new_clean;
		o->fwd_set = true;
		if (o->conn != NULL) {
			struct brk_conn *c = o->conn;
			o->conn = NULL;
			c->s = NULL;
			brk_conn_close(c, 0); /* never got its CONNACK: plain close */
		}
		return 1;
	case BRK_S_DEAD:
		brk__session_free(o);
		return 0;
	case BRK_S_ONLINE: {
		struct brk_conn *c = o->conn;
		o->conn = NULL;
		c->s = NULL;
		brk_conn_close(c, MQTT_RC_SESSION_TAKEN_OVER);
		/* The old connection ended without DISCONNECT: its will goes out unless the
		 * new connection resumes the session within the will delay (MQTT 5 3.1.3.2.2). */
		if (o->will != NULL && (new_clean || o->will_delay == 0))
			brk_will_publish(o);
		break;
	}
	case BRK_S_OFFLINE:
		if (o->will != NULL && new_clean)
			brk_will_publish(o);
		break;
	}
	brk_will_drop(o);
	if (!new_clean)
		*out = brk__pack(o);
	brk__session_clear(o);
	brk__session_free(o);
	return 0;
}

/* Give @p x (possibly NULL) to session @p s of this worker, which was waiting for it. */
static void brk__xfer_arrived(struct brk_worker *w, struct brk_session *s, struct brk_xfer *x)
{
	if (s->fwd_set) {
		struct brk_xfer *fx = s->fwd_clean ? NULL : x;
		if (s->fwd_clean)
			brk__xfer_free(x);
		struct brk_session *f = s->fwd;
		unsigned fw = s->fwd_worker;
		brk__session_clear(s);
		brk__session_free(s);
		if (fw == w->index) {
			brk__xfer_arrived(w, f, fx);
		} else {
			struct brk_xmsg m = { .type = BRK_X_XFER, .from = (uint16_t)w->index,
					      .sess = f, .xfer = fx };
			brk_post(w, fw, &m, true);
		}
		return;
	}
	if (s->p_create_due) {
		/* Every record the old owner wrote about this client was handed over before
		 * x was posted: the fence puts the creation after them. */
		s->p_create_due = false;
		brk_p_sess_create(s, s->p_create_clean, true);
	}
	if (s->conn != NULL) {
		brk_connect_finish(s->conn, x);
		return;
	}
	/* The new connection went away while it waited: keep what it inherited, offline. */
	brk_session_apply_xfer(s, x);
	s->state = BRK_S_ONLINE;
	brk_session_detach(s, false);
}

void brk_session_register(struct brk_worker *w, struct brk_session *s, bool clean,
			  struct brk_xfer **now_x, bool *wait)
{
	struct brk__key k = { .p = s->id, .len = s->id_len };
	struct cds_lfht_node *on = cds_lfht_add_replace(w->sh->reg, s->hash, brk__reg_match,
							&k, &s->reg);
	s->registered = true;
	s->replaced = on != NULL;
	*now_x = NULL;
	*wait = false;
	if (on == NULL)
		return;
	struct brk_session *o = caa_container_of(on, struct brk_session, reg);
	if (o->w == w) {
		if (brk__takeover(o, clean, s, w->index, now_x) == 1)
			*wait = true;
		return;
	}
	struct brk_xmsg m = { .type = BRK_X_TAKEOVER, .clean = clean, .from = (uint16_t)w->index,
			      .old = o, .sess = s };
	brk_post(w, o->w->index, &m, true);
	*wait = true;
}

/* Recovery, before the workers run: the registry is empty of this identifier. */
void brk_session_register_restored(struct brk_worker *w, struct brk_session *s)
{
	struct brk__key k = { .p = s->id, .len = s->id_len };
	cds_lfht_add_replace(w->sh->reg, s->hash, brk__reg_match, &k, &s->reg);
	s->registered = true;
}

void brk_session_takeover_req(struct brk_worker *w, const struct brk_xmsg *m)
{
	struct brk_xfer *x = NULL;
	if (brk__takeover(m->old, m->clean, m->sess, m->from, &x) == 1)
		return;
	struct brk_xmsg r = { .type = BRK_X_XFER, .from = (uint16_t)w->index, .sess = m->sess,
			      .xfer = x };
	brk_post(w, m->from, &r, true);
}

void brk_session_xfer_in(struct brk_worker *w, const struct brk_xmsg *m)
{
	brk__xfer_arrived(w, m->sess, m->xfer);
}

void brk_session_detach(struct brk_session *s, bool abnormal)
{
	struct brk_worker *w = s->w;
	s->conn = NULL;
	if (s->state == BRK_S_PENDING) {
		/* Still waiting for the previous owner's state: keep waiting, connection-less. */
		if (!abnormal)
			brk_will_drop(s);
		return;
	}
	s->state = BRK_S_OFFLINE;
	if (!abnormal)
		brk_will_drop(s);
	brk_p_sess(s, s->expiry_s == 0 ? PLOG_REC_SESS_END : PLOG_REC_SESS_DISCONNECT);
	if (s->expiry_s == 0) {
		/* The session ends with the connection: the will goes now [MQTT-3.1.2-8]. */
		if (s->will != NULL)
			brk_will_publish(s);
		brk_session_end(s);
		return;
	}
	s->expire_at = s->expiry_s == UINT32_MAX ? BRK_NEVER
						  : w->now + (uint64_t)s->expiry_s * BRK_SEC;
	if (s->will != NULL) {
		if (s->will_delay == 0) {
			brk_will_publish(s);
		} else {
			s->will_at = w->now + (uint64_t)s->will_delay * BRK_SEC;
			/* sess_disconnect cleared it in the replica: a pending will survives a
			 * crash too, due at the disconnect's time + delay. */
			brk_p_will(s);
		}
	}
	/* Delivery states stay: QoS 1/2 in flight are sent again with DUP on reconnect. */
	brk_session_timer(s);
}

void brk_session_destroy_all(struct brk_worker *w)
{
	while (w->sessions != NULL) {
		struct brk_session *s = w->sessions;
		brk_will_drop(s);
		brk__session_clear(s);
		if (s->registered) {
			s->registered = false;
			cds_lfht_del(w->sh->reg, &s->reg);
		}
		brk__session_free(s);
	}
}

/* An OFFLINE session's next deadline: its delayed will, its expiry, and while it holds queued
 * messages a prune of the expired ones once a second. BRK_NEVER for none. */
static uint64_t brk__session_deadline(const struct brk_session *s)
{
	if (s->state != BRK_S_OFFLINE)
		return BRK_NEVER;
	uint64_t at = s->expire_at;
	if (s->will != NULL && s->will_at < at)
		at = s->will_at;
	if (s->queue.head != NULL && s->w->now + BRK_SEC < at)
		at = s->w->now + BRK_SEC;
	return at;
}

void brk_session_timer(struct brk_session *s)
{
	twheel_set(&s->w->sess_wheel, &s->tn, brk__session_deadline(s)); /* BRK_NEVER: off */
}

void brk_session_timer_fire(struct brk_session *s)
{
	struct brk_worker *w = s->w;
	if (s->state != BRK_S_OFFLINE)
		return;
	if (s->will != NULL && w->now >= s->will_at) {
		brk_will_publish(s);
		brk_p_will(s); /* gone from the replica too: a restart must not send it again */
	}
	if (s->expire_at != BRK_NEVER && w->now >= s->expire_at) {
		if (s->will != NULL)
			brk_will_publish(s);
		brk_p_sess(s, PLOG_REC_SESS_EXPIRE);
		brk_session_end(s);
		return;
	}
	brk_deliver_expire(s);
	brk_session_timer(s);
}

/* ---- the QoS 2 receive set: packet ids whose PUBLISH was delivered, PUBREL pending ---- */

bool brk_session_rx_has(const struct brk_session *s, uint16_t pid)
{
	for (uint32_t i = 0; i < s->n_rx; i++)
		if (s->rx_pids[i] == pid)
			return true;
	return false;
}

int brk_session_rx_add(struct brk_session *s, uint16_t pid)
{
	if (s->n_rx == s->cap_rx) {
		uint32_t ncap = s->cap_rx ? s->cap_rx * 2 : 8;
		uint16_t *n = realloc(s->rx_pids, ncap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		s->rx_pids = n;
		s->cap_rx = ncap;
	}
	s->rx_pids[s->n_rx++] = pid;
	return 0;
}

bool brk_session_rx_del(struct brk_session *s, uint16_t pid)
{
	for (uint32_t i = 0; i < s->n_rx; i++) {
		if (s->rx_pids[i] == pid) {
			s->rx_pids[i] = s->rx_pids[--s->n_rx];
			return true;
		}
	}
	return false;
}
