/**
 * @file mqtt_encode.c
 * Encoder: struct mqtt_packet -> bytes, for every packet type and level, and the split
 * PUBLISH encoder used for fan-out ("encode once, send to many").
 *
 * Output path: broker -> mqtt_encode() / mqtt_publish_head_encode() -> tcp tx. Every packet
 * is written in two passes through the same code: a counting pass gives the remaining length
 * (which the fixed header needs first) and checks the caller's buffer, then a writing pass.
 * For fan-out the payload is never touched: the head's remaining length counts it, and the
 * TCP layer sends the head followed by the shared payload.
 */
#include "mqtt/mqtt_wire.h"

#include <stdint.h>

#define BIT(id) ((uint64_t)1 << (id))

static bool mqtt__props_empty(const struct mqtt_props *p)
{
	return p->present == 0;
}

/* Topic, packet identifier and properties of a PUBLISH: the part that is the same whether
 * the payload follows in the same buffer or in a shared one. */
static void mqtt__publish_fields(struct mqtt__wr *w, uint8_t version, struct mqtt_str topic,
				 uint8_t qos, uint16_t packet_id, const struct mqtt_props *props)
{
	mqtt__wr_str(w, topic);
	if (qos > 0)
		mqtt__wr_u16(w, packet_id);
	if (version == MQTT_V5)
		mqtt__props_write(w, props, 0);
}

static void mqtt__connect_body(struct mqtt__wr *w, const struct mqtt_connect *c)
{
	uint8_t v = c->version;
	uint8_t f = 0;

	if (v == MQTT_V31) {
		mqtt__wr_str(w, (struct mqtt_str){(const uint8_t *)"MQIsdp", 6});
	} else if (v == MQTT_V311 || v == MQTT_V5) {
		mqtt__wr_str(w, (struct mqtt_str){(const uint8_t *)"MQTT", 4});
	} else {
		w->ok = false;
		return;
	}
	mqtt__wr_u8(w, v);
	/* The flags follow the fields, so they always agree with the payload. */
	f |= c->clean_start ? 0x02 : 0;
	if (c->will)
		f |= (uint8_t)(0x04 | (c->will_qos & 0x3) << 3 | (c->will_retain ? 0x20 : 0));
	f |= c->has_password ? 0x40 : 0;
	f |= c->has_username ? 0x80 : 0;
	mqtt__wr_u8(w, f);
	mqtt__wr_u16(w, c->keep_alive);
	if (v == MQTT_V5)
		mqtt__props_write(w, &c->props, 0);
	mqtt__wr_str(w, c->client_id);
	if (c->will) {
		if (v == MQTT_V5)
			mqtt__props_write(w, &c->will_props, 0);
		mqtt__wr_str(w, c->will_topic);
		mqtt__wr_str(w, c->will_payload);
	}
	if (c->has_username)
		mqtt__wr_str(w, c->username);
	if (c->has_password)
		mqtt__wr_str(w, c->password);
}

/* Reason code then properties, both omitted while they hold their defaults (5.0 3.4.2.1,
 * 3.14.2.1, 3.15.2.1). */
static void mqtt__rc_props(struct mqtt__wr *w, uint8_t version, uint8_t rc,
			   const struct mqtt_props *props)
{
	if (version != MQTT_V5 || (rc == 0 && mqtt__props_empty(props)))
		return;
	mqtt__wr_u8(w, rc);
	if (!mqtt__props_empty(props))
		mqtt__props_write(w, props, 0);
}

static uint8_t mqtt__sub_options(uint8_t version, const struct mqtt_sub *s)
{
	uint8_t o = s->qos & 0x3;

	if (version == MQTT_V5)
		o |= (uint8_t)((s->no_local ? 0x04 : 0) | (s->retain_as_published ? 0x08 : 0) |
			       (s->retain_handling & 0x3) << 4);
	return o;
}

static void mqtt__subscribe_body(struct mqtt__wr *w, uint8_t version, uint8_t type,
				 const struct mqtt_subscribe *s)
{
	mqtt__wr_u16(w, s->packet_id);
	if (version == MQTT_V5)
		mqtt__props_write(w, &s->props, 0);
	if (type == MQTT_SUBSCRIBE && s->subs != NULL) {
		for (uint32_t i = 0; i < s->count; i++) {
			mqtt__wr_str(w, s->subs[i].filter);
			mqtt__wr_u8(w, mqtt__sub_options(version, &s->subs[i]));
		}
	} else if (type == MQTT_UNSUBSCRIBE && s->filters != NULL) {
		for (uint32_t i = 0; i < s->count; i++)
			mqtt__wr_str(w, s->filters[i]);
	} else if (type == MQTT_SUBSCRIBE) {
		uint32_t off = 0;
		struct mqtt_sub e;
		while (mqtt_sub_next(s, &off, &e)) {
			mqtt__wr_str(w, e.filter);
			mqtt__wr_u8(w, mqtt__sub_options(version, &e));
		}
	} else {
		uint32_t off = 0;
		struct mqtt_str f;
		while (mqtt_unsub_next(s, &off, &f))
			mqtt__wr_str(w, f);
	}
}

/* The body (everything after the fixed header) and the fixed header's flags. */
static void mqtt__body(struct mqtt__wr *w, uint8_t version, const struct mqtt_packet *pkt,
		       uint8_t *flags)
{
	*flags = 0;
	switch (pkt->type) {
	case MQTT_CONNECT:
		mqtt__connect_body(w, &pkt->connect);
		return;
	case MQTT_CONNACK:
		mqtt__wr_u8(w, version == MQTT_V31 ? 0 : pkt->connack.session_present);
		mqtt__wr_u8(w, pkt->connack.rc);
		if (version == MQTT_V5)
			mqtt__props_write(w, &pkt->connack.props, 0);
		return;
	case MQTT_PUBLISH: {
		const struct mqtt_publish *p = &pkt->publish;
		*flags = (uint8_t)((p->dup ? 0x8 : 0) | (p->qos & 0x3) << 1 | (p->retain ? 1 : 0));
		mqtt__publish_fields(w, version, p->topic, p->qos, p->packet_id, &p->props);
		mqtt__wr_raw(w, p->payload.p, p->payload.len);
		return;
	}
	case MQTT_PUBREL:
		*flags = 0x2;
		/* fall through */
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		mqtt__wr_u16(w, pkt->ack.packet_id);
		mqtt__rc_props(w, version, pkt->ack.rc, &pkt->ack.props);
		return;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		*flags = 0x2;
		mqtt__subscribe_body(w, version, pkt->type, &pkt->subscribe);
		return;
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		mqtt__wr_u16(w, pkt->suback.packet_id);
		if (pkt->type == MQTT_UNSUBACK && version != MQTT_V5)
			return;
		if (version == MQTT_V5)
			mqtt__props_write(w, &pkt->suback.props, 0);
		mqtt__wr_raw(w, pkt->suback.codes.p, pkt->suback.codes.len);
		return;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		return;
	case MQTT_DISCONNECT:
		mqtt__rc_props(w, version, pkt->disconnect.rc, &pkt->disconnect.props);
		return;
	case MQTT_AUTH:
		if (version != MQTT_V5)
			w->ok = false;
		mqtt__rc_props(w, version, pkt->disconnect.rc, &pkt->disconnect.props);
		return;
	default:
		w->ok = false;
		return;
	}
}

static uint8_t mqtt__level(uint8_t version, const struct mqtt_packet *pkt)
{
	return pkt->type == MQTT_CONNECT ? pkt->connect.version : version;
}

/* Bytes of the body, or SIZE_MAX if the packet cannot be encoded. */
static size_t mqtt__body_size(uint8_t level, const struct mqtt_packet *pkt)
{
	struct mqtt__wr w = {.p = NULL, .n = 0, .ok = true};
	uint8_t flags;

	mqtt__body(&w, level, pkt, &flags);
	return w.ok && w.n <= MQTT_MAX_REMAINING_LEN ? w.n : SIZE_MAX;
}

size_t mqtt_encode_size(uint8_t version, const struct mqtt_packet *pkt)
{
	size_t rem = mqtt__body_size(mqtt__level(version, pkt), pkt);

	return rem == SIZE_MAX ? 0 : 1 + mqtt__vbi_size((uint32_t)rem) + rem;
}

size_t mqtt_encode(uint8_t version, const struct mqtt_packet *pkt, uint8_t *buf, size_t cap)
{
	uint8_t level = mqtt__level(version, pkt);
	size_t rem = mqtt__body_size(level, pkt);
	uint8_t flags;

	if (rem == SIZE_MAX)
		return 0;
	size_t hdr = 1 + mqtt__vbi_size((uint32_t)rem);
	if (hdr + rem > cap)
		return 0;
	/* The body pass also yields the flags, so the header is written after it, into
	 * the room its known size reserves. */
	struct mqtt__wr w = {.p = buf, .n = hdr, .ok = true};
	mqtt__body(&w, level, pkt, &flags);
	struct mqtt__wr h = {.p = buf, .n = 0, .ok = true};
	mqtt__wr_u8(&h, (uint8_t)(pkt->type << 4 | flags));
	mqtt__wr_vbi(&h, (uint32_t)rem);
	return w.ok && h.n == hdr && w.n == hdr + rem ? hdr + rem : 0;
}

/* ---------------------------------------------------------------- fan-out PUBLISH */

/* The properties one subscriber receives: the message's, with this subscriber's Topic
 * Alias, Subscription Identifiers and (remaining) Message Expiry. */
static void mqtt__shape_props(const struct mqtt_publish *msg,
			      const struct mqtt_publish_shape *shape, struct mqtt_props *p)
{
	*p = msg->props;
	p->present &= ~(BIT(MQTT_PROP_TOPIC_ALIAS) | BIT(MQTT_PROP_SUB_ID));
	if (shape->topic_alias != 0) {
		p->topic_alias = shape->topic_alias;
		p->present |= BIT(MQTT_PROP_TOPIC_ALIAS);
	}
	if (shape->n_sub_ids > 0) {
		p->sub_ids = shape->sub_ids;
		p->n_sub_ids = shape->n_sub_ids;
		p->present |= BIT(MQTT_PROP_SUB_ID);
	}
	if (shape->set_message_expiry) {
		p->message_expiry = shape->message_expiry;
		p->present |= BIT(MQTT_PROP_MESSAGE_EXPIRY);
	}
}

static void mqtt__head_body(struct mqtt__wr *w, uint8_t version, const struct mqtt_publish *msg,
			    const struct mqtt_publish_shape *shape, const struct mqtt_props *p)
{
	struct mqtt_str topic = msg->topic;

	if (version == MQTT_V5 && shape->omit_topic && shape->topic_alias != 0)
		topic.len = 0;
	mqtt__publish_fields(w, version, topic, shape->qos, shape->packet_id, p);
}

size_t mqtt_publish_head_size(uint8_t version, const struct mqtt_publish *msg,
			      const struct mqtt_publish_shape *shape)
{
	struct mqtt__wr w = {.p = NULL, .n = 0, .ok = true};
	struct mqtt_props p;

	mqtt__shape_props(msg, shape, &p);
	mqtt__head_body(&w, version, msg, shape, &p);
	uint64_t rem = (uint64_t)w.n + msg->payload.len;
	if (!w.ok || rem > MQTT_MAX_REMAINING_LEN || shape->qos > 2)
		return 0;
	return 1 + mqtt__vbi_size((uint32_t)rem) + w.n;
}

size_t mqtt_publish_head_encode(uint8_t version, const struct mqtt_publish *msg,
				const struct mqtt_publish_shape *shape, uint8_t *buf,
				size_t cap, struct mqtt_publish_head *out)
{
	struct mqtt__wr c = {.p = NULL, .n = 0, .ok = true};
	struct mqtt_props p;

	mqtt__shape_props(msg, shape, &p);
	mqtt__head_body(&c, version, msg, shape, &p);
	uint64_t rem = (uint64_t)c.n + msg->payload.len;
	if (!c.ok || rem > MQTT_MAX_REMAINING_LEN || shape->qos > 2)
		return 0;
	size_t hdr = 1 + mqtt__vbi_size((uint32_t)rem);
	size_t len = hdr + c.n;
	if (len > cap)
		return 0;

	struct mqtt__wr w = {.p = buf, .n = 0, .ok = true};
	uint8_t flags = (uint8_t)((shape->dup ? 0x8 : 0) | (shape->qos & 0x3) << 1 |
				  (shape->retain ? 1 : 0));
	mqtt__wr_u8(&w, (uint8_t)(MQTT_PUBLISH << 4 | flags));
	mqtt__wr_vbi(&w, (uint32_t)rem);
	size_t topic_end = w.n + 2 + ((version == MQTT_V5 && shape->omit_topic &&
				       shape->topic_alias != 0) ? 0 : msg->topic.len);
	mqtt__head_body(&w, version, msg, shape, &p);
	if (out != NULL) {
		out->len = (uint32_t)len;
		out->total_len = (uint32_t)(hdr + rem);
		out->packet_id_off = shape->qos > 0 ? (uint32_t)topic_end : 0;
	}
	return w.n == len ? len : 0;
}
