/**
 * @file mqtt_test.h
 * A minimal test harness for the codec's unit tests: CHECK macros that report file:line and
 * keep going, a table of named tests, hex parsing for hand-written wire vectors, and the
 * whole-packet checks every vector goes through (decode, re-encode to the same bytes, and
 * decode from every split point with the incremental decoder).
 */
#ifndef TACHYON_MQTT_TEST_H
#define TACHYON_MQTT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

extern int mqtt_test_failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                  \
			mqtt_test_failures++;                                            \
		}                                                                        \
	} while (0)

#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long mqtt_t_a = (long long)(a), mqtt_t_b = (long long)(b);          \
		if (mqtt_t_a != mqtt_t_b) {                                              \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx != 0x%llx)\n", \
				__FILE__, __LINE__, #a, #b, mqtt_t_a, mqtt_t_b);         \
			mqtt_test_failures++;                                            \
		}                                                                        \
	} while (0)

/* A string view equals a C string. */
#define CHECK_STR(view, cstr)                                                            \
	CHECK((view).len == strlen(cstr) && memcmp((view).p, (cstr), (view).len) == 0)

struct mqtt_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) {#name, name}

/** Run the tests whose name contains argv[1] (all without argument). */
int mqtt_test_main(int argc, char **argv, const struct mqtt_test *tests, size_t n);

/** Parse "10 0d 00 04" into @p out; returns the byte count (aborts on bad input). */
size_t mqtt_test_hex(const char *hex, uint8_t *out, size_t cap);

/**
 * The round-trip checks for a valid packet: it decodes; it re-encodes to the same bytes
 * (mqtt_encode_size agrees); every shortened body decodes without reading past its input
 * (exact-size heap copies, for ASan); and the incremental decoder yields the same packet
 * when fed the bytes split at every point (two pieces, also with a second copy of the
 * packet behind it) and one byte at a time. @p out receives the
 * decoded packet (views into the caller's @p buf). Returns the decode status.
 */
int mqtt_test_roundtrip(uint8_t version, const uint8_t *buf, size_t len,
			struct mqtt_packet *out);

/** Decode a hex vector and return the status (for invalid-input tests). */
int mqtt_test_decode_hex(uint8_t version, const char *hex);

/** As mqtt_test_roundtrip() on a hex vector. The bytes stay valid until the next call. */
int mqtt_test_roundtrip_hex(uint8_t version, const char *hex, struct mqtt_packet *out);

#endif /* TACHYON_MQTT_TEST_H */
