/**
 * @file brk_fake.h
 * In-process test bench for lib/broker: N workers driven by one thread, a fake transport
 * per connection that captures what the broker sends, inboxes standing in for the rings,
 * and a virtual clock. Clients speak through lib/mqtt: tests build struct mqtt_packet,
 * the bench encodes and decodes them like a wire would, and decodes what comes back.
 */
#ifndef TACHYON_TEST_BRK_FAKE_H
#define TACHYON_TEST_BRK_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk.h"
#include "conf/conf.h"
#include "mqtt/mqtt.h"

#define FK_WORKERS 4
#define FK_INBOX 4096

struct fk_bench;

/** A client connection over the fake transport. */
struct fk_conn {
	struct fk_bench *b;
	struct brk_conn *c;
	unsigned worker;
	uint8_t version;
	uint8_t *out;          /* bytes the broker sent, not yet read by the test */
	size_t out_len, out_cap, out_off;
	uint8_t last[1 << 17]; /* the packet fk_recv returned (views point here) */
	bool closed;           /* broker called close */
	bool lost;             /* test called brk_conn_lost */
	bool full;             /* send answers -ENOBUFS */
	bool paused;
	int resumes;
};

struct fk_bench {
	struct tachyon_config cfg;
	struct brk_shared *sh;
	struct brk_worker *w[FK_WORKERS];
	unsigned n;
	struct brk_xmsg inbox[FK_WORKERS][FK_INBOX];
	unsigned in_n[FK_WORKERS];
	uint64_t now;
	struct brk_listener lst;
	bool hold;   /* fk_pump() delivers nothing: cross-worker messages wait in the inboxes */
};

int fk_fail;
#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
	__FILE__, __LINE__, #cond); fk_fail++; return; } } while (0)

static __attribute__((unused)) int fk_post(void *ctx, unsigned to, const struct brk_xmsg *m)
{
	struct fk_bench *b = ctx;
	if (b->in_n[to] == FK_INBOX)
		return -105; /* -ENOBUFS */
	b->inbox[to][b->in_n[to]++] = *m;
	return 0;
}

/* Deliver every pending cross-worker message, until none is left. */
static __attribute__((unused)) void fk_pump(struct fk_bench *b)
{
	bool any = !b->hold;
	while (any) {
		any = false;
		for (unsigned i = 0; i < b->n; i++) {
			unsigned k = b->in_n[i];
			if (k == 0)
				continue;
			struct brk_xmsg tmp[FK_INBOX];
			memcpy(tmp, b->inbox[i], k * sizeof(tmp[0]));
			b->in_n[i] = 0;
			for (unsigned j = 0; j < k; j++)
				brk_worker_receive(b->w[i], &tmp[j]);
			any = true;
		}
	}
}

static __attribute__((unused)) void fk_tick(struct fk_bench *b, uint64_t advance_ns)
{
	b->now += advance_ns;
	for (unsigned i = 0; i < b->n; i++)
		brk_worker_tick(b->w[i], b->now);
	fk_pump(b);
	rcu_quiescent_state();
}

static __attribute__((unused)) void fk_bench_init(struct fk_bench *b, unsigned n, void (*tune)(struct tachyon_config *))
{
	memset(b, 0, sizeof(*b));
	conf_defaults(&b->cfg);
	b->cfg.sys_interval = 0;
	if (tune)
		tune(&b->cfg);
	b->n = n;
	b->now = 1000000000ull;
	b->sh = brk_shared_create(&b->cfg, n, b->now);
	struct brk_worker_ops ops = { .post = fk_post, .ctx = b };
	for (unsigned i = 0; i < n; i++) {
		b->w[i] = brk_worker_create(b->sh, i, &ops);
		brk_worker_tick(b->w[i], b->now);
	}
	b->lst.port = 1883;
	b->lst.max_connections = -1;
	b->lst.max_topic_alias = b->cfg.max_topic_alias;
	b->lst.allow_zero_length_clientid = b->cfg.allow_zero_length_clientid;
}

static __attribute__((unused)) void fk_bench_fini(struct fk_bench *b)
{
	fk_pump(b);
	for (unsigned i = 0; i < b->n; i++)
		brk_worker_destroy(b->w[i]);
	brk_shared_destroy(b->sh);
	rcu_barrier();
}

/* ---- fake transport ---- */

static __attribute__((unused)) int fk_send(void *tctx, const uint8_t *head, uint32_t len, struct brk_msg *msg)
{
	struct fk_conn *f = tctx;
	if (f->full)
		return -105;
	uint32_t pl = 0;
	const uint8_t *pay = msg ? brk_msg_payload(msg, &pl) : NULL;
	size_t need = f->out_len + len + pl;
	if (need > f->out_cap) {
		f->out_cap = need * 2 + 1024;
		f->out = realloc(f->out, f->out_cap);
	}
	memcpy(f->out + f->out_len, head, len);
	f->out_len += len;
	if (pl)
		memcpy(f->out + f->out_len, pay, pl);
	f->out_len += pl;
	return 0;
}

static __attribute__((unused)) void fk_close(void *tctx)
{
	((struct fk_conn *)tctx)->closed = true;
}

static __attribute__((unused)) void fk_resume(void *tctx)
{
	struct fk_conn *f = tctx;
	f->paused = false;
	f->resumes++;
}

static __attribute__((unused)) const struct brk_conn_ops fk_ops = { fk_send, fk_close, fk_resume };

static __attribute__((unused)) struct fk_conn *fk_open(struct fk_bench *b, unsigned worker)
{
	struct fk_conn *f = calloc(1, sizeof(*f));
	f->b = b;
	f->worker = worker;
	f->c = brk_conn_open(b->w[worker], &fk_ops, f, &b->lst, b->now);
	return f;
}

static __attribute__((unused)) void fk_free(struct fk_conn *f)
{
	if (!f->closed && !f->lost && f->c != NULL)
		brk_conn_lost(f->c);
	free(f->out);
	free(f);
}

/* Client -> broker: encode, decode as the server's decoder would, hand over. */
static __attribute__((unused)) enum brk_input fk_send_pkt(struct fk_conn *f, const struct mqtt_packet *p)
{
	if (f->closed || f->lost)
		return BRK_CLOSED; /* the handle is dead: a transport never calls it again */
	uint8_t ver = p->type == MQTT_CONNECT ? p->connect.version : f->version;
	size_t n = mqtt_encode_size(ver, p);
	uint8_t *buf = malloc(n ? n : 1);
	if (n == 0 || mqtt_encode(ver, p, buf, n) != n) {
		fprintf(stderr, "fk: cannot encode type %u\n", p->type);
		free(buf);
		return BRK_CLOSED;
	}
	struct mqtt_packet d;
	int rc = mqtt_decode(p->type == MQTT_CONNECT ? MQTT_V_NONE : f->version, buf, n, &d);
	enum brk_input r;
	if (p->type == MQTT_CONNECT)
		f->version = p->connect.version;
	if (rc != MQTT_OK) {
		brk_conn_bad_input(f->c, (uint8_t)rc, f->version);
		r = BRK_CLOSED;
	} else {
		r = brk_conn_packet(f->c, &d, (uint32_t)n);
	}
	free(buf);
	if (r == BRK_PAUSE)
		f->paused = true;
	fk_pump(f->b);
	return r;
}

/* Broker -> client: the next packet, or false when none is waiting. */
static __attribute__((unused)) bool fk_recv(struct fk_conn *f, struct mqtt_packet *out)
{
	size_t avail = f->out_len - f->out_off;
	if (avail == 0)
		return false;
	struct mqtt_frame fr;
	if (mqtt_frame(f->out + f->out_off, avail, 0, &fr) != MQTT_OK)
		return false;
	memcpy(f->last, f->out + f->out_off, fr.total_len);
	f->out_off += fr.total_len;
	int rc = mqtt_decode(f->version, f->last, fr.total_len, out);
	if (rc != MQTT_OK) {
		fprintf(stderr, "fk: broker sent an undecodable packet (0x%02x)\n", rc);
		return false;
	}
	return true;
}

static __attribute__((unused)) int fk_count_type(struct fk_conn *f, uint8_t type)
{
	int n = 0;
	struct mqtt_packet p;
	while (fk_recv(f, &p))
		n += p.type == type;
	return n;
}

/* ---- packet builders ---- */

static __attribute__((unused)) struct mqtt_packet fk_connect(uint8_t ver, const char *id, bool clean, uint16_t ka)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNECT;
	p.connect.version = ver;
	p.connect.clean_start = clean;
	p.connect.keep_alive = ka;
	p.connect.client_id.p = (const uint8_t *)id;
	p.connect.client_id.len = (uint32_t)strlen(id);
	return p;
}

static __attribute__((unused)) struct mqtt_packet fk_publish(const char *topic, const char *payload, uint8_t qos,
				     uint16_t pid, bool retain)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_PUBLISH;
	p.flags = (uint8_t)(qos << 1 | (retain ? 1 : 0));
	p.publish.qos = qos;
	p.publish.retain = retain;
	p.publish.packet_id = qos ? pid : 0;
	p.publish.topic.p = (const uint8_t *)topic;
	p.publish.topic.len = (uint32_t)strlen(topic);
	p.publish.payload.p = (const uint8_t *)payload;
	p.publish.payload.len = (uint32_t)strlen(payload);
	return p;
}

static __attribute__((unused)) struct mqtt_sub fk_sub_ent;

static __attribute__((unused)) struct mqtt_packet fk_subscribe(const char *filter, uint8_t qos, uint16_t pid)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	memset(&fk_sub_ent, 0, sizeof(fk_sub_ent));
	fk_sub_ent.filter.p = (const uint8_t *)filter;
	fk_sub_ent.filter.len = (uint32_t)strlen(filter);
	fk_sub_ent.qos = qos;
	p.type = MQTT_SUBSCRIBE;
	p.flags = 2;
	p.subscribe.packet_id = pid;
	p.subscribe.subs = &fk_sub_ent;
	p.subscribe.count = 1;
	return p;
}

static __attribute__((unused)) struct mqtt_packet fk_ack(uint8_t type, uint16_t pid)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = type;
	p.flags = type == MQTT_PUBREL ? 2 : 0;
	p.ack.packet_id = pid;
	return p;
}

/* Open, CONNECT, expect CONNACK 0. */
static __attribute__((unused)) struct fk_conn *fk_client(struct fk_bench *b, unsigned worker, uint8_t ver,
				 const char *id, bool clean)
{
	struct fk_conn *f = fk_open(b, worker);
	struct mqtt_packet p = fk_connect(ver, id, clean, 60);
	if (ver == MQTT_V5 && !clean) {
		MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
		p.connect.props.session_expiry = 3600;
	}
	fk_send_pkt(f, &p);
	struct mqtt_packet r;
	if (!fk_recv(f, &r) || r.type != MQTT_CONNACK || r.connack.rc != 0)
		fprintf(stderr, "fk_client %s: no CONNACK 0\n", id);
	return f;
}

static __attribute__((unused)) bool fk_subscribed(struct fk_conn *f, const char *filter, uint8_t qos)
{
	struct mqtt_packet p = fk_subscribe(filter, qos, 1);
	fk_send_pkt(f, &p);
	struct mqtt_packet r;
	return fk_recv(f, &r) && r.type == MQTT_SUBACK && r.suback.codes.len == 1 &&
	       r.suback.codes.p[0] == qos;
}

static __attribute__((unused)) bool fk_is_pub(const struct mqtt_packet *p, const char *topic, const char *payload)
{
	return p->type == MQTT_PUBLISH && p->publish.topic.len == strlen(topic) &&
	       memcmp(p->publish.topic.p, topic, strlen(topic)) == 0 &&
	       p->publish.payload.len == strlen(payload) &&
	       memcmp(p->publish.payload.p, payload, strlen(payload)) == 0;
}

#endif
