/**
 * @file test_broker_persist.c
 * The broker's persistence hook in-process (brk_persist.c): the records it hands over
 * rebuild the right replica (plog_state), sync mode holds PUBACK/PUBREC until the records
 * are durable (also for subscribers on another worker), async acknowledges at once, and
 * brk_restore() rebuilds sessions, queued messages and retained messages from a replica.
 * Runs with 1 and 2 workers on the fake transport of brk_fake.h.
 */
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

static uint64_t t_durable(void *ctx)
{
	return ((struct pw *)ctx)->durable;
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
					    .durable = sync ? t_durable : NULL };
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
	CHECK(fk_subscribed(s, "q/#", 1));
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

int main(void)
{
	rcu_register_thread();
	for (NW = 1; NW <= 2; NW++) {
		test_sync_hold_and_replica();
		test_async_acks_at_once();
	}
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("broker-persist: all tests passed\n");
	return 0;
}
