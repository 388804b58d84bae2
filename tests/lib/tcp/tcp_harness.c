/**
 * @file tcp_harness.c
 * The in-process test bench of tcp_harness.h: EAL set-up, the capturing ip_output, and the
 * segment crafter/parser. Checksums are computed here independently of lib/tcp (a plain
 * RFC 1071 sum over a flat copy), so a checksum bug in the stack cannot hide itself.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "tcp_harness.h"

int th_failures;
unsigned th_cap_max = TH_MAX_CAP;
const char *th_current = "";

static struct rte_mempool *th__pool;
static unsigned th__pool_size;

void th_eal_init(const char *name, unsigned mem_mb)
{
	static bool done;
	if (done)
		return;
	char prefix[64], mem[16];
	snprintf(prefix, sizeof(prefix), "tt-%s-%d", name, (int)getpid());
	snprintf(mem, sizeof(mem), "%u", mem_mb);
	char *argv[] = { "test", "--no-huge", "-m", mem, "--no-pci", "-l", "0",
			 "--log-level=warning", "--file-prefix", prefix, NULL };
	if (rte_eal_init(10, argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		abort();
	}
	done = true;
}

struct rte_mempool *th_pool(unsigned n)
{
	if (th__pool == NULL) {
		th__pool = rte_pktmbuf_pool_create("th_pool", n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						   SOCKET_ID_ANY);
		if (th__pool == NULL) {
			fprintf(stderr, "pool: %s\n", rte_strerror(rte_errno));
			abort();
		}
		th__pool_size = n;
	}
	return th__pool;
}

unsigned th_pool_in_use(void)
{
	return th__pool_size - rte_mempool_avail_count(th__pool);
}

/* ---------------------------------------------------------------- checksum (independent) */

static uint16_t th__sum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t th__tcp_cksum(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)len;
	return (uint16_t)~th__sum(seg, len, sum);
}

static void th__put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t th__get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void th_fix_cksum(uint8_t *seg, uint32_t len, uint32_t src, uint32_t dst)
{
	seg[16] = seg[17] = 0;
	uint16_t ck = th__tcp_cksum(seg, len, src, dst);
	seg[16] = ck >> 8;
	seg[17] = (uint8_t)ck;
}

bool th_cksum_ok(const struct rte_mbuf *m, uint32_t src, uint32_t dst)
{
	static uint8_t flat[65536 + 60];
	uint32_t len = m->pkt_len;
	if (len > sizeof(flat))
		return false;
	const uint8_t *p = rte_pktmbuf_read(m, 0, len, flat);
	return p != NULL && th__tcp_cksum(p, len, src, dst) == 0;
}

/* ---------------------------------------------------------------- crafting */

void th_seg_init(struct th_seg *sg)
{
	memset(sg, 0, sizeof(*sg));
	sg->sport = 40000;
	sg->dport = 7;
	sg->win = 65535;
	sg->mss = -1;
	sg->ws = -1;
}

struct rte_mbuf *th_build(const struct th_seg *sg)
{
	uint8_t buf[2048 + 60];
	uint8_t o[40];
	unsigned n = 0;
	if (sg->raw_opts != NULL) {
		memcpy(o, sg->raw_opts, sg->raw_opts_len);
		n = sg->raw_opts_len;
	} else {
		if (sg->mss >= 0) {
			o[n++] = 2; o[n++] = 4; o[n++] = (uint8_t)(sg->mss >> 8); o[n++] = (uint8_t)sg->mss;
		}
		if (sg->ws >= 0) {
			o[n++] = 1; o[n++] = 3; o[n++] = 3; o[n++] = (uint8_t)sg->ws;
		}
		if (sg->sack_ok) {
			o[n++] = 1; o[n++] = 1; o[n++] = 4; o[n++] = 2;
		}
		if (sg->ts) {
			o[n++] = 1; o[n++] = 1; o[n++] = 8; o[n++] = 10;
			th__put32(o + n, sg->tsval);
			th__put32(o + n + 4, sg->tsecr);
			n += 8;
		}
		if (sg->nsack > 0) {
			o[n++] = 1; o[n++] = 1; o[n++] = 5; o[n++] = (uint8_t)(2 + 8 * sg->nsack);
			for (int i = 0; i < sg->nsack; i++) {
				th__put32(o + n, sg->sack[i][0]);
				th__put32(o + n + 4, sg->sack[i][1]);
				n += 8;
			}
		}
		while (n % 4)
			o[n++] = 0;
	}
	unsigned hl = 20 + n;
	memset(buf, 0, 20);
	buf[0] = sg->sport >> 8; buf[1] = (uint8_t)sg->sport;
	buf[2] = sg->dport >> 8; buf[3] = (uint8_t)sg->dport;
	th__put32(buf + 4, sg->seq);
	th__put32(buf + 8, sg->ack);
	buf[12] = (uint8_t)(((hl + 3) / 4) << 4);
	buf[13] = sg->flags;
	buf[14] = sg->win >> 8; buf[15] = (uint8_t)sg->win;
	memcpy(buf + 20, o, n);
	if (sg->len > 0)
		memcpy(buf + hl, sg->data, sg->len);
	uint32_t src = sg->src_ip ? sg->src_ip : TH_REMOTE_IP;
	uint32_t dst = sg->dst_ip ? sg->dst_ip : TH_LOCAL_IP;
	uint16_t ck = th__tcp_cksum(buf, hl + sg->len, src, dst);
	if (sg->bad_cksum)
		ck ^= 0x0100;
	buf[16] = ck >> 8;
	buf[17] = (uint8_t)ck;
	struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool(0));
	if (m == NULL)
		abort();
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + sg->len));
	memcpy(d, buf, hl + sg->len);
	return m;
}

void th_input(struct th *t, const struct th_seg *sg)
{
	struct rte_mbuf *m = th_build(sg);
	tcp_input(t->s, m, sg->src_ip ? sg->src_ip : TH_REMOTE_IP,
		  sg->dst_ip ? sg->dst_ip : TH_LOCAL_IP);
}

/* ---------------------------------------------------------------- capture */

static void th__parse(struct th_seg *sg, const uint8_t *p, uint32_t len, uint32_t src,
		      uint32_t dst)
{
	memset(sg, 0, sizeof(*sg));
	sg->mss = -1;
	sg->ws = -1;
	sg->src_ip = src;
	sg->dst_ip = dst;
	sg->cksum_ok = th__tcp_cksum(p, len, src, dst) == 0;
	sg->sport = (uint16_t)(p[0] << 8 | p[1]);
	sg->dport = (uint16_t)(p[2] << 8 | p[3]);
	sg->seq = th__get32(p + 4);
	sg->ack = th__get32(p + 8);
	sg->hdr_len = (uint16_t)((p[12] >> 4) * 4);
	sg->flags = p[13];
	sg->win = (uint16_t)(p[14] << 8 | p[15]);
	for (unsigned i = 20; i < sg->hdr_len;) {
		uint8_t k = p[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		uint8_t l = p[i + 1];
		if (l < 2)
			break;
		if (k == 2)
			sg->mss = p[i + 2] << 8 | p[i + 3];
		if (k == 3)
			sg->ws = p[i + 2];
		if (k == 4)
			sg->sack_ok = true;
		if (k == 8) {
			sg->ts = true;
			sg->tsval = th__get32(p + i + 2);
			sg->tsecr = th__get32(p + i + 6);
		}
		if (k == 5) {
			sg->nsack = (l - 2) / 8;
			for (int b = 0; b < sg->nsack && b < 4; b++) {
				sg->sack[b][0] = th__get32(p + i + 2 + 8 * b);
				sg->sack[b][1] = th__get32(p + i + 6 + 8 * b);
			}
		}
		i += l;
	}
	sg->len = len - sg->hdr_len;
	memcpy(sg->payload, p + sg->hdr_len, RTE_MIN(sg->len, (uint32_t)sizeof(sg->payload)));
}

static int th__capture(void *ctx, struct rte_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto)
{
	struct th *t = ctx;
	if (proto != 6 || rte_pktmbuf_headroom(m) < NET_L4_HEADROOM)
		abort();
	if (t->busy_output > 0) {
		t->busy_output--;
		rte_pktmbuf_free(m);
		return -EBUSY;
	}
	if (t->drop_output || t->ncap == th_cap_max) {
		if (!t->drop_output)
			t->cap_dropped++;
		rte_pktmbuf_free(m);
		return 0;
	}
	static uint8_t flat[65536 + 60];
	uint32_t len = m->pkt_len;
	const uint8_t *p = rte_pktmbuf_read(m, 0, len, flat);
	struct th_seg *sg = &t->cap[t->ncap++];
	th__parse(sg, p, len, src, dst);
	sg->nb_segs = m->nb_segs;
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM)
		sg->cksum_ok = false; /* pseudo-header only: checked by the offload test */
	rte_pktmbuf_free(m);
	return 0;
}

void th_default_cfg(struct tcp_stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pool = th_pool(0);
	cfg->ip_output = th__capture;
	cfg->mtu = 1500;
	cfg->no_delayed_ack = true;
	cfg->max_conns = 1024;
	cfg->now_ns = 1000000000ULL;
	for (int i = 0; i < 16; i++)
		cfg->secret[i] = (uint8_t)(i + 1);
}

void th_open(struct th *t, const struct tcp_stack_config *cfg)
{
	memset(t, 0, sizeof(*t));
	if (cfg != NULL)
		t->cfg = *cfg;
	else
		th_default_cfg(&t->cfg);
	t->cfg.ip_ctx = t;
	if (t->cfg.ip_output == NULL)
		t->cfg.ip_output = th__capture;
	t->now_ns = t->cfg.now_ns;
	t->cap = calloc(th_cap_max, sizeof(*t->cap));
	t->s = tcp_stack_create(&t->cfg);
	if (t->s == NULL || t->cap == NULL)
		abort();
}

void th_close(struct th *t)
{
	tcp_stack_destroy(t->s);
	free(t->cap);
	t->s = NULL;
}

void th_poll(struct th *t, uint64_t ms)
{
	t->now_ns += ms * 1000000ULL;
	tcp_poll(t->s, t->now_ns);
}

void th_clear(struct th *t)
{
	t->ncap = 0;
}

void th_seg_print(FILE *f, const struct th_seg *sg)
{
	fprintf(f, "%u->%u seq=%u ack=%u [%s%s%s%s%s] win=%u len=%u mss=%d ws=%d ts=%d sack=%d\n",
		sg->sport, sg->dport, sg->seq, sg->ack, (sg->flags & TH_SYN) ? "S" : "",
		(sg->flags & TH_FIN) ? "F" : "", (sg->flags & TH_RST) ? "R" : "",
		(sg->flags & TH_PSH) ? "P" : "", (sg->flags & TH_ACK) ? "." : "", sg->win, sg->len,
		sg->mss, sg->ws, sg->ts, sg->nsack);
}

int th_run(const char *eal_name, const struct th_test *tests, size_t n, int argc, char **argv)
{
	th_eal_init(eal_name, 128);
	th_pool(8191);
	unsigned base = th_pool_in_use();
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		th_current = tests[i].name;
		int before = th_failures;
		tests[i].fn();
		unsigned now = th_pool_in_use();
		if (now != base) {
			fprintf(stderr, "FAIL [%s]: mbuf pool %u in use, expected %u\n", tests[i].name,
				now, base);
			th_failures++;
			base = now;
		}
		printf("%s %s\n", th_failures == before ? "ok  " : "FAIL", tests[i].name);
	}
	printf("%d failure(s)\n", th_failures);
	return th_failures ? 1 : 0;
}
