/**
 * @file eth.c
 * Ethernet: the entry point of received frames (net_input -> ARP or IPv4) and the last step
 * of every sent frame (net_tx_frame -> the worker's TX buffer). Also the net_if lifecycle
 * and the counter names.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "net/net.h"
#include "net_priv.h"

const char *const net_counter_names[] = {
	"rx_frames", "rx_bytes", "tx_frames", "tx_bytes",
	"eth_drop_short", "eth_drop_not_ours", "eth_drop_type", "tx_drop_nobufs",
	"arp_rx_request", "arp_rx_reply", "arp_tx_request", "arp_tx_reply", "arp_drop_bad",
	"arp_drop_not_ours", "arp_conflict", "arp_drop_pending_full", "arp_drop_unresolved",
	"arp_cache_evict",
	"ip_rx", "ip_drop_short", "ip_drop_version", "ip_drop_options", "ip_drop_checksum",
	"ip_drop_length", "ip_drop_fragment", "ip_drop_ttl", "ip_drop_src", "ip_drop_not_ours",
	"ip_drop_proto",
	"ip_tx", "ip_drop_no_route", "ip_drop_nobufs",
	"icmp_rx_echo", "icmp_tx_echo_reply", "icmp_drop_bad", "icmp_drop_type",
	"l4_rx",
};
const unsigned net_counter_count = RTE_DIM(net_counter_names);

/* The names above must follow the struct field for field. */
_Static_assert(RTE_DIM(net_counter_names) * sizeof(uint64_t) == sizeof(struct net_counters),
	       "net_counter_names out of step with struct net_counters");

int net_if_init(struct net_if *nif, uint32_t ip, uint8_t prefix_len, uint32_t gateway)
{
	if (prefix_len > 32)
		return -EINVAL;
	memset(nif, 0, sizeof(*nif));
	nif->ip = ip;
	nif->prefix_len = prefix_len;
	/* A shift by 32 is undefined, hence the special case for /0. */
	nif->netmask = prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);
	nif->gateway = gateway;
	nif->mtu = 1500;
	nif->arp_ttl_ns = NET_ARP_TTL_NS;
	nif->arp_grace_ns = NET_ARP_GRACE_NS;
	nif->arp_retry_ns = NET_ARP_RETRY_NS;
	return 0;
}

void net_if_fini(struct net_if *nif)
{
	for (unsigned b = 0; b < NET_ARP_BUCKETS; b++) {
		for (unsigned i = 0; i < NET_ARP_WAYS; i++) {
			struct net_arp_entry *e = &nif->arp[b][i];
			for (unsigned k = 0; k < e->n_pending; k++)
				rte_pktmbuf_free(e->pending[k]);
			memset(e, 0, sizeof(*e));
		}
	}
	nif->arp_incomplete = 0;
}

void net_counters_snapshot(const struct net_if *nif, struct net_counters *out)
{
	const uint64_t *src = (const uint64_t *)&nif->cnt;
	uint64_t *dst = (uint64_t *)out;
	for (unsigned i = 0; i < net_counter_count; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int net_tx_frame(struct net_if *nif, struct rte_mbuf *m)
{
	nif->cnt.tx_frames++;
	nif->cnt.tx_bytes += m->pkt_len;
	return nif->tx(nif->tx_ctx, m);
}

void net_input(struct net_if *nif, struct rte_mbuf *m)
{
	nif->cnt.rx_frames++;
	nif->cnt.rx_bytes += m->pkt_len;

	if (m->data_len < NET_ETH_HLEN) {
		nif->cnt.eth_drop_short++;
		rte_pktmbuf_free(m);
		return;
	}
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* We join no multicast group, so only our MAC and broadcast (ARP) concern us. A tap's
	 * kernel side sends IPv6 multicast all the time: that lands in eth_drop_not_ours. */
	if (!rte_is_same_ether_addr(&eh->dst_addr, &nif->mac) &&
	    !rte_is_broadcast_ether_addr(&eh->dst_addr)) {
		nif->cnt.eth_drop_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	switch (rte_be_to_cpu_16(eh->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		net_arp_input(nif, m);
		return;
	case RTE_ETHER_TYPE_IPV4:
		net_ipv4_input(nif, m);
		return;
	default:
		nif->cnt.eth_drop_type++;
		rte_pktmbuf_free(m);
		return;
	}
}
