/**
 * @file test_encode.c
 * The encoder driven the way the broker and the load generator drive it: packets built
 * from fields (not from decoding) must give the hand-written bytes; the split PUBLISH
 * encoder must give, head + shared payload, exactly the bytes of a whole PUBLISH for each
 * subscriber shape; failures (small buffer, oversize fields) must return 0.
 */
#include "mqtt_test.h"

#define S(lit) ((struct mqtt_str){(const uint8_t *)(lit), sizeof(lit) - 1})

static void expect(uint8_t v, const struct mqtt_packet *pkt, const char *hex)
{
	uint8_t want[512], got[512];
	size_t n = mqtt_test_hex(hex, want, sizeof(want));

	CHECK_EQ(mqtt_encode_size(v, pkt), n);
	CHECK_EQ(mqtt_encode(v, pkt, got, sizeof(got)), n);
	CHECK(memcmp(got, want, n) == 0);
	/* One byte short of room: refused, nothing claimed written. */
	CHECK_EQ(mqtt_encode(v, pkt, got, n - 1), 0);
}

static void test_encode_connect_from_fields(void)
{
	struct mqtt_packet pkt = {.type = MQTT_CONNECT};
	struct mqtt_connect *c = &pkt.connect;

	c->version = MQTT_V311;
	c->clean_start = true;
	c->keep_alive = 60;
	c->client_id = S("c");
	c->will = true;
	c->will_qos = 1;
	c->will_retain = true;
	c->will_topic = S("w/t");
	c->will_payload = S("bye");
	c->has_username = c->has_password = true;
	c->username = S("u");
	c->password = S("p");
	expect(0, &pkt, "10 1d 00 04 4d 51 54 54 04 ee 00 3c 00 01 63 00 03 77 2f 74"
			" 00 03 62 79 65 00 01 75 00 01 70");
	c->version = MQTT_V5;
	c->will = false;
	c->has_password = false;
	MQTT_PROP_SET(&c->props, MQTT_PROP_RECEIVE_MAX);
	c->props.receive_max = 20;
	MQTT_PROP_SET(&c->props, MQTT_PROP_SESSION_EXPIRY);
	c->props.session_expiry = 10;
	expect(0, &pkt, "10 19 00 04 4d 51 54 54 05 82 00 3c 08 11 00 00 00 0a 21 00 14"
			" 00 01 63 00 01 75");
	c->version = 6;
	CHECK_EQ(mqtt_encode_size(0, &pkt), 0);
}

static void test_encode_connack_suback_disconnect(void)
{
	struct mqtt_packet pkt = {.type = MQTT_CONNACK};
	pkt.connack.session_present = true;
	expect(MQTT_V311, &pkt, "20 02 01 00");
	expect(MQTT_V31, &pkt, "20 02 00 00"); /* 3.1 has no session present flag */
	pkt.connack.session_present = false;
	pkt.connack.rc = MQTT_RC_BAD_USER_PASS;
	MQTT_PROP_SET(&pkt.connack.props, MQTT_PROP_REASON_STRING);
	pkt.connack.props.reason_string = S("no");
	expect(MQTT_V5, &pkt, "20 08 00 86 05 1f 00 02 6e 6f");

	struct mqtt_packet sa = {.type = MQTT_SUBACK};
	sa.suback.packet_id = 9;
	sa.suback.codes = S("\x00\x01\x80");
	expect(MQTT_V311, &sa, "90 05 00 09 00 01 80");
	expect(MQTT_V5, &sa, "90 06 00 09 00 00 01 80");
	sa.type = MQTT_UNSUBACK;
	expect(MQTT_V311, &sa, "b0 02 00 09");

	struct mqtt_packet d = {.type = MQTT_DISCONNECT};
	expect(MQTT_V5, &d, "e0 00");
	d.disconnect.rc = MQTT_RC_SESSION_TAKEN_OVER;
	expect(MQTT_V5, &d, "e0 01 8e");
	expect(MQTT_V311, &d, "e0 00"); /* no reason codes in 3.1.1 */
	struct mqtt_packet a = {.type = MQTT_AUTH};
	CHECK_EQ(mqtt_encode_size(MQTT_V311, &a), 0);
}

static void test_encode_subscribe_from_array(void)
{
	struct mqtt_sub subs[2] = {
		{.filter = S("a/#"), .qos = 1},
		{.filter = S("+/b"), .qos = 2, .no_local = true, .retain_handling = 1},
	};
	struct mqtt_packet pkt = {.type = MQTT_SUBSCRIBE};
	pkt.subscribe.packet_id = 1;
	pkt.subscribe.subs = subs;
	pkt.subscribe.count = 2;
	/* 3.1.1 drops the 5.0-only option bits. */
	expect(MQTT_V311, &pkt, "82 0e 00 01 00 03 61 2f 23 01 00 03 2b 2f 62 02");
	expect(MQTT_V5, &pkt, "82 0f 00 01 00 00 03 61 2f 23 01 00 03 2b 2f 62 16");

	struct mqtt_str f[1] = {S("a/b")};
	struct mqtt_packet u = {.type = MQTT_UNSUBSCRIBE};
	u.subscribe.packet_id = 3;
	u.subscribe.filters = f;
	u.subscribe.count = 1;
	expect(MQTT_V311, &u, "a2 07 00 03 00 03 61 2f 62");
}

static void test_MQTT_2_2_1_2_encoder_no_packet_id_qos0(void)
{
	struct mqtt_packet pkt = {.type = MQTT_PUBLISH};
	pkt.publish.topic = S("t");
	pkt.publish.packet_id = 5; /* ignored at QoS 0 */
	pkt.publish.payload = S("hi");
	expect(MQTT_V311, &pkt, "30 05 00 01 74 68 69");
	pkt.publish.qos = 1;
	expect(MQTT_V311, &pkt, "32 07 00 01 74 00 05 68 69");
}

static void test_encode_v5_props_dropped_for_v311(void)
{
	struct mqtt_packet pkt = {.type = MQTT_PUBLISH};
	pkt.publish.topic = S("t");
	pkt.publish.payload = S("x");
	MQTT_PROP_SET(&pkt.publish.props, MQTT_PROP_MESSAGE_EXPIRY);
	pkt.publish.props.message_expiry = 60;
	expect(MQTT_V311, &pkt, "30 04 00 01 74 78");
	expect(MQTT_V5, &pkt, "30 0a 00 01 74 05 02 00 00 00 3c 78");
}

static void test_encode_refuses_oversize_fields(void)
{
	static uint8_t big[70000];
	struct mqtt_packet pkt = {.type = MQTT_PUBLISH};
	pkt.publish.topic = (struct mqtt_str){big, 65536};
	CHECK_EQ(mqtt_encode_size(MQTT_V311, &pkt), 0);
	pkt.publish.topic = (struct mqtt_str){big, 65535};
	memset(big, 'a', sizeof(big));
	CHECK_EQ(mqtt_encode_size(MQTT_V311, &pkt), 1 + 3 + 2 + 65535);
	/* A payload past the 268435455-byte remaining length. */
	pkt.publish.topic = S("t");
	pkt.publish.payload = (struct mqtt_str){big, MQTT_MAX_REMAINING_LEN};
	CHECK_EQ(mqtt_encode_size(MQTT_V311, &pkt), 0);
	struct mqtt_publish_shape sh = {.qos = 0};
	CHECK_EQ(mqtt_publish_head_size(MQTT_V311, &pkt.publish, &sh), 0);
}

/* The head + payload must be byte for byte the whole packet mqtt_encode() writes for the
 * same subscriber view of the message. */
static void check_head(uint8_t v, const struct mqtt_publish *msg,
		       const struct mqtt_publish_shape *sh, const char *hex)
{
	uint8_t head[256], whole[512], want[512];
	struct mqtt_publish_head h;
	size_t n = mqtt_test_hex(hex, want, sizeof(want));
	size_t hl = mqtt_publish_head_encode(v, msg, sh, head, sizeof(head), &h);

	CHECK_EQ(mqtt_publish_head_size(v, msg, sh), hl);
	CHECK_EQ(h.len, hl);
	CHECK_EQ(h.total_len, n);
	CHECK_EQ(hl + msg->payload.len, n);
	memcpy(whole, head, hl);
	memcpy(whole + hl, msg->payload.p, msg->payload.len);
	CHECK(memcmp(whole, want, n) == 0);
	/* And it decodes as the subscriber will see it. */
	struct mqtt_packet p;
	CHECK_EQ(mqtt_decode(v, whole, n, &p), MQTT_OK);
	CHECK_EQ(p.publish.packet_id, sh->qos ? sh->packet_id : 0);
	CHECK(p.publish.payload.p == whole + hl);
	CHECK_EQ(mqtt_publish_head_encode(v, msg, sh, head, hl - 1, NULL), 0);
}

static void test_publish_head_fan_out(void)
{
	static const uint8_t payload[] = "shared payload";
	struct mqtt_publish msg = {.qos = 2, .packet_id = 77, .topic = S("a/b")};
	msg.payload = (struct mqtt_str){payload, 14};
	/* The inbound message's own alias and subscription id never leak out. */
	MQTT_PROP_SET(&msg.props, MQTT_PROP_TOPIC_ALIAS);
	msg.props.topic_alias = 9;
	MQTT_PROP_SET(&msg.props, MQTT_PROP_CONTENT_TYPE);
	msg.props.content_type = S("j");

	struct mqtt_publish_shape q0 = {.qos = 0};
	check_head(MQTT_V311, &msg, &q0,
		   "30 13 00 03 61 2f 62 73 68 61 72 65 64 20 70 61 79 6c 6f 61 64");
	struct mqtt_publish_shape q1 = {.qos = 1, .packet_id = 0x0102, .retain = true};
	check_head(MQTT_V311, &msg, &q1,
		   "33 15 00 03 61 2f 62 01 02 73 68 61 72 65 64 20 70 61 79 6c 6f 61 64");
	/* 5.0: content type kept; two subscription ids and a topic alias for this one. */
	uint32_t ids[2] = {1, 200};
	struct mqtt_publish_shape v5 = {.qos = 1, .packet_id = 3, .topic_alias = 4,
					.sub_ids = ids, .n_sub_ids = 2};
	check_head(MQTT_V5, &msg, &v5,
		   "32 22 00 03 61 2f 62 00 03 0c 03 00 01 6a 0b 01 0b c8 01 23 00 04"
		   " 73 68 61 72 65 64 20 70 61 79 6c 6f 61 64");
	/* Alias already established: empty topic name. Remaining expiry replaced. */
	struct mqtt_publish_shape al = {.qos = 0, .topic_alias = 4, .omit_topic = true,
					.set_message_expiry = true, .message_expiry = 30};
	check_head(MQTT_V5, &msg, &al,
		   "30 1d 00 00 0c 02 00 00 00 1e 03 00 01 6a 23 00 04"
		   " 73 68 61 72 65 64 20 70 61 79 6c 6f 61 64");
}

static void test_publish_head_patch(void)
{
	struct mqtt_publish msg = {.topic = S("t"), .payload = S("p")};
	struct mqtt_publish_shape sh = {.qos = 1, .packet_id = 1};
	struct mqtt_publish_head h;
	uint8_t head[32];
	size_t n = mqtt_publish_head_encode(MQTT_V5, &msg, &sh, head, sizeof(head), &h);

	CHECK_EQ(n, 8);
	CHECK_EQ(h.packet_id_off, 5);
	/* One head per shape, patched per subscriber. */
	mqtt_publish_head_patch(head, &h, 0xbeef, true);
	uint8_t want[16];
	mqtt_test_hex("3a 07 00 01 74 be ef 00 70", want, sizeof(want));
	CHECK(memcmp(head, want, 8) == 0);
	struct mqtt_publish_shape q0 = {.qos = 0};
	mqtt_publish_head_encode(MQTT_V5, &msg, &q0, head, sizeof(head), &h);
	CHECK_EQ(h.packet_id_off, 0);
}

static void test_reason_helpers(void)
{
	CHECK(strcmp(mqtt_reason_str(0x81), "malformed packet") == 0);
	CHECK(strcmp(mqtt_reason_str(0x95), "packet too large") == 0);
	CHECK(strcmp(mqtt_reason_str(0x03), "unknown") == 0);
	CHECK(strcmp(mqtt_type_str(MQTT_PUBLISH), "PUBLISH") == 0);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_MALFORMED), -1);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_PROTOCOL_ERROR), -1);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_CLIENT_ID_INVALID), 2);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_SERVER_UNAVAILABLE), 3);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_BAD_USER_PASS), 4);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_NOT_AUTHORIZED), 5);
}

int main(int argc, char **argv)
{
	static const struct mqtt_test tests[] = {
		TEST(test_encode_connect_from_fields),
		TEST(test_encode_connack_suback_disconnect),
		TEST(test_encode_subscribe_from_array),
		TEST(test_MQTT_2_2_1_2_encoder_no_packet_id_qos0),
		TEST(test_encode_v5_props_dropped_for_v311),
		TEST(test_encode_refuses_oversize_fields),
		TEST(test_publish_head_fan_out),
		TEST(test_publish_head_patch),
		TEST(test_reason_helpers),
	};
	return mqtt_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
