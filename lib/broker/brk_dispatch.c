/**
 * @file brk_dispatch.c
 * A connection's life and the one dispatcher: the transport hands each decoded packet to
 * brk_conn_packet(), which checks the connection's state and calls the packet's handler
 * (brk_connect.c, brk_publish.c, brk_ack.c, brk_subscribe.c, brk_unsubscribe.c,
 * brk_ping.c, brk_disconnect.c, brk_auth.c). A handler returns 0, or a reason code
 * (>= 0x80) that ends the connection: DISCONNECT with that code in MQTT 5, a plain close
 * in 3.1.x (brk_conn_close).
 *
 * A connection closed by a handler is freed only when brk_conn_packet() returns, so no
 * handler ever touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

struct brk_conn *brk_conn_open(struct brk_worker *w, const struct brk_conn_ops *ops,
			       void *tctx, const struct brk_listener *lst, uint64_t now_ns)
{
	struct brk_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->w = w;
	c->ops = ops;
	c->tctx = tctx;
	c->lst = *lst;
	c->last_rx = now_ns;
	c->problem_info = true;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	brk_conn_timer(c);
	return c;
}

/* The connection's deadline by its state, BRK_NEVER for none. */
static uint64_t brk__conn_deadline(const struct brk_conn *c)
{
	/* A connection that never sends CONNECT must not hold a slot forever. */
	if (c->state == BRK_C_NEW)
		return c->last_rx + 30 * BRK_SEC;
	/* MQTT 3.1.1 3.1.2.10 / 5.0 3.1.2.10: closed once one and a half times the keep alive
	 * passes without a packet (strictly more: the +1). */
	if (c->state == BRK_C_CONNECTED && c->keepalive != 0)
		return c->last_rx + (uint64_t)c->keepalive * BRK_SEC * 3 / 2 + 1;
	return BRK_NEVER;
}

void brk_conn_timer(struct brk_conn *c)
{
	twheel_set(&c->w->conn_wheel, &c->tn, brk__conn_deadline(c)); /* BRK_NEVER: off */
}

void brk_conn_timer_fire(struct brk_conn *c)
{
	struct brk_worker *w = c->w;
	uint64_t at = brk__conn_deadline(c);
	if (at == BRK_NEVER)
		return;
	if (w->now < at) {
		/* Packets came since it was filed (last_rx moved): file it again, lazily. */
		twheel_add(&w->conn_wheel, &c->tn, at);
		return;
	}
	if (c->state == BRK_C_NEW) {
		brk_conn_close(c, 0);
	} else {
		BRK_CNT(w, keepalive_timeouts, 1);
		brk_conn_close(c, MQTT_RC_KEEP_ALIVE_TIMEOUT);
	}
}

static void brk__conn_free(struct brk_conn *c)
{
	struct brk_worker *w = c->w;
	twheel_del(&w->conn_wheel, &c->tn);
	brk_persist_conn_gone(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	brk_out_free(c);
	if (c->alias_in != NULL)
		for (uint32_t i = 0; i <= c->alias_in_max; i++)
			free(c->alias_in[i]);
	if (c->alias_out != NULL)
		for (uint32_t i = 0; i <= c->alias_out_max; i++)
			free(c->alias_out[i]);
	free(c->alias_in);
	free(c->alias_in_len);
	free(c->alias_out);
	free(c->alias_out_len);
	free(c->assigned_id);
	free(c);
}

/* Release what the connection holds in the broker: its session goes offline (or ends),
 * its connection slot is given back. */
static void brk__conn_release(struct brk_conn *c, bool abnormal)
{
	struct brk_worker *w = c->w;
	brk_login_cancel(c);
	if (c->state == BRK_C_CONNECTED) {
		BRK_CNT(w, clients_connected, -1);
		__atomic_fetch_sub(&w->sh->connected, 1, __ATOMIC_RELAXED);
	}
	if (c->counted) {
		__atomic_fetch_sub(&w->sh->n_conns, 1, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&w->sh->n_lconns[c->lst.index % BRK_MAX_LISTENERS], 1,
				   __ATOMIC_RELAXED);
		c->counted = false;
	}
	struct brk_session *s = c->s;
	c->s = NULL;
	if (s != NULL && s->conn == c)
		brk_session_detach(s, abnormal);
}

void brk_conn_close(struct brk_conn *c, uint8_t rc)
{
	if (c->state == BRK_C_CLOSED)
		return;
	if (rc >= 0x80 && c->state == BRK_C_CONNECTED)
		brk_send_disconnect(c, rc);
	bool abnormal = !c->normal_disconnect;
	brk__conn_release(c, abnormal);
	c->state = BRK_C_CLOSED;
	c->ops->close(c->tctx);
	if (c->in_input)
		c->dead = true;
	else
		brk__conn_free(c);
}

void brk_conn_resume_check(struct brk_conn *c)
{
	if (c->state != BRK_C_CLOSED && c->pause == 0 && !c->in_input && c->ops->resume)
		c->ops->resume(c->tctx);
}

static int brk__dispatch(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	switch (pkt->type) {
	case MQTT_PUBLISH: return brk_handle_publish(c, pkt);
	case MQTT_PUBACK: return brk_handle_puback(c, pkt);
	case MQTT_PUBREC: return brk_handle_pubrec(c, pkt);
	case MQTT_PUBREL: return brk_handle_pubrel(c, pkt);
	case MQTT_PUBCOMP: return brk_handle_pubcomp(c, pkt);
	case MQTT_SUBSCRIBE: return brk_handle_subscribe(c, pkt);
	case MQTT_UNSUBSCRIBE: return brk_handle_unsubscribe(c, pkt);
	case MQTT_PINGREQ: return brk_handle_pingreq(c, pkt);
	case MQTT_DISCONNECT: return brk_handle_disconnect(c, pkt);
	case MQTT_AUTH: return brk_handle_auth(c, pkt);
	case MQTT_CONNECT:
		/* A second CONNECT [MQTT-3.1.0-2]. */
		return MQTT_RC_PROTOCOL_ERROR;
	default:
		/* CONNACK, SUBACK, UNSUBACK, PINGRESP: server-to-client packets only. */
		return MQTT_RC_PROTOCOL_ERROR;
	}
}

enum brk_input brk_conn_packet(struct brk_conn *c, const struct mqtt_packet *pkt,
			       uint32_t wire_len)
{
	struct brk_worker *w = c->w;
	if (c->state == BRK_C_CLOSED)
		return BRK_CLOSED;
	c->last_rx = w->now;
	BRK_CNT(w, bytes_received, wire_len);
	c->rx_bytes += wire_len;
	c->in_input = true;
	enum brk_input res = BRK_CONTINUE;
	if (c->state == BRK_C_NEW) {
		if (pkt->type != MQTT_CONNECT) {
			brk_conn_close(c, 0); /* [MQTT-3.1.0-1] */
		} else {
			res = brk_handle_connect(c, pkt);
		}
	} else if (c->state == BRK_C_WAIT_XFER || c->state == BRK_C_WAIT_AUTH) {
		/* The transport stops feeding on BRK_PAUSE; nothing can arrive here. */
		res = BRK_PAUSE;
	} else {
		int rc = brk__dispatch(c, pkt);
		if (rc >= 0x80) {
			BRK_CNT(w, protocol_errors, 1);
			brk_conn_close(c, (uint8_t)rc);
		}
	}
	c->in_input = false;
	if (c->dead) {
		brk__conn_free(c);
		return BRK_CLOSED;
	}
	if (c->state == BRK_C_CLOSED)
		return BRK_CLOSED;
	brk_persist_throttle(c);
	if (c->pause != 0)
		return BRK_PAUSE;
	return res == BRK_PAUSE ? BRK_PAUSE : BRK_CONTINUE;
}

void brk_conn_bad_input(struct brk_conn *c, uint8_t rc, uint8_t version)
{
	if (c->state == BRK_C_CLOSED)
		return;
	BRK_CNT(c->w, protocol_errors, 1);
	if (rc == MQTT_RC_PACKET_TOO_LARGE)
		BRK_CNT(c->w, lim_packet_size, 1);
	if (c->state == BRK_C_NEW) {
		/* A refused CONNECT: answer in the client's dialect (docs/codec.md). */
		struct mqtt_packet p;
		memset(&p, 0, sizeof(p));
		p.type = MQTT_CONNACK;
		c->version = version >= MQTT_V5 ? MQTT_V5 : MQTT_V311;
		if (version == 0) {
			brk_conn_close(c, 0);
			return;
		}
		if (c->version == MQTT_V5) {
			p.connack.rc = rc;
			brk_props_reason(c, &p.connack.props, rc);
			brk_out_packet(c, &p);
			BRK_CNT(c->w, connects_refused, 1);
		} else {
			int v3 = mqtt_connack_v3_code(rc);
			if (v3 >= 0) {
				p.connack.rc = (uint8_t)v3;
				brk_out_packet(c, &p);
				BRK_CNT(c->w, connects_refused, 1);
			}
		}
		brk_conn_close(c, 0);
		return;
	}
	brk_conn_close(c, rc);
}

enum brk_input brk_conn_writable(struct brk_conn *c)
{
	if (c->state == BRK_C_CLOSED)
		return BRK_CLOSED;
	brk_out_flush(c);
	if (c->state == BRK_C_CONNECTED && c->s != NULL && c->oq_head == NULL)
		brk_deliver_pump(c->s);
	if (c->pause == 0 && c->ops->resume)
		c->ops->resume(c->tctx);
	return c->pause ? BRK_PAUSE : BRK_CONTINUE;
}

void brk_conn_lost(struct brk_conn *c)
{
	if (c->state == BRK_C_CLOSED)
		return;
	brk__conn_release(c, !c->normal_disconnect);
	c->state = BRK_C_CLOSED;
	brk__conn_free(c);
}

void brk_worker_shutdown(struct brk_worker *w)
{
	struct brk_conn *c = w->conns;
	while (c != NULL) {
		struct brk_conn *next = c->next;
		/* MQTT 5 4.13: the server may say why it closes; 3.1.x clients see the close. */
		brk_conn_close(c, MQTT_RC_SERVER_SHUTTING_DOWN);
		c = next;
	}
}
