/**
 * @file test_brk_ctl.c
 * The broker's management functions (brk_ctl.c) in-process over the fake transport, with one
 * and two workers: session listing (online, offline, expiry, subscriptions), kick (MQTT 5
 * DISCONNECT 0x98 and the will; 3.1.1 plain close; unknown and offline ids), retained list /
 * clear, publishing as the broker, settings changed at run time, the per-QoS counters and
 * the latency histogram.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "brk_fake.h"

static unsigned NW;
#define OTHER (NW > 1 ? 1u : 0u)

struct seen {
	unsigned n, online, offline;
	char ids[8][32];
	double expires_in[8];
	uint32_t n_subs[8];
	char sub0[8][32];
};

static void sub_first(void *arg, const char *filter, uint16_t len, const struct topic_opts *o)
{
	char *dst = arg;
	(void)o;
	if (dst[0] == '\0')
		snprintf(dst, 32, "%.*s", (int)len, filter);
}

static int collect(void *arg, const struct brk_client_info *ci)
{
	struct seen *s = arg;
	if (s->n == 8)
		return 1;
	snprintf(s->ids[s->n], 32, "%.*s", (int)ci->id_len, ci->id);
	s->expires_in[s->n] = ci->expires_in_s;
	s->n_subs[s->n] = ci->n_subs;
	s->sub0[s->n][0] = '\0';
	brk_ctl_client_subs(ci, sub_first, s->sub0[s->n]);
	if (ci->online)
		s->online++;
	else
		s->offline++;
	s->n++;
	return 0;
}

static void list_all(struct fk_bench *b, bool offline, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < b->n; i++)
		brk_ctl_list(b->w[i], offline, collect, s);
}

static int find(const struct seen *s, const char *id)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], id) == 0)
			return (int)i;
	return -1;
}

static int kick(struct fk_bench *b, const char *id)
{
	int rc = -ENOENT;
	for (unsigned i = 0; i < b->n; i++) {
		int r = brk_ctl_kick(b->w[i], id, strlen(id));
		if (r == 0 || (r == -ENOTCONN && rc == -ENOENT))
			rc = r;
	}
	return rc;
}

static void test_list_and_kick(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *w = fk_client(&b, 0, MQTT_V311, "watch", true);
	CHECK(fk_subscribed(w, "will/#", 0));
	/* A v5 client with a will and a persistent session, on the other worker. */
	struct fk_conn *v5 = fk_open(&b, OTHER);
	p = fk_connect(MQTT_V5, "k5", false, 60);
	MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
	p.connect.props.session_expiry = 100;
	p.connect.will = true;
	p.connect.will_topic.p = (const uint8_t *)"will/k5";
	p.connect.will_topic.len = 7;
	p.connect.will_payload.p = (const uint8_t *)"gone";
	p.connect.will_payload.len = 4;
	fk_send_pkt(v5, &p);
	CHECK(fk_recv(v5, &r) && r.type == MQTT_CONNACK && r.connack.rc == 0);
	CHECK(fk_subscribed(v5, "cmd/#", 1));
	struct fk_conn *v3 = fk_client(&b, 0, MQTT_V311, "k3", false);

	struct seen s;
	list_all(&b, false, &s);
	CHECK(s.n == 3 && s.online == 3);
	int i = find(&s, "k5");
	CHECK(i >= 0 && s.n_subs[i] == 1 && strcmp(s.sub0[i], "cmd/#") == 0);
	CHECK(s.expires_in[i] < 0); /* online: no expiry running */

	/* Unknown id; then kick the v5 client: DISCONNECT 0x98, closed, will published. */
	CHECK(kick(&b, "nobody") == -ENOENT);
	CHECK(kick(&b, "k5") == 0);
	CHECK(v5->closed);
	CHECK(fk_recv(v5, &r) && r.type == MQTT_DISCONNECT && r.disconnect.rc == 0x98);
	fk_pump(&b);
	CHECK(fk_recv(w, &r) && fk_is_pub(&r, "will/k5", "gone"));
	/* 3.1.1: a plain close, nothing sent. */
	CHECK(kick(&b, "k3") == 0);
	CHECK(v3->closed && !fk_recv(v3, &r));
	CHECK(kick(&b, "k3") == -ENOTCONN);

	/* Offline sessions: listed with offline = true, with their expiry. */
	list_all(&b, false, &s);
	CHECK(s.n == 1 && find(&s, "watch") == 0);
	fk_tick(&b, 10ull * 1000000000);
	list_all(&b, true, &s);
	CHECK(s.n == 3 && s.offline == 2);
	i = find(&s, "k5");
	CHECK(i >= 0 && s.expires_in[i] > 89 && s.expires_in[i] <= 90.0 + 1e-9);
	i = find(&s, "k3");
	CHECK(i >= 0 && s.expires_in[i] < 0); /* 3.1.1 persistent: never */
	fk_free(w);
	fk_free(v5);
	fk_free(v3);
	fk_bench_fini(&b);
}

struct rets {
	unsigned n;
	char topics[8][32];
};

static void ret_one(void *arg, const char *topic, uint16_t tl, const uint8_t *payload,
		    uint32_t len, uint8_t qos)
{
	struct rets *x = arg;
	(void)payload;
	(void)len;
	(void)qos;
	if (x->n < 8)
		snprintf(x->topics[x->n++], 32, "%.*s", (int)tl, topic);
}

static void test_retained_and_publish(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "rp", true);
	p = fk_publish("keep/a", "A", 0, 0, true);
	fk_send_pkt(pub, &p);
	p = fk_publish("keep/b", "B", 0, 0, true);
	fk_send_pkt(pub, &p);
	rcu_quiescent_state();
	struct rets x = { 0 };
	CHECK(brk_ctl_retained(b.w[OTHER], "keep/#", 6, ret_one, &x) == 2 && x.n == 2);
	memset(&x, 0, sizeof(x));
	CHECK(brk_ctl_retained(b.w[0], "keep/a", 6, ret_one, &x) == 1 &&
	      strcmp(x.topics[0], "keep/a") == 0);
	CHECK(brk_ctl_retained(b.w[0], "bad/#/x", 7, ret_one, &x) == -EINVAL);

	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V5, "rs", true);
	CHECK(fk_subscribed(s, "keep/#", 0));
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	CHECK(fk_recv(s, &r) && r.type == MQTT_PUBLISH);
	/* Clearing delivers nothing; the retained message is gone. */
	CHECK(brk_ctl_retained_clear(b.w[0], "keep/a", 6) == 0);
	fk_pump(&b);
	CHECK(!fk_recv(s, &r));
	rcu_quiescent_state();
	memset(&x, 0, sizeof(x));
	CHECK(brk_ctl_retained(b.w[0], "keep/#", 6, ret_one, &x) == 1 &&
	      strcmp(x.topics[0], "keep/b") == 0);
	CHECK(brk_ctl_retained_clear(b.w[0], "a/+", 3) == -EINVAL);

	/* Publishing as the broker reaches subscribers on every worker and may retain. */
	CHECK(brk_ctl_publish(b.w[0], "keep/c", 6, (const uint8_t *)"C", 1, 1, true) == 0);
	fk_pump(&b);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "keep/c", "C") && r.publish.qos == 0);
	rcu_quiescent_state();
	memset(&x, 0, sizeof(x));
	CHECK(brk_ctl_retained(b.w[0], "keep/c", 6, ret_one, &x) == 1);
	CHECK(brk_ctl_publish(b.w[0], "a/#", 3, (const uint8_t *)"x", 1, 0, false) == -EINVAL);
	CHECK(brk_ctl_publish(b.w[0], "", 0, (const uint8_t *)"x", 1, 0, false) == -EINVAL);
	fk_free(pub);
	fk_free(s);
	fk_bench_fini(&b);
}

static void test_settings_and_counters(void)
{
	struct fk_bench b;
	fk_bench_init(&b, NW, NULL);
	struct mqtt_packet r, p;
	struct fk_conn *s = fk_client(&b, OTHER, MQTT_V311, "ss", true);
	CHECK(fk_subscribed(s, "t/#", 2));
	struct fk_conn *pub = fk_client(&b, 0, MQTT_V311, "sp", true);
	p = fk_publish("t/1", "0123456789abcdef", 0, 0, false);
	fk_send_pkt(pub, &p);
	fk_pump(&b);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "t/1", "0123456789abcdef"));
	/* A smaller message_size_limit applies to the next PUBLISH. */
	b.cfg.message_size_limit = 8;
	brk_shared_apply_settings(b.sh, &b.cfg);
	fk_send_pkt(pub, &p);
	p = fk_publish("t/2", "short", 1, 7, false);
	fk_send_pkt(pub, &p);
	CHECK(fk_recv(pub, &r) && r.type == MQTT_PUBACK);
	fk_pump(&b);
	CHECK(fk_recv(s, &r) && fk_is_pub(&r, "t/2", "short") && r.publish.qos == 1);
	CHECK(!fk_recv(s, &r));
	p = fk_publish("t/3", "q2", 2, 8, false);
	fk_send_pkt(pub, &p);

	struct brk_counters k;
	brk_shared_counters(b.sh, &k);
	CHECK(k.msgs_received_qos[0] == 2 && k.msgs_received_qos[1] == 1 &&
	      k.msgs_received_qos[2] == 1);
	CHECK(k.msgs_sent_qos[0] == 1 && k.msgs_sent_qos[1] == 1);
	uint64_t sum = 0;
	for (unsigned i = 0; i < BRK_LAT_BUCKETS; i++)
		sum += k.lat_bucket[i];
	CHECK(sum == k.lat_count && k.lat_count == k.msgs_sent);
	fk_free(pub);
	fk_free(s);
	fk_bench_fini(&b);
}

int main(void)
{
	rcu_register_thread();
	for (NW = 1; NW <= 2; NW++) {
		test_list_and_kick();
		test_retained_and_publish();
		test_settings_and_counters();
	}
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("broker-ctl: all tests passed\n");
	return 0;
}
