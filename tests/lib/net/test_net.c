/**
 * @file test_net.c
 * Unit tests of lib/net (Ethernet, ARP, IPv4, ICMP) on crafted frames, in-process: frames go
 * in through net_input(), whatever the layer sends is captured by a sink and checked byte by
 * byte, and every drop must land in the counter that names its reason.
 */
#include "net_test_util.h"

struct l4_seen {
	unsigned n;
	uint32_t src, dst;
	uint32_t len;
	uint8_t first;
};

static void l4_input(void *ctx, struct rte_mbuf *m, uint32_t src, uint32_t dst)
{
	struct l4_seen *s = ctx;
	s->n++;
	s->src = src;
	s->dst = dst;
	s->len = m->pkt_len;
	s->first = *rte_pktmbuf_mtod(m, uint8_t *);
	rte_pktmbuf_free(m);
}

static const struct rte_ether_hdr *eth_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
}

static const struct rte_arp_hdr *arp_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, 14);
}

static const struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
}

/* Teach the interface the peer's MAC with an ARP request from it. */
static void learn_peer(struct net_if *nif, struct nt_capture *cap)
{
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
			  &(struct rte_ether_addr){ { 0 } }, NT_OUR_IP);
	net_input(nif, nt_mbuf(f, n));
	nt_capture_clear(cap);
}

static void test_arp_request_for_us(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
			  &(struct rte_ether_addr){ { 0 } }, NT_OUR_IP);
	memset(f + n, 0, 60 - n); /* Ethernet padding, as on the wire */
	net_input(&nif, nt_mbuf(f, 60));

	NT_EQ(cap.n, 1);
	if (cap.n == 1) {
		struct rte_mbuf *r = cap.m[0];
		NT_EQ(r->pkt_len, 42);
		NT_CHECK(rte_is_same_ether_addr(&eth_of(r)->dst_addr, &nt_peer_mac));
		NT_CHECK(rte_is_same_ether_addr(&eth_of(r)->src_addr, &nt_our_mac));
		NT_EQ(rte_be_to_cpu_16(eth_of(r)->ether_type), RTE_ETHER_TYPE_ARP);
		const struct rte_arp_hdr *a = arp_of(r);
		NT_EQ(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
		NT_CHECK(rte_is_same_ether_addr(&a->arp_data.arp_sha, &nt_our_mac));
		NT_EQ(rte_be_to_cpu_32(a->arp_data.arp_sip), NT_OUR_IP);
		NT_CHECK(rte_is_same_ether_addr(&a->arp_data.arp_tha, &nt_peer_mac));
		NT_EQ(rte_be_to_cpu_32(a->arp_data.arp_tip), NT_PEER_IP);
	}
	NT_EQ(nif.cnt.arp_rx_request, 1);
	NT_EQ(nif.cnt.arp_tx_reply, 1);
	/* The asker was learnt (RFC 826): no ARP needed to answer it. */
	struct rte_ether_addr mac;
	NT_CHECK(net_arp_lookup(&nif, NT_PEER_IP, &mac));
	NT_CHECK(rte_is_same_ether_addr(&mac, &nt_peer_mac));
	nt_capture_clear(&cap);
	net_if_fini(&nif);
}

static void test_arp_request_for_other(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
			  &(struct rte_ether_addr){ { 0 } }, NT_IP4(10, 77, 0, 99));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(cap.n, 0);
	NT_EQ(nif.cnt.arp_drop_not_ours, 1);
	NT_CHECK(!net_arp_lookup(&nif, NT_PEER_IP, NULL)); /* nothing learnt */

	/* Malformed: wrong hardware length, truncated, bad opcode. */
	n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
		   &(struct rte_ether_addr){ { 0 } }, NT_OUR_IP);
	f[14 + 4] = 8;
	net_input(&nif, nt_mbuf(f, n));
	f[14 + 4] = 6;
	net_input(&nif, nt_mbuf(f, 30));
	f[14 + 7] = 9;
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.arp_drop_bad, 3);

	/* Someone claiming our address. */
	n = nt_arp(f, RTE_ARP_OP_REPLY, &nt_our_mac, &nt_peer_mac, NT_OUR_IP, &nt_our_mac,
		   NT_OUR_IP);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.arp_conflict, 1);
	NT_EQ(cap.n, 0);
	net_if_fini(&nif);
}

/* Sends an L4 payload to @p dst through net_ip_output. */
static int send_l4(struct net_if *nif, uint32_t dst, uint8_t proto, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(nt_pool);
	char *p = rte_pktmbuf_append(m, (uint16_t)len);
	memset(p, 0xab, len);
	return net_ip_output(nif, m, NT_OUR_IP, dst, proto);
}

static void test_arp_resolve_and_pending(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	const uint32_t dst = NT_IP4(10, 77, 0, 50);
	const struct rte_ether_addr dst_mac = { { 0x02, 0, 0, 0, 0, 0x50 } };

	/* Two frames to an unresolved on-link host: one ARP request, both parked. */
	NT_EQ(send_l4(&nif, dst, 17, 10), 0);
	NT_EQ(send_l4(&nif, dst, 17, 11), 0);
	NT_EQ(cap.n, 1);
	NT_EQ(nif.cnt.arp_tx_request, 1);
	if (cap.n == 1) {
		const struct rte_arp_hdr *a = arp_of(cap.m[0]);
		NT_CHECK(rte_is_broadcast_ether_addr(&eth_of(cap.m[0])->dst_addr));
		NT_EQ(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REQUEST);
		NT_EQ(rte_be_to_cpu_32(a->arp_data.arp_tip), dst);
		NT_EQ(rte_be_to_cpu_32(a->arp_data.arp_sip), NT_OUR_IP);
	}
	nt_capture_clear(&cap);

	/* Fill the pending queue: the next one is dropped and counted. */
	for (unsigned i = 2; i < NET_ARP_PENDING; i++)
		NT_EQ(send_l4(&nif, dst, 17, 12), 0);
	NT_EQ(send_l4(&nif, dst, 17, 13), -ENOBUFS);
	NT_EQ(nif.cnt.arp_drop_pending_full, 1);
	NT_EQ(cap.n, 0);

	/* The reply releases the parked frames, in order, with the learnt MAC. */
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REPLY, &nt_our_mac, &dst_mac, dst, &nt_our_mac,
			  NT_OUR_IP);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.arp_rx_reply, 1);
	NT_EQ(cap.n, NET_ARP_PENDING);
	for (unsigned i = 0; i < cap.n; i++) {
		NT_CHECK(rte_is_same_ether_addr(&eth_of(cap.m[i])->dst_addr, &dst_mac));
		NT_CHECK(rte_is_same_ether_addr(&eth_of(cap.m[i])->src_addr, &nt_our_mac));
		NT_EQ(rte_be_to_cpu_32(ip_of(cap.m[i])->dst_addr), dst);
	}
	if (cap.n >= 2) {
		NT_EQ(cap.m[0]->pkt_len, 14 + 20 + 10);
		NT_EQ(cap.m[1]->pkt_len, 14 + 20 + 11);
	}
	nt_capture_clear(&cap);

	/* Resolved: the next frame goes straight out. */
	NT_EQ(send_l4(&nif, dst, 17, 5), 0);
	NT_EQ(cap.n, 1);
	NT_EQ(nif.cnt.arp_tx_request, 1);
	nt_capture_clear(&cap);
	NT_EQ(nif.arp_incomplete, 0);
	net_if_fini(&nif);
}

static void test_arp_expiry(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	learn_peer(&nif, &cap);
	uint64_t t0 = nif.now_ns;

	/* Fresh: no request. */
	nif.now_ns = t0 + nif.arp_ttl_ns - 1;
	NT_EQ(send_l4(&nif, NT_PEER_IP, 17, 8), 0);
	NT_EQ(cap.n, 1);
	NT_EQ(nif.cnt.arp_tx_request, 0);
	nt_capture_clear(&cap);

	/* Stale but in grace: the frame still goes out, a refresh request goes too. */
	nif.now_ns = t0 + nif.arp_ttl_ns + 1;
	NT_EQ(send_l4(&nif, NT_PEER_IP, 17, 8), 0);
	NT_EQ(nif.cnt.arp_tx_request, 1);
	NT_EQ(cap.n, 2);
	nt_capture_clear(&cap);
	NT_CHECK(net_arp_lookup(&nif, NT_PEER_IP, NULL));

	/* Past the grace without an answer: expired, the frame waits for ARP again. */
	nif.now_ns = t0 + nif.arp_ttl_ns + nif.arp_grace_ns + 1;
	NT_CHECK(!net_arp_lookup(&nif, NT_PEER_IP, NULL));
	NT_EQ(send_l4(&nif, NT_PEER_IP, 17, 8), 0);
	NT_EQ(cap.n, 1); /* only the request */
	NT_EQ(nif.cnt.arp_tx_request, 2);
	if (cap.n == 1)
		NT_EQ(rte_be_to_cpu_16(eth_of(cap.m[0])->ether_type), RTE_ETHER_TYPE_ARP);
	nt_capture_clear(&cap);

	/* Nobody answers: net_timer retries, then gives up and drops the parked frame. */
	for (unsigned i = 0; i < NET_ARP_MAX_TRIES + 1; i++) {
		nif.now_ns += nif.arp_retry_ns;
		net_timer(&nif);
	}
	NT_EQ(nif.cnt.arp_tx_request, 1 + NET_ARP_MAX_TRIES);
	NT_EQ(nif.cnt.arp_drop_unresolved, 1);
	NT_EQ(nif.arp_incomplete, 0);
	nt_capture_clear(&cap);
	net_if_fini(&nif);
}

static void test_ip_output_routing(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);

	/* Off-subnet: resolve the gateway, not the destination. */
	NT_EQ(send_l4(&nif, NT_FAR_IP, 17, 4), 0);
	NT_EQ(cap.n, 1);
	if (cap.n == 1)
		NT_EQ(rte_be_to_cpu_32(arp_of(cap.m[0])->arp_data.arp_tip), NT_GW_IP);
	nt_capture_clear(&cap);
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REPLY, &nt_our_mac, &nt_peer_mac, NT_GW_IP, &nt_our_mac,
			  NT_OUR_IP);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(cap.n, 1);
	if (cap.n == 1) {
		struct rte_mbuf *m = cap.m[0];
		const struct rte_ipv4_hdr *ip = ip_of(m);
		NT_CHECK(rte_is_same_ether_addr(&eth_of(m)->dst_addr, &nt_peer_mac));
		NT_EQ(rte_be_to_cpu_32(ip->dst_addr), NT_FAR_IP);
		NT_EQ(rte_be_to_cpu_32(ip->src_addr), NT_OUR_IP);
		NT_EQ(ip->version_ihl, 0x45);
		NT_EQ(ip->time_to_live, 64);
		NT_EQ(ip->next_proto_id, 17);
		NT_EQ(rte_be_to_cpu_16(ip->total_length), 24);
		NT_EQ(rte_be_to_cpu_16(ip->fragment_offset), RTE_IPV4_HDR_DF_FLAG);
		NT_EQ(rte_raw_cksum(ip, 20), 0xffff);
		NT_EQ(m->l2_len, 14);
		NT_EQ(m->l3_len, 20);
		NT_CHECK(m->ol_flags & RTE_MBUF_F_TX_IPV4);
	}
	nt_capture_clear(&cap);

	/* With checksum offload the header checksum is left to the NIC. */
	nif.tx_ip_cksum_offload = true;
	NT_EQ(send_l4(&nif, NT_FAR_IP, 17, 4), 0);
	NT_EQ(cap.n, 1);
	if (cap.n == 1) {
		NT_CHECK(cap.m[0]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
		NT_EQ(ip_of(cap.m[0])->hdr_checksum, 0);
	}
	nt_capture_clear(&cap);

	/* Too big for the MTU. */
	NT_EQ(send_l4(&nif, NT_FAR_IP, 17, 1481), -ENOBUFS);
	NT_EQ(nif.cnt.ip_drop_nobufs, 1);

	/* No gateway: off-subnet is unreachable. */
	nif.gateway = 0;
	NT_EQ(send_l4(&nif, NT_FAR_IP, 17, 4), -EHOSTUNREACH);
	NT_EQ(nif.cnt.ip_drop_no_route, 1);
	NT_EQ(cap.n, 0);
	net_if_fini(&nif);
}

static void test_ipv4_drops(void)
{
	struct net_if nif;
	struct nt_capture cap;
	struct l4_seen seen = { 0 };
	nt_if_init(&nif, &cap);
	uint8_t pl[32];
	memset(pl, 0x11, sizeof(pl));
	uint8_t f[128];
	size_t n;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

	/* bad checksum */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	ip->hdr_checksum ^= 0x0100;
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_checksum, 1);

	/* short: less than an IPv4 header */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	net_input(&nif, nt_mbuf(f, 14 + 19));
	NT_EQ(nif.cnt.ip_drop_short, 1);

	/* total length beyond the frame */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	ip->total_length = rte_cpu_to_be_16(200);
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	/* total length below the header */
	ip->total_length = rte_cpu_to_be_16(19);
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_length, 2);

	/* fragments: MF set, and a non-zero offset */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	ip->fragment_offset = rte_cpu_to_be_16(185);
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	/* DF alone is fine: counted as unsupported protocol (UDP) instead */
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_fragment, 2);
	NT_EQ(nif.cnt.ip_drop_proto, 1);

	/* options (IHL 6) */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	ip->version_ihl = 0x46;
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_options, 1);

	/* version 6, and IHL below 5 */
	ip->version_ihl = 0x65;
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	ip->version_ihl = 0x44;
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_version, 2);

	/* TTL 0 dropped; TTL 1 accepted (RFC 1122) */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_OUR_IP, pl, 8);
	ip->time_to_live = 0;
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_ttl, 1);

	/* not ours */
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_IP4(10, 77, 0, 3), pl, 8);
	net_input(&nif, nt_mbuf(f, n));
	n = nt_ipv4(f, IPPROTO_UDP, NT_PEER_IP, NT_IP4(10, 77, 0, 255), pl, 8);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_not_ours, 2);

	/* martian sources: ours, broadcast, multicast, subnet broadcast, zero */
	const uint32_t bad[] = { NT_OUR_IP, 0xffffffffu, NT_IP4(224, 0, 0, 1),
				 NT_IP4(10, 77, 0, 255), 0 };
	for (unsigned i = 0; i < RTE_DIM(bad); i++) {
		n = nt_ipv4(f, IPPROTO_UDP, bad[i], NT_OUR_IP, pl, 8);
		net_input(&nif, nt_mbuf(f, n));
	}
	NT_EQ(nif.cnt.ip_drop_src, RTE_DIM(bad));

	/* TCP without an L4 hook: unsupported protocol */
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_OUR_IP, pl, 20);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_proto, 2);

	/* TCP with the hook: delivered at the L4 header, Ethernet padding trimmed */
	nif.l4_input = l4_input;
	nif.l4_ctx = &seen;
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_OUR_IP, pl, 6);
	memset(f + n, 0, 60 - n);
	net_input(&nif, nt_mbuf(f, 60));
	NT_EQ(seen.n, 1);
	NT_EQ(seen.len, 6);
	NT_EQ(seen.first, 0x11);
	NT_EQ(seen.src, NT_PEER_IP);
	NT_EQ(seen.dst, NT_OUR_IP);
	NT_EQ(nif.cnt.l4_rx, 1);
	/* TTL 1 reaches L4 too */
	ip->time_to_live = 1;
	nt_ipv4_fix_cksum(f);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(seen.n, 2);
	/* ip_rx: the DF-only UDP, TCP without hook, and the two delivered */
	NT_EQ(nif.cnt.ip_rx, 4);

	/* Ethernet: another MAC, a multicast MAC, runt, unknown EtherType */
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_OUR_IP, pl, 6);
	f[5] = 0x99;
	net_input(&nif, nt_mbuf(f, n));
	static const uint8_t mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	memcpy(f, mcast, 6);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.eth_drop_not_ours, 2);
	net_input(&nif, nt_mbuf(f, 13));
	NT_EQ(nif.cnt.eth_drop_short, 1);
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_OUR_IP, pl, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.eth_drop_type, 1);

	NT_EQ(cap.n, 0); /* none of this is answered */
	NT_EQ(seen.n, 2);
	net_if_fini(&nif);
}

static void test_icmp_echo(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	learn_peer(&nif, &cap);
	uint8_t icmp[128], f[256];
	size_t il = nt_icmp_echo(icmp, 0x4242, 7, 56);
	size_t n = nt_ipv4(f, IPPROTO_ICMP, NT_PEER_IP, NT_OUR_IP, icmp, il);
	net_input(&nif, nt_mbuf(f, n));

	NT_EQ(nif.cnt.icmp_rx_echo, 1);
	NT_EQ(nif.cnt.icmp_tx_echo_reply, 1);
	NT_EQ(cap.n, 1);
	if (cap.n == 1) {
		struct rte_mbuf *r = cap.m[0];
		NT_EQ(r->pkt_len, n);
		NT_CHECK(rte_is_same_ether_addr(&eth_of(r)->dst_addr, &nt_peer_mac));
		NT_CHECK(rte_is_same_ether_addr(&eth_of(r)->src_addr, &nt_our_mac));
		const struct rte_ipv4_hdr *ip = ip_of(r);
		NT_EQ(rte_be_to_cpu_32(ip->src_addr), NT_OUR_IP);
		NT_EQ(rte_be_to_cpu_32(ip->dst_addr), NT_PEER_IP);
		NT_EQ(ip->next_proto_id, IPPROTO_ICMP);
		NT_EQ(rte_be_to_cpu_16(ip->total_length), 20 + il);
		NT_EQ(rte_raw_cksum(ip, 20), 0xffff);
		const uint8_t *rp = rte_pktmbuf_mtod_offset(r, const uint8_t *, 34);
		const struct rte_icmp_hdr *ih = (const struct rte_icmp_hdr *)rp;
		NT_EQ(ih->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
		NT_EQ(ih->icmp_code, 0);
		NT_EQ(rte_raw_cksum(rp, il), 0xffff);
		/* identifier, sequence and data echoed unchanged */
		NT_CHECK(memcmp(rp + 4, icmp + 4, il - 4) == 0);
		/* and the checksum is exactly the request's adjusted for the type change */
		uint8_t expect[128];
		memcpy(expect, icmp, il);
		expect[0] = 0;
		expect[2] = expect[3] = 0;
		uint16_t ck = (uint16_t)~rte_raw_cksum(expect, il);
		NT_EQ(ih->icmp_cksum, ck);
	}
	nt_capture_clear(&cap);

	/* bad ICMP checksum, truncated header, and a type we do not answer */
	icmp[2] ^= 0xff;
	n = nt_ipv4(f, IPPROTO_ICMP, NT_PEER_IP, NT_OUR_IP, icmp, il);
	net_input(&nif, nt_mbuf(f, n));
	n = nt_ipv4(f, IPPROTO_ICMP, NT_PEER_IP, NT_OUR_IP, icmp, 4);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.icmp_drop_bad, 2);
	il = nt_icmp_echo(icmp, 1, 1, 8);
	icmp[0] = 13; /* timestamp request */
	icmp[2] = icmp[3] = 0;
	uint16_t ck = (uint16_t)~rte_raw_cksum(icmp, il);
	memcpy(icmp + 2, &ck, 2);
	n = nt_ipv4(f, IPPROTO_ICMP, NT_PEER_IP, NT_OUR_IP, icmp, il);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.icmp_drop_type, 1);
	NT_EQ(cap.n, 0);

	/* An echo from an unresolved host parks the reply behind an ARP request. */
	il = nt_icmp_echo(icmp, 9, 9, 16);
	n = nt_ipv4(f, IPPROTO_ICMP, NT_IP4(10, 77, 0, 77), NT_OUR_IP, icmp, il);
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(cap.n, 1);
	if (cap.n == 1)
		NT_EQ(rte_be_to_cpu_16(eth_of(cap.m[0])->ether_type), RTE_ETHER_TYPE_ARP);
	nt_capture_clear(&cap);
	net_if_fini(&nif);
}

struct learnt {
	unsigned n;
	uint32_t ip;
	struct rte_ether_addr mac;
};

static void on_learnt(void *ctx, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct learnt *l = ctx;
	l->n++;
	l->ip = ip;
	l->mac = *mac;
}

/* Sharing between workers: what one learns from the wire is reported, and what another
 * passes in (net_arp_add) releases parked frames without being reported again. */
static void test_arp_sharing(void)
{
	struct net_if nif;
	struct nt_capture cap;
	struct learnt l = { 0 };
	nt_if_init(&nif, &cap);
	nif.arp_learnt = on_learnt;
	nif.arp_learnt_ctx = &l;
	learn_peer(&nif, &cap);
	NT_EQ(l.n, 1);
	NT_EQ(l.ip, NT_PEER_IP);
	NT_CHECK(rte_is_same_ether_addr(&l.mac, &nt_peer_mac));

	/* An ARP request for someone else teaches nothing new: not reported. */
	uint8_t f[64];
	size_t n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &(struct rte_ether_addr){ { 2, 9 } },
			  NT_IP4(10, 77, 0, 9), &(struct rte_ether_addr){ { 0 } },
			  NT_IP4(10, 77, 0, 8));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(l.n, 1);

	const uint32_t dst = NT_IP4(10, 77, 0, 60);
	const struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0x60 } };
	NT_EQ(send_l4(&nif, dst, 17, 10), 0);
	nt_capture_clear(&cap); /* the ARP request */
	net_arp_add(&nif, dst, &mac);
	NT_EQ(cap.n, 1);
	if (cap.n == 1)
		NT_CHECK(rte_is_same_ether_addr(&eth_of(cap.m[0])->dst_addr, &mac));
	NT_EQ(l.n, 1);
	/* Our own address and group MACs are never added. */
	net_arp_add(&nif, NT_OUR_IP, &mac);
	net_arp_add(&nif, NT_IP4(10, 77, 0, 61), &nt_bcast);
	NT_CHECK(!net_arp_lookup(&nif, NT_OUR_IP, NULL));
	NT_CHECK(!net_arp_lookup(&nif, NT_IP4(10, 77, 0, 61), NULL));
	nt_capture_clear(&cap);
	net_if_fini(&nif);
}

static void test_counter_names(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	nif.cnt.icmp_rx_echo = 5;
	nif.cnt.l4_rx = 9;
	struct net_counters snap;
	net_counters_snapshot(&nif, &snap);
	const uint64_t *v = (const uint64_t *)&snap;
	for (unsigned i = 0; i < net_counter_count; i++) {
		if (strcmp(net_counter_names[i], "icmp_rx_echo") == 0)
			NT_EQ(v[i], 5);
		else if (strcmp(net_counter_names[i], "l4_rx") == 0)
			NT_EQ(v[i], 9);
		else
			NT_EQ(v[i], 0);
	}
	NT_EQ(net_counter_count * sizeof(uint64_t), sizeof(struct net_counters));
	net_if_fini(&nif);
}

/* n_ips: a load generator owns a range of addresses; ARP answers and IPv4 input accept
 * every one of them (and ARP replies name the address asked for), nothing outside. */
static void test_address_range(void)
{
	struct net_if nif;
	struct nt_capture cap;
	nt_if_init(&nif, &cap);
	nif.n_ips = 3; /* .2, .3, .4 */
	struct l4_seen seen = { 0 };
	nif.l4_input = l4_input;
	nif.l4_ctx = &seen;
	uint8_t f[128];
	size_t n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
			  &(struct rte_ether_addr){ { 0 } }, NT_IP4(10, 77, 0, 4));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(cap.n, 1);
	if (cap.n == 1)
		NT_EQ(rte_be_to_cpu_32(arp_of(cap.m[0])->arp_data.arp_sip), NT_IP4(10, 77, 0, 4));
	nt_capture_clear(&cap);
	n = nt_arp(f, RTE_ARP_OP_REQUEST, &nt_bcast, &nt_peer_mac, NT_PEER_IP,
		   &(struct rte_ether_addr){ { 0 } }, NT_IP4(10, 77, 0, 5));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(cap.n, 0);
	NT_EQ(nif.cnt.arp_drop_not_ours, 1);
	uint8_t seg[20] = { 0x42 };
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_IP4(10, 77, 0, 3), seg, sizeof(seg));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(seen.n, 1);
	NT_EQ(seen.dst, NT_IP4(10, 77, 0, 3));
	n = nt_ipv4(f, IPPROTO_TCP, NT_PEER_IP, NT_IP4(10, 77, 0, 5), seg, sizeof(seg));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(seen.n, 1);
	NT_EQ(nif.cnt.ip_drop_not_ours, 1);
	/* a source inside our range is refused like our own address */
	n = nt_ipv4(f, IPPROTO_TCP, NT_IP4(10, 77, 0, 4), NT_OUR_IP, seg, sizeof(seg));
	net_input(&nif, nt_mbuf(f, n));
	NT_EQ(nif.cnt.ip_drop_src, 1);
	nt_capture_clear(&cap);
	net_if_fini(&nif);
}

int main(void)
{
	nt_eal_init("net");
	test_arp_request_for_us();
	test_arp_request_for_other();
	test_arp_resolve_and_pending();
	test_arp_expiry();
	test_ip_output_routing();
	test_ipv4_drops();
	test_icmp_echo();
	test_arp_sharing();
	test_counter_names();
	test_address_range();
	/* Every mbuf came back: nothing leaked or was freed twice. */
	NT_EQ(rte_mempool_avail_count(nt_pool), 1023);
	rte_eal_cleanup();
	if (nt_failures != 0) {
		fprintf(stderr, "%d check(s) failed\n", nt_failures);
		return 1;
	}
	printf("net: all checks passed\n");
	return 0;
}
