/**
 * @file test_plog_record.c
 * Record frames: the CRC32C vector, every type's round trip (decode gives the fields back,
 * re-encoding gives the same bytes), and the decoder's refusals: truncation at every length,
 * impossible length, flipped bits, bad flags/type/QoS/booleans, trailing bytes. Format
 * versions: a version 3 sess_create keeps its username and listener; the same record
 * written as version 1 or 2 reads back anonymous on listener 0, only by its own version.
 */
#include "plog_test.h"

#include "plog/plog_record.h"
#include "plog_gen.h"

static bool bytes_eq(struct plog_bytes a, struct plog_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void test_crc(void)
{
	CHECK_EQ(plog_crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ(plog_crc32c(0, "", 0), 0);
	/* Chaining equals one pass. */
	CHECK_EQ(plog_crc32c(plog_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/* Field-by-field comparison of two records of the same type. */
static bool rec_eq(const struct plog_rec *a, const struct plog_rec *b)
{
	if (a->type != b->type || a->seq != b->seq)
		return false;
	switch (a->type) {
	case PLOG_REC_SESS_CREATE: {
		const struct plog_rec_sess *x = &a->u.sess, *y = &b->u.sess;
		return bytes_eq(x->client_id, y->client_id) && x->proto_version == y->proto_version &&
		       x->clean_start == y->clean_start && x->expiry_interval == y->expiry_interval &&
		       x->time_ms == y->time_ms && x->will.present == y->will.present &&
		       x->will.qos == y->will.qos && x->will.retain == y->will.retain &&
		       x->will.delay_interval == y->will.delay_interval &&
		       bytes_eq(x->will.topic, y->will.topic) &&
		       bytes_eq(x->will.payload, y->will.payload) &&
		       bytes_eq(x->will.props, y->will.props) && x->has_username == y->has_username &&
		       bytes_eq(x->username, y->username) && x->listener == y->listener;
	}
	case PLOG_REC_SESS_DISCONNECT:
	case PLOG_REC_SESS_END:
	case PLOG_REC_SESS_EXPIRE:
		return bytes_eq(a->u.sref.client_id, b->u.sref.client_id) &&
		       a->u.sref.time_ms == b->u.sref.time_ms;
	case PLOG_REC_SUB_ADD:
		return bytes_eq(a->u.sub.client_id, b->u.sub.client_id) &&
		       bytes_eq(a->u.sub.filter, b->u.sub.filter) &&
		       a->u.sub.options == b->u.sub.options && a->u.sub.sub_id == b->u.sub.sub_id;
	case PLOG_REC_SUB_REMOVE:
		return bytes_eq(a->u.sub.client_id, b->u.sub.client_id) &&
		       bytes_eq(a->u.sub.filter, b->u.sub.filter);
	case PLOG_REC_RETAIN_SET:
		return bytes_eq(a->u.ret.topic, b->u.ret.topic) && a->u.ret.qos == b->u.ret.qos &&
		       bytes_eq(a->u.ret.payload, b->u.ret.payload) &&
		       bytes_eq(a->u.ret.props, b->u.ret.props) &&
		       a->u.ret.expiry_ms == b->u.ret.expiry_ms;
	case PLOG_REC_RETAIN_CLEAR:
		return bytes_eq(a->u.ret.topic, b->u.ret.topic);
	case PLOG_REC_MSG_QUEUE: {
		const struct plog_rec_msg *x = &a->u.msg, *y = &b->u.msg;
		return bytes_eq(x->client_id, y->client_id) && x->msg_id == y->msg_id &&
		       x->packet_id == y->packet_id && x->qos == y->qos && x->retain == y->retain &&
		       bytes_eq(x->topic, y->topic) && bytes_eq(x->payload, y->payload) &&
		       bytes_eq(x->props, y->props) && x->expiry_ms == y->expiry_ms;
	}
	case PLOG_REC_MSG_DELIVER:
	case PLOG_REC_MSG_ACK:
	case PLOG_REC_QOS2_OUT_REL:
		return bytes_eq(a->u.mref.client_id, b->u.mref.client_id) &&
		       a->u.mref.msg_id == b->u.mref.msg_id &&
		       a->u.mref.packet_id == b->u.mref.packet_id;
	case PLOG_REC_QOS2_IN_RECV:
	case PLOG_REC_QOS2_IN_DONE:
		return bytes_eq(a->u.q2in.client_id, b->u.q2in.client_id) &&
		       a->u.q2in.packet_id == b->u.q2in.packet_id;
	case PLOG_REC_SESS_WILL: {
		const struct plog_will *x = &a->u.will.will, *y = &b->u.will.will;
		return bytes_eq(a->u.will.client_id, b->u.will.client_id) &&
		       x->present == y->present && x->qos == y->qos && x->retain == y->retain &&
		       x->delay_interval == y->delay_interval && bytes_eq(x->topic, y->topic) &&
		       bytes_eq(x->payload, y->payload) && bytes_eq(x->props, y->props);
	}
	}
	return false;
}

static void test_roundtrip_every_type(struct plog_gen *g)
{
	for (unsigned t = 1; t < PLOG_REC_TYPE_END; t++) {
		struct plog_rec in, out;
		plog_gen_example(g, (enum plog_rec_type)t, &in);
		in.seq = 1000 + t;
		uint8_t buf[1024], buf2[1024];
		int64_t n = plog_rec_encode(&in, buf, sizeof(buf));
		CHECK(n > (int64_t)PLOG_REC_OVERHEAD);
		CHECK_EQ(n, plog_rec_frame_size(&in));
		size_t flen = 0;
		CHECK_EQ(plog_rec_parse(buf, (size_t)n, &out, &flen), 0);
		CHECK_EQ(flen, n);
		CHECK(rec_eq(&in, &out));
		CHECK(strcmp(plog_rec_type_name(t), "unknown") != 0);
		/* Re-encoding the decoded record gives the very same bytes. */
		CHECK_EQ(plog_rec_encode(&out, buf2, sizeof(buf2)), n);
		CHECK(memcmp(buf, buf2, (size_t)n) == 0);
		/* Every proper prefix is "short", never a record, never a crash. */
		for (size_t cut = 0; cut < (size_t)n; cut++)
			CHECK_EQ(plog_rec_parse(buf, cut, &out, &flen), PLOG_PARSE_SHORT);
		/* Every single bit flip is caught (by the CRC or, for the length, as short or
		 * impossible). */
		int caught = 0;
		for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (plog_rec_parse(buf, (size_t)n, &out, &flen) != 0)
				caught++;
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		CHECK_EQ(caught, n * 8);
		/* ENOSPC when the buffer is one byte short. */
		CHECK_EQ(plog_rec_encode(&in, buf, (size_t)n - 1), -ENOSPC);
	}
}

/* Frame a raw payload with a valid CRC, to reach the field checks behind the CRC. */
static size_t frame_raw(uint8_t *buf, uint16_t type, uint16_t flags, const uint8_t *p, uint32_t n)
{
	memset(buf, 0, PLOG_REC_HDR_LEN);
	buf[0] = (uint8_t)n;
	buf[1] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)type;
	buf[6] = (uint8_t)flags;
	buf[8] = 1;
	memcpy(buf + PLOG_REC_HDR_LEN, p, n);
	uint32_t crc = plog_crc32c(0, buf, PLOG_REC_HDR_LEN + n);
	for (int i = 0; i < 4; i++)
		buf[PLOG_REC_HDR_LEN + n + i] = (uint8_t)(crc >> (8 * i));
	return PLOG_REC_OVERHEAD + n;
}

static void test_refusals(struct plog_gen *g)
{
	uint8_t buf[256];
	struct plog_rec r;
	size_t fl;
	/* q2in payload: str "c" + u16 id. */
	const uint8_t ok[] = { 1, 0, 'c', 7, 0 };
	size_t n = frame_raw(buf, PLOG_REC_QOS2_IN_RECV, 0, ok, sizeof(ok));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), 0);
	CHECK_EQ(r.u.q2in.packet_id, 7);
	n = frame_raw(buf, PLOG_REC_QOS2_IN_RECV, 1, ok, sizeof(ok));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT); /* flags */
	n = frame_raw(buf, 0, 0, ok, sizeof(ok));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT); /* type 0 */
	n = frame_raw(buf, PLOG_REC_TYPE_END, 0, ok, sizeof(ok));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT); /* future type */
	const uint8_t trailing[] = { 1, 0, 'c', 7, 0, 0 };
	n = frame_raw(buf, PLOG_REC_QOS2_IN_RECV, 0, trailing, sizeof(trailing));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT);
	const uint8_t overlong[] = { 9, 0, 'c', 7, 0 };
	n = frame_raw(buf, PLOG_REC_QOS2_IN_RECV, 0, overlong, sizeof(overlong));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT);
	/* retain set: str "t", qos 3 (bad), bin "", bin "", u64. */
	uint8_t ret[] = { 1, 0, 't', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	n = frame_raw(buf, PLOG_REC_RETAIN_SET, 0, ret, sizeof(ret));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT);
	ret[3] = 2;
	n = frame_raw(buf, PLOG_REC_RETAIN_SET, 0, ret, sizeof(ret));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), 0);
	/* sess_disconnect with a boolean of 2 is impossible; use sess_create's clean flag
	 * (a version 2 payload: it ends after the will flag). */
	uint8_t sc[] = { 1, 0, 'c', 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc, sizeof(sc));
	CHECK_EQ(plog_rec_parse_ver(buf, n, 2, &r, &fl), PLOG_PARSE_FORMAT);
	sc[4] = 1;
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc, sizeof(sc));
	CHECK_EQ(plog_rec_parse_ver(buf, n, 2, &r, &fl), 0);
	CHECK(!r.u.sess.has_username && r.u.sess.listener == 0);
	CHECK_EQ(plog_rec_parse_ver(buf, n, 1, &r, &fl), 0);
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT); /* v3: fields missing */
	sc[3] = 6; /* protocol version 6 */
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc, sizeof(sc));
	CHECK_EQ(plog_rec_parse_ver(buf, n, 2, &r, &fl), PLOG_PARSE_FORMAT);
	/* Version 3: + bool has_username, str username, u8 listener. */
	uint8_t sc3[] = { 1, 0, 'c', 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			  1, 2, 0, 'a', 'b', 3 };
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc3, sizeof(sc3));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), 0);
	CHECK(r.u.sess.has_username && r.u.sess.username.len == 2 &&
	      memcmp(r.u.sess.username.ptr, "ab", 2) == 0 && r.u.sess.listener == 3);
	CHECK_EQ(plog_rec_parse_ver(buf, n, 2, &r, &fl), PLOG_PARSE_FORMAT); /* trailing */
	sc3[18] = 2; /* has_username not a boolean */
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc3, sizeof(sc3));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), PLOG_PARSE_FORMAT);
	const uint8_t sc3_anon[] = { 1, 0, 'c', 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				     0, 1 };
	n = frame_raw(buf, PLOG_REC_SESS_CREATE, 0, sc3_anon, sizeof(sc3_anon));
	CHECK_EQ(plog_rec_parse(buf, n, &r, &fl), 0);
	CHECK(!r.u.sess.has_username && r.u.sess.listener == 1);
	/* sess_will did not exist in version 1. */
	const uint8_t sw[] = { 1, 0, 'c', 0 };
	n = frame_raw(buf, PLOG_REC_SESS_WILL, 0, sw, sizeof(sw));
	CHECK_EQ(plog_rec_parse_ver(buf, n, 2, &r, &fl), 0);
	CHECK_EQ(plog_rec_parse_ver(buf, n, 1, &r, &fl), PLOG_PARSE_FORMAT);
	/* Versions out of range. */
	CHECK_EQ(plog_rec_parse_ver(buf, n, 0, &r, &fl), PLOG_PARSE_FORMAT);
	CHECK_EQ(plog_rec_parse_ver(buf, n, PLOG_REC_VERSION + 1, &r, &fl), PLOG_PARSE_FORMAT);
	/* Impossible length: refused from the header alone. */
	memset(buf, 0xff, 16);
	CHECK_EQ(plog_rec_parse(buf, 16, &r, &fl), PLOG_PARSE_LENGTH);
	/* Encoder refusals. */
	struct plog_rec bad;
	plog_gen_example(g, PLOG_REC_RETAIN_SET, &bad);
	bad.u.ret.qos = 3;
	CHECK_EQ(plog_rec_frame_size(&bad), -EINVAL);
	plog_gen_example(g, PLOG_REC_SUB_ADD, &bad);
	static uint8_t big[70000];
	bad.u.sub.filter = (struct plog_bytes){ big, sizeof(big) };
	CHECK_EQ(plog_rec_encode(&bad, buf, sizeof(buf)), -EINVAL);
	bad.type = (enum plog_rec_type)99;
	CHECK_EQ(plog_rec_frame_size(&bad), -EINVAL);
	CHECK(strcmp(plog_rec_type_name(99), "unknown") == 0);
}

/* The same records in every format version: what each version keeps of a sess_create. */
static void test_versions(struct plog_gen *g)
{
	uint8_t buf[1024], buf2[1024];
	struct plog_rec in, out;
	size_t flen;
	plog_gen_example(g, PLOG_REC_SESS_CREATE, &in);
	REQUIRE(in.u.sess.has_username && in.u.sess.listener == 1);
	int64_t n3 = plog_rec_encode(&in, buf, sizeof(buf));
	CHECK_EQ(n3, plog_rec_encode_ver(&in, PLOG_REC_VERSION, buf2, sizeof(buf2)));
	CHECK(memcmp(buf, buf2, (size_t)n3) == 0);
	for (uint32_t v = 1; v < PLOG_REC_VERSION; v++) {
		int64_t n = plog_rec_encode_ver(&in, v, buf, sizeof(buf));
		CHECK_EQ(n, plog_rec_frame_size_ver(&in, v));
		CHECK_EQ(n, n3 - 1 - 2 - 5 - 1); /* bool, str "alice", u8 listener */
		CHECK_EQ(plog_rec_parse_ver(buf, (size_t)n, v, &out, &flen), 0);
		CHECK_EQ(flen, n);
		/* Everything but the identity, which reads as anonymous on listener 0. */
		struct plog_rec want = in;
		want.u.sess.has_username = false;
		want.u.sess.username = (struct plog_bytes){ NULL, 0 };
		want.u.sess.listener = 0;
		CHECK(rec_eq(&want, &out));
		CHECK(!rec_eq(&in, &out));
		/* Read by the wrong version, the frame is malformed, never misread. */
		CHECK_EQ(plog_rec_parse(buf, (size_t)n, &out, &flen), PLOG_PARSE_FORMAT);
		/* Re-encoding in its own version gives the same bytes. */
		CHECK_EQ(plog_rec_encode_ver(&out, v, buf2, sizeof(buf2)), n);
		CHECK(memcmp(buf, buf2, (size_t)n) == 0);
	}
	/* Types are versioned too; versions out of range are refused. */
	plog_gen_example(g, PLOG_REC_SESS_WILL, &in);
	CHECK(plog_rec_encode_ver(&in, 2, buf, sizeof(buf)) > 0);
	CHECK_EQ(plog_rec_encode_ver(&in, 1, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(plog_rec_encode_ver(&in, 0, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(plog_rec_encode_ver(&in, PLOG_REC_VERSION + 1, buf, sizeof(buf)), -EINVAL);
	/* An empty username is a username: not the same as anonymous. */
	plog_gen_example(g, PLOG_REC_SESS_CREATE, &in);
	in.u.sess.username = (struct plog_bytes){ NULL, 0 };
	int64_t n = plog_rec_encode(&in, buf, sizeof(buf));
	CHECK_EQ(plog_rec_parse(buf, (size_t)n, &out, &flen), 0);
	CHECK(out.u.sess.has_username && out.u.sess.username.len == 0 && rec_eq(&in, &out));
	in.u.sess.has_username = false;
	CHECK_EQ(plog_rec_encode(&in, buf2, sizeof(buf2)), n - 2);
	CHECK_EQ(plog_rec_parse(buf2, (size_t)n - 2, &out, &flen), 0);
	CHECK(!out.u.sess.has_username && rec_eq(&in, &out));
}

int main(void)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, 1, 16, 64) == 0);
	test_crc();
	test_roundtrip_every_type(&g);
	test_refusals(&g);
	test_versions(&g);
	plog_gen_free(&g);
	return pt_done("plog-record");
}
