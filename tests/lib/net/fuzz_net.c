/**
 * @file fuzz_net.c
 * libFuzzer target for lib/net: feeds arbitrary Ethernet frames to net_input() on a fresh
 * net_if and checks that nothing crashes, leaks or corrupts what is sent.
 *
 * Input format: a sequence of records `len_hi len_lo frame[len]`; a record longer than what
 * is left takes the rest. Between frames the clock moves one second and net_timer() runs, so
 * ARP retries, expiry and give-up are reached. After the frames, one datagram is sent to an
 * address taken from the input, through net_ip_output().
 * Invariants checked (abort on violation): every frame sent is at least an Ethernet header,
 * carries our source MAC, and an IPv4 frame sent has a valid header checksum; every mbuf is
 * back in the pool at the end.
 */
#include "net_test_util.h"

static void fuzz__check_sent(struct rte_mbuf *m)
{
	if (m->pkt_len < 14 || m->data_len < 14)
		abort();
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!rte_is_same_ether_addr(&eh->src_addr, &nt_our_mac))
		abort();
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		if (m->data_len < 34)
			abort();
		const void *ip = rte_pktmbuf_mtod_offset(m, const void *, 14);
		if (rte_raw_cksum(ip, 20) != 0xffff)
			abort();
	}
}

static int fuzz__sink(void *ctx, struct rte_mbuf *m)
{
	(void)ctx;
	fuzz__check_sent(m);
	rte_pktmbuf_free(m);
	return 0;
}

static struct net_if fuzz__nif;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool inited;
	if (!inited) {
		nt_eal_init("fuzznet");
		inited = true;
	}
	struct net_if *nif = &fuzz__nif;
	net_if_init(nif, NT_OUR_IP, 24, NT_GW_IP);
	nif->mac = nt_our_mac;
	nif->pool = nt_pool;
	nif->tx = fuzz__sink;
	nif->now_ns = 1000000000ull;

	size_t off = 0;
	while (off < size) {
		size_t len = size - off;
		if (len >= 2) {
			size_t rec = ((size_t)data[off] << 8) | data[off + 1];
			off += 2;
			len = rec < size - off ? rec : size - off;
		} else {
			off = size;
			break;
		}
		if (len > 0 && len <= 2048)
			net_input(nif, nt_mbuf(data + off, len));
		off += len;
		nif->now_ns += 1000000000ull;
		net_timer(nif);
	}
	if (size >= 4) {
		uint32_t dst = NT_IP4(data[0], data[1], data[2], data[3]);
		struct rte_mbuf *m = rte_pktmbuf_alloc(nt_pool);
		if (m != NULL && rte_pktmbuf_append(m, 8) != NULL)
			net_ip_output(nif, m, NT_OUR_IP, dst, IPPROTO_UDP);
		else
			rte_pktmbuf_free(m);
	}
	net_if_fini(nif);
	if (rte_mempool_avail_count(nt_pool) != 1023)
		abort(); /* a frame leaked (or was freed twice) */
	return 0;
}
