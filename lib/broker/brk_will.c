/**
 * @file brk_will.c
 * Will messages: kept by the session from CONNECT on, dropped by a normal DISCONNECT
 * (reason 0x00), published when the connection is lost any other way (including
 * DISCONNECT 0x04 "with will", a keep alive timeout, a protocol error or a takeover),
 * after the MQTT 5 Will Delay Interval or when the session ends, whichever is first
 * [MQTT-3.1.2-8, MQTT-3.1.3-9]. Publishing goes through the normal route, as if the
 * client had sent it.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

int brk_will_set(struct brk_conn *c, const struct mqtt_connect *cn)
{
	struct brk_session *s = c->s;
	struct mqtt_publish p;
	memset(&p, 0, sizeof(p));
	p.qos = cn->will_qos;
	p.retain = cn->will_retain;
	p.payload = cn->will_payload;
	if (c->version == MQTT_V5) {
		/* Will properties are PUBLISH properties, but for Will Delay Interval. */
		p.props = cn->will_props;
		p.props.present &= ~((uint64_t)1 << MQTT_PROP_WILL_DELAY);
	}
	struct brk_msg *m = brk_msg_new(&p, cn->will_topic.p, (uint16_t)cn->will_topic.len,
					s->uid, c->w->now);
	if (m == NULL)
		return -1;
	brk_will_drop(s);
	s->will = m;
	s->will_delay = c->version == MQTT_V5 &&
				MQTT_PROP_HAS(&cn->will_props, MQTT_PROP_WILL_DELAY)
			? cn->will_props.will_delay : 0;
	return 0;
}

void brk_will_drop(struct brk_session *s)
{
	brk_msg_unref(s->will);
	s->will = NULL;
	s->will_at = 0;
}

void brk_will_publish(struct brk_session *s)
{
	struct brk_msg *m = s->will;
	if (m == NULL)
		return;
	s->will = NULL;
	s->will_at = 0;
	/* The will's topic is checked now, not at CONNECT: the ACL in force when it is sent
	 * decides, as in Mosquitto (which checks it when it publishes the will). */
	if (!brk_acl_will_ok(s, &m->pub.topic)) {
		brk_msg_unref(m);
		return;
	}
	/* Message expiry counts from the moment the will is published, not from CONNECT:
	 * the session holds the only reference, so the message may still be changed. */
	if (MQTT_PROP_HAS(&m->pub.props, MQTT_PROP_MESSAGE_EXPIRY))
		m->expire_at = s->w->now + (uint64_t)m->pub.props.message_expiry * BRK_SEC;
	BRK_CNT(s->w, wills_sent, 1);
	brk_route(s->w, m);
	brk_msg_unref(m);
}
