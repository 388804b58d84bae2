/**
 * @file bench_tcp.cc
 * Micro-benchmarks of lib/tcp, in-process (no NIC), with the test harness's stack:
 *  - BM_InputData: tcp_input of in-order 1448-byte data segments on an established
 *    connection (delayed ACKs on, so every second segment makes an ACK at the flush),
 *    software checksum or NIC-verified (RX_L4_CKSUM_GOOD); ns per segment.
 *  - BM_InputAck: tcp_input of pure ACKs each acknowledging one 1000-byte segment (frees the
 *    sent mbufs, RTT sample, cwnd growth); ns per ACK.
 *  - BM_IdleConnBytes: memory per idle established connection: heap growth (control block
 *    slabs + hash buckets) divided by the connection count, buffers aside.
 *  - BM_LoopEcho: two stacks wired back to back on this one core, one connection echoing;
 *    bytes/s of echoed payload (both stacks' full work per byte).
 * Segment construction happens with the timer paused, in batches.
 */
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tcp/tcp.h"
#include "tcp/tcp_echo.h"
#include "tcp_harness.h"

namespace {

constexpr uint32_t kPeerIsn = 1000;
constexpr int kBatch = 256;

void init_once()
{
	static bool done;
	if (!done) {
		th_eal_init("benchtcp", 512);
		th_pool(32767);
		done = true;
	}
}

struct sink {
	uint64_t bytes;
};

void sink_data(void *arg, struct tcp_conn *c, struct rte_mbuf *m)
{
	if (m == nullptr)
		return;
	static_cast<sink *>(arg)->bytes += m->pkt_len;
	uint32_t n = m->pkt_len;
	rte_pktmbuf_free(m);
	tcp_recved(c, n);
}

struct tcp_conn *g_accepted;
int sink_accepted(void *, struct tcp_conn *c)
{
	g_accepted = c;
	return 0;
}

const struct tcp_callbacks sink_cb = { sink_accepted, nullptr, sink_data, nullptr, nullptr };

/* Passive open of peer port @p sport; returns our ISS. */
uint32_t open_conn(struct th *t, uint16_t sport)
{
	struct th_seg sg;
	th_seg_init(&sg);
	sg.sport = sport;
	sg.seq = kPeerIsn;
	sg.flags = TH_SYN;
	sg.mss = 1460;
	sg.ws = 7;
	sg.sack_ok = true;
	th_input(t, &sg);
	t->drop_output = false;
	t->ncap = 0;
	th_poll(t, 0);
	uint32_t iss = t->ncap ? t->cap[t->ncap - 1].seq : 0;
	t->drop_output = true;
	th_seg_init(&sg);
	sg.sport = sport;
	sg.seq = kPeerIsn + 1;
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	th_input(t, &sg);
	th_poll(t, 0);
	return iss;
}

void BM_InputData(benchmark::State &state)
{
	init_once();
	bool hw_cksum = state.range(0) != 0;
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.no_delayed_ack = false;
	struct th t;
	th_open(&t, &cfg);
	sink sk{};
	tcp_listen(t.s, 0, 7, &sink_cb, &sk);
	uint32_t iss = open_conn(&t, 40000);
	static uint8_t payload[1448];
	struct th_seg sg;
	th_seg_init(&sg);
	sg.ack = iss + 1;
	sg.flags = TH_ACK;
	sg.win = 1000;
	sg.data = payload;
	sg.len = sizeof(payload);
	uint32_t seq = kPeerIsn + 1;
	struct rte_mbuf *batch[kBatch];
	uint64_t segs = 0;
	for (auto _ : state) {
		state.PauseTiming();
		for (int i = 0; i < kBatch; i++) {
			sg.seq = seq;
			seq += sizeof(payload);
			batch[i] = th_build(&sg);
			if (hw_cksum)
				batch[i]->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		}
		state.ResumeTiming();
		for (int i = 0; i < kBatch; i++)
			tcp_input(t.s, batch[i], TH_REMOTE_IP, TH_LOCAL_IP);
		th_poll(&t, 0);
		segs += kBatch;
	}
	state.SetItemsProcessed((int64_t)segs);
	state.SetBytesProcessed((int64_t)(segs * sizeof(payload)));
	th_close(&t);
}
BENCHMARK(BM_InputData)->Arg(0)->Arg(1)->ArgName("nic_cksum");

void BM_InputAck(benchmark::State &state)
{
	init_once();
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.sndbuf = 4u << 20;
	struct th t;
	th_open(&t, &cfg);
	sink sk{};
	tcp_listen(t.s, 0, 7, &sink_cb, &sk);
	uint32_t iss = open_conn(&t, 40000);
	struct tcp_conn *c = g_accepted;
	/* a huge peer window and cwnd: ACKs alone decide */
	struct th_seg sg;
	th_seg_init(&sg);
	sg.seq = kPeerIsn + 1;
	sg.flags = TH_ACK;
	sg.win = 65535;
	(void)iss;
	struct rte_mbuf *batch[kBatch];
	uint64_t acks = 0;
	for (auto _ : state) {
		state.PauseTiming();
		for (int i = 0; i < kBatch; i++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
			rte_pktmbuf_append(m, 1000);
			if (tcp_send(c, m) != 0)
				rte_pktmbuf_free(m);
		}
		/* ACK exactly what left, one ACK per segment */
		t.drop_output = false;
		th_clear(&t);
		th_poll(&t, 1);
		t.drop_output = true;
		int n = 0;
		for (unsigned i = 0; i < t.ncap && n < kBatch; i++) {
			if (t.cap[i].len == 0)
				continue;
			sg.ack = t.cap[i].seq + t.cap[i].len;
			batch[n] = th_build(&sg);
			batch[n]->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
			n++;
		}
		state.ResumeTiming();
		for (int i = 0; i < n; i++)
			tcp_input(t.s, batch[i], TH_REMOTE_IP, TH_LOCAL_IP);
		acks += n;
	}
	state.SetItemsProcessed((int64_t)acks);
	th_close(&t);
}
BENCHMARK(BM_InputAck);

void BM_IdleConnBytes(benchmark::State &state)
{
	init_once();
	const uint32_t n = (uint32_t)state.range(0);
	double per_conn = 0;
	uint64_t established = 0;
	for (auto _ : state) {
		struct mallinfo2 before = mallinfo2();
		struct tcp_stack_config cfg;
		th_default_cfg(&cfg);
		cfg.max_conns = n;
		cfg.syn_backlog = n;
		struct th t;
		th_open(&t, &cfg);
		sink sk{};
		tcp_listen(t.s, 0, 7, &sink_cb, &sk);
		/* handshakes in chunks the capture can hold: SYNs, then an ACK per SYN-ACK */
		for (uint32_t base = 0; base < n; base += 2000) {
			uint32_t end = base + 2000 < n ? base + 2000 : n;
			for (uint32_t i = base; i < end; i++) {
				struct th_seg sg;
				th_seg_init(&sg);
				sg.src_ip = 0x0b000000u + i / 50000;
				sg.sport = (uint16_t)(10000 + i % 50000);
				sg.seq = kPeerIsn;
				sg.flags = TH_SYN;
				sg.mss = 1460;
				sg.ws = 7;
				sg.sack_ok = true;
				sg.ts = true;
				th_input(&t, &sg);
			}
			th_clear(&t);
			th_poll(&t, 0);
			for (unsigned k = 0; k < t.ncap; k++) {
				struct th_seg sg;
				th_seg_init(&sg);
				sg.src_ip = t.cap[k].dst_ip;
				sg.sport = t.cap[k].dport;
				sg.seq = kPeerIsn + 1;
				sg.ack = t.cap[k].seq + 1;
				sg.flags = TH_ACK;
				sg.ts = true;
				sg.tsecr = t.cap[k].tsval;
				th_input(&t, &sg);
			}
			th_poll(&t, 0);
		}
		established = tcp_stack_stats(t.s)->conns_opened;
		struct mallinfo2 after = mallinfo2();
		/* heap (arena + mmapped chunks), minus the harness's capture array */
		double grown = (double)(after.uordblks + after.hblkhd) -
			       (double)(before.uordblks + before.hblkhd) -
			       (double)(th_cap_max * sizeof(struct th_seg));
		per_conn = grown / n;
		state.counters["conns"] = (double)established;
		th_close(&t);
	}
	state.counters["bytes_per_conn"] = per_conn;
	state.counters["sizeof_tcp_conn"] = (double)tcp_conn_size();
}
BENCHMARK(BM_IdleConnBytes)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond);

/* ---- in-process echo: two stacks, zero-delay wire ---- */

struct loop {
	struct tcp_stack *st[2];
	struct rte_mbuf *q[2][8192];
	uint32_t qn[2];
	uint32_t src[2][8192], dst[2][8192];
};

struct loop_end {
	loop *l;
	int to;
};

int loop_out(void *ctx, struct rte_mbuf *m, uint32_t src, uint32_t dst, uint8_t)
{
	auto *e = static_cast<loop_end *>(ctx);
	uint32_t &n = e->l->qn[e->to];
	if (n == 8192) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	e->l->q[e->to][n] = m;
	e->l->src[e->to][n] = src;
	e->l->dst[e->to][n] = dst;
	n++;
	return 0;
}

struct echo_client {
	struct tcp_conn *c;
	uint64_t rcvd;
};

void ec_data(void *arg, struct tcp_conn *c, struct rte_mbuf *m)
{
	if (m == nullptr)
		return;
	static_cast<echo_client *>(arg)->rcvd += m->pkt_len;
	uint32_t n = m->pkt_len;
	rte_pktmbuf_free(m);
	tcp_recved(c, n);
}

void ec_connected(void *arg, struct tcp_conn *c)
{
	static_cast<echo_client *>(arg)->c = c;
}

const struct tcp_callbacks ec_cb = { nullptr, ec_connected, ec_data, nullptr, nullptr };

void BM_LoopEcho(benchmark::State &state)
{
	init_once();
	static loop l;
	memset(&l, 0, sizeof(l));
	loop_end ends[2] = { { &l, 1 }, { &l, 0 } };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.ip_output = loop_out;
	cfg.ip_ctx = &ends[0];
	cfg.mtu = 9000;
	l.st[0] = tcp_stack_create(&cfg);
	cfg.ip_ctx = &ends[1];
	l.st[1] = tcp_stack_create(&cfg);
	struct tcp_echo *echo = tcp_echo_start(l.st[1], 7);
	echo_client ec{};
	tcp_connect(l.st[0], TH_REMOTE_IP, 0, TH_LOCAL_IP, 7, &ec_cb, &ec);
	uint64_t now = cfg.now_ns;
	auto step = [&]() {
		now += 1000;
		for (int side = 0; side < 2; side++) {
			uint32_t n = l.qn[side];
			l.qn[side] = 0;
			for (uint32_t i = 0; i < n; i++)
				tcp_input(l.st[side], l.q[side][i], l.src[side][i], l.dst[side][i]);
		}
		tcp_poll(l.st[0], now);
		tcp_poll(l.st[1], now);
	};
	for (int i = 0; i < 10; i++)
		step();
	uint64_t sent = 0;
	for (auto _ : state) {
		/* keep 256 KB queued: 32 x 8 KB chains */
		while (ec.c != nullptr && tcp_sndbuf(ec.c) > 0) {
			struct rte_mbuf *head = nullptr, *tail = nullptr;
			for (int k = 0; k < 4; k++) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
				rte_pktmbuf_append(m, 2000);
				if (head == nullptr) {
					head = m;
				} else {
					tail->next = m;
					head->nb_segs++;
					head->pkt_len += 2000;
				}
				tail = m;
			}
			if (tcp_send(ec.c, head) != 0) {
				rte_pktmbuf_free(head);
				break;
			}
			sent += 8000;
		}
		step();
	}
	state.SetBytesProcessed((int64_t)ec.rcvd);
	tcp_echo_stop(echo);
	tcp_stack_destroy(l.st[0]);
	tcp_stack_destroy(l.st[1]);
	for (int side = 0; side < 2; side++)
		for (uint32_t i = 0; i < l.qn[side]; i++)
			rte_pktmbuf_free(l.q[side][i]);
}
BENCHMARK(BM_LoopEcho)->MinTime(1.0);

} // namespace

BENCHMARK_MAIN();
