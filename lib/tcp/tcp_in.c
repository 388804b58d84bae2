/**
 * @file tcp_in.c
 * Input: tcp_input -> (checksum, header, options) -> tcp__listen_input for segments without
 * a connection (passive open, SYN cookies, RSTs for strangers), or, for a connection, the
 * RFC 9293 3.10.7 "SEGMENT ARRIVES" event as one switch over the RFC's state names in
 * tcp_input (tcp__syn_sent, tcp__synchronized), with tcp__ack (the ACK field: RTT, congestion control, SACK scoreboard, window) and
 * tcp__receive (the text: in-order delivery, the out-of-order queue, FIN).
 *
 * Hostile input is handled as RFC 9293 and RFC 5961 say: bad checksums, truncated headers and
 * options with impossible lengths are dropped and counted; segments outside the window are
 * answered with an ACK and dropped; an RST is honoured only at exactly RCV.NXT and answered
 * with a (rate-limited) challenge ACK elsewhere in the window; a SYN on a synchronized
 * connection gets a challenge ACK; an ACK for data never sent, or older than the largest
 * window the peer ever offered, is dropped with an ACK. PAWS (RFC 7323 5) drops old
 * duplicates when timestamps are on.
 *
 * The out-of-order queue is in tcp_reass.c.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "tcp/tcp_int.h"

/* One parsed segment. */
struct tcp__seg {
	uint32_t seq, ack, len; /* len: payload bytes */
	uint32_t wnd;           /* raw header value */
	uint8_t flags;
	bool has_mss, sack_ok, has_ts;
	int8_t ws;              /* -1: no window scale option */
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[4][2];
};

#define PAWS_IDLE_MS (24u * 24 * 3600 * 1000) /* RFC 7323 5.5: 24 days */
#define CHALLENGE_ACK_LIMIT 1000              /* per second per stack (RFC 5961 7) */

/* ---------------------------------------------------------------- parsing */

static int tcp__parse_opts(const uint8_t *o, unsigned len, struct tcp__seg *sg)
{
	unsigned i = 0;
	while (i < len) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;
		uint8_t l = o[i + 1];
		if (l < 2 || i + l > len)
			return -EINVAL;
		switch (kind) {
		case 2:
			if (l != 4)
				return -EINVAL;
			sg->has_mss = true;
			sg->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
			break;
		case 3:
			if (l != 3)
				return -EINVAL;
			/* RFC 7323 2.3: a shift above 14 is used as 14 */
			sg->ws = (int8_t)RTE_MIN(o[i + 2], TCP_MAX_WSCALE);
			break;
		case 4:
			if (l != 2)
				return -EINVAL;
			sg->sack_ok = true;
			break;
		case 5:
			if (l < 10 || (l - 2) % 8 != 0)
				return -EINVAL;
			sg->nsack = 0;
			for (unsigned b = 0; b < (unsigned)(l - 2) / 8 && b < 4; b++) {
				uint32_t a, e;
				memcpy(&a, o + i + 2 + 8 * b, 4);
				memcpy(&e, o + i + 6 + 8 * b, 4);
				sg->sack[b][0] = rte_be_to_cpu_32(a);
				sg->sack[b][1] = rte_be_to_cpu_32(e);
				sg->nsack++;
			}
			break;
		case 8:
			if (l != 10)
				return -EINVAL;
			sg->has_ts = true;
			uint32_t v, e;
			memcpy(&v, o + i + 2, 4);
			memcpy(&e, o + i + 6, 4);
			sg->tsval = rte_be_to_cpu_32(v);
			sg->tsecr = rte_be_to_cpu_32(e);
			break;
		default:
			break; /* unknown options are skipped by their length */
		}
		i += l;
	}
	return 0;
}

/* ---------------------------------------------------------------- small helpers */

static void tcp__ack_now(struct tcp_stack *s, struct tcp_conn *c)
{
	c->flags |= TF_ACK_NOW;
	tcp__outq_add(s, c);
}

static void tcp__challenge_ack(struct tcp_stack *s, struct tcp_conn *c)
{
	uint32_t sec = s->now_ms / 1000;
	if (sec != s->challenge_sec) {
		s->challenge_sec = sec;
		s->challenge_cnt = 0;
	}
	if (s->challenge_cnt >= CHALLENGE_ACK_LIMIT)
		return;
	s->challenge_cnt++;
	s->st.challenge_acks++;
	tcp__ack_now(s, c);
}

/* RST in answer to a segment that has no connection (RFC 9293 3.10.7.1). */
static void tcp__reset_stranger(struct tcp_stack *s, const struct tcp__seg *sg, uint32_t lip,
				uint16_t lport, uint32_t rip, uint16_t rport)
{
	if (sg->flags & TCP_RST)
		return;
	if (sg->flags & TCP_ACK) {
		tcp__send_rst(s, lip, lport, rip, rport, sg->ack, 0, TCP_RST);
	} else {
		uint32_t sl = sg->len + ((sg->flags & TCP_SYN) ? 1 : 0) +
			      ((sg->flags & TCP_FIN) ? 1 : 0);
		tcp__send_rst(s, lip, lport, rip, rport, 0, sg->seq + sl, TCP_RST | TCP_ACK);
	}
}

/* Options of a SYN or SYN-ACK from the peer: MSS, window scale, SACK, timestamps. */
static void tcp__apply_syn_opts(struct tcp_stack *s, struct tcp_conn *c,
				const struct tcp__seg *sg)
{
	uint16_t peer = sg->has_mss ? RTE_MAX(sg->mss, (uint16_t)64) : TCP_DEFAULT_MSS;
	c->mss = RTE_MIN(peer, s->mss_local);
	if (sg->ws >= 0) {
		c->flags |= TF_WS_OK;
		c->snd_wscale = (uint8_t)sg->ws;
		c->rcv_wscale = s->rcv_wscale;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	if (sg->sack_ok)
		c->flags |= TF_SACK_OK;
	if (sg->has_ts) {
		c->flags |= TF_TS_OK;
		c->ts_recent = sg->tsval;
		c->ts_recent_ms = s->now_ms;
	}
}

/* ---------------------------------------------------------------- SACK scoreboard */

static void tcp__sack_trim(struct tcp_conn *c)
{
	unsigned j = 0;
	for (unsigned i = 0; i < c->nsack; i++) {
		if (SEQ_LEQ(c->sack[i][1], c->snd_una))
			continue;
		c->sack[j][0] = SEQ_MAX(c->sack[i][0], c->snd_una);
		c->sack[j][1] = c->sack[i][1];
		j++;
	}
	c->nsack = (uint8_t)j;
}

static void tcp__sack_add(struct tcp_conn *c, uint32_t a, uint32_t b)
{
	/* Merge with every block it touches, then insert; when full, forget the lowest block
	 * (the holes that matter for recovery lie below the highest SACKed bytes). */
	for (unsigned i = 0; i < c->nsack;) {
		if (SEQ_LEQ(c->sack[i][0], b) && SEQ_GEQ(c->sack[i][1], a)) {
			a = SEQ_MIN(a, c->sack[i][0]);
			b = SEQ_MAX(b, c->sack[i][1]);
			c->sack[i][0] = c->sack[c->nsack - 1][0];
			c->sack[i][1] = c->sack[c->nsack - 1][1];
			c->nsack--;
		} else {
			i++;
		}
	}
	if (c->nsack == TCP_SACK_MAX) {
		unsigned low = 0;
		for (unsigned i = 1; i < c->nsack; i++)
			if (SEQ_LT(c->sack[i][0], c->sack[low][0]))
				low = i;
		if (SEQ_LT(a, c->sack[low][0]))
			return;
		c->sack[low][0] = a;
		c->sack[low][1] = b;
		return;
	}
	c->sack[c->nsack][0] = a;
	c->sack[c->nsack][1] = b;
	c->nsack++;
}

static bool tcp__sack_update(struct tcp_conn *c, const struct tcp__seg *sg)
{
	bool news = false;
	for (unsigned i = 0; i < sg->nsack; i++) {
		uint32_t a = sg->sack[i][0], b = sg->sack[i][1];
		/* ignore D-SACKs, blocks beyond what we sent, and inverted blocks */
		if (!SEQ_LT(a, b) || SEQ_LEQ(b, c->snd_una) || SEQ_GT(b, c->snd_max) ||
		    SEQ_LT(a, c->snd_una))
			continue;
		tcp__sack_add(c, a, b);
		news = true;
	}
	return news;
}

/* ---------------------------------------------------------------- the ACK field */

/* Process an acceptable ACK in a synchronized state (RFC 9293 3.10.7.4, fifth check, with
 * RFC 5681/6582 congestion control). Returns false when the connection died meanwhile. */
static bool tcp__ack(struct tcp_stack *s, struct tcp_conn *c, const struct tcp__seg *sg)
{
	uint32_t ack = sg->ack;
	uint32_t wnd = sg->wnd << c->snd_wscale;
	/* Duplicate ACK: RFC 5681 2 (no data, same window), or RFC 6675 2 (new SACK
	 * information) so that ACKs riding on the peer's own data still count. */
	bool dup = ack == c->snd_una && c->snd_max != c->snd_una && !(sg->flags & (TCP_SYN | TCP_FIN)) &&
		   sg->len == 0 && wnd == c->snd_wnd;
	if ((c->flags & TF_SACK_OK) && sg->nsack > 0 && tcp__sack_update(c, sg) &&
	    ack == c->snd_una && c->snd_max != c->snd_una)
		dup = true;
	if (c->snd_wnd == 0)
		c->nrtx = 0; /* an answer to our probes: the peer is alive */

	if (SEQ_GT(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una;
		uint32_t data = acked;
		if ((c->flags & TF_FIN_QUEUED) && SEQ_GT(ack, c->snd_lbb))
			data--; /* our FIN */
		tcp__sndq_free_acked(s, c, data);

		/* Eifel (RFC 3522): the first ACK of new data after an RTO echoes a timestamp
		 * older than the retransmission, so it answers the original: the timeout was a
		 * delay, not a loss (a queue on the path, a slow receiver). Undo the cwnd and
		 * ssthresh cut and go on after what was already sent instead of resending it
		 * all (RFC 4015's response, without its RTO adaptation: the sample below
		 * recomputes the RTO from the long RTT anyway). */
		if (c->undo_ts != 0) {
			if (sg->has_ts && sg->tsecr != 0 && SEQ_LT(sg->tsecr, c->undo_ts)) {
				s->st.spurious_rtos++;
				c->cwnd = RTE_MAX(c->cwnd, c->undo_cwnd);
				c->ssthresh = RTE_MAX(c->ssthresh, c->undo_ssthresh);
				c->snd_nxt = c->snd_max;
			}
			c->undo_ts = 0;
		}

		if ((c->flags & TF_TS_OK) && sg->has_ts && sg->tsecr != 0)
			tcp__rtt_sample(s, c, tcp__ms(s) - sg->tsecr);
		else if ((c->flags & TF_RTT_TIMING) && SEQ_GT(ack, c->rtt_seq)) {
			c->flags &= ~TF_RTT_TIMING;
			tcp__rtt_sample(s, c, tcp__ms(s) - c->rtt_start);
		}
		c->nrtx = 0;
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		tcp__sack_trim(c);

		uint32_t flight = c->snd_max - c->snd_una;
		if (c->flags & TF_IN_RECOVERY) {
			if (SEQ_GEQ(ack, c->recover)) { /* full ACK: RFC 6582 3.2 step 3 */
				c->cwnd = RTE_MIN(c->ssthresh, RTE_MAX(flight, (uint32_t)c->mss) +
								   c->mss);
				c->flags &= ~(TF_IN_RECOVERY | TF_SACK_RTX);
				c->dupacks = 0;
			} else { /* partial ACK: resend the next hole, deflate */
				tcp__retransmit(s, c, c->snd_una, c->mss);
				c->rtx_hint = SEQ_MAX(c->rtx_hint, c->snd_una + c->mss);
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : c->mss;
				if (acked >= c->mss)
					c->cwnd += c->mss;
			}
		} else {
			c->dupacks = 0;
			if (c->cwnd < c->ssthresh)
				c->cwnd += RTE_MIN(acked, (uint32_t)c->mss); /* slow start */
			else
				c->cwnd += RTE_MAX(1u, (uint32_t)c->mss * c->mss / c->cwnd);
		}
		c->cwnd = RTE_MIN(c->cwnd, 1u << 30);

		/* RFC 6298 5.2/5.3: stop when all is ACKed, else restart */
		c->rtx_at = 0;
		if (c->snd_max != c->snd_una)
			tcp__arm_rtx(s, c);
		else
			tcp__timer_update(s, c);
		tcp__outq_add(s, c);
	} else if (dup) {
		s->st.dup_acks++;
		if (c->flags & TF_IN_RECOVERY) {
			c->cwnd += c->mss;
			c->flags |= TF_SACK_RTX;
			tcp__outq_add(s, c);
		} else if (++c->dupacks == 3 && SEQ_GT(ack, c->recover)) {
			uint32_t flight = c->snd_max - c->snd_una;
			s->st.fast_retransmits++;
			c->ssthresh = RTE_MAX(flight / 2, 2u * c->mss);
			c->recover = c->snd_max;
			c->flags |= TF_IN_RECOVERY;
			tcp__retransmit(s, c, c->snd_una, c->mss);
			c->rtx_hint = c->snd_una + c->mss;
			c->cwnd = c->ssthresh + 3u * c->mss;
			tcp__outq_add(s, c);
		}
	}

	/* Window update (RFC 9293 3.10.7.4: SND.WL1/SND.WL2 guard against old segments). */
	if (SEQ_LT(c->snd_wl1, sg->seq) ||
	    (c->snd_wl1 == sg->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		uint32_t old = c->snd_wnd;
		c->snd_wnd = wnd;
		c->snd_wl1 = sg->seq;
		c->snd_wl2 = ack;
		c->max_snd_wnd = RTE_MAX(c->max_snd_wnd, wnd);
		if (old == 0 && wnd > 0) {
			/* window reopened: leave persist, resend from snd_una at once */
			c->nrtx = 0;
			c->snd_nxt = c->snd_una;
			c->rtx_at = 0;
			tcp__timer_update(s, c);
			tcp__outq_add(s, c);
		} else if (wnd > old) {
			tcp__outq_add(s, c);
		}
	}

	if ((c->flags & TF_WANT_WRITE) && tcp_sndbuf(c) > 0) {
		c->flags &= ~TF_WANT_WRITE;
		if (!(c->flags & TF_APP_GONE) && c->cb != NULL && c->cb->writable != NULL)
			c->cb->writable(c->arg, c);
		if (c->flags & TF_DEAD)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- text: data and FIN */

static bool tcp__deliver(struct tcp_stack *s, struct tcp_conn *c, struct rte_mbuf *m)
{
	s->st.bytes_in += m->pkt_len;
	if ((c->flags & TF_APP_GONE) || c->cb == NULL || c->cb->data == NULL) {
		rte_pktmbuf_free(m);
		return true;
	}
	c->rcv_held += m->pkt_len;
	c->cb->data(c->arg, c, m);
	return !(c->flags & TF_DEAD);
}

/* The peer's FIN is in order: consume it (RFC 9293 3.10.7.4, eighth check). */
static bool tcp__fin(struct tcp_stack *s, struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags &= ~TF_OOO_FIN;
	tcp__ack_now(s, c);
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		c->state = TCP_CLOSING; /* our FIN is not yet ACKed (else we'd be in FIN-WAIT-2) */
		break;
	case TCP_FIN_WAIT_2:
		c->rtx_at = 0; /* the orphan timer, if any, gives way to TIME-WAIT */
		if (!(c->flags & TF_APP_GONE) && c->cb != NULL && c->cb->data != NULL) {
			c->cb->data(c->arg, c, NULL);
			if (c->flags & TF_DEAD)
				return false;
		}
		tcp__enter_time_wait(s, c);
		return !(c->flags & TF_DEAD);
	case TCP_TIME_WAIT:
		tcp__enter_time_wait(s, c); /* restart the 2 MSL timeout */
		return true;
	default:
		return true;
	}
	if (!(c->flags & TF_APP_GONE) && c->cb != NULL && c->cb->data != NULL)
		c->cb->data(c->arg, c, NULL);
	return !(c->flags & TF_DEAD);
}

/* Text and FIN of an acceptable, trimmed segment (seventh and eighth checks). Consumes m. */
static void tcp__receive(struct tcp_stack *s, struct tcp_conn *c, const struct tcp__seg *sg,
			 struct rte_mbuf *m)
{
	uint32_t seq = sg->seq;
	bool fin = sg->flags & TCP_FIN;

	if (m != NULL) {
		switch (c->state) {
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT_1:
		case TCP_FIN_WAIT_2:
			break;
		default: /* after the peer's FIN: nothing more can be data */
			rte_pktmbuf_free(m);
			return;
		}
		if (c->flags & TF_APP_GONE) {
			/* Data for a closed application: the peer must learn it is lost (Linux
			 * answers likewise with RST). */
			rte_pktmbuf_free(m);
			tcp__send_rst(s, c->lip, c->lport, c->rip, c->rport, c->snd_max, 0, TCP_RST);
			tcp__release(s, c);
			return;
		}
		if (seq == c->rcv_nxt) {
			bool had_ooo = c->ooq != NULL;
			struct rte_mbuf *tail = rte_pktmbuf_lastseg(m);
			c->rcv_nxt += m->pkt_len;
			tcp__ooo_pull(c, &m, &tail);
			if (had_ooo || s->cfg.no_delayed_ack || (c->flags & TF_ACK_DELAYED)) {
				tcp__ack_now(s, c);
			} else {
				c->flags |= TF_ACK_DELAYED;
				c->dack_at = tcp__ms(s) + s->cfg.delayed_ack_ms;
				tcp__timer_update(s, c);
				tcp__outq_add(s, c);
			}
			if (!tcp__deliver(s, c, m))
				return;
		} else {
			tcp__ooo_insert(s, c, m, seq);
			tcp__ack_now(s, c); /* RFC 5681 4.2: out-of-order data is ACKed at once */
			if (fin) {
				c->flags |= TF_OOO_FIN;
				c->ooo_fin_seq = seq + sg->len;
				fin = false;
			}
		}
	}
	if (fin) {
		if (seq + sg->len != c->rcv_nxt) {
			if (SEQ_GT(seq + sg->len, c->rcv_nxt)) {
				c->flags |= TF_OOO_FIN;
				c->ooo_fin_seq = seq + sg->len;
				tcp__ack_now(s, c);
			}
			return;
		}
		tcp__fin(s, c);
		return;
	}
	if ((c->flags & TF_OOO_FIN) && c->ooo_fin_seq == c->rcv_nxt && c->ooq == NULL)
		tcp__fin(s, c);
}

/* ---------------------------------------------------------------- SYN-SENT */

static void tcp__syn_sent(struct tcp_stack *s, struct tcp_conn *c, const struct tcp__seg *sg)
{
	bool ack_ok = false;
	if (sg->flags & TCP_ACK) {
		if (SEQ_LEQ(sg->ack, c->iss) || SEQ_GT(sg->ack, c->snd_max)) {
			if (!(sg->flags & TCP_RST))
				tcp__send_rst(s, c->lip, c->lport, c->rip, c->rport, sg->ack, 0,
					      TCP_RST);
			return;
		}
		ack_ok = true;
	}
	if (sg->flags & TCP_RST) {
		if (ack_ok) { /* connection refused */
			s->st.resets_in++;
			tcp__notify_closed(s, c, TCP_CLOSE_RESET);
			tcp__release(s, c);
		}
		return;
	}
	if (!(sg->flags & TCP_SYN))
		return;
	c->irs = sg->seq;
	c->rcv_nxt = sg->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	tcp__apply_syn_opts(s, c, sg);
	tcp__init_cc(s, c);
	c->snd_wnd = sg->wnd; /* never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = sg->seq;
	c->snd_wl2 = sg->ack;
	if (ack_ok) {
		c->snd_una = sg->ack;
		c->flags |= TF_SYN_ACKED;
		c->state = TCP_ESTABLISHED;
		c->nrtx = 0;
		c->rtx_at = 0;
		if ((c->flags & TF_TS_OK) && sg->tsecr != 0)
			tcp__rtt_sample(s, c, tcp__ms(s) - sg->tsecr);
		tcp__timer_update(s, c);
		s->st.conns_opened++;
		tcp__ack_now(s, c);
		if (c->cb != NULL && c->cb->connected != NULL)
			c->cb->connected(c->arg, c);
	} else {
		/* simultaneous open (RFC 9293 figure 7): answer with SYN-ACK */
		c->state = TCP_SYN_RECEIVED;
		c->snd_nxt = c->iss;
		tcp__outq_add(s, c);
	}
}

/* ---------------------------------------------------------------- synchronized states */

static bool tcp__acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seglen,
			    uint32_t wnd)
{
	if (seglen == 0) {
		if (wnd == 0)
			return seq == c->rcv_nxt;
		return SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return seq == c->rcv_nxt; /* keep the ACK; the text is trimmed away below */
	return (SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
	       (SEQ_LEQ(c->rcv_nxt, seq + seglen - 1) && SEQ_LT(seq + seglen - 1, c->rcv_nxt + wnd));
}

static void tcp__established_now(struct tcp_stack *s, struct tcp_conn *c,
				 const struct tcp__seg *sg)
{
	if (!(c->flags & TF_ACTIVE))
		s->syn_rcvd--;
	c->state = TCP_ESTABLISHED;
	c->flags |= TF_SYN_ACKED;
	c->snd_una = sg->ack;
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->snd_wnd = sg->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = sg->seq;
	c->snd_wl2 = sg->ack;
	c->nrtx = 0;
	c->rtx_at = 0;
	if ((c->flags & TF_TS_OK) && sg->has_ts && sg->tsecr != 0)
		tcp__rtt_sample(s, c, tcp__ms(s) - sg->tsecr);
	tcp__timer_update(s, c);
	s->st.conns_opened++;
	tcp__outq_add(s, c);
}

/* RFC 9293 3.10.7.4 for every state but CLOSED, LISTEN and SYN-SENT. Consumes m. */
static void tcp__synchronized(struct tcp_stack *s, struct tcp_conn *c, struct tcp__seg *sg,
			      struct rte_mbuf *m)
{
	uint32_t seglen = sg->len + ((sg->flags & TCP_SYN) ? 1 : 0) + ((sg->flags & TCP_FIN) ? 1 : 0);

	/* a retransmitted SYN while our SYN-ACK is pending: resend the SYN-ACK */
	if (c->state == TCP_SYN_RECEIVED && (sg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    sg->seq == c->irs) {
		c->snd_nxt = c->iss;
		tcp__outq_add(s, c);
		goto drop;
	}

	/* PAWS (RFC 7323 5.3) */
	if ((c->flags & TF_TS_OK) && sg->has_ts && !(sg->flags & TCP_RST) &&
	    SEQ_LT(sg->tsval, c->ts_recent) && s->now_ms - c->ts_recent_ms < PAWS_IDLE_MS) {
		s->st.paws_drops++;
		tcp__ack_now(s, c);
		goto drop;
	}

	/* first: sequence number */
	uint32_t wnd = tcp__rcv_window(s, c);
	if (SEQ_GT(c->rcv_adv, c->rcv_nxt + wnd))
		wnd = c->rcv_adv - c->rcv_nxt; /* what we announced still holds */
	if (!tcp__acceptable(c, sg->seq, seglen, wnd)) {
		if (!(sg->flags & TCP_RST)) {
			s->st.out_of_window++;
			tcp__ack_now(s, c);
		}
		goto drop;
	}
	/* RFC 7323 4.3: remember the newest timestamp of a segment that covers RCV.NXT */
	if ((c->flags & TF_TS_OK) && sg->has_ts && SEQ_LEQ(sg->seq, c->rcv_nxt) &&
	    SEQ_GEQ(sg->tsval, c->ts_recent)) {
		c->ts_recent = sg->tsval;
		c->ts_recent_ms = s->now_ms;
	}
	/* trim to the window: old bytes in front, bytes past the right edge at the tail */
	if (SEQ_LT(sg->seq, c->rcv_nxt) && !(sg->flags & TCP_SYN)) {
		uint32_t d = c->rcv_nxt - sg->seq;
		if (d >= sg->len) {
			if (m != NULL)
				rte_pktmbuf_free(m);
			m = NULL;
			if (d > sg->len)
				sg->flags &= ~TCP_FIN; /* that FIN is the old one */
			sg->len = 0;
		} else {
			m = tcp__chain_adj(m, d);
			sg->len -= d;
		}
		sg->seq = c->rcv_nxt;
	}
	if (sg->len > 0 && SEQ_GT(sg->seq + sg->len, c->rcv_nxt + wnd)) {
		uint32_t keep = SEQ_GT(c->rcv_nxt + wnd, sg->seq) ? c->rcv_nxt + wnd - sg->seq : 0;
		m = tcp__chain_trim(m, keep);
		sg->len = keep;
		sg->flags &= ~TCP_FIN;
		tcp__ack_now(s, c);
	}

	/* memory pressure: keep the ACK, drop the text (see tcp_poll) */
	if (s->mem_low && sg->len > 0) {
		s->st.mem_drops++;
		rte_pktmbuf_free(m);
		m = NULL;
		sg->len = 0;
		sg->flags &= ~TCP_FIN;
	}

	/* second: RST (RFC 5961 3.2) */
	if (sg->flags & TCP_RST) {
		if (sg->seq != c->rcv_nxt) {
			tcp__challenge_ack(s, c);
			goto drop;
		}
		s->st.resets_in++;
		if (c->state == TCP_SYN_RECEIVED && !(c->flags & TF_ACTIVE)) {
			tcp__release(s, c); /* back to LISTEN: the listener never saw it */
			goto drop;
		}
		tcp__notify_closed(s, c, TCP_CLOSE_RESET);
		tcp__release(s, c);
		goto drop;
	}

	/* fourth: SYN (RFC 5961 4.2) */
	if (sg->flags & TCP_SYN) {
		if (c->state == TCP_SYN_RECEIVED && !(c->flags & TF_ACTIVE)) {
			tcp__release(s, c);
			goto drop;
		}
		tcp__challenge_ack(s, c);
		goto drop;
	}

	/* fifth: ACK */
	if (!(sg->flags & TCP_ACK))
		goto drop;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
		if (!(SEQ_LT(c->snd_una, sg->ack) && SEQ_LEQ(sg->ack, c->snd_max))) {
			tcp__send_rst(s, c->lip, c->lport, c->rip, c->rport, sg->ack, 0, TCP_RST);
			goto drop;
		}
		tcp__established_now(s, c, sg);
		if (c->flags & TF_ACTIVE) {
			if (c->cb != NULL && c->cb->connected != NULL)
				c->cb->connected(c->arg, c);
		} else if (tcp__listener_find(s, c->lip, c->lport) == NULL ||
			   c->cb == NULL || (c->cb->accepted != NULL && c->cb->accepted(c->arg, c) < 0)) {
			if (!(c->flags & TF_DEAD))
				tcp_abort(c);
		}
		if (c->flags & TF_DEAD)
			goto drop;
		break;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
		if (SEQ_GT(sg->ack, c->snd_max)) { /* ACKs something not yet sent */
			tcp__ack_now(s, c);
			goto drop;
		}
		if (SEQ_LT(sg->ack, c->snd_una - RTE_MAX(c->max_snd_wnd, 1u))) { /* RFC 5961 5.2 */
			tcp__challenge_ack(s, c);
			goto drop;
		}
		if (!tcp__ack(s, c, sg))
			goto drop;
		break;
	default:
		goto drop;
	}

	bool fin_acked = (c->flags & TF_FIN_QUEUED) && SEQ_GT(c->snd_una, c->snd_lbb);
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		if (fin_acked) {
			c->state = TCP_FIN_WAIT_2;
			if (c->flags & TF_APP_GONE) { /* orphan: bound the wait for their FIN */
				c->rtx_at = tcp__ms(s) + s->cfg.time_wait_ms;
				tcp__timer_update(s, c);
			}
		}
		break;
	case TCP_CLOSING:
		if (fin_acked)
			tcp__enter_time_wait(s, c);
		goto drop;
	case TCP_LAST_ACK:
		if (fin_acked) {
			tcp__notify_closed(s, c, TCP_CLOSE_NORMAL);
			tcp__release(s, c);
		}
		goto drop;
	default:
		break;
	}
	if (c->flags & TF_DEAD)
		goto drop;

	/* seventh and eighth: text and FIN */
	tcp__receive(s, c, sg, m);
	return;
drop:
	if (m != NULL)
		rte_pktmbuf_free(m);
}

/* ---------------------------------------------------------------- LISTEN */

static void tcp__listen_input(struct tcp_stack *s, struct tcp__seg *sg, struct rte_mbuf *m,
			      uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	struct tcp__listener *l = tcp__listener_find(s, lip, lport);
	if (l == NULL) {
		tcp__reset_stranger(s, sg, lip, lport, rip, rport);
		goto drop;
	}
	if (sg->flags & TCP_RST)
		goto drop;
	if (sg->flags & TCP_ACK) {
		/* Not SYN: the third step of a handshake answered with a SYN cookie, or junk. */
		uint16_t mss;
		int ws;
		bool sack;
		if ((sg->flags & TCP_SYN) ||
		    tcp__cookie_check(s, lip, lport, rip, rport, sg->seq - 1, sg->ack - 1, &mss,
				      &ws, &sack) != 0) {
			if (!(sg->flags & TCP_SYN))
				s->st.syncookies_bad++;
			tcp__reset_stranger(s, sg, lip, lport, rip, rport);
			goto drop;
		}
		struct tcp_conn *c = tcp__conn_new(s, lip, lport, rip, rport);
		if (c == NULL) {
			s->st.listen_drops++;
			goto drop;
		}
		s->st.syncookies_ok++;
		struct tcp__seg syn = { .seq = sg->seq - 1, .has_mss = true, .mss = mss,
					.ws = (int8_t)ws, .sack_ok = sack, .has_ts = sg->has_ts,
					.tsval = sg->tsval };
		c->state = TCP_SYN_RECEIVED;
		c->iss = sg->ack - 1;
		c->snd_una = c->iss;
		c->snd_nxt = c->snd_max = c->iss + 1;
		c->snd_lbb = c->iss + 1;
		c->irs = sg->seq - 1;
		c->rcv_nxt = sg->seq;
		c->cb = l->cb;
		c->arg = l->arg;
		tcp__apply_syn_opts(s, c, &syn);
		c->rcv_adv = c->rcv_nxt + tcp__rcv_window(s, c);
		tcp__init_cc(s, c);
		c->recover = c->iss;
		s->syn_rcvd++; /* tcp__established_now takes it back */
		tcp__synchronized(s, c, sg, m);
		return;
	}
	if (!(sg->flags & TCP_SYN))
		goto drop;
	if (s->st.conns_cur >= s->cfg.max_conns) {
		s->st.listen_drops++;
		goto drop;
	}
	if (s->syn_rcvd >= s->cfg.syn_backlog) {
		uint16_t peer = sg->has_mss ? sg->mss : TCP_DEFAULT_MSS;
		uint32_t iss = tcp__cookie_make(s, lip, lport, rip, rport, sg->seq,
						RTE_MIN(peer, s->mss_local), sg->ws, sg->sack_ok);
		s->st.syncookies_sent++;
		tcp__send_synack_cookie(s, lip, lport, rip, rport, iss, sg->seq, peer, sg->ws,
					sg->sack_ok, sg->has_ts, sg->tsval);
		goto drop;
	}
	struct tcp_conn *c = tcp__conn_new(s, lip, lport, rip, rport);
	if (c == NULL) {
		s->st.listen_drops++;
		goto drop;
	}
	c->state = TCP_SYN_RECEIVED;
	s->syn_rcvd++;
	c->iss = tcp__isn(s, lip, lport, rip, rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_lbb = c->iss + 1;
	c->recover = c->iss;
	c->irs = sg->seq;
	c->rcv_nxt = sg->seq + 1;
	tcp__apply_syn_opts(s, c, sg);
	c->rcv_adv = c->rcv_nxt;
	c->snd_wnd = sg->wnd;
	c->max_snd_wnd = sg->wnd;
	c->cb = l->cb;
	c->arg = l->arg;
	tcp__init_cc(s, c);
	tcp__outq_add(s, c); /* SYN-ACK at the flush; data on a SYN is not queued */
drop:
	if (m != NULL)
		rte_pktmbuf_free(m);
}

/* ---------------------------------------------------------------- tcp_input */

struct tcp__hdr_in {
	rte_be16_t sport, dport;
	rte_be32_t seq, ack;
	uint8_t off;
	uint8_t flags;
	rte_be16_t win;
	uint16_t cksum;
	rte_be16_t urp;
} __attribute__((packed));

void tcp_input(void *l4, struct rte_mbuf *m, uint32_t src_ip, uint32_t dst_ip)
{
	struct tcp_stack *s = l4;
	s->st.segs_in++;
	uint32_t plen = m->pkt_len;
	if (plen < TCP_HDR_LEN) {
		s->st.malformed++;
		goto drop;
	}
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	    (ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD && tcp__cksum_l4(m, src_ip, dst_ip, plen) != 0)) {
		s->st.cksum_errors++;
		goto drop;
	}
	uint8_t hbuf[TCP_HDR_LEN + TCP_OPT_MAX];
	const struct tcp__hdr_in *th = rte_pktmbuf_read(m, 0, TCP_HDR_LEN, hbuf);
	unsigned hl = (th->off >> 4) * 4u;
	if (hl < TCP_HDR_LEN || hl > plen || th->sport == 0 || th->dport == 0) {
		s->st.malformed++;
		goto drop;
	}
	struct tcp__seg sg;
	memset(&sg, 0, sizeof(sg));
	sg.ws = -1;
	sg.seq = rte_be_to_cpu_32(th->seq);
	sg.ack = rte_be_to_cpu_32(th->ack);
	sg.flags = th->flags & 0x3f;
	sg.wnd = rte_be_to_cpu_16(th->win);
	uint16_t sport = rte_be_to_cpu_16(th->sport), dport = rte_be_to_cpu_16(th->dport);
	if (hl > TCP_HDR_LEN) {
		const uint8_t *h = rte_pktmbuf_read(m, 0, hl, hbuf);
		if (tcp__parse_opts(h + TCP_HDR_LEN, hl - TCP_HDR_LEN, &sg) != 0) {
			s->st.malformed++;
			goto drop;
		}
	}
	if ((sg.flags & (TCP_SYN | TCP_RST)) == (TCP_SYN | TCP_RST) ||
	    (sg.flags & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN)) {
		s->st.malformed++; /* no legitimate stack sends these */
		goto drop;
	}
	sg.len = plen - hl;
	m = tcp__chain_adj(m, hl); /* NULL when there is no payload */

	struct tcp_conn *c = tcp__lookup(s, dst_ip, dport, src_ip, sport);
	if (c == NULL) {
		tcp__listen_input(s, &sg, m, dst_ip, dport, src_ip, sport);
		return;
	}
	switch (c->state) {
	case TCP_SYN_SENT:
		if (m != NULL)
			rte_pktmbuf_free(m); /* data on a SYN-ACK is resent by the peer */
		tcp__syn_sent(s, c, &sg);
		return;
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
		tcp__synchronized(s, c, &sg, m);
		return;
	case TCP_CLOSED:
	case TCP_LISTEN:
	default:
		break;
	}
drop:
	if (m != NULL)
		rte_pktmbuf_free(m);
}
