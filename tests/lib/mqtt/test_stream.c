/**
 * @file test_stream.c
 * The framer and the incremental decoder: need-more answers, the maximum packet size
 * enforced from the fixed header before anything is buffered, zero-copy decoding when a
 * packet lies in one piece, reassembly when it straddles pieces, and sticky errors.
 */
#include "mqtt_test.h"

static struct mqtt_packet p;

static void test_frame_need_more(void)
{
	struct mqtt_frame f;
	static const uint8_t pub[] = {0x30, 0x05, 0x00, 0x01, 0x74, 0x68, 0x69};

	CHECK_EQ(mqtt_frame(pub, 0, 0, &f), MQTT_NEED_MORE);
	CHECK_EQ(f.total_len, 0);
	CHECK_EQ(mqtt_frame(pub, 1, 0, &f), MQTT_NEED_MORE);
	CHECK_EQ(f.total_len, 0);
	for (size_t n = 2; n < sizeof(pub); n++) {
		CHECK_EQ(mqtt_frame(pub, n, 0, &f), MQTT_NEED_MORE);
		CHECK_EQ(f.total_len, 7);
		CHECK_EQ(f.header_len, 2);
	}
	CHECK_EQ(mqtt_frame(pub, sizeof(pub), 0, &f), MQTT_OK);
	CHECK_EQ(f.remaining_len, 5);
	CHECK_EQ(f.byte0, 0x30);
	/* A header cut inside its remaining length. */
	static const uint8_t big[] = {0x30, 0x80, 0x80};
	CHECK_EQ(mqtt_frame(big, 3, 0, &f), MQTT_NEED_MORE);
	CHECK_EQ(f.total_len, 0);
}

static void test_frame_max_packet_size(void)
{
	struct mqtt_frame f;
	/* Remaining length 16384: known from 3 bytes, refused at once. */
	static const uint8_t hdr[] = {0x30, 0x80, 0x80, 0x01};

	CHECK_EQ(mqtt_frame(hdr, sizeof(hdr), 1000, &f), MQTT_RC_PACKET_TOO_LARGE);
	CHECK_EQ(f.total_len, 16388);
	CHECK_EQ(mqtt_frame(hdr, sizeof(hdr), 16388, &f), MQTT_NEED_MORE);
	CHECK_EQ(mqtt_frame(hdr, sizeof(hdr), 16387, &f), MQTT_RC_PACKET_TOO_LARGE);
	/* The limit counts the whole packet, fixed header included (5.0 3.1.2.11.4). */
	static const uint8_t ping[] = {0xc0, 0x00};
	CHECK_EQ(mqtt_frame(ping, 2, 2, &f), MQTT_OK);
	CHECK_EQ(mqtt_frame(ping, 2, 1, &f), MQTT_RC_PACKET_TOO_LARGE);
}

static void test_decoder_refuses_oversize_before_buffering(void)
{
	uint8_t rb[64];
	struct mqtt_decoder d;
	/* The first two bytes of a 1002-byte PUBLISH. */
	static const uint8_t hdr[] = {0x30, 0xe8, 0x07};
	const uint8_t *data = hdr;
	size_t len = 1;

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_NEED_MORE);
	CHECK_EQ(d.have, 1);
	len = 2;
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_PACKET_TOO_LARGE);
	CHECK(d.have <= 3);
	/* Sticky: the stream cannot be resynchronised. */
	static const uint8_t ping[] = {0xc0, 0x00};
	data = ping;
	len = 2;
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_PACKET_TOO_LARGE);

	/* Configured maximum below the buffer size, in one piece. */
	mqtt_decoder_init(&d, rb, sizeof(rb), 10, MQTT_V311);
	static const uint8_t pub[] = {0x30, 0x09, 0x00, 0x01, 0x74, 1, 2, 3, 4, 5, 6};
	data = pub;
	len = sizeof(pub);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_PACKET_TOO_LARGE);
	CHECK_EQ(d.have, 0);
}

static void test_decoder_zero_copy_in_one_piece(void)
{
	uint8_t rb[64];
	struct mqtt_decoder d;
	static const uint8_t two[] = {0x30, 0x05, 0x00, 0x01, 0x74, 0x68, 0x69, 0xc0, 0x00};
	const uint8_t *data = two;
	size_t len = sizeof(two);

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PUBLISH);
	CHECK(p.publish.payload.p == two + 5); /* points into the piece */
	CHECK_EQ(len, 2);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK_EQ(p.type, MQTT_PINGREQ);
	CHECK_EQ(len, 0);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_NEED_MORE);
}

static void test_decoder_reassembles_straddling_packet(void)
{
	uint8_t rb[64];
	struct mqtt_decoder d;
	static const uint8_t pub[] = {0x30, 0x05, 0x00, 0x01, 0x74, 0x68, 0x69};
	const uint8_t *data = pub;
	size_t len = 4;

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_NEED_MORE);
	CHECK_EQ(len, 0);
	len = 3;
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK(p.publish.payload.p == rb + 5); /* points into the reassembly buffer */
	CHECK_STR(p.publish.payload, "hi");
}

static void test_decoder_learns_version_from_connect(void)
{
	uint8_t rb[128], buf[64];
	struct mqtt_decoder d;
	size_t n = mqtt_test_hex("10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 61"
				 " 40 03 00 01 10", buf, sizeof(buf));
	const uint8_t *data = buf;
	size_t len = n;

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V_NONE);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK_EQ(d.version, MQTT_V5);
	/* The PUBACK that follows is read with 5.0 rules (it has a reason code). */
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_OK);
	CHECK_EQ(p.ack.rc, 0x10);
}

static void test_decoder_malformed_is_sticky(void)
{
	uint8_t rb[64];
	struct mqtt_decoder d;
	static const uint8_t bad[] = {0x36, 0x03, 0x00, 0x01, 0x74, 0xc0, 0x00};
	const uint8_t *data = bad;
	size_t len = sizeof(bad);

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_MALFORMED);
	CHECK_EQ(mqtt_decoder_feed(&d, &data, &len, &p), MQTT_RC_MALFORMED);
	/* Byte at a time, the five-byte length is caught on its fifth byte. */
	static const uint8_t five[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f};
	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	int rc = MQTT_NEED_MORE;
	for (size_t i = 0; i < sizeof(five) && rc == MQTT_NEED_MORE; i++) {
		data = five + i;
		len = 1;
		rc = mqtt_decoder_feed(&d, &data, &len, &p);
	}
	CHECK_EQ(rc, MQTT_RC_MALFORMED);
}

static void test_decoder_tiny_buffer(void)
{
	/* Below the documented 5-byte minimum the decoder still never writes past it. */
	uint8_t rb[2];
	struct mqtt_decoder d;
	static const uint8_t hdr[] = {0x30, 0x80, 0x80, 0x01};
	const uint8_t *data;
	size_t len;
	int rc = MQTT_NEED_MORE;

	mqtt_decoder_init(&d, rb, sizeof(rb), 0, MQTT_V311);
	for (size_t i = 0; i < sizeof(hdr) && rc == MQTT_NEED_MORE; i++) {
		data = hdr + i;
		len = 1;
		rc = mqtt_decoder_feed(&d, &data, &len, &p);
	}
	CHECK_EQ(rc, MQTT_RC_PACKET_TOO_LARGE);
}

int main(int argc, char **argv)
{
	static const struct mqtt_test tests[] = {
		TEST(test_frame_need_more),
		TEST(test_frame_max_packet_size),
		TEST(test_decoder_refuses_oversize_before_buffering),
		TEST(test_decoder_zero_copy_in_one_piece),
		TEST(test_decoder_reassembles_straddling_packet),
		TEST(test_decoder_learns_version_from_connect),
		TEST(test_decoder_malformed_is_sticky),
		TEST(test_decoder_tiny_buffer),
	};
	return mqtt_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
