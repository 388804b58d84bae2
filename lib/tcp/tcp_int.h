/**
 * @file tcp_int.h
 * Internals shared by the files of lib/tcp (never included outside it): the control block,
 * the stack, sequence arithmetic and the functions one file offers the others.
 *
 * Files: tcp.c (control blocks, 4-tuple table, timer wheel, the application calls, tcp_poll),
 * tcp_in.c (tcp_input -> tcp__process -> tcp__receive: the state machine), tcp_out.c
 * (segment building, tcp__output, retransmission, RTT/RTO, congestion control),
 * tcp_reass.c (out-of-order queue, chain trimming), tcp_syncookie.c (SipHash: RFC 6528
 * ISNs, SYN cookies), tcp_echo.c (echo service).
 */
#ifndef TACHYON_TCP_INT_H
#define TACHYON_TCP_INT_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "tcp/tcp.h"

/* ---- sequence space (RFC 9293 3.4: arithmetic modulo 2^32) ---- */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* ---- TCP header ---- */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

#define TCP_HDR_LEN 20
#define TCP_OPT_MAX 40
#define TCP_DEFAULT_MSS 536   /* RFC 9293 3.7.1: when the peer sends no MSS option */
#define TCP_MAX_WSCALE 14     /* RFC 7323 2.3 */
#define TCP_COALESCE_MAX 512  /* tcp_send copies writes up to this size into the last queued mbuf */
#define TCP_SACK_MAX 4        /* blocks kept in the sender's scoreboard */

/* Connection flags (tcp_conn.flags). */
#define TF_ACK_NOW     0x0001 /* send an ACK at the next flush */
#define TF_ACK_DELAYED 0x0002 /* one in-order segment not yet ACKed, delayed-ACK timer set */
#define TF_ON_OUTQ     0x0004 /* linked on the stack's output list */
#define TF_FIN_QUEUED  0x0008 /* our FIN follows the queued data (seq snd_lbb) */
#define TF_APP_GONE    0x0010 /* tcp_close()d: no callbacks, data in -> RST */
#define TF_ACTIVE      0x0020 /* opened by tcp_connect (connected(), not accepted()) */
#define TF_WS_OK       0x0040 /* window scaling negotiated */
#define TF_TS_OK       0x0080 /* timestamps negotiated */
#define TF_SACK_OK     0x0100 /* SACK-permitted exchanged */
#define TF_IN_RECOVERY 0x0200 /* NewReno fast recovery */
#define TF_RTT_TIMING  0x0400 /* rtt_seq is being timed (no timestamps) */
#define TF_WANT_WRITE  0x0800 /* tcp_send returned -ENOBUFS: call writable() */
#define TF_OOO_FIN     0x1000 /* a FIN was received out of order at ooo_fin_seq */
#define TF_SACK_RTX    0x2000 /* a dup ACK in recovery allows one SACK hole retransmission */
#define TF_DEAD        0x4000 /* released: freed at the next flush */
#define TF_SYN_ACKED   0x8000 /* our SYN is acknowledged: snd_una is in the data space */

/**
 * One connection's control block (lwIP's tcp_pcb). Kept small on purpose: a million idle
 * connections per core is the goal, so timers are two 32-bit deadlines plus one wheel link,
 * queues are head pointers, and everything fits in a few cache lines.
 *
 * Invariants (once the SYN is acknowledged, TF_SYN_ACKED):
 *  - snd_una <= snd_nxt <= snd_max <= snd_lbb (+1 once our FIN is sent);
 *  - the send queue sndq holds exactly the bytes [snd_una, snd_lbb), starting sndq_off bytes
 *    into its first mbuf; the mbufs are linked by ->next and each is freed once fully ACKed;
 *  - the out-of-order queue ooq is a list of single mbufs linked by ->next, sorted, disjoint,
 *    all beyond rcv_nxt; each mbuf's hash.usr holds the sequence number of its first byte.
 */
struct tcp_conn {
	/* lookup: hash chain and 4-tuple (host order) */
	struct tcp_conn *hnext;        /**< next in the 4-tuple bucket */
	uint32_t lip, rip;             /**< local / remote address */
	uint16_t lport, rport;         /**< local / remote port */
	uint8_t state;                 /**< enum tcp_state */
	uint8_t nrtx;                  /**< RTO expiries (or unanswered probes) in a row */
	uint16_t flags;                /**< TF_* */

	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max; /**< snd_max: highest sequence sent + 1 */
	uint32_t snd_lbb;              /**< sequence after the last queued byte */
	uint32_t snd_wnd;              /**< peer's window, scaled */
	uint32_t max_snd_wnd;          /**< largest window seen (RFC 5961 ACK check) */
	uint32_t snd_wl1, snd_wl2;
	uint16_t mss;                  /**< payload per segment (options excluded) */
	uint8_t snd_wscale, rcv_wscale;

	/* receive sequence space */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;              /**< right edge last advertised */
	uint32_t rcv_held;             /**< bytes delivered, not yet tcp_recved() */

	/* timestamps (RFC 7323) */
	uint32_t ts_recent;            /**< peer's TSval to echo */
	uint32_t ts_recent_ms;         /**< when ts_recent was set (PAWS 24-day aging) */

	/* RTT / RTO (RFC 6298), milliseconds; srtt scaled by 8, rttvar by 4 (as in BSD) */
	uint32_t srtt8, rttvar4, rto;
	uint32_t rtt_seq, rtt_start;   /**< Karn timing without timestamps */

	/* congestion control (RFC 5681, 6582) */
	uint32_t cwnd, ssthresh, recover;
	/** Spurious-RTO detection (Eifel, RFC 3522/4015): at the first RTO of a flight, our
	 *  timestamp clock (never 0: 0 = not armed) and the cwnd/ssthresh to restore when the
	 *  first new ACK echoes an older timestamp, i.e. answers the original transmission. */
	uint32_t undo_ts, undo_cwnd, undo_ssthresh;
	uint32_t rtx_hint;             /**< next SACK hole candidate in recovery */
	uint8_t dupacks;
	uint8_t nsack;                 /**< valid entries in sack[] */
	uint16_t sndq_off;             /**< bytes of sndq (first mbuf) already ACKed */

	/* timers: deadlines in stack ms ticks, 0 = off; one wheel link at their minimum */
	uint32_t rtx_at;               /**< RTO / zero-window probe / TIME_WAIT / FIN_WAIT_2 */
	uint32_t dack_at;              /**< delayed ACK */
	uint32_t tmr_at;               /**< tick the wheel link is filed under */
	struct tcp_conn *tnext, **tpprev; /**< wheel slot list */

	struct tcp_conn *onext;        /**< output list (TF_ON_OUTQ) */

	/* queues */
	struct rte_mbuf *sndq, *sndq_tail;
	struct rte_mbuf *snd_cur;      /**< send cursor: an mbuf of sndq ... */
	uint32_t snd_cur_seq;          /**< ... and the sequence of its first byte */
	uint32_t ooo_bytes;            /**< payload bytes in ooq */
	struct rte_mbuf *ooq;
	uint32_t ooo_fin_seq;          /**< valid with TF_OOO_FIN */
	uint32_t ooo_last;             /**< seq of the latest OOO arrival (first SACK block) */

	uint32_t sack[TCP_SACK_MAX][2]; /**< sender scoreboard: [start, end) SACKed by the peer */

	/* application */
	struct tcp_stack *stack;       /**< owner (application calls take only the conn) */
	const struct tcp_callbacks *cb;
	void *arg;
};

/** A listening endpoint. */
struct tcp__listener {
	uint32_t ip;                   /**< 0 = any */
	uint16_t port;                 /**< 0 = free slot */
	const struct tcp_callbacks *cb;
	void *arg;
};

#define TCP_MAX_LISTENERS 32
#define TCP_WHEEL_SLOTS 4096           /* 1 ms ticks: ~4 s per turn */
#define TCP_SLAB_CONNS 256

/** The per-worker stack. */
struct tcp_stack {
	struct tcp_stack_config cfg;
	uint64_t now_ns;
	uint32_t now_ms;               /**< tick of the last tcp_poll/tcp_input (wraps) */
	uint32_t wheel_ms;             /**< last tick the wheel processed */
	uint16_t mss_local;            /**< mtu - 40 */
	uint8_t rcv_wscale;            /**< our window scale (from rcvbuf) */
	uint32_t syn_rcvd;             /**< connections in SYN_RECEIVED (SYN queue) */
	uint16_t next_port;            /**< ephemeral port cursor */
	uint32_t challenge_sec;        /**< RFC 5961 rate-limit window (s) */
	uint32_t challenge_cnt;
	uint32_t hash_seed;
	bool mem_low;                  /**< mbuf pool nearly empty: payload is dropped */
	uint32_t gather_budget;        /**< large mbufs tcp_send may still take to gather small
					 *   writes until the next check: what is free above
					 *   half of the pool */
	uint32_t fallback_budget;      /**< large mbufs headers may still take when tx_pool is
					 *   empty: what is free above 1/8 of the pool */
	uint32_t mem_checked_ms;       /**< when the above were last computed */

	struct tcp_conn **buckets;
	uint32_t hmask;
	struct tcp_conn *wheel[TCP_WHEEL_SLOTS];
	uint32_t armed;                /**< connections linked on the wheel */
	struct tcp_conn *outq;         /**< connections to flush at tcp_poll */
	struct tcp_conn *retryq;       /**< output that found no mbuf during this flush: put
					  *   back on outq at its end, so the next tcp_poll
					  *   retries without waiting for an input event */
	bool tx_busy;                  /**< ip_output said -EBUSY (the link's queue is full)
					  *   during this flush: the rest waits for the next */

	struct tcp_conn *free_conns;   /**< free list (linked by hnext) */
	void **slabs;                  /**< slab chunks, freed by destroy */
	uint32_t nslabs, slabs_cap;

	struct tcp__listener listeners[TCP_MAX_LISTENERS];
	struct tcp_stats st;
};

/* ---- tcp.c ---- */
struct tcp_conn *tcp__conn_new(struct tcp_stack *s, uint32_t lip, uint16_t lport,
			       uint32_t rip, uint16_t rport);
struct tcp_conn *tcp__lookup(struct tcp_stack *s, uint32_t lip, uint16_t lport,
			     uint32_t rip, uint16_t rport);
struct tcp__listener *tcp__listener_find(struct tcp_stack *s, uint32_t ip, uint16_t port);
void tcp__release(struct tcp_stack *s, struct tcp_conn *c);
void tcp__timer_update(struct tcp_stack *s, struct tcp_conn *c);
void tcp__retry_later(struct tcp_stack *s, struct tcp_conn *c); /* output again at the next tcp_poll */
void tcp__outq_add(struct tcp_stack *s, struct tcp_conn *c);
void tcp__notify_closed(struct tcp_stack *s, struct tcp_conn *c, enum tcp_close_reason why);
void tcp__enter_time_wait(struct tcp_stack *s, struct tcp_conn *c);
uint32_t tcp__rcv_window(const struct tcp_stack *s, const struct tcp_conn *c);
void tcp__init_cc(struct tcp_stack *s, struct tcp_conn *c);
void tcp__timer_fire(struct tcp_stack *s, struct tcp_conn *c);

/* ---- tcp_reass.c ---- */
struct rte_mbuf *tcp__chain_adj(struct rte_mbuf *m, uint32_t n);
struct rte_mbuf *tcp__chain_trim(struct rte_mbuf *m, uint32_t keep);
void tcp__ooo_insert(struct tcp_stack *s, struct tcp_conn *c, struct rte_mbuf *m, uint32_t seq);
void tcp__ooo_pull(struct tcp_conn *c, struct rte_mbuf **head, struct rte_mbuf **tail);

/* ---- tcp_out.c ---- */
void tcp__output(struct tcp_stack *s, struct tcp_conn *c);
void tcp__send_rst(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		   uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags);
void tcp__send_synack(struct tcp_stack *s, struct tcp_conn *c);
int tcp__send_synack_cookie(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport, uint32_t iss, uint32_t irs, uint16_t mss,
			    int peer_ws, bool sack, bool ts, uint32_t ts_val);
void tcp__send_ack(struct tcp_stack *s, struct tcp_conn *c);
void tcp__retransmit(struct tcp_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t maxlen);
void tcp__rtt_sample(struct tcp_stack *s, struct tcp_conn *c, uint32_t rtt_ms);
void tcp__rto_expired(struct tcp_stack *s, struct tcp_conn *c);
void tcp__sndq_free_acked(struct tcp_stack *s, struct tcp_conn *c, uint32_t nbytes);
void tcp__arm_rtx(struct tcp_stack *s, struct tcp_conn *c);
uint16_t tcp__cksum_l4(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint32_t len);

/* ---- tcp_syncookie.c ---- */
uint64_t tcp__siphash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp__isn(const struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		  uint16_t rport);
uint32_t tcp__cookie_make(const struct tcp_stack *s, uint32_t lip, uint16_t lport,
			  uint32_t rip, uint16_t rport, uint32_t irs, uint16_t mss,
			  int peer_ws, bool sack);
int tcp__cookie_check(const struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		      uint16_t rport, uint32_t irs, uint32_t cookie, uint16_t *mss,
		      int *peer_ws, bool *sack);

static inline uint32_t tcp__ms(const struct tcp_stack *s)
{
	return s->now_ms == 0 ? 1 : s->now_ms; /* 0 means "timer off" in deadlines */
}

static inline uint32_t tcp__sndq_bytes(const struct tcp_conn *c)
{
	uint32_t base = (c->flags & TF_SYN_ACKED) ? c->snd_una : c->iss + 1;
	return c->snd_lbb - base;
}

#endif /* TACHYON_TCP_INT_H */
