/**
 * @file test_tcp_loop.c
 * Two stacks back to back: a client stack opening connections that send pseudo-random data,
 * a server stack running the echo service, and between them a seeded "wire" that can drop,
 * delay (with jitter, hence reorder), duplicate and corrupt segments in each direction.
 * Every byte must come back exactly, no connection may hang, every connection must be freed
 * (after TIME-WAIT) and the mbuf pool must return to its starting count. Virtual time, so
 * the run is deterministic for a seed and takes real seconds for minutes of virtual time.
 *
 * Usage: test_tcp_loop [scenario-substring] [--scale N]   (N multiplies the byte counts)
 * LOOP_DEBUG=1 prints the control blocks of both stacks 40 virtual seconds in and of every
 * client connection that closes abnormally (how a stall is diagnosed).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "tcp/tcp_echo.h"
#include "tcp/tcp_int.h" /* LOOP_DEBUG prints control blocks */
#include "tcp_harness.h"

/* ---------------------------------------------------------------- the wire */

struct wire_pkt {
	struct wire_pkt *next;
	struct rte_mbuf *m;
	uint32_t src, dst;
	uint64_t at;
	int to;
};

struct impair {
	double loss, dup, corrupt;
	uint32_t delay_ms, jitter_ms;
};

struct wire {
	struct impair imp;
	uint64_t rng;
	bool blackhole;          /* 100% loss both ways */
	uint64_t now;
	struct wire_pkt *q;      /* sorted by at (stable) */
	struct tcp_stack *st[2]; /* 0 = client, 1 = server */
	uint64_t sent, dropped, duped, corrupted, bad_cksum;
};

struct wire_end {
	struct wire *w;
	int to;
};

static double wire_rand(struct wire *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (double)(w->rng >> 11) / 9007199254740992.0;
}

static void wire_queue(struct wire *w, struct rte_mbuf *m, uint32_t src, uint32_t dst, int to)
{
	struct wire_pkt *p = malloc(sizeof(*p));
	p->m = m;
	p->src = src;
	p->dst = dst;
	p->to = to;
	double d = w->imp.delay_ms;
	if (w->imp.jitter_ms)
		d += (wire_rand(w) * 2 - 1) * w->imp.jitter_ms;
	if (d < 0)
		d = 0;
	p->at = w->now + 1000000ULL + (uint64_t)(d * 1e6);
	struct wire_pkt **pp = &w->q;
	while (*pp != NULL && (*pp)->at <= p->at)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
}

static int wire_output(void *ctx, struct rte_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto)
{
	struct wire_end *e = ctx;
	struct wire *w = e->w;
	(void)proto;
	w->sent++;
	/* every segment must carry a correct checksum, checked independently of lib/tcp (the
	 * receiving stack's own check would agree with a sender bug it shares) */
	if (!th_cksum_ok(m, src, dst)) {
		w->bad_cksum++;
		fprintf(stderr, "wire: segment with a bad checksum (pkt_len %u, %u segs)\n",
			m->pkt_len, m->nb_segs);
	}
	if (w->blackhole || wire_rand(w) < w->imp.loss) {
		w->dropped++;
		rte_pktmbuf_free(m);
		return 0;
	}
	if (wire_rand(w) < w->imp.dup) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, th_pool(0), 0, UINT32_MAX);
		if (c != NULL) {
			w->duped++;
			wire_queue(w, c, src, dst, e->to);
		}
	}
	if (wire_rand(w) < w->imp.corrupt) {
		/* Flip a bit of the TCP header: the header mbuf is this segment's own (payload
		 * mbufs are shared with the sender's queue and must not be touched). */
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		unsigned off = (unsigned)(wire_rand(w) * m->data_len) % m->data_len;
		p[off] ^= (uint8_t)(1u << (unsigned)(wire_rand(w) * 8) % 8);
		w->corrupted++;
	}
	wire_queue(w, m, src, dst, e->to);
	return 0;
}

static void wire_deliver(struct wire *w)
{
	while (w->q != NULL && w->q->at <= w->now) {
		struct wire_pkt *p = w->q;
		w->q = p->next;
		tcp_input(w->st[p->to], p->m, p->src, p->dst);
		free(p);
	}
}

static void wire_flush(struct wire *w)
{
	while (w->q != NULL) {
		struct wire_pkt *p = w->q;
		w->q = p->next;
		rte_pktmbuf_free(p->m);
		free(p);
	}
}

/* ---------------------------------------------------------------- the client application */

#define CLIENT_IP 0x0a4d0001u
#define SERVER_IP 0x0a4d0002u
#define ECHO_PORT 7

struct cconn {
	struct tcp_conn *c;
	uint32_t idx;
	uint64_t total, sent, rcvd;
	bool done, failed, closed;
	enum tcp_close_reason reason;
};

struct client {
	struct cconn *conns;
	uint32_t n;
	uint32_t done, failed, closed;
	uint64_t rng;
};

static inline uint8_t pattern(uint32_t k, uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ULL + (uint64_t)k * 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return (uint8_t)(x ^ (i >> 8));
}

static void client_fill(struct client *cl, struct cconn *cc)
{
	(void)cl;
	while (cc->c != NULL && cc->sent < cc->total && tcp_sndbuf(cc->c) > 0) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
		if (m == NULL)
			return;
		/* varied sizes so segments and queued mbufs never line up */
		uint32_t chunk = 100 + (uint32_t)((cc->sent * 2654435761u) % 1900);
		if (chunk > cc->total - cc->sent)
			chunk = (uint32_t)(cc->total - cc->sent);
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)chunk);
		for (uint32_t i = 0; i < chunk; i++)
			p[i] = pattern(cc->idx, cc->sent + i);
		if (tcp_send(cc->c, m) != 0) {
			rte_pktmbuf_free(m);
			return;
		}
		cc->sent += chunk;
	}
}

static void cl_connected(void *arg, struct tcp_conn *c)
{
	(void)c;
	struct cconn *cc = arg;
	(void)cc;
}

static struct client *g_client;

static void cl_data(void *arg, struct tcp_conn *c, struct rte_mbuf *m)
{
	struct cconn *cc = arg;
	if (m == NULL) {
		if (!cc->done) {
			fprintf(stderr, "conn %u: FIN before all data (%lu/%lu)\n", cc->idx,
				(unsigned long)cc->rcvd, (unsigned long)cc->total);
			cc->failed = true;
		}
		return;
	}
	uint32_t n = m->pkt_len;
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		for (uint32_t i = 0; i < s->data_len; i++) {
			if (p[i] != pattern(cc->idx, cc->rcvd) && !cc->failed) {
				fprintf(stderr, "conn %u: byte %lu differs\n", cc->idx,
					(unsigned long)cc->rcvd);
				cc->failed = true;
				g_client->failed++;
			}
			cc->rcvd++;
		}
	}
	rte_pktmbuf_free(m);
	tcp_recved(c, n);
	if (cc->rcvd > cc->total && !cc->failed) {
		cc->failed = true;
		g_client->failed++;
	}
	if (cc->rcvd == cc->total && !cc->done) {
		cc->done = true;
		g_client->done++;
		tcp_close(c);
		cc->c = NULL;
	}
}

static void cl_writable(void *arg, struct tcp_conn *c)
{
	(void)c;
	client_fill(g_client, arg);
}

static void cl_closed(void *arg, struct tcp_conn *c, enum tcp_close_reason why)
{
	(void)c;
	struct cconn *cc = arg;
	if (getenv("LOOP_DEBUG")) {
		const struct tcp_conn *k = c;
		fprintf(stderr, "closed conn %u why=%d st=%d una=%u nxt=%u max=%u lbb=%u wnd=%u cwnd=%u "
			"rcv_nxt=%u rcvadv=%u held=%u ooo=%u flags=%x rto=%u nrtx=%u sack=%u\n",
			cc->idx, why, k->state, k->snd_una - k->iss, k->snd_nxt - k->iss,
			k->snd_max - k->iss, k->snd_lbb - k->iss, k->snd_wnd, k->cwnd,
			k->rcv_nxt - k->irs, k->rcv_adv - k->irs, k->rcv_held, k->ooo_bytes,
			k->flags, k->rto, k->nrtx, k->nsack);
	}
	cc->closed = true;
	cc->reason = why;
	cc->c = NULL;
	g_client->closed++;
}

static const struct tcp_callbacks cl_cb = {
	.connected = cl_connected, .data = cl_data, .writable = cl_writable, .closed = cl_closed,
};

/* ---------------------------------------------------------------- scenarios */

struct scenario {
	const char *name;
	uint32_t conns;
	uint64_t bytes;         /* per connection */
	struct impair imp;
	bool vanish;            /* black-hole the wire once data flows */
	bool delayed_ack;
};

static const struct scenario scenarios[] = {
	{ "clean", 4, 1 << 20, { .loss = 0 }, false, true },
	{ "many-conns", 200, 32 << 10, { .loss = 0 }, false, true },
	{ "large", 1, 16 << 20, { .loss = 0 }, false, false },
	{ "loss-5pct", 4, 256 << 10, { .loss = 0.05 }, false, true },
	{ "delay-10ms-jitter-5ms", 4, 512 << 10, { .delay_ms = 10, .jitter_ms = 5 }, false, true },
	{ "dup-1pct", 4, 512 << 10, { .dup = 0.01 }, false, true },
	{ "corrupt-0.1pct", 4, 512 << 10, { .corrupt = 0.001 }, false, true },
	{ "corrupt-2pct", 4, 256 << 10, { .corrupt = 0.02 }, false, true },
	{ "all-impairments", 8, 256 << 10,
	  { .loss = 0.03, .dup = 0.01, .corrupt = 0.002, .delay_ms = 10, .jitter_ms = 5 }, false,
	  true },
	{ "vanished-peer", 4, 4 << 20, { .loss = 0 }, true, true },
};

static double g_scale = 1.0;

static void dump_stack(const char *name, struct tcp_stack *s)
{
	for (uint32_t b = 0; b <= s->hmask; b++)
		for (struct tcp_conn *k = s->buckets[b]; k != NULL; k = k->hnext)
			fprintf(stderr, "%s port %u st=%d una=%u nxt=%u max=%u lbb=%u wnd=%u cwnd=%u "
				"rcv_nxt=%u rcvadv=%u held=%u ooo=%u flags=%x rto=%u nrtx=%u sack=%u "
				"tsr=%u rtx_at=%u now=%u\n",
				name, k->lport, k->state, k->snd_una - k->iss, k->snd_nxt - k->iss,
				k->snd_max - k->iss, k->snd_lbb - k->iss, k->snd_wnd, k->cwnd,
				k->rcv_nxt - k->irs, k->rcv_adv - k->irs, k->rcv_held, k->ooo_bytes,
				k->flags, k->rto, k->nrtx, k->nsack, k->ts_recent, k->rtx_at, s->now_ms);
}

static int run(const struct scenario *sc, uint64_t seed)
{
	int fails = th_failures;
	unsigned base = th_pool_in_use();
	struct wire w = { .imp = sc->imp, .rng = seed * 0x2545F4914F6CDD1DULL + 1 };
	struct wire_end ends[2] = { { &w, 1 }, { &w, 0 } };
	struct tcp_stack_config cfg;
	th_default_cfg(&cfg);
	cfg.max_conns = 4096;
	cfg.time_wait_ms = 1000;
	cfg.no_delayed_ack = !sc->delayed_ack;
	cfg.max_retries = 12;
	cfg.rto_max_ms = 10000;
	cfg.ip_output = wire_output;
	cfg.ip_ctx = &ends[0]; /* client sends to the server */
	w.now = cfg.now_ns;
	struct tcp_stack *cs = tcp_stack_create(&cfg);
	cfg.ip_ctx = &ends[1];
	cfg.secret[0] ^= 0x55;
	struct tcp_stack *ss = tcp_stack_create(&cfg);
	w.st[0] = cs;
	w.st[1] = ss;
	struct tcp_echo *echo = tcp_echo_start(ss, ECHO_PORT);
	CHECK(echo != NULL);

	struct client cl = { .n = sc->conns };
	g_client = &cl;
	cl.conns = calloc(sc->conns, sizeof(*cl.conns));
	uint64_t bytes = (uint64_t)(sc->bytes * g_scale);
	for (uint32_t i = 0; i < sc->conns; i++) {
		struct cconn *cc = &cl.conns[i];
		cc->idx = i;
		cc->total = bytes;
		cc->c = tcp_connect(cs, CLIENT_IP, 0, SERVER_IP, ECHO_PORT, &cl_cb, cc);
		CHECK(cc->c != NULL);
		client_fill(&cl, cc);
	}
	uint64_t limit = w.now + 1800ULL * 1000000000ULL; /* 30 virtual minutes */
	bool vanished = false;
	while (w.now < limit) {
		wire_deliver(&w);
		tcp_poll(cs, w.now);
		tcp_poll(ss, w.now);
		for (uint32_t i = 0; i < sc->conns; i++)
			if (cl.conns[i].c != NULL)
				client_fill(&cl, &cl.conns[i]);
		static bool dumped;
		if (getenv("LOOP_DEBUG") && !dumped && w.now - cfg.now_ns > 40000000000ULL) {
			dumped = true;
			dump_stack("client", cs);
			dump_stack("server", ss);
		}
		if (sc->vanish && !vanished && cl.conns[0].rcvd > 65536) {
			w.blackhole = true;
			vanished = true;
		}
		if (cl.done + cl.closed >= sc->conns && tcp_stack_stats(cs)->conns_cur == 0 &&
		    tcp_stack_stats(ss)->conns_cur == 0 && w.q == NULL)
			break;
		/* advance: next packet or timer, at least 1 ms */
		uint64_t next = w.now + 1000000ULL;
		if (w.q == NULL) {
			uint64_t d = RTE_MIN(tcp_next_deadline_ns(cs), tcp_next_deadline_ns(ss));
			if (d != UINT64_MAX && d > next)
				next = d;
		} else if (w.q->at > next) {
			uint64_t d = RTE_MIN(tcp_next_deadline_ns(cs), tcp_next_deadline_ns(ss));
			next = RTE_MIN(w.q->at, RTE_MAX(d, next));
		}
		w.now = next;
	}
	const struct tcp_stats *a = tcp_stack_stats(cs), *b = tcp_stack_stats(ss);
	printf("  %-24s conns=%u bytes/conn=%lu done=%u closed=%u failed=%u virt=%.1fs "
	       "segs=%lu/%lu rtx=%lu/%lu fastrtx=%lu/%lu dupack=%lu/%lu ooo=%lu/%lu "
	       "cksum_err=%lu/%lu timeouts=%lu/%lu wire: drop=%lu dup=%lu corrupt=%lu\n",
	       sc->name, sc->conns, (unsigned long)bytes, cl.done, cl.closed, cl.failed,
	       (double)(w.now - cfg.now_ns) / 1e9, (unsigned long)a->segs_out,
	       (unsigned long)b->segs_out, (unsigned long)a->retransmits,
	       (unsigned long)b->retransmits, (unsigned long)a->fast_retransmits,
	       (unsigned long)b->fast_retransmits, (unsigned long)a->dup_acks,
	       (unsigned long)b->dup_acks, (unsigned long)a->ooo_segs, (unsigned long)b->ooo_segs,
	       (unsigned long)a->cksum_errors, (unsigned long)b->cksum_errors,
	       (unsigned long)a->conns_timed_out, (unsigned long)b->conns_timed_out,
	       (unsigned long)w.dropped, (unsigned long)w.duped, (unsigned long)w.corrupted);
	if (sc->vanish) {
		/* both sides give up after their retry limit and free everything */
		CHECK_EQ(cl.closed, sc->conns);
		for (uint32_t i = 0; i < sc->conns; i++)
			CHECK_EQ(cl.conns[i].reason, TCP_CLOSE_TIMEOUT);
		CHECK(b->conns_timed_out >= 1);
	} else {
		CHECK_EQ(cl.done, sc->conns);
		CHECK_EQ(cl.closed, 0);
		CHECK_EQ(cl.failed, 0);
		for (uint32_t i = 0; i < sc->conns; i++)
			CHECK_EQ(cl.conns[i].rcvd, bytes);
		if (sc->imp.corrupt > 0)
			CHECK(a->cksum_errors + b->cksum_errors > 0 || w.corrupted == 0);
	}
	CHECK_EQ(w.bad_cksum, 0);
	CHECK_EQ(a->conns_cur, 0);
	CHECK_EQ(b->conns_cur, 0);
	CHECK_EQ(tcp_echo_conns(echo), 0);
	tcp_echo_stop(echo);
	tcp_stack_destroy(cs);
	tcp_stack_destroy(ss);
	wire_flush(&w);
	free(cl.conns);
	CHECK_EQ(th_pool_in_use(), base);
	return th_failures == fails ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			g_scale = atof(argv[++i]);
		else
			only = argv[i];
	}
	th_eal_init("tcploop", 512);
	th_pool(32767);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (only != NULL && strstr(scenarios[i].name, only) == NULL)
			continue;
		th_current = scenarios[i].name;
		int rc = run(&scenarios[i], 1 + i);
		printf("%s %s\n", rc == 0 ? "ok  " : "FAIL", scenarios[i].name);
	}
	printf("%d failure(s)\n", th_failures);
	return th_failures ? 1 : 0;
}
