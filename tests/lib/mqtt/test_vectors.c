/**
 * @file test_vectors.c
 * Byte-exact wire vectors, written by hand from the 3.1, 3.1.1 and 5.0 specifications, for
 * every packet type at every level and every MQTT 5 property. Each vector is decoded, its
 * fields checked, re-encoded to the same bytes, and decoded again from every split point
 * (mqtt_test_roundtrip()).
 */
#include "mqtt_test.h"

static struct mqtt_packet p;

/* ---------------------------------------------------------------- CONNECT */

static void test_connect_v31(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 0f 00 06 4d 51 49 73 64 70 03 02 00 3c 00 01 61", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_CONNECT);
	CHECK_EQ(p.connect.version, MQTT_V31);
	CHECK(p.connect.clean_start);
	CHECK_EQ(p.connect.keep_alive, 60);
	CHECK_STR(p.connect.client_id, "a");
}

static void test_connect_v311_minimal(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61", &p), MQTT_OK);
	CHECK_EQ(p.connect.version, MQTT_V311);
	CHECK(!p.connect.will && !p.connect.has_username && !p.connect.has_password);
}

static void test_connect_v311_full(void)
{
	/* will QoS 1 retained, user name and password: flags 0xee */
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 1d 00 04 4d 51 54 54 04 ee 00 3c 00 01 63 00 03 77 2f 74"
		" 00 03 62 79 65 00 01 75 00 01 70", &p), MQTT_OK);
	CHECK(p.connect.will && p.connect.will_retain && p.connect.clean_start);
	CHECK_EQ(p.connect.will_qos, 1);
	CHECK_STR(p.connect.client_id, "c");
	CHECK_STR(p.connect.will_topic, "w/t");
	CHECK_STR(p.connect.will_payload, "bye");
	CHECK_STR(p.connect.username, "u");
	CHECK_STR(p.connect.password, "p");
}

static void test_connect_v5_props_and_will(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 27 00 04 4d 51 54 54 05 86 00 3c"
		" 08 11 00 00 00 0a 21 00 14"          /* session expiry 10, receive max 20 */
		" 00 01 63"                            /* client id */
		" 07 01 01 18 00 00 00 05"             /* will: payload format 1, delay 5 */
		" 00 01 74 00 01 78 00 01 75", &p), MQTT_OK);
	CHECK_EQ(p.connect.version, MQTT_V5);
	CHECK_EQ(p.connect.props.session_expiry, 10);
	CHECK_EQ(p.connect.props.receive_max, 20);
	CHECK(MQTT_PROP_HAS(&p.connect.will_props, MQTT_PROP_WILL_DELAY));
	CHECK_EQ(p.connect.will_props.will_delay, 5);
	CHECK_EQ(p.connect.will_props.payload_format, 1);
	CHECK_STR(p.connect.will_topic, "t");
	CHECK_STR(p.connect.username, "u");
}

static void test_connect_v5_password_without_username(void)
{
	/* 5.0 allows a password without a user name (3.1.2.9). */
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 11 00 04 4d 51 54 54 05 42 00 3c 00 00 01 63 00 01 70", &p), MQTT_OK);
	CHECK(p.connect.has_password && !p.connect.has_username);
}

static void test_connect_empty_client_id(void)
{
	/* A zero-byte client id is well-formed; whether to accept it is the broker's call
	 * ([MQTT-3.1.3-7], [MQTT-3.1.3-8]). */
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V_NONE,
		"10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", &p), MQTT_OK);
	CHECK_EQ(p.connect.client_id.len, 0);
}

/* ---------------------------------------------------------------- CONNACK */

static void test_connack(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "20 02 01 00", &p), MQTT_OK);
	CHECK(p.connack.session_present);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "20 02 00 05", &p), MQTT_OK);
	CHECK_EQ(p.connack.rc, 5);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V31, "20 02 00 02", &p), MQTT_OK);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "20 03 00 00 00", &p), MQTT_OK);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "20 08 00 00 05 22 00 0a 24 01", &p), MQTT_OK);
	CHECK_EQ(p.connack.props.topic_alias_max, 10);
	CHECK_EQ(p.connack.props.max_qos, 1);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "20 03 00 84 00", &p), MQTT_OK);
	CHECK_EQ(p.connack.rc, MQTT_RC_UNSUPPORTED_VERSION);
}

/* ---------------------------------------------------------------- PUBLISH */

static void test_publish_v311(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "30 07 00 03 61 2f 62 68 69", &p), MQTT_OK);
	CHECK_EQ(p.publish.qos, 0);
	CHECK_STR(p.publish.topic, "a/b");
	CHECK_STR(p.publish.payload, "hi");
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "3b 09 00 03 61 2f 62 00 07 68 69", &p),
		 MQTT_OK);
	CHECK(p.publish.dup && p.publish.retain);
	CHECK_EQ(p.publish.qos, 1);
	CHECK_EQ(p.publish.packet_id, 7);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V31, "34 05 00 01 74 00 09", &p), MQTT_OK);
	CHECK_EQ(p.publish.qos, 2);
	CHECK_EQ(p.publish.payload.len, 0);
}

static void test_publish_v5_all_props(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5,
		"34 28 00 01 74 00 01 21"
		" 01 01"                      /* payload format indicator 1 */
		" 02 00 00 00 3c"             /* message expiry 60 */
		" 03 00 01 6a"                /* content type "j" */
		" 08 00 01 72"                /* response topic "r" */
		" 09 00 02 01 02"             /* correlation data 01 02 */
		" 0b ac 02"                   /* subscription identifier 300 */
		" 23 00 05"                   /* topic alias 5 */
		" 26 00 01 6b 00 01 76"       /* user property k=v */
		" 78", &p), MQTT_OK);
	struct mqtt_props *pr = &p.publish.props;
	CHECK_EQ(p.publish.packet_id, 1);
	CHECK_EQ(pr->payload_format, 1);
	CHECK_EQ(pr->message_expiry, 60);
	CHECK_STR(pr->content_type, "j");
	CHECK_STR(pr->response_topic, "r");
	CHECK_EQ(pr->correlation_data.len, 2);
	CHECK_EQ(pr->sub_id, 300);
	CHECK_EQ(pr->n_sub_ids, 1);
	CHECK_EQ(pr->topic_alias, 5);
	CHECK_EQ(pr->n_user, 1);
	CHECK_STR(p.publish.payload, "x");
}

static void test_publish_v5_alias_only(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "30 07 00 00 03 23 00 01 7a", &p), MQTT_OK);
	CHECK_EQ(p.publish.topic.len, 0);
	CHECK_EQ(p.publish.props.topic_alias, 1);
}

static void test_publish_v5_several_sub_ids(void)
{
	/* Server to client: one Subscription Identifier per matching subscription. */
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "30 0a 00 01 74 06 0b 01 0b 02 0b 7f", &p),
		 MQTT_OK);
	CHECK_EQ(p.publish.props.n_sub_ids, 3);
	uint32_t off = 0, want[] = {1, 2, 127}, i = 0;
	struct mqtt_prop v;
	while (mqtt_props_next(&p.publish.props, &off, &v)) {
		CHECK_EQ(v.id, MQTT_PROP_SUB_ID);
		CHECK(i < 3 && v.num == want[i]);
		i++;
	}
	CHECK_EQ(i, 3);
}

static void test_publish_large_remaining_length(void)
{
	/* 200 bytes of payload: a 2-byte remaining length (203 = 0xcb 0x01). */
	static uint8_t buf[3 + 203];
	buf[0] = 0x30;
	buf[1] = 0xcb;
	buf[2] = 0x01;
	buf[3] = 0x00;
	buf[4] = 0x01;
	buf[5] = 't';
	memset(buf + 6, 'x', 200);
	CHECK_EQ(mqtt_test_roundtrip(MQTT_V311, buf, 206, &p), MQTT_OK);
	CHECK_EQ(p.publish.payload.len, 200);
}

/* ---------------------------------------------------------------- acknowledgements */

static void test_acks_v311(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "40 02 00 01", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PUBACK);
	CHECK_EQ(p.ack.packet_id, 1);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "50 02 00 02", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PUBREC);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "62 02 00 02", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PUBREL);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "70 02 ff ff", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PUBCOMP);
	CHECK_EQ(p.ack.packet_id, 0xffff);
}

static void test_acks_v5(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "40 02 00 01", &p), MQTT_OK);
	CHECK_EQ(p.ack.rc, 0);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "40 03 00 01 10", &p), MQTT_OK);
	CHECK_EQ(p.ack.rc, 0x10);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "50 09 00 01 80 05 1f 00 02 6e 6f", &p),
		 MQTT_OK);
	CHECK_EQ(p.ack.rc, 0x80);
	CHECK_STR(p.ack.props.reason_string, "no");
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "62 03 00 02 92", &p), MQTT_OK);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "70 03 00 02 92", &p), MQTT_OK);
	/* Reason code 0 with an explicit empty property block decodes; it re-encodes in the
	 * short form (the round trip goes through canonical bytes). */
	CHECK_EQ(mqtt_test_decode_hex(MQTT_V5, "40 04 00 01 00 00"), MQTT_OK);
}

/* ---------------------------------------------------------------- SUBSCRIBE and friends */

static void test_subscribe_v311(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311,
		"82 0e 00 01 00 03 61 2f 23 01 00 03 2b 2f 62 02", &p), MQTT_OK);
	CHECK_EQ(p.subscribe.packet_id, 1);
	CHECK_EQ(p.subscribe.count, 2);
	uint32_t off = 0;
	struct mqtt_sub s;
	CHECK(mqtt_sub_next(&p.subscribe, &off, &s));
	CHECK_STR(s.filter, "a/#");
	CHECK_EQ(s.qos, 1);
	CHECK(mqtt_sub_next(&p.subscribe, &off, &s));
	CHECK_STR(s.filter, "+/b");
	CHECK_EQ(s.qos, 2);
	CHECK(!mqtt_sub_next(&p.subscribe, &off, &s));
}

static void test_subscribe_v5(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5,
		"82 19 00 02 09 0b 07 26 00 01 6b 00 01 76"
		" 00 0a 24 73 68 61 72 65 2f 67 2f 74 29", &p), MQTT_OK);
	CHECK_EQ(p.subscribe.props.sub_id, 7);
	uint32_t off = 0;
	struct mqtt_sub s;
	CHECK(mqtt_sub_next(&p.subscribe, &off, &s));
	CHECK_STR(s.filter, "$share/g/t");
	CHECK_EQ(s.qos, 1);
	CHECK(s.retain_as_published && !s.no_local);
	CHECK_EQ(s.retain_handling, 2);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "82 07 00 03 00 00 01 78 05", &p), MQTT_OK);
	off = 0;
	CHECK(mqtt_sub_next(&p.subscribe, &off, &s));
	CHECK(s.no_local);
}

static void test_suback(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "90 04 00 01 01 80", &p), MQTT_OK);
	CHECK_EQ(p.suback.codes.len, 2);
	CHECK_EQ(p.suback.codes.p[1], 0x80);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "90 09 00 01 04 1f 00 01 78 00 a2", &p),
		 MQTT_OK);
	CHECK_EQ(p.suback.codes.p[1], 0xa2);
	CHECK_STR(p.suback.props.reason_string, "x");
}

static void test_unsubscribe(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "a2 07 00 03 00 03 61 2f 62", &p), MQTT_OK);
	CHECK_EQ(p.subscribe.count, 1);
	uint32_t off = 0;
	struct mqtt_str f;
	CHECK(mqtt_unsub_next(&p.subscribe, &off, &f));
	CHECK_STR(f, "a/b");
	CHECK(!mqtt_unsub_next(&p.subscribe, &off, &f));
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "a2 08 00 03 00 00 03 61 2f 62", &p), MQTT_OK);
}

static void test_unsuback(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "b0 02 00 03", &p), MQTT_OK);
	CHECK_EQ(p.suback.packet_id, 3);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "b0 05 00 03 00 00 11", &p), MQTT_OK);
	CHECK_EQ(p.suback.codes.len, 2);
	CHECK_EQ(p.suback.codes.p[1], 0x11);
}

/* ---------------------------------------------------------------- the small ones */

static void test_ping_disconnect_auth(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "c0 00", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PINGREQ);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "d0 00", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PINGRESP);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "e0 00", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_DISCONNECT);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "e0 00", &p), MQTT_OK);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "e0 01 04", &p), MQTT_OK);
	CHECK_EQ(p.disconnect.rc, 4);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "e0 07 00 05 11 00 00 00 00", &p), MQTT_OK);
	CHECK(MQTT_PROP_HAS(&p.disconnect.props, MQTT_PROP_SESSION_EXPIRY));
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "f0 00", &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_AUTH);
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5,
		"f0 0e 18 0c 15 00 05 53 43 52 41 4d 16 00 01 aa", &p), MQTT_OK);
	CHECK_EQ(p.disconnect.rc, 0x18);
	CHECK_STR(p.disconnect.props.auth_method, "SCRAM");
	CHECK_EQ(p.disconnect.props.auth_data.len, 1);
}

/* ---------------------------------------------------------------- every property */

/* One property, hand-encoded, in a packet where 5.0 table 2-4 allows it. */
struct prop_vec {
	uint8_t id;
	const char *where; /* "publish", "connect", "will", "connack", "puback", "subscribe" */
	const char *bytes; /* identifier and value */
	uint32_t num;      /* expected numeric value, or string length */
};

static const struct prop_vec prop_vecs[] = {
	{0x01, "publish", "01 01", 1},
	{0x02, "publish", "02 00 01 00 00", 65536},
	{0x03, "publish", "03 00 04 74 65 78 74", 4},
	{0x08, "publish", "08 00 03 72 2f 31", 3},
	{0x09, "publish", "09 00 03 00 ff 01", 3},
	{0x0B, "publish", "0b ff ff ff 7f", 268435455},
	{0x0B, "subscribe", "0b 80 01", 128},
	{0x11, "connect", "11 ff ff ff ff", 0xffffffff},
	{0x11, "connack", "11 00 00 0e 10", 3600},
	{0x12, "connack", "12 00 02 69 64", 2},
	{0x13, "connack", "13 00 1e", 30},
	{0x15, "connect", "15 00 05 50 4c 41 49 4e", 5},
	{0x16, "connack", "16 00 02 01 02", 2},
	{0x17, "connect", "17 00", 0},
	{0x18, "will", "18 00 00 00 0a", 10},
	{0x19, "connect", "19 01", 1},
	{0x1A, "connack", "1a 00 01 72", 1},
	{0x1C, "connack", "1c 00 02 68 32", 2},
	{0x1F, "puback", "1f 00 03 62 61 64", 3},
	{0x21, "connect", "21 ff ff", 65535},
	{0x22, "connect", "22 00 0a", 10},
	{0x23, "publish", "23 00 02", 2},
	{0x24, "connack", "24 00", 0},
	{0x25, "connack", "25 01", 1},
	{0x26, "connect", "26 00 01 61 00 02 62 63", 1},
	{0x27, "connect", "27 00 00 10 00", 4096},
	{0x28, "connack", "28 00", 0},
	{0x29, "connack", "29 01", 1},
	{0x2A, "connack", "2a 00", 0},
};

/* Wrap a property (hex) in a hand-laid packet of the kind @p where names. */
static size_t prop_packet(const char *where, const char *prop_hex, uint8_t *out, uint8_t *type)
{
	uint8_t prop[64];
	size_t pl = mqtt_test_hex(prop_hex, prop, sizeof(prop));
	uint8_t body[128];
	size_t n = 0;

#define PUT(hex) (n += mqtt_test_hex(hex, body + n, sizeof(body) - n))
#define PROPS() (body[n++] = (uint8_t)pl, memcpy(body + n, prop, pl), n += pl)
	if (strcmp(where, "publish") == 0) {
		*type = 0x30;
		PUT("00 01 74");
		PROPS();
		PUT("70");
	} else if (strcmp(where, "connect") == 0) {
		*type = 0x10;
		PUT("00 04 4d 51 54 54 05 02 00 3c");
		PROPS();
		PUT("00 01 63");
	} else if (strcmp(where, "will") == 0) {
		*type = 0x10;
		PUT("00 04 4d 51 54 54 05 06 00 3c 00 00 01 63");
		PROPS();
		PUT("00 01 74 00 00");
	} else if (strcmp(where, "connack") == 0) {
		*type = 0x20;
		PUT("00 00");
		PROPS();
	} else if (strcmp(where, "puback") == 0) {
		*type = 0x40;
		PUT("00 01 83");
		PROPS();
	} else {
		*type = 0x82;
		PUT("00 01");
		PROPS();
		PUT("00 01 74 00");
	}
#undef PUT
#undef PROPS
	out[0] = *type;
	out[1] = (uint8_t)n; /* every wrapper stays under 128 bytes */
	memcpy(out + 2, body, n);
	return n + 2;
}

static const struct mqtt_props *prop_block(const struct mqtt_packet *pkt, const char *where)
{
	switch (pkt->type) {
	case MQTT_PUBLISH: return &pkt->publish.props;
	case MQTT_CONNECT:
		return strcmp(where, "will") == 0 ? &pkt->connect.will_props : &pkt->connect.props;
	case MQTT_CONNACK: return &pkt->connack.props;
	case MQTT_PUBACK: return &pkt->ack.props;
	default: return &pkt->subscribe.props;
	}
}

static void test_every_property(void)
{
	for (size_t i = 0; i < sizeof(prop_vecs) / sizeof(prop_vecs[0]); i++) {
		const struct prop_vec *v = &prop_vecs[i];
		uint8_t buf[160], type;
		size_t n = prop_packet(v->where, v->bytes, buf, &type);
		uint8_t ver = type == 0x10 ? MQTT_V_NONE : MQTT_V5;
		int rc = mqtt_test_roundtrip(ver, buf, n, &p);
		if (rc != MQTT_OK)
			fprintf(stderr, "property 0x%02x in %s: rc 0x%x\n", v->id, v->where, rc);
		CHECK_EQ(rc, MQTT_OK);
		if (rc != MQTT_OK)
			continue;
		const struct mqtt_props *pr = prop_block(&p, v->where);
		CHECK(MQTT_PROP_HAS(pr, v->id));
		CHECK_EQ(pr->present, (uint64_t)1 << v->id);
		uint32_t off = 0;
		struct mqtt_prop got;
		CHECK(mqtt_props_next(pr, &off, &got));
		CHECK_EQ(got.id, v->id);
		int t = mqtt_prop_type(v->id);
		uint32_t val = (t == MQTT_PT_UTF8 || t == MQTT_PT_BINARY || t == MQTT_PT_UTF8_PAIR)
				       ? got.str.len : got.num;
		CHECK_EQ(val, v->num);
		CHECK(!mqtt_props_next(pr, &off, &got));
	}
	/* Every defined identifier has a vector. */
	for (unsigned id = 1; id <= 0x2A; id++) {
		bool found = false;
		for (size_t i = 0; i < sizeof(prop_vecs) / sizeof(prop_vecs[0]); i++)
			found |= prop_vecs[i].id == id;
		CHECK_EQ(found, mqtt_prop_type((uint8_t)id) != 0);
	}
}

/* Each property in a packet where table 2-4 does not allow it: Malformed Packet. */
static void test_every_property_misplaced(void)
{
	for (size_t i = 0; i < sizeof(prop_vecs) / sizeof(prop_vecs[0]); i++) {
		const struct prop_vec *v = &prop_vecs[i];
		static const char *const places[] = {"publish", "connect", "will", "connack",
						     "puback", "subscribe"};
		static const uint8_t types[] = {MQTT_PUBLISH, MQTT_CONNECT, 0, MQTT_CONNACK,
						MQTT_PUBACK, MQTT_SUBSCRIBE};
		for (size_t k = 0; k < 6; k++) {
			uint8_t buf[160], type;
			size_t n = prop_packet(places[k], v->bytes, buf, &type);
			uint8_t ver = type == 0x10 ? MQTT_V_NONE : MQTT_V5;
			int rc = mqtt_decode(ver, buf, n, &p);
			if (mqtt_prop_allowed(v->id, types[k])) {
				/* Allowed: only a value rule may refuse it; here that is only
				 * CONNECT's Authentication Data without a Method. */
				bool lone_auth = v->id == MQTT_PROP_AUTH_DATA &&
						 types[k] == MQTT_CONNECT;
				CHECK_EQ(rc, lone_auth ? MQTT_RC_PROTOCOL_ERROR : MQTT_OK);
			} else {
				if (rc != MQTT_RC_MALFORMED)
					fprintf(stderr, "0x%02x in %s\n", v->id, places[k]);
				CHECK_EQ(rc, MQTT_RC_MALFORMED);
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct mqtt_test tests[] = {
		TEST(test_connect_v31),
		TEST(test_connect_v311_minimal),
		TEST(test_connect_v311_full),
		TEST(test_connect_v5_props_and_will),
		TEST(test_connect_v5_password_without_username),
		TEST(test_connect_empty_client_id),
		TEST(test_connack),
		TEST(test_publish_v311),
		TEST(test_publish_v5_all_props),
		TEST(test_publish_v5_alias_only),
		TEST(test_publish_v5_several_sub_ids),
		TEST(test_publish_large_remaining_length),
		TEST(test_acks_v311),
		TEST(test_acks_v5),
		TEST(test_subscribe_v311),
		TEST(test_subscribe_v5),
		TEST(test_suback),
		TEST(test_unsubscribe),
		TEST(test_unsuback),
		TEST(test_ping_disconnect_auth),
		TEST(test_every_property),
		TEST(test_every_property_misplaced),
	};
	return mqtt_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
