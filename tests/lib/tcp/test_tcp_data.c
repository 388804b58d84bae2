/**
 * @file test_tcp_data.c
 * Scripted in-process tests of lib/tcp, part 2: data and hostile input. Bad checksums,
 * truncated headers, bad data offsets, options with bad lengths, data outside the window,
 * old and overlapping duplicates, zero and shrinking windows (both sides), out-of-order data
 * with SACK blocks and an out-of-order FIN, the out-of-order memory bound, PAWS, delayed ACKs
 * and piggybacking, RTO backoff and give-up, RTT from timestamps, fast retransmit and NewReno
 * with SACK, zero-window probes, shrinking peer windows, backpressure, SYN cookies (valid,
 * forged, stale), SYN-ACK retransmission and the connection limit, RFC 6528 ISNs, memory
 * pressure, TX checksum offload, the checksum over odd chains, the control block size. After each test the mbuf pool must be
 * back to where it started.
 * Usage: test_tcp_data [name-substring]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tcp_app.h"
#include "tcp_harness.h"

/* ---------------------------------------------------------------- tests: hostile input */

static void test_malformed_input(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	const struct tcp_stats *st = tcp_stack_stats(t.s);
	th_clear(&t);

	/* bad checksum */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.data = (const uint8_t *)"evil";
	sg.len = 4;
	sg.bad_cksum = true;
	th_input(&t, &sg);
	CHECK_EQ(st->cksum_errors, 1);
	CHECK_EQ(a.rxlen, 0);
	/* NIC said bad */
	struct rte_mbuf *m = th_build(&sg);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	tcp_input(t.s, m, TH_REMOTE_IP, TH_LOCAL_IP);
	CHECK_EQ(st->cksum_errors, 2);
	/* NIC said good (and the sum is in fact wrong): trusted */
	m = th_build(&sg);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	tcp_input(t.s, m, TH_REMOTE_IP, TH_LOCAL_IP);
	CHECK_EQ(a.rxlen, 4);

	/* truncated header */
	uint64_t mal = st->malformed;
	m = rte_pktmbuf_alloc(th_pool(0));
	memset(rte_pktmbuf_append(m, 12), 0, 12);
	tcp_input(t.s, m, TH_REMOTE_IP, TH_LOCAL_IP);
	CHECK_EQ(st->malformed, mal + 1);
	/* data offset beyond the segment, and below 5: build then patch + fix the sum */
	for (int k = 0; k < 2; k++) {
		th_seg_init(&sg);
		sg.seq = PEER_ISN + 5;
		sg.ack = iss + 1;
		sg.flags = TH_ACK;
		m = th_build(&sg);
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		p[12] = k == 0 ? 0xf0 : 0x30;
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		tcp_input(t.s, m, TH_REMOTE_IP, TH_LOCAL_IP);
	}
	CHECK_EQ(st->malformed, mal + 3);
	/* options with bad lengths: zero length, overrun, wrong MSS/TS/SACK lengths */
	static const uint8_t bad1[] = { 2, 0, 0, 0 };
	static const uint8_t bad2[] = { 1, 1, 8, 40 };
	static const uint8_t bad3[] = { 2, 3, 5, 1 };
	static const uint8_t bad4[] = { 5, 7, 0, 0, 0, 0, 0, 0 };
	static const uint8_t bad5[] = { 1, 1, 1, 8 };
	const uint8_t *bads[] = { bad1, bad2, bad3, bad4, bad5 };
	const unsigned badl[] = { 4, 4, 4, 8, 4 };
	for (int i = 0; i < 5; i++) {
		th_seg_init(&sg);
		sg.seq = PEER_ISN + 5;
		sg.ack = iss + 1;
		sg.flags = TH_ACK;
		sg.raw_opts = bads[i];
		sg.raw_opts_len = badl[i];
		sg.data = (const uint8_t *)"no";
		sg.len = 2;
		th_input(&t, &sg);
	}
	CHECK_EQ(st->malformed, mal + 8);
	CHECK_EQ(a.rxlen, 4);
	/* unknown option with a sane length is skipped */
	static const uint8_t unk[] = { 30, 4, 0, 0 };
	sg.raw_opts = unk;
	sg.raw_opts_len = 4;
	th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 6);
	/* SYN+RST, SYN+FIN */
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 7;
	sg.flags = TH_SYN | TH_RST;
	th_input(&t, &sg);
	sg.flags = TH_SYN | TH_FIN;
	th_input(&t, &sg);
	CHECK_EQ(st->malformed, mal + 10);
	CHECK_EQ(tcp_conn_state(a.conn), TCP_ESTABLISHED);
	th_poll(&t, 0);
	th_close(&t);
}

static void test_out_of_window_data(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.rcvbuf = 4096;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	th_clear(&t);
	/* beyond the window (4096): ACK, nothing kept */
	peer_seg(&t, PEER_ISN + 1 + 5000, iss + 1, TH_ACK, "far");
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 1);
	CHECK_EQ(tcp_stack_stats(t.s)->out_of_window, 1);
	CHECK_EQ(tcp_stack_stats(t.s)->ooo_segs, 0);
	/* straddling the right edge: the part inside is kept */
	static uint8_t big[200];
	memset(big, 'q', sizeof(big));
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1 + 4000;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.data = big;
	sg.len = 200;
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->ooo_segs, 1);
	/* old duplicate: ACK, not delivered twice */
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK, "abc");
	CHECK_EQ(a.rxlen, 3);
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK, "abc");
	th_poll(&t, 0);
	CHECK_EQ(a.rxlen, 3);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 4);
	/* partly old: only the new bytes */
	peer_seg(&t, PEER_ISN + 2, iss + 1, TH_ACK, "bcdef");
	CHECK_EQ(a.rxlen, 6);
	CHECK(memcmp(a.rx, "abcdef", 6) == 0);
	th_close(&t);
}

static void test_zero_receive_window(void)
{
	struct th t;
	struct app a = { .no_recved = true };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.rcvbuf = 2000;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	static uint8_t big[1000];
	struct th_seg sg;
	th_seg_init(&sg);
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.data = big;
	sg.len = 1000;
	sg.seq = PEER_ISN + 1;
	th_input(&t, &sg);
	sg.seq += 1000;
	th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 2000);
	th_clear(&t);
	th_poll(&t, 0);
	CHECK_EQ(last(&t)->win, 0); /* application holds everything */
	/* data into a zero window: not accepted, ACKed */
	sg.seq += 1000;
	th_clear(&t);
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(a.rxlen, 2000);
	CHECK_EQ(last(&t)->ack, PEER_ISN + 2001);
	/* application catches up: window update sent */
	th_clear(&t);
	tcp_recved(a.conn, 2000);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].win, 2000);
	th_close(&t);
}

static void test_out_of_order_and_sack(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .sack = true, .ws = -1, .mss = 1460 };
	uint32_t iss = passive_open(&t, &a, &o);
	const char *msg = "0123456789abcdefghij"; /* 20 bytes, sent as 4 x 5 */
	th_clear(&t);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.len = 5;
	/* segment 3 first, then 2 (adjacent), then an overlapping duplicate of 2..3 */
	sg.seq = PEER_ISN + 1 + 15; sg.data = (const uint8_t *)msg + 15; th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 1);
	CHECK_EQ(t.cap[0].nsack, 1);
	CHECK_EQ(t.cap[0].sack[0][0], PEER_ISN + 16);
	CHECK_EQ(t.cap[0].sack[0][1], PEER_ISN + 21);
	sg.seq = PEER_ISN + 1 + 5; sg.data = (const uint8_t *)msg + 5; th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 2);
	CHECK_EQ(t.cap[1].nsack, 2); /* the latest block first */
	CHECK_EQ(t.cap[1].sack[0][0], PEER_ISN + 6);
	CHECK_EQ(t.cap[1].sack[0][1], PEER_ISN + 11);
	CHECK_EQ(t.cap[1].sack[1][0], PEER_ISN + 16);
	sg.seq = PEER_ISN + 1 + 8; sg.data = (const uint8_t *)msg + 8; sg.len = 10; th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.cap[2].nsack, 1); /* overlap filled the gap between the blocks */
	CHECK_EQ(t.cap[2].sack[0][0], PEER_ISN + 6);
	CHECK_EQ(t.cap[2].sack[0][1], PEER_ISN + 21);
	CHECK_EQ(a.rxlen, 0);
	/* the missing first segment: all 20 bytes in one chain, once */
	sg.seq = PEER_ISN + 1; sg.data = (const uint8_t *)msg; sg.len = 7; th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 20);
	CHECK_EQ(a.chains, 1);
	CHECK(memcmp(a.rx, msg, 20) == 0);
	th_poll(&t, 0);
	CHECK_EQ(last(&t)->ack, PEER_ISN + 21);
	CHECK_EQ(last(&t)->nsack, 0);
	/* out-of-order FIN: consumed when the gap closes */
	sg.seq = PEER_ISN + 23; sg.data = (const uint8_t *)"yz"; sg.len = 2;
	sg.flags = TH_ACK | TH_FIN;
	th_input(&t, &sg);
	CHECK_EQ(a.fins, 0);
	sg.seq = PEER_ISN + 21; sg.data = (const uint8_t *)"wx"; sg.flags = TH_ACK; th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 24);
	CHECK_EQ(a.fins, 1);
	CHECK_EQ(tcp_conn_state(a.conn), TCP_CLOSE_WAIT);
	th_close(&t);
}

static void test_ooo_memory_bound(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.rcvbuf = 3000;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	static uint8_t big[1000];
	struct th_seg sg;
	th_seg_init(&sg);
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.data = big;
	sg.len = 500;
	unsigned before = th_pool_in_use();
	for (int i = 1; i <= 5; i++) {
		sg.seq = PEER_ISN + 1 + 600 * i;
		th_input(&t, &sg);
	}
	/* the bound is 3000 bytes including what the window already announced */
	CHECK(tcp_stack_stats(t.s)->ooo_segs >= 4);
	CHECK(th_pool_in_use() - before <= 6);
	th_close(&t);
}

static void test_paws(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .ts = true, .ws = -1, .mss = 1460 };
	uint32_t iss = passive_open(&t, &a, &o);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.ts = true;
	sg.tsval = 200;
	sg.data = (const uint8_t *)"new";
	sg.len = 3;
	th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 3);
	/* an old duplicate (TSval in the past) with the next sequence number: PAWS drops it */
	th_clear(&t);
	sg.seq = PEER_ISN + 4;
	sg.tsval = 150;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(a.rxlen, 3);
	CHECK_EQ(tcp_stack_stats(t.s)->paws_drops, 1);
	CHECK_EQ(t.ncap, 1); /* answered with an ACK */
	CHECK_EQ(t.cap[0].tsecr, 200);
	/* wrapping TSval: 0xfffffff0 -> 5 is newer (modular compare) */
	sg.tsval = 201;
	th_input(&t, &sg);
	CHECK_EQ(a.rxlen, 6);
	th_close(&t);
}

/* ---------------------------------------------------------------- tests: sender */

static void test_delayed_ack(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.no_delayed_ack = false;
	cfg.delayed_ack_ms = 40;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 1, iss + 1, TH_ACK, "one");
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 0);
	th_poll(&t, 39);
	CHECK_EQ(t.ncap, 0);
	th_poll(&t, 1);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 4);
	/* two segments: the second is ACKed at once */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 4, iss + 1, TH_ACK, "two");
	peer_seg(&t, PEER_ISN + 7, iss + 1, TH_ACK, "three");
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 12);
	/* a reply in the same iteration carries the ACK: one segment, no pure ACK */
	th_clear(&t);
	peer_seg(&t, PEER_ISN + 12, iss + 1, TH_ACK, "ping");
	CHECK_EQ(tcp_send(a.conn, mk_data("pong", 4)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].len, 4);
	CHECK_EQ(t.cap[0].ack, PEER_ISN + 16);
	th_poll(&t, 100);
	CHECK_EQ(t.ncap, 1);
	th_close(&t);
}

static void test_rto_backoff_and_giveup(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.max_retries = 4;
	cfg.rto_min_ms = 200;
	cfg.rto_max_ms = 1000;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data("lost", 4)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	/* initial RTO is 1 s (no sample yet), then 2 s clamped to the 1 s max */
	uint64_t times[8];
	unsigned n = 0;
	uint64_t ms = 0;
	while (a.closed == 0 && ms < 20000) {
		th_poll(&t, 10);
		ms += 10;
		while (n + 1 < t.ncap && n < 8)
			times[n++] = ms;
	}
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.reason, TCP_CLOSE_TIMEOUT);
	CHECK_EQ(t.ncap, 5); /* original + 4 retries */
	for (unsigned i = 1; i < t.ncap; i++) {
		CHECK_EQ(t.cap[i].seq, iss + 1);
		CHECK_EQ(t.cap[i].len, 4);
	}
	CHECK(n >= 1 && times[0] >= 1000 && times[0] <= 1010);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_timed_out, 1);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	CHECK(tcp_stack_stats(t.s)->retransmits >= 4);
	th_close(&t);
}

static void test_rtt_from_timestamps(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .ts = true, .ws = -1, .mss = 1460 };
	uint32_t iss = passive_open(&t, &a, &o);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data("abcd", 4)), 0);
	th_poll(&t, 0);
	uint32_t tsval = t.cap[0].tsval;
	/* ACK 50 ms later echoing our TSval: SRTT 50, RTO = 50 + 4*25 = 150 -> 200 (min) */
	th_poll(&t, 50);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 5;
	sg.flags = TH_ACK;
	sg.ts = true;
	sg.tsval = 300;
	sg.tsecr = tsval;
	th_input(&t, &sg);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data("efgh", 4)), 0);
	th_poll(&t, 0);
	th_poll(&t, 199);
	CHECK_EQ(t.ncap, 1);
	th_poll(&t, 1);
	CHECK_EQ(t.ncap, 2); /* retransmitted at the 200 ms RTO */
	th_close(&t);
}

static void test_fast_retransmit_newreno(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .sack = true, .ws = 7, .mss = 1000 };
	uint32_t iss = passive_open(&t, &a, &o);
	static uint8_t big[20000];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	/* IW is 4 segments; one ACK for all four grows cwnd by one MSS (RFC 5681 3.1) */
	th_clear(&t);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(tcp_send(a.conn, mk_data(big + 1000 * i, 1000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 4);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.flags = TH_ACK;
	sg.win = 1000; /* scaled by 7: 128000 */
	sg.ack = iss + 1 + 4000;
	th_clear(&t);
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 5); /* 4000..9000 in flight */
	/* segment 4000 lost: three dup ACKs with SACK blocks for 5000.. */
	th_clear(&t);
	for (int i = 0; i < 3; i++) {
		sg.nsack = 1;
		sg.sack[0][0] = iss + 1 + 5000;
		sg.sack[0][1] = iss + 1 + 6000 + 1000 * i;
		th_input(&t, &sg);
	}
	CHECK_EQ(tcp_stack_stats(t.s)->dup_acks, 3);
	CHECK_EQ(tcp_stack_stats(t.s)->fast_retransmits, 1);
	CHECK(t.ncap >= 1); /* the fast retransmission leaves at once */
	CHECK_EQ(t.cap[0].seq, iss + 1 + 4000);
	CHECK_EQ(t.cap[0].len, 1000);
	CHECK(memcmp(t.cap[0].payload, big + 4000, 1000) == 0);
	/* partial ACK: up to 6000, 6000..7000 missing, 7000..9000 SACKed */
	th_clear(&t);
	sg.ack = iss + 1 + 6000;
	sg.nsack = 1;
	sg.sack[0][0] = iss + 1 + 7000;
	sg.sack[0][1] = iss + 1 + 9000;
	th_input(&t, &sg);
	CHECK(t.ncap >= 1);
	CHECK_EQ(t.cap[0].seq, iss + 1 + 6000);
	CHECK(memcmp(t.cap[0].payload, big + 6000, 1000) == 0);
	th_poll(&t, 0);
	/* full ACK ends recovery; new data continues after 9000 */
	uint32_t top = iss + 1 + 9000;
	for (unsigned i = 0; i < t.ncap; i++)
		top = RTE_MAX(top, t.cap[i].seq + t.cap[i].len);
	sg.ack = top;
	sg.nsack = 0;
	th_clear(&t);
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK(t.ncap >= 1);
	CHECK(t.ncap == 0 || t.cap[0].seq == top);
	CHECK(tcp_stack_stats(t.s)->retransmits >= 2);
	th_close(&t);
}

/* Eifel (RFC 3522): an RTO whose ACK then echoes the original transmission's timestamp was
 * a delay, not a loss: counted as spurious, the congestion window restored, and what was in
 * flight is not sent again. A genuine loss (the ACK echoes the retransmission) keeps the
 * cut. */
static void test_spurious_rto_undone(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	/* 1012: 1000 bytes of payload per segment next to the 12-byte timestamp option */
	struct conn_opts o = { .ts = true, .ws = 7, .mss = 1012 };
	uint32_t iss = passive_open(&t, &a, &o);
	static uint8_t big[8000];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	th_clear(&t);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(tcp_send(a.conn, mk_data(big + 1000 * i, 1000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 4); /* the initial window: 4 segments */
	uint32_t ts_orig = t.cap[0].tsval;
	th_clear(&t);
	/* no ACK: the RTO fires, snd_una is resent */
	for (int ms = 0; ms < 2000 && tcp_stack_stats(t.s)->rto_expired == 0; ms += 10)
		th_poll(&t, 10);
	CHECK_EQ(tcp_stack_stats(t.s)->rto_expired, 1);
	CHECK(t.ncap >= 1); /* one MSS of cwnd (the option bytes included: 1000 + 12) */
	CHECK_EQ(t.cap[0].seq, iss + 1);
	/* the late ACK of all four originals, echoing their timestamp */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.flags = TH_ACK;
	sg.win = 1000;
	sg.ts = true;
	sg.tsval = 500;
	sg.tsecr = ts_orig;
	sg.ack = iss + 1 + 4000;
	th_clear(&t);
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->spurious_rtos, 1);
	/* four more segments: with the window restored (4 + 1 MSS after this ACK) they all
	 * leave at once, where after a real loss slow start would allow two */
	for (int i = 4; i < 8; i++)
		CHECK_EQ(tcp_send(a.conn, mk_data(big + 1000 * i, 1000)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 4);
	for (unsigned i = 0; i < t.ncap; i++) {
		CHECK_EQ(t.cap[i].seq, iss + 1 + 4000 + 1000 * i);
		CHECK(memcmp(t.cap[i].payload, big + 4000 + 1000 * i, 1000) == 0);
	}
	/* now a real loss: RTO, and the ACK echoes the retransmission's timestamp */
	th_clear(&t);
	for (int ms = 0; ms < 2000 && tcp_stack_stats(t.s)->rto_expired == 1; ms += 10)
		th_poll(&t, 10);
	CHECK_EQ(tcp_stack_stats(t.s)->rto_expired, 2);
	CHECK(t.ncap >= 1);
	CHECK_EQ(t.cap[0].seq, iss + 1 + 4000);
	uint32_t resent_end = t.cap[0].seq;
	for (unsigned i = 0; i < t.ncap; i++)
		resent_end = RTE_MAX(resent_end, t.cap[i].seq + t.cap[i].len);
	sg.tsecr = t.cap[0].tsval;
	sg.tsval = 600;
	sg.ack = resent_end;
	th_clear(&t);
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->spurious_rtos, 1); /* not spurious */
	/* go-back-N in slow start: what follows the resent bytes goes again, two MSS of it */
	CHECK(t.ncap >= 1 && t.ncap <= 3);
	CHECK_EQ(t.cap[0].seq, resent_end);
	th_close(&t);
}

/* Many small writes (one mbuf each), sent as they come while earlier ones are in flight:
 * every segment carries the right bytes (the send cursor stays at the queue's tail once
 * everything queued has been sent, rather than restarting from snd_una; small writes are
 * copied into the last queued mbuf, even while segments built from it are in flight). */
static void test_small_writes_in_flight(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .ws = 7, .mss = 1000 };
	uint32_t iss = passive_open(&t, &a, &o);
	static uint8_t data[3000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	static uint8_t got[3000];
	uint32_t top = 0;
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.flags = TH_ACK;
	sg.win = 1000;
	for (unsigned i = 0; i < sizeof(data) / 30; i++) {
		CHECK_EQ(tcp_send(a.conn, mk_data(data + 30 * i, 30)), 0);
		th_clear(&t);
		th_poll(&t, 0);
		for (unsigned k = 0; k < t.ncap; k++) {
			uint32_t off = t.cap[k].seq - (iss + 1);
			CHECK(off + t.cap[k].len <= sizeof(got));
			memcpy(got + off, t.cap[k].payload, t.cap[k].len);
			top = RTE_MAX(top, off + t.cap[k].len);
		}
		if (i % 10 == 9) { /* ACK half of what is in flight now and then */
			sg.ack = iss + 1 + top / 2;
			th_input(&t, &sg);
		}
	}
	sg.ack = iss + 1 + top;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(top, sizeof(data));
	CHECK(memcmp(got, data, sizeof(data)) == 0);
	/* most writes were copied behind an earlier one still queued (in flight or not) */
	CHECK(tcp_stack_stats(t.s)->coalesced >= sizeof(data) / 30 / 2);
	th_close(&t);
}

/* A full link queue (ip_output -EBUSY): the segment is not lost but held back and sent at
 * the next poll, and an ACK the refused segment carried is sent again too. No
 * retransmission timeout is needed. */
static void test_link_busy(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct conn_opts o = { .ws = 7, .mss = 1000 };
	uint32_t iss = passive_open(&t, &a, &o);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data("aaaa", 4)), 0);
	CHECK_EQ(tcp_send(a.conn, mk_data("bbbb", 4)), 0);
	t.busy_output = 1;
	th_poll(&t, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->out_link_busy, 1);
	CHECK_EQ(t.ncap, 0);
	th_poll(&t, 1);
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].seq, iss + 1);
	CHECK_EQ(t.cap[0].len, 8);
	CHECK(memcmp(t.cap[0].payload, "aaaabbbb", 8) == 0);
	CHECK_EQ(tcp_stack_stats(t.s)->retransmits, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->rto_expired, 0);
	/* data from the peer: the ACK for it is refused once, then goes out */
	th_clear(&t);
	t.busy_output = 1;
	peer_seg(&t, PEER_ISN + 1, iss + 9, TH_ACK | TH_PSH, "xyz");
	th_poll(&t, 0);
	th_poll(&t, 1);
	bool acked = false;
	for (unsigned i = 0; i < t.ncap; i++)
		if (t.cap[i].ack == PEER_ISN + 4 && (t.cap[i].flags & TH_ACK))
			acked = true;
	CHECK(acked);
	CHECK_EQ(tcp_stack_stats(t.s)->out_link_busy, 2);
	th_close(&t);
}

static void test_zero_window_probe(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	/* peer closes its window */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.win = 0;
	th_input(&t, &sg);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data("blocked", 7)), 0);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 0);
	th_poll(&t, 1000); /* first probe at the RTO */
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(t.cap[0].len, 1);
	CHECK_EQ(t.cap[0].seq, iss + 1);
	CHECK_EQ(tcp_stack_stats(t.s)->zero_window_probes, 1);
	/* still zero: probes continue (backed off), and the connection is kept */
	th_input(&t, &sg);
	th_poll(&t, 2000);
	CHECK_EQ(t.ncap, 2);
	for (int i = 0; i < 12; i++) {
		th_input(&t, &sg); /* the peer keeps answering */
		th_poll(&t, 60000);
	}
	CHECK_EQ(a.closed, 0);
	/* window opens: the data goes */
	th_clear(&t);
	sg.win = 1000;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK(t.ncap >= 1);
	CHECK_EQ(t.cap[0].seq, iss + 1);
	CHECK_EQ(t.cap[0].len, 7);
	CHECK(memcmp(t.cap[0].payload, "blocked", 7) == 0);
	th_close(&t);
}

static void test_shrinking_window(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	uint32_t iss = passive_open(&t, &a, NULL);
	static uint8_t big[8000];
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.win = 1500;
	th_input(&t, &sg);
	th_clear(&t);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 2000)), 0);
	th_poll(&t, 0);
	uint32_t sent = 0;
	for (unsigned i = 0; i < t.ncap; i++)
		sent += t.cap[i].len;
	CHECK_EQ(sent, 1500);
	/* the peer ACKs 500 and shrinks its window to 200: right edge moves back; nothing new */
	th_clear(&t);
	sg.ack = iss + 501;
	sg.win = 200;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 0);
	/* ACK all, window 1000: the next 1000 bytes */
	sg.ack = iss + 1501;
	sg.win = 1000;
	th_input(&t, &sg);
	th_poll(&t, 0);
	sent = 0;
	for (unsigned i = 0; i < t.ncap; i++)
		sent += t.cap[i].len;
	CHECK_EQ(sent, 1000);
	CHECK_EQ(t.cap[0].seq, iss + 1501);
	th_close(&t);
}

static void test_backpressure(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.sndbuf = 3000;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	static uint8_t big[2000];
	CHECK_EQ(tcp_sndbuf(a.conn), 3000);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 2000)), 0);
	CHECK_EQ(tcp_sndbuf(a.conn), 1000);
	CHECK_EQ(tcp_send(a.conn, mk_data(big, 2000)), 0); /* soft limit: accepted */
	CHECK_EQ(tcp_sndbuf(a.conn), 0);
	struct rte_mbuf *m = mk_data(big, 100);
	CHECK_EQ(tcp_send(a.conn, m), -ENOBUFS);
	/* a shared mbuf header is refused */
	rte_mbuf_refcnt_update(m, 1);
	CHECK_EQ(tcp_send(a.conn, m), -ENOBUFS);
	rte_mbuf_refcnt_update(m, -1);
	rte_pktmbuf_free(m);
	th_poll(&t, 0);
	CHECK_EQ(a.writable, 0);
	peer_seg(&t, PEER_ISN + 1, iss + 1 + 2000, TH_ACK, NULL);
	CHECK_EQ(a.writable, 1);
	CHECK_EQ(tcp_sndbuf(a.conn), 1000);
	th_close(&t);
}

static void test_syn_cookies(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.syn_backlog = 1;
	th_open(&t, &cfg);
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), 0);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	sg.mss = 1460;
	th_input(&t, &sg);        /* fills the SYN queue */
	sg.sport = 40001;
	sg.ws = 5;
	sg.sack_ok = true;
	sg.ts = true;
	sg.tsval = 777;
	th_clear(&t);
	th_input(&t, &sg);        /* overflow: cookie */
	CHECK_EQ(t.ncap, 1);
	CHECK_EQ(tcp_stack_stats(t.s)->syncookies_sent, 1);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 1);
	struct th_seg sa = t.cap[0];
	CHECK_EQ(sa.flags, TH_SYN | TH_ACK);
	CHECK(sa.ws >= 0 && sa.sack_ok && sa.ts);
	/* a forged ACK (wrong cookie) gets a RST and no state */
	th_clear(&t);
	th_seg_init(&sg);
	sg.sport = 40001;
	sg.seq = PEER_ISN + 1;
	sg.ack = sa.seq + 2;
	sg.flags = TH_ACK;
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->syncookies_bad, 1);
	CHECK_EQ(t.ncap, 1);
	CHECK(t.cap[0].flags & TH_RST);
	/* the right one creates the connection, with the negotiated options */
	sg.ack = sa.seq + 1;
	sg.ts = true;
	sg.tsval = 778;
	sg.tsecr = sa.tsval;
	sg.data = (const uint8_t *)"hi";
	sg.len = 2;
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->syncookies_ok, 1);
	CHECK_EQ(a.accepted, 1);
	CHECK_EQ(a.rxlen, 2);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 2);
	th_clear(&t);
	th_poll(&t, 0);
	const struct th_seg *ca = NULL;
	for (unsigned i = 0; i < t.ncap; i++)
		if (t.cap[i].dport == 40001)
			ca = &t.cap[i];
	CHECK(ca != NULL);
	if (ca != NULL) {
		CHECK(ca->ts);
		CHECK_EQ(ca->ack, PEER_ISN + 3);
	}
	/* a stale cookie (more than two 64 s periods later) is refused */
	th_clear(&t);
	th_seg_init(&sg);
	sg.sport = 40002;
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	struct th_seg sb = t.cap[0];
	th_poll(&t, 200000);
	th_seg_init(&sg);
	sg.sport = 40002;
	sg.seq = PEER_ISN + 1;
	sg.ack = sb.seq + 1;
	sg.flags = TH_ACK;
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->syncookies_bad, 2);
	th_close(&t);
}

static void test_syn_rcvd_retransmit_and_limit(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.max_conns = 2;
	th_open(&t, &cfg);
	CHECK_EQ(tcp_listen(t.s, 0, PORT, &app_cb, &a), 0);
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	/* duplicate SYN: the same SYN-ACK again */
	th_input(&t, &sg);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 2);
	CHECK_EQ(t.cap[1].seq, t.cap[0].seq);
	CHECK_EQ(t.cap[1].flags, TH_SYN | TH_ACK);
	/* connection limit: the third connection's SYN is dropped */
	sg.sport = 40001;
	th_input(&t, &sg);
	sg.sport = 40002;
	th_input(&t, &sg);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 2);
	CHECK_EQ(tcp_stack_stats(t.s)->listen_drops, 1);
	/* unanswered SYN-ACKs: dropped after syn_retries, silently */
	for (int i = 0; i < 100; i++)
		th_poll(&t, 1000);
	CHECK_EQ(tcp_stack_stats(t.s)->conns_cur, 0);
	CHECK_EQ(a.closed, 0);
	th_close(&t);
}

static void test_isn_rfc6528(void)
{
	struct th t;
	struct app a = { 0 };
	th_open(&t, NULL);
	struct tcp_conn *c1 = tcp_connect(t.s, TH_LOCAL_IP, 50000, TH_REMOTE_IP, 80, &app_cb, &a);
	struct tcp_conn *c2 = tcp_connect(t.s, TH_LOCAL_IP, 50001, TH_REMOTE_IP, 80, &app_cb, &a);
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 2);
	const struct th_seg *s1 = t.cap[0].sport == 50000 ? &t.cap[0] : &t.cap[1];
	const struct th_seg *s2 = t.cap[0].sport == 50000 ? &t.cap[1] : &t.cap[0];
	uint32_t i1 = s1->seq, i2 = s2->seq;
	CHECK(i1 != i2);
	CHECK((uint32_t)(i1 - i2) > 1000000 || (uint32_t)(i2 - i1) > 1000000);
	tcp_abort(c1);
	tcp_abort(c2);
	th_poll(&t, 0);
	/* same 4-tuple 1 s later: ISN advanced by the 4 us clock (250000) */
	th_clear(&t);
	th_poll(&t, 1000);
	c1 = tcp_connect(t.s, TH_LOCAL_IP, 50000, TH_REMOTE_IP, 80, &app_cb, &a);
	th_poll(&t, 0);
	CHECK_EQ(t.cap[0].seq - i1, 250000u);
	th_close(&t);
}

static void test_tx_cksum_offload(void)
{
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.tx_cksum_offload = true;
	th_open(&t, &cfg);
	struct tcp_conn *c = tcp_connect(t.s, TH_LOCAL_IP, 50000, TH_REMOTE_IP, 80, &app_cb, &a);
	(void)c;
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 1);
	CHECK(!t.cap[0].cksum_ok); /* the capture marks offloaded segments */
	th_close(&t);
}

/* A 64-mbuf pool for a stack under memory pressure (crafted input comes from the shared
 * pool); every test that uses it must give all 64 back. */
static struct rte_mempool *small_pool(void)
{
	static struct rte_mempool *small;
	if (small == NULL)
		small = rte_pktmbuf_pool_create("th_small", 64, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						SOCKET_ID_ANY);
	CHECK(small != NULL);
	return small;
}

static void test_memory_pressure(void)
{
	struct rte_mempool *small = small_pool();
	if (small == NULL)
		return;
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.pool = small;
	th_open(&t, &cfg);
	uint32_t iss = passive_open(&t, &a, NULL);
	CHECK_EQ(tcp_send(a.conn, mk_data("queued", 6)), 0);
	th_poll(&t, 0);
	struct rte_mbuf *hold[64];
	unsigned n = 0;
	while (n < 64 && rte_mempool_avail_count(small) > 4)
		hold[n++] = rte_pktmbuf_alloc(small);
	th_poll(&t, 1); /* the stack notices once per millisecond */
	peer_seg(&t, PEER_ISN + 1, iss + 7, TH_ACK, "dropped");
	CHECK_EQ(a.rxlen, 0);
	CHECK_EQ(tcp_stack_stats(t.s)->mem_drops, 1);
	CHECK_EQ(tcp_sndbuf(a.conn), 262144); /* the ACK was processed: queue freed */
	while (n > 0)
		rte_pktmbuf_free(hold[--n]);
	th_poll(&t, 1);
	peer_seg(&t, PEER_ISN + 1, iss + 7, TH_ACK, "kept");
	CHECK_EQ(a.rxlen, 4);
	th_close(&t);
	CHECK_EQ(rte_mempool_avail_count(small), 64);
}

/* Output that finds the pool empty is retried by the next tcp_poll by itself: with nothing
 * in flight no ACK or timer would ever bring the connection back (the data used to wait for
 * the peer's next segment). */
static void test_output_retried_after_pool_exhaustion(void)
{
	struct rte_mempool *tiny = small_pool();
	if (tiny == NULL)
		return;
	struct th t;
	struct app a = { 0 };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.pool = tiny;
	th_open(&t, &cfg);
	passive_open(&t, &a, NULL);
	th_clear(&t);
	struct rte_mbuf *hold[64];
	unsigned n = 0;
	while (n < 64 && (hold[n] = rte_pktmbuf_alloc(tiny)) != NULL)
		n++;
	uint64_t nobufs = tcp_stack_stats(t.s)->out_nobufs;
	CHECK_EQ(tcp_send(a.conn, mk_data("waiting", 7)), 0); /* the data comes from th_pool */
	th_poll(&t, 0);
	CHECK_EQ(t.ncap, 0);
	CHECK(tcp_stack_stats(t.s)->out_nobufs > nobufs);
	CHECK(tcp_next_deadline_ns(t.s) <= t.now_ns); /* it wants to run again at once */
	while (n > 0)
		rte_pktmbuf_free(hold[--n]);
	th_poll(&t, 0); /* no input, no time passing: the retry alone sends it */
	CHECK_EQ(t.ncap, 1);
	if (t.ncap == 1) {
		CHECK_EQ(t.cap[0].len, 7);
		CHECK(memcmp(t.cap[0].payload, "waiting", 7) == 0);
	}
	th_close(&t);
	CHECK_EQ(rte_mempool_avail_count(tiny), 64);
}

/* A stack over a 64-mbuf main pool (big) with a connection passively opened (its ISS in iss),
 * whose headers and small writes come from a 16-mbuf tx_pool shared by the tests that use it:
 * each must give all 16 back. */
struct tx_pool_conn {
	struct th t;
	struct app a;
	uint32_t iss;
	struct rte_mempool *big, *tx;
};

/* @return false (nothing opened) if a pool is missing. */
static bool open_with_tx_pool(struct tx_pool_conn *p)
{
	static struct rte_mempool *tx;
	if (tx == NULL)
		tx = rte_pktmbuf_pool_create("th_tx", 16, 0, 0, RTE_PKTMBUF_HEADROOM + 128,
					     SOCKET_ID_ANY);
	CHECK(tx != NULL);
	memset(&p->a, 0, sizeof(p->a));
	p->big = small_pool();
	p->tx = tx;
	if (p->big == NULL || tx == NULL)
		return false;
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.pool = p->big;
	cfg.tx_pool = tx;
	th_open(&p->t, &cfg);
	p->iss = passive_open(&p->t, &p->a, NULL);
	return true;
}

/* Headers and indirect mbufs come from the small tx_pool while it has any (so a million
 * connections with a segment in flight do not hold a 2 KiB mbuf each for a header), from
 * the main pool when it is empty, and output waits for the retry when both are. */
static void test_tx_pool_and_fallback(void)
{
	struct tx_pool_conn p;
	if (!open_with_tx_pool(&p))
		return;
	th_clear(&p.t);
	struct rte_mbuf *hold_big[64], *hold_tx[16];
	unsigned nb = 0, nt = 0;

	/* The main pool empty: a segment still leaves, built from the small pool alone. */
	while (nb < 64 && (hold_big[nb] = rte_pktmbuf_alloc(p.big)) != NULL)
		nb++;
	CHECK_EQ(tcp_send(p.a.conn, mk_data("small", 5)), 0);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1)
		CHECK(p.t.cap[0].len == 5 && memcmp(p.t.cap[0].payload, "small", 5) == 0);
	CHECK_EQ(tcp_stack_stats(p.t.s)->tx_pool_fallbacks, 0);
	while (nb > 0)
		rte_pktmbuf_free(hold_big[--nb]);

	/* The small pool empty: the main pool serves, nothing is lost or delayed. */
	th_clear(&p.t);
	while (nt < 16 && (hold_tx[nt] = rte_pktmbuf_alloc(p.tx)) != NULL)
		nt++;
	CHECK_EQ(tcp_send(p.a.conn, mk_data("fallback", 8)), 0);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1)
		CHECK(p.t.cap[0].len == 8 && memcmp(p.t.cap[0].payload, "fallback", 8) == 0);
	CHECK(tcp_stack_stats(p.t.s)->tx_pool_fallbacks >= 1);

	/* The small pool empty and the main pool down to 1/8 free: that eighth is kept for
	 * receiving (the ACKs that free the rest need it), so the segment waits. */
	th_clear(&p.t);
	while (nb < 64 - 8 && (hold_big[nb] = rte_pktmbuf_alloc(p.big)) != NULL)
		nb++;
	th_poll(&p.t, 1); /* the fill level is read once per millisecond */
	uint64_t fallbacks = tcp_stack_stats(p.t.s)->tx_pool_fallbacks;
	CHECK_EQ(tcp_send(p.a.conn, mk_data("reserve", 7)), 0);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 0);
	CHECK_EQ(rte_mempool_avail_count(p.big), 8);
	CHECK_EQ(tcp_stack_stats(p.t.s)->tx_pool_fallbacks, fallbacks);
	while (nb > 0)
		rte_pktmbuf_free(hold_big[--nb]);
	th_poll(&p.t, 1);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1)
		CHECK(p.t.cap[0].len == 7 && memcmp(p.t.cap[0].payload, "reserve", 7) == 0);

	/* Both empty: nothing leaves, the retry sends it once mbufs are back. */
	th_clear(&p.t);
	while (nb < 64 && (hold_big[nb] = rte_pktmbuf_alloc(p.big)) != NULL)
		nb++;
	CHECK_EQ(tcp_send(p.a.conn, mk_data("later", 5)), 0);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 0);
	while (nt > 0)
		rte_pktmbuf_free(hold_tx[--nt]);
	while (nb > 0)
		rte_pktmbuf_free(hold_big[--nb]);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1)
		CHECK(p.t.cap[0].len == 5 && memcmp(p.t.cap[0].payload, "later", 5) == 0);
	th_close(&p.t);
	CHECK_EQ(rte_mempool_avail_count(p.big), 64);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 16);

	/* A tx_pool without room for the headers is refused. */
	static struct rte_mempool *tiny_room;
	if (tiny_room == NULL)
		tiny_room = rte_pktmbuf_pool_create("th_tx_tiny", 16, 0, 0,
						    RTE_PKTMBUF_HEADROOM + 32, SOCKET_ID_ANY);
	CHECK(tiny_room != NULL);
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.tx_pool = tiny_room;
	CHECK(tcp_stack_create(&cfg) == NULL);
}

static struct rte_mbuf *mk_data_in(struct rte_mempool *mp, char fill, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	CHECK(m != NULL);
	if (m != NULL)
		memset(rte_pktmbuf_append(m, (uint16_t)len), fill, len);
	return m;
}

/* Small writes in tx_pool mbufs coalesce into the queue's last one; when it is full, the
 * next goes into a large mbuf of the main pool, but only while that pool is over half
 * free (it is also the receive pool). A lone write keeps its small mbuf. */
static void test_gather_into_large(void)
{
	struct tx_pool_conn p;
	if (!open_with_tx_pool(&p))
		return;
	th_poll(&p.t, 1); /* the pool's fill level is read once per millisecond */
	th_clear(&p.t);
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'a', 50)), 0); /* queued as it is */
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'b', 50)), 0); /* into a's mbuf */
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'c', 50)), 0); /* a's is full: a large one */
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'd', 50)), 0); /* into c's */
	CHECK_EQ(tcp_stack_stats(p.t.s)->gathered, 1);
	CHECK_EQ(tcp_stack_stats(p.t.s)->coalesced, 2);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 15);
	CHECK_EQ(rte_mempool_avail_count(p.big), 63);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1) {
		CHECK_EQ(p.t.cap[0].len, 200);
		CHECK(p.t.cap[0].payload[0] == 'a' && p.t.cap[0].payload[99] == 'b' &&
		      p.t.cap[0].payload[100] == 'c' && p.t.cap[0].payload[199] == 'd');
	}
	peer_seg(&p.t, PEER_ISN + 1, p.iss + 1 + 200, TH_ACK, NULL);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 16);
	CHECK_EQ(rte_mempool_avail_count(p.big), 64);

	/* The main pool half used: no gathering, the small mbufs are queued. */
	struct rte_mbuf *hold[64];
	unsigned n = 0;
	while (n < 40 && (hold[n] = rte_pktmbuf_alloc(p.big)) != NULL)
		n++;
	th_poll(&p.t, 1);
	th_clear(&p.t);
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'e', 50)), 0);
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'f', 50)), 0);
	CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'g', 50)), 0);
	CHECK_EQ(tcp_stack_stats(p.t.s)->gathered, 1);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 14);
	CHECK_EQ(rte_mempool_avail_count(p.big), 64 - n);
	th_poll(&p.t, 0);
	CHECK_EQ(p.t.ncap, 1);
	if (p.t.ncap == 1) {
		CHECK_EQ(p.t.cap[0].len, 150);
		CHECK(p.t.cap[0].payload[0] == 'e' && p.t.cap[0].payload[149] == 'g');
	}
	while (n > 0)
		rte_pktmbuf_free(hold[--n]);

	/* Counted, not a flag: between two checks of the fill level, gathering takes the pool
	 * down to half free and no further, however many writes would need it. With 40 free
	 * that is 8 large mbufs of 16 writes each; then the writes stay in small mbufs. */
	while (n < 24 && (hold[n] = rte_pktmbuf_alloc(p.big)) != NULL)
		n++;
	th_poll(&p.t, 1);
	uint64_t gathered = tcp_stack_stats(p.t.s)->gathered;
	for (unsigned i = 0; i < 8 * 16 + 4; i++)
		CHECK_EQ(tcp_send(p.a.conn, mk_data_in(p.tx, 'h', 128)), 0);
	CHECK_EQ(tcp_stack_stats(p.t.s)->gathered - gathered, 8);
	CHECK_EQ(rte_mempool_avail_count(p.big), 32);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 16 - 2 - 4); /* e (with f), g, and the last 4 */
	while (n > 0)
		rte_pktmbuf_free(hold[--n]);
	th_close(&p.t);
	CHECK_EQ(rte_mempool_avail_count(p.tx), 16);
	CHECK_EQ(rte_mempool_avail_count(p.big), 64);
}

uint16_t tcp__cksum_l4(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint32_t len);

/* The stack's checksum over chains whose segments start at odd offsets, with data that makes
 * every partial sum carry (DPDK 22.11's rte_raw_cksum_mbuf gets exactly this wrong). */
static void test_cksum_odd_chains(void)
{
	static const uint16_t lens[][4] = {
		{ 20, 1001, 999, 1447 }, { 21, 1, 1999, 3 }, { 33, 1447, 1448, 7 }, { 19, 1, 1, 1 },
	};
	for (unsigned k = 0; k < 4; k++) {
		struct rte_mbuf *head = NULL, *tail = NULL;
		for (unsigned j = 0; j < 4; j++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
			uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, lens[k][j]);
			for (unsigned i = 0; i < lens[k][j]; i++)
				p[i] = (uint8_t)(0xff - ((i * k) & 1));
			if (head == NULL) {
				head = m;
			} else {
				tail->next = m;
				head->nb_segs++;
				head->pkt_len += m->data_len;
			}
			tail = m;
		}
		uint8_t *h = rte_pktmbuf_mtod(head, uint8_t *);
		h[16] = h[17] = 0;
		uint16_t ck = tcp__cksum_l4(head, TH_REMOTE_IP, TH_LOCAL_IP, head->pkt_len);
		memcpy(h + 16, &ck, 2);
		CHECK(th_cksum_ok(head, TH_REMOTE_IP, TH_LOCAL_IP));
		rte_pktmbuf_free(head);
	}
}

static void test_conn_size(void)
{
	th_current = "conn_size";
	printf("sizeof(struct tcp_conn) = %zu bytes\n", tcp_conn_size());
	CHECK(tcp_conn_size() <= 512);
}

/* ---------------------------------------------------------------- main */

#define T(x) TH_TEST(x)
static const struct th_test tests[] = {
	T(test_malformed_input),
	T(test_out_of_window_data),
	T(test_zero_receive_window),
	T(test_out_of_order_and_sack),
	T(test_ooo_memory_bound),
	T(test_paws),
	T(test_delayed_ack),
	T(test_rto_backoff_and_giveup),
	T(test_rtt_from_timestamps),
	T(test_fast_retransmit_newreno),
	T(test_spurious_rto_undone),
	T(test_small_writes_in_flight),
	T(test_link_busy),
	T(test_zero_window_probe),
	T(test_shrinking_window),
	T(test_backpressure),
	T(test_syn_cookies),
	T(test_syn_rcvd_retransmit_and_limit),
	T(test_isn_rfc6528),
	T(test_tx_cksum_offload),
	T(test_cksum_odd_chains),
	T(test_memory_pressure),
	T(test_output_retried_after_pool_exhaustion),
	T(test_tx_pool_and_fallback),
	T(test_gather_into_large),
	T(test_conn_size),
};

int main(int argc, char **argv)
{
	return th_run("tcpdata", tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
