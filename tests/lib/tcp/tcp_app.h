/**
 * @file tcp_app.h
 * The recording application of the scripted tests (callbacks that keep what they saw) and
 * the helpers that drive a connection from the peer's side. Included once by each scripted
 * test program (test_tcp_states.c, test_tcp_data.c); everything is static.
 */
#ifndef TACHYON_TESTS_TCP_APP_H
#define TACHYON_TESTS_TCP_APP_H

#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tcp_harness.h"

/* ---------------------------------------------------------------- recording application */

struct app {
	int accepted, connected, closed, fins, writable;
	enum tcp_close_reason reason;
	struct tcp_conn *conn;
	uint8_t rx[65536];
	uint32_t rxlen;
	uint32_t chains;        /* data callbacks */
	bool refuse;
	bool no_recved;         /* hold received data (window shrinks) */
	bool shutdown_on_fin;
};

static __attribute__((unused)) int app_accepted(void *arg, struct tcp_conn *c)
{
	struct app *a = arg;
	if (a->refuse)
		return -1;
	a->accepted++;
	a->conn = c;
	return 0;
}

static __attribute__((unused)) void app_connected(void *arg, struct tcp_conn *c)
{
	struct app *a = arg;
	a->connected++;
	a->conn = c;
}

static __attribute__((unused)) void app_data(void *arg, struct tcp_conn *c, struct rte_mbuf *m)
{
	struct app *a = arg;
	if (m == NULL) {
		a->fins++;
		if (a->shutdown_on_fin)
			tcp_shutdown(c);
		return;
	}
	a->chains++;
	uint32_t n = m->pkt_len;
	if (a->rxlen + n <= sizeof(a->rx)) {
		rte_pktmbuf_read(m, 0, n, a->rx + a->rxlen);
		const uint8_t *p = rte_pktmbuf_read(m, 0, n, a->rx + a->rxlen);
		if (p != a->rx + a->rxlen)
			memcpy(a->rx + a->rxlen, p, n);
		a->rxlen += n;
	}
	rte_pktmbuf_free(m);
	if (!a->no_recved)
		tcp_recved(c, n);
}

static __attribute__((unused)) void app_writable(void *arg, struct tcp_conn *c)
{
	(void)c;
	((struct app *)arg)->writable++;
}

static __attribute__((unused)) void app_closed(void *arg, struct tcp_conn *c, enum tcp_close_reason why)
{
	(void)c;
	struct app *a = arg;
	a->closed++;
	a->reason = why;
	a->conn = NULL;
}

static const struct tcp_callbacks __attribute__((unused)) app_cb = {
	.accepted = app_accepted, .connected = app_connected, .data = app_data,
	.writable = app_writable, .closed = app_closed,
};

/* ---------------------------------------------------------------- helpers */

#define PEER_ISN 1000u
#define PORT 7

static __attribute__((unused)) struct rte_mbuf *mk_data(const void *p, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), p, len);
	return m;
}

/* The last captured segment, or NULL. */
static __attribute__((unused)) struct th_seg *last(struct th *t)
{
	return t->ncap ? &t->cap[t->ncap - 1] : NULL;
}

struct conn_opts {
	bool ts, sack;
	int ws, mss;
};

/* Passive open through the three-way handshake; returns our ISS. */
static __attribute__((unused)) uint32_t passive_open(struct th *t, struct app *a, const struct conn_opts *o)
{
	CHECK_EQ(tcp_listen(t->s, 0, PORT, &app_cb, a), 0);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	sg.mss = o ? o->mss : 1460;
	sg.ws = o ? o->ws : -1;
	sg.sack_ok = o && o->sack;
	sg.ts = o && o->ts;
	sg.tsval = 100;
	th_input(t, &sg);
	th_poll(t, 0);
	struct th_seg *sa = last(t);
	CHECK(sa != NULL);
	if (sa == NULL)
		return 0;
	CHECK_EQ(sa->flags, TH_SYN | TH_ACK);
	CHECK_EQ(sa->ack, PEER_ISN + 1);
	CHECK(sa->cksum_ok);
	uint32_t iss = sa->seq;
	th_clear(t);
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.ts = o && o->ts;
	sg.tsval = 101;
	sg.tsecr = sa->tsval;
	th_input(t, &sg);
	th_poll(t, 0);
	CHECK_EQ(a->accepted, 1);
	CHECK(a->conn != NULL);
	if (a->conn)
		CHECK_EQ(tcp_conn_state(a->conn), TCP_ESTABLISHED);
	return iss;
}

static __attribute__((unused)) void peer_seg(struct th *t, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = seq;
	sg.ack = ack;
	sg.flags = flags;
	sg.data = (const uint8_t *)data;
	sg.len = data ? (uint32_t)strlen(data) : 0;
	th_input(t, &sg);
}


#endif
