/**
 * @file plog_record.h
 * Persistence records: the typed events that describe every durable state change of the
 * broker, and their byte encoding (the "frame") shared by the log segments and the snapshots.
 *
 * Data flow: workers describe a durable change (session created, subscription added, QoS 1
 * message queued...) and pass it over a ring to the control core, which turns it into a
 * `struct plog_rec`, encodes it with plog_rec_encode() into the log (plog_log.h) and applies it
 * to its in-memory copy of the durable state (plog_state.h). Recovery decodes frames with
 * plog_rec_parse() and applies them again.
 *
 * Frame (all integers little-endian; the layout is documented in docs/durability.md):
 *
 *     off  size  field
 *       0     4  payload length L (bytes of payload only, <= PLOG_REC_MAX_PAYLOAD)
 *       4     2  type (enum plog_rec_type)
 *       6     2  flags, 0 in format versions 1 to 3 (anything else is refused)
 *       8     8  sequence number
 *      16     L  payload, fields in the order of the struct for that type
 *    16+L     4  CRC32C (Castagnoli, ISA-L crc32_iscsi) of bytes [0, 16+L)
 *
 * Payload fields: u8/u16/u32/u64 integers; `str` = u16 length + bytes (client ids, topics and
 * filters are MQTT strings, at most 65535 bytes); `bin` = u32 length + bytes (payloads and
 * MQTT 5 property blocks). A decoder rejects trailing bytes, booleans other than 0/1, QoS > 2
 * and unknown types: a record is either exactly what some writer encoded or it is refused.
 *
 * Format versions: a frame does not carry its version; the segment or snapshot header that
 * holds it does (plog_log.h, plog_snap.h), and the reader decodes each frame by that
 * version (plog_rec_parse_ver()). Version 2 added PLOG_REC_SESS_WILL; version 3 added the
 * username and listener index at the end of PLOG_REC_SESS_CREATE. A record of an older
 * version decodes with the newer fields zero (no username, listener 0).
 *
 * Error convention of the whole plog part: functions return 0 (or a non-negative count,
 * size or sequence number) on success and a negative errno on failure; constructors return
 * NULL and, when given one, fill a `struct plog_error` with the errno and a sentence.
 *
 * Thread-safety: every function here is pure (no global state) and may be called from any
 * thread on distinct buffers.
 */
#ifndef TACHYON_PLOG_RECORD_H
#define TACHYON_PLOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Record format version this build writes (the segment and snapshot headers carry it); every
 * lower one is read.
 */
#define PLOG_REC_VERSION 3u

/** Bytes before the payload: length, type, flags, seq. */
#define PLOG_REC_HDR_LEN 16u
/** Bytes after the payload: the CRC32C. */
#define PLOG_REC_TRAILER_LEN 4u
/** Frame overhead = header + trailer. */
#define PLOG_REC_OVERHEAD (PLOG_REC_HDR_LEN + PLOG_REC_TRAILER_LEN)
/**
 * Largest payload a frame may carry. An MQTT packet is at most 256 MiB; a queued message adds
 * its topic, properties and a few integers, so 256 MiB + 256 KiB bounds every legal record.
 * A larger length field can only be garbage, which is how a reader tells "impossible length"
 * (corruption) from "the file ends inside this record" (torn write).
 */
#define PLOG_REC_MAX_PAYLOAD (268435455u + 262144u)

/** Record types. Values are part of the on-disk format: never renumber, only append. */
enum plog_rec_type {
	PLOG_REC_SESS_CREATE = 1,     /**< session created or resumed by a CONNECT (u.sess) */
	PLOG_REC_SESS_DISCONNECT = 2, /**< network connection gone, session kept (u.sref) */
	PLOG_REC_SESS_END = 3,        /**< session deleted: clean start/session, takeover (u.sref) */
	PLOG_REC_SESS_EXPIRE = 4,     /**< session deleted by its expiry interval (u.sref) */
	PLOG_REC_SUB_ADD = 5,         /**< subscription added or replaced (u.sub) */
	PLOG_REC_SUB_REMOVE = 6,      /**< subscription removed (u.sub, options/id ignored) */
	PLOG_REC_RETAIN_SET = 7,      /**< retained message set on a topic (u.ret) */
	PLOG_REC_RETAIN_CLEAR = 8,    /**< retained message cleared (u.ret, topic only) */
	PLOG_REC_MSG_QUEUE = 9,       /**< QoS 1/2 message queued for a session (u.msg) */
	PLOG_REC_MSG_DELIVER = 10,    /**< queued message sent with a packet id (u.mref) */
	PLOG_REC_MSG_ACK = 11,        /**< PUBACK / PUBCOMP received: message gone (u.mref) */
	PLOG_REC_QOS2_OUT_REL = 12,   /**< PUBREC received, PUBREL sent: body dropped (u.mref) */
	PLOG_REC_QOS2_IN_RECV = 13,   /**< inbound QoS 2: PUBREC sent, awaiting PUBREL (u.q2in) */
	PLOG_REC_QOS2_IN_DONE = 14,   /**< inbound QoS 2: PUBREL received, PUBCOMP sent (u.q2in) */
	PLOG_REC_SESS_WILL = 15,      /**< format 2: the session's will replaced or cleared
				       *   (u.will), whether connected or not */
};
/** One past the highest type value. */
#define PLOG_REC_TYPE_END 16

/** MQTT 5 "session never expires" expiry interval. */
#define PLOG_EXPIRY_NEVER 0xFFFFFFFFu

/**
 * A byte string. In a decoded record it points into the decoded buffer (no copy): it is valid
 * as long as that buffer is. Not NUL-terminated.
 */
struct plog_bytes {
	const uint8_t *ptr; /**< first byte; may be NULL when len is 0 */
	uint32_t len;       /**< length in bytes */
};

/** Same bytes (an empty string may have a NULL ptr, which memcmp must not be given). */
static inline bool plog_mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/** Same bytes, for two plog_bytes. */
static inline bool plog_bytes_eq(struct plog_bytes a, struct plog_bytes b)
{
	return plog_mem_eq(a.ptr, a.len, b.ptr, b.len);
}

/**
 * The will message of a session (MQTT 3.1.3.2 / 5 3.1.2.5): while connected, and after an
 * unclean disconnect while its Will Delay Interval runs (then it is due at the
 * disconnect's time + delay_interval).
 */
struct plog_will {
	bool present;              /**< false: no will; every other field is then 0/empty */
	uint8_t qos;               /**< 0..2 */
	bool retain;               /**< will retain flag */
	uint32_t delay_interval;   /**< MQTT 5 will delay interval, seconds */
	struct plog_bytes topic;   /**< will topic */
	struct plog_bytes payload; /**< will payload */
	struct plog_bytes props;   /**< MQTT 5 will properties, encoded as on the wire */
};

/** PLOG_REC_SESS_CREATE. */
struct plog_rec_sess {
	struct plog_bytes client_id;
	uint8_t proto_version;    /**< 3 (MQTT 3.1), 4 (3.1.1) or 5 */
	bool clean_start;         /**< clean start / clean session flag of the CONNECT */
	uint32_t expiry_interval; /**< seconds after disconnect; PLOG_EXPIRY_NEVER = never */
	uint64_t time_ms;         /**< wall clock (Unix ms) of the CONNECT */
	struct plog_will will;
	/* Format 3: who the session's connection was, for the ACL checks of its will and its
	 * queued messages after a restart. Zero when decoded from version 1 or 2. */
	bool has_username;        /**< false: anonymous (username is then empty) */
	struct plog_bytes username; /**< CONNECT username (or certificate identity), may be "" */
	uint8_t listener;         /**< index of the listener it connected on (its ACL table) */
};

/** PLOG_REC_SESS_DISCONNECT, PLOG_REC_SESS_END, PLOG_REC_SESS_EXPIRE. */
struct plog_rec_sref {
	struct plog_bytes client_id;
	uint64_t time_ms; /**< wall clock (Unix ms) of the event; expiry counts from a disconnect */
};

/** PLOG_REC_SUB_ADD, PLOG_REC_SUB_REMOVE. */
struct plog_rec_sub {
	struct plog_bytes client_id;
	struct plog_bytes filter; /**< topic filter as subscribed, including any `$share/g/` */
	uint8_t options;          /**< SUBSCRIBE options byte (QoS, NL, RAP, retain handling) */
	uint32_t sub_id;          /**< MQTT 5 subscription identifier, 0 = none */
};

/** PLOG_REC_RETAIN_SET, PLOG_REC_RETAIN_CLEAR. */
struct plog_rec_retain {
	struct plog_bytes topic;
	uint8_t qos;               /**< 0..2 */
	struct plog_bytes payload; /**< never empty in a SET: an empty payload is a CLEAR */
	struct plog_bytes props;   /**< MQTT 5 properties to send with it */
	uint64_t expiry_ms;        /**< wall clock (Unix ms) when it expires, 0 = never */
};

/** PLOG_REC_MSG_QUEUE: a message waiting for (or in flight to) a persistent session. */
struct plog_rec_msg {
	struct plog_bytes client_id;
	uint64_t msg_id;     /**< broker-wide message id, unique within the session's queue */
	uint16_t packet_id;  /**< 0 until delivered (see PLOG_REC_MSG_DELIVER) */
	uint8_t qos;         /**< 1 or 2 (0 is accepted: queued QoS 0 when configured) */
	bool retain;         /**< retain flag to send */
	struct plog_bytes topic;
	struct plog_bytes payload;
	struct plog_bytes props;
	uint64_t expiry_ms;  /**< wall clock (Unix ms) when it expires, 0 = never */
};

/** PLOG_REC_MSG_DELIVER, PLOG_REC_MSG_ACK, PLOG_REC_QOS2_OUT_REL. */
struct plog_rec_mref {
	struct plog_bytes client_id;
	uint64_t msg_id;
	uint16_t packet_id; /**< the packet id used on the wire */
};

/** PLOG_REC_QOS2_IN_RECV, PLOG_REC_QOS2_IN_DONE. */
struct plog_rec_q2in {
	struct plog_bytes client_id;
	uint16_t packet_id;
};

/** PLOG_REC_SESS_WILL (format version 2). */
struct plog_rec_will {
	struct plog_bytes client_id;
	struct plog_will will; /**< present = false: the session has no will any more */
};

/** A record: a type, its sequence number and the payload for that type. */
struct plog_rec {
	enum plog_rec_type type;
	uint64_t seq; /**< assigned by the log writer; 1, 2, 3... without holes */
	union {
		struct plog_rec_sess sess;
		struct plog_rec_sref sref;
		struct plog_rec_sub sub;
		struct plog_rec_retain ret;
		struct plog_rec_msg msg;
		struct plog_rec_mref mref;
		struct plog_rec_q2in q2in;
		struct plog_rec_will will;
	} u;
};

/**
 * CRC32C (Castagnoli) as stored in every frame and header: ISA-L's crc32_iscsi with the
 * customary pre- and post-inversion, so crc("123456789") == 0xE3069283.
 *
 * @param crc  0 to start, or the result of a previous call to continue a running CRC.
 * @return the CRC of everything fed so far.
 */
uint32_t plog_crc32c(uint32_t crc, const void *data, size_t len);

/** @return a short lowercase name for @p type ("sess_create"...), "unknown" if invalid. */
const char *plog_rec_type_name(unsigned type);

/** @return true when @p type is one of enum plog_rec_type. */
bool plog_rec_type_valid(unsigned type);

/**
 * Size of the whole frame plog_rec_encode() would write for @p rec.
 *
 * @return frame bytes (> PLOG_REC_OVERHEAD), or -EINVAL if the type is unknown, a field is out
 *   of range (QoS > 2, string longer than 65535) or the payload exceeds PLOG_REC_MAX_PAYLOAD.
 */
int64_t plog_rec_frame_size(const struct plog_rec *rec);

/**
 * Encode @p rec (with rec->seq) as one frame into @p buf.
 *
 * @param buf  destination; nothing is written beyond @p cap.
 * @param cap  bytes available at @p buf.
 * @return bytes written (the frame size), -EINVAL as plog_rec_frame_size(), or -ENOSPC when
 *   @p cap is smaller than the frame (nothing useful is written then).
 */
int64_t plog_rec_encode(const struct plog_rec *rec, uint8_t *buf, size_t cap);

/**
 * plog_rec_frame_size() in format @p version (1..PLOG_REC_VERSION).
 * @return as plog_rec_frame_size(); -EINVAL also for a version out of range or a type the
 *   version does not have (PLOG_REC_SESS_WILL below 2).
 */
int64_t plog_rec_frame_size_ver(const struct plog_rec *rec, uint32_t version);

/**
 * plog_rec_encode() as format @p version (1..PLOG_REC_VERSION) writes it: fields that
 * version lacks are left out. For tests and tools that must produce an older store.
 *
 * @return as plog_rec_encode(); -EINVAL also as plog_rec_frame_size_ver().
 */
int64_t plog_rec_encode_ver(const struct plog_rec *rec, uint32_t version, uint8_t *buf,
			    size_t cap);

/** Reasons plog_rec_parse() refuses a frame. */
enum plog_parse_err {
	PLOG_PARSE_SHORT = 1,  /**< input ends inside the frame: more bytes needed, or torn */
	PLOG_PARSE_LENGTH = 2, /**< length field larger than PLOG_REC_MAX_PAYLOAD */
	PLOG_PARSE_CRC = 3,    /**< CRC mismatch */
	PLOG_PARSE_FORMAT = 4, /**< CRC fine but flags, type or fields invalid */
};

/**
 * Decode one frame at the start of @p buf.
 *
 * Never reads beyond @p len. The decoded byte strings point into @p buf.
 *
 * @param buf        frame bytes.
 * @param len        bytes available.
 * @param rec        out: the record (undefined unless 0 is returned).
 * @param frame_len  out: bytes the frame occupies (set on success, and on PLOG_PARSE_SHORT to
 *                   the full frame size when the header was complete, else 0).
 * @return 0 on success, or a positive enum plog_parse_err.
 */
int plog_rec_parse(const uint8_t *buf, size_t len, struct plog_rec *rec, size_t *frame_len);

/**
 * plog_rec_parse() of a frame written in format @p version (from the header of the segment
 * or snapshot that holds it): a PLOG_REC_SESS_CREATE of version 1 or 2 ends after the will
 * and decodes with no username and listener 0. plog_rec_parse() is this with
 * PLOG_REC_VERSION.
 *
 * @return as plog_rec_parse(); PLOG_PARSE_FORMAT also for a version out of
 *   1..PLOG_REC_VERSION and for a type the version does not have (PLOG_REC_SESS_WILL in
 *   version 1: no version 1 writer made one).
 */
int plog_rec_parse_ver(const uint8_t *buf, size_t len, uint32_t version, struct plog_rec *rec,
		       size_t *frame_len);

/** @return a sentence for a plog_parse_err ("crc mismatch"...). */
const char *plog_parse_err_str(int err);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_PLOG_RECORD_H */
