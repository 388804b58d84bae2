/**
 * @file net.h
 * L2/L3 of the userspace stack: Ethernet, ARP, IPv4 and ICMP echo, one instance per worker.
 *
 * Data flow (input): worker rx burst -> net_input() -> Ethernet (eth.c) -> ARP (arp.c) or
 * IPv4 (ipv4.c) -> ICMP echo (icmp.c) or, for protocol 6, the L4 hook (net_l4.h).
 * Data flow (output): L4 -> net_ip_output() (ipv4.c: IPv4 header, route) -> net_eth_output()
 * (arp.c: next hop resolved, or parked until the ARP reply) -> net_if.tx, the worker's TX
 * buffer. The frame sink is a function pointer, so unit tests and fuzzers run the whole layer
 * in-process on crafted frames and capture what it sends.
 *
 * Ownership: every function that takes an mbuf consumes it (sends, parks or frees it).
 *
 * Counters: plain uint64 fields in struct net_counters, written only by the owning worker
 * (single writer, no atomics on the fast path) and read by the control core with relaxed
 * atomic loads (see net_counters_snapshot()). Every dropped frame increments exactly one
 * drop counter that names the reason.
 *
 * Time: the layer never reads a clock. The owner stores the current time in net_if.now_ns
 * before calling in (the worker once per loop iteration, tests whatever they like).
 *
 * Thread-safety: a net_if belongs to one worker thread; only net_counters_snapshot() may be
 * called from another thread.
 *
 * Error convention: input functions return nothing (the outcome is in the counters); output
 * functions return 0 when the frame was queued or parked and a negative errno when it was
 * dropped (the frame is freed either way).
 */
#ifndef TACHYON_NET_H
#define TACHYON_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "net/net_l4.h"

struct rte_mbuf;
struct rte_mempool;

/** ARP cache geometry: NET_ARP_BUCKETS buckets of NET_ARP_WAYS entries (set-associative). */
#define NET_ARP_BUCKETS 256
#define NET_ARP_WAYS 4
/** Frames parked per unresolved next hop; more are dropped (counted arp_drop_pending_full). */
#define NET_ARP_PENDING 4
/** Requests sent for one unresolved next hop before its parked frames are dropped. */
#define NET_ARP_MAX_TRIES 3

/** Default ARP timings (net_if fields, changeable by tests). */
#define NET_ARP_TTL_NS (60ull * 1000000000ull)        /**< a learnt MAC is fresh this long */
#define NET_ARP_GRACE_NS (5ull * 1000000000ull)       /**< then used while being refreshed */
#define NET_ARP_RETRY_NS (1000ull * 1000000ull)       /**< gap between requests for one IP */

/** Per-worker counters. Single writer (the worker); see the file comment for readers. */
struct net_counters {
	/* Ethernet */
	uint64_t rx_frames;          /**< frames handed to net_input() */
	uint64_t rx_bytes;           /**< their pkt_len sum */
	uint64_t tx_frames;          /**< frames handed to the tx sink */
	uint64_t tx_bytes;
	uint64_t eth_drop_short;     /**< shorter than an Ethernet header */
	uint64_t eth_drop_not_ours;  /**< unicast to another MAC, or multicast */
	uint64_t eth_drop_type;      /**< EtherType other than IPv4/ARP (IPv6, VLAN, ...) */
	uint64_t tx_drop_nobufs;     /**< no mbuf for an ARP frame we wanted to send */
	/* ARP */
	uint64_t arp_rx_request;     /**< requests for our address */
	uint64_t arp_rx_reply;       /**< replies (and gratuitous updates) accepted */
	uint64_t arp_tx_request;
	uint64_t arp_tx_reply;
	uint64_t arp_drop_bad;       /**< malformed: short, wrong hw/proto type or lengths, opcode */
	uint64_t arp_drop_not_ours;  /**< for another target (an existing entry is still refreshed) */
	uint64_t arp_conflict;       /**< a peer claims our address (dropped, counted) */
	uint64_t arp_drop_pending_full; /**< output frame dropped: pending queue full */
	uint64_t arp_drop_unresolved;   /**< parked frames dropped after NET_ARP_MAX_TRIES */
	uint64_t arp_cache_evict;    /**< a live entry was replaced for lack of room */
	/* IPv4 input */
	uint64_t ip_rx;              /**< datagrams that passed the checks */
	uint64_t ip_drop_short;      /**< header not in the frame / first segment */
	uint64_t ip_drop_version;    /**< version != 4 or IHL < 5 */
	uint64_t ip_drop_options;    /**< IHL > 5: options are not supported */
	uint64_t ip_drop_checksum;   /**< header checksum wrong */
	uint64_t ip_drop_length;     /**< total length < IHL or > frame */
	uint64_t ip_drop_fragment;   /**< MF set or offset != 0: reassembly is not supported */
	uint64_t ip_drop_ttl;        /**< TTL 0 (never legal on the wire) */
	uint64_t ip_drop_src;        /**< source is ours, broadcast, multicast or 0 */
	uint64_t ip_drop_not_ours;   /**< destination is not our address */
	uint64_t ip_drop_proto;      /**< protocol other than ICMP/TCP (or TCP with no L4) */
	/* IPv4 output */
	uint64_t ip_tx;              /**< datagrams built by net_ip_output() */
	uint64_t ip_drop_no_route;   /**< off-subnet destination and no gateway */
	uint64_t ip_drop_nobufs;     /**< no headroom / allocation failed */
	/* ICMP */
	uint64_t icmp_rx_echo;       /**< echo requests answered */
	uint64_t icmp_tx_echo_reply;
	uint64_t icmp_drop_bad;      /**< short or checksum wrong */
	uint64_t icmp_drop_type;     /**< other types (not answered) */
	/* L4 */
	uint64_t l4_rx;              /**< segments handed to the L4 hook */
};

/**
 * Frame sink: take ownership of one complete Ethernet frame for transmission.
 * @return 0 when queued; a negative errno when dropped (the sink frees the frame).
 */
typedef int (*net_tx_fn)(void *tx_ctx, struct rte_mbuf *m);

/** ARP cache entry states. */
enum net_arp_state {
	NET_ARP_FREE = 0,
	NET_ARP_INCOMPLETE,          /**< request sent, frames may be parked */
	NET_ARP_RESOLVED,            /**< mac valid (fresh until expires_ns, then in grace) */
};

/** One ARP cache entry. Invariant: n_pending > 0 only in state NET_ARP_INCOMPLETE. */
struct net_arp_entry {
	uint32_t ip;                 /**< host byte order */
	uint8_t state;               /**< enum net_arp_state */
	uint8_t tries;               /**< requests sent since the last answer */
	uint8_t n_pending;
	struct rte_ether_addr mac;
	uint64_t expires_ns;         /**< RESOLVED: fresh until then */
	uint64_t last_req_ns;        /**< when the last request went out (rate limit) */
	uint64_t used_ns;            /**< last use, to choose what to evict */
	struct rte_mbuf *pending[NET_ARP_PENDING]; /**< complete frames minus the Ethernet dst */
};

/** One interface of one worker: addresses, ARP cache, hooks, counters. */
struct net_if {
	/* configuration, set before use */
	struct rte_ether_addr mac;   /**< our MAC (rte_eth_macaddr_get) */
	uint32_t ip;                 /**< our address, host byte order */
	uint32_t n_ips;              /**< ip .. ip + n_ips - 1 are all ours (0 or 1: ip alone);
				      *   a load generator uses several source addresses so that
				      *   it can open more than 64k connections to one port */
	uint8_t prefix_len;          /**< on-link prefix */
	uint32_t netmask;            /**< derived from prefix_len by net_if_init() */
	uint32_t gateway;            /**< default gateway, 0 = none (off-link is unreachable) */
	uint16_t mtu;                /**< IP MTU; larger output is dropped (counted nobufs) */
	bool tx_ip_cksum_offload;    /**< port computes the IPv4 header checksum */
	struct rte_mempool *pool;    /**< for ARP requests */
	net_tx_fn tx;                /**< frame sink */
	void *tx_ctx;
	net_l4_input_fn l4_input;    /**< IP protocol 6, NULL = dropped as ip_drop_proto */
	void *l4_ctx;
	/**
	 * Called when a received ARP frame taught or refreshed a binding (may be NULL). With
	 * several workers, the kernel or NIC spreads ARP frames over the queues by its own hash,
	 * so the reply to one worker's request can reach another: the runtime uses this hook to
	 * pass bindings to the other workers (net_arp_add()).
	 */
	void (*arp_learnt)(void *ctx, uint32_t ip, const struct rte_ether_addr *mac);
	void *arp_learnt_ctx;
	uint64_t arp_ttl_ns;         /**< NET_ARP_TTL_NS */
	uint64_t arp_grace_ns;       /**< NET_ARP_GRACE_NS */
	uint64_t arp_retry_ns;       /**< NET_ARP_RETRY_NS */
	/* state */
	uint64_t now_ns;             /**< current time, set by the owner before each call */
	uint16_t ip_id;              /**< next IPv4 identification */
	unsigned arp_incomplete;     /**< entries in state INCOMPLETE (net_timer() skips when 0) */
	struct net_arp_entry arp[NET_ARP_BUCKETS][NET_ARP_WAYS];
	struct net_counters cnt;
};

/**
 * Initialise @p nif: zero it, set addresses and defaults (ARP timings, MTU 1500).
 * The caller then sets mac, pool, tx/tx_ctx, l4_input/l4_ctx and the offload flag.
 * @param ip, gateway  host byte order; gateway 0 = none.
 * @return 0, or -EINVAL when prefix_len > 32.
 */
int net_if_init(struct net_if *nif, uint32_t ip, uint8_t prefix_len, uint32_t gateway);

/** Free every frame parked in the ARP cache and clear it. */
void net_if_fini(struct net_if *nif);

/**
 * Process one received Ethernet frame (consumes @p m). Checks, answers ARP and ICMP echo,
 * learns ARP, hands TCP to the L4 hook, counts every drop by reason.
 * Single-segment frames are the norm; in a chain, the L2/L3 headers must be in the first
 * segment (else counted as short).
 */
void net_input(struct net_if *nif, struct rte_mbuf *m);

/**
 * Send one L4 segment as an IPv4 datagram: the net_ip_output_fn of net_l4.h (ip_ctx is the
 * struct net_if *). Builds the IPv4 header (DF, TTL 64, checksum in software or offloaded),
 * routes (on-link -> the destination, else the gateway), resolves the next hop by ARP.
 * @return 0 queued or parked; -EHOSTUNREACH no route; -ENOBUFS no headroom,
 *   too big for the MTU, or the pending queue is full. The mbuf is consumed in every case.
 */
int net_ip_output(void *ip_ctx, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip,
		  uint8_t proto);

/**
 * Send a frame whose data starts at the Ethernet header (14 bytes reserved, type filled in)
 * to next hop @p nh_ip: fills both MACs now if the next hop is resolved, else parks it and
 * sends an ARP request (rate-limited). Consumes @p m.
 * @return 0 sent or parked; -ENOBUFS pending queue full (the frame is freed). A next hop that
 *   never answers costs its parked frames after NET_ARP_MAX_TRIES requests (net_timer()).
 */
int net_eth_output(struct net_if *nif, struct rte_mbuf *m, uint32_t nh_ip);

/**
 * Housekeeping, call every few hundred ms: re-send ARP requests for unresolved next hops
 * and drop parked frames of those that never answered. Cheap when nothing is unresolved.
 */
void net_timer(struct net_if *nif);

/**
 * Add or refresh the binding @p ip -> @p mac as if an ARP reply had been received: frames
 * parked for @p ip leave now. Does not call arp_learnt (no echo between workers).
 * Ignored for our own address, 0, and group MACs.
 */
void net_arp_add(struct net_if *nif, uint32_t ip, const struct rte_ether_addr *mac);

/**
 * Look up @p ip in the ARP cache (no side effects).
 * @return true and the MAC in @p mac when resolved (fresh or in grace).
 */
bool net_arp_lookup(const struct net_if *nif, uint32_t ip, struct rte_ether_addr *mac);

/**
 * Copy @p nif's counters with relaxed atomic loads: safe from any thread while the owner
 * keeps counting (each field is exact; fields are not a consistent snapshot of one instant).
 */
void net_counters_snapshot(const struct net_if *nif, struct net_counters *out);

/** Names of the struct net_counters fields, in order, for stats output. */
extern const char *const net_counter_names[];
/** Number of entries in net_counter_names (== sizeof(struct net_counters) / 8). */
extern const unsigned net_counter_count;

/** @return true when @p ip is one of @p nif's own addresses (see net_if.n_ips). */
static inline bool net_is_ours(const struct net_if *nif, uint32_t ip)
{
	return ip - nif->ip < (nif->n_ips > 1 ? nif->n_ips : 1u);
}

/** @return true when @p ip is on @p nif's subnet. */
static inline bool net_on_link(const struct net_if *nif, uint32_t ip)
{
	return ((ip ^ nif->ip) & nif->netmask) == 0;
}

#endif /* TACHYON_NET_H */
