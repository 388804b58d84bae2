/**
 * @file test_rules.c
 * One test per normative statement of the 3.1.1 and 5.0 specifications that the codec
 * enforces, named after the statement ([MQTT-3.1.2-3] -> test_MQTT_3_1_2_3_...). A statement
 * that holds in both specs is tested at both levels; v311_/v5_ in a name says which spec's
 * numbering it uses when the two differ. Rules stated without an identifier are named after
 * their section (test_spec_<section>_...). docs/codec.md has the table.
 */
#include "mqtt_test.h"

#define DEC(v, hex) mqtt_test_decode_hex((v), (hex))

static struct mqtt_packet p;

/* A SUBSCRIBE (or UNSUBSCRIBE) with one filter; returns the decode status. */
static int filter_status(uint8_t v, uint8_t type, const char *filter, uint8_t options)
{
	uint8_t buf[300];
	size_t fl = strlen(filter), n = 0;

	buf[n++] = (uint8_t)(type << 4 | 0x2);
	size_t rem = 2 + (v == MQTT_V5) + 2 + fl + (type == MQTT_SUBSCRIBE);
	buf[n++] = (uint8_t)rem; /* filters here stay short: one length byte */
	buf[n++] = 0;
	buf[n++] = 1;
	if (v == MQTT_V5)
		buf[n++] = 0;
	buf[n++] = (uint8_t)(fl >> 8);
	buf[n++] = (uint8_t)fl;
	memcpy(buf + n, filter, fl);
	n += fl;
	if (type == MQTT_SUBSCRIBE)
		buf[n++] = options;
	return mqtt_decode(v, buf, n, &p);
}

/* ---------------------------------------------------------------- UTF-8 (1.5.3 / 1.5.4) */

static void test_MQTT_1_5_3_1_utf8_ill_formed(void)
{
	CHECK_EQ(DEC(MQTT_V311, "30 05 00 03 61 c0 af"), MQTT_RC_MALFORMED);    /* overlong '/' */
	CHECK_EQ(DEC(MQTT_V311, "30 05 00 03 ed a0 80"), MQTT_RC_MALFORMED);    /* surrogate */
	CHECK_EQ(DEC(MQTT_V311, "30 06 00 04 f4 90 80 80"), MQTT_RC_MALFORMED); /* > U+10FFFF */
	CHECK_EQ(DEC(MQTT_V311, "30 04 00 02 61 e2"), MQTT_RC_MALFORMED);       /* truncated */
	CHECK_EQ(DEC(MQTT_V311, "30 03 00 01 80"), MQTT_RC_MALFORMED);          /* lone cont. */
	CHECK_EQ(DEC(MQTT_V311, "30 06 00 04 e0 80 af 61"), MQTT_RC_MALFORMED); /* overlong 3 */
	CHECK_EQ(DEC(MQTT_V311, "30 06 00 04 f0 80 80 af"), MQTT_RC_MALFORMED); /* overlong 4 */
	CHECK_EQ(DEC(MQTT_V311, "30 03 00 01 ff"), MQTT_RC_MALFORMED);
}

static void test_MQTT_1_5_3_2_utf8_null(void)
{
	CHECK_EQ(DEC(MQTT_V311, "30 04 00 02 61 00"), MQTT_RC_MALFORMED);
	CHECK(!mqtt_utf8_valid((const uint8_t *)"a\0b", 3));
	/* At every position of a long string (the validator reads 8 bytes at a time). */
	uint8_t s[40];
	for (size_t i = 0; i < sizeof(s); i++) {
		memset(s, 'a', sizeof(s));
		CHECK(mqtt_utf8_valid(s, sizeof(s)));
		s[i] = 0;
		CHECK(!mqtt_utf8_valid(s, sizeof(s)));
		s[i] = 0x80; /* and a lone continuation byte */
		CHECK(!mqtt_utf8_valid(s, sizeof(s)));
		s[i] = 0x7f;
		CHECK(mqtt_utf8_valid(s, sizeof(s)));
	}
}

static void test_MQTT_1_5_3_3_bom_not_stripped(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V311, "30 06 00 04 ef bb bf 61", &p), MQTT_OK);
	CHECK_EQ(p.publish.topic.len, 4);
}

static void test_MQTT_1_5_4_1_utf8_ill_formed(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 03 61 c0 af 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 03 ed bf bf 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "30 07 00 04 f5 80 80 80 00"), MQTT_RC_MALFORMED);
	/* In a property value and in a user property too. */
	CHECK_EQ(DEC(MQTT_V5, "30 08 00 01 74 04 03 00 01 c1"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "40 0b 00 01 00 07 26 00 01 61 00 01 ed"), MQTT_RC_MALFORMED);
	/* The largest code points of each length are fine. */
	CHECK(mqtt_utf8_valid((const uint8_t *)"\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 10));
	CHECK(mqtt_utf8_valid((const uint8_t *)"\xed\x9f\xbf\xee\x80\x80", 6)); /* around D800 */
}

static void test_MQTT_1_5_4_2_utf8_null(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 05 00 02 00 61 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_1_5_4_3_bom_not_stripped(void)
{
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5, "30 07 00 04 ef bb bf 61 00", &p), MQTT_OK);
	CHECK_EQ(p.publish.topic.len, 4);
}

/* ---------------------------------------------------------------- VBI, fixed header */

static void test_MQTT_1_5_5_1_vbi_minimal_bytes(void)
{
	/* Remaining length 0 as "80 00": refused in 5.0, tolerated in 3.1.1 which has no
	 * such rule. */
	CHECK_EQ(DEC(MQTT_V5, "c0 80 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "c0 80 00"), MQTT_OK);
	/* Property length and Subscription Identifier. */
	CHECK_EQ(DEC(MQTT_V5, "40 05 00 01 00 80 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "82 0a 00 01 03 0b 81 00 00 01 74 00"), MQTT_RC_MALFORMED);
	/* CONNECT's remaining length, checked once the level says 5. */
	CHECK_EQ(DEC(MQTT_V_NONE, "10 8d 00 00 04 4d 51 54 54 05 02 00 3c 00 00 00"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 8c 00 00 04 4d 51 54 54 04 02 00 3c 00 00"), MQTT_OK);
}

static void test_spec_2_2_3_remaining_length_max_4_bytes(void)
{
	struct mqtt_frame f;
	static const uint8_t five[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t four[] = {0x30, 0xff, 0xff, 0xff, 0x7f};

	CHECK_EQ(mqtt_frame(five, sizeof(five), 0, &f), MQTT_RC_MALFORMED);
	CHECK_EQ(mqtt_frame(four, sizeof(four), 0, &f), MQTT_NEED_MORE);
	CHECK_EQ(f.remaining_len, MQTT_MAX_REMAINING_LEN);
	CHECK_EQ(f.header_len, 5);
}

static void test_spec_2_2_3_remaining_length_consistent(void)
{
	static const uint8_t extra[] = {0x40, 0x03, 0x00, 0x01, 0x00};   /* 3.1.1 PUBACK */
	static const uint8_t short_[] = {0x40, 0x01, 0x00};              /* id cut short */
	static const uint8_t lie[] = {0x40, 0x02, 0x00, 0x01, 0x00};     /* len != framed */

	CHECK_EQ(mqtt_decode(MQTT_V311, extra, sizeof(extra), &p), MQTT_RC_MALFORMED);
	CHECK_EQ(mqtt_decode(MQTT_V311, short_, sizeof(short_), &p), MQTT_RC_MALFORMED);
	CHECK_EQ(mqtt_decode(MQTT_V311, lie, sizeof(lie), &p), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "c0 01 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "e0 01 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "b0 03 00 01 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "82 05 00 01 00 01 74"), MQTT_RC_MALFORMED); /* no options */
	CHECK_EQ(DEC(MQTT_V311, "20 01 00"), MQTT_RC_MALFORMED);
}

static void test_spec_2_1_2_reserved_packet_types(void)
{
	struct mqtt_frame f;
	static const uint8_t zero[] = {0x00, 0x00};

	CHECK_EQ(mqtt_frame(zero, 2, 0, &f), MQTT_RC_MALFORMED);
	CHECK_EQ(mqtt_decode(MQTT_V311, zero, 2, &p), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "f0 00"), MQTT_RC_MALFORMED); /* AUTH is 5.0 only */
	CHECK_EQ(DEC(MQTT_V31, "f0 00"), MQTT_RC_MALFORMED);
}

/* Every packet's reserved flags, one level's wire format at a time. */
static void reserved_flags(uint8_t v)
{
	bool v5 = v == MQTT_V5;
	CHECK_EQ(DEC(v, v5 ? "11 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 61"
			   : "11 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "21 03 00 00 00" : "21 02 00 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "41 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "58 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "60 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "63 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "74 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "80 07 00 01 00 00 01 74 00" : "80 06 00 01 00 01 74 00"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "83 07 00 01 00 00 01 74 00" : "83 06 00 01 00 01 74 00"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "92 04 00 01 00 00" : "92 03 00 01 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "a0 06 00 01 00 00 01 74" : "a0 05 00 01 00 01 74"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, v5 ? "b1 04 00 01 00 00" : "b1 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "c1 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "d8 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(v, "e1 00"), MQTT_RC_MALFORMED);
	if (v5)
		CHECK_EQ(DEC(v, "f1 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_2_2_2_1_reserved_flags(void)
{
	reserved_flags(MQTT_V311);
	/* 3.1 did not reserve these bits: its SUBSCRIBE with flags 0 is accepted. */
	CHECK_EQ(DEC(MQTT_V31, "80 06 00 01 00 01 74 00"), MQTT_OK);
}

static void test_MQTT_2_1_3_1_reserved_flags(void)
{
	reserved_flags(MQTT_V5);
}

static void test_MQTT_3_6_1_1_pubrel_flags(void)
{
	CHECK_EQ(DEC(MQTT_V311, "60 02 00 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "62 02 00 01"), MQTT_OK);
	CHECK_EQ(DEC(MQTT_V5, "60 02 00 01"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_8_1_1_subscribe_flags(void)
{
	CHECK_EQ(DEC(MQTT_V311, "80 06 00 01 00 01 74 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "8a 07 00 01 00 00 01 74 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_10_1_1_unsubscribe_flags(void)
{
	CHECK_EQ(DEC(MQTT_V311, "a0 05 00 01 00 01 74"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "a0 06 00 01 00 00 01 74"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_14_1_1_disconnect_flags(void)
{
	CHECK_EQ(DEC(MQTT_V311, "e1 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "ef 00"), MQTT_RC_MALFORMED);
}

/* ---------------------------------------------------------------- packet identifiers */

static void test_MQTT_2_3_1_1_packet_id_nonzero(void)
{
	CHECK_EQ(DEC(MQTT_V311, "32 05 00 01 74 00 00"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V311, "82 06 00 00 00 01 74 00"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V311, "a2 05 00 00 00 01 74"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V311, "40 02 00 00"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_2_2_1_3_packet_id_nonzero(void)
{
	CHECK_EQ(DEC(MQTT_V5, "34 06 00 01 74 00 00 00"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "82 07 00 00 00 00 01 74 00"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "a2 06 00 00 00 00 01 74"), MQTT_RC_PROTOCOL_ERROR);
}

/* ---------------------------------------------------------------- CONNECT */

static void test_MQTT_3_1_0_1_first_packet_connect(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "c0 00"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE, "30 05 00 01 74 68 69"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_1_0_2_second_connect(void)
{
	uint8_t buf[64], rb[256];
	size_t n = mqtt_test_hex("10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61", buf, 64);
	struct mqtt_decoder d;
	const uint8_t *data = buf;
	size_t len = n;

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V_NONE);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK_EQ(d.version, MQTT_V311);
	data = buf;
	len = n;
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_1_2_1_protocol_name(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 58 04 02 00 3c 00 01 61"),
		 MQTT_RC_UNSUPPORTED_VERSION);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0f 00 06 4d 51 49 73 64 70 04 02 00 3c 00 01 61"),
		 MQTT_RC_UNSUPPORTED_VERSION);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 6d 71 74 74 05 02 00 3c 00 01 61"),
		 MQTT_RC_UNSUPPORTED_VERSION);
}

static void test_MQTT_3_1_2_2_protocol_level(void)
{
	uint8_t buf[64];
	size_t n = mqtt_test_hex("10 0d 00 04 4d 51 54 54 03 02 00 3c 00 01 61", buf, 64);

	CHECK_EQ(mqtt_decode(MQTT_V_NONE, buf, n, &p), MQTT_RC_UNSUPPORTED_VERSION);
	/* The level is reported, and a 3.1.1 broker answers CONNACK return code 1. */
	CHECK_EQ(p.connect.version, 3);
	CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_UNSUPPORTED_VERSION), 1);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 06 02 00 3c 00 01 61"),
		 MQTT_RC_UNSUPPORTED_VERSION);
}

static void test_MQTT_3_1_2_3_reserved_connect_flag(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 04 03 00 3c 00 01 61"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0e 00 04 4d 51 54 54 05 03 00 3c 00 00 01 61"),
		 MQTT_RC_MALFORMED);
	/* Not reserved in 3.1. */
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0f 00 06 4d 51 49 73 64 70 03 03 00 3c 00 01 61"),
		 MQTT_OK);
}

static void test_MQTT_3_1_2_11_will_qos_without_will(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 04 0a 00 3c 00 01 61"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0e 00 04 4d 51 54 54 05 12 00 3c 00 00 01 61"),
		 MQTT_RC_MALFORMED);
}

static void test_MQTT_3_1_2_12_will_qos_3(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE,
		     "10 12 00 04 4d 51 54 54 04 1e 00 3c 00 01 63 00 01 74 00 00"),
		 MQTT_RC_MALFORMED);
}

static void test_MQTT_3_1_2_13_will_retain_without_will(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 04 22 00 3c 00 01 61"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0e 00 04 4d 51 54 54 05 22 00 3c 00 00 01 61"),
		 MQTT_RC_MALFORMED);
}

static void test_MQTT_3_1_2_22_password_without_username(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 10 00 04 4d 51 54 54 04 42 00 3c 00 01 61 00 01 70"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE,
		     "10 12 00 06 4d 51 49 73 64 70 03 42 00 3c 00 01 61 00 01 70"),
		 MQTT_RC_MALFORMED);
	/* 5.0 allows it (test_connect_v5_password_without_username in test_vectors.c). */
}

static void test_MQTT_3_1_2_18_username_flag_matches_payload(void)
{
	/* 3.1.1 [MQTT-3.1.2-18/19], 5.0 [MQTT-3.1.2-16/17]: the flag says whether the field
	 * is there. Flag set, field absent; flag clear, field present. */
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 04 82 00 3c 00 01 63"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 10 00 04 4d 51 54 54 04 02 00 3c 00 01 63 00 01 75"),
		 MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0e 00 04 4d 51 54 54 05 42 00 3c 00 00 01 63"),
		 MQTT_RC_MALFORMED); /* 5.0 password flag without a password */
}

static void test_MQTT_3_1_3_4_client_id_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 ff"),
		 MQTT_RC_MALFORMED);
}

static void test_MQTT_3_1_3_10_will_topic_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE,
		     "10 12 00 04 4d 51 54 54 04 06 00 3c 00 01 63 00 01 ff 00 00"),
		 MQTT_RC_MALFORMED);
	/* A will topic is a Topic Name: no wildcards. */
	CHECK_EQ(DEC(MQTT_V_NONE,
		     "10 12 00 04 4d 51 54 54 04 06 00 3c 00 01 63 00 01 23 00 00"),
		 MQTT_RC_TOPIC_NAME_INVALID);
}

static void test_MQTT_3_1_3_11_username_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V_NONE, "10 10 00 04 4d 51 54 54 04 82 00 3c 00 01 63 00 01 ff"),
		 MQTT_RC_MALFORMED);
}

/* ---------------------------------------------------------------- CONNACK */

static void test_MQTT_3_2_2_1_connack_reserved_bits(void)
{
	CHECK_EQ(DEC(MQTT_V311, "20 02 02 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "20 03 80 00 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_2_2_4_session_present_on_refusal(void)
{
	CHECK_EQ(DEC(MQTT_V311, "20 02 01 05"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_2_2_6_session_present_on_refusal(void)
{
	CHECK_EQ(DEC(MQTT_V5, "20 03 01 87 00"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_spec_3_2_2_3_connack_return_codes(void)
{
	CHECK_EQ(DEC(MQTT_V311, "20 02 00 06"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "20 03 00 04 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "20 03 00 8e 00"), MQTT_RC_MALFORMED); /* DISCONNECT only */
}

/* ---------------------------------------------------------------- PUBLISH */

static void test_MQTT_3_3_1_2_dup_zero_for_qos0(void)
{
	CHECK_EQ(DEC(MQTT_V311, "38 05 00 01 74 68 69"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "38 06 00 01 74 00 68 69"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_3_1_4_qos_3(void)
{
	CHECK_EQ(DEC(MQTT_V311, "36 07 00 01 74 00 01 68 69"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "36 08 00 01 74 00 01 00 68 69"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_3_2_1_topic_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V311, "30 05 00 03 61 2f ff"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 03 61 2f ff 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_3_2_2_topic_no_wildcards(void)
{
	CHECK_EQ(DEC(MQTT_V311, "30 05 00 03 61 2f 2b"), MQTT_RC_TOPIC_NAME_INVALID);
	CHECK_EQ(DEC(MQTT_V311, "30 03 00 01 23"), MQTT_RC_TOPIC_NAME_INVALID);
	CHECK_EQ(DEC(MQTT_V5, "30 04 00 01 23 00"), MQTT_RC_TOPIC_NAME_INVALID);
	CHECK(!mqtt_topic_name_valid((const uint8_t *)"a/#", 3));
	CHECK(mqtt_topic_name_valid((const uint8_t *)"$SYS/a b", 8));
}

static void test_MQTT_3_3_2_8_topic_alias_zero(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 07 00 01 74 03 23 00 00"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_3_2_14_response_topic_no_wildcards(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 09 00 01 74 05 08 00 02 61 23"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_spec_3_3_2_1_empty_topic_needs_alias(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 03 00 00 00"), MQTT_RC_PROTOCOL_ERROR);
}

/* ---------------------------------------------------------------- SUBSCRIBE, UNSUBSCRIBE */

static void test_MQTT_3_8_3_1_filter_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V311, "82 06 00 01 00 01 ff 00"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "82 07 00 01 00 00 01 c0 00"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_8_3_3_subscribe_not_empty(void)
{
	CHECK_EQ(DEC(MQTT_V311, "82 02 00 01"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_8_3_2_subscribe_not_empty(void)
{
	CHECK_EQ(DEC(MQTT_V5, "82 03 00 01 00"), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_8_3_4_v311_subscribe_options_reserved(void)
{
	CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, "t", 0x04), MQTT_RC_MALFORMED);
	CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, "t", 0x80), MQTT_RC_MALFORMED);
	CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, "t", 0x03), MQTT_RC_MALFORMED);
	CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, "t", 0x02), MQTT_OK);
}

static void test_MQTT_3_8_3_4_v5_no_local_on_shared(void)
{
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$share/g/t", 0x04),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$share/g/t", 0x00), MQTT_OK);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "g/t", 0x04), MQTT_OK);
}

static void test_MQTT_3_8_3_5_subscribe_options_reserved(void)
{
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "t", 0x40), MQTT_RC_MALFORMED);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "t", 0x80), MQTT_RC_MALFORMED);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "t", 0x2e), MQTT_OK);
}

static void test_spec_3_8_3_1_maximum_qos_3(void)
{
	/* 5.0 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3" */
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "t", 0x03), MQTT_RC_PROTOCOL_ERROR);
}

static void test_spec_3_8_3_1_retain_handling_3(void)
{
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "t", 0x30), MQTT_RC_PROTOCOL_ERROR);
}

static void test_MQTT_3_9_3_2_suback_return_codes(void)
{
	CHECK_EQ(DEC(MQTT_V311, "90 03 00 01 03"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V311, "90 02 00 01"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "90 04 00 01 00 11"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_10_3_1_unsubscribe_filter_utf8(void)
{
	CHECK_EQ(DEC(MQTT_V311, "a2 05 00 01 00 01 ff"), MQTT_RC_MALFORMED);
}

static void test_MQTT_3_10_3_2_unsubscribe_not_empty(void)
{
	CHECK_EQ(DEC(MQTT_V311, "a2 02 00 01"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "a2 03 00 01 00"), MQTT_RC_PROTOCOL_ERROR);
}

/* ---------------------------------------------------------------- topic filters (4.7, 4.8) */

static void test_MQTT_4_7_1_2_multi_level_wildcard_last(void)
{
	/* 3.1.1 [MQTT-4.7.1-2] = 5.0 [MQTT-4.7.1-1]. */
	static const char *const bad[] = {"a/#/b", "a#", "#a", "a/b#", "##"};
	static const char *const good[] = {"#", "a/#", "/#", "+/#"};
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, bad[i], 0),
			 MQTT_RC_TOPIC_FILTER_INVALID);
		CHECK_EQ(filter_status(MQTT_V5, MQTT_UNSUBSCRIBE, bad[i], 0),
			 MQTT_RC_TOPIC_FILTER_INVALID);
	}
	for (size_t i = 0; i < 4; i++)
		CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, good[i], 0), MQTT_OK);
}

static void test_MQTT_4_7_1_3_single_level_wildcard_whole_level(void)
{
	/* 3.1.1 [MQTT-4.7.1-3] = 5.0 [MQTT-4.7.1-2]. */
	static const char *const bad[] = {"a+", "+a", "a/+b", "a/b+/c", "++"};
	static const char *const good[] = {"+", "+/+", "a/+/b", "/+", "+/", "a//+"};
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, bad[i], 0),
			 MQTT_RC_TOPIC_FILTER_INVALID);
		CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, bad[i], 0),
			 MQTT_RC_TOPIC_FILTER_INVALID);
	}
	for (size_t i = 0; i < 6; i++)
		CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, good[i], 1), MQTT_OK);
}

static void test_MQTT_4_7_3_1_topic_at_least_one_char(void)
{
	CHECK_EQ(DEC(MQTT_V311, "30 02 00 00"), MQTT_RC_TOPIC_NAME_INVALID);
	CHECK_EQ(filter_status(MQTT_V311, MQTT_SUBSCRIBE, "", 0), MQTT_RC_TOPIC_FILTER_INVALID);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_UNSUBSCRIBE, "", 0), MQTT_RC_TOPIC_FILTER_INVALID);
}

static void test_MQTT_4_8_2_1_share_name_not_empty(void)
{
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$share//t", 0),
		 MQTT_RC_TOPIC_FILTER_INVALID);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$share/", 0),
		 MQTT_RC_TOPIC_FILTER_INVALID);
	/* "$shared/x" is an ordinary filter. */
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$shared/x", 0), MQTT_OK);
}

static void test_MQTT_4_8_2_2_share_name_chars(void)
{
	static const char *const bad[] = {"$share/a+/t", "$share/a#/t", "$share/g",
					  "$share/g/", "$share/g/a#"};
	for (size_t i = 0; i < 5; i++)
		CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, bad[i], 0),
			 MQTT_RC_TOPIC_FILTER_INVALID);
	CHECK_EQ(filter_status(MQTT_V5, MQTT_SUBSCRIBE, "$share/g/+/#", 1), MQTT_OK);
	struct mqtt_str n, f;
	CHECK(mqtt_topic_share_split((const uint8_t *)"$share/grp/a/b", 14, &n, &f));
	CHECK_STR(n, "grp");
	CHECK_STR(f, "a/b");
}

/* ---------------------------------------------------------------- properties (2.2.2) */

static void test_spec_2_2_2_2_duplicate_property(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 0e 00 01 74 0a 02 00 00 00 01 02 00 00 00 02"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "30 0a 00 01 74 06 23 00 01 23 00 02"), MQTT_RC_PROTOCOL_ERROR);
	/* One Subscription Identifier per SUBSCRIBE (3.8.2.1.2). */
	CHECK_EQ(DEC(MQTT_V5, "82 0b 00 01 04 0b 01 0b 02 00 01 74 00"),
		 MQTT_RC_PROTOCOL_ERROR);
	/* User Property may repeat, even with the same name. */
	CHECK_EQ(mqtt_test_roundtrip_hex(MQTT_V5,
		"40 10 00 01 00 0c 26 00 01 61 00 00 26 00 01 61 00 00", &p), MQTT_OK);
	CHECK_EQ(p.ack.props.n_user, 2);
}

static void test_spec_2_2_2_2_property_values(void)
{
	/* Byte properties that only take 0 or 1, and values that must not be 0. */
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 01 74 02 01 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 10 00 04 4d 51 54 54 05 02 00 3c 02 17 02 00 01 63"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 10 00 04 4d 51 54 54 05 02 00 3c 02 19 02 00 01 63"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 11 00 04 4d 51 54 54 05 02 00 3c 03 21 00 00 00 01 63"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE,
		     "10 13 00 04 4d 51 54 54 05 02 00 3c 05 27 00 00 00 00 00 01 63"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "20 05 00 00 02 24 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "20 05 00 00 02 25 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "20 05 00 00 02 28 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "20 05 00 00 02 29 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "20 05 00 00 02 2a 02"), MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V5, "82 09 00 01 02 0b 00 00 01 74 00"), MQTT_RC_PROTOCOL_ERROR);
	/* 3.1.2.11.10: Authentication Data without Authentication Method. */
	CHECK_EQ(DEC(MQTT_V_NONE, "10 13 00 04 4d 51 54 54 05 02 00 3c 05 16 00 02 01 02 00 01 63"),
		 MQTT_RC_PROTOCOL_ERROR);
	CHECK_EQ(DEC(MQTT_V_NONE, "10 1b 00 04 4d 51 54 54 05 02 00 3c 0d 15 00 05 50 4c 41 49 4e"
				  " 16 00 02 01 02 00 01 63"), MQTT_OK);
}

static void test_spec_2_2_2_2_property_format(void)
{
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 01 74 02 04 00"), MQTT_RC_MALFORMED); /* unknown id */
	CHECK_EQ(DEC(MQTT_V5, "30 05 00 01 74 05 01"), MQTT_RC_MALFORMED);   /* len overruns */
	CHECK_EQ(DEC(MQTT_V5, "30 06 00 01 74 02 02 00"), MQTT_RC_MALFORMED); /* short value */
	CHECK_EQ(DEC(MQTT_V5, "30 07 00 01 74 03 26 00 01"), MQTT_RC_MALFORMED); /* half pair */
	CHECK_EQ(DEC(MQTT_V5, "30 05 00 01 74 01 ff"), MQTT_RC_MALFORMED);   /* VBI cut */
}

static void test_spec_2_4_reason_code_per_packet(void)
{
	CHECK_EQ(DEC(MQTT_V5, "40 03 00 01 92"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "62 03 00 01 10"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "e0 01 84"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "f0 01 01"), MQTT_RC_MALFORMED);
	CHECK_EQ(DEC(MQTT_V5, "b0 04 00 01 00 02"), MQTT_RC_MALFORMED);
	CHECK(mqtt_reason_allowed(MQTT_DISCONNECT, 0x8e));
	CHECK(!mqtt_reason_allowed(MQTT_CONNACK, 0x8e));
}

int main(int argc, char **argv)
{
	static const struct mqtt_test tests[] = {
		TEST(test_MQTT_1_5_3_1_utf8_ill_formed),
		TEST(test_MQTT_1_5_3_2_utf8_null),
		TEST(test_MQTT_1_5_3_3_bom_not_stripped),
		TEST(test_MQTT_1_5_4_1_utf8_ill_formed),
		TEST(test_MQTT_1_5_4_2_utf8_null),
		TEST(test_MQTT_1_5_4_3_bom_not_stripped),
		TEST(test_MQTT_1_5_5_1_vbi_minimal_bytes),
		TEST(test_spec_2_2_3_remaining_length_max_4_bytes),
		TEST(test_spec_2_2_3_remaining_length_consistent),
		TEST(test_spec_2_1_2_reserved_packet_types),
		TEST(test_MQTT_2_2_2_1_reserved_flags),
		TEST(test_MQTT_2_1_3_1_reserved_flags),
		TEST(test_MQTT_3_6_1_1_pubrel_flags),
		TEST(test_MQTT_3_8_1_1_subscribe_flags),
		TEST(test_MQTT_3_10_1_1_unsubscribe_flags),
		TEST(test_MQTT_3_14_1_1_disconnect_flags),
		TEST(test_MQTT_2_3_1_1_packet_id_nonzero),
		TEST(test_MQTT_2_2_1_3_packet_id_nonzero),
		TEST(test_MQTT_3_1_0_1_first_packet_connect),
		TEST(test_MQTT_3_1_0_2_second_connect),
		TEST(test_MQTT_3_1_2_1_protocol_name),
		TEST(test_MQTT_3_1_2_2_protocol_level),
		TEST(test_MQTT_3_1_2_3_reserved_connect_flag),
		TEST(test_MQTT_3_1_2_11_will_qos_without_will),
		TEST(test_MQTT_3_1_2_12_will_qos_3),
		TEST(test_MQTT_3_1_2_13_will_retain_without_will),
		TEST(test_MQTT_3_1_2_22_password_without_username),
		TEST(test_MQTT_3_1_2_18_username_flag_matches_payload),
		TEST(test_MQTT_3_1_3_4_client_id_utf8),
		TEST(test_MQTT_3_1_3_10_will_topic_utf8),
		TEST(test_MQTT_3_1_3_11_username_utf8),
		TEST(test_MQTT_3_2_2_1_connack_reserved_bits),
		TEST(test_MQTT_3_2_2_4_session_present_on_refusal),
		TEST(test_MQTT_3_2_2_6_session_present_on_refusal),
		TEST(test_spec_3_2_2_3_connack_return_codes),
		TEST(test_MQTT_3_3_1_2_dup_zero_for_qos0),
		TEST(test_MQTT_3_3_1_4_qos_3),
		TEST(test_MQTT_3_3_2_1_topic_utf8),
		TEST(test_MQTT_3_3_2_2_topic_no_wildcards),
		TEST(test_MQTT_3_3_2_8_topic_alias_zero),
		TEST(test_MQTT_3_3_2_14_response_topic_no_wildcards),
		TEST(test_spec_3_3_2_1_empty_topic_needs_alias),
		TEST(test_MQTT_3_8_3_1_filter_utf8),
		TEST(test_MQTT_3_8_3_3_subscribe_not_empty),
		TEST(test_MQTT_3_8_3_2_subscribe_not_empty),
		TEST(test_MQTT_3_8_3_4_v311_subscribe_options_reserved),
		TEST(test_MQTT_3_8_3_4_v5_no_local_on_shared),
		TEST(test_MQTT_3_8_3_5_subscribe_options_reserved),
		TEST(test_spec_3_8_3_1_retain_handling_3),
		TEST(test_spec_3_8_3_1_maximum_qos_3),
		TEST(test_MQTT_3_9_3_2_suback_return_codes),
		TEST(test_MQTT_3_10_3_1_unsubscribe_filter_utf8),
		TEST(test_MQTT_3_10_3_2_unsubscribe_not_empty),
		TEST(test_MQTT_4_7_1_2_multi_level_wildcard_last),
		TEST(test_MQTT_4_7_1_3_single_level_wildcard_whole_level),
		TEST(test_MQTT_4_7_3_1_topic_at_least_one_char),
		TEST(test_MQTT_4_8_2_1_share_name_not_empty),
		TEST(test_MQTT_4_8_2_2_share_name_chars),
		TEST(test_spec_2_2_2_2_duplicate_property),
		TEST(test_spec_2_2_2_2_property_values),
		TEST(test_spec_2_2_2_2_property_format),
		TEST(test_spec_2_4_reason_code_per_packet),
	};
	return mqtt_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
