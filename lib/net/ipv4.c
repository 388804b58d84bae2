/**
 * @file ipv4.c
 * IPv4 (RFC 791, host requirements of RFC 1122): input checks and dispatch to ICMP or the L4
 * hook; output (net_ip_output: header, routing to the next hop, then ARP).
 *
 * Deliberately unsupported, each counted as its own drop reason: options (no client of an
 * MQTT broker needs them and they would make every L4 offset variable), fragments (no
 * reassembly: TCP peers use PMTU-sized segments with DF), other protocols.
 */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "net/net.h"
#include "net_priv.h"

/* Source addresses no real peer sends from (RFC 1122 3.2.1.3): 0, broadcast, multicast,
 * loopback, ours, and our subnet's broadcast. */
static bool net__bad_src(const struct net_if *nif, uint32_t src)
{
	if (src == 0 || net_is_ours(nif, src) || src == UINT32_MAX)
		return true;
	if ((src >> 28) == 0xe || (src >> 24) == 127)
		return true;
	if (nif->prefix_len <= 30 && net_on_link(nif, src) && (src | nif->netmask) == UINT32_MAX)
		return true;
	return false;
}

void net_ipv4_input(struct net_if *nif, struct rte_mbuf *m)
{
	if (m->data_len < NET_ETH_HLEN + NET_IP_HLEN) {
		nif->cnt.ip_drop_short++;
		goto drop;
	}
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, NET_ETH_HLEN);
	unsigned ihl = ip->version_ihl & 0xf;
	if ((ip->version_ihl >> 4) != 4 || ihl < 5) {
		nif->cnt.ip_drop_version++;
		goto drop;
	}
	if (ihl > 5) {
		nif->cnt.ip_drop_options++;
		goto drop;
	}
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	/* A correct header sums to 0xffff (its checksum is the complement of the rest). */
	if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, NET_IP_HLEN) != 0xffff)) {
		nif->cnt.ip_drop_checksum++;
		goto drop;
	}
	uint32_t tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < NET_IP_HLEN || tot > m->pkt_len - NET_ETH_HLEN) {
		nif->cnt.ip_drop_length++;
		goto drop;
	}
	if (ip->fragment_offset &
	    rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		nif->cnt.ip_drop_fragment++;
		goto drop;
	}
	/* RFC 1122 forbids discarding TTL 1 for us; TTL 0 is never legal on the wire. */
	if (ip->time_to_live == 0) {
		nif->cnt.ip_drop_ttl++;
		goto drop;
	}
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);
	if (!net_is_ours(nif, dst)) {
		nif->cnt.ip_drop_not_ours++;
		goto drop;
	}
	if (net__bad_src(nif, src)) {
		nif->cnt.ip_drop_src++;
		goto drop;
	}
	/* Ethernet pads short frames to 60 bytes: cut the padding so L4 sees its real length. */
	uint32_t pad = m->pkt_len - NET_ETH_HLEN - tot;
	if (pad != 0 && rte_pktmbuf_trim(m, pad) != 0) {
		nif->cnt.ip_drop_length++; /* padding spread over segments: not worth handling */
		goto drop;
	}
	uint8_t proto = ip->next_proto_id;
	nif->cnt.ip_rx++;

	switch (proto) {
	case IPPROTO_ICMP:
		rte_pktmbuf_adj(m, NET_ETH_HLEN + NET_IP_HLEN);
		net_icmp_input(nif, m, src);
		return;
	case IPPROTO_TCP:
		if (nif->l4_input == NULL)
			break;
		rte_pktmbuf_adj(m, NET_ETH_HLEN + NET_IP_HLEN);
		nif->cnt.l4_rx++;
		nif->l4_input(nif->l4_ctx, m, src, dst);
		return;
	default:
		break;
	}
	nif->cnt.ip_drop_proto++;
drop:
	rte_pktmbuf_free(m);
}

int net_ip_output(void *ip_ctx, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip,
		  uint8_t proto)
{
	struct net_if *nif = ip_ctx;
	uint32_t nh = net_on_link(nif, dst_ip) ? dst_ip : nif->gateway;
	if (nh == 0) {
		nif->cnt.ip_drop_no_route++;
		rte_pktmbuf_free(m);
		return -EHOSTUNREACH;
	}
	if (m->pkt_len + NET_IP_HLEN > nif->mtu) {
		nif->cnt.ip_drop_nobufs++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	char *hdr = rte_pktmbuf_prepend(m, NET_ETH_HLEN + NET_IP_HLEN);
	if (hdr == NULL) {
		nif->cnt.ip_drop_nobufs++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)hdr;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(m->pkt_len - NET_ETH_HLEN));
	ip->packet_id = rte_cpu_to_be_16(nif->ip_id++);
	/* DF: we never fragment, and PMTU discovery relies on it (RFC 1191). */
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src_ip);
	ip->dst_addr = rte_cpu_to_be_32(dst_ip);
	ip->hdr_checksum = 0;
	m->l2_len = NET_ETH_HLEN;
	m->l3_len = NET_IP_HLEN;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4;
	if (nif->tx_ip_cksum_offload)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	nif->cnt.ip_tx++;
	return net_eth_output(nif, m, nh);
}
