/**
 * @file icmp.c
 * ICMP (RFC 792): echo requests get echo replies, everything else is counted and dropped.
 * The reply reuses the request's mbuf: same identifier, sequence and data, only the type
 * and the checksum change, and it leaves through net_ip_output() like any L4 segment.
 */
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "net/net.h"
#include "net_priv.h"

void net_icmp_input(struct net_if *nif, struct rte_mbuf *m, uint32_t src_ip)
{
	uint16_t sum;
	if (m->data_len < sizeof(struct rte_icmp_hdr) ||
	    rte_raw_cksum_mbuf(m, 0, m->pkt_len, &sum) != 0 || sum != 0xffff) {
		nif->cnt.icmp_drop_bad++;
		rte_pktmbuf_free(m);
		return;
	}
	struct rte_icmp_hdr *ih = rte_pktmbuf_mtod(m, struct rte_icmp_hdr *);
	if (ih->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ih->icmp_code != 0) {
		nif->cnt.icmp_drop_type++;
		rte_pktmbuf_free(m);
		return;
	}
	nif->cnt.icmp_rx_echo++;
	ih->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ih->icmp_cksum = 0;
	rte_raw_cksum_mbuf(m, 0, m->pkt_len, &sum);
	ih->icmp_cksum = (uint16_t)~sum;
	/* Rx offload results mean nothing on the way out. */
	m->ol_flags = 0;
	if (net_ip_output(nif, m, nif->ip, src_ip, IPPROTO_ICMP) == 0)
		nif->cnt.icmp_tx_echo_reply++;
}
