/**
 * @file mqtt_props.c
 * MQTT 5 properties (5.0 section 2.2.2): the table of identifiers with their wire type and
 * the packets they may appear in, the reader that validates a property block into a struct
 * mqtt_props, and the writer that encodes one back, in ascending identifier order.
 *
 * Errors, as the 5.0 spec names them: a property block that overruns its packet, an unknown
 * identifier or one not allowed in this packet is a Malformed Packet (0x81); a property given
 * twice when only User Property (and, in PUBLISH, Subscription Identifier) may repeat, or a
 * value outside its range (a 0/1 byte holding 2, a zero Receive Maximum, Topic Alias,
 * Maximum Packet Size or Subscription Identifier) is a Protocol Error (0x82).
 */
#include "mqtt/mqtt_wire.h"

/* Bit 0 stands for the will properties of CONNECT (packet type 0 is reserved, so free). */
#define W (1u << 0)
#define P(t) (1u << MQTT_##t)
#define ALL_ACKS (P(PUBACK) | P(PUBREC) | P(PUBREL) | P(PUBCOMP))

static const struct {
	uint8_t type;  /* enum mqtt_prop_type, 0 = no such property */
	uint16_t mask; /* packets where it may appear */
} mqtt__prop_table[MQTT_PROP_SHARED_SUB_AVAILABLE + 1] = {
	[MQTT_PROP_PAYLOAD_FORMAT] = {MQTT_PT_BYTE, P(PUBLISH) | W},
	[MQTT_PROP_MESSAGE_EXPIRY] = {MQTT_PT_U32, P(PUBLISH) | W},
	[MQTT_PROP_CONTENT_TYPE] = {MQTT_PT_UTF8, P(PUBLISH) | W},
	[MQTT_PROP_RESPONSE_TOPIC] = {MQTT_PT_UTF8, P(PUBLISH) | W},
	[MQTT_PROP_CORRELATION_DATA] = {MQTT_PT_BINARY, P(PUBLISH) | W},
	[MQTT_PROP_SUB_ID] = {MQTT_PT_VBI, P(PUBLISH) | P(SUBSCRIBE)},
	[MQTT_PROP_SESSION_EXPIRY] = {MQTT_PT_U32, P(CONNECT) | P(CONNACK) | P(DISCONNECT)},
	[MQTT_PROP_ASSIGNED_CLIENT_ID] = {MQTT_PT_UTF8, P(CONNACK)},
	[MQTT_PROP_SERVER_KEEP_ALIVE] = {MQTT_PT_U16, P(CONNACK)},
	[MQTT_PROP_AUTH_METHOD] = {MQTT_PT_UTF8, P(CONNECT) | P(CONNACK) | P(AUTH)},
	[MQTT_PROP_AUTH_DATA] = {MQTT_PT_BINARY, P(CONNECT) | P(CONNACK) | P(AUTH)},
	[MQTT_PROP_REQUEST_PROBLEM_INFO] = {MQTT_PT_BYTE, P(CONNECT)},
	[MQTT_PROP_WILL_DELAY] = {MQTT_PT_U32, W},
	[MQTT_PROP_REQUEST_RESPONSE_INFO] = {MQTT_PT_BYTE, P(CONNECT)},
	[MQTT_PROP_RESPONSE_INFO] = {MQTT_PT_UTF8, P(CONNACK)},
	[MQTT_PROP_SERVER_REF] = {MQTT_PT_UTF8, P(CONNACK) | P(DISCONNECT)},
	[MQTT_PROP_REASON_STRING] = {MQTT_PT_UTF8, P(CONNACK) | ALL_ACKS | P(SUBACK) |
						   P(UNSUBACK) | P(DISCONNECT) | P(AUTH)},
	[MQTT_PROP_RECEIVE_MAX] = {MQTT_PT_U16, P(CONNECT) | P(CONNACK)},
	[MQTT_PROP_TOPIC_ALIAS_MAX] = {MQTT_PT_U16, P(CONNECT) | P(CONNACK)},
	[MQTT_PROP_TOPIC_ALIAS] = {MQTT_PT_U16, P(PUBLISH)},
	[MQTT_PROP_MAX_QOS] = {MQTT_PT_BYTE, P(CONNACK)},
	[MQTT_PROP_RETAIN_AVAILABLE] = {MQTT_PT_BYTE, P(CONNACK)},
	[MQTT_PROP_USER] = {MQTT_PT_UTF8_PAIR, 0xffffu & ~(P(PINGREQ) | P(PINGRESP))},
	[MQTT_PROP_MAX_PACKET_SIZE] = {MQTT_PT_U32, P(CONNECT) | P(CONNACK)},
	[MQTT_PROP_WILDCARD_SUB_AVAILABLE] = {MQTT_PT_BYTE, P(CONNACK)},
	[MQTT_PROP_SUB_ID_AVAILABLE] = {MQTT_PT_BYTE, P(CONNACK)},
	[MQTT_PROP_SHARED_SUB_AVAILABLE] = {MQTT_PT_BYTE, P(CONNACK)},
};

int mqtt_prop_type(uint8_t id)
{
	return id <= MQTT_PROP_SHARED_SUB_AVAILABLE ? mqtt__prop_table[id].type : 0;
}

bool mqtt_prop_allowed(uint8_t id, uint8_t type)
{
	return mqtt_prop_type(id) != 0 && type < 16 && (mqtt__prop_table[id].mask >> type) & 1u;
}

/* Read one property's value (identifier already read and known). */
static int mqtt__prop_value(struct mqtt__rd *r, uint8_t id, struct mqtt_prop *out)
{
	uint8_t b = 0;
	uint16_t h = 0;
	int rc;

	out->id = id;
	switch (mqtt__prop_table[id].type) {
	case MQTT_PT_BYTE:
		rc = mqtt__rd_u8(r, &b);
		out->num = b;
		return rc;
	case MQTT_PT_U16:
		rc = mqtt__rd_u16(r, &h);
		out->num = h;
		return rc;
	case MQTT_PT_U32:
		return mqtt__rd_u32(r, &out->num);
	case MQTT_PT_VBI:
		return mqtt__rd_vbi(r, &out->num);
	case MQTT_PT_UTF8:
		return mqtt__rd_str(r, &out->str);
	case MQTT_PT_BINARY:
		return mqtt__rd_bin(r, &out->str);
	case MQTT_PT_UTF8_PAIR:
		rc = mqtt__rd_str(r, &out->str);
		return rc != MQTT_OK ? rc : mqtt__rd_str(r, &out->str2);
	}
	return MQTT_RC_MALFORMED;
}

/* Store a validated property into the struct. Range rules are Protocol Errors in 5.0. */
static int mqtt__prop_store(struct mqtt_props *p, const struct mqtt_prop *v)
{
	uint32_t n = v->num;

	switch (v->id) {
	case MQTT_PROP_PAYLOAD_FORMAT:
		p->payload_format = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_REQUEST_PROBLEM_INFO:
		p->request_problem_info = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_REQUEST_RESPONSE_INFO:
		p->request_response_info = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_MAX_QOS:
		p->max_qos = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_RETAIN_AVAILABLE:
		p->retain_available = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
		p->wildcard_sub_available = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_SUB_ID_AVAILABLE:
		p->sub_id_available = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		p->shared_sub_available = (uint8_t)n;
		return n <= 1 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_MESSAGE_EXPIRY:
		p->message_expiry = n;
		return MQTT_OK;
	case MQTT_PROP_SESSION_EXPIRY:
		p->session_expiry = n;
		return MQTT_OK;
	case MQTT_PROP_WILL_DELAY:
		p->will_delay = n;
		return MQTT_OK;
	case MQTT_PROP_MAX_PACKET_SIZE:
		p->max_packet_size = n;
		return n != 0 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_SUB_ID:
		if (p->n_sub_ids == 0)
			p->sub_id = n;
		p->n_sub_ids++;
		return n != 0 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_SERVER_KEEP_ALIVE:
		p->server_keep_alive = (uint16_t)n;
		return MQTT_OK;
	case MQTT_PROP_RECEIVE_MAX:
		p->receive_max = (uint16_t)n;
		return n != 0 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_TOPIC_ALIAS_MAX:
		p->topic_alias_max = (uint16_t)n;
		return MQTT_OK;
	case MQTT_PROP_TOPIC_ALIAS:
		p->topic_alias = (uint16_t)n;
		return n != 0 ? MQTT_OK : MQTT_RC_PROTOCOL_ERROR; /* [MQTT-3.3.2-8] */
	case MQTT_PROP_CONTENT_TYPE:
		p->content_type = v->str;
		return MQTT_OK;
	case MQTT_PROP_RESPONSE_TOPIC:
		p->response_topic = v->str;
		/* A Topic Name [MQTT-3.3.2-14]: no wildcards. */
		return mqtt_topic_name_valid(v->str.p, v->str.len) ? MQTT_OK
								     : MQTT_RC_PROTOCOL_ERROR;
	case MQTT_PROP_CORRELATION_DATA:
		p->correlation_data = v->str;
		return MQTT_OK;
	case MQTT_PROP_ASSIGNED_CLIENT_ID:
		p->assigned_client_id = v->str;
		return MQTT_OK;
	case MQTT_PROP_AUTH_METHOD:
		p->auth_method = v->str;
		return MQTT_OK;
	case MQTT_PROP_AUTH_DATA:
		p->auth_data = v->str;
		return MQTT_OK;
	case MQTT_PROP_RESPONSE_INFO:
		p->response_info = v->str;
		return MQTT_OK;
	case MQTT_PROP_SERVER_REF:
		p->server_ref = v->str;
		return MQTT_OK;
	case MQTT_PROP_REASON_STRING:
		p->reason_string = v->str;
		return MQTT_OK;
	case MQTT_PROP_USER:
		p->n_user++;
		return MQTT_OK;
	}
	return MQTT_RC_MALFORMED;
}

int mqtt__props_read(struct mqtt__rd *r, uint8_t type, struct mqtt_props *out)
{
	uint32_t len;
	int rc;

	/* out is zeroed by the caller, which clears the whole packet struct anyway. */
	rc = mqtt__rd_vbi(r, &len);
	if (rc != MQTT_OK)
		return rc;
	if (len > mqtt__rd_left(r))
		return MQTT_RC_MALFORMED;
	struct mqtt__rd pr = {.p = r->p, .end = r->p + len, .version = r->version};
	out->raw.p = r->p;
	out->raw.len = len;
	r->p += len;

	while (pr.p < pr.end) {
		/* The identifier is a VBI; all defined ones fit in one byte. */
		uint32_t id;
		struct mqtt_prop v;
		rc = mqtt__rd_vbi(&pr, &id);
		if (rc != MQTT_OK)
			return rc;
		if (id > 0xff || !mqtt_prop_allowed((uint8_t)id, type))
			return MQTT_RC_MALFORMED;
		uint64_t bit = (uint64_t)1 << id;
		/* Only User Property repeats everywhere; Subscription Identifier repeats in
		 * a PUBLISH (one per matching subscription) but not in SUBSCRIBE. */
		bool repeats = id == MQTT_PROP_USER ||
			       (id == MQTT_PROP_SUB_ID && type == MQTT_PUBLISH);
		if ((out->present & bit) && !repeats)
			return MQTT_RC_PROTOCOL_ERROR;
		out->present |= bit;
		rc = mqtt__prop_value(&pr, (uint8_t)id, &v);
		if (rc != MQTT_OK)
			return rc;
		rc = mqtt__prop_store(out, &v);
		if (rc != MQTT_OK)
			return rc;
	}
	return MQTT_OK;
}

bool mqtt_props_next(const struct mqtt_props *props, uint32_t *off, struct mqtt_prop *out)
{
	/* raw was validated when it was decoded, so the reads below cannot fail on it; they
	 * stay bounded anyway in case a caller hands in a hand-made struct. */
	struct mqtt__rd r;
	uint32_t id;

	if (props->raw.p == NULL || *off >= props->raw.len)
		return false;
	r.p = props->raw.p + *off;
	r.end = props->raw.p + props->raw.len;
	r.version = MQTT_V5;
	if (mqtt__rd_vbi(&r, &id) != MQTT_OK || mqtt_prop_type((uint8_t)id) == 0 || id > 0xff)
		return false;
	memset(out, 0, sizeof(*out));
	if (mqtt__prop_value(&r, (uint8_t)id, out) != MQTT_OK)
		return false;
	*off = (uint32_t)(r.p - props->raw.p);
	return true;
}

/* ---------------------------------------------------------------- writing */

static void mqtt__wr_prop_num(struct mqtt__wr *w, uint8_t id, uint32_t v)
{
	mqtt__wr_u8(w, id);
	switch (mqtt__prop_table[id].type) {
	case MQTT_PT_BYTE:
		mqtt__wr_u8(w, (uint8_t)v);
		break;
	case MQTT_PT_U16:
		mqtt__wr_u16(w, (uint16_t)v);
		break;
	case MQTT_PT_U32:
		mqtt__wr_u32(w, v);
		break;
	case MQTT_PT_VBI:
		mqtt__wr_vbi(w, v);
		break;
	}
}

static void mqtt__wr_prop_str(struct mqtt__wr *w, uint8_t id, struct mqtt_str s)
{
	mqtt__wr_u8(w, id);
	mqtt__wr_str(w, s);
}

/* Write every property of one identifier; lists from the arrays or from raw. */
static void mqtt__wr_prop(struct mqtt__wr *w, const struct mqtt_props *p, uint8_t id)
{
	uint32_t off = 0;
	struct mqtt_prop v;

	switch (id) {
	case MQTT_PROP_PAYLOAD_FORMAT: mqtt__wr_prop_num(w, id, p->payload_format); return;
	case MQTT_PROP_MESSAGE_EXPIRY: mqtt__wr_prop_num(w, id, p->message_expiry); return;
	case MQTT_PROP_SESSION_EXPIRY: mqtt__wr_prop_num(w, id, p->session_expiry); return;
	case MQTT_PROP_WILL_DELAY: mqtt__wr_prop_num(w, id, p->will_delay); return;
	case MQTT_PROP_MAX_PACKET_SIZE: mqtt__wr_prop_num(w, id, p->max_packet_size); return;
	case MQTT_PROP_SERVER_KEEP_ALIVE: mqtt__wr_prop_num(w, id, p->server_keep_alive); return;
	case MQTT_PROP_RECEIVE_MAX: mqtt__wr_prop_num(w, id, p->receive_max); return;
	case MQTT_PROP_TOPIC_ALIAS_MAX: mqtt__wr_prop_num(w, id, p->topic_alias_max); return;
	case MQTT_PROP_TOPIC_ALIAS: mqtt__wr_prop_num(w, id, p->topic_alias); return;
	case MQTT_PROP_REQUEST_PROBLEM_INFO:
		mqtt__wr_prop_num(w, id, p->request_problem_info);
		return;
	case MQTT_PROP_REQUEST_RESPONSE_INFO:
		mqtt__wr_prop_num(w, id, p->request_response_info);
		return;
	case MQTT_PROP_MAX_QOS: mqtt__wr_prop_num(w, id, p->max_qos); return;
	case MQTT_PROP_RETAIN_AVAILABLE: mqtt__wr_prop_num(w, id, p->retain_available); return;
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
		mqtt__wr_prop_num(w, id, p->wildcard_sub_available);
		return;
	case MQTT_PROP_SUB_ID_AVAILABLE: mqtt__wr_prop_num(w, id, p->sub_id_available); return;
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		mqtt__wr_prop_num(w, id, p->shared_sub_available);
		return;
	case MQTT_PROP_CONTENT_TYPE: mqtt__wr_prop_str(w, id, p->content_type); return;
	case MQTT_PROP_RESPONSE_TOPIC: mqtt__wr_prop_str(w, id, p->response_topic); return;
	case MQTT_PROP_CORRELATION_DATA: mqtt__wr_prop_str(w, id, p->correlation_data); return;
	case MQTT_PROP_ASSIGNED_CLIENT_ID:
		mqtt__wr_prop_str(w, id, p->assigned_client_id);
		return;
	case MQTT_PROP_AUTH_METHOD: mqtt__wr_prop_str(w, id, p->auth_method); return;
	case MQTT_PROP_AUTH_DATA: mqtt__wr_prop_str(w, id, p->auth_data); return;
	case MQTT_PROP_RESPONSE_INFO: mqtt__wr_prop_str(w, id, p->response_info); return;
	case MQTT_PROP_SERVER_REF: mqtt__wr_prop_str(w, id, p->server_ref); return;
	case MQTT_PROP_REASON_STRING: mqtt__wr_prop_str(w, id, p->reason_string); return;
	case MQTT_PROP_SUB_ID:
		if (p->sub_ids != NULL) {
			for (uint32_t i = 0; i < p->n_sub_ids; i++)
				mqtt__wr_prop_num(w, id, p->sub_ids[i]);
		} else if (p->n_sub_ids > 0 && p->raw.p != NULL) {
			while (mqtt_props_next(p, &off, &v))
				if (v.id == id)
					mqtt__wr_prop_num(w, id, v.num);
		} else {
			mqtt__wr_prop_num(w, id, p->sub_id);
		}
		return;
	case MQTT_PROP_USER:
		if (p->user != NULL) {
			for (uint32_t i = 0; i < p->n_user; i++) {
				mqtt__wr_prop_str(w, id, p->user[i].key);
				mqtt__wr_str(w, p->user[i].value);
			}
		} else if (p->raw.p != NULL) {
			while (mqtt_props_next(p, &off, &v)) {
				if (v.id == id) {
					mqtt__wr_prop_str(w, id, v.str);
					mqtt__wr_str(w, v.str2);
				}
			}
		}
		return;
	}
}

/* Properties go out in ascending identifier order: the presence mask is indexed by
 * identifier, so walking its set bits lowest first is that order. Bits that name no
 * property are ignored (mqtt__wr_prop writes nothing for them). */
static void mqtt__props_body(struct mqtt__wr *w, const struct mqtt_props *p, uint64_t skip)
{
	uint64_t want = p->present & ~skip;

	while (want != 0) {
		uint8_t id = (uint8_t)__builtin_ctzll(want);
		want &= want - 1;
		mqtt__wr_prop(w, p, id);
	}
}

size_t mqtt__props_size(const struct mqtt_props *p, uint64_t skip_mask, bool *ok)
{
	struct mqtt__wr w = {.p = NULL, .n = 0, .ok = true};

	mqtt__props_body(&w, p, skip_mask);
	if (!w.ok)
		*ok = false;
	return w.n;
}

void mqtt__props_write(struct mqtt__wr *w, const struct mqtt_props *p, uint64_t skip_mask)
{
	size_t n = mqtt__props_size(p, skip_mask, &w->ok);

	mqtt__wr_vbi(w, (uint32_t)(n > MQTT_MAX_REMAINING_LEN ? UINT32_MAX : n));
	mqtt__props_body(w, p, skip_mask);
}
