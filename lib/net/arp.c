/**
 * @file arp.c
 * ARP (RFC 826): answers requests for our address, learns and expires next-hop MACs, and
 * resolves next hops for output (net_eth_output), parking a few frames per unresolved hop.
 *
 * The cache is set-associative (NET_ARP_BUCKETS x NET_ARP_WAYS, no allocation at run time):
 * a full bucket evicts its least recently used entry. Hosts talk to few next hops (the
 * gateway, and on-link peers), so a bucket rarely fills.
 *
 * Entry life: FREE -> INCOMPLETE (first output to the hop: request sent, frames parked)
 * -> RESOLVED (reply or a request from it; parked frames leave) -> after arp_ttl_ns the MAC
 * is still used for arp_grace_ns while a refresh request goes out (so a live flow does not
 * stall every minute) -> if nobody answers, back to INCOMPLETE. An INCOMPLETE entry is
 * retried every arp_retry_ns by net_timer() and given up after NET_ARP_MAX_TRIES requests.
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "net/net.h"
#include "net_priv.h"

static inline unsigned net__arp_bucket(uint32_t ip)
{
	/* Fibonacci hashing: consecutive addresses spread over buckets. */
	return (uint32_t)(ip * 2654435761u) >> 24;
}
_Static_assert(NET_ARP_BUCKETS == 256, "net__arp_bucket assumes 256 buckets");

static struct net_arp_entry *net__arp_find(struct net_if *nif, uint32_t ip)
{
	struct net_arp_entry *b = nif->arp[net__arp_bucket(ip)];
	for (unsigned i = 0; i < NET_ARP_WAYS; i++)
		if (b[i].state != NET_ARP_FREE && b[i].ip == ip)
			return &b[i];
	return NULL;
}

bool net_arp_lookup(const struct net_if *nif, uint32_t ip, struct rte_ether_addr *mac)
{
	const struct net_arp_entry *b = nif->arp[net__arp_bucket(ip)];
	for (unsigned i = 0; i < NET_ARP_WAYS; i++) {
		const struct net_arp_entry *e = &b[i];
		if (e->state == NET_ARP_RESOLVED && e->ip == ip &&
		    nif->now_ns < e->expires_ns + nif->arp_grace_ns) {
			if (mac != NULL)
				*mac = e->mac;
			return true;
		}
	}
	return false;
}

/* Drops an entry's parked frames (they waited for a hop that never answered). */
static void net__arp_drop_pending(struct net_if *nif, struct net_arp_entry *e)
{
	for (unsigned k = 0; k < e->n_pending; k++) {
		rte_pktmbuf_free(e->pending[k]);
		nif->cnt.arp_drop_unresolved++;
	}
	e->n_pending = 0;
}

static void net__arp_clear(struct net_if *nif, struct net_arp_entry *e)
{
	if (e->state == NET_ARP_INCOMPLETE)
		nif->arp_incomplete--;
	net__arp_drop_pending(nif, e);
	memset(e, 0, sizeof(*e));
}

/* Takes a slot for @p ip: a free one, else the bucket's least recently used. */
static struct net_arp_entry *net__arp_alloc(struct net_if *nif, uint32_t ip)
{
	struct net_arp_entry *b = nif->arp[net__arp_bucket(ip)];
	struct net_arp_entry *victim = &b[0];
	for (unsigned i = 0; i < NET_ARP_WAYS; i++) {
		if (b[i].state == NET_ARP_FREE) {
			victim = &b[i];
			break;
		}
		if (b[i].used_ns < victim->used_ns)
			victim = &b[i];
	}
	if (victim->state != NET_ARP_FREE) {
		nif->cnt.arp_cache_evict++;
		net__arp_clear(nif, victim);
	}
	victim->ip = ip;
	victim->used_ns = nif->now_ns;
	return victim;
}

/* Records @p mac for @p e and sends the frames that waited for it. */
static void net__arp_resolve(struct net_if *nif, struct net_arp_entry *e,
			     const struct rte_ether_addr *mac)
{
	if (e->state == NET_ARP_INCOMPLETE)
		nif->arp_incomplete--;
	e->state = NET_ARP_RESOLVED;
	e->mac = *mac;
	e->expires_ns = nif->now_ns + nif->arp_ttl_ns;
	e->tries = 0;
	unsigned n = e->n_pending;
	e->n_pending = 0;
	for (unsigned k = 0; k < n; k++) {
		struct rte_mbuf *m = e->pending[k];
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		eh->dst_addr = *mac;
		net_tx_frame(nif, m);
	}
}

/* Builds and sends one ARP request for @p ip (broadcast). */
static void net__arp_request(struct net_if *nif, uint32_t ip)
{
	struct rte_mbuf *m = nif->pool != NULL ? rte_pktmbuf_alloc(nif->pool) : NULL;
	if (m == NULL) {
		nif->cnt.tx_drop_nobufs++;
		return;
	}
	const size_t len = NET_ETH_HLEN + sizeof(struct rte_arp_hdr);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (eh == NULL) {
		rte_pktmbuf_free(m);
		nif->cnt.tx_drop_nobufs++;
		return;
	}
	memset(&eh->dst_addr, 0xff, sizeof(eh->dst_addr));
	eh->src_addr = nif->mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	ah->arp_data.arp_sha = nif->mac;
	ah->arp_data.arp_sip = rte_cpu_to_be_32(nif->ip);
	memset(&ah->arp_data.arp_tha, 0, sizeof(ah->arp_data.arp_tha));
	ah->arp_data.arp_tip = rte_cpu_to_be_32(ip);
	nif->cnt.arp_tx_request++;
	net_tx_frame(nif, m);
}

static void net__arp_send_request(struct net_if *nif, struct net_arp_entry *e)
{
	e->tries++;
	e->last_req_ns = nif->now_ns;
	net__arp_request(nif, e->ip);
}

void net_arp_input(struct net_if *nif, struct rte_mbuf *m)
{
	if (m->data_len < NET_ETH_HLEN + sizeof(struct rte_arp_hdr)) {
		nif->cnt.arp_drop_bad++;
		goto drop;
	}
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	uint16_t op = rte_be_to_cpu_16(ah->arp_opcode);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != 4 ||
	    (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)) {
		nif->cnt.arp_drop_bad++;
		goto drop;
	}
	uint32_t sip = rte_be_to_cpu_32(ah->arp_data.arp_sip);
	uint32_t tip = rte_be_to_cpu_32(ah->arp_data.arp_tip);
	struct rte_ether_addr sha = ah->arp_data.arp_sha;

	if (net_is_ours(nif, sip)) {
		/* Someone else uses our address (or our own frame looped back). Learning it would
		 * point our own address elsewhere; the operator must see it in the counters. */
		nif->cnt.arp_conflict++;
		goto drop;
	}
	/* A sender that is 0.0.0.0 (RFC 5227 probe) or has a group MAC teaches nothing. */
	bool learnable = sip != 0 && rte_is_unicast_ether_addr(&sha);

	/* RFC 826's merge: refresh an entry we already have, whoever the frame is for. */
	struct net_arp_entry *e = learnable ? net__arp_find(nif, sip) : NULL;
	if (e != NULL)
		net__arp_resolve(nif, e, &sha);

	if (!net_is_ours(nif, tip)) {
		nif->cnt.arp_drop_not_ours++;
		if (e != NULL && nif->arp_learnt != NULL)
			nif->arp_learnt(nif->arp_learnt_ctx, sip, &sha);
		goto drop;
	}
	if (e == NULL && learnable) {
		/* It is talking to us, so we will likely answer it: learn it now (RFC 826). */
		e = net__arp_alloc(nif, sip);
		net__arp_resolve(nif, e, &sha);
	}
	if (e != NULL && nif->arp_learnt != NULL)
		nif->arp_learnt(nif->arp_learnt_ctx, sip, &sha);
	if (op == RTE_ARP_OP_REPLY) {
		nif->cnt.arp_rx_reply++;
		goto drop;
	}
	nif->cnt.arp_rx_request++;

	/* Answer in place: the request becomes the reply, sent to the asker's MAC. */
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	ah->arp_data.arp_tha = sha;
	ah->arp_data.arp_tip = ah->arp_data.arp_sip;
	ah->arp_data.arp_sha = nif->mac;
	ah->arp_data.arp_sip = rte_cpu_to_be_32(tip); /* the address asked for (n_ips) */
	eh->dst_addr = sha;
	eh->src_addr = nif->mac;
	/* Trim the Ethernet padding of the request; offload flags of the rx path mean nothing
	 * on tx. */
	rte_pktmbuf_trim(m, m->pkt_len - (NET_ETH_HLEN + sizeof(struct rte_arp_hdr)));
	m->ol_flags = 0;
	nif->cnt.arp_tx_reply++;
	net_tx_frame(nif, m);
	return;
drop:
	rte_pktmbuf_free(m);
}

void net_arp_add(struct net_if *nif, uint32_t ip, const struct rte_ether_addr *mac)
{
	if (ip == 0 || net_is_ours(nif, ip) || !rte_is_unicast_ether_addr(mac))
		return;
	struct net_arp_entry *e = net__arp_find(nif, ip);
	if (e == NULL)
		e = net__arp_alloc(nif, ip);
	net__arp_resolve(nif, e, mac);
}

int net_eth_output(struct net_if *nif, struct rte_mbuf *m, uint32_t nh_ip)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eh->src_addr = nif->mac;

	struct net_arp_entry *e = net__arp_find(nif, nh_ip);
	if (e != NULL && e->state == NET_ARP_RESOLVED) {
		uint64_t now = nif->now_ns;
		if (now >= e->expires_ns + nif->arp_grace_ns) {
			/* Stale and the refreshes went unanswered: resolve afresh. */
			e->state = NET_ARP_INCOMPLETE;
			e->tries = 0;
			nif->arp_incomplete++;
		} else {
			if (now >= e->expires_ns && now - e->last_req_ns >= nif->arp_retry_ns)
				net__arp_send_request(nif, e);
			e->used_ns = now;
			eh->dst_addr = e->mac;
			return net_tx_frame(nif, m);
		}
	}
	if (e == NULL) {
		e = net__arp_alloc(nif, nh_ip);
		e->state = NET_ARP_INCOMPLETE;
		nif->arp_incomplete++;
	}
	e->used_ns = nif->now_ns;
	if (e->n_pending == NET_ARP_PENDING) {
		nif->cnt.arp_drop_pending_full++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	e->pending[e->n_pending++] = m;
	if (e->tries == 0)
		net__arp_send_request(nif, e);
	return 0;
}

void net_timer(struct net_if *nif)
{
	if (nif->arp_incomplete == 0)
		return;
	for (unsigned b = 0; b < NET_ARP_BUCKETS; b++) {
		for (unsigned i = 0; i < NET_ARP_WAYS; i++) {
			struct net_arp_entry *e = &nif->arp[b][i];
			if (e->state != NET_ARP_INCOMPLETE ||
			    nif->now_ns - e->last_req_ns < nif->arp_retry_ns)
				continue;
			if (e->tries >= NET_ARP_MAX_TRIES)
				net__arp_clear(nif, e);
			else
				net__arp_send_request(nif, e);
		}
	}
}
