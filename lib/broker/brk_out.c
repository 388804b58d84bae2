/**
 * @file brk_out.c
 * Everything the broker sends leaves here: control packets are encoded (brk_out_packet),
 * PUBLISH heads come ready from brk_deliver.c (brk_out_raw), and both go to the transport's
 * send. When the transport is full (-ENOBUFS) packets wait, in order, in the connection's
 * held-back queue, and reading from the client pauses until brk_conn_writable() drains it:
 * a client that does not read cannot make us buffer without bound (QoS 0 is dropped past
 * BRK_OUTQ_QOS0_LIMIT; QoS 1/2 are bounded by the inflight window).
 *
 * The client's Maximum Packet Size is honoured here for control packets: optional
 * properties (reason string, user properties) are left out when they would pass it, as
 * MQTT 5 section 3.x.2.2 requires.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

static int brk__hold(struct brk_conn *c, const uint8_t *head, uint32_t len, struct brk_msg *msg)
{
	struct brk_out *o = malloc(sizeof(*o) + len);
	if (o == NULL)
		return -ENOMEM;
	o->next = NULL;
	o->msg = msg;
	if (msg != NULL)
		brk_msg_ref(msg);
	o->len = len;
	memcpy(o->head, head, len);
	if (c->oq_tail != NULL)
		c->oq_tail->next = o;
	else
		c->oq_head = o;
	c->oq_tail = o;
	uint32_t pl = 0;
	if (msg != NULL)
		brk_msg_payload(msg, &pl);
	c->oq_bytes += len + pl;
	c->pause |= BRK_PAUSE_OUTQ;
	return 0;
}

static void brk__count_sent(struct brk_conn *c, uint8_t head0, uint32_t len,
			    struct brk_msg *msg)
{
	uint32_t pl = 0;
	if (msg != NULL) {
		brk_msg_payload(msg, &pl);
		BRK_CNT(c->w, msgs_sent, 1);
		/* The QoS as sent is in the head's first byte (bits 1-2). */
		unsigned q = len > 0 ? (head0 >> 1) & 3u : 0;
		if (q <= 2)
			BRK_CNT(c->w, msgs_sent_qos[q], 1);
		brk_ctl_observe_latency(c->w, msg);
	}
	BRK_CNT(c->w, bytes_sent, len + pl);
	c->tx_bytes += len + pl;
}

int brk_out_raw(struct brk_conn *c, const uint8_t *head, uint32_t len, struct brk_msg *msg)
{
	if (c->state == BRK_C_CLOSED)
		return -EPIPE;
	if (c->oq_head != NULL)
		return brk__hold(c, head, len, msg);
	int rc = c->ops->send(c->tctx, head, len, msg);
	if (rc == -ENOBUFS)
		return brk__hold(c, head, len, msg);
	if (rc == 0)
		brk__count_sent(c, head[0], len, msg);
	return rc;
}

void brk_out_flush(struct brk_conn *c)
{
	while (c->oq_head != NULL && c->state != BRK_C_CLOSED) {
		struct brk_out *o = c->oq_head;
		int rc = c->ops->send(c->tctx, o->head, o->len, o->msg);
		if (rc == -ENOBUFS)
			return;
		if (rc == 0)
			brk__count_sent(c, o->head[0], o->len, o->msg);
		c->oq_head = o->next;
		if (c->oq_head == NULL)
			c->oq_tail = NULL;
		uint32_t pl = 0;
		if (o->msg != NULL)
			brk_msg_payload(o->msg, &pl);
		c->oq_bytes -= o->len + pl;
		brk_msg_unref(o->msg);
		free(o);
	}
	c->pause &= (uint8_t)~BRK_PAUSE_OUTQ;
}

void brk_out_free(struct brk_conn *c)
{
	while (c->oq_head != NULL) {
		struct brk_out *o = c->oq_head;
		c->oq_head = o->next;
		brk_msg_unref(o->msg);
		free(o);
	}
	c->oq_tail = NULL;
	c->oq_bytes = 0;
}

int brk_out_packet(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	uint8_t ver = c->version ? c->version : MQTT_V311;
	struct mqtt_packet p = *pkt;
	size_t n = mqtt_encode_size(ver, &p);
	if (ver == MQTT_V5 && c->max_packet != 0 && n > c->max_packet) {
		/* Optional properties are the first to go [MQTT-3.1.2-25]. */
		struct mqtt_props *pr = NULL;
		switch (p.type) {
		case MQTT_CONNACK: pr = &p.connack.props; break;
		case MQTT_PUBACK: case MQTT_PUBREC: case MQTT_PUBREL: case MQTT_PUBCOMP:
			pr = &p.ack.props; break;
		case MQTT_SUBACK: case MQTT_UNSUBACK: pr = &p.suback.props; break;
		case MQTT_DISCONNECT: case MQTT_AUTH: pr = &p.disconnect.props; break;
		default: break;
		}
		if (pr != NULL) {
			pr->present &= ~((uint64_t)1 << MQTT_PROP_REASON_STRING);
			pr->present &= ~((uint64_t)1 << MQTT_PROP_USER);
			pr->n_user = 0;
			n = mqtt_encode_size(ver, &p);
		}
		if (n > c->max_packet) {
			BRK_CNT(c->w, lim_packet_size, 1);
			return -EMSGSIZE;
		}
	}
	if (n == 0)
		return -EINVAL;
	uint8_t stack[512];
	uint8_t *buf = n <= sizeof(stack) ? stack : malloc(n);
	if (buf == NULL)
		return -ENOMEM;
	int rc = -EINVAL;
	if (mqtt_encode(ver, &p, buf, n) == n)
		rc = brk_out_raw(c, buf, (uint32_t)n, NULL);
	if (buf != stack)
		free(buf);
	return rc;
}

void brk_send_ack(struct brk_conn *c, uint8_t type, uint16_t pid, uint8_t rc)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = type;
	p.flags = type == MQTT_PUBREL ? 2 : 0;
	p.ack.packet_id = pid;
	p.ack.rc = rc;
	brk_props_reason(c, &p.ack.props, rc);
	brk_out_packet(c, &p);
}

void brk_send_disconnect(struct brk_conn *c, uint8_t rc)
{
	if (c->version != MQTT_V5)
		return;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_DISCONNECT;
	p.disconnect.rc = rc;
	brk_props_reason(c, &p.disconnect.props, rc);
	brk_out_packet(c, &p);
}
