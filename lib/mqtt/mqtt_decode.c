/**
 * @file mqtt_decode.c
 * Decoder: one whole packet (as framed by mqtt_frame()) -> struct mqtt_packet, with every
 * format rule of 3.1, 3.1.1 and 5.0 checked. mqtt_decode() checks the fixed header and
 * dispatches to one function per packet family (CONNECT, CONNACK, PUBLISH, the four
 * acknowledgements, SUBSCRIBE/UNSUBSCRIBE, SUBACK/UNSUBACK, DISCONNECT/AUTH/PING).
 *
 * The mapping of failures to reason codes is here, next to the rules (docs/codec.md has the
 * table). Short or overlong fields, bad UTF-8, reserved bits and QoS 3 are Malformed Packet
 * (0x81); values the grammar allows but the spec forbids (zero packet identifier, empty
 * SUBSCRIBE, retain handling 3, ...) are Protocol Error (0x82), the split section 4.13 of the
 * 5.0 spec draws. 3.1.x has no reason codes: the broker closes the connection on any of them
 * (mqtt_connack_v3_code() says when a 3.1.x CONNACK is sent first).
 */
#include "mqtt/mqtt_wire.h"

/* Length of the fixed header that mqtt_frame() accepted, re-read here to check the VBI
 * strictly for v5 and that the remaining length matches the bytes given. */
static int mqtt__fixed_header(struct mqtt__rd *r, size_t len)
{
	uint32_t rem;
	int rc;

	r->p++; /* byte0, read by the caller */
	rc = mqtt__rd_vbi(r, &rem);
	if (rc != MQTT_OK)
		return rc;
	return rem == mqtt__rd_left(r) && rem <= len ? MQTT_OK : MQTT_RC_MALFORMED;
}

/* Fixed header flags of every type but PUBLISH [MQTT-2.2.2-1] (5.0: [MQTT-2.1.3-1]):
 * 0b0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE, 0 otherwise. 3.1 only said these packets
 * "use QoS 1" and did not reserve the bits, and its clients are not all strict, so 3.1 is
 * not checked. */
static int mqtt__check_flags(uint8_t version, uint8_t type, uint8_t flags)
{
	uint8_t want = (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE ||
			type == MQTT_UNSUBSCRIBE) ? 0x2 : 0x0;

	if (type == MQTT_PUBLISH || version == MQTT_V31)
		return MQTT_OK;
	return flags == want ? MQTT_OK : MQTT_RC_MALFORMED;
}

#define TRY(expr)                          \
	do {                               \
		int mqtt__rc = (expr);     \
		if (mqtt__rc != MQTT_OK)   \
			return mqtt__rc;   \
	} while (0)

/* ---------------------------------------------------------------- CONNECT */

static int mqtt__connect(struct mqtt__rd *r, const uint8_t *buf, struct mqtt_connect *c)
{
	struct mqtt_str name;
	uint8_t level, f;

	TRY(mqtt__rd_bin(r, &name));
	TRY(mqtt__rd_u8(r, &level));
	/* The level is reported even when refused, so the broker can answer in the
	 * client's dialect. */
	c->version = level;
	bool mqtt = name.len == 4 && memcmp(name.p, "MQTT", 4) == 0;
	bool mqisdp = name.len == 6 && memcmp(name.p, "MQIsdp", 6) == 0;
	/* [MQTT-3.1.2-1] name, [MQTT-3.1.2-2] level: 0x84 in 5.0, CONNACK 1 in 3.1.1. */
	if (!((mqisdp && level == MQTT_V31) ||
	      (mqtt && (level == MQTT_V311 || level == MQTT_V5))))
		return MQTT_RC_UNSUPPORTED_VERSION;
	r->version = level;
	/* The remaining length was read before the level was known: re-check it as a v5
	 * Variable Byte Integer (minimal form [MQTT-1.5.5-1]). */
	if (level == MQTT_V5) {
		struct mqtt__rd h = {.p = buf + 1, .end = r->end, .version = MQTT_V5};
		uint32_t rem;
		TRY(mqtt__rd_vbi(&h, &rem));
	}

	TRY(mqtt__rd_u8(r, &f));
	c->flags = f;
	c->clean_start = f & 0x02;
	c->will = f & 0x04;
	c->will_qos = (f >> 3) & 0x3;
	c->will_retain = f & 0x20;
	c->has_password = f & 0x40;
	c->has_username = f & 0x80;
	/* Reserved bit [MQTT-3.1.2-3]; 3.1 did not reserve it. */
	if ((f & 0x01) && level != MQTT_V31)
		return MQTT_RC_MALFORMED;
	if (c->will) {
		if (c->will_qos == 3) /* [MQTT-3.1.2-12] */
			return MQTT_RC_MALFORMED;
	} else if (c->will_qos != 0 || c->will_retain) { /* [MQTT-3.1.2-11] [MQTT-3.1.2-13] */
		return MQTT_RC_MALFORMED;
	}
	/* 3.1.x: no password without a user name [MQTT-3.1.2-22]; 5.0 allows it. */
	if (level != MQTT_V5 && c->has_password && !c->has_username)
		return MQTT_RC_MALFORMED;
	TRY(mqtt__rd_u16(r, &c->keep_alive));
	if (level == MQTT_V5) {
		TRY(mqtt__props_read(r, MQTT_CONNECT, &c->props));
		/* 3.1.2.11.10: Authentication Data needs an Authentication Method. */
		if (MQTT_PROP_HAS(&c->props, MQTT_PROP_AUTH_DATA) &&
		    !MQTT_PROP_HAS(&c->props, MQTT_PROP_AUTH_METHOD))
			return MQTT_RC_PROTOCOL_ERROR;
	}

	/* Payload order [MQTT-3.1.3-1]: client id, will props, will topic, will payload,
	 * user name, password. All strings are UTF-8 [MQTT-3.1.3-4] [MQTT-3.1.3-10]
	 * [MQTT-3.1.3-11]; the will payload and the password are binary. */
	TRY(mqtt__rd_str(r, &c->client_id));
	if (c->will) {
		if (level == MQTT_V5)
			TRY(mqtt__props_read(r, 0, &c->will_props));
		TRY(mqtt__rd_str(r, &c->will_topic));
		if (!mqtt_topic_name_valid(c->will_topic.p, c->will_topic.len))
			return MQTT_RC_TOPIC_NAME_INVALID;
		TRY(mqtt__rd_bin(r, &c->will_payload));
	}
	if (c->has_username)
		TRY(mqtt__rd_str(r, &c->username));
	if (c->has_password)
		TRY(mqtt__rd_bin(r, &c->password));
	return MQTT_OK;
}

/* ---------------------------------------------------------------- CONNACK */

static int mqtt__connack(struct mqtt__rd *r, struct mqtt_connack *c)
{
	uint8_t f;

	TRY(mqtt__rd_u8(r, &f));
	TRY(mqtt__rd_u8(r, &c->rc));
	if (r->version == MQTT_V31) {
		/* 3.1: the first byte is unused, and there is no session present flag. */
		return c->rc <= 5 ? MQTT_OK : MQTT_RC_MALFORMED;
	}
	if (f & 0xfe) /* [MQTT-3.2.2-1] */
		return MQTT_RC_MALFORMED;
	c->session_present = f & 1;
	if (r->version == MQTT_V5) {
		if (!mqtt_reason_allowed(MQTT_CONNACK, c->rc))
			return MQTT_RC_MALFORMED;
		TRY(mqtt__props_read(r, MQTT_CONNACK, &c->props));
	} else if (c->rc > 5) {
		return MQTT_RC_MALFORMED;
	}
	/* Session present only on success (3.1.1 [MQTT-3.2.2-4], 5.0 [MQTT-3.2.2-6]). */
	if (c->session_present && c->rc != 0)
		return MQTT_RC_PROTOCOL_ERROR;
	return MQTT_OK;
}

/* ---------------------------------------------------------------- PUBLISH */

static int mqtt__publish(struct mqtt__rd *r, uint8_t flags, struct mqtt_publish *p)
{
	p->retain = flags & 0x1;
	p->qos = (flags >> 1) & 0x3;
	p->dup = flags & 0x8;
	if (p->qos == 3) /* [MQTT-3.3.1-4] */
		return MQTT_RC_MALFORMED;
	if (p->dup && p->qos == 0) /* [MQTT-3.3.1-2] */
		return MQTT_RC_MALFORMED;
	TRY(mqtt__rd_str(r, &p->topic)); /* [MQTT-3.3.2-1] */
	/* No wildcards [MQTT-3.3.2-2]. An empty name is legal only in 5.0 with a Topic
	 * Alias, checked once the properties are known. */
	if (p->topic.len > 0 && !mqtt_topic_name_valid(p->topic.p, p->topic.len))
		return MQTT_RC_TOPIC_NAME_INVALID;
	if (p->qos > 0) {
		TRY(mqtt__rd_u16(r, &p->packet_id));
		/* [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3]) */
		if (p->packet_id == 0)
			return MQTT_RC_PROTOCOL_ERROR;
	}
	if (r->version == MQTT_V5) {
		TRY(mqtt__props_read(r, MQTT_PUBLISH, &p->props));
		/* [MQTT-3.3.2-1]..: a zero-length Topic Name needs a Topic Alias. */
		if (p->topic.len == 0 && !MQTT_PROP_HAS(&p->props, MQTT_PROP_TOPIC_ALIAS))
			return MQTT_RC_PROTOCOL_ERROR;
	} else if (p->topic.len == 0) {
		return MQTT_RC_TOPIC_NAME_INVALID; /* [MQTT-4.7.3-1] */
	}
	p->payload.p = r->p;
	p->payload.len = (uint32_t)mqtt__rd_left(r);
	r->p = r->end;
	return MQTT_OK;
}

/* ---------------------------------------------------------------- PUBACK .. PUBCOMP */

static int mqtt__ack(struct mqtt__rd *r, uint8_t type, struct mqtt_ack *a)
{
	TRY(mqtt__rd_u16(r, &a->packet_id));
	/* Acknowledges a PUBLISH/PUBREC, whose identifier was non-zero: 0 can match
	 * nothing a valid peer sent. */
	if (a->packet_id == 0)
		return MQTT_RC_PROTOCOL_ERROR;
	if (r->version != MQTT_V5 || mqtt__rd_left(r) == 0)
		return MQTT_OK; /* 5.0 3.4.2.1: no reason code means 0x00 */
	TRY(mqtt__rd_u8(r, &a->rc));
	if (!mqtt_reason_allowed(type, a->rc))
		return MQTT_RC_MALFORMED;
	if (mqtt__rd_left(r) == 0)
		return MQTT_OK; /* 3.4.2.2.1: no property length means none */
	return mqtt__props_read(r, type, &a->props);
}

/* ---------------------------------------------------------------- SUBSCRIBE, UNSUBSCRIBE */

static int mqtt__sub_options(uint8_t version, uint8_t o, struct mqtt_sub *s)
{
	s->qos = o & 0x3;
	s->no_local = o & 0x04;
	s->retain_as_published = o & 0x08;
	s->retain_handling = (o >> 4) & 0x3;
	if (version != MQTT_V5) /* 3.1.1 [MQTT-3-8.3-4]: reserved bits or QoS 3 = malformed */
		return ((o & 0xfc) || s->qos == 3) ? MQTT_RC_MALFORMED : MQTT_OK;
	if (o & 0xc0) /* [MQTT-3.8.3-5] */
		return MQTT_RC_MALFORMED;
	if (s->qos == 3) /* 5.0 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has
			  * the value 3" */
		return MQTT_RC_PROTOCOL_ERROR;
	if (s->retain_handling == 3) /* 3.8.3.1: "It is a Protocol Error" */
		return MQTT_RC_PROTOCOL_ERROR;
	return MQTT_OK;
}

static int mqtt__subscribe(struct mqtt__rd *r, uint8_t type, struct mqtt_subscribe *s)
{
	TRY(mqtt__rd_u16(r, &s->packet_id));
	if (s->packet_id == 0) /* [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3]) */
		return MQTT_RC_PROTOCOL_ERROR;
	if (r->version == MQTT_V5)
		TRY(mqtt__props_read(r, type, &s->props));
	s->raw.p = r->p;
	s->raw.len = (uint32_t)mqtt__rd_left(r);
	/* At least one entry: SUBSCRIBE [MQTT-3.8.3-3] (5.0: [MQTT-3.8.3-2]),
	 * UNSUBSCRIBE [MQTT-3.10.3-2]. */
	if (s->raw.len == 0)
		return MQTT_RC_PROTOCOL_ERROR;
	while (mqtt__rd_left(r) > 0) {
		struct mqtt_sub e;
		TRY(mqtt__rd_str(r, &e.filter)); /* [MQTT-3.8.3-1] [MQTT-3.10.3-1] */
		if (!mqtt_topic_filter_valid(e.filter.p, e.filter.len))
			return MQTT_RC_TOPIC_FILTER_INVALID;
		if (type == MQTT_SUBSCRIBE) {
			uint8_t o;
			struct mqtt_str share, rest;
			TRY(mqtt__rd_u8(r, &o));
			TRY(mqtt__sub_options(r->version, o, &e));
			/* No Local on a shared subscription [MQTT-3.8.3-4]. */
			if (r->version == MQTT_V5 && e.no_local &&
			    mqtt_topic_share_split(e.filter.p, e.filter.len, &share, &rest))
				return MQTT_RC_PROTOCOL_ERROR;
		}
		s->count++;
	}
	return MQTT_OK;
}

bool mqtt_sub_next(const struct mqtt_subscribe *s, uint32_t *off, struct mqtt_sub *out)
{
	/* The payload was validated by mqtt_decode(); reads stay bounded regardless. */
	struct mqtt__rd r = {.version = MQTT_V5};
	uint8_t o;

	if (s->raw.p == NULL || *off >= s->raw.len)
		return false;
	r.p = s->raw.p + *off;
	r.end = s->raw.p + s->raw.len;
	if (mqtt__rd_bin(&r, &out->filter) != MQTT_OK || mqtt__rd_u8(&r, &o) != MQTT_OK)
		return false;
	mqtt__sub_options(MQTT_V5, o, out);
	*off = (uint32_t)(r.p - s->raw.p);
	return true;
}

bool mqtt_unsub_next(const struct mqtt_subscribe *s, uint32_t *off, struct mqtt_str *out)
{
	struct mqtt__rd r = {.version = MQTT_V5};

	if (s->raw.p == NULL || *off >= s->raw.len)
		return false;
	r.p = s->raw.p + *off;
	r.end = s->raw.p + s->raw.len;
	if (mqtt__rd_bin(&r, out) != MQTT_OK)
		return false;
	*off = (uint32_t)(r.p - s->raw.p);
	return true;
}

/* ---------------------------------------------------------------- SUBACK, UNSUBACK */

static int mqtt__suback(struct mqtt__rd *r, uint8_t type, struct mqtt_suback *s)
{
	TRY(mqtt__rd_u16(r, &s->packet_id));
	if (s->packet_id == 0)
		return MQTT_RC_PROTOCOL_ERROR;
	if (type == MQTT_UNSUBACK && r->version != MQTT_V5)
		return MQTT_OK; /* 3.1.x UNSUBACK: the identifier only */
	if (r->version == MQTT_V5)
		TRY(mqtt__props_read(r, type, &s->props));
	s->codes.p = r->p;
	s->codes.len = (uint32_t)mqtt__rd_left(r);
	r->p = r->end;
	if (s->codes.len == 0) /* one code per requested entry, and there is one at least */
		return MQTT_RC_PROTOCOL_ERROR;
	for (uint32_t i = 0; i < s->codes.len; i++) {
		uint8_t c = s->codes.p[i];
		bool ok = r->version == MQTT_V5 ? mqtt_reason_allowed(type, c)
						: (c <= 2 || c == 0x80); /* [MQTT-3.9.3-2] */
		if (!ok)
			return MQTT_RC_MALFORMED;
	}
	return MQTT_OK;
}

/* ---------------------------------------------------------------- DISCONNECT, AUTH */

static int mqtt__disconnect(struct mqtt__rd *r, uint8_t type, struct mqtt_disconnect *d)
{
	/* 3.1.x, and a 5.0 packet with remaining length 0, carry nothing (reason 0x00). */
	if (r->version != MQTT_V5 || mqtt__rd_left(r) == 0)
		return MQTT_OK;
	TRY(mqtt__rd_u8(r, &d->rc));
	if (!mqtt_reason_allowed(type, d->rc))
		return MQTT_RC_MALFORMED;
	if (mqtt__rd_left(r) == 0)
		return MQTT_OK;
	return mqtt__props_read(r, type, &d->props);
}

/* ---------------------------------------------------------------- dispatch */

int mqtt_decode(uint8_t version, const uint8_t *buf, size_t len, struct mqtt_packet *out)
{
	struct mqtt__rd r = {.p = buf, .end = buf + len, .version = version};
	int rc;

	if (len < 2)
		return MQTT_RC_MALFORMED;
	out->type = buf[0] >> 4;
	out->flags = buf[0] & 0x0f;
	/* CONNECT brings its own level: read its length leniently until the level is
	 * known (mqtt__connect re-checks it for 5.0). */
	if (out->type == MQTT_CONNECT)
		r.version = MQTT_V311;
	TRY(mqtt__fixed_header(&r, len));

	if (out->type == MQTT_CONNECT) {
		memset(&out->connect, 0, sizeof(out->connect));
		TRY(mqtt__check_flags(MQTT_V311, out->type, out->flags));
		rc = mqtt__connect(&r, buf, &out->connect);
	} else {
		/* Before CONNECT nothing else is acceptable [MQTT-3.1.0-1]. */
		if (version == MQTT_V_NONE)
			return MQTT_RC_PROTOCOL_ERROR;
		/* Type 0 is reserved in both specs, 15 in 3.1.x. */
		if (out->type == 0 || (out->type == MQTT_AUTH && version != MQTT_V5))
			return MQTT_RC_MALFORMED;
		TRY(mqtt__check_flags(version, out->type, out->flags));
		switch (out->type) {
		case MQTT_CONNACK:
			memset(&out->connack, 0, sizeof(out->connack));
			rc = mqtt__connack(&r, &out->connack);
			break;
		case MQTT_PUBLISH:
			memset(&out->publish, 0, sizeof(out->publish));
			rc = mqtt__publish(&r, out->flags, &out->publish);
			break;
		case MQTT_PUBACK:
		case MQTT_PUBREC:
		case MQTT_PUBREL:
		case MQTT_PUBCOMP:
			memset(&out->ack, 0, sizeof(out->ack));
			rc = mqtt__ack(&r, out->type, &out->ack);
			break;
		case MQTT_SUBSCRIBE:
		case MQTT_UNSUBSCRIBE:
			memset(&out->subscribe, 0, sizeof(out->subscribe));
			rc = mqtt__subscribe(&r, out->type, &out->subscribe);
			break;
		case MQTT_SUBACK:
		case MQTT_UNSUBACK:
			memset(&out->suback, 0, sizeof(out->suback));
			rc = mqtt__suback(&r, out->type, &out->suback);
			break;
		case MQTT_DISCONNECT:
		case MQTT_AUTH:
			memset(&out->disconnect, 0, sizeof(out->disconnect));
			rc = mqtt__disconnect(&r, out->type, &out->disconnect);
			break;
		default: /* PINGREQ, PINGRESP: no body */
			memset(&out->disconnect, 0, sizeof(out->disconnect));
			rc = MQTT_OK;
			break;
		}
	}
	if (rc != MQTT_OK)
		return rc;
	/* Every field is accounted for: bytes left over contradict the remaining length. */
	return r.p == r.end ? MQTT_OK : MQTT_RC_MALFORMED;
}
