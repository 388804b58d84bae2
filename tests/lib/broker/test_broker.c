/**
 * @file test_broker.c
 * In-process tests of lib/broker over the fake transport (brk_fake.h): every test runs
 * with one worker and with two (publisher and subscriber, old and new connection on
 * different workers), driven by encoded packets and checked by decoding the output.
 */
#include "brk_fake.h"

static unsigned NW;       /* workers of the current round */
#define OTHER (NW > 1 ? 1u : 0u)

static void test_connect_variants(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r;

	/* 3.1.1 with an identifier: CONNACK 0, no session present. */
	struct fk_conn *a = fk_open(&b, 0);
	struct mqtt_packet p = fk_connect(MQTT_V311, "c1", true, 30);
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0 &&
	      !r.connack.session_present);

	/* 3.1.1, empty identifier, clean session 0: return code 2 and close [MQTT-3.1.3-8]. */
	struct fk_conn *e = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "", false, 30);
	fk_send_pkt(e, &p);
	CHECK(fk_recv(e, &r) && r.type == MQTT_CONNACK && r.connack.rc == 2);
	CHECK(e->closed);

	/* 3.1.1, empty identifier, clean session 1: accepted. */
	struct fk_conn *e2 = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "", true, 30);
	fk_send_pkt(e2, &p);
	CHECK(fk_recv(e2, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);

	/* 3.1: identifier required. */
	struct fk_conn *e3 = fk_open(&b, 0);
	p = fk_connect(MQTT_V31, "", true, 30);
	fk_send_pkt(e3, &p);
	CHECK(fk_recv(e3, &r) && r.type == MQTT_CONNACK && r.connack.rc == 2);

	/* 5.0, empty identifier: assigned one in the CONNACK. */
	struct fk_conn *v = fk_open(&b, OTHER);
	p = fk_connect(MQTT_V5, "", true, 30);
	fk_send_pkt(v, &p);
	CHECK(fk_recv(v, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	CHECK(MQTT_PROP_HAS(&r.connack.props, MQTT_PROP_ASSIGNED_CLIENT_ID));
	CHECK(r.connack.props.assigned_client_id.len > 0);
	CHECK(MQTT_PROP_HAS(&r.connack.props, MQTT_PROP_RECEIVE_MAX));
	CHECK(r.connack.props.receive_max == 20);

	/* 5.0 with an authentication method: 0x8C (none configured). */
	struct fk_conn *au = fk_open(&b, 0);
	p = fk_connect(MQTT_V5, "au", true, 30);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_AUTH_METHOD);
	p.connect.props.auth_method.p = (const uint8_t *)"SCRAM";
	p.connect.props.auth_method.len = 5;
	fk_send_pkt(au, &p);
	CHECK(fk_recv(au, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0x8C);
	CHECK(au->closed);

	/* A packet before CONNECT: closed without answer. */
	struct fk_conn *n = fk_open(&b, 0);
	fk_send_pkt(n, &(struct mqtt_packet){ .type = MQTT_PINGREQ });
	CHECK(n->closed);

	/* Unsupported protocol level seen by the decoder: 3.1.1 answer code 1. */
	struct fk_conn *u = fk_open(&b, 0);
	brk_conn_bad_input(u->c, MQTT_RC_UNSUPPORTED_VERSION, 4);
	u->version = 4;
	CHECK(fk_recv(u, &r) && r.type == MQTT_CONNACK && r.connack.rc == 1);
	CHECK(u->closed);

	/* PINGREQ -> PINGRESP. */
	fk_send_pkt(a, &(struct mqtt_packet){ .type = MQTT_PINGREQ });
	CHECK(fk_recv(a, &r) && r.type == MQTT_PINGRESP);

	struct fk_conn *all[] = { a, e, e2, e3, v, au, n, u };
	for (unsigned i = 0; i < 8; i++)
		fk_free(all[i]);
	fk_bench_fini(&b);
}

static void tune_keepalive_cap(struct tachyon_config *c)
{
	c->max_keepalive = 10;
}

static void test_keepalive_cap(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_keepalive_cap);
	struct mqtt_packet r;
	/* 5.0: asks 100, told 10 in Server Keep Alive; enforced at 15 s. */
	struct fk_conn *v = fk_open(&b, 0);
	struct mqtt_packet p = fk_connect(MQTT_V5, "ka5", true, 100);
	fk_send_pkt(v, &p);
	CHECK(fk_recv(v, &r) && r.connack.rc == 0);
	CHECK(MQTT_PROP_HAS(&r.connack.props, MQTT_PROP_SERVER_KEEP_ALIVE));
	CHECK(r.connack.props.server_keep_alive == 10);
	fk_tick(&b, 14ull * 1000000000);
	CHECK(!v->closed);
	fk_tick(&b, 2ull * 1000000000);
	CHECK(v->closed);
	CHECK(fk_recv(v, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x8D);
	/* 3.1.1: cannot be told, refused with 2 (Mosquitto's rule). */
	struct fk_conn *o = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "ka3", true, 100);
	fk_send_pkt(o, &p);
	CHECK(fk_recv(o, &r) && r.type == MQTT_CONNACK && r.connack.rc == 2);
	fk_free(v);
	fk_free(o);
	fk_bench_fini(&b);
}

static void test_pubsub_qos01(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct fk_conn *sub = fk_client(&b, OTHER, MQTT_V5, "sub", true);
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pub", true);
	CHECK(fk_subscribed(sub, "a/#", 1));
	struct mqtt_packet p = fk_publish("a/b", "hi", 1, 7, false), r;
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK && r.ack.packet_id == 7);
	CHECK(fk_recv(sub, &r) && fk_is_pub(&r, "a/b", "hi") && r.publish.qos == 1);
	uint16_t pid = r.publish.packet_id;
	CHECK(pid != 0 && !r.publish.dup && !r.publish.retain);
	p = fk_ack(MQTT_PUBACK, pid);
	fk_send_pkt(sub, &p);
	/* QoS 0 publish, QoS downgraded: sub at 1, publish at 0 -> 0. */
	p = fk_publish("a/c", "zero", 0, 0, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(sub, &r) && fk_is_pub(&r, "a/c", "zero") && r.publish.qos == 0);
	/* Subscription maximum downgrades: sub at 0 to b/#, publish QoS 2. */
	CHECK(fk_subscribed(sub, "b/#", 0));
	p = fk_publish("b/x", "two", 2, 9, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC);
	CHECK(fk_recv(sub, &r) && fk_is_pub(&r, "b/x", "two") && r.publish.qos == 0);
	/* Not matching: nothing. */
	p = fk_publish("c/x", "no", 0, 0, false);
	fk_send_pkt(pub, &p);
	CHECK(!fk_recv(sub, &r));
	fk_free(sub);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_qos2_exactly_once(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct fk_conn *sub = fk_client(&b, OTHER, MQTT_V311, "s2", true);
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V5, "p2", true);
	CHECK(fk_subscribed(sub, "q2", 2));
	struct mqtt_packet p = fk_publish("q2", "once", 2, 5, false), r;
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC && r.ack.packet_id == 5);
	/* The same PUBLISH again, DUP set: PUBREC again, no second delivery. */
	p.publish.dup = true;
	p.flags |= 8;
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC && r.ack.packet_id == 5);
	p = fk_ack(MQTT_PUBREL, 5);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBCOMP && r.ack.packet_id == 5 &&
	      r.ack.rc == 0);
	/* Subscriber side: one PUBLISH QoS 2, then PUBREC -> PUBREL -> PUBCOMP. */
	CHECK(fk_recv(sub, &r) && fk_is_pub(&r, "q2", "once") && r.publish.qos == 2);
	uint16_t pid = r.publish.packet_id;
	CHECK(!fk_recv(sub, &r));
	p = fk_ack(MQTT_PUBREC, pid);
	fk_send_pkt(sub, &p);
	CHECK(fk_recv(sub, &r) && r.type == MQTT_PUBREL && r.ack.packet_id == pid);
	p = fk_ack(MQTT_PUBCOMP, pid);
	fk_send_pkt(sub, &p);
	CHECK(!fk_recv(sub, &r));
	/* PUBREL for an unknown id: PUBCOMP 0x92 in 5.0. */
	p = fk_ack(MQTT_PUBREL, 77);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBCOMP && r.ack.rc == 0x92);
	fk_free(sub);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_takeover(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *a = fk_client(&b, 0, MQTT_V5, "dup", false);
	CHECK(fk_subscribed(a, "t/#", 1));
	/* Same id on the other worker: old gets DISCONNECT 0x8E, new resumes the session. */
	struct fk_conn *n = fk_open(&b, OTHER);
	p = fk_connect(MQTT_V5, "dup", false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 100;
	fk_send_pkt(n, &p);
	CHECK(a->closed);
	CHECK(fk_recv(a, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x8E);
	CHECK(fk_recv(n, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0 &&
	      r.connack.session_present);
	CHECK(!n->paused || n->resumes > 0);
	/* The subscription moved with the session. */
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pubt", true);
	p = fk_publish("t/1", "moved", 0, 0, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(n, &r) && fk_is_pub(&r, "t/1", "moved"));
	/* Clean start takeover: no session present, subscriptions gone. */
	struct fk_conn *c3 = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "dup", true, 60);
	fk_send_pkt(c3, &p);
	CHECK(n->closed);
	CHECK(fk_recv(c3, &r) && r.type == MQTT_CONNACK && !r.connack.session_present);
	p = fk_publish("t/1", "gone", 0, 0, false);
	fk_send_pkt(pub, &p);
	CHECK(!fk_recv(c3, &r));
	fk_free(a);
	fk_free(n);
	fk_free(c3);
	fk_free(pub);
	fk_bench_fini(&b);
}

/* Three connections for one id race: the second replaces the first on worker 0 while the
 * third replaces the second before the state arrived. Only the last gets a CONNACK. */
static void test_takeover_chain(void)
{
	if (NW < 2)
		return;
	struct fk_bench b;
	fk_bench_init(&b, 2, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *a = fk_client(&b, 0, MQTT_V311, "chain", false);
	CHECK(fk_subscribed(a, "ch", 1));
	struct fk_conn *b1 = fk_open(&b, 1), *b2 = fk_open(&b, 1);
	p = fk_connect(MQTT_V311, "chain", false, 60);
	/* Send both CONNECTs before any inbox is drained. */
	uint8_t buf[64];
	size_t n = mqtt_encode(MQTT_V311, &p, buf, sizeof(buf));
	struct mqtt_packet d;
	mqtt_decode(0, buf, n, &d);
	b1->version = b2->version = MQTT_V311;
	CHECK(brk_conn_packet(b1->c, &d, (uint32_t)n) == BRK_PAUSE);
	CHECK(brk_conn_packet(b2->c, &d, (uint32_t)n) == BRK_PAUSE);
	fk_pump(&b);
	CHECK(a->closed);
	CHECK(b1->closed);
	CHECK(fk_recv(b2, &r) && r.type == MQTT_CONNACK && r.connack.session_present);
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pubch", true);
	p = fk_publish("ch", "x", 1, 3, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(b2, &r) && fk_is_pub(&r, "ch", "x"));
	fk_free(a);
	fk_free(b1);
	fk_free(b2);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_persistent_queue_and_dup(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "per", false);
	CHECK(fk_subscribed(s, "q/#", 1));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "pp", true);
	p = fk_publish("q/1", "m1", 1, 1, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "q/1", "m1"));
	uint16_t pid1 = r.publish.packet_id;
	/* Connection drops before the PUBACK. */
	brk_conn_lost(s->c);
	s->lost = true;
	p = fk_publish("q/2", "m2", 1, 2, false);
	fk_send_pkt(pub, &p);
	p = fk_publish("q/3", "m3", 0, 0, false); /* QoS 0 not queued by default */
	fk_send_pkt(pub, &p);
	struct fk_conn *s2 = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "per", false, 60);
	fk_send_pkt(s2, &p);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_CONNACK && r.connack.session_present);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "q/1", "m1") && r.publish.dup &&
	      r.publish.packet_id == pid1);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "q/2", "m2") && !r.publish.dup);
	CHECK(!fk_recv(s2, &r));
	fk_free(s);
	fk_free(s2);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void tune_queue_limit(struct tachyon_config *c)
{
	c->max_queued_messages = 2;
}

static void test_queue_limit(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_queue_limit);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "lim", false);
	CHECK(fk_subscribed(s, "l", 1));
	brk_conn_lost(s->c);
	s->lost = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "lp", true);
	for (int i = 0; i < 3; i++) {
		p = fk_publish("l", "x", 1, (uint16_t)(i + 1), false);
		fk_send_pkt(pub, &p);
	}
	struct brk_counters k;
	brk_shared_counters(b.sh, &k);
	CHECK(k.lim_queued == 1);
	struct fk_conn *s2 = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "lim", false, 60);
	fk_send_pkt(s2, &p);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_CONNACK);
	CHECK(fk_count_type(s2, MQTT_PUBLISH) == 2);
	fk_free(s);
	fk_free(s2);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void tune_inflight_window(struct tachyon_config *c)
{
	c->max_inflight_messages = 2;
}

static void test_inflight_window(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_inflight_window);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "win", true);
	CHECK(fk_subscribed(s, "w", 1));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V5, "wp", true);
	for (int i = 0; i < 3; i++) {
		p = fk_publish("w", "x", 1, (uint16_t)(i + 1), false);
		fk_send_pkt(pub, &p);
	}
	/* Two in flight, the third waits for an acknowledgement. */
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	uint16_t first = r.publish.packet_id;
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	CHECK(!fk_recv(s, &r));
	p = fk_ack(MQTT_PUBACK, first);
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	/* Inbound: more QoS 2 without PUBREL than our Receive Maximum (2): 0x93. */
	while (fk_recv(pub, &r)) {}
	for (int i = 0; i < 3; i++) {
		p = fk_publish("none", "x", 2, (uint16_t)(10 + i), false);
		fk_send_pkt(pub, &p);
	}
	CHECK(pub->closed);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBREC);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x93);
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void tune_packet_ids_wrap(struct tachyon_config *c)
{
	c->max_inflight_messages = 500;
}

/* Packet ids with a wide inflight window (500), over more than one wrap of the 16-bit space,
 * one message left unacknowledged all along: no id is ever in flight twice, the stuck one is
 * never reused, and every message arrives once. */
static void test_packet_ids_wrap(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_packet_ids_wrap);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "wrap", true);
	CHECK(fk_subscribed(s, "pw", 1));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "wrap-pub", true);
	static uint8_t out[65536]; /* ids in flight at the subscriber */
	memset(out, 0, sizeof(out));
	uint16_t stuck = 0;
	unsigned got = 0, dup_ids = 0, n_out = 0;
	const unsigned total = 70000;
	for (unsigned i = 0; i < total; i++) {
		p = fk_publish("pw", "x", 1, (uint16_t)(i % 65535 + 1), false);
		fk_send_pkt(pub, &p);
		while (fk_recv(pub, &r)) {}
		while (fk_recv(s, &r)) {
			if (r.type != MQTT_PUBLISH)
				continue;
			uint16_t id = r.publish.packet_id;
			if (out[id])
				dup_ids++;
			out[id] = 1;
			n_out++;
			got++;
			if (stuck == 0) {
				stuck = id; /* never acknowledged */
				continue;
			}
			/* acknowledge the others, every tenth one late (out of order) */
			if (got % 10 == 0)
				continue;
			struct mqtt_packet a = fk_ack(MQTT_PUBACK, id);
			fk_send_pkt(s, &a);
			out[id] = 0;
			n_out--;
		}
		if (i % 50 == 49) /* the late ones, now */
			for (unsigned id = 1; id < 65536; id++)
				if (out[id] && id != stuck) {
					struct mqtt_packet a = fk_ack(MQTT_PUBACK, (uint16_t)id);
					fk_send_pkt(s, &a);
					out[id] = 0;
					n_out--;
				}
	}
	for (unsigned id = 1; id < 65536; id++)
		if (out[id] && id != stuck) {
			struct mqtt_packet a = fk_ack(MQTT_PUBACK, (uint16_t)id);
			fk_send_pkt(s, &a);
			out[id] = 0;
		}
	while (fk_recv(s, &r))
		if (r.type == MQTT_PUBLISH) {
			if (out[r.publish.packet_id])
				dup_ids++;
			got++;
			struct mqtt_packet a = fk_ack(MQTT_PUBACK, r.publish.packet_id);
			fk_send_pkt(s, &a);
		}
	CHECK(stuck != 0);
	CHECK(dup_ids == 0);
	CHECK(got == total);
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_retained(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "rp", true);
	p = fk_publish("r/1", "old", 1, 1, true);
	fk_send_pkt(pub, &p);
	p = fk_publish("r/1", "new", 0, 0, true); /* replace */
	fk_send_pkt(pub, &p);
	p = fk_publish("r/2", "two", 0, 0, true);
	fk_send_pkt(pub, &p);
	rcu_quiescent_state();
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "rs", true);
	CHECK(fk_subscribed(s, "r/1", 1));
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "r/1", "new") && r.publish.retain);
	/* A live message is not retained towards the subscriber (no retain as published). */
	p = fk_publish("r/1", "live", 0, 0, true);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "r/1", "live") && !r.publish.retain);
	/* Clear with an empty payload. */
	p = fk_publish("r/1", "", 0, 0, true);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	rcu_quiescent_state();
	struct fk_conn *s2 = fk_client(&b, 0, MQTT_V5, "rs2", true);
	CHECK(fk_subscribed(s2, "r/#", 0));
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "r/2", "two"));
	CHECK(!fk_recv(s2, &r));
	/* Retain handling 2: none; retain as published keeps the flag. */
	struct mqtt_packet sp = fk_subscribe("r/2", 0, 2);
	fk_sub_ent.retain_handling = 2;
	fk_sub_ent.retain_as_published = true;
	struct fk_conn *s3 = fk_client(&b, 0, MQTT_V5, "rs3", true);
	fk_send_pkt(s3, &sp);
	CHECK(fk_recv(s3, &r) && r.type == MQTT_SUBACK);
	CHECK(!fk_recv(s3, &r));
	p = fk_publish("r/2", "rap", 0, 0, true);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s3, &r) && fk_is_pub(&r, "r/2", "rap") && r.publish.retain);
	/* Retain handling 1: only for a new subscription. */
	sp = fk_subscribe("r/2", 0, 3);
	fk_sub_ent.retain_handling = 1;
	fk_send_pkt(s2, &sp);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_PUBLISH); /* the live "rap" */
	CHECK(fk_recv(s2, &r) && r.type == MQTT_SUBACK);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "r/2", "rap")); /* new sub: retained */
	sp = fk_subscribe("r/2", 0, 4);
	fk_sub_ent.retain_handling = 1;
	fk_send_pkt(s2, &sp);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_SUBACK);
	CHECK(!fk_recv(s2, &r)); /* existing: none */
	fk_free(pub);
	fk_free(s);
	fk_free(s2);
	fk_free(s3);
	fk_bench_fini(&b);
}

static void test_will(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "ws", true);
	CHECK(fk_subscribed(s, "will/#", 1));
	/* Abnormal loss: the will goes out. */
	struct fk_conn *a = fk_open(&b, 0);
	p = fk_connect(MQTT_V311, "wa", true, 60);
	p.connect.will = true;
	p.connect.will_qos = 1;
	p.connect.will_topic.p = (const uint8_t *)"will/a";
	p.connect.will_topic.len = 6;
	p.connect.will_payload.p = (const uint8_t *)"bye";
	p.connect.will_payload.len = 3;
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.connack.rc == 0);
	brk_conn_lost(a->c);
	a->lost = true;
	fk_pump(&b);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "will/a", "bye") && r.publish.qos == 1);
	/* Normal DISCONNECT: no will. */
	struct fk_conn *c = fk_open(&b, 0);
	p.connect.client_id.p = (const uint8_t *)"wc";
	fk_send_pkt(c, &p);
	CHECK(fk_recv(c, &r) && r.connack.rc == 0);
	fk_send_pkt(c, &(struct mqtt_packet){ .type = MQTT_DISCONNECT });
	CHECK(c->closed);
	fk_pump(&b);
	while (fk_recv(s, &r))
		CHECK(r.type != MQTT_PUBLISH || !fk_is_pub(&r, "will/a", "bye"));
	/* MQTT 5: DISCONNECT 0x04 sends it; will delay postpones it. */
	struct fk_conn *d = fk_open(&b, 0);
	p.connect.version = MQTT_V5;
	p.connect.client_id.p = (const uint8_t *)"wd";
	fk_send_pkt(d, &p);
	CHECK(fk_recv(d, &r) && r.connack.rc == 0);
	struct mqtt_packet dc = { .type = MQTT_DISCONNECT };
	dc.disconnect.rc = 0x04;
	fk_send_pkt(d, &dc);
	fk_pump(&b);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "will/a", "bye"));
	struct fk_conn *e = fk_open(&b, 0);
	p.connect.client_id.p = (const uint8_t *)"we";
	p.connect.clean_start = false;
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 100;
	MQTT_PROP_SET(&p.connect.will_props, MQTT_PROP_WILL_DELAY);
	p.connect.will_props.will_delay = 5;
	fk_send_pkt(e, &p);
	CHECK(fk_recv(e, &r) && r.connack.rc == 0);
	brk_conn_lost(e->c);
	e->lost = true;
	fk_tick(&b, 2ull * 1000000000);
	CHECK(!fk_recv(s, &r));
	fk_tick(&b, 4ull * 1000000000);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "will/a", "bye"));
	fk_free(s);
	fk_free(a);
	fk_free(c);
	fk_free(d);
	fk_free(e);
	fk_bench_fini(&b);
}

static void test_shared(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s1 = fk_client(&b, 0, MQTT_V5, "sh1", true);
	struct fk_conn *s2 = fk_client(&b, OTHER, MQTT_V5, "sh2", true);
	CHECK(fk_subscribed(s1, "$share/g/sh/#", 1));
	CHECK(fk_subscribed(s2, "$share/g/sh/#", 1));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "shp", true);
	for (int i = 0; i < 4; i++) {
		p = fk_publish("sh/x", "m", 0, 0, false);
		fk_send_pkt(pub, &p);
	}
	int n1 = fk_count_type(s1, MQTT_PUBLISH), n2 = fk_count_type(s2, MQTT_PUBLISH);
	CHECK(n1 + n2 == 4);
	CHECK(n1 == 2 && n2 == 2);
	(void)r;
	fk_free(s1);
	fk_free(s2);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_topic_alias(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_open(&b, OTHER);
	p = fk_connect(MQTT_V5, "tas", true, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_TOPIC_ALIAS_MAX);
	p.connect.props.topic_alias_max = 5;
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && r.connack.rc == 0);
	CHECK(fk_subscribed(s, "al/#", 0));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V5, "tap", true);
	p = fk_publish("al/one", "1", 0, 0, false);
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_TOPIC_ALIAS);
	p.publish.props.topic_alias = 3;
	fk_send_pkt(pub, &p);
	p.publish.topic.len = 0; /* alias only */
	p.publish.payload.p = (const uint8_t *)"2";
	fk_send_pkt(pub, &p);
	/* Outbound: first with topic and alias, then alias only. */
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "al/one", "1"));
	CHECK(MQTT_PROP_HAS(&r.publish.props, MQTT_PROP_TOPIC_ALIAS));
	uint16_t a = r.publish.props.topic_alias;
	CHECK(fk_recv(s, &r) && r.publish.topic.len == 0 && r.publish.props.topic_alias == a);
	/* An alias above our maximum (10): DISCONNECT 0x94. */
	p = fk_publish("al/x", "3", 0, 0, false);
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_TOPIC_ALIAS);
	p.publish.props.topic_alias = 11;
	fk_send_pkt(pub, &p);
	CHECK(pub->closed);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x94);
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_expiry(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "ex", false);
	CHECK(fk_subscribed(s, "e/#", 1));
	brk_conn_lost(s->c);
	s->lost = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V5, "exp", true);
	p = fk_publish("e/short", "s", 1, 1, false);
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_MESSAGE_EXPIRY);
	p.publish.props.message_expiry = 1;
	fk_send_pkt(pub, &p);
	p = fk_publish("e/long", "l", 1, 2, false);
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_MESSAGE_EXPIRY);
	p.publish.props.message_expiry = 10;
	fk_send_pkt(pub, &p);
	fk_tick(&b, 3ull * 1000000000);
	struct fk_conn *s2 = fk_open(&b, 0);
	p = fk_connect(MQTT_V5, "ex", false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 100;
	fk_send_pkt(s2, &p);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_CONNACK && r.connack.session_present);
	CHECK(fk_recv(s2, &r) && fk_is_pub(&r, "e/long", "l"));
	CHECK(MQTT_PROP_HAS(&r.publish.props, MQTT_PROP_MESSAGE_EXPIRY));
	CHECK(r.publish.props.message_expiry == 7);
	CHECK(!fk_recv(s2, &r));
	struct brk_counters k;
	brk_shared_counters(b.sh, &k);
	CHECK(k.expired == 1);
	fk_free(s);
	fk_free(s2);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_session_expiry(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_open(&b, 0);
	p = fk_connect(MQTT_V5, "sx", false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 2;
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && r.connack.rc == 0);
	CHECK(fk_subscribed(s, "sx", 1));
	brk_conn_lost(s->c);
	s->lost = true;
	fk_tick(&b, 3ull * 1000000000);
	struct fk_conn *s2 = fk_open(&b, OTHER);
	fk_send_pkt(s2, &p);
	CHECK(fk_recv(s2, &r) && r.type == MQTT_CONNACK && !r.connack.session_present);
	fk_free(s);
	fk_free(s2);
	fk_bench_fini(&b);
}

static void test_v5_features(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	/* Subscription identifier, no local, user properties and response topic through. */
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "v5s", true);
	struct mqtt_packet sp = fk_subscribe("v/#", 1, 1);
	MQTT_PROP_SET(&sp.subscribe.props, MQTT_PROP_SUB_ID);
	sp.subscribe.props.sub_id = 42;
	fk_send_pkt(s, &sp);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK);
	sp = fk_subscribe("v/self", 1, 2);
	fk_sub_ent.no_local = true;
	fk_send_pkt(s, &sp);
	CHECK(fk_recv(s, &r) && r.type == MQTT_SUBACK);
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V5, "v5p", true);
	p = fk_publish("v/a", "body", 1, 1, false);
	struct mqtt_user_prop up = { { (const uint8_t *)"k", 1 }, { (const uint8_t *)"v", 1 } };
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_USER);
	p.publish.props.user = &up;
	p.publish.props.n_user = 1;
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_RESPONSE_TOPIC);
	p.publish.props.response_topic.p = (const uint8_t *)"resp";
	p.publish.props.response_topic.len = 4;
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_CORRELATION_DATA);
	p.publish.props.correlation_data.p = (const uint8_t *)"cd";
	p.publish.props.correlation_data.len = 2;
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_PAYLOAD_FORMAT);
	p.publish.props.payload_format = 1;
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_CONTENT_TYPE);
	p.publish.props.content_type.p = (const uint8_t *)"text/plain";
	p.publish.props.content_type.len = 10;
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "v/a", "body"));
	CHECK(r.publish.props.sub_id == 42);
	CHECK(r.publish.props.n_user == 1);
	CHECK(r.publish.props.response_topic.len == 4);
	CHECK(r.publish.props.correlation_data.len == 2);
	CHECK(r.publish.props.payload_format == 1);
	CHECK(r.publish.props.content_type.len == 10);
	/* No local: s publishes to v/self: only the v/# subscription matches it... */
	p = fk_publish("v/self", "me", 1, 5, false);
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "v/self", "me"));
	CHECK(r.publish.props.sub_id == 42 && r.publish.props.n_sub_ids == 1);
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBACK);
	CHECK(!fk_recv(s, &r)); /* v/self (no local) matched too, but only one copy */
	/* Subscription Identifier in a client PUBLISH: protocol error. */
	p = fk_publish("v/a", "x", 0, 0, false);
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_SUB_ID);
	p.publish.props.sub_id = 3;
	fk_send_pkt(pub, &p);
	CHECK(pub->closed);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x82);
	/* AUTH without a method: protocol error. */
	struct fk_conn *au = fk_client(&b, 0, MQTT_V5, "v5a", true);
	fk_send_pkt(au, &(struct mqtt_packet){ .type = MQTT_AUTH });
	CHECK(au->closed);
	CHECK(fk_recv(au, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x82);
	fk_free(s);
	fk_free(pub);
	fk_free(au);
	fk_bench_fini(&b);
}

static void test_max_packet_size_out(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_open(&b, OTHER);
	p = fk_connect(MQTT_V5, "mps", true, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_MAX_PACKET_SIZE);
	p.connect.props.max_packet_size = 40;
	fk_send_pkt(s, &p);
	CHECK(fk_recv(s, &r) && r.connack.rc == 0);
	CHECK(fk_subscribed(s, "m", 1));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "mpp", true);
	p = fk_publish("m", "this payload is longer than forty bytes in total", 1, 1, false);
	fk_send_pkt(pub, &p);
	p = fk_publish("m", "short", 1, 2, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "m", "short"));
	CHECK(!fk_recv(s, &r));
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void tune_limits(struct tachyon_config *c)
{
	c->max_connections = 2;
	c->message_size_limit = 4;
}

static void test_limits(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_limits);
	b.lst.max_connections = 2;
	struct mqtt_packet r, p;
	struct fk_conn *a = fk_client(&b, 0, MQTT_V311, "l1", true);
	struct fk_conn *c = fk_client(&b, OTHER, MQTT_V311, "l2", true);
	struct fk_conn *d = fk_open(&b, 0);
	p = fk_connect(MQTT_V5, "l3", true, 60);
	fk_send_pkt(d, &p);
	CHECK(fk_recv(d, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0x97);
	CHECK(d->closed);
	/* message_size_limit 4: QoS 1 of 5 bytes answered, not delivered. */
	CHECK(fk_subscribed(c, "big", 1));
	p = fk_publish("big", "12345", 1, 1, false);
	fk_send_pkt(a, &p);
	CHECK(fk_recv(a, &r) && r.type == MQTT_PUBACK);
	CHECK(!fk_recv(c, &r));
	struct brk_counters k;
	brk_shared_counters(b.sh, &k);
	CHECK(k.lim_connections == 1 && k.lim_packet_size == 1);
	fk_free(a);
	fk_free(c);
	fk_free(d);
	fk_bench_fini(&b);
}

static void test_bad_input(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "bs", true);
	CHECK(fk_subscribed(s, "b", 0));
	struct fk_conn *v5 = fk_client(&b, 0, MQTT_V5, "b5", true);
	brk_conn_bad_input(v5->c, MQTT_RC_MALFORMED, MQTT_V5);
	CHECK(v5->closed);
	CHECK(fk_recv(v5, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x81);
	struct fk_conn *v3 = fk_client(&b, 0, MQTT_V311, "b3", true);
	brk_conn_bad_input(v3->c, MQTT_RC_PROTOCOL_ERROR, MQTT_V311);
	CHECK(v3->closed);
	CHECK(!fk_recv(v3, &r));
	/* A second CONNECT is a protocol error. */
	struct fk_conn *v6 = fk_client(&b, 0, MQTT_V5, "b6", true);
	p = fk_connect(MQTT_V5, "b6", true, 60);
	uint8_t buf[64];
	size_t n = mqtt_encode(MQTT_V5, &p, buf, sizeof(buf));
	struct mqtt_packet d;
	CHECK(mqtt_decode(0, buf, n, &d) == MQTT_OK);
	CHECK(brk_conn_packet(v6->c, &d, (uint32_t)n) == BRK_CLOSED);
	v6->closed = true;
	/* The others did not notice. */
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "bp", true);
	p = fk_publish("b", "still", 0, 0, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "b", "still"));
	fk_free(s);
	fk_free(v5);
	fk_free(v3);
	fk_free(v6);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void test_backpressure(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "bk", true);
	CHECK(fk_subscribed(s, "bk", 1));
	s->full = true;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "bkp", true);
	/* Mixed QoS while the transport is full: order is kept (QoS 0 waits behind 1). */
	const char *pl[4] = { "1", "2", "3", "4" };
	for (int i = 0; i < 4; i++) {
		p = fk_publish("bk", pl[i], (uint8_t)(i % 2 ? 0 : 1), (uint16_t)(i + 1), false);
		fk_send_pkt(pub, &p);
	}
	CHECK(!fk_recv(s, &r));
	s->full = false;
	CHECK(brk_conn_writable(s->c) == BRK_CONTINUE);
	for (int i = 0; i < 4; i++)
		CHECK(fk_recv(s, &r) && fk_is_pub(&r, "bk", pl[i]));
	CHECK(!fk_recv(s, &r));
	fk_free(s);
	fk_free(pub);
	fk_bench_fini(&b);
}

static void tune_sys(struct tachyon_config *c)
{
	c->sys_interval = 1;
}

static void test_sys(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, tune_sys);
	struct mqtt_packet r;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "sys", true);
	CHECK(fk_subscribed(s, "$SYS/broker/clients/connected", 0));
	fk_tick(&b, 1100000000ull);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "$SYS/broker/clients/connected", "1"));
	/* '#' does not match $SYS topics [MQTT-4.7.2-1]. */
	CHECK(fk_subscribed(s, "#", 0));
	fk_tick(&b, 1100000000ull);
	int n = 0;
	while (fk_recv(s, &r))
		n += r.type == MQTT_PUBLISH && r.publish.topic.len == 29;
	CHECK(n == 1);
	fk_free(s);
	fk_bench_fini(&b);
}

static void test_shutdown(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r;
	struct fk_conn *v5 = fk_client(&b, 0, MQTT_V5, "sd5", true);
	struct fk_conn *v3 = fk_client(&b, 0, MQTT_V311, "sd3", true);
	struct fk_conn *nw = fk_open(&b, 0); /* no CONNECT yet */
	brk_worker_shutdown(b.w[0]);
	CHECK(v5->closed && v3->closed && nw->closed);
	CHECK(fk_recv(v5, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x8B);
	CHECK(!fk_recv(v3, &r));
	CHECK(!fk_recv(nw, &r));
	fk_free(v5);
	fk_free(v3);
	fk_free(nw);
	fk_bench_fini(&b);
}

int main(void)
{
	rcu_register_thread();
	for (NW = 1; NW <= 2; NW++) {
		test_connect_variants();
		test_keepalive_cap();
		test_pubsub_qos01();
		test_qos2_exactly_once();
		test_takeover();
		test_takeover_chain();
		test_persistent_queue_and_dup();
		test_queue_limit();
		test_inflight_window();
		test_packet_ids_wrap();
		test_retained();
		test_will();
		test_shared();
		test_topic_alias();
		test_expiry();
		test_session_expiry();
		test_v5_features();
		test_max_packet_size_out();
		test_limits();
		test_bad_input();
		test_backpressure();
		test_sys();
		test_shutdown();
	}
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("broker: all tests passed\n");
	return 0;
}
