/**
 * @file mqtt-t.h
 * Types of the MQTT codec: protocol constants, reason codes, properties and the decoded packet.
 *
 * Shared by every part that speaks MQTT (broker logic, TCP glue, load generator); functions
 * live in mqtt/mqtt.h. Decoded strings, binaries and lists are *views* into the bytes that
 * were decoded (zero copy): they stay valid exactly as long as those bytes do.
 */
#ifndef TACHYON_MQTT_T_H
#define TACHYON_MQTT_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Protocol levels, as carried in CONNECT's protocol level byte. */
enum mqtt_version {
	MQTT_V_NONE = 0, /**< session not yet connected: only CONNECT may be decoded */
	MQTT_V31 = 3,    /**< MQTT 3.1, protocol name "MQIsdp" */
	MQTT_V311 = 4,   /**< MQTT 3.1.1, protocol name "MQTT" */
	MQTT_V5 = 5,     /**< MQTT 5.0, protocol name "MQTT" */
};

/** Control packet types (the fixed header's high nibble). */
enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
	MQTT_AUTH = 15, /**< MQTT 5 only */
};

/**
 * Status codes of the decoder. 0 and 1 are statuses; every value >= 0x80 is the MQTT 5 reason
 * code that names why the input is invalid (see docs/codec.md for what each means here).
 */
enum mqtt_rc {
	MQTT_OK = 0x00,          /**< a whole packet was decoded */
	MQTT_NEED_MORE = 0x01,   /**< the input ends inside a packet: feed more bytes */
	MQTT_RC_UNSPECIFIED = 0x80,
	MQTT_RC_MALFORMED = 0x81,         /**< cannot be parsed as the spec lays it out */
	MQTT_RC_PROTOCOL_ERROR = 0x82,    /**< parses, but holds a value the spec forbids */
	MQTT_RC_IMPL_SPECIFIC = 0x83,
	MQTT_RC_UNSUPPORTED_VERSION = 0x84, /**< CONNECT protocol name/level unknown */
	MQTT_RC_CLIENT_ID_INVALID = 0x85,
	MQTT_RC_BAD_USER_PASS = 0x86,
	MQTT_RC_NOT_AUTHORIZED = 0x87,
	MQTT_RC_SERVER_UNAVAILABLE = 0x88,
	MQTT_RC_SERVER_BUSY = 0x89,
	MQTT_RC_BANNED = 0x8A,
	MQTT_RC_SERVER_SHUTTING_DOWN = 0x8B,
	MQTT_RC_BAD_AUTH_METHOD = 0x8C,
	MQTT_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
	MQTT_RC_SESSION_TAKEN_OVER = 0x8E,
	MQTT_RC_TOPIC_FILTER_INVALID = 0x8F, /**< SUBSCRIBE/UNSUBSCRIBE filter breaks 4.7 rules */
	MQTT_RC_TOPIC_NAME_INVALID = 0x90,   /**< PUBLISH topic breaks 4.7 rules */
	MQTT_RC_PACKET_ID_IN_USE = 0x91,
	MQTT_RC_PACKET_ID_NOT_FOUND = 0x92,
	MQTT_RC_RECEIVE_MAX_EXCEEDED = 0x93,
	MQTT_RC_TOPIC_ALIAS_INVALID = 0x94,
	MQTT_RC_PACKET_TOO_LARGE = 0x95, /**< exceeds the receiver's maximum packet size */
	MQTT_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
	MQTT_RC_QUOTA_EXCEEDED = 0x97,
	MQTT_RC_ADMIN_ACTION = 0x98,
	MQTT_RC_PAYLOAD_FORMAT_INVALID = 0x99,
	MQTT_RC_RETAIN_NOT_SUPPORTED = 0x9A,
	MQTT_RC_QOS_NOT_SUPPORTED = 0x9B,
	MQTT_RC_USE_ANOTHER_SERVER = 0x9C,
	MQTT_RC_SERVER_MOVED = 0x9D,
	MQTT_RC_SHARED_SUB_NOT_SUPPORTED = 0x9E,
	MQTT_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
	MQTT_RC_MAX_CONNECT_TIME = 0xA0,
	MQTT_RC_SUB_ID_NOT_SUPPORTED = 0xA1,
	MQTT_RC_WILDCARD_SUB_NOT_SUPPORTED = 0xA2,
};

/** Largest remaining length a 4-byte Variable Byte Integer can carry. */
#define MQTT_MAX_REMAINING_LEN 268435455u
/** Largest whole packet: 1 type byte + 4 length bytes + MQTT_MAX_REMAINING_LEN. */
#define MQTT_MAX_PACKET_SIZE (MQTT_MAX_REMAINING_LEN + 5u)
/** Largest Subscription Identifier value. */
#define MQTT_MAX_SUB_ID 268435455u

/** MQTT 5 property identifiers (section 2.2.2.2 of the 5.0 spec). */
enum mqtt_prop_id {
	MQTT_PROP_PAYLOAD_FORMAT = 0x01,
	MQTT_PROP_MESSAGE_EXPIRY = 0x02,
	MQTT_PROP_CONTENT_TYPE = 0x03,
	MQTT_PROP_RESPONSE_TOPIC = 0x08,
	MQTT_PROP_CORRELATION_DATA = 0x09,
	MQTT_PROP_SUB_ID = 0x0B,
	MQTT_PROP_SESSION_EXPIRY = 0x11,
	MQTT_PROP_ASSIGNED_CLIENT_ID = 0x12,
	MQTT_PROP_SERVER_KEEP_ALIVE = 0x13,
	MQTT_PROP_AUTH_METHOD = 0x15,
	MQTT_PROP_AUTH_DATA = 0x16,
	MQTT_PROP_REQUEST_PROBLEM_INFO = 0x17,
	MQTT_PROP_WILL_DELAY = 0x18,
	MQTT_PROP_REQUEST_RESPONSE_INFO = 0x19,
	MQTT_PROP_RESPONSE_INFO = 0x1A,
	MQTT_PROP_SERVER_REF = 0x1C,
	MQTT_PROP_REASON_STRING = 0x1F,
	MQTT_PROP_RECEIVE_MAX = 0x21,
	MQTT_PROP_TOPIC_ALIAS_MAX = 0x22,
	MQTT_PROP_TOPIC_ALIAS = 0x23,
	MQTT_PROP_MAX_QOS = 0x24,
	MQTT_PROP_RETAIN_AVAILABLE = 0x25,
	MQTT_PROP_USER = 0x26,
	MQTT_PROP_MAX_PACKET_SIZE = 0x27,
	MQTT_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
	MQTT_PROP_SUB_ID_AVAILABLE = 0x29,
	MQTT_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/** Wire types of property values. */
enum mqtt_prop_type {
	MQTT_PT_BYTE = 1,
	MQTT_PT_U16,
	MQTT_PT_U32,
	MQTT_PT_VBI,
	MQTT_PT_UTF8,
	MQTT_PT_BINARY,
	MQTT_PT_UTF8_PAIR,
};

/** A view of bytes: a UTF-8 string, binary data or a payload. Not NUL-terminated. */
struct mqtt_str {
	const uint8_t *p; /**< first byte (may be NULL when len == 0) */
	uint32_t len;     /**< number of bytes */
};

/** One User Property (a UTF-8 string pair). */
struct mqtt_user_prop {
	struct mqtt_str key;
	struct mqtt_str value;
};

/** Test whether property @p id is present in a struct mqtt_props. */
#define MQTT_PROP_HAS(props, id) ((((props)->present) >> (id)) & 1u)
/** Mark property @p id present (encoder input). */
#define MQTT_PROP_SET(props, id) ((props)->present |= (uint64_t)1 << (id))

/**
 * The properties of one packet (or of a CONNECT's will). Scalars are valid when their bit
 * (1 << id) is set in @c present. Lists (User Property, Subscription Identifier) may repeat:
 *
 * - after decoding, @c user and @c sub_ids are NULL, @c n_user / @c n_sub_ids count them,
 *   @c sub_id holds the first Subscription Identifier, and mqtt_props_next() walks every
 *   property of @c raw (the property block as received) in wire order;
 * - to encode, point @c user / @c sub_ids at arrays of @c n_user / @c n_sub_ids entries; when
 *   an array is NULL but its count is not zero, the entries are taken from @c raw, so a decoded
 *   packet re-encodes as it is.
 *
 * Invariant after decoding: MQTT_PROP_HAS(p, MQTT_PROP_USER) == (n_user > 0), likewise sub ids.
 */
struct mqtt_props {
	uint64_t present;               /**< bit (1 << id) per property present */
	uint32_t message_expiry;        /**< 0x02 */
	uint32_t session_expiry;        /**< 0x11 */
	uint32_t will_delay;            /**< 0x18 */
	uint32_t max_packet_size;       /**< 0x27, never 0 */
	uint32_t sub_id;                /**< 0x0B, first one; 1..268435455 */
	uint16_t server_keep_alive;     /**< 0x13 */
	uint16_t receive_max;           /**< 0x21, never 0 */
	uint16_t topic_alias_max;       /**< 0x22 */
	uint16_t topic_alias;           /**< 0x23, never 0 */
	uint8_t payload_format;         /**< 0x01: 0 or 1 */
	uint8_t request_problem_info;   /**< 0x17: 0 or 1 */
	uint8_t request_response_info;  /**< 0x19: 0 or 1 */
	uint8_t max_qos;                /**< 0x24: 0 or 1 */
	uint8_t retain_available;       /**< 0x25: 0 or 1 */
	uint8_t wildcard_sub_available; /**< 0x28: 0 or 1 */
	uint8_t sub_id_available;       /**< 0x29: 0 or 1 */
	uint8_t shared_sub_available;   /**< 0x2A: 0 or 1 */
	struct mqtt_str content_type;   /**< 0x03 */
	struct mqtt_str response_topic; /**< 0x08 */
	struct mqtt_str correlation_data; /**< 0x09 (binary) */
	struct mqtt_str assigned_client_id; /**< 0x12 */
	struct mqtt_str auth_method;    /**< 0x15 */
	struct mqtt_str auth_data;      /**< 0x16 (binary) */
	struct mqtt_str response_info;  /**< 0x1A */
	struct mqtt_str server_ref;     /**< 0x1C */
	struct mqtt_str reason_string;  /**< 0x1F */
	const struct mqtt_user_prop *user; /**< encode: n_user pairs; decode: NULL */
	uint32_t n_user;                /**< number of User Properties */
	const uint32_t *sub_ids;        /**< encode: n_sub_ids values; decode: NULL */
	uint32_t n_sub_ids;             /**< number of Subscription Identifiers */
	struct mqtt_str raw;            /**< decode: the property block, without its length */
};

/** One decoded property, as mqtt_props_next() yields it. */
struct mqtt_prop {
	uint8_t id;           /**< enum mqtt_prop_id */
	uint32_t num;         /**< BYTE, U16, U32 and VBI values */
	struct mqtt_str str;  /**< UTF8 and BINARY values; a pair's key */
	struct mqtt_str str2; /**< a pair's value */
};

/** CONNECT. */
struct mqtt_connect {
	uint8_t version;        /**< enum mqtt_version (set as soon as read, even on error) */
	uint8_t flags;          /**< the Connect Flags byte as received */
	bool clean_start;       /**< Clean Session (3.1.x) / Clean Start (5) */
	bool will;              /**< a will message is present */
	uint8_t will_qos;       /**< 0..2 */
	bool will_retain;
	bool has_username;
	bool has_password;
	uint16_t keep_alive;    /**< seconds */
	struct mqtt_props props; /**< v5 only */
	struct mqtt_str client_id;
	struct mqtt_props will_props; /**< v5 only */
	struct mqtt_str will_topic;
	struct mqtt_str will_payload;
	struct mqtt_str username;
	struct mqtt_str password;
};

/** CONNACK. */
struct mqtt_connack {
	bool session_present;
	uint8_t rc;             /**< v5 reason code, or the 3.1.x return code 0..5 */
	struct mqtt_props props;
};

/** PUBLISH. */
struct mqtt_publish {
	uint8_t qos;            /**< 0..2 */
	bool dup;
	bool retain;
	uint16_t packet_id;     /**< 0 when qos == 0 */
	struct mqtt_str topic;  /**< may be empty in v5 when a Topic Alias is present */
	struct mqtt_props props;
	struct mqtt_str payload;
};

/** PUBACK, PUBREC, PUBREL, PUBCOMP. */
struct mqtt_ack {
	uint16_t packet_id;
	uint8_t rc;             /**< v5 reason code (0 when absent) */
	struct mqtt_props props;
};

/** One SUBSCRIBE entry. */
struct mqtt_sub {
	struct mqtt_str filter;
	uint8_t qos;            /**< maximum QoS, 0..2 */
	bool no_local;          /**< v5 */
	bool retain_as_published; /**< v5 */
	uint8_t retain_handling;  /**< v5, 0..2 */
};

/**
 * SUBSCRIBE and UNSUBSCRIBE. After decoding, @c subs / @c filters are NULL and @c raw is the
 * payload: walk it with mqtt_sub_next() / mqtt_unsub_next(). To encode, point them at arrays
 * (when NULL, the entries are taken from @c raw, so a decoded packet re-encodes as it is).
 */
struct mqtt_subscribe {
	uint16_t packet_id;
	struct mqtt_props props;
	const struct mqtt_sub *subs;       /**< SUBSCRIBE, encode side */
	const struct mqtt_str *filters;    /**< UNSUBSCRIBE, encode side */
	uint32_t count;                    /**< number of entries, >= 1 */
	struct mqtt_str raw;               /**< decode: the payload */
};

/** SUBACK and UNSUBACK: one reason code per entry of the request (3.1.x UNSUBACK: none). */
struct mqtt_suback {
	uint16_t packet_id;
	struct mqtt_props props;
	struct mqtt_str codes;  /**< one byte per entry */
};

/** DISCONNECT and AUTH (and PINGREQ/PINGRESP, which carry nothing). */
struct mqtt_disconnect {
	uint8_t rc;             /**< v5 reason code (0 when absent) */
	struct mqtt_props props;
};

/** A decoded (or to-be-encoded) control packet. */
struct mqtt_packet {
	uint8_t type;           /**< enum mqtt_type */
	uint8_t flags;          /**< the fixed header's low nibble, as received */
	union {
		struct mqtt_connect connect;
		struct mqtt_connack connack;
		struct mqtt_publish publish;
		struct mqtt_ack ack;
		struct mqtt_subscribe subscribe; /**< SUBSCRIBE and UNSUBSCRIBE */
		struct mqtt_suback suback;       /**< SUBACK and UNSUBACK */
		struct mqtt_disconnect disconnect; /**< DISCONNECT, AUTH */
	};
};

/** What mqtt_frame() learnt from a fixed header. */
struct mqtt_frame {
	uint8_t byte0;          /**< type << 4 | flags */
	uint8_t header_len;     /**< 2..5: type byte + remaining-length bytes */
	uint32_t remaining_len; /**< bytes after the fixed header */
	uint32_t total_len;     /**< header_len + remaining_len */
};

/**
 * Incremental decoder state, one per connection. Fields are private; see mqtt_decoder_init().
 * Invariant: have <= cap; while total != 0, have < total (a packet is handed out as soon as
 * it is whole, never kept); while total == 0, have < 5 (only a fixed header is pending).
 */
struct mqtt_decoder {
	uint8_t *buf;           /**< reassembly buffer (caller's memory) */
	uint32_t cap;           /**< its size, also the largest packet accepted */
	uint32_t have;          /**< bytes of the current packet held in buf */
	uint32_t total;         /**< the current packet's size, 0 until its header is whole */
	uint32_t max_packet_size; /**< min(configured maximum, cap) */
	uint8_t version;        /**< enum mqtt_version of the session */
	uint8_t error;          /**< sticky reason code once input was invalid, else 0 */
};

/** The per-subscriber parts of an outgoing PUBLISH (see mqtt_publish_head_encode()). */
struct mqtt_publish_shape {
	uint8_t qos;              /**< 0..2 */
	bool retain;
	bool dup;
	uint16_t packet_id;       /**< ignored for qos 0; may be patched later */
	uint16_t topic_alias;     /**< v5: 0 = no Topic Alias property */
	bool omit_topic;          /**< v5: send an empty Topic Name (alias already known) */
	bool set_message_expiry;  /**< v5: replace Message Expiry with @c message_expiry */
	uint32_t message_expiry;
	const uint32_t *sub_ids;  /**< v5: Subscription Identifiers for this subscriber */
	uint32_t n_sub_ids;
};

/** Where the fields of an encoded PUBLISH head are, to patch copies of it cheaply. */
struct mqtt_publish_head {
	uint32_t len;             /**< bytes of the head (everything but the payload) */
	uint32_t total_len;       /**< len + payload length: the whole packet */
	uint32_t packet_id_off;   /**< offset of the packet identifier, 0 if qos == 0 */
};

#endif /* TACHYON_MQTT_T_H */
