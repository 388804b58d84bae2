/**
 * @file net_l4.h
 * The seam between the IPv4 layer (lib/net) and the transport layer (lib/tcp).
 *
 * Data flow: worker rx burst -> net_input() (Ethernet, ARP, IPv4, ICMP) -> for IP protocol 6,
 * l4.input() -> TCP. TCP sends through the ip_output function it was given, which prepends
 * the IPv4 and Ethernet headers, resolves the next hop by ARP, and buffers the frame for TX.
 * Neither side includes the other's headers: the TCP stack runs in-process in unit tests
 * with a capturing ip_output and virtual time.
 *
 * CONTRACT NOTE: lib/net and lib/tcp both compile against this file; change it only with both.
 */
#ifndef TACHYON_NET_L4_H
#define TACHYON_NET_L4_H

#include <stdint.h>

struct rte_mbuf;

/**
 * Receive one L4 segment.
 * @param l4      the transport's per-worker context (e.g. struct tcp_stack *).
 * @param m       mbuf (chain) whose data starts at the L4 header; pkt_len is the L4 length
 *                (IPv4 padding already trimmed). The IPv4 header was checked. The L4 checksum
 *                was NOT checked unless m->ol_flags says RTE_MBUF_F_RX_L4_CKSUM_GOOD.
 *                Ownership passes to the callee.
 * @param src_ip  source IPv4 address, host byte order.
 * @param dst_ip  destination IPv4 address (one of ours), host byte order.
 */
typedef void (*net_l4_input_fn)(void *l4, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip);

/**
 * Send one L4 segment.
 * @param ip_ctx  the IPv4 layer's per-worker context.
 * @param m       mbuf (chain) whose data starts at the L4 header, with at least
 *                NET_L4_HEADROOM bytes of headroom in the first segment. The L4 checksum is
 *                complete, or (when the port offers TX checksum offload and the caller set
 *                RTE_MBUF_F_TX_TCP_CKSUM) holds the pseudo-header sum; the IP layer sets
 *                l2_len/l3_len and the IPv4 flags. Ownership passes to the callee, always.
 * @param src_ip, dst_ip  host byte order.
 * @param proto   IP protocol number (6 for TCP).
 * @return 0 when queued (or parked waiting for ARP), -ENOBUFS / -EHOSTUNREACH when dropped.
 */
typedef int (*net_ip_output_fn)(void *ip_ctx, struct rte_mbuf *m, uint32_t src_ip,
				uint32_t dst_ip, uint8_t proto);

/** Headroom the IP layer needs in front of an L4 header: Ethernet (14) + IPv4 (20). */
#define NET_L4_HEADROOM 34

#endif /* TACHYON_NET_L4_H */
