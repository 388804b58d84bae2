/**
 * @file mqtt_frame.c
 * Framing: find packet boundaries in a byte stream, and the incremental decoder that the TCP
 * glue feeds with pieces of any size.
 *
 * Input path: tcp rx -> mqtt_decoder_feed() -> mqtt_frame() (fixed header, size limit)
 * -> mqtt_decode() (mqtt_decode.c) -> broker. The decoder copies nothing when a packet lies
 * within one piece, and copies into the caller's bounded reassembly buffer only the packets
 * that straddle pieces. The maximum packet size is checked from the remaining length alone,
 * before a byte of the body is buffered.
 */
#include "mqtt/mqtt_wire.h"

int mqtt__rd_vbi(struct mqtt__rd *r, uint32_t *v)
{
	uint32_t val = 0;

	for (unsigned i = 0; i < 4; i++) {
		uint8_t b;
		if (mqtt__rd_u8(r, &b) != MQTT_OK)
			return MQTT_RC_MALFORMED;
		val |= (uint32_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			/* A last byte of 0 after the first means a longer form than needed
			 * [MQTT-1.5.5-1]; 3.1.1 has no such rule, so 3.1.x peers may send it. */
			if (i > 0 && b == 0 && r->version == MQTT_V5)
				return MQTT_RC_MALFORMED;
			*v = val;
			return MQTT_OK;
		}
	}
	/* A fifth byte: the value cannot fit 4 bytes [MQTT-1.5.5-1]. */
	return MQTT_RC_MALFORMED;
}

int mqtt_frame(const uint8_t *buf, size_t len, uint32_t max_packet_size,
	       struct mqtt_frame *out)
{
	uint32_t rem = 0;

	out->total_len = 0;
	if (len == 0)
		return MQTT_NEED_MORE;
	out->byte0 = buf[0];
	/* Type 0 is reserved in both specs. Type 15 is AUTH in 5.0 and reserved in 3.1.1;
	 * the framer does not know the level, so mqtt_decode() rejects it there. */
	if ((buf[0] >> 4) == 0)
		return MQTT_RC_MALFORMED;
	for (unsigned i = 0; i < 4; i++) {
		if (1 + i >= len)
			return MQTT_NEED_MORE;
		uint8_t b = buf[1 + i];
		rem |= (uint32_t)(b & 0x7f) << (7 * i);
		if (b & 0x80)
			continue;
		out->header_len = (uint8_t)(2 + i);
		out->remaining_len = rem;
		out->total_len = out->header_len + rem;
		if (max_packet_size != 0 && out->total_len > max_packet_size)
			return MQTT_RC_PACKET_TOO_LARGE;
		return len >= out->total_len ? MQTT_OK : MQTT_NEED_MORE;
	}
	return MQTT_RC_MALFORMED;
}

void mqtt_decoder_init(struct mqtt_decoder *d, uint8_t *buf, uint32_t cap,
		       uint32_t max_packet_size, uint8_t version)
{
	d->buf = buf;
	d->cap = cap;
	d->have = 0;
	d->total = 0;
	d->max_packet_size = max_packet_size == 0 || max_packet_size > cap ? cap
									  : max_packet_size;
	d->version = version;
	d->error = 0;
}

void mqtt_decoder_set_version(struct mqtt_decoder *d, uint8_t version)
{
	d->version = version;
}

/* Decode a whole packet and learn the session's level from a server's first CONNECT. */
static int mqtt__decoder_decode(struct mqtt_decoder *d, const uint8_t *p, size_t n,
				struct mqtt_packet *out)
{
	int rc = mqtt_decode(d->version, p, n, out);

	if (rc != MQTT_OK || out->type != MQTT_CONNECT)
		return rc;
	/* A second CONNECT is a Protocol Error [MQTT-3.1.0-2]. */
	if (d->version != MQTT_V_NONE)
		return MQTT_RC_PROTOCOL_ERROR;
	d->version = out->connect.version;
	return MQTT_OK;
}

int mqtt_decoder_feed(struct mqtt_decoder *d, const uint8_t **data, size_t *len,
		      struct mqtt_packet *out)
{
	struct mqtt_frame f;
	int rc;

	if (d->error)
		return d->error;

	if (d->have == 0) {
		/* Nothing held: try the piece itself, which is the common case and the
		 * zero-copy one. */
		rc = mqtt_frame(*data, *len, d->max_packet_size, &f);
		if (rc == MQTT_OK) {
			const uint8_t *p = *data;
			*data += f.total_len;
			*len -= f.total_len;
			rc = mqtt__decoder_decode(d, p, f.total_len, out);
			if (rc != MQTT_OK)
				d->error = (uint8_t)rc;
			return rc;
		}
		if (rc != MQTT_NEED_MORE) {
			d->error = (uint8_t)rc;
			return rc;
		}
		/* A partial packet: hold it. It fits: a known total passed the size check
		 * (total <= max <= cap) and an unknown one means fewer than 5 bytes, which
		 * only a buffer below the documented minimum could not take. */
		if (*len > d->cap) {
			d->error = MQTT_RC_PACKET_TOO_LARGE;
			return d->error;
		}
		if (*len > 0) {
			memcpy(d->buf, *data, *len);
			d->have = (uint32_t)*len;
			d->total = f.total_len;
			*data += *len;
			*len = 0;
		}
		return MQTT_NEED_MORE;
	}

	/* Complete the header a byte at a time: a 2-byte packet may be followed by the
	 * next one in the same piece, so never take more than the header can use. */
	while (d->total == 0) {
		if (*len == 0)
			return MQTT_NEED_MORE;
		if (d->have == d->cap) {
			d->error = MQTT_RC_PACKET_TOO_LARGE;
			return d->error;
		}
		d->buf[d->have++] = **data;
		(*data)++;
		(*len)--;
		rc = mqtt_frame(d->buf, d->have, d->max_packet_size, &f);
		if (rc != MQTT_OK && rc != MQTT_NEED_MORE) {
			d->error = (uint8_t)rc;
			return rc;
		}
		d->total = f.total_len;
	}

	size_t take = d->total - d->have;
	if (take > *len)
		take = *len;
	if (take > 0)
		memcpy(d->buf + d->have, *data, take);
	d->have += (uint32_t)take;
	*data += take;
	*len -= take;
	if (d->have < d->total)
		return MQTT_NEED_MORE;

	uint32_t total = d->total;
	d->have = 0;
	d->total = 0;
	rc = mqtt__decoder_decode(d, d->buf, total, out);
	if (rc != MQTT_OK)
		d->error = (uint8_t)rc;
	return rc;
}
