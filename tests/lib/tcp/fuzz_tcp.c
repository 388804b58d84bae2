/**
 * @file fuzz_tcp.c
 * libFuzzer target for the TCP input path (tcp_input and everything behind it: options,
 * the state machine, the out-of-order queue, SYN cookies, the echo application sending back).
 * The Ethernet/IPv4 part of the path is lib/net's fuzz target; this one starts at the TCP
 * header, as net_l4_input_fn does.
 *
 * Each input runs against a fresh stack that has an echo listener on port 7 (SYN backlog 2,
 * so cookies are reachable), an established connection 10.77.0.1:40000 -> :7 set up by a
 * scripted handshake, and an active open in SYN-SENT to 10.77.0.1:1883. The input is a list
 * of records:
 *
 *     u8 ctl, u16 len (big endian), len bytes of TCP segment
 *
 *     ctl bit 0: keep the checksum as given (else it is fixed, to get past the check)
 *     ctl bit 1: sequence and ACK fields are relative to the established connection
 *                (peer ISN and our ISS are added), so mutations stay near the window
 *     ctl bit 2: mark the mbuf RX_L4_CKSUM_GOOD
 *     ctl bits 4..7: advance the clock by that many times 50 ms, then tcp_poll
 *
 * After the records the clock runs far past every timer; the stack is destroyed and the
 * mbuf pool must be back to its starting count (a leak aborts: the fuzzer reports it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tcp/tcp_echo.h"
#include "tcp_harness.h"

#define PEER_ISN 1000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tcp_callbacks fz_cb; /* active open with no callbacks at all */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		th_eal_init("fuzztcp", 128);
		th_pool(4095);
		th_cap_max = 16; /* only the handshake is captured */
		init = true;
	}
	unsigned base = th_pool_in_use();
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.max_conns = 64;
	cfg.syn_backlog = 2;
	cfg.rcvbuf = 16384;
	cfg.sndbuf = 8192;
	cfg.time_wait_ms = 1000;
	cfg.no_delayed_ack = false;
	struct th t;
	th_open(&t, &cfg);
	struct tcp_echo *echo = tcp_echo_start(t.s, 7);
	if (echo == NULL)
		abort();
	tcp_connect(t.s, TH_LOCAL_IP, 5555, TH_REMOTE_IP, 1883, &fz_cb, NULL);

	/* handshake for the established connection (timestamps, SACK, window scale on) */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = PEER_ISN;
	sg.flags = TH_SYN;
	sg.mss = 1000;
	sg.ws = 2;
	sg.sack_ok = true;
	sg.ts = true;
	sg.tsval = 1;
	th_input(&t, &sg);
	th_poll(&t, 0);
	uint32_t iss = 0, tsv = 0;
	for (unsigned i = 0; i < t.ncap; i++)
		if (t.cap[i].dport == 40000) {
			iss = t.cap[i].seq;
			tsv = t.cap[i].tsval;
		}
	th_seg_init(&sg);
	sg.seq = PEER_ISN + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.ts = true;
	sg.tsval = 2;
	sg.tsecr = tsv;
	th_input(&t, &sg);
	th_poll(&t, 0);
	t.drop_output = true;

	size_t off = 0;
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		uint32_t len = (uint32_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = (uint32_t)(size - off);
		if (len > 2000)
			len = 2000;
		uint8_t seg[2000];
		memcpy(seg, data + off, len);
		off += len;
		if ((ctl & 2) && len >= 12) {
			uint32_t sq = (uint32_t)seg[4] << 24 | (uint32_t)seg[5] << 16 |
				      (uint32_t)seg[6] << 8 | seg[7];
			uint32_t ak = (uint32_t)seg[8] << 24 | (uint32_t)seg[9] << 16 |
				      (uint32_t)seg[10] << 8 | seg[11];
			sq += PEER_ISN + 1;
			ak += iss + 1;
			for (int i = 0; i < 4; i++) {
				seg[4 + i] = (uint8_t)(sq >> (24 - 8 * i));
				seg[8 + i] = (uint8_t)(ak >> (24 - 8 * i));
			}
		}
		if (!(ctl & 1) && len >= 18)
			th_fix_cksum(seg, len, TH_REMOTE_IP, TH_LOCAL_IP);
		struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
		if (m == NULL)
			abort();
		if (len > 0)
			memcpy(rte_pktmbuf_append(m, (uint16_t)len), seg, len);
		if (ctl & 4)
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		tcp_input(t.s, m, TH_REMOTE_IP, TH_LOCAL_IP);
		th_poll(&t, (uint64_t)(ctl >> 4) * 50);
	}
	/* let every timer run out: retransmissions give up, TIME-WAIT ends */
	for (int i = 0; i < 40; i++)
		th_poll(&t, 30000);
	tcp_echo_stop(echo);
	th_close(&t);
	if (th_pool_in_use() != base) {
		fprintf(stderr, "fuzz_tcp: mbuf leak: %u in use, expected %u\n", th_pool_in_use(),
			base);
		abort();
	}
	return 0;
}
