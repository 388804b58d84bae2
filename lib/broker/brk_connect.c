/**
 * @file brk_connect.c
 * CONNECT -> CONNACK (MQTT 3.1, 3.1.1 and 5.0): connection limits, the client identifier
 * rules, keep alive (and MQTT 5's server keep alive when max_keepalive caps it), the will,
 * the credentials (brk_login(), brk_access.c), the session (clean start, session expiry,
 * takeover via brk_session_register()), and the CONNACK with the properties that tell an MQTT 5 client our limits.
 *
 * A CONNECT whose session is held by another worker pauses the connection
 * (BRK_C_WAIT_XFER) until the state arrives; brk_connect_finish() then answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

/* Refuse the CONNECT with @p rc (a v5 reason code; mapped for 3.1.x) and close. */
static enum brk_input brk__refuse(struct brk_conn *c, uint8_t rc)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNACK;
	BRK_CNT(c->w, connects_refused, 1);
	if (c->version == MQTT_V5) {
		p.connack.rc = rc;
		brk_props_reason(c, &p.connack.props, rc);
		brk_out_packet(c, &p);
	} else {
		int v3 = mqtt_connack_v3_code(rc);
		if (v3 >= 0) {
			p.connack.rc = (uint8_t)v3;
			brk_out_packet(c, &p);
		}
	}
	brk_conn_close(c, 0);
	return BRK_CLOSED;
}

enum brk_input brk_connect_refuse(struct brk_conn *c, uint8_t rc)
{
	return brk__refuse(c, rc);
}

static bool brk__over_limit(int64_t limit, int64_t n)
{
	return limit >= 0 && n > limit;
}

enum brk_input brk_handle_connect(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_connect *cn = &pkt->connect;
	struct brk_worker *w = c->w;
	const struct brk_settings *set = &w->sh->set;
	c->version = cn->version;
	if (c->version == MQTT_V5 && MQTT_PROP_HAS(&cn->props, MQTT_PROP_REQUEST_PROBLEM_INFO))
		c->problem_info = cn->props.request_problem_info != 0;

	/* A CONNECT resumed after its password check (brk_access.c) comes here a second
	 * time: it was counted and passed the limits the first time. */
	int64_t n = 0, ln = 0;
	if (!c->counted) {
		n = __atomic_add_fetch(&w->sh->n_conns, 1, __ATOMIC_RELAXED);
		ln = __atomic_add_fetch(&w->sh->n_lconns[c->lst.index % BRK_MAX_LISTENERS], 1,
					__ATOMIC_RELAXED);
		c->counted = true;
	}
	if (brk__over_limit(set->max_connections, n) ||
	    brk__over_limit(c->lst.max_connections, ln)) {
		BRK_CNT(w, lim_connections, 1);
		/* 3.1.x: return code 3, Server unavailable (mqtt_connack_v3_code maps 0x88). */
		return brk__refuse(c, c->version == MQTT_V5 ? MQTT_RC_QUOTA_EXCEEDED
							     : MQTT_RC_SERVER_UNAVAILABLE);
	}
	/* No authentication method is configured: MQTT 5 4.12 says refuse with 0x8C. */
	if (c->version == MQTT_V5 && MQTT_PROP_HAS(&cn->props, MQTT_PROP_AUTH_METHOD))
		return brk__refuse(c, MQTT_RC_BAD_AUTH_METHOD);

	/* Client identifier rules: 3.1 requires one; 3.1.1 allows an empty one only with a
	 * clean session [MQTT-3.1.3-7/8]; 5.0 assigns one [MQTT-3.1.3-6]. Config may forbid. */
	const uint8_t *id = cn->client_id.p;
	uint16_t id_len = (uint16_t)cn->client_id.len;
	char gen[40];
	if (id_len == 0) {
		if (!c->lst.allow_zero_length_clientid || c->version == MQTT_V31 ||
		    (c->version == MQTT_V311 && !cn->clean_start))
			return brk__refuse(c, MQTT_RC_CLIENT_ID_INVALID);
		uint64_t u = __atomic_fetch_add(&w->sh->next_uid, 1, __ATOMIC_RELAXED);
		int k = snprintf(gen, sizeof(gen), "auto-%016" PRIx64 "-%u", u, w->index);
		id = (const uint8_t *)gen;
		id_len = (uint16_t)k;
		if (c->version == MQTT_V5) {
			free(c->assigned_id);
			c->assigned_id = strdup(gen);
			if (c->assigned_id == NULL)
				return brk__refuse(c, MQTT_RC_SERVER_BUSY);
		}
	}

	/* Keep alive: Mosquitto's rule. Above max_keepalive (or 0 while max_keepalive caps
	 * it), an MQTT 5 client is told the Server Keep Alive; a 3.1.x client cannot be told,
	 * so it is refused (return code 2, as Mosquitto does). */
	c->keepalive = cn->keep_alive;
	bool server_ka = false;
	if (set->max_keepalive != 0 &&
	    (cn->keep_alive > set->max_keepalive ||
	     (cn->keep_alive == 0 && set->max_keepalive < 65535))) {
		if (c->version != MQTT_V5)
			return brk__refuse(c, MQTT_RC_CLIENT_ID_INVALID);
		c->keepalive = set->max_keepalive;
		server_ka = true;
	}
	if (cn->will && cn->will_retain && !set->retain_available)
		return brk__refuse(c, MQTT_RC_RETAIN_NOT_SUPPORTED);
	/* Credentials last, after the cheap refusals: they may cost a password hash, which
	 * then runs off the worker while the connection waits (BRK_C_WAIT_AUTH). */
	if (!c->login_ok) {
		int arc = brk_login(c, pkt);
		if (arc == -EINPROGRESS) {
			c->state = BRK_C_WAIT_AUTH;
			c->pause |= BRK_PAUSE_AUTH;
			return BRK_PAUSE;
		}
		if (arc != 0)
			return brk__refuse(c, (uint8_t)arc);
		c->login_ok = true;
	}

	/* What the client accepts from us, and what we accept from it. */
	c->recv_max = set->max_inflight;
	c->send_max = set->max_inflight;
	if (MQTT_PROP_HAS(&cn->props, MQTT_PROP_RECEIVE_MAX) && cn->props.receive_max < c->send_max)
		c->send_max = cn->props.receive_max;
	if (MQTT_PROP_HAS(&cn->props, MQTT_PROP_MAX_PACKET_SIZE))
		c->max_packet = cn->props.max_packet_size;
	if (c->version == MQTT_V5) {
		c->alias_in_max = c->lst.max_topic_alias;
		uint16_t cl = MQTT_PROP_HAS(&cn->props, MQTT_PROP_TOPIC_ALIAS_MAX)
				      ? cn->props.topic_alias_max : 0;
		c->alias_out_max = cl < c->lst.max_topic_alias ? cl : c->lst.max_topic_alias;
		if (c->alias_in_max != 0) {
			c->alias_in = calloc((size_t)c->alias_in_max + 1, sizeof(char *));
			c->alias_in_len = calloc((size_t)c->alias_in_max + 1, sizeof(uint16_t));
		}
		if (c->alias_out_max != 0) {
			c->alias_out = calloc((size_t)c->alias_out_max + 1, sizeof(char *));
			c->alias_out_len = calloc((size_t)c->alias_out_max + 1, sizeof(uint16_t));
		}
		if ((c->alias_in_max && (!c->alias_in || !c->alias_in_len)) ||
		    (c->alias_out_max && (!c->alias_out || !c->alias_out_len)))
			return brk__refuse(c, MQTT_RC_SERVER_BUSY);
	}
	c->clean_start = cn->clean_start;
	c->session_present = server_ka; /* reused below: remember server_ka until CONNACK */

	struct brk_session *s = brk_session_new(w, id, id_len);
	if (s == NULL)
		return brk__refuse(c, MQTT_RC_SERVER_BUSY);
	s->conn = c;
	c->s = s;
	if (c->version == MQTT_V5)
		s->expiry_s = MQTT_PROP_HAS(&cn->props, MQTT_PROP_SESSION_EXPIRY)
				      ? cn->props.session_expiry : 0;
	else
		s->expiry_s = cn->clean_start ? 0 : UINT32_MAX;
	s->version = c->version;
	s->durable = brk_persist_on(w) && s->expiry_s != 0;
	if (brk_sec_identity(c, s, cn) != 0 || (cn->will && brk_will_set(c, cn) != 0)) {
		c->s = NULL;
		s->conn = NULL;
		s->state = BRK_S_OFFLINE;
		brk_session_end(s);
		return brk__refuse(c, MQTT_RC_SERVER_BUSY);
	}

	struct brk_xfer *x = NULL;
	bool wait = false;
	brk_session_register(w, s, cn->clean_start, &x, &wait);
	if (s->durable || s->replaced) {
		/* Waiting for another worker's state: the old owner may still write records
		 * about this client until it hands over, so the creation is logged then,
		 * after them (brk_session.c, brk__xfer_arrived). */
		if (wait) {
			s->p_create_due = true;
			s->p_create_clean = cn->clean_start;
		} else {
			brk_p_sess_create(s, cn->clean_start, false);
		}
	}
	if (wait) {
		c->state = BRK_C_WAIT_XFER;
		c->pause |= BRK_PAUSE_XFER;
		return BRK_PAUSE;
	}
	brk_connect_finish(c, x);
	return c->state == BRK_C_CLOSED ? BRK_CLOSED : BRK_CONTINUE;
}

void brk_connect_finish(struct brk_conn *c, struct brk_xfer *x)
{
	struct brk_worker *w = c->w;
	const struct brk_settings *set = &w->sh->set;
	struct brk_session *s = c->s;
	bool server_ka = c->session_present;
	bool present = x != NULL && x->present && !c->clean_start;
	brk_session_apply_xfer(s, x);
	s->state = BRK_S_ONLINE;
	s->will_at = 0;
	twheel_del(&w->sess_wheel, &s->tn);
	c->state = BRK_C_CONNECTED;
	c->session_present = present;
	c->last_rx = w->now;
	brk_conn_timer(c);
	c->connected_at = w->now;
	BRK_CNT(w, clients_connected, 1);
	BRK_CNT(w, connects, 1);
	int64_t now_conn = __atomic_add_fetch(&w->sh->connected, 1, __ATOMIC_RELAXED);
	int64_t mx = __atomic_load_n(&w->sh->connected_max, __ATOMIC_RELAXED);
	while (now_conn > mx && !__atomic_compare_exchange_n(&w->sh->connected_max, &mx, now_conn,
							     true, __ATOMIC_RELAXED,
							     __ATOMIC_RELAXED)) {
	}

	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNACK;
	p.connack.session_present = present;
	p.connack.rc = 0;
	if (c->version == MQTT_V5) {
		struct mqtt_props *pr = &p.connack.props;
		if (c->assigned_id != NULL) {
			MQTT_PROP_SET(pr, MQTT_PROP_ASSIGNED_CLIENT_ID);
			pr->assigned_client_id.p = (const uint8_t *)c->assigned_id;
			pr->assigned_client_id.len = (uint32_t)strlen(c->assigned_id);
		}
		if (server_ka) {
			MQTT_PROP_SET(pr, MQTT_PROP_SERVER_KEEP_ALIVE);
			pr->server_keep_alive = c->keepalive;
		}
		if (c->recv_max < 65535) {
			MQTT_PROP_SET(pr, MQTT_PROP_RECEIVE_MAX);
			pr->receive_max = c->recv_max;
		}
		if (c->alias_in_max != 0) {
			MQTT_PROP_SET(pr, MQTT_PROP_TOPIC_ALIAS_MAX);
			pr->topic_alias_max = c->alias_in_max;
		}
		if (set->max_packet_size != 0 && set->max_packet_size < MQTT_MAX_PACKET_SIZE) {
			MQTT_PROP_SET(pr, MQTT_PROP_MAX_PACKET_SIZE);
			pr->max_packet_size = set->max_packet_size;
		}
		if (!set->retain_available) {
			MQTT_PROP_SET(pr, MQTT_PROP_RETAIN_AVAILABLE);
			pr->retain_available = 0;
		}
	}
	brk_out_packet(c, &p);
	c->pause &= (uint8_t)~BRK_PAUSE_XFER;
	/* Resume the session: unacknowledged messages first, with DUP [MQTT-4.4.0-1]. */
	if (present)
		brk_deliver_resend(s);
	brk_deliver_pump(s);
	if (c->state != BRK_C_CLOSED)
		brk_conn_resume_check(c);
}
