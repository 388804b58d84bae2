/**
 * @file lg_client.c
 * One MQTT client of tachyon-loadgen over lib/tcp (see lg.h for the data flow): the active
 * open, CONNECT -> CONNACK -> SUBSCRIBE -> SUBACK, publishing with sequence numbers and
 * timestamps, receiving with loss/duplicate accounting, keep alive and DISCONNECT.
 *
 * QoS 2 both ways: a publisher answers PUBREC with PUBREL and counts the message done at
 * PUBCOMP; a subscriber answers PUBLISH with PUBREC and PUBREL with PUBCOMP. Exactly once
 * is checked on the application's side: a sequence number counted twice is a duplicate,
 * whatever the packet identifiers said.
 *
 * Clients never copy received payload: the data callback feeds each received segment to the
 * client's incremental decoder, which points into the segment (or, for a packet straddling
 * segments, into the client's small reassembly buffer), and the segment is freed as soon as
 * it is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_mbuf.h>

#include "lg.h"

/* The one generator of this process: TCP callbacks get the client as their argument. */
static struct lg *lg__g;

uint64_t lg_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lg__closed_unexpected(struct lg *g, struct lg_client *c)
{
	if (c->state == LG_C_READY) {
		if (!g->closing)
			g->st.dropped++;
	} else if (c->state != LG_C_CLOSED) {
		g->st.connect_failed++;
		if (g->connecting > 0)
			g->connecting--;
	}
	c->state = LG_C_CLOSED;
	c->conn = NULL;
}

/* Copies @p len bytes into a chain of mbufs and queues it on the connection. A refused send
 * (-ENOBUFS: the send buffer is full) is counted and the bytes are dropped: the callers only
 * send when tcp_sndbuf() had room, so this happens only with tiny send buffers. */
static int lg__send(struct lg *g, struct lg_client *c, const uint8_t *buf, size_t len)
{
	if (c->conn == NULL)
		return -ENOTCONN;
	struct rte_mbuf *head = NULL, *tail = NULL;
	size_t off = 0;
	while (off < len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(g->pool);
		if (m == NULL) {
			rte_pktmbuf_free(head);
			return -ENOBUFS;
		}
		uint16_t room = rte_pktmbuf_tailroom(m);
		size_t n = len - off < room ? len - off : room;
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), buf + off, n);
		off += n;
		if (head == NULL) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += (uint32_t)n;
		}
	}
	int rc = tcp_send(c->conn, head);
	if (rc != 0) {
		rte_pktmbuf_free(head);
		g->st.send_fail++;
		if (rc == -ENOBUFS)
			c->write_blocked = true;
		return rc;
	}
	c->last_tx_ns = g->now_ns;
	return 0;
}

static int lg__send_pkt(struct lg *g, struct lg_client *c, const struct mqtt_packet *p)
{
	size_t n = mqtt_encode(g->o.version, p, g->scratch, g->scratch_cap);
	if (n == 0)
		return -EINVAL;
	return lg__send(g, c, g->scratch, n);
}

static void lg__send_connect(struct lg *g, struct lg_client *c)
{
	char cid[48];
	int n = snprintf(cid, sizeof(cid), "lg-%d-%u", (int)getpid(), c->id);
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_CONNECT;
	p.connect.version = g->o.version;
	p.connect.clean_start = true;
	p.connect.keep_alive = g->o.keepalive;
	p.connect.client_id.p = (const uint8_t *)cid;
	p.connect.client_id.len = (uint32_t)n;
	lg__send_pkt(g, c, &p);
}

static void lg__send_subscribe(struct lg *g, struct lg_client *c)
{
	char filter[200];
	int n;
	switch (g->o.scenario) {
	case LG_FANIN:
		n = snprintf(filter, sizeof(filter), "%s/+", g->o.topic);
		break;
	case LG_P2P: /* subscriber i hears publisher i only */
		n = snprintf(filter, sizeof(filter), "%s/%u", g->o.topic, c->id);
		break;
	case LG_SHARED:
		n = snprintf(filter, sizeof(filter), "$share/%s/%s/+", g->o.share_group,
			     g->o.topic);
		break;
	default:
		n = snprintf(filter, sizeof(filter), "%s", g->o.topic);
		break;
	}
	struct mqtt_sub sub;
	memset(&sub, 0, sizeof(sub));
	sub.filter.p = (const uint8_t *)filter;
	sub.filter.len = (uint32_t)n;
	sub.qos = g->o.qos;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_SUBSCRIBE;
	p.subscribe.packet_id = 1;
	p.subscribe.subs = &sub;
	p.subscribe.count = 1;
	lg__send_pkt(g, c, &p);
}

static void lg__send_ack(struct lg *g, struct lg_client *c, uint8_t type, uint16_t pid)
{
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = type;
	p.ack.packet_id = pid;
	lg__send_pkt(g, c, &p);
}

static void lg__ready(struct lg *g, struct lg_client *c)
{
	c->state = LG_C_READY;
	g->st.connected++;
	if (g->connecting > 0)
		g->connecting--;
	if (g->st.connected == g->n_clients)
		g->st.all_connected_ns = g->now_ns;
}

/* Shared subscriptions: marks @p seq of one publisher received by some member of the
 * group. @return true if it was marked already (a duplicate), false otherwise (also when
 * out of memory: then the message counts once and duplicates of it go unseen). */
static bool lg__seen_test_set(struct lg_seen *s, uint32_t seq)
{
	uint32_t w = seq / 64;
	if (w >= s->nwords) {
		uint32_t n = s->nwords ? s->nwords : 64;
		while (n <= w)
			n *= 2;
		uint64_t *b = realloc(s->bits, (size_t)n * sizeof(*b));
		if (b == NULL)
			return false;
		memset(b + s->nwords, 0, (size_t)(n - s->nwords) * sizeof(*b));
		s->bits = b;
		s->nwords = n;
	}
	uint64_t bit = 1ull << (seq % 64);
	bool had = (s->bits[w] & bit) != 0;
	s->bits[w] |= bit;
	return had;
}

/* A PUBLISH reached a subscriber: acknowledgement, fault injection, then sequence and
 * latency accounting. */
static void lg__on_publish(struct lg *g, struct lg_client *c, const struct mqtt_publish *pub)
{
	if (pub->qos == 1) {
		lg__send_ack(g, c, MQTT_PUBACK, pub->packet_id);
	} else if (pub->qos == 2) {
		/* Method B of MQTT 4.3.3 as a receiver may do it: deliver now, and only once,
		 * which the sequence check below verifies; PUBCOMP follows the PUBREL. */
		lg__send_ack(g, c, MQTT_PUBREC, pub->packet_id);
		g->st.qos2_open++;
	}
	if (c->role != LG_ROLE_SUB || pub->payload.len < LG_PAYLOAD_MIN) {
		g->st.bad_packets++;
		return;
	}
	c->recv_count++;
	uint32_t pid, seq;
	uint64_t ts;
	memcpy(&pid, pub->payload.p, 4);
	memcpy(&seq, pub->payload.p + 4, 4);
	memcpy(&ts, pub->payload.p + 8, 8);
	if (pid >= g->n_pubs) {
		g->st.bad_packets++;
		return;
	}
	if (g->o.drop_every != 0 && c->recv_count % g->o.drop_every == 0) {
		/* Discarded before it is counted: the sequence check sees the hole when the
		 * next message arrives, which also releases the publisher's window. */
		g->st.injected_drops++;
		return;
	}
	struct lg_client *pub_c = &g->clients[g->n_subs + pid];
	if (g->o.scenario == LG_SHARED) {
		/* the group shares one record: no member sees a contiguous sequence */
		if (lg__seen_test_set(&g->seen[pid], seq)) {
			g->st.dups++;
			return;
		}
		pub_c->accounted++;
		goto counted;
	}
	if (g->o.scenario == LG_P2P && pid != c->id) {
		g->st.bad_packets++; /* another pair's message: the broker mixed up topics */
		return;
	}
	uint32_t *exp = &c->expect[g->o.scenario == LG_P2P ? 0 : pid];
	if (seq == *exp) {
		(*exp)++;
		pub_c->accounted++;
	} else if (seq > *exp) {
		g->st.gaps += seq - *exp;
		pub_c->accounted += seq - *exp + 1; /* the gap no longer holds the window */
		*exp = seq + 1;
	} else {
		/* Below what we expect: a duplicate, or a message that arrived after a later one
		 * (counted as a gap then). MQTT orders one publisher's messages on one topic, so
		 * in a correct broker this is a duplicate. */
		g->st.dups++;
		return;
	}
counted:
	g->st.delivered++;
	if (ts >= g->st.measure_start_ns && g->st.measure_start_ns != 0) {
		uint64_t lat = g->now_ns > ts ? g->now_ns - ts : 0;
		lg_hist_add(&g->st.lat, lat);
		g->st.delivered_timed++;
		if (g->st.first_timed_ns == 0)
			g->st.first_timed_ns = g->now_ns;
		g->st.last_timed_ns = g->now_ns;
	}
}

static void lg__on_packet(struct lg *g, struct lg_client *c, const struct mqtt_packet *p)
{
	switch (p->type) {
	case MQTT_CONNACK:
		if (c->state != LG_C_MQTT || p->connack.rc != 0) {
			g->st.bad_packets++;
			return;
		}
		if (c->role == LG_ROLE_SUB) {
			c->state = LG_C_SUBSCRIBING;
			lg__send_subscribe(g, c);
		} else {
			lg__ready(g, c);
		}
		return;
	case MQTT_SUBACK:
		if (c->state != LG_C_SUBSCRIBING || p->suback.codes.len < 1 ||
		    p->suback.codes.p[0] >= 0x80) {
			g->st.bad_packets++;
			return;
		}
		lg__ready(g, c);
		return;
	case MQTT_PUBLISH:
		lg__on_publish(g, c, &p->publish);
		return;
	case MQTT_PUBACK:
		if (c->role != LG_ROLE_PUB || g->o.qos != 1) {
			g->st.bad_packets++;
			return;
		}
		if (c->inflight > 0)
			c->inflight--;
		g->st.acked++;
		return;
	case MQTT_PUBREC:
		/* publisher, QoS 2: the broker has it; release it. A v5 error code ends the
		 * exchange here (MQTT 5 4.3.3): counted as a bad packet, the window slot freed. */
		if (c->role != LG_ROLE_PUB || g->o.qos != 2 || p->ack.rc >= 0x80) {
			g->st.bad_packets++;
			if (c->inflight > 0)
				c->inflight--;
			return;
		}
		g->st.pubrecs++;
		g->st.qos2_open++;
		lg__send_ack(g, c, MQTT_PUBREL, p->ack.packet_id);
		return;
	case MQTT_PUBCOMP:
		if (c->role != LG_ROLE_PUB || g->o.qos != 2 || g->st.qos2_open == 0) {
			g->st.bad_packets++;
			return;
		}
		g->st.qos2_open--;
		if (c->inflight > 0)
			c->inflight--;
		g->st.acked++;
		return;
	case MQTT_PUBREL:
		/* subscriber, QoS 2: the broker released a message we PUBREC'd */
		if (c->role != LG_ROLE_SUB || g->st.qos2_open == 0) {
			g->st.bad_packets++;
			return;
		}
		g->st.qos2_open--;
		g->st.pubrels++;
		lg__send_ack(g, c, MQTT_PUBCOMP, p->ack.packet_id);
		return;
	case MQTT_PINGRESP:
		g->st.pings++;
		return;
	default:
		g->st.bad_packets++;
		return;
	}
}

static void lg__tcp_connected(void *arg, struct tcp_conn *conn)
{
	struct lg_client *c = arg;
	struct lg *g = lg__g;
	(void)conn;
	c->state = LG_C_MQTT;
	lg__send_connect(g, c);
}

static void lg__tcp_data(void *arg, struct tcp_conn *conn, struct rte_mbuf *m)
{
	struct lg_client *c = arg;
	struct lg *g = lg__g;
	if (m == NULL) {
		/* The broker closed its side: finish ours. */
		tcp_close(conn);
		lg__closed_unexpected(g, c);
		return;
	}
	uint32_t total = m->pkt_len;
	for (struct rte_mbuf *s = m; s != NULL && c->conn != NULL; s = s->next) {
		const uint8_t *data = rte_pktmbuf_mtod(s, const uint8_t *);
		size_t len = s->data_len;
		while (len > 0 && c->conn != NULL) {
			struct mqtt_packet p;
			int rc = mqtt_decoder_feed(&c->dec, &data, &len, &p);
			if (rc == MQTT_NEED_MORE)
				break;
			if (rc != MQTT_OK) {
				g->st.bad_packets++;
				if (g->o.verbose)
					fprintf(stderr, "client %u: bad input: %s\n", c->id,
						mqtt_reason_str((uint8_t)rc));
				tcp_abort(c->conn);
				lg__closed_unexpected(g, c);
				break;
			}
			lg__on_packet(g, c, &p);
		}
	}
	if (c->conn != NULL)
		tcp_recved(c->conn, total);
	rte_pktmbuf_free(m);
}

static void lg__tcp_writable(void *arg, struct tcp_conn *conn)
{
	struct lg_client *c = arg;
	(void)conn;
	c->write_blocked = false;
}

static void lg__tcp_closed(void *arg, struct tcp_conn *conn, enum tcp_close_reason reason)
{
	struct lg_client *c = arg;
	struct lg *g = lg__g;
	(void)conn;
	if (g->o.verbose && !g->closing)
		fprintf(stderr, "client %u: connection closed (reason %d) in state %u\n", c->id,
			(int)reason, c->state);
	lg__closed_unexpected(g, c);
}

static const struct tcp_callbacks lg__cb = {
	.connected = lg__tcp_connected,
	.data = lg__tcp_data,
	.writable = lg__tcp_writable,
	.closed = lg__tcp_closed,
};

int lg_clients_init(struct lg *g)
{
	const struct lg_opts *o = &g->o;
	unsigned pubs, subs, idle = 0, expect_per_sub;
	switch (o->scenario) {
	case LG_FANOUT:
		pubs = o->pubs;
		subs = o->subs;
		g->fan = subs;
		expect_per_sub = pubs;
		break;
	case LG_FANIN:
		pubs = o->conns;
		subs = 1;
		g->fan = 1;
		expect_per_sub = pubs;
		break;
	case LG_P2P:
		pubs = subs = o->conns;
		g->fan = 1;
		expect_per_sub = 1;
		break;
	case LG_SHARED:
		pubs = o->conns;
		subs = o->subs_set ? o->subs : 2;
		g->fan = 1; /* one member of the group gets each message */
		expect_per_sub = 0;
		break;
	default:
		pubs = subs = 0;
		idle = o->conns;
		g->fan = 0;
		expect_per_sub = 0;
		break;
	}
	lg__g = g;
	g->n_pubs = pubs;
	g->n_subs = subs;
	g->n_clients = pubs + subs + idle;
	g->clients = calloc(g->n_clients ? g->n_clients : 1, sizeof(*g->clients));
	g->expect_store = calloc((size_t)subs * expect_per_sub + 1, sizeof(uint32_t));
	if (o->scenario == LG_SHARED && (g->seen = calloc(pubs + 1, sizeof(*g->seen))) == NULL)
		return -ENOMEM;
	/* a PUBLISH is encoded in front of its payload, which sits in the buffer's tail */
	g->scratch_cap = 2 * o->payload + 512;
	g->scratch = malloc(g->scratch_cap);
	if (g->clients == NULL || g->expect_store == NULL || g->scratch == NULL)
		return -ENOMEM;
	/* Subscribers first, so that every subscription exists before publishing starts;
	 * then publishers, then idle clients. lg__run finds the publishers by this position. */
	uint32_t cap = o->payload + 256; /* one PUBLISH (topic, header, properties) */
	for (unsigned i = 0; i < g->n_clients; i++) {
		struct lg_client *c = &g->clients[i];
		c->id = i;
		if (i < subs) {
			c->role = LG_ROLE_SUB;
			c->expect = &g->expect_store[(size_t)i * expect_per_sub];
		} else if (i < subs + pubs) {
			c->role = LG_ROLE_PUB;
			c->pub_index = i - subs;
		} else {
			c->role = LG_ROLE_IDLE;
			cap = 64; /* PINGRESP and the CONNACK only */
		}
		c->rbuf = malloc(cap);
		if (c->rbuf == NULL)
			return -ENOMEM;
		mqtt_decoder_init(&c->dec, c->rbuf, cap, 0, o->version);
		c->next_pid = 1;
	}
	return 0;
}

void lg_clients_fini(struct lg *g)
{
	for (unsigned i = 0; g->clients != NULL && i < g->n_clients; i++)
		free(g->clients[i].rbuf);
	free(g->clients);
	free(g->expect_store);
	for (unsigned i = 0; g->seen != NULL && i < g->n_pubs; i++)
		free(g->seen[i].bits);
	free(g->seen);
	g->seen = NULL;
	free(g->scratch);
	g->clients = NULL;
	g->expect_store = NULL;
	g->scratch = NULL;
}

int lg_client_open(struct lg *g, struct lg_client *c)
{
	/* Client i uses source address i % n_src and port base + i / n_src, so a run with k
	 * source addresses holds up to k * 64,000 connections to one broker port. The base is
	 * random per run: the broker may still hold the last run's tuples in TIME-WAIT. */
	unsigned n_src = g->o.n_src ? g->o.n_src : 1;
	uint32_t src = g->o.src_ip + c->id % n_src;
	uint32_t slot = c->id / n_src;
	uint16_t port = (uint16_t)(1024 + (g->port_base + slot) % 64000u);
	c->start_ns = g->now_ns;
	c->state = LG_C_TCP;
	c->conn = tcp_connect(g->tcp, src, port, g->o.dst_ip, g->o.dst_port, &lg__cb, c);
	if (c->conn == NULL) {
		c->state = LG_C_CLOSED;
		g->st.connect_failed++;
		return -rte_errno;
	}
	g->st.connects_started++;
	g->connecting++;
	return 0;
}

void lg_client_publish(struct lg *g, struct lg_client *c)
{
	const struct lg_opts *o = &g->o;
	if (c->state != LG_C_READY || c->write_blocked)
		return;
	char topic[160];
	int tn = -1; /* formatted on the first send: most calls find the window full */
	/* The payload lives in the scratch buffer's tail, encoded in front of it. */
	uint8_t *payload = g->scratch + g->scratch_cap - o->payload;
	unsigned burst = 0;
	while (burst < o->inflight) {
		if (o->qos > 0 && c->inflight >= o->inflight)
			break;
		/* End to end: the broker acknowledges on receipt, so only arrivals at the
		 * subscribers bound how far a publisher runs ahead of them. */
		uint64_t sent = (uint64_t)c->seq * g->fan;
		if (sent > c->accounted && sent - c->accounted >= (uint64_t)o->inflight * g->fan)
			break;
		if (o->rate > 0 && g->now_ns < c->next_pub_ns)
			break;
		/* QoS 0 is limited by the TCP send buffer's backpressure (a soft limit: a
		 * message is accepted while any room is left). */
		if (tcp_sndbuf(c->conn) == 0) {
			if (!tcp_want_writable(c->conn))
				c->write_blocked = true;
			break;
		}
		if (tn < 0)
			tn = o->scenario == LG_FANOUT ?
				     snprintf(topic, sizeof(topic), "%s", o->topic) :
				     snprintf(topic, sizeof(topic), "%s/%u", o->topic, c->pub_index);
		uint64_t ts = lg_now_ns();
		memcpy(payload, &c->pub_index, 4);
		memcpy(payload + 4, &c->seq, 4);
		memcpy(payload + 8, &ts, 8);
		struct mqtt_packet p;
		memset(&p, 0, sizeof(p));
		p.type = MQTT_PUBLISH;
		p.publish.qos = o->qos;
		p.publish.topic.p = (const uint8_t *)topic;
		p.publish.topic.len = (uint32_t)tn;
		p.publish.payload.p = payload;
		p.publish.payload.len = o->payload;
		if (o->qos > 0) {
			p.publish.packet_id = c->next_pid;
			c->next_pid = (uint16_t)(c->next_pid == 65535 ? 1 : c->next_pid + 1);
		}
		size_t n = mqtt_encode(o->version, &p, g->scratch, g->scratch_cap - o->payload);
		if (n == 0 || lg__send(g, c, g->scratch, n) != 0)
			break;
		c->seq++;
		if (o->qos > 0)
			c->inflight++;
		g->st.published++;
		if (o->dup_every != 0 && c->seq % o->dup_every == 0) {
			/* Fault injection: the same message again as a new PUBLISH (new packet
			 * id, so the broker must forward it): what a subscriber sees when a
			 * broker delivers twice. The exactly-once check must fail the run. */
			if (o->qos > 0) {
				p.publish.packet_id = c->next_pid;
				c->next_pid = (uint16_t)(c->next_pid == 65535 ? 1 :
							 c->next_pid + 1);
			}
			n = mqtt_encode(o->version, &p, g->scratch, g->scratch_cap - o->payload);
			if (n != 0 && lg__send(g, c, g->scratch, n) == 0) {
				if (o->qos > 0)
					c->inflight++;
				g->st.injected_dups++;
			}
		}
		burst++;
		if (o->rate > 0) {
			uint64_t gap = (uint64_t)(1e9 * g->n_pubs / o->rate);
			c->next_pub_ns = (c->next_pub_ns && g->now_ns - c->next_pub_ns < 1000000000ull ?
					  c->next_pub_ns : g->now_ns) + gap;
		}
	}
}

void lg_client_keepalive(struct lg *g, struct lg_client *c)
{
	if (c->state != LG_C_READY || g->o.keepalive == 0)
		return;
	if (g->now_ns - c->last_tx_ns < (uint64_t)g->o.keepalive * 500000000ull)
		return;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_PINGREQ;
	lg__send_pkt(g, c, &p);
}

void lg_client_disconnect(struct lg *g, struct lg_client *c)
{
	if (c->conn == NULL || c->state != LG_C_READY)
		return;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_DISCONNECT;
	lg__send_pkt(g, c, &p);
}

void lg_client_abort(struct lg *g, struct lg_client *c)
{
	(void)g;
	if (c->conn == NULL)
		return;
	tcp_abort(c->conn);
	c->conn = NULL;
	c->state = LG_C_CLOSED;
}
