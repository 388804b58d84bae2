/**
 * @file mqtt_test.c
 * The harness behind mqtt_test.h: test runner, hex vectors, and the round-trip and
 * every-split-point checks shared by the codec's unit tests.
 */
#include "mqtt_test.h"

int mqtt_test_failures;

int mqtt_test_main(int argc, char **argv, const struct mqtt_test *tests, size_t n)
{
	unsigned run = 0;

	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		int before = mqtt_test_failures;
		tests[i].fn();
		run++;
		printf("%s %s\n", mqtt_test_failures == before ? "ok  " : "FAIL", tests[i].name);
	}
	printf("%u tests, %d failed checks\n", run, mqtt_test_failures);
	return mqtt_test_failures == 0 && run > 0 ? 0 : 1;
}

size_t mqtt_test_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*hex) {
		if (*hex == ' ' || *hex == '\n') {
			hex++;
			continue;
		}
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1 || n == cap) {
			fprintf(stderr, "bad hex vector near \"%s\"\n", hex);
			abort();
		}
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* Encode and compare with the expected bytes. */
static void mqtt__same_bytes(uint8_t version, const struct mqtt_packet *p, const uint8_t *buf,
			     size_t len)
{
	static uint8_t enc[1 << 16];
	size_t n = mqtt_encode(version, p, enc, sizeof(enc));

	CHECK_EQ(n, len);
	CHECK(n == len && memcmp(enc, buf, len) == 0);
}

/* Feed @p buf to a fresh decoder in the pieces [0, cut) [cut, len) (or one byte at a time
 * when cut == SIZE_MAX) and check every packet that comes out. */
static void mqtt__feed_split(uint8_t version, const uint8_t *buf, size_t len, size_t cut,
			     const uint8_t *one, size_t one_len, unsigned copies)
{
	static uint8_t rbuf[1 << 16];
	struct mqtt_decoder d;
	struct mqtt_packet p;
	unsigned got = 0;
	uint8_t dv = (buf[0] >> 4) == MQTT_CONNECT ? MQTT_V_NONE : version;

	mqtt_decoder_init(&d, rbuf, sizeof(rbuf), 0, dv);
	for (size_t start = 0; start < len;) {
		size_t end = cut == SIZE_MAX ? start + 1 : (start < cut ? cut : len);
		const uint8_t *data = buf + start;
		size_t left = end - start;
		while (left > 0) {
			int rc = mqtt_decoder_feed(&d, &data, &left, &p);
			if (rc == MQTT_NEED_MORE)
				break;
			CHECK_EQ(rc, MQTT_OK);
			if (rc != MQTT_OK)
				return;
			got++;
			mqtt__same_bytes(version, &p, one, one_len);
		}
		start = end;
	}
	CHECK_EQ(got, copies);
}

/* Every shortened body of the packet, with its remaining length rewritten to match, decoded
 * from an exact-size heap copy: under ASan a read past the input is reported. A shortened
 * packet may still be valid (a PUBLISH with less payload); then it must round-trip too. */
static void mqtt__truncations(uint8_t version, const uint8_t *buf, size_t len)
{
	struct mqtt_frame f;
	struct mqtt_packet q;
	static uint8_t enc[1 << 16];

	if (mqtt_frame(buf, len, 0, &f) != MQTT_OK)
		return;
	for (size_t body = 0; body < f.remaining_len; body++) {
		uint8_t *t = malloc(5 + body);
		size_t n = 0;
		uint32_t rem = (uint32_t)body;
		t[n++] = buf[0];
		do {
			t[n++] = (uint8_t)((rem & 0x7f) | (rem > 0x7f ? 0x80 : 0));
			rem >>= 7;
		} while (rem);
		memcpy(t + n, buf + f.header_len, body);
		n += body;
		uint8_t *exact = malloc(n);
		memcpy(exact, t, n);
		free(t);
		if (mqtt_decode(version, exact, n, &q) == MQTT_OK) {
			uint8_t v = q.type == MQTT_CONNECT ? q.connect.version : version;
			size_t m = mqtt_encode(v, &q, enc, sizeof(enc));
			CHECK(m > 0);
			CHECK_EQ(mqtt_decode(q.type == MQTT_CONNECT ? MQTT_V_NONE : v, enc, m, &q),
				 MQTT_OK);
		}
		free(exact);
	}
}

int mqtt_test_roundtrip(uint8_t version, const uint8_t *buf, size_t len,
			struct mqtt_packet *out)
{
	static uint8_t two[1 << 17];
	int rc = mqtt_decode(version, buf, len, out);

	if (rc != MQTT_OK)
		return rc;
	CHECK_EQ(mqtt_encode_size(version, out), len);
	mqtt__same_bytes(version, out, buf, len);

	mqtt__truncations(version, buf, len);

	/* Every split point, and a byte at a time. */
	for (size_t cut = 0; cut <= len; cut++)
		mqtt__feed_split(version, buf, len, cut, buf, len, 1);
	mqtt__feed_split(version, buf, len, SIZE_MAX, buf, len, 1);

	/* Two packets back to back (not CONNECT: a second one is refused), split anywhere:
	 * the decoder must not swallow the start of the next packet. */
	if ((buf[0] >> 4) != MQTT_CONNECT && 2 * len <= sizeof(two)) {
		memcpy(two, buf, len);
		memcpy(two + len, buf, len);
		for (size_t cut = 0; cut <= 2 * len; cut++)
			mqtt__feed_split(version, two, 2 * len, cut, buf, len, 2);
		mqtt__feed_split(version, two, 2 * len, SIZE_MAX, buf, len, 2);
	}
	return MQTT_OK;
}

static uint8_t mqtt__vec[1 << 16];

int mqtt_test_decode_hex(uint8_t version, const char *hex)
{
	struct mqtt_packet p;
	size_t n = mqtt_test_hex(hex, mqtt__vec, sizeof(mqtt__vec));
	struct mqtt_frame f;

	/* Invalid vectors are whole packets: the framer must agree on the length, so that
	 * a typo in a vector cannot pass for the error under test. */
	int rc = mqtt_frame(mqtt__vec, n, 0, &f);
	if (rc >= 0x80)
		return rc;
	if (rc != MQTT_OK || f.total_len != n) {
		fprintf(stderr, "vector \"%s\" is not one whole packet\n", hex);
		return -1;
	}
	return mqtt_decode(version, mqtt__vec, n, &p);
}

int mqtt_test_roundtrip_hex(uint8_t version, const char *hex, struct mqtt_packet *out)
{
	size_t n = mqtt_test_hex(hex, mqtt__vec, sizeof(mqtt__vec));
	struct mqtt_frame f;

	CHECK_EQ(mqtt_frame(mqtt__vec, n, 0, &f), MQTT_OK);
	CHECK_EQ(f.total_len, n);
	return mqtt_test_roundtrip(version, mqtt__vec, n, out);
}
