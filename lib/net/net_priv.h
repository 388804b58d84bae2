/**
 * @file net_priv.h
 * Functions shared by the files of lib/net but not part of its API (see net.h).
 * Each consumes the mbuf it is given.
 */
#ifndef TACHYON_NET_PRIV_H
#define TACHYON_NET_PRIV_H

#include <stdint.h>

#include "net/net.h"

#define NET_ETH_HLEN 14   /**< Ethernet header, no VLAN tag */
#define NET_IP_HLEN 20    /**< IPv4 header without options (the only kind we accept) */

/** arp.c: an ARP frame (data at the Ethernet header). */
void net_arp_input(struct net_if *nif, struct rte_mbuf *m);

/** ipv4.c: an IPv4 frame (data at the Ethernet header). */
void net_ipv4_input(struct net_if *nif, struct rte_mbuf *m);

/** icmp.c: an ICMP message for us (data at the ICMP header, padding trimmed). */
void net_icmp_input(struct net_if *nif, struct rte_mbuf *m, uint32_t src_ip);

/** eth.c: count and hand a complete frame to the sink. @return the sink's answer. */
int net_tx_frame(struct net_if *nif, struct rte_mbuf *m);

#endif /* TACHYON_NET_PRIV_H */
