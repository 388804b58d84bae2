/**
 * @file fuzz_mqtt.c
 * libFuzzer target for the codec. Input: one byte choosing the session level and a size
 * limit, one byte choosing how the stream is cut into pieces, then the stream.
 *
 * Properties checked (abort() on failure, so the fuzzer and the replay test both notice):
 * - feeding the stream whole and in pieces gives the same results, packet by packet;
 * - every decoded packet encodes (mqtt_encode_size agrees with mqtt_encode), the encoding
 *   frames to its own length, decodes again, and re-encodes to the same bytes: decode,
 *   encode, decode gives the same packet;
 * - a decoded PUBLISH re-sent through the fan-out path (head + shared payload) gives the
 *   same bytes as the whole-packet encoder.
 * ASan/UBSan catch reads past the input (the harness copies it to an exact-size buffer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

#define FUZZ_MAX_PACKETS 64
#define FUZZ_BUF (1u << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_result {
	int rc;
	size_t len;
	uint8_t bytes[512]; /* canonical encoding, first 512 bytes */
};

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_mqtt: %s\n", what);
	abort();
}

static void fuzz_publish_head(uint8_t version, const struct mqtt_publish *pub,
			      const uint8_t *whole, size_t whole_len)
{
	static uint8_t head[FUZZ_BUF];
	uint32_t ids[64], n = 0, off = 0;
	struct mqtt_prop pr;

	while (mqtt_props_next(&pub->props, &off, &pr))
		if (pr.id == MQTT_PROP_SUB_ID && n < 64)
			ids[n++] = pr.num;
	if (n != pub->props.n_sub_ids)
		return; /* more than we keep: skip the comparison */
	struct mqtt_publish_shape sh = {
		.qos = pub->qos,
		.retain = pub->retain,
		.dup = pub->dup,
		.packet_id = pub->packet_id,
		.topic_alias = MQTT_PROP_HAS(&pub->props, MQTT_PROP_TOPIC_ALIAS)
				       ? pub->props.topic_alias : 0,
		.omit_topic = pub->topic.len == 0,
		.sub_ids = ids,
		.n_sub_ids = n,
	};
	struct mqtt_publish_head h;
	size_t hl = mqtt_publish_head_encode(version, pub, &sh, head, sizeof(head), &h);
	if (hl == 0 || hl != mqtt_publish_head_size(version, pub, &sh))
		fuzz_fail("publish head did not encode");
	if (h.total_len != whole_len || hl + pub->payload.len != whole_len ||
	    memcmp(head, whole, hl) != 0)
		fuzz_fail("publish head differs from the whole packet");
}

/* decode -> encode -> decode -> encode, the two encodings equal. */
static void fuzz_roundtrip(uint8_t version, const struct mqtt_packet *p, struct fuzz_result *r)
{
	static uint8_t enc1[FUZZ_BUF], enc2[FUZZ_BUF];
	struct mqtt_packet q;
	struct mqtt_frame f;
	uint8_t v = p->type == MQTT_CONNECT ? p->connect.version : version;
	size_t n1 = mqtt_encode(v, p, enc1, sizeof(enc1));

	if (n1 == 0 || n1 != mqtt_encode_size(v, p))
		fuzz_fail("decoded packet did not encode");
	if (mqtt_frame(enc1, n1, 0, &f) != MQTT_OK || f.total_len != n1)
		fuzz_fail("encoding does not frame to its length");
	if (mqtt_decode(p->type == MQTT_CONNECT ? MQTT_V_NONE : v, enc1, n1, &q) != MQTT_OK)
		fuzz_fail("encoding does not decode");
	size_t n2 = mqtt_encode(v, &q, enc2, sizeof(enc2));
	if (n2 != n1 || memcmp(enc1, enc2, n1) != 0)
		fuzz_fail("decode(encode(p)) differs from p");
	if (p->type == MQTT_PUBLISH)
		fuzz_publish_head(v, &p->publish, enc1, n1);
	r->len = n1;
	memcpy(r->bytes, enc1, n1 < sizeof(r->bytes) ? n1 : sizeof(r->bytes));
}

/* Run the stream through a decoder cut into pieces of @p piece bytes (0: whole). */
static size_t fuzz_run(const uint8_t *s, size_t len, uint8_t version, uint32_t max,
		       size_t piece, struct fuzz_result *res)
{
	static uint8_t rbuf[FUZZ_BUF];
	struct mqtt_decoder d;
	struct mqtt_packet p;
	size_t count = 0;

	mqtt_decoder_init(&d, rbuf, sizeof(rbuf), max, version);
	for (size_t start = 0; start < len && count < FUZZ_MAX_PACKETS;) {
		size_t end = piece == 0 || len - start < piece ? len : start + piece;
		const uint8_t *data = s + start;
		size_t left = end - start;
		while (count < FUZZ_MAX_PACKETS) {
			uint8_t v_before = d.version;
			int rc = mqtt_decoder_feed(&d, &data, &left, &p);
			if (rc == MQTT_NEED_MORE)
				break;
			res[count].rc = rc;
			res[count].len = 0;
			if (rc == MQTT_OK)
				fuzz_roundtrip(v_before, &p, &res[count]);
			count++;
			if (rc != MQTT_OK)
				return count; /* sticky from here on */
			if (left == 0)
				break;
		}
		start = end;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t versions[4] = {MQTT_V_NONE, MQTT_V31, MQTT_V311, MQTT_V5};
	static struct fuzz_result a[FUZZ_MAX_PACKETS], b[FUZZ_MAX_PACKETS];

	if (size < 2)
		return 0;
	uint8_t version = versions[data[0] & 3];
	uint32_t max = (data[0] & 4) ? 64 : 0;
	size_t piece = (size_t)data[1] % 17 + 1;
	/* An exact-size copy, so a read past the stream is a heap overflow ASan sees. */
	size_t len = size - 2;
	uint8_t *s = malloc(len ? len : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 2, len);

	size_t na = fuzz_run(s, len, version, max, 0, a);
	size_t nb = fuzz_run(s, len, version, max, piece, b);
	size_t n = na < nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		if (a[i].rc != b[i].rc || a[i].len != b[i].len ||
		    memcmp(a[i].bytes, b[i].bytes, a[i].len < 512 ? a[i].len : 512) != 0)
			fuzz_fail("whole and piecewise decoding disagree");
	}
	/* The piecewise run may stop early only by hitting the packet cap. */
	if (na != nb && na < FUZZ_MAX_PACKETS && nb < FUZZ_MAX_PACKETS)
		fuzz_fail("whole and piecewise decoding found different packet counts");
	free(s);
	return 0;
}
