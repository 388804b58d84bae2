/**
 * @file net_test_util.h
 * Helpers for the lib/net tests and fuzz target: EAL start-up without hugepages or NICs, a
 * capturing frame sink, and builders for crafted Ethernet/ARP/IPv4/ICMP frames.
 * Header-only (static functions) so each test program stays one file plus this.
 */
#ifndef TACHYON_NET_TEST_UTIL_H
#define TACHYON_NET_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "net/net.h"

static int nt_failures __attribute__((unused));

#define NT_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			nt_failures++;                                                   \
		}                                                                        \
	} while (0)

#define NT_EQ(a, b)                                                                      \
	do {                                                                             \
		unsigned long long nt_a = (unsigned long long)(a);                       \
		unsigned long long nt_b = (unsigned long long)(b);                       \
		if (nt_a != nt_b) {                                                      \
			fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", __FILE__, \
				__LINE__, #a, nt_a, #b, nt_b);                           \
			nt_failures++;                                                   \
		}                                                                        \
	} while (0)

/* An IPv4 address in host order. (DPDK's RTE_IPV4 shifts an int: undefined past 127.x.) */
#define NT_IP4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Addresses used throughout: we are 10.77.0.2/24 behind gateway 10.77.0.1. */
#define NT_OUR_IP NT_IP4(10, 77, 0, 2)
#define NT_PEER_IP NT_IP4(10, 77, 0, 1)
#define NT_GW_IP NT_IP4(10, 77, 0, 1)
#define NT_FAR_IP NT_IP4(192, 0, 2, 7)
static const struct rte_ether_addr nt_our_mac __attribute__((unused)) = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct rte_ether_addr nt_peer_mac __attribute__((unused)) = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct rte_ether_addr nt_bcast __attribute__((unused)) = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

static struct rte_mempool *nt_pool __attribute__((unused));

/** Starts the EAL the way the project's in-process tests do; exits on failure. */
static inline void nt_eal_init(const char *name)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "tt-%s-%d", name, (int)getpid());
	char *argv[] = { "test", "--no-huge", "-m", "128", "--no-pci", "-l", "0",
			 "--log-level=warning", "--file-prefix", prefix, NULL };
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
	nt_pool = rte_pktmbuf_pool_create("nt_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (nt_pool == NULL) {
		fprintf(stderr, "mbuf pool failed\n");
		exit(1);
	}
}

/** The capturing sink: frames the layer sent, oldest first. */
#define NT_MAX_CAPTURE 64
struct nt_capture {
	struct rte_mbuf *m[NT_MAX_CAPTURE];
	unsigned n;
};

static inline int nt_sink(void *ctx, struct rte_mbuf *m)
{
	struct nt_capture *c = ctx;
	if (c->n == NT_MAX_CAPTURE) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	c->m[c->n++] = m;
	return 0;
}

static inline void nt_capture_clear(struct nt_capture *c)
{
	for (unsigned i = 0; i < c->n; i++)
		rte_pktmbuf_free(c->m[i]);
	c->n = 0;
}

/** A net_if as a worker would have it, sending into @p cap. */
static inline void nt_if_init(struct net_if *nif, struct nt_capture *cap)
{
	net_if_init(nif, NT_OUR_IP, 24, NT_GW_IP);
	nif->mac = nt_our_mac;
	nif->pool = nt_pool;
	nif->tx = nt_sink;
	nif->tx_ctx = cap;
	nif->now_ns = 1000000000ull;
	cap->n = 0;
}

/** An mbuf holding @p len bytes of @p data. */
static inline struct rte_mbuf *nt_mbuf(const void *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(nt_pool);
	if (m == NULL)
		abort();
	char *p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL)
		abort();
	memcpy(p, data, len);
	return m;
}

/** Writes an Ethernet header at @p buf. @return bytes written (14). */
static inline size_t nt_eth(uint8_t *buf, const struct rte_ether_addr *dst,
		     const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;
	eh->dst_addr = *dst;
	eh->src_addr = *src;
	eh->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*eh);
}

/** A complete ARP frame. @return its length (42). */
static inline size_t nt_arp(uint8_t *buf, uint16_t op, const struct rte_ether_addr *eth_dst,
		     const struct rte_ether_addr *sha, uint32_t sip,
		     const struct rte_ether_addr *tha, uint32_t tip)
{
	size_t off = nt_eth(buf, eth_dst, sha, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(buf + off);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(op);
	ah->arp_data.arp_sha = *sha;
	ah->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	ah->arp_data.arp_tha = *tha;
	ah->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	return off + sizeof(*ah);
}

/** An IPv4 frame to us from the peer carrying @p payload. @return its length. */
static inline size_t nt_ipv4(uint8_t *buf, uint8_t proto, uint32_t src, uint32_t dst,
		      const void *payload, size_t plen)
{
	size_t off = nt_eth(buf, &nt_our_mac, &nt_peer_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + off);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + plen));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(buf + off + sizeof(*ip), payload, plen);
	return off + sizeof(*ip) + plen;
}

/** Recomputes the IPv4 header checksum of a frame built by nt_ipv4 (after edits). */
static inline void nt_ipv4_fix_cksum(uint8_t *frame)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/** An ICMP echo request message (header + @p dlen pattern bytes). @return its length. */
static inline size_t nt_icmp_echo(uint8_t *buf, uint16_t id, uint16_t seq, size_t dlen)
{
	struct rte_icmp_hdr *ih = (struct rte_icmp_hdr *)buf;
	ih->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ih->icmp_code = 0;
	ih->icmp_cksum = 0;
	ih->icmp_ident = rte_cpu_to_be_16(id);
	ih->icmp_seq_nb = rte_cpu_to_be_16(seq);
	for (size_t i = 0; i < dlen; i++)
		buf[sizeof(*ih) + i] = (uint8_t)(i * 7 + 3);
	ih->icmp_cksum = (uint16_t)~rte_raw_cksum(buf, sizeof(*ih) + dlen);
	return sizeof(*ih) + dlen;
}

#endif /* TACHYON_NET_TEST_UTIL_H */
