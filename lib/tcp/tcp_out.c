/**
 * @file tcp_out.c
 * Output: building segments, deciding what to send, and the sender's reliability machinery
 * (RTO per RFC 6298, congestion control per RFC 5681, NewReno recovery per RFC 6582 helped by
 * the peer's SACK blocks per RFC 2018, zero-window probes).
 *
 * A segment leaves in one of two ways (as in lwIP):
 *  - for a connection, by tcp__output() at the flush of tcp_poll(): SYN/SYN-ACK, then new
 *    (or, after an RTO, resent) data as the windows allow, the FIN after the last byte, and a
 *    pure ACK only if nothing else carried one; or by tcp__retransmit() for fast/SACK
 *    retransmissions and probes;
 *  - without a connection, by tcp__send_rst() and tcp__send_synack_cookie().
 *
 * Zero copy: a data segment is a fresh header mbuf (TCP header + options, with headroom for
 * IPv4 and Ethernet) followed by indirect mbufs attached to the send queue's mbufs
 * (rte_pktmbuf_attach: the payload buffer's refcount is raised, nothing is copied). The send
 * queue keeps its mbufs until they are acknowledged, so a retransmission attaches again.
 *
 * How retransmission works:
 *  - Every segment sent arms the retransmission timer if it is not running; an ACK that
 *    advances snd_una restarts it (RFC 6298 5.3) and stops it when nothing is outstanding.
 *  - RTT is measured from the echoed timestamp when timestamps are on (every ACK that
 *    advances snd_una gives a sample, RFC 7323 4.1), otherwise by timing one segment at a time
 *    and never a retransmitted one (Karn). RTO = SRTT + max(G, 4*RTTVAR), clamped to the
 *    configured bounds; each expiry doubles it and counts a retry; max_retries expiries in a
 *    row drop the connection and the application sees TCP_CLOSE_TIMEOUT.
 *  - On expiry: ssthresh = max(FlightSize/2, 2*MSS), cwnd = 1 MSS, the SACK scoreboard is
 *    forgotten (the peer may renege, RFC 2018 8), and snd_nxt goes back to snd_una so the
 *    window is resent in order as ACKs reopen cwnd (go-back-N, as BSD does).
 *  - Three duplicate ACKs start fast recovery (RFC 6582 3.2): the first unacknowledged
 *    segment is resent, cwnd = ssthresh + 3*MSS and each further duplicate inflates it by one
 *    MSS. Each duplicate also lets one SACK hole below the highest SACKed byte be resent
 *    (rtx_hint walks the holes), so several losses in one window cost one RTT, not one each.
 *    A partial ACK resends the next unacknowledged segment and deflates cwnd; a full ACK
 *    (covering `recover`) ends recovery with cwnd = min(ssthresh, FlightSize + MSS).
 *  - A zero window with data waiting arms the same timer as a persist timer; on expiry one
 *    byte at snd_una is sent as a probe (RFC 9293 3.8.6.1). Probes back off like the RTO; an
 *    unanswered series hits the same retry limit, an answered one keeps the connection.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "tcp/tcp_int.h"

struct tcp__hdr {
	rte_be16_t sport, dport;
	rte_be32_t seq, ack;
	uint8_t off;   /* data offset << 4 */
	uint8_t flags;
	rte_be16_t win;
	uint16_t cksum;
	rte_be16_t urp;
} __attribute__((packed));

/* ---------------------------------------------------------------- checksum */

static uint32_t tcp__phdr_sum(uint32_t src, uint32_t dst, uint32_t len)
{
	struct {
		rte_be32_t src, dst;
		uint8_t zero, proto;
		rte_be16_t len;
	} __attribute__((packed)) ph = {
		rte_cpu_to_be_32(src), rte_cpu_to_be_32(dst), 0, IPPROTO_TCP,
		rte_cpu_to_be_16((uint16_t)len),
	};
	return rte_raw_cksum(&ph, sizeof(ph));
}

static uint16_t tcp__fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One's-complement sum over the first @p len bytes of a chain. Not rte_raw_cksum_mbuf():
 * in DPDK 22.11 it truncates each segment's 32-bit partial sum to 16 bits before the byte
 * swap that a segment starting at an odd offset needs, losing carries; our payload slices
 * have arbitrary lengths, so that bug corrupts real segments. Each partial sum is folded
 * first here. */
static int tcp__raw_cksum_chain(const struct rte_mbuf *m, uint32_t len, uint32_t *out)
{
	uint32_t sum = 0, done = 0;
	for (; m != NULL && done < len; m = m->next) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len, len - done);
		if (n == 0)
			continue;
		uint16_t part = tcp__fold(__rte_raw_cksum(rte_pktmbuf_mtod(m, const void *), n, 0));
		if (done & 1)
			part = rte_bswap16(part);
		sum += part;
		done += n;
	}
	*out = sum;
	return done == len ? 0 : -1;
}

uint16_t tcp__cksum_l4(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint32_t len)
{
	uint32_t raw;
	if (tcp__raw_cksum_chain(m, len, &raw) != 0)
		return 0xffff; /* cannot be a valid result of ~sum over a correct segment */
	uint32_t sum = tcp__fold(raw) + tcp__phdr_sum(src, dst, len);
	return (uint16_t)~tcp__fold(sum);
}

/* ---------------------------------------------------------------- options */

static unsigned tcp__opt_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	rte_be32_t v = rte_cpu_to_be_32(val), e = rte_cpu_to_be_32(ecr);
	memcpy(o + 4, &v, 4);
	memcpy(o + 8, &e, 4);
	return 12;
}

static unsigned tcp__opts_syn(uint8_t *o, uint16_t mss, int ws, bool sack, bool ts,
			      uint32_t tsval, uint32_t tsecr)
{
	unsigned n = 0;
	o[n++] = 2;
	o[n++] = 4;
	o[n++] = (uint8_t)(mss >> 8);
	o[n++] = (uint8_t)mss;
	if (ws >= 0) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = (uint8_t)ws;
	}
	if (ts) {
		n += tcp__opt_ts(o + n, tsval, tsecr);
		if (sack) { /* SACK-permitted in place of the two NOPs */
			o[n - 12] = 4;
			o[n - 11] = 2;
		}
	} else if (sack) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	return n;
}

/* SACK blocks for our out-of-order queue (RFC 2018 4): the block holding the latest arrival
 * first, then the others in sequence order. */
static unsigned tcp__opt_sack(const struct tcp_conn *c, uint8_t *o, unsigned max_blocks)
{
	uint32_t blk[TCP_SACK_MAX][2];
	unsigned nb = 0;

	for (int pass = 0; pass < 2 && nb < max_blocks; pass++) {
		struct rte_mbuf *m = c->ooq;
		while (m != NULL && nb < max_blocks) {
			uint32_t start = m->hash.usr, end = start + m->data_len;
			while (m->next != NULL && m->next->hash.usr == end) {
				m = m->next;
				end += m->data_len;
			}
			m = m->next;
			bool latest = SEQ_GEQ(c->ooo_last, start) && SEQ_LT(c->ooo_last, end);
			if ((pass == 0) != latest)
				continue;
			blk[nb][0] = start;
			blk[nb][1] = end;
			nb++;
			if (pass == 0)
				break;
		}
	}
	if (nb == 0)
		return 0;
	o[0] = 1;
	o[1] = 1;
	o[2] = 5;
	o[3] = (uint8_t)(2 + 8 * nb);
	for (unsigned i = 0; i < nb; i++) {
		rte_be32_t a = rte_cpu_to_be_32(blk[i][0]), b = rte_cpu_to_be_32(blk[i][1]);
		memcpy(o + 4 + 8 * i, &a, 4);
		memcpy(o + 8 + 8 * i, &b, 4);
	}
	return 4 + 8 * nb;
}

/* Options of a non-SYN segment of @p c: timestamps, then SACK blocks if any. */
static unsigned tcp__opts_data(const struct tcp_stack *s, const struct tcp_conn *c, uint8_t *o)
{
	unsigned n = 0;
	if (c->flags & TF_TS_OK)
		n += tcp__opt_ts(o, tcp__ms(s), c->ts_recent);
	if ((c->flags & TF_SACK_OK) && c->ooq != NULL)
		n += tcp__opt_sack(c, o + n, (c->flags & TF_TS_OK) ? 3 : 4);
	return n;
}

/* ---------------------------------------------------------------- emitting */

/* A header or indirect mbuf: from the small-mbuf pool when there is one and it has any
 * left, else from the main pool (NULL when both are empty). A segment holds these only
 * until the port has sent it, but a million connections each sending one at once would
 * otherwise take a 2 KiB-data-room mbuf each for a header of 60 bytes. */
static struct rte_mbuf *tcp__alloc_tx(struct tcp_stack *s)
{
	if (s->cfg.tx_pool != NULL) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(s->cfg.tx_pool);
		if (m != NULL)
			return m;
		/* The large pool keeps 1/8 free for receiving (tcp__mem_check). */
		if (s->fallback_budget == 0)
			return NULL;
		m = rte_pktmbuf_alloc(s->cfg.pool);
		if (m != NULL) {
			s->fallback_budget--;
			s->st.tx_pool_fallbacks++;
		}
		return m;
	}
	return rte_pktmbuf_alloc(s->cfg.pool);
}

/* Build and hand one segment to the IP layer. @p payload (may be NULL) is chained after the
 * header and consumed in every case. */
static int tcp__emit(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		     uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     const uint8_t *opts, unsigned optlen, struct rte_mbuf *payload)
{
	struct rte_mbuf *h = tcp__alloc_tx(s);
	if (h == NULL) {
		rte_pktmbuf_free(payload);
		s->st.out_nobufs++;
		return -ENOBUFS;
	}
	unsigned hl = TCP_HDR_LEN + optlen;
	struct tcp__hdr *th = (struct tcp__hdr *)rte_pktmbuf_append(h, (uint16_t)hl);
	th->sport = rte_cpu_to_be_16(lport);
	th->dport = rte_cpu_to_be_16(rport);
	th->seq = rte_cpu_to_be_32(seq);
	th->ack = (flags & TCP_ACK) ? rte_cpu_to_be_32(ack) : 0;
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->win = rte_cpu_to_be_16(win);
	th->cksum = 0;
	th->urp = 0;
	if (optlen)
		memcpy(th + 1, opts, optlen);
	if (payload != NULL) {
		h->next = payload;
		h->nb_segs = (uint16_t)(1 + payload->nb_segs);
		h->pkt_len = hl + payload->pkt_len;
	}
	if (s->cfg.tx_cksum_offload) {
		th->cksum = tcp__fold(tcp__phdr_sum(lip, rip, h->pkt_len));
		h->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
		h->l4_len = hl;
	} else {
		th->cksum = tcp__cksum_l4(h, lip, rip, h->pkt_len);
	}
	uint32_t bytes = payload != NULL ? payload->pkt_len : 0;
	int rc = s->cfg.ip_output(s->cfg.ip_ctx, h, lip, rip, IPPROTO_TCP);
	if (rc != 0) {
		if (rc == -EBUSY) { /* the link's queue is full: stop this flush (tcp_poll) */
			s->tx_busy = true;
			s->st.out_link_busy++;
			return -EBUSY;
		}
		s->st.out_nobufs++;
		return -ENOBUFS;
	}
	s->st.segs_out++;
	s->st.bytes_out += bytes;
	return 0;
}

void tcp__send_rst(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		   uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	s->st.resets_out++;
	tcp__emit(s, lip, lport, rip, rport, seq, ack, flags, 0, NULL, 0, NULL);
}

int tcp__send_synack_cookie(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport, uint32_t iss, uint32_t irs, uint16_t mss,
			    int peer_ws, bool sack, bool ts, uint32_t ts_val)
{
	(void)mss;
	uint8_t o[TCP_OPT_MAX];
	unsigned n = tcp__opts_syn(o, s->mss_local, peer_ws >= 0 ? s->rcv_wscale : -1, sack, ts,
				   tcp__ms(s), ts_val);
	uint32_t w = RTE_MIN(s->cfg.rcvbuf, 65535u);
	return tcp__emit(s, lip, lport, rip, rport, iss, irs + 1, TCP_SYN | TCP_ACK,
			 (uint16_t)w, o, n, NULL);
}

/* The window to advertise, never shrinking the right edge already announced (RFC 9293
 * 3.8.6.2.1 says SHOULD NOT shrink). Updates rcv_adv. */
static uint32_t tcp__adv_window(struct tcp_stack *s, struct tcp_conn *c)
{
	uint32_t w = tcp__rcv_window(s, c);
	if (SEQ_LT(c->rcv_nxt + w, c->rcv_adv))
		w = c->rcv_adv - c->rcv_nxt;
	if (SEQ_GT(c->rcv_nxt + w, c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + w;
	return w;
}

/* Indirect mbufs covering [seq, seq+len) of the send queue; NULL if the pool ran dry. */
static struct rte_mbuf *tcp__sndq_slice(struct tcp_stack *s, struct tcp_conn *c, uint32_t seq,
					uint32_t len)
{
	struct rte_mbuf *cur = c->sndq;
	uint32_t cur_seq = c->snd_una - c->sndq_off;
	if (c->snd_cur != NULL && SEQ_LEQ(c->snd_cur_seq, seq) && SEQ_GEQ(c->snd_cur_seq, cur_seq)) {
		cur = c->snd_cur;
		cur_seq = c->snd_cur_seq;
	}
	/* last/last_seq: the last mbuf walked and its first byte, so that the cache can point
	 * at the queue's tail when the walk runs off its end (the usual case: everything queued
	 * was sent). Without it the next send would walk again from snd_una over every byte in
	 * flight: O(flight) per segment, which made fan-out to slow readers quadratic. */
	struct rte_mbuf *last = NULL;
	uint32_t last_seq = 0;
	while (cur != NULL && SEQ_LEQ(cur_seq + cur->data_len, seq)) {
		last = cur;
		last_seq = cur_seq;
		cur_seq += cur->data_len;
		cur = cur->next;
	}
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t off = seq - cur_seq;
	while (len > 0 && cur != NULL) {
		struct rte_mbuf *mi = tcp__alloc_tx(s);
		if (mi == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		rte_pktmbuf_attach(mi, cur);
		uint32_t n = RTE_MIN(len, (uint32_t)cur->data_len - off);
		mi->data_off = (uint16_t)(mi->data_off + off);
		mi->data_len = (uint16_t)n;
		mi->pkt_len = n;
		if (head == NULL) {
			head = mi;
		} else {
			tail->next = mi;
			head->nb_segs++;
			head->pkt_len += n;
		}
		tail = mi;
		len -= n;
		if (off + n == cur->data_len) {
			last = cur;
			last_seq = cur_seq;
			cur_seq += cur->data_len;
			cur = cur->next;
			off = 0;
		} else {
			off += n;
		}
	}
	if (cur == NULL && last != NULL) {
		cur = last; /* its data may still grow in place: its first byte stays valid */
		cur_seq = last_seq;
	}
	c->snd_cur = cur;
	c->snd_cur_seq = cur_seq;
	return head;
}

/* One segment of @p c: @p len queued bytes from @p seq with @p flags. */
static int tcp__xmit(struct tcp_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t len,
		     uint8_t flags)
{
	uint8_t o[TCP_OPT_MAX];
	unsigned n;
	uint32_t w = tcp__adv_window(s, c);
	uint16_t wfield;

	if (flags & TCP_SYN) {
		bool active = (c->flags & TF_ACTIVE) && c->state == TCP_SYN_SENT;
		n = tcp__opts_syn(o, s->mss_local,
				  (active || (c->flags & TF_WS_OK)) ? c->rcv_wscale : -1,
				  active || (c->flags & TF_SACK_OK), active || (c->flags & TF_TS_OK),
				  tcp__ms(s), c->ts_recent);
		wfield = (uint16_t)RTE_MIN(w, 65535u); /* never scaled in a SYN (RFC 7323 2.2) */
	} else {
		n = tcp__opts_data(s, c, o);
		wfield = (uint16_t)(w >> c->rcv_wscale);
	}
	struct rte_mbuf *payload = NULL;
	if (len > 0) {
		payload = tcp__sndq_slice(s, c, seq, len);
		if (payload == NULL) {
			s->st.out_nobufs++;
			return -ENOBUFS;
		}
	}
	uint16_t ack_flags = c->flags & (TF_ACK_NOW | TF_ACK_DELAYED);
	uint32_t dack_at = c->dack_at;
	if (flags & TCP_ACK) {
		c->flags &= ~(TF_ACK_NOW | TF_ACK_DELAYED);
		c->dack_at = 0;
	}
	int rc = tcp__emit(s, c->lip, c->lport, c->rip, c->rport, seq, c->rcv_nxt, flags,
			   wfield, o, n, payload);
	if (rc != 0 && (flags & TCP_ACK) && ack_flags != 0) {
		/* the ACK this segment carried is still owed: send it on the retry */
		c->flags |= TF_ACK_NOW;
		c->dack_at = dack_at;
		tcp__retry_later(s, c);
	}
	return rc;
}

void tcp__send_ack(struct tcp_stack *s, struct tcp_conn *c)
{
	/* snd_max, not snd_nxt: after an RTO snd_nxt goes back, and a pure ACK carrying an old
	 * sequence number is unacceptable to a peer that already has those bytes (it would
	 * answer with an ACK of its own, equally old: a livelock). BSD does the same. */
	tcp__xmit(s, c, c->snd_max, 0, TCP_ACK);
}

void tcp__send_synack(struct tcp_stack *s, struct tcp_conn *c)
{
	tcp__xmit(s, c, c->iss, 0, TCP_SYN | TCP_ACK);
}

/* Payload bytes that fit in one segment next to this connection's options. */
static uint32_t tcp__eff_mss(const struct tcp_conn *c)
{
	uint32_t opt = (c->flags & TF_TS_OK) ? 12 : 0;
	if ((c->flags & TF_SACK_OK) && c->ooq != NULL)
		opt += (c->flags & TF_TS_OK) ? 28 : 36;
	opt = RTE_MIN(opt, 40u);
	return c->mss > opt + 64 ? c->mss - opt : 64;
}

void tcp__arm_rtx(struct tcp_stack *s, struct tcp_conn *c)
{
	c->rtx_at = tcp__ms(s) + c->rto;
	if (c->rtx_at == 0)
		c->rtx_at = 1;
	tcp__timer_update(s, c);
}

void tcp__retransmit(struct tcp_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t maxlen)
{
	uint32_t len = 0;
	if (SEQ_LT(seq, c->snd_lbb))
		len = RTE_MIN(RTE_MIN(maxlen, tcp__eff_mss(c)), c->snd_lbb - seq);
	uint8_t flags = TCP_ACK;
	if ((c->flags & TF_FIN_QUEUED) && seq + len == c->snd_lbb && SEQ_GT(c->snd_max, c->snd_lbb))
		flags |= TCP_FIN;
	if (len == 0 && !(flags & TCP_FIN))
		return;
	c->flags &= ~TF_RTT_TIMING; /* Karn: never time across a retransmission */
	if (tcp__xmit(s, c, seq, len, flags) == 0)
		s->st.retransmits++;
	if (c->rtx_at == 0)
		tcp__arm_rtx(s, c);
}

/* First byte at or after @p from that the peer has not SACKed, if it lies below the highest
 * SACKed byte (i.e. a hole); returns false when there is none. */
static bool tcp__next_hole(const struct tcp_conn *c, uint32_t from, uint32_t *start,
			   uint32_t *end)
{
	if (c->nsack == 0)
		return false;
	uint32_t top = c->sack[0][1];
	for (unsigned i = 1; i < c->nsack; i++)
		top = SEQ_MAX(top, c->sack[i][1]);
	uint32_t x = from;
	for (bool moved = true; moved;) {
		moved = false;
		for (unsigned i = 0; i < c->nsack; i++)
			if (SEQ_LEQ(c->sack[i][0], x) && SEQ_LT(x, c->sack[i][1])) {
				x = c->sack[i][1];
				moved = true;
			}
	}
	if (SEQ_GEQ(x, top))
		return false;
	uint32_t e = top;
	for (unsigned i = 0; i < c->nsack; i++)
		if (SEQ_GT(c->sack[i][0], x))
			e = SEQ_MIN(e, c->sack[i][0]);
	*start = x;
	*end = e;
	return true;
}

void tcp__output(struct tcp_stack *s, struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_CLOSED:
	case TCP_LISTEN:
		return;
	case TCP_SYN_SENT:
		if (c->snd_nxt == c->iss) {
			tcp__xmit(s, c, c->iss, 0, TCP_SYN);
			c->snd_nxt = c->snd_max = c->iss + 1;
			if (c->rtx_at == 0)
				tcp__arm_rtx(s, c);
		}
		return;
	case TCP_SYN_RECEIVED:
		if (c->snd_nxt == c->iss) {
			tcp__xmit(s, c, c->iss, 0, TCP_SYN | TCP_ACK);
			c->snd_nxt = c->snd_max = c->iss + 1;
			if (c->rtx_at == 0)
				tcp__arm_rtx(s, c);
		} else if (c->flags & TF_ACK_NOW) {
			tcp__send_ack(s, c);
		}
		return;
	case TCP_TIME_WAIT:
		if (c->flags & TF_ACK_NOW)
			tcp__send_ack(s, c);
		return;
	default:
		break;
	}

	bool sent = false;
	uint32_t emss = tcp__eff_mss(c);

	/* SACK-guided hole retransmission, one per duplicate ACK in recovery. */
	if ((c->flags & (TF_IN_RECOVERY | TF_SACK_RTX)) == (TF_IN_RECOVERY | TF_SACK_RTX)) {
		uint32_t hs, he;
		c->flags &= ~TF_SACK_RTX;
		if (tcp__next_hole(c, SEQ_MAX(c->rtx_hint, c->snd_una), &hs, &he) &&
		    SEQ_LT(hs, c->snd_nxt)) {
			uint32_t n = RTE_MIN(he - hs, emss);
			tcp__retransmit(s, c, hs, n);
			c->rtx_hint = hs + n;
			sent = true;
		}
	}

	uint32_t win = RTE_MIN(c->snd_wnd, c->cwnd);
	for (;;) {
		uint32_t avail = SEQ_LT(c->snd_nxt, c->snd_lbb) ? c->snd_lbb - c->snd_nxt : 0;
		uint32_t inflight = c->snd_nxt - c->snd_una;
		uint32_t usable = win > inflight ? win - inflight : 0;
		uint32_t len = RTE_MIN(RTE_MIN(avail, usable), emss);
		bool fin = (c->flags & TF_FIN_QUEUED) && c->snd_nxt + len == c->snd_lbb;
		if (len == 0 && !fin)
			break;
		uint8_t flags = TCP_ACK;
		if (len > 0 && len == avail)
			flags |= TCP_PSH;
		if (fin)
			flags |= TCP_FIN;
		bool rexmit = SEQ_LT(c->snd_nxt, c->snd_max);
		if (tcp__xmit(s, c, c->snd_nxt, len, flags) != 0) {
			/* No mbuf for the segment (pool exhausted). Nothing else would bring the
			 * connection back here when no data is in flight (no ACK, no timer), so
			 * ask tcp_poll to retry it on its next call. */
			tcp__retry_later(s, c);
			break;
		}
		if (rexmit) {
			s->st.retransmits++;
		} else if (!(c->flags & (TF_TS_OK | TF_RTT_TIMING)) && len > 0) {
			c->flags |= TF_RTT_TIMING;
			c->rtt_seq = c->snd_nxt;
			c->rtt_start = tcp__ms(s);
		}
		c->snd_nxt += len + (fin ? 1 : 0);
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		sent = true;
		if (fin)
			break;
	}
	if (!sent && (c->flags & TF_ACK_NOW))
		tcp__send_ack(s, c);

	if (c->rtx_at == 0) {
		bool outstanding = c->snd_max != c->snd_una;
		bool blocked = c->snd_wnd == 0 && SEQ_LT(c->snd_una, c->snd_lbb);
		if (outstanding || blocked)
			tcp__arm_rtx(s, c);
	}
}

/* ---------------------------------------------------------------- RTT, RTO */

void tcp__rtt_sample(struct tcp_stack *s, struct tcp_conn *c, uint32_t rtt)
{
	if (rtt == 0)
		rtt = 1;
	if (rtt > 600000)
		return; /* nonsense (a forged or stale echo) */
	if (c->srtt8 == 0) {
		c->srtt8 = rtt << 3;   /* SRTT = R */
		c->rttvar4 = rtt << 1; /* RTTVAR = R/2 */
	} else {
		int32_t delta = (int32_t)rtt - (int32_t)(c->srtt8 >> 3);
		c->srtt8 = (uint32_t)((int32_t)c->srtt8 + delta); /* SRTT += (R - SRTT)/8 */
		if (delta < 0)
			delta = -delta;
		/* RTTVAR += (|R - SRTT| - RTTVAR)/4 */
		c->rttvar4 = (uint32_t)((int32_t)c->rttvar4 + delta - (int32_t)(c->rttvar4 >> 2));
	}
	uint32_t rto = (c->srtt8 >> 3) + RTE_MAX(1u, c->rttvar4);
	c->rto = RTE_MIN(RTE_MAX(rto, s->cfg.rto_min_ms), s->cfg.rto_max_ms);
}

static void tcp__give_up(struct tcp_stack *s, struct tcp_conn *c)
{
	s->st.conns_timed_out++;
	if (c->state == TCP_SYN_RECEIVED && !(c->flags & TF_ACTIVE))
		c->flags |= TF_APP_GONE; /* the application never saw it */
	tcp__notify_closed(s, c, TCP_CLOSE_TIMEOUT);
	tcp__release(s, c);
}

void tcp__rto_expired(struct tcp_stack *s, struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;

	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
		if (++c->nrtx > s->cfg.syn_retries) {
			tcp__give_up(s, c);
			return;
		}
		s->st.rto_expired++;
		s->st.retransmits++;
		c->rto = RTE_MIN(c->rto * 2, s->cfg.rto_max_ms);
		c->snd_nxt = c->iss; /* tcp__output resends SYN / SYN-ACK */
		tcp__outq_add(s, c);
		return;
	}
	bool blocked = c->snd_wnd == 0 && SEQ_LT(c->snd_una, c->snd_lbb);
	if (blocked && SEQ_LEQ(c->snd_max, c->snd_una + 1)) {
		/* Zero-window probe: one byte beyond what the window allows. */
		if (++c->nrtx > s->cfg.max_retries) {
			tcp__give_up(s, c);
			return;
		}
		s->st.zero_window_probes++;
		c->flags &= ~TF_RTT_TIMING;
		tcp__xmit(s, c, c->snd_una, 1, TCP_ACK);
		if (SEQ_LT(c->snd_max, c->snd_una + 1))
			c->snd_max = c->snd_una + 1;
		c->snd_nxt = c->snd_max;
		c->rto = RTE_MIN(c->rto * 2, s->cfg.rto_max_ms);
		tcp__arm_rtx(s, c);
		return;
	}
	if (flight == 0)
		return;
	if (++c->nrtx > s->cfg.max_retries) {
		tcp__give_up(s, c);
		return;
	}
	s->st.rto_expired++;
	if (c->nrtx == 1) { /* RFC 5681 (4): only the first expiry halves */
		if (c->flags & TF_TS_OK) { /* Eifel: keep what to restore if it was spurious */
			c->undo_ts = tcp__ms(s) ? tcp__ms(s) : 1;
			c->undo_cwnd = c->cwnd;
			c->undo_ssthresh = c->ssthresh;
		}
		c->ssthresh = RTE_MAX(flight / 2, 2u * c->mss);
	}
	c->cwnd = c->mss;
	c->rto = RTE_MIN(c->rto * 2, s->cfg.rto_max_ms);
	c->flags &= ~(TF_IN_RECOVERY | TF_SACK_RTX | TF_RTT_TIMING);
	c->dupacks = 0;
	c->recover = c->snd_max; /* RFC 6582 4.1 (after a timeout) */
	c->nsack = 0;
	c->snd_nxt = c->snd_una;
	tcp__outq_add(s, c);
}

void tcp__sndq_free_acked(struct tcp_stack *s, struct tcp_conn *c, uint32_t n)
{
	(void)s;
	while (n > 0 && c->sndq != NULL) {
		struct rte_mbuf *m = c->sndq;
		uint32_t left = m->data_len - c->sndq_off;
		if (n < left) {
			c->sndq_off = (uint16_t)(c->sndq_off + n);
			return;
		}
		n -= left;
		c->sndq_off = 0;
		c->sndq = m->next;
		if (c->snd_cur == m)
			c->snd_cur = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	if (c->sndq == NULL) {
		c->sndq_tail = NULL;
		c->snd_cur = NULL;
		c->sndq_off = 0;
	}
}
