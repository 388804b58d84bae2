/**
 * @file plog_record.c
 * Record frames: CRC32C, encoding of the typed payloads and their strict decoding. The one
 * place that knows the byte layout of a record; the log and the snapshot only move frames.
 *
 * Encoding is two passes over the same field walker (plog__walk): once counting bytes, once
 * writing them, so the size computation and the writer cannot disagree. The walker knows
 * the format version it reads or writes, so that the fields a version added are the only
 * place where versions differ.
 */
#include "plog/plog_record.h"

#include <errno.h>
#include <string.h>

#include <isa-l/crc.h>

uint32_t plog_crc32c(uint32_t crc, const void *data, size_t len)
{
	/* crc32_iscsi() takes an int length and no inversion: feed it in <2 GiB pieces and do
	 * the pre/post inversion here so that results chain like zlib's crc32(). */
	const unsigned char *p = data;
	unsigned int c = ~crc;
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;
		c = crc32_iscsi((unsigned char *)p, n, c);
		p += n;
		len -= (size_t)n;
	}
	return ~c;
}

static const char *const plog__type_names[PLOG_REC_TYPE_END] = {
	[PLOG_REC_SESS_CREATE] = "sess_create",
	[PLOG_REC_SESS_DISCONNECT] = "sess_disconnect",
	[PLOG_REC_SESS_END] = "sess_end",
	[PLOG_REC_SESS_EXPIRE] = "sess_expire",
	[PLOG_REC_SUB_ADD] = "sub_add",
	[PLOG_REC_SUB_REMOVE] = "sub_remove",
	[PLOG_REC_RETAIN_SET] = "retain_set",
	[PLOG_REC_RETAIN_CLEAR] = "retain_clear",
	[PLOG_REC_MSG_QUEUE] = "msg_queue",
	[PLOG_REC_MSG_DELIVER] = "msg_deliver",
	[PLOG_REC_MSG_ACK] = "msg_ack",
	[PLOG_REC_QOS2_OUT_REL] = "qos2_out_rel",
	[PLOG_REC_QOS2_IN_RECV] = "qos2_in_recv",
	[PLOG_REC_QOS2_IN_DONE] = "qos2_in_done",
	[PLOG_REC_SESS_WILL] = "sess_will",
};

bool plog_rec_type_valid(unsigned type)
{
	return type > 0 && type < PLOG_REC_TYPE_END;
}

const char *plog_rec_type_name(unsigned type)
{
	return plog_rec_type_valid(type) ? plog__type_names[type] : "unknown";
}

/* ---- little-endian helpers ---- */

static void plog__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void plog__put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void plog__put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t plog__get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t plog__get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t plog__get64(const uint8_t *p)
{
	return (uint64_t)plog__get32(p) | ((uint64_t)plog__get32(p + 4) << 32);
}

/* ---- field walker: one description of each payload, used to size, write and read ----
 *
 * Invariant of struct plog__cur: pos <= cap, except that when `buf` is NULL (sizing pass)
 * cap is ignored and pos only counts. `bad` latches the first error; once set, nothing more
 * is read or written.
 */
struct plog__cur {
	uint8_t *wbuf;        /* write pass: destination, else NULL */
	const uint8_t *rbuf;  /* read pass: source, else NULL */
	size_t pos;
	size_t cap;
	bool bad;
	uint32_t version;     /* format version of the frame, 1..PLOG_REC_VERSION */
};

static void plog__u8(struct plog__cur *c, uint8_t *v)
{
	if (c->bad)
		return;
	if (c->rbuf) {
		if (c->cap - c->pos < 1) {
			c->bad = true;
			return;
		}
		*v = c->rbuf[c->pos];
	} else if (c->wbuf) {
		c->wbuf[c->pos] = *v;
	}
	c->pos += 1;
}

static void plog__bool(struct plog__cur *c, bool *v)
{
	uint8_t b = *v ? 1 : 0;
	plog__u8(c, &b);
	if (c->rbuf && !c->bad) {
		if (b > 1)
			c->bad = true;
		*v = b == 1;
	}
}

static void plog__u16(struct plog__cur *c, uint16_t *v)
{
	if (c->bad)
		return;
	if (c->rbuf) {
		if (c->cap - c->pos < 2) {
			c->bad = true;
			return;
		}
		*v = plog__get16(c->rbuf + c->pos);
	} else if (c->wbuf) {
		plog__put16(c->wbuf + c->pos, *v);
	}
	c->pos += 2;
}

static void plog__u32(struct plog__cur *c, uint32_t *v)
{
	if (c->bad)
		return;
	if (c->rbuf) {
		if (c->cap - c->pos < 4) {
			c->bad = true;
			return;
		}
		*v = plog__get32(c->rbuf + c->pos);
	} else if (c->wbuf) {
		plog__put32(c->wbuf + c->pos, *v);
	}
	c->pos += 4;
}

static void plog__u64(struct plog__cur *c, uint64_t *v)
{
	if (c->bad)
		return;
	if (c->rbuf) {
		if (c->cap - c->pos < 8) {
			c->bad = true;
			return;
		}
		*v = plog__get64(c->rbuf + c->pos);
	} else if (c->wbuf) {
		plog__put64(c->wbuf + c->pos, *v);
	}
	c->pos += 8;
}

static void plog__qos(struct plog__cur *c, uint8_t *v)
{
	if (!c->rbuf && *v > 2)
		c->bad = true;
	plog__u8(c, v);
	if (c->rbuf && !c->bad && *v > 2)
		c->bad = true;
}

/* Byte string with a u16 (str) or u32 (bin) length prefix. */
static void plog__blob(struct plog__cur *c, struct plog_bytes *b, bool wide)
{
	if (c->bad)
		return;
	uint32_t len = b->len;
	if (wide) {
		plog__u32(c, &len);
	} else {
		if (!c->rbuf && len > 0xFFFF) {
			c->bad = true;
			return;
		}
		uint16_t l16 = (uint16_t)len;
		plog__u16(c, &l16);
		len = l16;
	}
	if (c->bad)
		return;
	if (c->rbuf) {
		if (c->cap - c->pos < len) {
			c->bad = true;
			return;
		}
		b->ptr = len ? c->rbuf + c->pos : NULL;
		b->len = len;
	} else if (c->wbuf && len) {
		memcpy(c->wbuf + c->pos, b->ptr, len);
	}
	if (!c->rbuf && (uint64_t)c->pos + len > PLOG_REC_MAX_PAYLOAD) {
		c->bad = true;
		return;
	}
	c->pos += len;
}

static void plog__str(struct plog__cur *c, struct plog_bytes *b)
{
	plog__blob(c, b, false);
}

static void plog__bin(struct plog__cur *c, struct plog_bytes *b)
{
	plog__blob(c, b, true);
}

static void plog__will(struct plog__cur *c, struct plog_will *w)
{
	plog__bool(c, &w->present);
	if (c->bad || !w->present)
		return;
	plog__qos(c, &w->qos);
	plog__bool(c, &w->retain);
	plog__u32(c, &w->delay_interval);
	plog__str(c, &w->topic);
	plog__bin(c, &w->payload);
	plog__bin(c, &w->props);
}

/* The payload layout of every type. Reads fill *r, writes and sizing read it. */
static void plog__walk(struct plog__cur *c, struct plog_rec *r)
{
	switch (r->type) {
	case PLOG_REC_SESS_CREATE:
		plog__str(c, &r->u.sess.client_id);
		plog__u8(c, &r->u.sess.proto_version);
		if (c->rbuf && !c->bad && (r->u.sess.proto_version < 3 || r->u.sess.proto_version > 5))
			c->bad = true;
		plog__bool(c, &r->u.sess.clean_start);
		plog__u32(c, &r->u.sess.expiry_interval);
		plog__u64(c, &r->u.sess.time_ms);
		plog__will(c, &r->u.sess.will);
		if (c->version < 3)
			break; /* the read pass leaves the identity zero: anonymous, listener 0 */
		plog__bool(c, &r->u.sess.has_username);
		if (!c->bad && r->u.sess.has_username)
			plog__str(c, &r->u.sess.username);
		plog__u8(c, &r->u.sess.listener);
		break;
	case PLOG_REC_SESS_DISCONNECT:
	case PLOG_REC_SESS_END:
	case PLOG_REC_SESS_EXPIRE:
		plog__str(c, &r->u.sref.client_id);
		plog__u64(c, &r->u.sref.time_ms);
		break;
	case PLOG_REC_SUB_ADD:
		plog__str(c, &r->u.sub.client_id);
		plog__str(c, &r->u.sub.filter);
		plog__u8(c, &r->u.sub.options);
		plog__u32(c, &r->u.sub.sub_id);
		break;
	case PLOG_REC_SUB_REMOVE:
		plog__str(c, &r->u.sub.client_id);
		plog__str(c, &r->u.sub.filter);
		break;
	case PLOG_REC_RETAIN_SET:
		plog__str(c, &r->u.ret.topic);
		plog__qos(c, &r->u.ret.qos);
		plog__bin(c, &r->u.ret.payload);
		plog__bin(c, &r->u.ret.props);
		plog__u64(c, &r->u.ret.expiry_ms);
		break;
	case PLOG_REC_RETAIN_CLEAR:
		plog__str(c, &r->u.ret.topic);
		break;
	case PLOG_REC_MSG_QUEUE:
		plog__str(c, &r->u.msg.client_id);
		plog__u64(c, &r->u.msg.msg_id);
		plog__u16(c, &r->u.msg.packet_id);
		plog__qos(c, &r->u.msg.qos);
		plog__bool(c, &r->u.msg.retain);
		plog__str(c, &r->u.msg.topic);
		plog__bin(c, &r->u.msg.payload);
		plog__bin(c, &r->u.msg.props);
		plog__u64(c, &r->u.msg.expiry_ms);
		break;
	case PLOG_REC_MSG_DELIVER:
	case PLOG_REC_MSG_ACK:
	case PLOG_REC_QOS2_OUT_REL:
		plog__str(c, &r->u.mref.client_id);
		plog__u64(c, &r->u.mref.msg_id);
		plog__u16(c, &r->u.mref.packet_id);
		break;
	case PLOG_REC_QOS2_IN_RECV:
	case PLOG_REC_QOS2_IN_DONE:
		plog__str(c, &r->u.q2in.client_id);
		plog__u16(c, &r->u.q2in.packet_id);
		break;
	case PLOG_REC_SESS_WILL:
		if (c->version < 2) {
			c->bad = true; /* a type version 1 does not have */
			break;
		}
		plog__str(c, &r->u.will.client_id);
		plog__will(c, &r->u.will.will);
		break;
	default:
		c->bad = true;
		break;
	}
}

static bool plog__version_ok(uint32_t version)
{
	return version >= 1 && version <= PLOG_REC_VERSION;
}

int64_t plog_rec_frame_size_ver(const struct plog_rec *rec, uint32_t version)
{
	if (!plog__version_ok(version))
		return -EINVAL;
	struct plog__cur c = { .version = version };
	/* The walker takes a non-const record because the read pass fills it; the sizing
	 * pass only reads, so a local copy keeps the caller's const promise. */
	struct plog_rec tmp = *rec;
	plog__walk(&c, &tmp);
	if (c.bad || c.pos > PLOG_REC_MAX_PAYLOAD)
		return -EINVAL;
	return (int64_t)(c.pos + PLOG_REC_OVERHEAD);
}

int64_t plog_rec_frame_size(const struct plog_rec *rec)
{
	return plog_rec_frame_size_ver(rec, PLOG_REC_VERSION);
}

int64_t plog_rec_encode_ver(const struct plog_rec *rec, uint32_t version, uint8_t *buf,
			    size_t cap)
{
	int64_t size = plog_rec_frame_size_ver(rec, version);
	if (size < 0)
		return size;
	if ((uint64_t)size > cap)
		return -ENOSPC;
	size_t plen = (size_t)size - PLOG_REC_OVERHEAD;
	struct plog_rec tmp = *rec;
	struct plog__cur c = { .wbuf = buf + PLOG_REC_HDR_LEN, .cap = plen, .version = version };
	plog__walk(&c, &tmp);
	plog__put32(buf, (uint32_t)plen);
	plog__put16(buf + 4, (uint16_t)rec->type);
	plog__put16(buf + 6, 0);
	plog__put64(buf + 8, rec->seq);
	plog__put32(buf + PLOG_REC_HDR_LEN + plen, plog_crc32c(0, buf, PLOG_REC_HDR_LEN + plen));
	return size;
}

int64_t plog_rec_encode(const struct plog_rec *rec, uint8_t *buf, size_t cap)
{
	return plog_rec_encode_ver(rec, PLOG_REC_VERSION, buf, cap);
}

int plog_rec_parse(const uint8_t *buf, size_t len, struct plog_rec *rec, size_t *frame_len)
{
	return plog_rec_parse_ver(buf, len, PLOG_REC_VERSION, rec, frame_len);
}

int plog_rec_parse_ver(const uint8_t *buf, size_t len, uint32_t version, struct plog_rec *rec,
		       size_t *frame_len)
{
	*frame_len = 0;
	if (len < PLOG_REC_HDR_LEN)
		return PLOG_PARSE_SHORT;
	uint32_t plen = plog__get32(buf);
	if (plen > PLOG_REC_MAX_PAYLOAD)
		return PLOG_PARSE_LENGTH;
	size_t total = (size_t)plen + PLOG_REC_OVERHEAD;
	*frame_len = total;
	if (len < total)
		return PLOG_PARSE_SHORT;
	/* CRC first: a bit flip anywhere, type and length included, is reported as corruption
	 * rather than as a format error. */
	if (plog_crc32c(0, buf, PLOG_REC_HDR_LEN + plen) != plog__get32(buf + PLOG_REC_HDR_LEN + plen))
		return PLOG_PARSE_CRC;
	uint16_t type = plog__get16(buf + 4);
	if (plog__get16(buf + 6) != 0 || !plog_rec_type_valid(type) || !plog__version_ok(version))
		return PLOG_PARSE_FORMAT;
	memset(rec, 0, sizeof(*rec));
	rec->type = (enum plog_rec_type)type;
	rec->seq = plog__get64(buf + 8);
	struct plog__cur c = { .rbuf = buf + PLOG_REC_HDR_LEN, .cap = plen, .version = version };
	plog__walk(&c, rec);
	if (c.bad || c.pos != plen)
		return PLOG_PARSE_FORMAT;
	return 0;
}

const char *plog_parse_err_str(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case PLOG_PARSE_SHORT:
		return "truncated record (torn write)";
	case PLOG_PARSE_LENGTH:
		return "impossible record length";
	case PLOG_PARSE_CRC:
		return "CRC32C mismatch";
	case PLOG_PARSE_FORMAT:
		return "malformed record";
	default:
		return "unknown error";
	}
}
