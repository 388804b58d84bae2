/**
 * @file mqtt_wire.h
 * Internal to the codec: bounded readers and counting writers for MQTT's wire types
 * (integers, Variable Byte Integers, length-prefixed strings). Not installed, not for other
 * parts.
 *
 * Readers never read past r->end: every read checks the bytes left first, and answers
 * MQTT_RC_MALFORMED when the input is short. Writers run twice per packet: once with a NULL
 * buffer to count (the fixed header needs the remaining length first), once to write into a
 * buffer the count has proved large enough. One code path for both means size and bytes can
 * never disagree.
 */
#ifndef TACHYON_MQTT_WIRE_H
#define TACHYON_MQTT_WIRE_H

#include <string.h>

#include "mqtt/mqtt.h"

/** A bounded read cursor. Invariant: p <= end. */
struct mqtt__rd {
	const uint8_t *p;
	const uint8_t *end;
	uint8_t version; /**< level of the packet being read (VBI strictness, properties) */
};

static inline size_t mqtt__rd_left(const struct mqtt__rd *r)
{
	return (size_t)(r->end - r->p);
}

static inline int mqtt__rd_u8(struct mqtt__rd *r, uint8_t *v)
{
	if (r->p >= r->end)
		return MQTT_RC_MALFORMED;
	*v = *r->p++;
	return MQTT_OK;
}

static inline int mqtt__rd_u16(struct mqtt__rd *r, uint16_t *v)
{
	if (mqtt__rd_left(r) < 2)
		return MQTT_RC_MALFORMED;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return MQTT_OK;
}

static inline int mqtt__rd_u32(struct mqtt__rd *r, uint32_t *v)
{
	if (mqtt__rd_left(r) < 4)
		return MQTT_RC_MALFORMED;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	     r->p[3];
	r->p += 4;
	return MQTT_OK;
}

/* Variable Byte Integer (5.0 section 1.5.5, the 3.1.1 remaining length): at most 4 bytes.
 * In v5 the minimum number of bytes is required [MQTT-1.5.5-1]; 3.1.1 has no such rule. */
int mqtt__rd_vbi(struct mqtt__rd *r, uint32_t *v);

/** Binary data: 2-byte length then bytes. */
static inline int mqtt__rd_bin(struct mqtt__rd *r, struct mqtt_str *s)
{
	uint16_t n;
	if (mqtt__rd_u16(r, &n) != MQTT_OK || mqtt__rd_left(r) < n)
		return MQTT_RC_MALFORMED;
	s->p = r->p;
	s->len = n;
	r->p += n;
	return MQTT_OK;
}

/** UTF-8 string: binary data that must be well-formed [MQTT-1.5.3-1/2, MQTT-1.5.4-1/2]. */
static inline int mqtt__rd_str(struct mqtt__rd *r, struct mqtt_str *s)
{
	int rc = mqtt__rd_bin(r, s);
	if (rc != MQTT_OK)
		return rc;
	return mqtt_utf8_valid(s->p, s->len) ? MQTT_OK : MQTT_RC_MALFORMED;
}

/** Bytes needed by a Variable Byte Integer. */
static inline size_t mqtt__vbi_size(uint32_t v)
{
	return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4;
}

/** A counting writer: p == NULL counts only. ok turns false if a field cannot be encoded. */
struct mqtt__wr {
	uint8_t *p;
	size_t n;
	bool ok;
};

static inline void mqtt__wr_u8(struct mqtt__wr *w, uint8_t v)
{
	if (w->p)
		w->p[w->n] = v;
	w->n++;
}

static inline void mqtt__wr_u16(struct mqtt__wr *w, uint16_t v)
{
	if (w->p) {
		w->p[w->n] = (uint8_t)(v >> 8);
		w->p[w->n + 1] = (uint8_t)v;
	}
	w->n += 2;
}

static inline void mqtt__wr_u32(struct mqtt__wr *w, uint32_t v)
{
	if (w->p) {
		w->p[w->n] = (uint8_t)(v >> 24);
		w->p[w->n + 1] = (uint8_t)(v >> 16);
		w->p[w->n + 2] = (uint8_t)(v >> 8);
		w->p[w->n + 3] = (uint8_t)v;
	}
	w->n += 4;
}

static inline void mqtt__wr_vbi(struct mqtt__wr *w, uint32_t v)
{
	if (v > MQTT_MAX_REMAINING_LEN) {
		w->ok = false;
		return;
	}
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		mqtt__wr_u8(w, (uint8_t)(v ? b | 0x80 : b));
	} while (v);
}

static inline void mqtt__wr_raw(struct mqtt__wr *w, const uint8_t *s, size_t len)
{
	if (w->p && len)
		memcpy(w->p + w->n, s, len);
	w->n += len;
}

/** A 2-byte length then the bytes (UTF-8 string or binary data). */
static inline void mqtt__wr_str(struct mqtt__wr *w, struct mqtt_str s)
{
	if (s.len > 0xffff) {
		w->ok = false;
		return;
	}
	mqtt__wr_u16(w, (uint16_t)s.len);
	mqtt__wr_raw(w, s.p, s.len);
}

/* mqtt_props.c: read a property block (length + properties) for packet type @p type
 * (0 = will properties) into @p out, which must be zeroed. */
int mqtt__props_read(struct mqtt__rd *r, uint8_t type, struct mqtt_props *out);

/* mqtt_props.c: write a property block (length + properties). @p skip_mask drops the
 * properties whose bit (1 << id) is set: the PUBLISH head writes its own alias and ids. */
void mqtt__props_write(struct mqtt__wr *w, const struct mqtt_props *p, uint64_t skip_mask);

/* mqtt_props.c: bytes of the properties alone (without the length prefix). */
size_t mqtt__props_size(const struct mqtt_props *p, uint64_t skip_mask, bool *ok);

#endif /* TACHYON_MQTT_WIRE_H */
