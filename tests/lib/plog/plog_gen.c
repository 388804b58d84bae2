/**
 * @file plog_gen.c
 * Record generators for tests and benchmarks (see plog_gen.h). The mixed stream keeps, per
 * session, whether it exists and the window [qlo, qhi) of message ids queued, so that every
 * MSG_DELIVER / MSG_ACK / QOS2_OUT_REL names a queued message and applying the stream leaves
 * few orphans: the state a replay builds is then a meaningful thing to compare.
 */
#include "plog_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plog_gen_sess {
	uint8_t exists;
	uint8_t nsubs;
	uint64_t qlo, qhi; /* queued message ids */
	uint16_t q2in;     /* last inbound QoS 2 id received, 0 = none pending */
};

static uint64_t plog__rnd(struct plog_gen *g)
{
	/* xorshift64*: deterministic across platforms, good enough for workloads. */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ull;
}

static struct plog_bytes plog__b(const void *p, size_t n)
{
	return (struct plog_bytes){ .ptr = p, .len = (uint32_t)n };
}

int plog_gen_init(struct plog_gen *g, uint64_t seed, uint32_t nsess, uint32_t payload_len)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	g->nsess = nsess ? nsess : 1;
	g->payload_len = payload_len > sizeof(g->payload) ? sizeof(g->payload) : payload_len;
	g->sess = calloc(g->nsess, sizeof(*g->sess));
	if (g->sess == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(g->payload); i++)
		g->payload[i] = (uint8_t)("{\"t\":21.5,\"unit\":\"C\"} "[i % 23]);
	memcpy(g->props, "\x01\x01\x03\x00\x02on", 7); /* payload format + content type */
	g->time_ms = 1764000000000ull;
	return 0;
}

void plog_gen_free(struct plog_gen *g)
{
	free(g->sess);
	g->sess = NULL;
}

static struct plog_bytes plog__cid(struct plog_gen *g, uint32_t i)
{
	int n = snprintf(g->cid, sizeof(g->cid), "client-%08u", i);
	return plog__b(g->cid, (size_t)n);
}

static struct plog_bytes plog__topic(struct plog_gen *g, uint32_t i)
{
	int n = snprintf(g->topic, sizeof(g->topic), "site/%u/sensor/%u/temp", i % 97, i);
	return plog__b(g->topic, (size_t)n);
}

static struct plog_bytes plog__filter(struct plog_gen *g, uint32_t i, uint32_t k)
{
	int n = snprintf(g->filter, sizeof(g->filter), "site/%u/+/%u/#", i % 97, k);
	return plog__b(g->filter, (size_t)n);
}

void plog_gen_populate(struct plog_gen *g, uint64_t k, struct plog_rec *rec)
{
	uint32_t i = (uint32_t)(k / 2);
	memset(rec, 0, sizeof(*rec));
	if (k % 2 == 0) {
		rec->type = PLOG_REC_SESS_CREATE;
		rec->u.sess.client_id = plog__cid(g, i);
		rec->u.sess.proto_version = 5;
		rec->u.sess.expiry_interval = 3600;
		rec->u.sess.time_ms = g->time_ms + i;
		if (i < g->nsess)
			g->sess[i].exists = 1;
	} else {
		rec->type = PLOG_REC_SUB_ADD;
		rec->u.sub.client_id = plog__cid(g, i);
		rec->u.sub.filter = plog__filter(g, i, 0);
		rec->u.sub.options = 1;
		rec->u.sub.sub_id = i + 1;
		if (i < g->nsess)
			g->sess[i].nsubs = 1;
	}
}

void plog_gen_example(struct plog_gen *g, enum plog_rec_type type, struct plog_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->seq = 42;
	struct plog_bytes cid = plog__cid(g, 7);
	switch (type) {
	case PLOG_REC_SESS_CREATE:
		rec->u.sess = (struct plog_rec_sess){
			.client_id = cid, .proto_version = 5, .clean_start = false,
			.expiry_interval = PLOG_EXPIRY_NEVER, .time_ms = g->time_ms,
			.will = { .present = true, .qos = 1, .retain = true, .delay_interval = 30,
				  .topic = plog__b("will/7", 6), .payload = plog__b("bye", 3),
				  .props = plog__b(g->props, 7) },
			.has_username = true, .username = plog__b("alice", 5), .listener = 1,
		};
		break;
	case PLOG_REC_SESS_DISCONNECT:
	case PLOG_REC_SESS_END:
	case PLOG_REC_SESS_EXPIRE:
		rec->u.sref = (struct plog_rec_sref){ .client_id = cid, .time_ms = g->time_ms + 5 };
		break;
	case PLOG_REC_SUB_ADD:
	case PLOG_REC_SUB_REMOVE:
		rec->u.sub = (struct plog_rec_sub){ .client_id = cid,
						    .filter = plog__b("$share/g/a/+/c", 14),
						    .options = 0x2e, .sub_id = 268435455 };
		break;
	case PLOG_REC_RETAIN_SET:
	case PLOG_REC_RETAIN_CLEAR:
		rec->u.ret = (struct plog_rec_retain){ .topic = plog__b("a/b/c", 5), .qos = 2,
						       .payload = plog__b(g->payload, 100),
						       .props = plog__b(g->props, 7),
						       .expiry_ms = g->time_ms + 60000 };
		break;
	case PLOG_REC_MSG_QUEUE:
		rec->u.msg = (struct plog_rec_msg){ .client_id = cid, .msg_id = 1ull << 40,
						    .packet_id = 0, .qos = 2, .retain = true,
						    .topic = plog__b("a/b/c", 5),
						    .payload = plog__b(g->payload, 200),
						    .props = plog__b(g->props, 7),
						    .expiry_ms = g->time_ms + 1000 };
		break;
	case PLOG_REC_MSG_DELIVER:
	case PLOG_REC_MSG_ACK:
	case PLOG_REC_QOS2_OUT_REL:
		rec->u.mref = (struct plog_rec_mref){ .client_id = cid, .msg_id = 1ull << 40,
						      .packet_id = 65535 };
		break;
	case PLOG_REC_QOS2_IN_RECV:
	case PLOG_REC_QOS2_IN_DONE:
		rec->u.q2in = (struct plog_rec_q2in){ .client_id = cid, .packet_id = 513 };
		break;
	case PLOG_REC_SESS_WILL:
		rec->u.will = (struct plog_rec_will){
			.client_id = cid,
			.will = { .present = true, .qos = 2, .retain = false, .delay_interval = 600,
				  .topic = plog__b("will/7", 6), .payload = plog__b("later", 5),
				  .props = plog__b(g->props, 7) },
		};
		break;
	}
}

void plog_gen_next(struct plog_gen *g, struct plog_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	uint64_t r = plog__rnd(g);
	uint32_t i = (uint32_t)((r >> 8) % g->nsess);
	struct plog_gen_sess *s = &g->sess[i];
	unsigned pick = (unsigned)(r % 100);
	g->time_ms += (r >> 40) % 3;
	struct plog_bytes cid = plog__cid(g, i);
	if (!s->exists) {
		rec->type = PLOG_REC_SESS_CREATE;
		rec->u.sess = (struct plog_rec_sess){ .client_id = cid, .proto_version = 3 + (r >> 20) % 3,
						      .clean_start = (r >> 22) & 1,
						      .expiry_interval = 600, .time_ms = g->time_ms };
		if ((r >> 23) & 1)
			rec->u.sess.will = (struct plog_will){ .present = true, .qos = 1,
							       .topic = plog__topic(g, i),
							       .payload = plog__b("gone", 4) };
		/* Format 3: a user on one of two listeners, or anonymous (bits not used above,
		 * so the stream is otherwise that of format 2). */
		if ((r >> 24) & 1) {
			rec->u.sess.has_username = true;
			rec->u.sess.username = (r >> 25) & 1 ? plog__b("alice", 5) : plog__b("", 0);
		}
		rec->u.sess.listener = (uint8_t)((r >> 26) & 1);
		s->exists = 1;
		s->nsubs = 0;
		s->qlo = s->qhi = 1;
		s->q2in = 0;
		return;
	}
	if (pick < 30) {
		rec->type = PLOG_REC_MSG_QUEUE;
		rec->u.msg = (struct plog_rec_msg){ .client_id = cid, .msg_id = s->qhi++,
						    .qos = 1 + (r >> 30) % 2, .topic = plog__topic(g, i),
						    .payload = plog__b(g->payload, g->payload_len),
						    .props = plog__b(g->props, (r >> 33) & 1 ? 7 : 0) };
	} else if (pick < 45 && s->qlo < s->qhi) {
		rec->type = PLOG_REC_MSG_DELIVER;
		rec->u.mref = (struct plog_rec_mref){ .client_id = cid, .msg_id = s->qlo,
						      .packet_id = (uint16_t)(s->qlo % 65535 + 1) };
	} else if (pick < 65 && s->qlo < s->qhi) {
		rec->type = PLOG_REC_MSG_ACK;
		rec->u.mref = (struct plog_rec_mref){ .client_id = cid, .msg_id = s->qlo++,
						      .packet_id = (uint16_t)((s->qlo - 1) % 65535 + 1) };
	} else if (pick < 70 && s->qlo < s->qhi) {
		rec->type = PLOG_REC_QOS2_OUT_REL;
		rec->u.mref = (struct plog_rec_mref){ .client_id = cid, .msg_id = s->qlo,
						      .packet_id = (uint16_t)(s->qlo % 65535 + 1) };
	} else if (pick < 78) {
		rec->type = s->nsubs < 4 || (r >> 35) & 1 ? PLOG_REC_SUB_ADD : PLOG_REC_SUB_REMOVE;
		uint32_t k = (uint32_t)((r >> 36) % (s->nsubs + 1u));
		rec->u.sub = (struct plog_rec_sub){ .client_id = cid, .filter = plog__filter(g, i, k),
						    .options = (uint8_t)((r >> 44) % 3),
						    .sub_id = (uint32_t)(r >> 48) };
		if (rec->type == PLOG_REC_SUB_ADD && k == s->nsubs)
			s->nsubs++;
		else if (rec->type == PLOG_REC_SUB_REMOVE && s->nsubs > 0 && k + 1 == s->nsubs)
			s->nsubs--;
	} else if (pick < 86) {
		rec->type = (r >> 37) % 5 ? PLOG_REC_RETAIN_SET : PLOG_REC_RETAIN_CLEAR;
		rec->u.ret = (struct plog_rec_retain){ .topic = plog__topic(g, (uint32_t)(r >> 40) % 5000),
						       .qos = (r >> 50) % 3,
						       .payload = plog__b(g->payload, g->payload_len ? g->payload_len : 1),
						       .props = plog__b(g->props, 0) };
	} else if (pick < 94) {
		if (s->q2in) {
			rec->type = PLOG_REC_QOS2_IN_DONE;
			rec->u.q2in = (struct plog_rec_q2in){ .client_id = cid, .packet_id = s->q2in };
			s->q2in = 0;
		} else {
			s->q2in = (uint16_t)((r >> 24) % 65535 + 1);
			rec->type = PLOG_REC_QOS2_IN_RECV;
			rec->u.q2in = (struct plog_rec_q2in){ .client_id = cid, .packet_id = s->q2in };
		}
	} else if (pick < 97) {
		rec->type = PLOG_REC_SESS_DISCONNECT;
		rec->u.sref = (struct plog_rec_sref){ .client_id = cid, .time_ms = g->time_ms };
	} else if (pick < 98) {
		/* A delayed will kept (or dropped) past a disconnect. */
		rec->type = PLOG_REC_SESS_WILL;
		rec->u.will = (struct plog_rec_will){ .client_id = cid };
		if ((r >> 26) & 1)
			rec->u.will.will = (struct plog_will){ .present = true, .qos = 1,
							       .delay_interval = 30,
							       .topic = plog__topic(g, i),
							       .payload = plog__b("late", 4) };
	} else {
		rec->type = pick == 98 ? PLOG_REC_SESS_END : PLOG_REC_SESS_EXPIRE;
		rec->u.sref = (struct plog_rec_sref){ .client_id = cid, .time_ms = g->time_ms };
		s->exists = 0;
	}
	if (rec->type == 0) { /* fell through a branch whose precondition failed */
		rec->type = PLOG_REC_SESS_DISCONNECT;
		rec->u.sref = (struct plog_rec_sref){ .client_id = cid, .time_ms = g->time_ms };
	}
}
