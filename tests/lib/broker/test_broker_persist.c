/**
 * @file test_broker_persist.c
 * The broker's persistence hook in-process (brk_persist.c): the records it hands over
 * rebuild the right replica (plog_state), sync mode holds PUBACK/PUBREC until the records
 * are durable (also for subscribers on another worker), async acknowledges at once, and
 * brk_restore() rebuilds sessions, queued messages and retained messages from a replica,
 * each session as the user it was on the listener it was (ACLs of wills and deliveries).
 * Runs with 1 and 2 workers on the fake transport of brk_fake.h.
 */
#include <time.h>

#include "auth/auth_acl.h"
#include "brk_fake.h"
#include "plog/plog_state.h"

static unsigned NW;
#define OTHER (NW - 1)

struct pw {
	struct plog_state *st;       /* shared replica (one thread drives every worker) */
	uint64_t seq, durable;
	unsigned records;
};

static struct pw PW[FK_WORKERS];

static int64_t t_persist(void *ctx, const struct plog_rec *rec)
{
	struct pw *p = ctx;
	if (plog_state_apply(p->st, rec) != 0)
		return -12;
	p->records++;
	return (int64_t)++p->seq;
}

/* Fenced records (ops->persist_after_all): the fake applies every record when it is
 * handed over, so the order of calls is the order a control core honouring the fence
 * applies them in. */
static unsigned T_FENCED;

static int64_t t_persist_after_all(void *ctx, const struct plog_rec *rec)
{
	T_FENCED++;
	return t_persist(ctx, rec);
}

static uint64_t t_durable(void *ctx)
{
	return ((struct pw *)ctx)->durable;
}

/* What the control core has not taken yet, as the test says (records; bytes 0). */
static uint64_t T_BACKLOG;

static uint64_t t_backlog(void *ctx, uint64_t *bytes)
{
	(void)ctx;
	*bytes = 0;
	return T_BACKLOG;
}

static void t_all_durable(void)
{
	for (unsigned i = 0; i < FK_WORKERS; i++)
		PW[i].durable = PW[i].seq;
}

/* Cross-worker posts go to the bench's inboxes (fk_post wants the bench as its ctx; the
 * ops' ctx is the worker's struct pw). */
static struct fk_bench *T_B;

static int t_post(void *ctx, unsigned to, const struct brk_xmsg *m)
{
	(void)ctx;
	return fk_post(T_B, to, m);
}

/* fk_bench_init with the persistence ops. */
static void t_bench(struct fk_bench *b, struct plog_state *st, bool sync)
{
	memset(b, 0, sizeof(*b));
	conf_defaults(&b->cfg);
	b->cfg.sys_interval = 0;
	b->n = NW;
	b->now = 1000000000ull;
	b->sh = brk_shared_create(&b->cfg, NW, b->now);
	T_B = b;
	for (unsigned i = 0; i < NW; i++) {
		memset(&PW[i], 0, sizeof(PW[i]));
		PW[i].st = st;
		struct brk_worker_ops o = { .post = t_post, .ctx = &PW[i], .persist = t_persist,
					    .persist_after_all = t_persist_after_all,
					    .durable = sync ? t_durable : NULL,
					    .backlog = t_backlog };
		b->w[i] = brk_worker_create(b->sh, i, &o);
		brk_worker_tick(b->w[i], b->now);
	}
	b->lst.port = 1883;
	b->lst.max_connections = -1;
	b->lst.max_topic_alias = b->cfg.max_topic_alias;
	b->lst.allow_zero_length_clientid = b->cfg.allow_zero_length_clientid;
}

static void test_sync_hold_and_replica(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	t_bench(&b, st, true);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "per", false);
	p = fk_subscribe("q/#", 1, 1);
	fk_send_pkt(s, &p);
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(s, &r)); /* SUBACK held: the sub_add record is not durable */
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK && r.suback.codes.p[0] == 1);
	brk_conn_lost(s->c);
	s->lost = true;
	const struct plog_sess *ps = plog_state_session(st, "per", 3);
	CHECK(ps != NULL && ps->nsubs == 1 && !ps->connected);

	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	p = fk_publish("q/1", "m1", 1, 5, false);
	fk_send_pkt(pub, &p);
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(pub, &r)); /* held: the msg_queue record is not durable */
	t_all_durable();
	fk_tick(&b, 1000000);
	if (NW > 1) {
		/* the subscriber's worker published its mark; the publisher's sees it now */
		fk_tick(&b, 1000000);
	}
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 5);

	p = fk_publish("q/2", "m2", 2, 6, false);
	fk_send_pkt(pub, &p);
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(pub, &r));
	t_all_durable();
	fk_tick(&b, 1000000);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC && r.ack.packet_id == 6);

	p = fk_publish("r/1", "kept", 1, 7, true);
	fk_send_pkt(pub, &p);
	t_all_durable();
	fk_tick(&b, 1000000);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 7);

	ps = plog_state_session(st, "per", 3);
	CHECK(ps != NULL && ps->nqueued == 2);
	CHECK(plog_state_retained(st, "r/1", 3) != NULL);
	CHECK(plog_state_session(st, "pp", 2) == NULL); /* clean sessions are not logged */
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);

	/* Restart: a fresh broker rebuilt from the replica. */
	t_bench(&b, st, true);
	CHECK(brk_restore(b.sh, st, b.now, NULL, NULL) == 0);
	struct fk_conn *s2 = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "per", false, 60);
	fk_send_pkt(s2, &p);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_CONNACK && r.connack.session_present);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "q/1", "m1") && r.publish.qos == 1);
	p = fk_ack(MQTT_PUBACK, r.publish.packet_id);
	fk_send_pkt(s2, &p);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "q/2", "m2") && r.publish.qos == 1);
	p = fk_ack(MQTT_PUBACK, r.publish.packet_id);
	fk_send_pkt(s2, &p);
	/* the subscription came back too */
	struct fk_conn *pub2 = fk_client(&b, OTHER, MQTT_V311, "pp2", true);
	p = fk_publish("q/3", "m3", 0, 0, false);
	fk_send_pkt(pub2, &p);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "q/3", "m3"));
	/* and the retained message */
	struct fk_conn *rs = fk_client(&b, 0, MQTT_V311, "rs", true);
	CHECK(fk_subscribed(rs, "r/#", 1));
	CHECK(fk_recv(rs, &r) && fk_is_pub(&r, "r/1", "kept") && r.publish.retain);
	t_all_durable();
	fk_tick(&b, 1000000);
	ps = plog_state_session(st, "per", 3);
	CHECK(ps != NULL && ps->nqueued == 0); /* acks logged */
	fk_free(s2);
	fk_free(pub2);
	fk_free(rs);
	fk_bench_fini(&b);
	plog_state_free(st);
}

static void test_async_acks_at_once(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	t_bench(&b, st, false);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "per5", false);
	CHECK(fk_subscribed(s, "q/#", 2));
	brk_conn_lost(s->c);
	s->lost = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	p = fk_publish("q/1", "m1", 2, 5, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC && r.ack.packet_id == 5);
	const struct plog_sess *ps = plog_state_session(st, "per5", 4);
	CHECK(ps != NULL && ps->nqueued == 1 && ps->expiry_interval == 3600);
	/* a clean connection with the same id ends the durable session */
	struct fk_conn *c = fk_client(&b, 0, MQTT_V311, "per5", true);
	fk_tick(&b, 1000000);
	CHECK(plog_state_session(st, "per5", 4) == NULL);
	fk_free(s);
	fk_free(c);
	fk_free(pub);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* A copy of the replica as it is now: what a kill -9 at this moment leaves on disk. */
static int t_copy_cb(void *arg, const struct plog_rec *rec)
{
	return plog_state_apply(arg, rec);
}

static struct plog_state *t_copy(const struct plog_state *st)
{
	struct plog_state *c = plog_state_new();
	if (c == NULL || plog_state_emit(st, t_copy_cb, c) != 0 || !plog_state_equal(st, c)) {
		fprintf(stderr, "t_copy: the replica does not copy\n");
		abort();
	}
	return c;
}

static struct mqtt_packet t_unsubscribe(const char *filter, uint16_t pid)
{
	static struct mqtt_str f;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	f.p = (const uint8_t *)filter;
	f.len = (uint32_t)strlen(filter);
	p.type = MQTT_UNSUBSCRIBE;
	p.flags = 2;
	p.subscribe.packet_id = pid;
	p.subscribe.filters = &f;
	p.subscribe.count = 1;
	return p;
}

/* Sync mode: a durable session's SUBACK waits for its sub_add record and the retained
 * messages wait behind it; UNSUBACK waits for sub_remove; a clean session's SUBACK does
 * not wait. */
static void test_suback_held(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	t_bench(&b, st, true);
	struct mqtt_packet r, p;
	struct fk_conn *pub = fk_client(&b, OTHER, MQTT_V311, "pp", true);
	p = fk_publish("k/1", "ret", 1, 3, true);
	fk_send_pkt(pub, &p);
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 3);

	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "per", false);
	p = fk_subscribe("k/#", 1, 9);
	fk_send_pkt(s, &p);
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(s, &r)); /* neither the SUBACK nor the retained message */
	/* a clean session on the same worker meanwhile: answered at once, retained too */
	struct fk_conn *cl = fk_client(&b, OTHER, MQTT_V311, "cl", true);
	p = fk_subscribe("k/#", 1, 4);
	fk_send_pkt(cl, &p);
	CHECK(fk_recv(cl, &r) && r.type == MQTT_SUBACK && r.suback.packet_id == 4);
	CHECK(fk_recv(cl, &r) && fk_is_pub(&r, "k/1", "ret") && r.publish.retain);
	CHECK(!fk_recv(s, &r));
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK && r.suback.packet_id == 9 &&
	      r.suback.codes.len == 1 && r.suback.codes.p[0] == 1);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "k/1", "ret") && r.publish.retain);
	const struct plog_sess *ps = plog_state_session(st, "per", 3);
	CHECK(ps != NULL && ps->nsubs == 1);

	/* UNSUBACK waits for sub_remove; a PUBLISH acknowledged after it stays after it */
	p = t_unsubscribe("k/#", 10);
	fk_send_pkt(s, &p);
	p = fk_publish("z/1", "x", 1, 11, false);
	fk_send_pkt(s, &p);
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(s, &r));
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s, &r) && r.type == MQTT_UNSUBACK && r.ack.packet_id == 10);
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 11);
	ps = plog_state_session(st, "per", 3);
	CHECK(ps != NULL && ps->nsubs == 0);
	fk_free(s);
	fk_free(cl);
	fk_free(pub);
	fk_bench_fini(&b);
	plog_state_free(st);
}

static struct mqtt_packet t_connect_will(const char *id, uint32_t delay)
{
	struct mqtt_packet p = fk_connect(MQTT_V5, id, false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 3600;
	p.connect.will = true;
	p.connect.will_qos = 1;
	p.connect.will_topic.p = (const uint8_t *)"will/x";
	p.connect.will_topic.len = 6;
	p.connect.will_payload.p = (const uint8_t *)id;
	p.connect.will_payload.len = (uint32_t)strlen(id);
	if (delay != 0) {
		MQTT_PROP_SET(&p.connect.will_props, MQTT_PROP_WILL_DELAY);
		p.connect.will_props.will_delay = delay;
	}
	return p;
}

/* Restart from @p img with a will subscriber: @p at_once lists the wills due at once,
 * @p later those due after the 30 s delay ('0': w0's, '3': w30's; payload = client id). */
static void t_restart_wills(struct plog_state *img, const char *at_once, const char *later)
{
	struct fk_bench b;
	struct mqtt_packet r;
	t_bench(&b, img, false);
	CHECK(brk_restore(b.sh, img, b.now, NULL, NULL) == 0);
	struct fk_conn *ws = fk_client(&b, 0, MQTT_V311, "ws", true);
	CHECK(fk_subscribed(ws, "will/#", 1));
	fk_tick(&b, 200000000); /* the session wheel's granularity is 100 ms */
	for (const char *e = at_once; *e; e++)
		CHECK(fk_recv(ws, &r) && fk_is_pub(&r, "will/x", *e == '0' ? "w0" : "w30"));
	CHECK(!fk_recv(ws, &r));
	fk_tick(&b, 10 * 1000000000ull);
	CHECK(!fk_recv(ws, &r)); /* the delay is 30 s */
	fk_tick(&b, 21 * 1000000000ull);
	for (const char *e = later; *e; e++)
		CHECK(fk_recv(ws, &r) && fk_is_pub(&r, "will/x", *e == '0' ? "w0" : "w30"));
	CHECK(!fk_recv(ws, &r));
	/* published wills are gone from the replica: a second restart sends nothing */
	const struct plog_sess *ps = plog_state_session(img, "w30", 3);
	CHECK(ps == NULL || !ps->will.present);
	ps = plog_state_session(img, "w0", 2);
	CHECK(ps == NULL || !ps->will.present);
	fk_free(ws);
	fk_bench_fini(&b);
}

/* Wills are logged with the session: a crash with the client connected publishes the will
 * after restart (after its delay); a will whose delay ran at the crash goes out when it
 * ends; a normal DISCONNECT removes it. */
static void test_wills(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, false);
	struct fk_conn *a = fk_open(&b, 0);
	p = t_connect_will("w0", 0);
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	struct fk_conn *c = fk_open(&b, OTHER);
	p = t_connect_will("w30", 30);
	fk_send_pkt(c, &p);
	CHECK(fk_recv(c, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	const struct plog_sess *ps = plog_state_session(st, "w30", 3);
	CHECK(ps != NULL && ps->will.present && ps->will.delay_interval == 30 &&
	      ps->will.qos == 1 && ps->will.payload.len == 3);
	struct plog_state *connected = t_copy(st); /* kill -9 with both connected */

	brk_conn_lost(c->c); /* network gone: the delay runs */
	c->lost = true;
	p = fk_connect(MQTT_V5, "", false, 0);
	p.type = MQTT_DISCONNECT;
	memset(&p.disconnect, 0, sizeof(p.disconnect));
	fk_send_pkt(a, &p); /* normal DISCONNECT: the will is gone */
	a->closed = true;
	fk_tick(&b, 1000000);
	ps = plog_state_session(st, "w30", 3);
	CHECK(ps != NULL && !ps->connected && ps->will.present);
	ps = plog_state_session(st, "w0", 2);
	CHECK(ps != NULL && !ps->connected && !ps->will.present);
	struct plog_state *pending = t_copy(st); /* kill -9 while w30's delay runs */
	fk_free(a);
	fk_free(c);
	fk_bench_fini(&b);

	t_restart_wills(connected, "0", "3");
	t_restart_wills(pending, "", "3");
	plog_state_free(connected);
	plog_state_free(pending);
	plog_state_free(st);
}

/* A session whose expiry passed while tachyond was down, its will's delay still running:
 * the will goes out at once after the restart (the session's end comes first), and the
 * session is gone. */
static void test_will_of_expired_session(void)
{
	struct plog_state *st = plog_state_new();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	struct plog_rec r;
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SESS_CREATE;
	r.u.sess.client_id = (struct plog_bytes){ (const uint8_t *)"old", 3 };
	r.u.sess.proto_version = 5;
	r.u.sess.expiry_interval = 5;
	r.u.sess.time_ms = wall - 60000;
	CHECK(plog_state_apply(st, &r) == 0);
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SESS_DISCONNECT;
	r.u.sref.client_id = (struct plog_bytes){ (const uint8_t *)"old", 3 };
	r.u.sref.time_ms = wall - 50000; /* expired 45 s ago */
	CHECK(plog_state_apply(st, &r) == 0);
	memset(&r, 0, sizeof(r));
	r.type = PLOG_REC_SESS_WILL;
	r.u.will.client_id = (struct plog_bytes){ (const uint8_t *)"old", 3 };
	r.u.will.will = (struct plog_will){ .present = true, .qos = 1, .delay_interval = 3600,
					    .topic = { (const uint8_t *)"will/x", 6 },
					    .payload = { (const uint8_t *)"w0", 2 } };
	CHECK(plog_state_apply(st, &r) == 0);

	struct fk_bench b;
	struct mqtt_packet m;
	t_bench(&b, st, false);
	CHECK(brk_restore(b.sh, st, b.now, NULL, NULL) == 0);
	struct fk_conn *ws = fk_client(&b, 0, MQTT_V311, "ws", true);
	CHECK(fk_subscribed(ws, "will/#", 1));
	fk_tick(&b, 200000000);
	CHECK(fk_recv(ws, &m) && fk_is_pub(&m, "will/x", "w0"));
	CHECK(!fk_recv(ws, &m));
	CHECK(plog_state_session(st, "old", 3) == NULL); /* sess_expire logged */
	struct fk_conn *o = fk_open(&b, OTHER);
	m = fk_connect(MQTT_V5, "old", false, 60);
	fk_send_pkt(o, &m);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(o, &m) && m.type == MQTT_CONNACK && !m.connack.session_present);
	fk_free(o);
	fk_free(ws);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* A queued message keeps its subscription identifiers through a restart. */
static void test_sub_ids(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, false);
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "sid", false);
	p = fk_subscribe("q/#", 1, 2);
	MQTT_PROP_SET(&p.subscribe.props, MQTT_PROP_SUB_ID);
	p.subscribe.props.sub_id = 7;
	uint32_t ids[1] = { 7 };
	p.subscribe.props.sub_ids = ids;
	p.subscribe.props.n_sub_ids = 1;
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK);
	brk_conn_lost(s->c);
	s->lost = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	p = fk_publish("q/1", "m1", 1, 5, false);
	fk_send_pkt(pub, &p);
	fk_tick(&b, 1000000);
	const struct plog_sess *ps = plog_state_session(st, "sid", 3);
	CHECK(ps != NULL && ps->nqueued == 1);
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);

	t_bench(&b, st, false);
	CHECK(brk_restore(b.sh, st, b.now, NULL, NULL) == 0);
	s = fk_open(&b, 0);
	p = fk_connect(MQTT_V5, "sid", false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 3600;
	fk_send_pkt(s, &p);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s, &r) && r.type == MQTT_CONNACK && r.connack.session_present);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "q/1", "m1") &&
	      MQTT_PROP_HAS(&r.publish.props, MQTT_PROP_SUB_ID) &&
	      r.publish.props.n_sub_ids == 1 && r.publish.props.sub_id == 7);
	fk_free(s);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* Async mode: past the backlog bound a connection is paused after its packet and reads
 * again once the backlog is down to half; under it nothing changes. */
static void test_backlog_bound(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, false);
	T_BACKLOG = 0;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	p = fk_publish("r/1", "a", 1, 1, true);
	CHECK(fk_send_pkt(pub, &p) == BRK_CONTINUE);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK);
	T_BACKLOG = BRK_PERSIST_BACKLOG_RECORDS + 1;
	p = fk_publish("r/2", "b", 1, 2, true);
	CHECK(fk_send_pkt(pub, &p) == BRK_PAUSE); /* handled (async: acked), then paused */
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 2);
	struct brk_counters k;
	brk_shared_counters(b.sh, &k);
	CHECK(k.persist_throttled == 1);
	int resumes = pub->resumes;
	T_BACKLOG = BRK_PERSIST_BACKLOG_RECORDS / 2 + 1; /* draining, not down to half yet */
	fk_tick(&b, 1000000);
	CHECK(pub->resumes == resumes);
	T_BACKLOG = BRK_PERSIST_BACKLOG_RECORDS / 2;
	fk_tick(&b, 1000000);
	CHECK(pub->resumes == resumes + 1);
	p = fk_publish("r/3", "c", 1, 3, true);
	CHECK(fk_send_pkt(pub, &p) == BRK_CONTINUE);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 3);
	/* a connection closed while paused leaves the list */
	struct fk_conn *c2 = fk_client(&b, 0, MQTT_V311, "c2", true);
	T_BACKLOG = BRK_PERSIST_BACKLOG_RECORDS + 1;
	p = fk_publish("r/4", "d", 0, 0, false);
	CHECK(fk_send_pkt(c2, &p) == BRK_PAUSE);
	fk_free(c2);
	T_BACKLOG = 0;
	fk_tick(&b, 1000000);
	fk_free(pub);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* Sync mode, two publishers with acknowledgements held in the same FIFO, interleaved: one
 * connection goes away; once the records are durable the other gets every PUBACK, in
 * order, and the gone one's entries are skipped (each connection finds its own entries
 * without walking the FIFO). */
static void test_held_conn_gone(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, true);
	struct fk_conn *s = fk_client(&b, 0, MQTT_V311, "hg-sub", false);
	p = fk_subscribe("hg/#", 1, 1);
	fk_send_pkt(s, &p);
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK);
	struct fk_conn *a = fk_client(&b, 0, MQTT_V311, "hg-a", true);
	struct fk_conn *c = fk_client(&b, 0, MQTT_V311, "hg-c", true);
	for (uint16_t i = 1; i <= 20; i++) {
		p = fk_publish("hg/1", "x", 1, i, false);
		fk_send_pkt(i % 2 ? a : c, &p);
		p = fk_publish("hg/2", "y", 1, (uint16_t)(100 + i), false);
		fk_send_pkt(c, &p);
	}
	fk_tick(&b, 1000000);
	CHECK(!fk_recv(a, &r) && !fk_recv(c, &r)); /* all held */
	brk_conn_lost(a->c);
	a->lost = true;
	t_all_durable();
	fk_tick(&b, 1000000);
	unsigned got = 0;
	bool ordered = true;
	uint16_t want[30];
	unsigned nw = 0;
	for (uint16_t i = 1; i <= 20; i++) {
		if (i % 2 == 0)
			want[nw++] = i;
		want[nw++] = (uint16_t)(100 + i);
	}
	while (fk_recv(c, &r)) {
		ordered &= r.type == MQTT_PUBACK && got < nw && r.ack.packet_id == want[got];
		got++;
	}
	CHECK(got == nw && ordered);
	/* Held again after the gone connection's entries left: the chain starts afresh. */
	p = fk_publish("hg/3", "z", 1, 7, false);
	fk_send_pkt(c, &p);
	CHECK(!fk_recv(c, &r));
	t_all_durable();
	fk_tick(&b, 1000000);
	CHECK(fk_recv(c, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 7);
	fk_free(s);
	fk_free(a);
	fk_free(c);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* A takeover across workers: the old owner (worker 0) still writes records about the
 * client after the new connection (worker 1) arrived, until it reads the TAKEOVER. The new
 * session's creation must reach the log after them, fenced: otherwise the replica ends
 * with a message queued for the old session inside the new clean one, or with the new
 * session marked disconnected and carrying the old connection's will. */
static void test_takeover_order(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, false);
	T_FENCED = 0;

	/* 1. A message queued for the old session while the TAKEOVER is on its way. */
	struct fk_conn *o = fk_client(&b, 0, MQTT_V5, "tk", false);
	CHECK(fk_subscribed(o, "s/#", 1));
	brk_conn_lost(o->c);
	o->lost = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	b.hold = true;
	struct fk_conn *n = fk_open(&b, 1);
	p = fk_connect(MQTT_V5, "tk", true, 60); /* clean start, durable (expiry 3600) */
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 3600;
	fk_send_pkt(n, &p);
	CHECK(!fk_recv(n, &r)); /* waits for worker 0's state */
	p = fk_publish("s/1", "stale", 1, 3, false);
	fk_send_pkt(pub, &p); /* worker 0 queues it for the old session: msg_queue */
	const struct plog_sess *ps = plog_state_session(st, "tk", 2);
	CHECK(ps != NULL && ps->nqueued == 1);
	b.hold = false;
	fk_tick(&b, 1000000);
	CHECK(fk_recv(n, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0 &&
	      !r.connack.session_present);
	ps = plog_state_session(st, "tk", 2);
	CHECK(ps != NULL && ps->connected && ps->nqueued == 0 && ps->nsubs == 0);
	CHECK(T_FENCED == 1);

	/* 2. The old connection drops (sess_disconnect, sess_will of its will) while the new
	 * one waits: the new session must stay connected, with its own will. */
	struct fk_conn *w = fk_open(&b, 0);
	p = t_connect_will("tw", 30);
	fk_send_pkt(w, &p);
	CHECK(fk_recv(w, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	b.hold = true;
	struct fk_conn *w2 = fk_open(&b, 1);
	p = t_connect_will("tw", 30);
	p.connect.will_payload.p = (const uint8_t *)"new";
	p.connect.will_payload.len = 3;
	fk_send_pkt(w2, &p);
	brk_conn_lost(w->c);
	w->lost = true;
	ps = plog_state_session(st, "tw", 2);
	CHECK(ps != NULL && !ps->connected && ps->will.present);
	b.hold = false;
	fk_tick(&b, 1000000);
	CHECK(fk_recv(w2, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0 &&
	      r.connack.session_present);
	ps = plog_state_session(st, "tw", 2);
	CHECK(ps != NULL && ps->connected && ps->will.present && ps->will.payload.len == 3 &&
	      memcmp(ps->will.payload.ptr, "new", 3) == 0);
	CHECK(T_FENCED == 2);

	/* 3. On one worker nothing needs a fence: the old session's records are earlier in
	 * the same worker's order. */
	struct fk_conn *l = fk_client(&b, 1, MQTT_V5, "tk", false);
	CHECK(T_FENCED == 2);
	ps = plog_state_session(st, "tk", 2);
	CHECK(ps != NULL && ps->connected);
	fk_free(o);
	fk_free(pub);
	fk_free(n);
	fk_free(w);
	fk_free(w2);
	fk_free(l);
	fk_bench_fini(&b);
	plog_state_free(st);
}

/* ---- identity: a restored session is checked against the ACL as who it was ---- */

/* Listener 0: anonymous guests read the wills and write q/#. Listener 1: alice writes
 * will/a and reads q/#, and a %u pattern lets any user write wp/<user>; its anonymous
 * section grants nothing. Only a restore that keeps user and listener publishes the wills
 * of alice's sessions and queues q/# for her. */
static const char T_ACL0[] = "topic read will/#\ntopic read wp/#\ntopic write q/#\n";
static const char T_ACL1[] = "pattern write wp/%u\nuser alice\ntopic write will/a\n"
			     "topic read q/#\n";

static void t_publish_acls(struct fk_bench *b, unsigned n)
{
	char err[256];
	struct auth_acl *a0 = auth_acl_parse(T_ACL0, sizeof(T_ACL0) - 1, "acl0", err, sizeof(err));
	struct auth_acl *a1 = auth_acl_parse(T_ACL1, sizeof(T_ACL1) - 1, "acl1", err, sizeof(err));
	CHECK(a0 != NULL && a1 != NULL);
	struct brk_sec_listener l[2] = { { .allow_anonymous = true, .acl = a0 },
					 { .allow_anonymous = true, .acl = a1 } };
	CHECK(brk_security_publish(b->sh, l, n) == 0);
	auth_acl_unref(a0);
	auth_acl_unref(a1);
}

/* A durable MQTT 5 session on listener @p lst as @p user (NULL: anonymous) with a will on
 * @p topic (payload = client id, no delay). */
static struct fk_conn *t_connect_as(struct fk_bench *b, unsigned worker, uint8_t lst,
				    const char *id, const char *user, const char *topic)
{
	b->lst.index = lst;
	struct fk_conn *f = fk_open(b, worker);
	b->lst.index = 0;
	struct mqtt_packet p = fk_connect(MQTT_V5, id, false, 60), r;
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 3600;
	if (user != NULL) {
		p.connect.has_username = true;
		p.connect.username.p = (const uint8_t *)user;
		p.connect.username.len = (uint32_t)strlen(user);
	}
	if (topic != NULL) {
		p.connect.will = true;
		p.connect.will_qos = 1;
		p.connect.will_topic.p = (const uint8_t *)topic;
		p.connect.will_topic.len = (uint32_t)strlen(topic);
		p.connect.will_payload.p = (const uint8_t *)id;
		p.connect.will_payload.len = (uint32_t)strlen(id);
	}
	fk_send_pkt(f, &p);
	if (!fk_recv(f, &r) || r.type != MQTT_CONNACK || r.connack.rc != 0) {
		fprintf(stderr, "t_connect_as %s: no CONNACK 0\n", id);
		fk_fail++;
	}
	return f;
}

static bool t_user_is(const struct plog_state *st, const char *id, const char *user, uint8_t lst)
{
	const struct plog_sess *ps = plog_state_session(st, id, strlen(id));
	if (ps == NULL || ps->listener != lst)
		return false;
	if (user == NULL)
		return !ps->has_username;
	return ps->has_username && ps->username.len == strlen(user) &&
	       memcmp(ps->username.ptr, user, ps->username.len) == 0;
}

static void test_restored_identity(void)
{
	struct plog_state *st = plog_state_new();
	struct fk_bench b;
	struct mqtt_packet r, p;
	t_bench(&b, st, false);
	t_publish_acls(&b, 2);
	struct fk_conn *a1 = t_connect_as(&b, 0, 1, "a1", "alice", "will/a");
	CHECK(fk_subscribed(a1, "q/#", 1));
	struct fk_conn *a2 = t_connect_as(&b, OTHER, 1, "a2", "alice", "wp/alice");
	struct fk_conn *n1 = t_connect_as(&b, 0, 1, "n1", NULL, "will/a");
	struct fk_conn *n2 = t_connect_as(&b, OTHER, 1, "n2", NULL, "wp/alice");
	/* t1 comes as alice, then takes its session over as bob (on the other worker when
	 * there are two: the fenced creation): bob's is the identity logged last. */
	struct fk_conn *t1 = t_connect_as(&b, 0, 1, "t1", "alice", "will/a");
	struct fk_conn *t2 = t_connect_as(&b, OTHER, 1, "t1", "bob", "will/a");
	fk_tick(&b, 1000000);
	CHECK(t_user_is(st, "a1", "alice", 1));
	CHECK(t_user_is(st, "n1", NULL, 1));
	CHECK(t_user_is(st, "t1", "bob", 1));
	/* kill -9 with all of them connected. Then the records after it go to a copy. */
	struct plog_state *img = t_copy(st);
	fk_free(a1);
	fk_free(a2);
	fk_free(n1);
	fk_free(n2);
	fk_free(t1);
	fk_free(t2);
	fk_bench_fini(&b);

	t_bench(&b, img, false);
	t_publish_acls(&b, 2);
	CHECK(brk_restore(b.sh, img, b.now, NULL, NULL) == 0);
	struct brk_counters k0, k1;
	brk_shared_counters(b.sh, &k0);
	struct fk_conn *ws = fk_client(&b, 0, MQTT_V311, "ws", true);
	CHECK(fk_subscribed(ws, "will/#", 1));
	CHECK(fk_subscribed(ws, "wp/#", 1));
	fk_tick(&b, 200000000); /* the session wheel's granularity is 100 ms */
	/* alice's wills go out (her section; the %u pattern), in either order across
	 * workers; the anonymous ones and bob's are refused. */
	bool got_a1 = false, got_a2 = false;
	while (fk_recv(ws, &r)) {
		if (fk_is_pub(&r, "will/a", "a1"))
			got_a1 = true;
		else if (fk_is_pub(&r, "wp/alice", "a2"))
			got_a2 = true;
		else
			CHECK(!"unexpected will");
	}
	CHECK(got_a1 && got_a2);
	brk_shared_counters(b.sh, &k1);
	CHECK(k1.acl_denied_will - k0.acl_denied_will == 3);

	/* A message for alice's restored offline session is queued: read as alice on
	 * listener 1, not as a guest of listener 0. */
	struct fk_conn *pub = fk_client(&b, OTHER, MQTT_V311, "pub", true);
	p = fk_publish("q/1", "for-alice", 1, 3, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK);
	fk_tick(&b, 1000000);
	brk_shared_counters(b.sh, &k0);
	CHECK(k0.acl_denied_read == k1.acl_denied_read);
	const struct plog_sess *ps = plog_state_session(img, "a1", 2);
	CHECK(ps != NULL && ps->nqueued == 1);
	a1 = t_connect_as(&b, 0, 1, "a1", "alice", NULL);
	fk_tick(&b, 1000000);
	CHECK(fk_recv(a1, &r) && fk_is_pub(&r, "q/1", "for-alice"));
	fk_free(a1);
	fk_free(pub);
	fk_free(ws);
	fk_bench_fini(&b);
	plog_state_free(img);
	plog_state_free(st);
}

int main(void)
{
	rcu_register_thread();
	for (NW = 1; NW <= 2; NW++) {
		test_sync_hold_and_replica();
		test_async_acks_at_once();
		test_suback_held();
		test_wills();
		test_will_of_expired_session();
		test_sub_ids();
		test_backlog_bound();
		test_restored_identity();
		test_held_conn_gone();
	}
	NW = 2;
	test_takeover_order();
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("broker-persist: all tests passed\n");
	return 0;
}
