/**
 * @file test_tcp_states.c
 * Scripted in-process tests of lib/tcp, part 1: connection state. Crafted segments in, the
 * stack's segments captured and checked, virtual time: every state transition (passive,
 * active and simultaneous open; active, passive and simultaneous close; half-close both ways;
 * TIME-WAIT; orphan FIN-WAIT-2; data after close), the options of the handshake, RFC 5961
 * (RST and SYN handling, ACK checks). Data transfer, hostile input, SYN cookies and ISNs:
 * test_tcp_data.c. After each test the stack is destroyed and the mbuf pool must be back to
 * where it started.
 * Usage: test_tcp_states [name-substring]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tcp_app.h"
#include "tcp_harness.h"

/* ---------------------------------------------------------------- tests: open */

static void test_passive_open_options(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .ts = true, .sack = true, .ws = 7, .mss = 1400 };
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), 0);
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), -EADDRINUSE);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	sg.mss = o.mss;
	sg.ws = o.ws;
	sg.sack_ok = true;
	sg.ts = true;
	sg.tsval = 5555;
	th_input(&t, &sg);
	CHECK_EQ(t.ncap, 0); /* replies wait for the flush */
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	struct th_seg *sa = &t.cap[0];
	CHECK_EQ(sa->flags, TH_SYN | TH_ACK);
	CHECK_EQ(sa->mss, 1460);      /* advertised from the MTU */
	CHECK(sa->ws >= 2);           /* 256 KB rcvbuf needs a shift */
	CHECK(sa->sack_ok);
	CHECK(sa->ts);
	CHECK_EQ(sa->tsecr, 5555);
	CHECK_EQ(sa->sport, PORT);
	CHECK_EQ(sa->dport, 40000);
	CHECK(sa->cksum_ok);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 1);
	uint32_t iss = sa->seq;
	int ws = sa->ws;
	th_clear(&t);
	/* third step, with data */
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK | TH_PSH;
	sg.ts = true;
	sg.tsval = 5556;
	sg.tsecr = 1;
	sg.data = (const uint8_t *)"hello";
	sg.len = 5;
	th_input(&t, &sg);
	CHECK_EQ(a.accepted, 1);
	CHECK_EQ(a.rxlen, 5);
	CHECK(memcmp(a.rx, "hello", 5) == 0);
	th_poll(&t, 0);
	struct th_seg *ack = last(&t);
	CHECK(ack != NULL);
	if (ack) {
		CHECK_EQ(ack->flags, TH_ACK);
		CHECK_EQ(ack->ack, PEER_ISN + 6);
		CHECK_EQ(ack->seq, iss + 1);
		CHECK(ack->ts);
		CHECK_EQ(ack->tsecr, 5556);
		CHECK_EQ((uint32_t)ack->win << ws, 262144 - 0); /* data was tcp_recved at once */
	}
	/* sending: peer MSS 1400 minus 12 bytes of timestamps per segment */
	static uint8_t big[4000];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(a.conn, mk_data(big + 2000, 2000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 3); /* 4000 bytes coalesced: 1388 + 1388 + 1224 */
	if (t.ncap == 3) {
		CHECK_EQ(t.cap[0].len, 1388);
		CHECK_EQ(t.cap[1].len, 1388);
		CHECK_EQ(t.cap[2].len, 1224);
		CHECK_EQ(t.cap[1].seq, iss + 1 + 1388);
		CHECK(memcmp(t.cap[1].payload, big + 1388, 1388) == 0);
		CHECK(t.cap[1].nb_segs >= 3); /* header + attached slices of two queued mbufs */
		CHECK(t.cap[2].flags & TH_PSH);
	}
	th_close(&t);
}

static void test_passive_open_no_options(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), 0);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	th_poll(&t, 0);
	struct th_seg *sa = last(&t);
	CHECK(sa && sa->ws == -1 && !sa->sack_ok && !sa->ts && sa->mss == 1460);
	uint32_t iss = sa ? sa->seq : 0;
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK, NULL);
	CHECK_EQ(a.accepted, 1);
	/* no MSS option from the peer: 536 bytes per segment (RFC 9293 3.7.1) */
	static uint8_t big[1000];
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 1000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 2);
	CHECK_EQ(t.cap[0].len, 536);
	CHECK_EQ(t.cap[0].hdr_len, 20);
	th_close(&t);
}

static void test_refused_accept_and_no_listener(void)
{
	struct th t;
	struct app a = { .refuse = true };
	th_open(&t, NULL);
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), 0);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	th_poll(&t, 0);
	uint32_t iss = last(&t)->seq;
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK, NULL);
	th_poll(&t, 0);
	CHECK(last(&t) && (last(&t)->flags & TH_RST));
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);

	/* closed port: SYN -> RST|ACK with ack = seq + 1 */
	th_clear(&t);
	th_seg_init(&sg);
	sg.dport = 9999;
	sg.seq = 77;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	CHECK_EQ(t.ncap, 1); /* strangers are answered at once */
	CHECK_EQ(t.cap[0].flags, TH_RST | TH_ACK);
	CHECK_EQ(t.cap[0].ack, 78);
	CHECK_EQ(t.cap[0].seq, 0);
	/* closed port, ACK segment -> RST with seq = their ack */
	th_clear(&t);
	th_seg_init(&sg);
	sg.dport = 9999;
	sg.seq = 77;
	sg.ack = 123456;
	sg.flags = TH_ACK;
	th_input(&t, &sg);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_RST);
	CHECK_EQ(t.cap[0].seq, 123456);
	/* an RST to a closed port is not answered */
	th_clear(&t);
	sg.flags = TH_RST;
	th_input(&t, &sg);
	CHECK_EQ(t.ncap, 0);
	th_close(&t);
}

static void test_active_open(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct tcp_conn *c = tcp_connect(t.s, TH_LOCAL_IP, 0, TH_REMOTE_IP, 1883, &app_cb, &a);
	CHECK(c != NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_SYN_SENT);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	struct th_seg syn = t.cap[0];
	CHECK_EQ(syn.flags, TH_SYN);
	CHECK_EQ(syn.mss, 1460);
	CHECK(syn.ws >= 0 && syn.sack_ok && syn.ts);
	CHECK(syn.sport >= 32768 && syn.sport < 61000);
	CHECK_EQ(syn.dport, 1883);
	/* SYN lost: retransmitted after the initial RTO (1 s), then after 2 s */
	th_clear(&t);
	th_poll(&t, 999);
	CHECK_EQ(t.ncap, 0);
	th_poll(&t, 1);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].seq, syn.seq);
	CHECK_EQ(t.cap[0].flags, TH_SYN);
	th_clear(&t);
	/* SYN-ACK without options: no scaling, no timestamps afterwards */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.sport = 1883;
	sg.dport = syn.sport;
	sg.seq = 5000;
	sg.ack = syn.seq + 1;
	sg.flags = TH_SYN | TH_ACK;
	sg.mss = 1000;
	sg.win = 8000;
	th_input(&t, &sg);
	CHECK_EQ(a.connected, 1);
	CHECK_EQ(tcp_conn_state(c), TCP_ESTABLISHED);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_ACK);
	CHECK_EQ(t.cap[0].ack, 5001);
	CHECK(!t.cap[0].ts);
	/* peer window 8000, MSS 1000: 8 segments of 1000 (cwnd: IW 4 x 1000 first) */
	static uint8_t big[10000];
	th_clear(&t);
	CHECK_EQ(tcp_send(c, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(c, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(c, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(c, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(c, mk_data(big, 2000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 4);
	CHECK_EQ(t.cap[0].len, 1000);
	th_close(&t);
}

static void test_connect_refused_and_timeout(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct tcp_conn *c = tcp_connect(t.s, TH_LOCAL_IP, 45000, TH_REMOTE_IP, 1883, &app_cb, &a);
	CHECK(c != NULL);
	CHECK(tcp_connect(t.s, TH_LOCAL_IP, 45000, TH_REMOTE_IP, 1883, &app_cb, &a) == NULL);
	th_poll(&t, 0);
	uint32_t iss = t.cap[0].seq;
	/* RST with an unacceptable ACK is ignored */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.sport = 1883;
	sg.dport = 45000;
	sg.ack = iss + 7;
	sg.flags = TH_RST | TH_ACK;
	th_input(&t, &sg);
	CHECK_EQ(a.closed, 0);
	sg.ack = iss + 1;
	th_input(&t, &sg);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_RESET);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_poll(&t, 0);

	/* nobody answers: syn_retries (5) resends with backoff, then TIMEOUT */
	memset(&a, 0, sizeof(a));
	c = tcp_connect(t.s, TH_LOCAL_IP, 45001, TH_REMOTE_IP, 1883, &app_cb, &a);
	th_clear(&t);
	for (int i = 0; i < 200 && a.closed == 0; i++)
		th_poll(&t, 1000);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_TIMEOUT);
	CHECK_EQ(t.ncap, 6); /* SYN + 5 retries */
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_simultaneous_open(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct tcp_conn *c = tcp_connect(t.s, TH_LOCAL_IP, 5000, TH_REMOTE_IP, 6000, &app_cb, &a);
	th_poll(&t, 0);
	uint32_t iss = t.cap[0].seq;
	th_clear(&t);
	/* their SYN crosses ours */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.sport = 6000;
	sg.dport = 5000;
	sg.seq = 9000;
	sg.flags = TH_SYN;
	sg.mss = 1460;
	th_input(&t, &sg);
	CHECK_EQ(tcp_conn_state(c), TCP_SYN_RECEIVED);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_SYN | TH_ACK);
	CHECK_EQ(t.cap[0].seq, iss);
	CHECK_EQ(t.cap[0].ack, 9001);
	/* their SYN-ACK (answer to our SYN) completes it */
	sg.flags = TH_SYN | TH_ACK;
	sg.ack = iss + 1;
	th_input(&t, &sg);
	/* a SYN in SYN-RECEIVED of an active open is answered by a challenge ACK, state kept */
	CHECK_EQ(tcp_conn_state(c), TCP_SYN_RECEIVED);
	th_seg_init(&sg);
	sg.sport = 6000;
	sg.dport = 5000;
	sg.seq = 9001;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	th_input(&t, &sg);
	CHECK_EQ(tcp_conn_state(c), TCP_ESTABLISHED);
	CHECK_EQ(a.connected, 1);
	CHECK_EQ(a.accepted, 0);
	th_close(&t);
}

/* ---------------------------------------------------------------- tests: close */

static void test_active_close_time_wait(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.time_wait_ms = 2000;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	struct tcp_conn *c = a.conn;
	CHECK_EQ(tcp_send(c, mk_data("bye", 3)), 0);
	tcp_close(c);
	th_clear(&t);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1); /* data and FIN in one segment */
	CHECK_EQ(t.cap[0].flags, TH_ACK | TH_PSH | TH_FIN);
	CHECK_EQ(t.cap[0].len, 3);
	CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_1);
	peer_seg(&t, PEER_ISN + 1, iss + 5, TH_ACK, NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_2);
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 5, TH_ACK | TH_FIN, NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_TIME_WAIT);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 2);
	CHECK_EQ(a.closed, 0); /* the application closed: no callbacks */
	/* retransmitted FIN in TIME-WAIT is ACKed again */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 5, TH_ACK | TH_FIN, NULL);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 2);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 1);
	th_poll(&t, 1999);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 1);
	th_poll(&t, 2);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_passive_close(void)
{
	struct th t;
	struct app a = { .shutdown_on_fin = true };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	struct tcp_conn *c = a.conn;
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK | TH_FIN, "last");
	CHECK_EQ(a.rxlen, 4);
	CHECK_EQ(a.fins, 1);
	CHECK_EQ(tcp_conn_state(c), TCP_LAST_ACK); /* app shut down from the FIN callback */
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1); /* our ACK and FIN together */
	CHECK_EQ(t.cap[0].flags, TH_ACK | TH_FIN);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 6);
	peer_seg(&t, PEER_ISN + 6, iss + 2, TH_ACK, NULL);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_NORMAL);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_simultaneous_close(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.time_wait_ms = 100;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	struct tcp_conn *c = a.conn;
	CHECK_EQ(tcp_shutdown(c), 0);
	CHECK_EQ(tcp_shutdown(c), -ENOTCONN);
	th_poll(&t, 0);
	CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_1);
	/* their FIN crosses ours (does not ACK it) */
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK | TH_FIN, NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_CLOSING);
	CHECK_EQ(a.fins, 1);
	peer_seg(&t, PEER_ISN + 2, iss + 2, TH_ACK, NULL);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_NORMAL);
	th_poll(&t, 101);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_half_close(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	struct tcp_conn *c = a.conn;
	/* we shut our side; the peer keeps sending for a while */
	CHECK_EQ(tcp_shutdown(c), 0);
	struct rte_mbuf *x = mk_data("x", 1);
	CHECK_EQ(tcp_send(c, x), -EPIPE); /* refused: still ours */
	rte_pktmbuf_free(x);
	th_poll(&t, 0);
	peer_seg(&t, PEER_ISN + 1, iss + 2, TH_ACK, "more");
	CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_2);
	peer_seg(&t, PEER_ISN + 5, iss + 2, TH_ACK, "data");
	CHECK_EQ(a.rxlen, 8);
	CHECK(memcmp(a.rx, "moredata", 8) == 0);
	peer_seg(&t, PEER_ISN + 9, iss + 2, TH_ACK | TH_FIN, NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_TIME_WAIT);
	CHECK_EQ(a.fins, 1);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_NORMAL);

	/* the other half: the peer half-closes, we keep sending */
	struct app b = { 0 };
	struct th t2;
	th_open(&t2, NULL);
	iss = passive_open(&t2, &b, NULL);
	c = b.conn;
	peer_seg(&t2, PEER_ISN + 1, iss + 1, TH_ACK | TH_FIN, NULL);
	CHECK_EQ(tcp_conn_state(c), TCP_CLOSE_WAIT);
	CHECK_EQ(tcp_send(c, mk_data("after", 5)), 0);
	th_clear(&t2);
	th_poll(&t2, 0);
	CHECK_EQ(t2.ncap, 1);
	CHECK_EQ(t2.cap[0].len, 5);
	CHECK_EQ(t2.cap[0].ack, PEER_ISN + 2);
	th_close(&t2);
	th_close(&t);
}

static void test_close_then_data_resets(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	tcp_close(a.conn);
	th_poll(&t, 0);
	peer_seg(&t, PEER_ISN + 1, iss + 2, TH_ACK, NULL); /* FIN ACKed: FIN-WAIT-2, orphan */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 2, TH_ACK, "late");
	CHECK_EQ(t.ncap, 1);
	CHECK(t.cap[0].flags & TH_RST);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	CHECK_EQ(a.rxlen, 0);
	th_close(&t);
}

static void test_orphan_fin_wait_2_timeout(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.time_wait_ms = 500;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	tcp_close(a.conn);
	th_poll(&t, 0);
	peer_seg(&t, PEER_ISN + 1, iss + 2, TH_ACK, NULL);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 1);
	th_poll(&t, 501);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

/* ---------------------------------------------------------------- tests: RST / SYN (5961) */

static void test_rst_handling(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	/* in the window but not RCV.NXT: challenge ACK, connection stays */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 100, 0, TH_RST, NULL);
	th_poll(&t, 0);
	CHECK_EQ(a.closed, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_ACK);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 1);
	CHECK_EQ(tcp_stack_stats(t.s)->challenge_acks, 1);
	/* outside the window: silently dropped */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1 + 10000000, 0, TH_RST, NULL);
	peer_seg(&t, PEER_ISN - 5, 0, TH_RST, NULL);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 0);
	CHECK_EQ(a.closed, 0);
	/* SYN on an established connection: challenge ACK, nothing else */
	th_clear(&t);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = 424242;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_ACK);
	CHECK_EQ(t.cap[0].seq, iss + 1);
	CHECK_EQ(tcp_conn_state(a.conn), TCP_ESTABLISHED);
	/* exactly RCV.NXT: reset */
	peer_seg(&t, PEER_ISN + 1, 0, TH_RST, NULL);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_RESET);
	CHECK_EQ(tcp_stack_stats(t.s)->resets_in, 1);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_abort_sends_rst(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	th_clear(&t);
	tcp_abort(a.conn);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].flags, TH_RST);
	CHECK_EQ(t.cap[0].seq, iss + 1);
	CHECK_EQ(a.closed, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	th_close(&t);
}

static void test_ack_checks(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	/* ACK of data never sent: ACK back, segment (and its data) dropped */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 1000, TH_ACK, "zz");
	th_poll(&t, 0);
	CHECK_EQ(a.rxlen, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 1);
	/* ACK far below SND.UNA - MAX.SND.WND: challenge ACK */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss - 200000, TH_ACK, "zz");
	th_poll(&t, 0);
	CHECK_EQ(a.rxlen, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->challenge_acks, 1);
	/* an old but plausible ACK is fine */
	peer_seg(&t, PEER_ISN + 1, iss, TH_ACK, "ok");
	CHECK_EQ(a.rxlen, 2);
	th_close(&t);
}

/* ---------------------------------------------------------------- main */

#define T(x) TH_TEST(x)
static const struct th_test tests[] = {
	T(test_passive_open_options),
	T(test_passive_open_no_options),
	T(test_refused_accept_and_no_listener),
	T(test_active_open),
	T(test_connect_refused_and_timeout),
	T(test_simultaneous_open),
	T(test_active_close_time_wait),
	T(test_passive_close),
	T(test_simultaneous_close),
	T(test_half_close),
	T(test_close_then_data_resets),
	T(test_orphan_fin_wait_2_timeout),
	T(test_rst_handling),
	T(test_abort_sends_rst),
	T(test_ack_checks),
};

int main(int argc, char **argv)
{
	return th_run("tcpstates", tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
