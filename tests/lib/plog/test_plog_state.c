/**
 * @file test_plog_state.c
 * The replica: applying every record type gives the expected sessions, subscriptions, queues,
 * QoS 2 ids and retained messages; references to absent things are counted as orphans;
 * memory accounting returns to its baseline; emit -> apply reproduces a state exactly;
 * a session's username and listener follow its last sess_create (a takeover by another
 * user replaces them) and take part in equality.
 */
#include "plog_test.h"

#include "plog/plog_state.h"
#include "plog_gen.h"

#define B(s) ((struct plog_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })

static struct plog_state *st;

static void apply(struct plog_rec r)
{
	CHECK_EQ(plog_state_apply(st, &r), 0);
}

static struct plog_rec sess_create(const char *cid, bool clean, bool will)
{
	struct plog_rec r = { .type = PLOG_REC_SESS_CREATE };
	r.u.sess.client_id = (struct plog_bytes){ (const uint8_t *)cid, (uint32_t)strlen(cid) };
	r.u.sess.proto_version = 5;
	r.u.sess.clean_start = clean;
	r.u.sess.expiry_interval = 120;
	r.u.sess.time_ms = 1000;
	if (will)
		r.u.sess.will = (struct plog_will){ .present = true, .qos = 1, .topic = B("w/t"),
						    .payload = B("bye"), .props = B("\x03\x00\x01x") };
	return r;
}

static struct plog_rec sref(enum plog_rec_type t, const char *cid, uint64_t time_ms)
{
	struct plog_rec r = { .type = t };
	r.u.sref.client_id = (struct plog_bytes){ (const uint8_t *)cid, (uint32_t)strlen(cid) };
	r.u.sref.time_ms = time_ms;
	return r;
}

static struct plog_rec sub(enum plog_rec_type t, const char *filter, uint8_t opts, uint32_t id)
{
	struct plog_rec r = { .type = t };
	r.u.sub.client_id = B("c1");
	r.u.sub.filter = (struct plog_bytes){ (const uint8_t *)filter, (uint32_t)strlen(filter) };
	r.u.sub.options = opts;
	r.u.sub.sub_id = id;
	return r;
}

static struct plog_rec ret(enum plog_rec_type t, const char *topic, const char *payload)
{
	struct plog_rec r = { .type = t };
	r.u.ret.topic = (struct plog_bytes){ (const uint8_t *)topic, (uint32_t)strlen(topic) };
	r.u.ret.qos = 1;
	r.u.ret.payload = (struct plog_bytes){ (const uint8_t *)payload, (uint32_t)strlen(payload) };
	r.u.ret.expiry_ms = 77;
	return r;
}

static struct plog_rec msg(uint64_t id)
{
	struct plog_rec r = { .type = PLOG_REC_MSG_QUEUE };
	r.u.msg.client_id = B("c1");
	r.u.msg.msg_id = id;
	r.u.msg.qos = 2;
	r.u.msg.topic = B("m/t");
	r.u.msg.payload = B("hello");
	r.u.msg.props = B("\x01\x01");
	return r;
}

static struct plog_rec mref(enum plog_rec_type t, uint64_t id, uint16_t pid)
{
	struct plog_rec r = { .type = t };
	r.u.mref.client_id = B("c1");
	r.u.mref.msg_id = id;
	r.u.mref.packet_id = pid;
	return r;
}

static struct plog_rec q2(enum plog_rec_type t, uint16_t pid)
{
	struct plog_rec r = { .type = t };
	r.u.q2in.client_id = B("c1");
	r.u.q2in.packet_id = pid;
	return r;
}

static void test_every_type(void)
{
	st = plog_state_new();
	REQUIRE(st != NULL);
	struct plog_state_stats s;
	const struct plog_sess *c1;

	apply(sess_create("c1", true, true));
	c1 = plog_state_session(st, "c1", 2);
	REQUIRE(c1 != NULL);
	CHECK(c1->connected);
	CHECK(c1->will.present);
	CHECK_EQ(c1->will.payload.len, 3);
	CHECK(memcmp(c1->will.topic.ptr, "w/t", 3) == 0);
	CHECK_EQ(c1->expiry_interval, 120);
	CHECK(plog_state_session(st, "c2", 2) == NULL);

	apply(sub(PLOG_REC_SUB_ADD, "a/+", 1, 3));
	apply(sub(PLOG_REC_SUB_ADD, "b/#", 0, 0));
	apply(sub(PLOG_REC_SUB_ADD, "a/+", 2, 4)); /* replaces, keeps its place */
	CHECK_EQ(c1->nsubs, 2);
	CHECK(strcmp(c1->subs->filter, "a/+") == 0);
	CHECK_EQ(c1->subs->options, 2);
	CHECK_EQ(c1->subs->sub_id, 4);
	apply(sub(PLOG_REC_SUB_REMOVE, "b/#", 0, 0));
	CHECK_EQ(c1->nsubs, 1);
	apply(sub(PLOG_REC_SUB_REMOVE, "zzz", 0, 0));
	plog_state_stats(st, &s);
	CHECK_EQ(s.orphans, 1);
	CHECK_EQ(s.subscriptions, 1);

	apply(ret(PLOG_REC_RETAIN_SET, "t/1", "x"));
	apply(ret(PLOG_REC_RETAIN_SET, "t/1", "yy"));
	apply(ret(PLOG_REC_RETAIN_SET, "t/2", "z"));
	apply(ret(PLOG_REC_RETAIN_CLEAR, "t/2", ""));
	apply(ret(PLOG_REC_RETAIN_CLEAR, "none", ""));
	const struct plog_retained *rt = plog_state_retained(st, "t/1", 3);
	REQUIRE(rt != NULL);
	CHECK_EQ(rt->payload.len, 2);
	CHECK(memcmp(rt->payload.ptr, "yy", 2) == 0);
	CHECK_EQ(rt->expiry_ms, 77);
	CHECK(plog_state_retained(st, "t/2", 3) == NULL);
	plog_state_stats(st, &s);
	CHECK_EQ(s.retained, 1);
	CHECK_EQ(s.orphans, 1);

	apply(msg(1));
	apply(msg(2));
	apply(msg(3));
	apply(msg(3)); /* duplicate id: ignored, counted */
	CHECK_EQ(c1->nqueued, 3);
	apply(mref(PLOG_REC_MSG_DELIVER, 1, 10));
	CHECK_EQ(c1->qhead->state, PLOG_QMSG_DELIVERED);
	CHECK_EQ(c1->qhead->packet_id, 10);
	apply(mref(PLOG_REC_MSG_ACK, 1, 10));
	CHECK_EQ(c1->nqueued, 2);
	CHECK_EQ(c1->qhead->msg_id, 2);
	CHECK(memcmp(c1->qhead->payload.ptr, "hello", 5) == 0);
	apply(mref(PLOG_REC_QOS2_OUT_REL, 2, 11));
	CHECK_EQ(c1->qhead->state, PLOG_QMSG_RELEASED);
	CHECK_EQ(c1->qhead->packet_id, 11);
	CHECK_EQ(c1->qhead->payload.len, 0);
	CHECK_EQ(c1->qhead->next->msg_id, 3);
	CHECK(c1->qtail->prev == c1->qhead);
	apply(mref(PLOG_REC_MSG_ACK, 2, 11));
	apply(mref(PLOG_REC_MSG_ACK, 99, 1));
	CHECK_EQ(c1->nqueued, 1);
	CHECK(c1->qhead == c1->qtail);
	plog_state_stats(st, &s);
	CHECK_EQ(s.queued, 1);
	CHECK_EQ(s.orphans, 3);

	apply(q2(PLOG_REC_QOS2_IN_RECV, 5));
	apply(q2(PLOG_REC_QOS2_IN_RECV, 3));
	apply(q2(PLOG_REC_QOS2_IN_RECV, 5));
	CHECK_EQ(c1->nq2in, 2);
	CHECK_EQ(c1->q2in[0], 3);
	CHECK_EQ(c1->q2in[1], 5);
	apply(q2(PLOG_REC_QOS2_IN_DONE, 3));
	apply(q2(PLOG_REC_QOS2_IN_DONE, 77));
	CHECK_EQ(c1->nq2in, 1);
	CHECK_EQ(c1->q2in[0], 5);

	apply(sref(PLOG_REC_SESS_DISCONNECT, "c1", 999));
	CHECK(!c1->connected);
	CHECK(!c1->will.present);
	CHECK_EQ(c1->time_ms, 999);
	apply(sess_create("c1", false, false)); /* resume keeps everything */
	c1 = plog_state_session(st, "c1", 2);
	CHECK(c1->connected);
	CHECK_EQ(c1->nsubs, 1);
	CHECK_EQ(c1->nqueued, 1);
	CHECK_EQ(c1->nq2in, 1);
	apply(sess_create("c1", true, false)); /* clean start discards it */
	c1 = plog_state_session(st, "c1", 2);
	REQUIRE(c1 != NULL);
	CHECK_EQ(c1->nsubs, 0);
	CHECK_EQ(c1->nqueued, 0);
	CHECK_EQ(c1->nq2in, 0);
	plog_state_stats(st, &s);
	CHECK_EQ(s.sessions, 1);
	CHECK_EQ(s.subscriptions, 0);
	CHECK_EQ(s.queued, 0);
	CHECK_EQ(s.q2in, 0);

	apply(sess_create("c2", false, false));
	apply(sess_create("c3", false, false));
	CHECK(plog_state_session(st, "c2", 2) != NULL);
	apply(sref(PLOG_REC_SESS_END, "c2", 5));
	apply(sref(PLOG_REC_SESS_EXPIRE, "c3", 6));
	CHECK(plog_state_session(st, "c2", 2) == NULL);
	CHECK(plog_state_session(st, "c3", 2) == NULL);
	apply(sref(PLOG_REC_SESS_EXPIRE, "c3", 7));
	plog_state_stats(st, &s);
	CHECK_EQ(s.sessions, 1);
	CHECK_EQ(s.orphans, 5);
	CHECK_EQ(s.applied, 33);
	struct plog_rec bad = { .type = (enum plog_rec_type)99 };
	CHECK_EQ(plog_state_apply(st, &bad), -EINVAL);
	plog_state_free(st);
}

static int emit_apply(void *arg, const struct plog_rec *rec);

static struct plog_rec sess_as(const char *cid, bool clean, const char *user, uint8_t lst)
{
	struct plog_rec r = sess_create(cid, clean, false);
	r.u.sess.has_username = user != NULL;
	if (user != NULL)
		r.u.sess.username = (struct plog_bytes){ (const uint8_t *)user,
							 (uint32_t)strlen(user) };
	r.u.sess.listener = lst;
	return r;
}

static bool user_is(const struct plog_sess *ps, const char *user, uint8_t lst)
{
	if (ps == NULL || ps->listener != lst)
		return false;
	if (user == NULL)
		return !ps->has_username && ps->username.len == 0;
	return ps->has_username && ps->username.len == strlen(user) &&
	       (ps->username.len == 0 || memcmp(ps->username.ptr, user, ps->username.len) == 0);
}

/* The identity of the last connection: set by every sess_create, resumed or clean. */
static void test_identity(void)
{
	st = plog_state_new();
	struct plog_state_stats s;
	plog_state_stats(st, &s);
	uint64_t base = s.mem_bytes;
	apply(sess_as("c1", false, "alice", 1));
	CHECK(user_is(plog_state_session(st, "c1", 2), "alice", 1));
	apply(sub(PLOG_REC_SUB_ADD, "a/#", 1, 0));
	apply(sref(PLOG_REC_SESS_DISCONNECT, "c1", 2000));
	CHECK(user_is(plog_state_session(st, "c1", 2), "alice", 1)); /* kept offline */
	/* The same client id back as another user (a takeover), session resumed. */
	apply(sess_as("c1", false, "bob", 0));
	const struct plog_sess *c1 = plog_state_session(st, "c1", 2);
	CHECK(user_is(c1, "bob", 0) && c1->nsubs == 1);
	/* Anonymous now, then an empty username (not the same). */
	apply(sess_as("c1", false, NULL, 2));
	CHECK(user_is(plog_state_session(st, "c1", 2), NULL, 2));
	apply(sess_as("c1", false, "", 0));
	CHECK(user_is(plog_state_session(st, "c1", 2), "", 0));
	/* Clean start: a fresh session with the new identity. */
	apply(sess_as("c1", true, "carol", 3));
	c1 = plog_state_session(st, "c1", 2);
	CHECK(user_is(c1, "carol", 3) && c1->nsubs == 0);
	/* Emitted and applied again: the same; another identity: not equal. */
	struct plog_state *copy = plog_state_new();
	CHECK_EQ(plog_state_emit(st, emit_apply, copy), 0);
	CHECK(plog_state_equal(st, copy));
	CHECK(user_is(plog_state_session(copy, "c1", 2), "carol", 3));
	struct plog_state *saved = st;
	st = copy;
	apply(sess_as("c1", false, "carol", 4));
	CHECK(!plog_state_equal(saved, copy));
	apply(sess_as("c1", false, "carl", 3));
	CHECK(!plog_state_equal(saved, copy));
	apply(sess_as("c1", false, NULL, 3));
	CHECK(!plog_state_equal(saved, copy));
	apply(sess_as("c1", true, "carol", 3));
	CHECK(plog_state_equal(saved, copy));
	st = saved;
	plog_state_free(copy);
	apply(sref(PLOG_REC_SESS_END, "c1", 0));
	plog_state_stats(st, &s);
	CHECK_EQ(s.mem_bytes - 64 * sizeof(void *), base); /* but the bucket array */
	plog_state_free(st);
}

static void test_memory_accounting(void)
{
	st = plog_state_new();
	struct plog_state_stats s;
	apply(sess_create("c1", false, false));
	apply(sref(PLOG_REC_SESS_END, "c1", 0));
	apply(ret(PLOG_REC_RETAIN_SET, "t/1", "x"));
	apply(ret(PLOG_REC_RETAIN_CLEAR, "t/1", ""));
	plog_state_stats(st, &s);
	uint64_t base = s.mem_bytes;
	apply(sess_create("c1", false, true));
	apply(sub(PLOG_REC_SUB_ADD, "a/+", 1, 3));
	apply(msg(1));
	apply(msg(2));
	apply(mref(PLOG_REC_QOS2_OUT_REL, 2, 11));
	apply(q2(PLOG_REC_QOS2_IN_RECV, 5));
	apply(ret(PLOG_REC_RETAIN_SET, "t/1", "payload"));
	apply(sess_create("c1", false, true)); /* replaces the will */
	apply(sess_as("c1", false, "alice", 1)); /* and the username */
	apply(sess_as("c1", false, "bob", 1));
	plog_state_stats(st, &s);
	CHECK(s.mem_bytes > base + 100);
	apply(sref(PLOG_REC_SESS_END, "c1", 0));
	apply(ret(PLOG_REC_RETAIN_CLEAR, "t/1", ""));
	plog_state_stats(st, &s);
	CHECK_EQ(s.mem_bytes, base);
	plog_state_free(st);
}

static int emit_apply(void *arg, const struct plog_rec *rec)
{
	return plog_state_apply(arg, rec);
}

static void test_emit_equal(void)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, 3, 300, 32) == 0);
	st = plog_state_new();
	for (int i = 0; i < 30000; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		CHECK_EQ(plog_state_apply(st, &r), 0);
	}
	struct plog_state_stats s;
	plog_state_stats(st, &s);
	CHECK(s.sessions > 100);
	CHECK(s.subscriptions > 100);
	CHECK(s.queued > 100);
	CHECK(s.retained > 100);
	CHECK(s.q2in > 10);
	struct plog_state *copy = plog_state_new();
	CHECK_EQ(plog_state_emit(st, emit_apply, copy), 0);
	CHECK(plog_state_equal(st, copy));
	CHECK(plog_state_equal(copy, st));
	struct plog_state_stats c;
	plog_state_stats(copy, &c);
	CHECK_EQ(c.orphans, 0); /* the emitted description is self-consistent */
	CHECK_EQ(c.mem_bytes <= s.mem_bytes + 4096, 1);
	/* One more change on one side and they differ. */
	struct plog_state *saved = st;
	st = copy;
	apply(sess_create("brand-new", false, false));
	st = saved;
	CHECK(!plog_state_equal(st, copy));
	CHECK(!plog_state_equal(copy, st));
	plog_state_free(copy);
	plog_state_free(st);
	plog_gen_free(&g);
}

int main(void)
{
	test_every_type();
	test_memory_accounting();
	test_emit_equal();
	test_identity();
	return pt_done("plog-state");
}
