/**
 * @file mqtt.h
 * MQTT 3.1 / 3.1.1 / 5.0 codec: framer, decoder, incremental decoder, encoder and the
 * validation helpers. Pure C: no DPDK, no sockets, no allocation.
 *
 * Data flow: TCP hands the bytes of a connection, in whatever pieces they arrived, to
 * mqtt_decoder_feed() (or, to keep mbufs instead of copying, to mqtt_frame() then
 * mqtt_decode()). The broker acts on the struct mqtt_packet and answers with mqtt_encode().
 * A PUBLISH fanned out to many subscribers is encoded as a small per-shape head
 * (mqtt_publish_head_encode()) chained in front of the shared, never copied, payload.
 *
 * Error convention (the whole part): decoding functions return an int that is MQTT_OK (0),
 * MQTT_NEED_MORE (1), or an MQTT 5 reason code >= 0x80 saying why the input is invalid.
 * Encoding functions return the number of bytes (a packet is never 0 bytes) or 0 when the
 * packet cannot be encoded (a field too long for its wire type, a remaining length over
 * 268435455) or the buffer is too small. Predicates return bool.
 *
 * Thread-safety: every function is reentrant; a struct mqtt_decoder must be used by one
 * thread at a time. There is no global state.
 */
#ifndef TACHYON_MQTT_H
#define TACHYON_MQTT_H

#include "mqtt/mqtt-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- framing and decoding */

/**
 * Read the fixed header at the start of a possibly partial packet.
 *
 * The size limit is enforced as soon as the remaining length is known, so a caller that
 * buffers only after MQTT_NEED_MORE with a known total never buffers an oversize packet.
 *
 * @param buf  the first bytes of a packet (may be fewer than a whole header)
 * @param len  how many bytes @p buf holds
 * @param max_packet_size  largest total packet accepted (0 means MQTT_MAX_PACKET_SIZE)
 * @param out  filled with what is known; out->total_len is 0 while the header is incomplete
 * @return
 *   - MQTT_OK: the whole packet (out->total_len bytes) is in @p buf
 *   - MQTT_NEED_MORE: feed more; the packet is out->total_len bytes, or, when that is 0, at
 *     least len + 1 bytes
 *   - MQTT_RC_MALFORMED: packet type 0, or a remaining length longer than 4 bytes
 *   - MQTT_RC_PACKET_TOO_LARGE: the packet would exceed @p max_packet_size
 */
int mqtt_frame(const uint8_t *buf, size_t len, uint32_t max_packet_size,
	       struct mqtt_frame *out);

/**
 * Decode one whole packet (as delimited by mqtt_frame()) and validate it completely.
 *
 * Strings, binaries, the payload and lists in @p out point into @p buf (zero copy).
 *
 * @param version  the session's protocol level (enum mqtt_version). MQTT_V_NONE accepts only
 *   CONNECT; CONNECT carries its own level and ignores @p version.
 * @param buf  exactly one packet, fixed header included
 * @param len  its length; must equal the framed total length
 * @param out  the packet. On failure it is partly filled: for CONNECT, out->connect.version
 *   holds the protocol level as soon as it was read (0 before), so a broker can choose
 *   between a 3.1.x CONNACK return code and a v5 reason code.
 * @return MQTT_OK, or the reason code: MQTT_RC_MALFORMED, MQTT_RC_PROTOCOL_ERROR,
 *   MQTT_RC_UNSUPPORTED_VERSION (CONNECT name or level), MQTT_RC_TOPIC_NAME_INVALID (PUBLISH),
 *   MQTT_RC_TOPIC_FILTER_INVALID (SUBSCRIBE, UNSUBSCRIBE). docs/codec.md lists the cases.
 */
int mqtt_decode(uint8_t version, const uint8_t *buf, size_t len, struct mqtt_packet *out);

/**
 * Initialise an incremental decoder.
 *
 * @param d  the decoder
 * @param buf  reassembly buffer, used only for packets that straddle the pieces fed
 * @param cap  its size, at least 5; packets larger than @p cap are refused
 *   (MQTT_RC_PACKET_TOO_LARGE)
 * @param max_packet_size  largest packet accepted (0: no limit but @p cap)
 * @param version  the session's level; MQTT_V_NONE for a server before CONNECT (the decoder
 *   then takes the level from the first CONNECT it decodes)
 */
void mqtt_decoder_init(struct mqtt_decoder *d, uint8_t *buf, uint32_t cap,
		       uint32_t max_packet_size, uint8_t version);

/**
 * Set the session's protocol level (a client learns it from its own CONNECT).
 */
void mqtt_decoder_set_version(struct mqtt_decoder *d, uint8_t version);

/**
 * Decode the next packet from a stream fed in pieces of any size (even one byte).
 *
 * Consumes bytes from (*data, *len), advancing both. When a whole packet lies within the
 * piece it is decoded in place: @p out points into the caller's piece. When a packet
 * straddles pieces, its bytes are copied into the reassembly buffer and @p out points there,
 * valid until the next call. Call again while *len > 0 to get further packets.
 *
 * @return
 *   - MQTT_OK: @p out holds a packet
 *   - MQTT_NEED_MORE: the piece was consumed entirely (*len == 0); feed the next one
 *   - a reason code (see mqtt_frame(), mqtt_decode()): the stream is invalid; the decoder
 *     returns the same code from then on (the connection must be closed). A CONNECT after
 *     the session's level is known is MQTT_RC_PROTOCOL_ERROR [MQTT-3.1.0-2].
 */
int mqtt_decoder_feed(struct mqtt_decoder *d, const uint8_t **data, size_t *len,
		      struct mqtt_packet *out);

/**
 * Walk the properties of a decoded packet, in wire order.
 * @param props  decoded properties (props->raw)
 * @param off  cursor, start at 0
 * @param out  the next property
 * @return true if @p out holds a property, false at the end
 */
bool mqtt_props_next(const struct mqtt_props *props, uint32_t *off, struct mqtt_prop *out);

/** Walk the entries of a decoded SUBSCRIBE (same contract as mqtt_props_next()). */
bool mqtt_sub_next(const struct mqtt_subscribe *s, uint32_t *off, struct mqtt_sub *out);

/** Walk the filters of a decoded UNSUBSCRIBE (same contract as mqtt_props_next()). */
bool mqtt_unsub_next(const struct mqtt_subscribe *s, uint32_t *off, struct mqtt_str *out);

/**
 * The wire type of a property, or 0 if @p id is not an MQTT 5 property.
 */
int mqtt_prop_type(uint8_t id);

/**
 * Whether property @p id may appear in a packet of type @p type (enum mqtt_type), or, with
 * @p type 0, in a CONNECT's will properties.
 */
bool mqtt_prop_allowed(uint8_t id, uint8_t type);

/* ---------------------------------------------------------------- encoding */

/**
 * Exact size of the encoding of @p pkt.
 * @param version  the session's level (CONNECT uses pkt->connect.version)
 * @return bytes, or 0 if @p pkt cannot be encoded at this level
 */
size_t mqtt_encode_size(uint8_t version, const struct mqtt_packet *pkt);

/**
 * Encode @p pkt into @p buf. Fields are written as given (the encoder checks sizes, not
 * semantics): what mqtt_decode() produced always encodes. Properties are written in
 * ascending identifier order, repeated ones in their given order; for 3.1.x they, and v5
 * reason codes of acknowledgements and DISCONNECT, are not written (they do not exist there).
 * Optional v5 fields are omitted when they carry their default (reason code 0x00 and no
 * properties in PUBACK..PUBCOMP, DISCONNECT and AUTH).
 * @return bytes written, or 0 if @p pkt cannot be encoded or @p cap is too small
 */
size_t mqtt_encode(uint8_t version, const struct mqtt_packet *pkt, uint8_t *buf, size_t cap);

/**
 * Size of the head of an outgoing PUBLISH for one subscriber shape.
 * @return bytes, or 0 if it cannot be encoded
 */
size_t mqtt_publish_head_size(uint8_t version, const struct mqtt_publish *msg,
			      const struct mqtt_publish_shape *shape);

/**
 * Encode everything of a PUBLISH but its payload: fixed header (the remaining length counts
 * msg->payload.len), topic, packet identifier and properties. The payload bytes are neither
 * read nor copied: send the head, then msg->payload (e.g. chain the head mbuf to a shared,
 * refcounted payload mbuf). From @p msg the topic, the payload length and the properties are
 * used, except Topic Alias and Subscription Identifiers, which come from @p shape. The head is
 * at most 5 + 2 + topic + 2 + 5 + properties bytes.
 *
 * @param out  where the packet identifier sits, for mqtt_publish_head_patch() (may be NULL)
 * @return bytes written, or 0 if it cannot be encoded or @p cap is too small
 */
size_t mqtt_publish_head_encode(uint8_t version, const struct mqtt_publish *msg,
				const struct mqtt_publish_shape *shape, uint8_t *buf,
				size_t cap, struct mqtt_publish_head *out);

/**
 * Rewrite the packet identifier and DUP flag of a copy of a QoS 1/2 head, so that one head
 * encoded per shape serves every subscriber of that shape.
 */
static inline void mqtt_publish_head_patch(uint8_t *head, const struct mqtt_publish_head *h,
					   uint16_t packet_id, bool dup)
{
	if (h->packet_id_off == 0)
		return;
	head[0] = (uint8_t)((head[0] & ~0x08u) | (dup ? 0x08u : 0u));
	head[h->packet_id_off] = (uint8_t)(packet_id >> 8);
	head[h->packet_id_off + 1] = (uint8_t)packet_id;
}

/* ---------------------------------------------------------------- validation helpers */

/**
 * Whether @p s is a well-formed MQTT UTF-8 string: RFC 3629 UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) without U+0000. Other control characters and
 * non-characters are accepted (the specs say SHOULD NOT, and the receiver MAY close).
 */
bool mqtt_utf8_valid(const uint8_t *s, size_t len);

/**
 * Whether @p s is a valid Topic Name: at least one byte, no '+' or '#'. UTF-8 is checked
 * separately (mqtt_utf8_valid()).
 */
bool mqtt_topic_name_valid(const uint8_t *s, size_t len);

/**
 * Whether @p s is a valid Topic Filter: at least one byte, '+' alone in its level, '#' alone
 * in the last level, and for "$share/" filters a non-empty share name without '+', '#', '/'
 * followed by a valid non-empty filter.
 */
bool mqtt_topic_filter_valid(const uint8_t *s, size_t len);

/**
 * Split a shared subscription "$share/<name>/<filter>".
 * @return true and the two views if @p s starts with "$share/" (validity is not checked;
 *   see mqtt_topic_filter_valid()), false otherwise
 */
bool mqtt_topic_share_split(const uint8_t *s, size_t len, struct mqtt_str *share_name,
			    struct mqtt_str *filter);

/* ---------------------------------------------------------------- reason codes */

/** A short name for a reason code ("malformed packet"), or "unknown". */
const char *mqtt_reason_str(uint8_t rc);

/** A packet type's name ("PUBLISH"), or "?" */
const char *mqtt_type_str(uint8_t type);

/**
 * The 3.1.x CONNACK return code that corresponds to a CONNECT failure @p rc, or -1 when
 * 3.1.x has no such code and the server must just close the connection (for example
 * MQTT_RC_UNSUPPORTED_VERSION -> 1, MQTT_RC_MALFORMED -> -1).
 */
int mqtt_connack_v3_code(uint8_t rc);

/** Whether @p rc may appear in a v5 packet of type @p type (CONNACK, PUBACK..., AUTH). */
bool mqtt_reason_allowed(uint8_t type, uint8_t rc);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_MQTT_H */
