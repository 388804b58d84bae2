/**
 * @file brk_publish.c
 * Inbound PUBLISH (QoS 0, 1, 2) and PUBREL: topic alias resolution, the limits on
 * incoming messages, exactly-once reception, then brk_route().
 *
 * QoS 2 follows the spec's method B (MQTT 5 4.3.3, 3.1.1 figure 4.3): the message is
 * passed on when the PUBLISH arrives and its packet identifier is remembered until
 * PUBREL; a PUBLISH arriving again with a remembered identifier (a resend with DUP after
 * a reconnect, or a misbehaving client) is acknowledged with PUBREC but not delivered
 * again. The remembered set is part of the session, so it survives reconnects and
 * takeovers, and its size is the inbound window (Receive Maximum, max_inflight_messages).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"
#include "plog/plog_record.h"

/* Resolve the topic of a v5 PUBLISH that may use a Topic Alias [MQTT-3.3.2-7..12].
 * @return 0 and the topic view, or a reason code. */
static int brk__alias_in(struct brk_conn *c, const struct mqtt_publish *p, struct mqtt_str *t)
{
	*t = p->topic;
	if (c->version != MQTT_V5 || !MQTT_PROP_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS))
		return 0;
	uint16_t a = p->props.topic_alias;
	if (a == 0 || a > c->alias_in_max)
		return MQTT_RC_TOPIC_ALIAS_INVALID;
	if (p->topic.len > 0) {
		char *copy = malloc(p->topic.len);
		if (copy == NULL)
			return MQTT_RC_UNSPECIFIED;
		memcpy(copy, p->topic.p, p->topic.len);
		free(c->alias_in[a]);
		c->alias_in[a] = copy;
		c->alias_in_len[a] = (uint16_t)p->topic.len;
		return 0;
	}
	if (c->alias_in[a] == NULL)
		return MQTT_RC_PROTOCOL_ERROR; /* an alias never set */
	t->p = (const uint8_t *)c->alias_in[a];
	t->len = c->alias_in_len[a];
	return 0;
}

static unsigned brk__levels(const struct mqtt_str *t)
{
	unsigned n = 1;
	for (uint32_t i = 0; i < t->len; i++)
		n += t->p[i] == '/';
	return n;
}

/* PUBACK / PUBREC: in sync mode held until the records they answer for are durable. */
static void brk__ack(struct brk_conn *c, uint8_t qos, uint16_t pid, uint8_t rc)
{
	if (qos == 1)
		brk_persist_ack(c, MQTT_PUBACK, pid, rc);
	else if (qos == 2)
		brk_persist_ack(c, MQTT_PUBREC, pid, rc);
}

int brk_handle_publish(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_publish *p = &pkt->publish;
	struct brk_worker *w = c->w;
	struct brk_session *s = c->s;
	const struct brk_settings *set = &w->sh->set;
	BRK_CNT(w, msgs_received, 1);
	if (p->qos <= 2)
		BRK_CNT(w, msgs_received_qos[p->qos], 1);

	/* Subscription Identifiers go from server to client only [MQTT-3.3.4-6]. */
	if (c->version == MQTT_V5 && MQTT_PROP_HAS(&p->props, MQTT_PROP_SUB_ID))
		return MQTT_RC_PROTOCOL_ERROR;
	struct mqtt_str topic;
	int rc = brk__alias_in(c, p, &topic);
	if (rc != 0)
		return rc;
	if (brk__levels(&topic) > set->max_topic_levels) {
		/* A legal name past the configured limit (max_topic_levels, at most the tree's
		 * TOPIC_MAX_LEVELS): refused like an ACL denial, not a protocol error. MQTT 5:
		 * 0x90 Topic Name invalid in the PUBACK/PUBREC; 3.1.x, which has no way to say
		 * no, gets a normal acknowledgement; QoS 0 is dropped. Counted either way. */
		BRK_CNT(w, lim_topic_levels, 1);
		BRK_CNT(w, pub_dropped, 1);
		brk__ack(c, p->qos, p->packet_id,
			 c->version == MQTT_V5 ? MQTT_RC_TOPIC_NAME_INVALID : 0);
		return 0;
	}
	if (topic.len >= 4 && memcmp(topic.p, "$SYS", 4) == 0) {
		/* $SYS belongs to the broker: a client's PUBLISH there is refused like an ACL
		 * denial in Mosquitto (MQTT 5: 0x87 in the acknowledgement) and not passed on. */
		brk__ack(c, p->qos, p->packet_id,
			 c->version == MQTT_V5 ? MQTT_RC_NOT_AUTHORIZED : 0);
		return 0;
	}
	if (!brk_acl_ok(s, &topic, AUTH_ACL_WRITE)) {
		/* As Mosquitto 2.0 (handle_publish.c): dropped; QoS 1/2 still acknowledged so
		 * the client does not hang, with 0x87 Not authorized in MQTT 5 (3.1.1 has no
		 * reason code: a plain PUBACK/PUBREC). Not remembered for QoS 2: the PUBREL is
		 * answered with PUBCOMP anyway (brk_handle_pubrel). */
		brk__ack(c, p->qos, p->packet_id,
			 c->version == MQTT_V5 ? MQTT_RC_NOT_AUTHORIZED : 0);
		return 0;
	}
	if (p->retain && !set->retain_available)
		return MQTT_RC_RETAIN_NOT_SUPPORTED; /* [MQTT-3.3.1-... ] 5.0 3.2.2.3.5 */

	if (p->qos == 2) {
		if (brk_session_rx_has(s, p->packet_id)) {
			/* Already delivered: acknowledge again, deliver never twice. */
			brk__ack(c, 2, p->packet_id, 0);
			return 0;
		}
		/* Only MQTT 5 announces a Receive Maximum; a 3.1.x client is bounded by the
		 * packet identifier space (65535 remembered ids at most). */
		if (c->version == MQTT_V5 && s->n_rx >= c->recv_max) {
			BRK_CNT(w, lim_inflight, 1);
			return MQTT_RC_RECEIVE_MAX_EXCEEDED; /* [MQTT-3.3.4-9] */
		}
	}
	if (set->message_size_limit != 0 && p->payload.len > set->message_size_limit) {
		/* Mosquitto's behaviour: QoS 0 dropped, QoS 1/2 acknowledged with 0x95. */
		BRK_CNT(w, lim_packet_size, 1);
		BRK_CNT(w, pub_dropped, 1);
		/* Not remembered for QoS 2: a v5 failure ends the exchange; a 3.1.1 PUBREL
		 * for it is answered with PUBCOMP anyway (brk_handle_pubrel). */
		brk__ack(c, p->qos, p->packet_id,
			 c->version == MQTT_V5 ? MQTT_RC_PACKET_TOO_LARGE : 0);
		return 0;
	}

	struct brk_msg *m = brk_msg_new(p, topic.p, (uint16_t)topic.len, s->uid, w->now);
	if (m == NULL) {
		if (c->version == MQTT_V5 && p->qos > 0) {
			brk__ack(c, p->qos, p->packet_id, MQTT_RC_UNSPECIFIED);
			return 0;
		}
		return MQTT_RC_UNSPECIFIED;
	}
	brk_route(w, m);
	brk_msg_unref(m);
	if (p->qos == 2) {
		if (brk_session_rx_add(s, p->packet_id) != 0)
			return MQTT_RC_UNSPECIFIED;
		brk_p_q2in(s, PLOG_REC_QOS2_IN_RECV, p->packet_id);
	}
	brk__ack(c, p->qos, p->packet_id, 0);
	return 0;
}

int brk_handle_pubrel(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	uint16_t pid = pkt->ack.packet_id;
	bool known = brk_session_rx_del(c->s, pid);
	if (known)
		brk_p_q2in(c->s, PLOG_REC_QOS2_IN_DONE, pid);
	/* An unknown identifier is answered, not fatal: the PUBCOMP may have been lost
	 * before a reconnect (MQTT 5: reason 0x92). */
	brk_send_ack(c, MQTT_PUBCOMP, pid, known ? 0 : MQTT_RC_PACKET_ID_NOT_FOUND);
	return 0;
}
