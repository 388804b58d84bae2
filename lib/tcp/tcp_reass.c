/**
 * @file tcp_reass.c
 * Reassembly: the out-of-order queue of a connection and the mbuf-chain surgery that input
 * needs (cutting bytes off the front or the tail of a received chain). Called by tcp_in.c.
 *
 * Out-of-order data: each received mbuf of a segment is kept as a separate entry of the
 * connection's ooq (sorted, disjoint: overlaps are trimmed on insertion, so duplicated and
 * overlapping retransmissions cost nothing twice), tagged with its sequence number in
 * hash.usr. The queue's payload is bounded by rcvbuf; past it, segments are dropped (the
 * peer retransmits). When RCV.NXT reaches the head, the contiguous entries are relinked into
 * one chain and handed to the application with the in-order segment: nothing is copied.
 */
#include <rte_mbuf.h>

#include "tcp/tcp_int.h"

/* ---------------------------------------------------------------- mbuf chains */

struct rte_mbuf *tcp__chain_adj(struct rte_mbuf *m, uint32_t n)
{
	uint32_t total = m->pkt_len;
	uint16_t nsegs = m->nb_segs;
	if (n >= total) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	total -= n;
	/* drop whole leading segments, then cut into the first one kept; empty segments left
	 * in front are dropped too, so the chain starts with a byte */
	while (n > 0 ? n >= m->data_len : (m->data_len == 0 && m->next != NULL)) {
		struct rte_mbuf *next = m->next;
		n -= m->data_len;
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = next;
		nsegs--;
	}
	m->data_off = (uint16_t)(m->data_off + n);
	m->data_len = (uint16_t)(m->data_len - n);
	m->pkt_len = total;
	m->nb_segs = nsegs;
	return m;
}

struct rte_mbuf *tcp__chain_trim(struct rte_mbuf *m, uint32_t keep)
{
	if (keep == 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (keep >= m->pkt_len)
		return m;
	uint32_t acc = 0;
	uint16_t nsegs = 0;
	for (struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
		nsegs++;
		if (acc + seg->data_len >= keep) {
			seg->data_len = (uint16_t)(keep - acc);
			if (seg->next != NULL) {
				seg->next->nb_segs = 1; /* the tail's own count is irrelevant to free */
				rte_pktmbuf_free(seg->next);
				seg->next = NULL;
			}
			break;
		}
		acc += seg->data_len;
	}
	m->pkt_len = keep;
	m->nb_segs = nsegs;
	return m;
}

/* Insert the mbufs of @p m (payload at @p seq, beyond rcv_nxt) into the out-of-order queue. */
void tcp__ooo_insert(struct tcp_stack *s, struct tcp_conn *c, struct rte_mbuf *m,
			    uint32_t seq)
{
	s->st.ooo_segs++;
	c->ooo_last = seq;
	while (m != NULL) {
		struct rte_mbuf *seg = m;
		m = m->next;
		seg->next = NULL;
		seg->nb_segs = 1;
		seg->pkt_len = seg->data_len;
		uint32_t a = seq, b = seq + seg->data_len;
		seq = b;
		if (a == b || c->ooo_bytes + (b - a) > s->cfg.rcvbuf) {
			if (a != b)
				s->st.ooo_drops++;
			rte_pktmbuf_free_seg(seg);
			continue;
		}
		/* find the insertion point: prev ends before or at a, *pp starts after a */
		struct rte_mbuf **pp = &c->ooq, *prev = NULL;
		while (*pp != NULL && SEQ_LEQ((*pp)->hash.usr, a)) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (prev != NULL) {
			uint32_t pend = prev->hash.usr + prev->data_len;
			if (SEQ_GEQ(pend, b)) { /* duplicate */
				rte_pktmbuf_free_seg(seg);
				continue;
			}
			if (SEQ_GT(pend, a)) { /* overlap: trim our front */
				seg->data_off = (uint16_t)(seg->data_off + (pend - a));
				seg->data_len = (uint16_t)(seg->data_len - (pend - a));
				a = pend;
			}
		}
		/* successors we cover entirely go; one we overlap cuts our tail */
		while (*pp != NULL && SEQ_LT((*pp)->hash.usr, b)) {
			struct rte_mbuf *n = *pp;
			uint32_t nend = n->hash.usr + n->data_len;
			if (SEQ_LEQ(nend, b)) {
				*pp = n->next;
				c->ooo_bytes -= n->data_len;
				n->next = NULL;
				rte_pktmbuf_free_seg(n);
			} else {
				seg->data_len = (uint16_t)(n->hash.usr - a);
				b = n->hash.usr;
				break;
			}
		}
		seg->pkt_len = seg->data_len;
		seg->hash.usr = a;
		seg->next = *pp;
		*pp = seg;
		c->ooo_bytes += seg->data_len;
	}
}

/* Pull what became contiguous out of the ooq and append it to the chain (head, tail). */
void tcp__ooo_pull(struct tcp_conn *c, struct rte_mbuf **head, struct rte_mbuf **tail)
{
	while (c->ooq != NULL && SEQ_LEQ(c->ooq->hash.usr, c->rcv_nxt)) {
		struct rte_mbuf *seg = c->ooq;
		c->ooq = seg->next;
		seg->next = NULL;
		c->ooo_bytes -= seg->data_len;
		uint32_t end = seg->hash.usr + seg->data_len;
		if (SEQ_LEQ(end, c->rcv_nxt)) {
			rte_pktmbuf_free_seg(seg);
			continue;
		}
		uint32_t d = c->rcv_nxt - seg->hash.usr;
		seg->data_off = (uint16_t)(seg->data_off + d);
		seg->data_len = (uint16_t)(seg->data_len - d);
		seg->pkt_len = seg->data_len;
		c->rcv_nxt = end;
		if (*head == NULL) {
			*head = seg;
		} else {
			(*tail)->next = seg;
			(*head)->nb_segs++;
			(*head)->pkt_len += seg->data_len;
		}
		*tail = seg;
	}
}
