/**
 * @file tcp.c
 * Control blocks and the per-worker machinery around them: the stack, the 4-tuple table,
 * the timer wheel, the output list, and the application calls of tcp.h. Segment input is in
 * tcp_in.c, segment output in tcp_out.c.
 *
 * Timers: each connection has at most two deadlines (rtx_at: retransmission, zero-window
 * probe, TIME_WAIT or orphan FIN_WAIT_2; dack_at: delayed ACK) and one link into a wheel of
 * 4096 one-millisecond slots, filed under the earlier deadline. tcp_poll() visits only the
 * slots whose tick has passed; an entry filed for a later turn of the wheel is put back. An
 * idle established connection has no deadline and costs the wheel nothing.
 *
 * Output list: whatever makes a connection want to send (tcp_send, an ACK to give, a timer)
 * links it once on the stack's output list; tcp_poll() then calls tcp__output() once per
 * listed connection, so all the data an iteration queued goes out together and ACKs ride on
 * it. Released connections are also parked on that list and freed there: a callback may
 * abort a connection while the code below it still holds the pointer, so memory is reused
 * only at the next flush (lwIP's ERR_ABRT rule, made structural).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include "tcp/tcp_int.h"

/* ---------------------------------------------------------------- stack */

static uint32_t tcp__pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

static void tcp__mem_check(struct tcp_stack *s);

struct tcp_stack *tcp_stack_create(const struct tcp_stack_config *cfg)
{
	if (cfg == NULL || cfg->pool == NULL || cfg->ip_output == NULL ||
	    (cfg->mtu != 0 && cfg->mtu < 128) ||
	    (cfg->tx_pool != NULL &&
	     rte_pktmbuf_data_room_size(cfg->tx_pool) < RTE_PKTMBUF_HEADROOM + TCP_HDR_LEN +
							  TCP_OPT_MAX)) {
		rte_errno = EINVAL;
		return NULL;
	}
	struct tcp_stack *s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto err;
	s->cfg = *cfg;
	struct tcp_stack_config *c = &s->cfg;
	if (c->mtu == 0)
		c->mtu = 1500;
	if (c->rto_min_ms == 0)
		c->rto_min_ms = 200;
	if (c->rto_max_ms == 0)
		c->rto_max_ms = 60000;
	if (c->rto_max_ms < c->rto_min_ms)
		c->rto_max_ms = c->rto_min_ms;
	if (c->rto_initial_ms == 0)
		c->rto_initial_ms = 1000;
	if (c->max_retries == 0)
		c->max_retries = 8;
	if (c->max_retries > 250)
		c->max_retries = 250;
	if (c->syn_retries == 0)
		c->syn_retries = 5;
	if (c->syn_retries > 250)
		c->syn_retries = 250;
	if (c->time_wait_ms == 0)
		c->time_wait_ms = 60000;
	if (c->delayed_ack_ms == 0)
		c->delayed_ack_ms = 40;
	if (c->max_conns == 0)
		c->max_conns = 1048576;
	if (c->syn_backlog == 0)
		c->syn_backlog = 4096;
	if (c->sndbuf == 0)
		c->sndbuf = 262144;
	if (c->rcvbuf == 0)
		c->rcvbuf = 262144;
	if (c->rcvbuf > (1u << 30))
		c->rcvbuf = 1u << 30;
	static const uint8_t zero[16];
	if (memcmp(c->secret, zero, 16) == 0) {
		for (int i = 0; i < 16; i += 8) {
			uint64_t r = rte_rand();
			memcpy(c->secret + i, &r, 8);
		}
	}
	s->mss_local = c->mtu - 40;
	while (s->rcv_wscale < TCP_MAX_WSCALE && (c->rcvbuf >> s->rcv_wscale) > 65535)
		s->rcv_wscale++;
	s->now_ns = c->now_ns;
	s->now_ms = (uint32_t)(c->now_ns / 1000000);
	s->wheel_ms = s->now_ms;
	tcp__mem_check(s);
	s->next_port = 32768 + (uint16_t)(rte_rand() % (61000 - 32768));
	s->hash_seed = (uint32_t)tcp__siphash(c->secret, "tcp-hash", 8);

	/* Buckets: one per 4 connections of the limit (chains stay short at the limit, and an
	 * idle connection pays 2 bytes of table). */
	uint32_t nb = tcp__pow2(c->max_conns / 4 < 64 ? 64 : c->max_conns / 4);
	s->buckets = calloc(nb, sizeof(*s->buckets));
	if (s->buckets == NULL)
		goto err;
	s->hmask = nb - 1;
	return s;
err:
	if (s != NULL)
		free(s->buckets);
	free(s);
	rte_errno = ENOMEM;
	return NULL;
}

static void tcp__flush_dead(struct tcp_stack *s);

void tcp_stack_destroy(struct tcp_stack *s)
{
	if (s == NULL)
		return;
	for (uint32_t b = 0; b <= s->hmask; b++) {
		while (s->buckets[b] != NULL) {
			struct tcp_conn *c = s->buckets[b];
			c->flags |= TF_APP_GONE; /* no callbacks from destroy */
			tcp__release(s, c);
		}
	}
	tcp__flush_dead(s);
	for (uint32_t i = 0; i < s->nslabs; i++)
		free(s->slabs[i]);
	free(s->slabs);
	free(s->buckets);
	free(s);
}

const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s)
{
	return &s->st;
}

size_t tcp_conn_size(void)
{
	return sizeof(struct tcp_conn);
}

const char *tcp_state_name(enum tcp_state st)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* ---------------------------------------------------------------- 4-tuple table */

static inline uint32_t tcp__bucket(const struct tcp_stack *s, uint32_t lip, uint16_t lport,
				   uint32_t rip, uint16_t rport)
{
	return rte_jhash_3words(lip, rip, ((uint32_t)lport << 16) | rport, s->hash_seed) &
	       s->hmask;
}

struct tcp_conn *tcp__lookup(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
			     uint16_t rport)
{
	struct tcp_conn *c = s->buckets[tcp__bucket(s, lip, lport, rip, rport)];
	for (; c != NULL; c = c->hnext)
		if (c->rip == rip && c->rport == rport && c->lport == lport && c->lip == lip)
			return c;
	return NULL;
}

static void tcp__unhash(struct tcp_stack *s, struct tcp_conn *c)
{
	struct tcp_conn **pp = &s->buckets[tcp__bucket(s, c->lip, c->lport, c->rip, c->rport)];
	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

/* Control blocks come from slabs of TCP_SLAB_CONNS, grown on demand and kept: connection
 * churn never reaches malloc after the peak. */
static int tcp__slab_grow(struct tcp_stack *s)
{
	if (s->nslabs == s->slabs_cap) {
		uint32_t cap = s->slabs_cap ? s->slabs_cap * 2 : 16;
		void **n = realloc(s->slabs, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		s->slabs = n;
		s->slabs_cap = cap;
	}
	struct tcp_conn *slab = calloc(TCP_SLAB_CONNS, sizeof(*slab));
	if (slab == NULL)
		return -ENOMEM;
	s->slabs[s->nslabs++] = slab;
	for (int i = TCP_SLAB_CONNS - 1; i >= 0; i--) {
		slab[i].hnext = s->free_conns;
		s->free_conns = &slab[i];
	}
	return 0;
}

struct tcp_conn *tcp__conn_new(struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
			       uint16_t rport)
{
	if (s->st.conns_cur >= s->cfg.max_conns) {
		rte_errno = ENOSPC;
		return NULL;
	}
	if (s->free_conns == NULL && tcp__slab_grow(s) != 0) {
		rte_errno = ENOMEM;
		return NULL;
	}
	struct tcp_conn *c = s->free_conns;
	s->free_conns = c->hnext;
	memset(c, 0, sizeof(*c));
	c->stack = s;
	c->lip = lip;
	c->rip = rip;
	c->lport = lport;
	c->rport = rport;
	c->rcv_wscale = s->rcv_wscale;
	c->rto = s->cfg.rto_initial_ms;
	c->mss = TCP_DEFAULT_MSS;
	uint32_t b = tcp__bucket(s, lip, lport, rip, rport);
	c->hnext = s->buckets[b];
	s->buckets[b] = c;
	s->st.conns_cur++;
	return c;
}

void tcp__init_cc(struct tcp_stack *s, struct tcp_conn *c)
{
	(void)s;
	/* RFC 5681 3.1, initial window */
	if (c->mss > 2190)
		c->cwnd = 2u * c->mss;
	else if (c->mss > 1095)
		c->cwnd = 3u * c->mss;
	else
		c->cwnd = 4u * c->mss;
	c->ssthresh = 0x7fffffff;
}

/* ---------------------------------------------------------------- timer wheel */

static void tcp__timer_unlink(struct tcp_stack *s, struct tcp_conn *c)
{
	if (c->tpprev == NULL)
		return;
	*c->tpprev = c->tnext;
	if (c->tnext != NULL)
		c->tnext->tpprev = c->tpprev;
	c->tnext = NULL;
	c->tpprev = NULL;
	s->armed--;
}

static void tcp__timer_link(struct tcp_stack *s, struct tcp_conn *c, uint32_t at)
{
	/* A deadline already behind the wheel goes into the next slot it will visit. */
	uint32_t slot_tick = SEQ_GT(at, s->wheel_ms) ? at : s->wheel_ms + 1;
	struct tcp_conn **head = &s->wheel[slot_tick & (TCP_WHEEL_SLOTS - 1)];
	c->tmr_at = at;
	c->tnext = *head;
	if (*head != NULL)
		(*head)->tpprev = &c->tnext;
	*head = c;
	c->tpprev = head;
	s->armed++;
}

void tcp__timer_update(struct tcp_stack *s, struct tcp_conn *c)
{
	uint32_t at = c->rtx_at;
	if (c->dack_at != 0 && (at == 0 || SEQ_LT(c->dack_at, at)))
		at = c->dack_at;
	if (at == 0 || (c->flags & TF_DEAD)) {
		tcp__timer_unlink(s, c);
		return;
	}
	if (c->tpprev != NULL && c->tmr_at == at)
		return;
	tcp__timer_unlink(s, c);
	tcp__timer_link(s, c, at);
}

void tcp__timer_fire(struct tcp_stack *s, struct tcp_conn *c)
{
	uint32_t now = s->now_ms;

	if (c->dack_at != 0 && SEQ_LEQ(c->dack_at, now)) {
		c->dack_at = 0;
		if (c->flags & TF_ACK_DELAYED) {
			c->flags |= TF_ACK_NOW;
			tcp__outq_add(s, c);
		}
	}
	if (c->rtx_at != 0 && SEQ_LEQ(c->rtx_at, now)) {
		c->rtx_at = 0;
		switch (c->state) {
		case TCP_TIME_WAIT:
		case TCP_FIN_WAIT_2: /* orphaned: the peer never sent its FIN */
			tcp__release(s, c);
			return;
		default:
			tcp__rto_expired(s, c);
			break;
		}
	}
	tcp__timer_update(s, c);
}

static void tcp__wheel_slot(struct tcp_stack *s, uint32_t slot)
{
	/* Detach the slot so that callbacks that release or re-arm other entries unlink them
	 * from this local list instead of a list we are walking. */
	struct tcp_conn *pending = s->wheel[slot];
	s->wheel[slot] = NULL;
	if (pending != NULL)
		pending->tpprev = &pending;
	while (pending != NULL) {
		struct tcp_conn *c = pending;
		tcp__timer_unlink(s, c);
		if (SEQ_LEQ(c->tmr_at, s->now_ms))
			tcp__timer_fire(s, c);
		else
			tcp__timer_link(s, c, c->tmr_at); /* a later turn of the wheel */
	}
}

uint64_t tcp_next_deadline_ns(const struct tcp_stack *s)
{
	if (s->outq != NULL)
		return s->now_ns;
	if (s->armed == 0)
		return UINT64_MAX;
	/* Scan forward at most one turn; entries filed for later turns show up as their slot. */
	for (uint32_t i = 1; i <= TCP_WHEEL_SLOTS; i++) {
		uint32_t t = s->wheel_ms + i;
		if (s->wheel[t & (TCP_WHEEL_SLOTS - 1)] != NULL)
			return (uint64_t)(t - s->now_ms) * 1000000ULL +
			       (s->now_ns - s->now_ns % 1000000ULL);
	}
	return UINT64_MAX;
}

/* ---------------------------------------------------------------- output list, release */

/* Link @p c on list @p q (outq or retryq) unless it is on one of them already. */
static void tcp__onq_push(struct tcp_conn **q, struct tcp_conn *c)
{
	if (c->flags & TF_ON_OUTQ)
		return;
	c->flags |= TF_ON_OUTQ;
	c->onext = *q;
	*q = c;
}

void tcp__retry_later(struct tcp_stack *s, struct tcp_conn *c)
{
	tcp__onq_push(&s->retryq, c);
}

void tcp__outq_add(struct tcp_stack *s, struct tcp_conn *c)
{
	tcp__onq_push(&s->outq, c);
}

static void tcp__free_chain_list(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *n = m->next;
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = n;
	}
}

void tcp__release(struct tcp_stack *s, struct tcp_conn *c)
{
	if (c->flags & TF_DEAD)
		return;
	tcp__unhash(s, c);
	tcp__timer_unlink(s, c);
	c->rtx_at = c->dack_at = 0;
	tcp__free_chain_list(c->sndq);
	c->sndq = c->sndq_tail = c->snd_cur = NULL;
	tcp__free_chain_list(c->ooq);
	c->ooq = NULL;
	c->ooo_bytes = 0;
	if (c->state == TCP_SYN_RECEIVED && !(c->flags & TF_ACTIVE))
		s->syn_rcvd--;
	c->state = TCP_CLOSED;
	c->flags |= TF_DEAD | TF_APP_GONE;
	c->cb = NULL;
	s->st.conns_cur--;
	s->st.conns_closed++;
	tcp__outq_add(s, c);
}

void tcp__notify_closed(struct tcp_stack *s, struct tcp_conn *c, enum tcp_close_reason why)
{
	(void)s;
	if (c->flags & TF_APP_GONE)
		return;
	const struct tcp_callbacks *cb = c->cb;
	c->flags |= TF_APP_GONE;
	c->cb = NULL;
	if (cb != NULL && cb->closed != NULL)
		cb->closed(c->arg, c, why);
}

void tcp__enter_time_wait(struct tcp_stack *s, struct tcp_conn *c)
{
	c->state = TCP_TIME_WAIT;
	c->dack_at = 0;
	c->flags &= ~TF_ACK_DELAYED;
	c->rtx_at = s->now_ms + s->cfg.time_wait_ms;
	if (c->rtx_at == 0)
		c->rtx_at = 1;
	tcp__timer_update(s, c);
	tcp__notify_closed(s, c, TCP_CLOSE_NORMAL);
}

uint32_t tcp__rcv_window(const struct tcp_stack *s, const struct tcp_conn *c)
{
	uint32_t used = c->rcv_held + c->ooo_bytes;
	uint32_t w = used >= s->cfg.rcvbuf ? 0 : s->cfg.rcvbuf - used;
	uint32_t max = 65535u << c->rcv_wscale;
	if (w > max)
		w = max;
	return w & ~((1u << c->rcv_wscale) - 1); /* what the header can say exactly */
}

static void tcp__flush_dead(struct tcp_stack *s)
{
	struct tcp_conn *c = s->outq;
	s->outq = NULL;
	while (c != NULL) {
		struct tcp_conn *n = c->onext;
		c->flags &= ~TF_ON_OUTQ;
		if (c->flags & TF_DEAD) {
			c->hnext = s->free_conns;
			s->free_conns = c;
		}
		c = n;
	}
}

/* ---------------------------------------------------------------- tcp_poll */

/* Memory pressure, once per millisecond (the count walks the lcore caches). Below 1/8 of
 * the pool free, incoming payload is dropped (ACKs still processed) so the pool cannot be
 * drained by receive data while what frees it - ACKs of our queued data - needs receive
 * mbufs too; the peer retransmits what was dropped. Sending may take the pool's mbufs only
 * down to half free (gathering) and 1/8 free (headers when tx_pool is empty), counted per
 * mbuf until the next check: with a flag instead, a fan-out to a thousand slow readers took
 * the whole pool within one millisecond, and a port that cannot refill its receive ring
 * cannot receive the ACKs that would free it. */
static void tcp__mem_check(struct tcp_stack *s)
{
	s->mem_checked_ms = s->now_ms;
	unsigned avail = rte_mempool_avail_count(s->cfg.pool);
	unsigned size = s->cfg.pool->size;
	s->mem_low = avail < size / 8;
	s->gather_budget = avail > size / 2 ? avail - size / 2 : 0;
	s->fallback_budget = avail > size / 8 ? avail - size / 8 : 0;
}

void tcp_poll(struct tcp_stack *s, uint64_t now_ns)
{
	if (now_ns > s->now_ns) {
		s->now_ns = now_ns;
		s->now_ms = (uint32_t)(now_ns / 1000000);
	}
	if (s->now_ms != s->mem_checked_ms)
		tcp__mem_check(s);
	uint32_t todo = s->now_ms - s->wheel_ms;
	if (todo > TCP_WHEEL_SLOTS) {
		/* Long gap (e.g. a test jumping the clock): one full turn visits every slot. */
		s->wheel_ms = s->now_ms;
		for (uint32_t i = 0; i < TCP_WHEEL_SLOTS; i++)
			tcp__wheel_slot(s, i);
	} else {
		while (s->wheel_ms != s->now_ms) {
			s->wheel_ms++;
			tcp__wheel_slot(s, s->wheel_ms & (TCP_WHEEL_SLOTS - 1));
		}
	}
	/* Flush: output may queue nothing new (it makes no callbacks), so one pass suffices. */
	s->tx_busy = false;
	while (s->outq != NULL) {
		if (s->tx_busy) {
			/* The link's queue is full: what is left waits for the next tcp_poll,
			 * behind the few that just failed. A splice, not a walk: a million
			 * connections may be waiting. */
			struct tcp_conn *t = s->retryq;
			if (t != NULL) {
				while (t->onext != NULL)
					t = t->onext;
				t->onext = s->outq;
				s->outq = s->retryq;
				s->retryq = NULL;
			}
			return;
		}
		struct tcp_conn *c = s->outq;
		s->outq = c->onext;
		c->flags &= ~TF_ON_OUTQ;
		if (c->flags & TF_DEAD) {
			c->hnext = s->free_conns;
			s->free_conns = c;
			continue;
		}
		tcp__output(s, c);
	}
	/* Connections whose output found the pool empty try again next time (tcp__output). */
	s->outq = s->retryq;
	s->retryq = NULL;
}

/* ---------------------------------------------------------------- listen / connect */

struct tcp__listener *tcp__listener_find(struct tcp_stack *s, uint32_t ip, uint16_t port)
{
	struct tcp__listener *any = NULL;
	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp__listener *l = &s->listeners[i];
		if (l->port != port)
			continue;
		if (l->ip == ip)
			return l;
		if (l->ip == 0)
			any = l;
	}
	return any;
}

int tcp_listen(struct tcp_stack *s, uint32_t ip, uint16_t port, const struct tcp_callbacks *cb,
	       void *arg)
{
	if (port == 0 || cb == NULL)
		return -EINVAL;
	struct tcp__listener *free_slot = NULL;
	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp__listener *l = &s->listeners[i];
		if (l->port == port && l->ip == ip)
			return -EADDRINUSE;
		if (l->port == 0 && free_slot == NULL)
			free_slot = l;
	}
	if (free_slot == NULL)
		return -ENOSPC;
	free_slot->ip = ip;
	free_slot->port = port;
	free_slot->cb = cb;
	free_slot->arg = arg;
	return 0;
}

int tcp_unlisten(struct tcp_stack *s, uint32_t ip, uint16_t port)
{
	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp__listener *l = &s->listeners[i];
		if (l->port == port && l->ip == ip && port != 0) {
			memset(l, 0, sizeof(*l));
			return 0;
		}
	}
	return -ENOENT;
}

struct tcp_conn *tcp_connect(struct tcp_stack *s, uint32_t src_ip, uint16_t src_port,
			     uint32_t dst_ip, uint16_t dst_port, const struct tcp_callbacks *cb,
			     void *arg)
{
	if (dst_port == 0 || dst_ip == 0 || cb == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (src_port == 0) {
		for (uint32_t tries = 0; tries < 61000 - 32768; tries++) {
			uint16_t p = s->next_port++;
			if (s->next_port >= 61000)
				s->next_port = 32768;
			if (tcp__lookup(s, src_ip, p, dst_ip, dst_port) == NULL) {
				src_port = p;
				break;
			}
		}
		if (src_port == 0) {
			rte_errno = EADDRINUSE;
			return NULL;
		}
	} else if (tcp__lookup(s, src_ip, src_port, dst_ip, dst_port) != NULL) {
		rte_errno = EADDRINUSE;
		return NULL;
	}
	struct tcp_conn *c = tcp__conn_new(s, src_ip, src_port, dst_ip, dst_port);
	if (c == NULL)
		return NULL;
	c->state = TCP_SYN_SENT;
	c->flags |= TF_ACTIVE;
	c->iss = tcp__isn(s, src_ip, src_port, dst_ip, dst_port);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_lbb = c->iss + 1;
	c->cb = cb;
	c->arg = arg;
	c->mss = s->mss_local;
	tcp__init_cc(s, c);
	tcp__outq_add(s, c);
	return c;
}

/* ---------------------------------------------------------------- application calls */

void tcp_conn_set_arg(struct tcp_conn *c, void *arg)
{
	c->arg = arg;
}

enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
	return (enum tcp_state)c->state;
}

void tcp_conn_tuple(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
		    uint32_t *remote_ip, uint16_t *remote_port)
{
	if (local_ip)
		*local_ip = c->lip;
	if (local_port)
		*local_port = c->lport;
	if (remote_ip)
		*remote_ip = c->rip;
	if (remote_port)
		*remote_port = c->rport;
}

static inline struct tcp_stack *tcp__stack_of(const struct tcp_conn *c)
{
	return c->stack;
}

uint32_t tcp_sndbuf(const struct tcp_conn *c)
{
	const struct tcp_stack *s = tcp__stack_of(c);
	uint32_t q = tcp__sndq_bytes(c);
	return q >= s->cfg.sndbuf ? 0 : s->cfg.sndbuf - q;
}

bool tcp_want_writable(struct tcp_conn *c)
{
	if (tcp_sndbuf(c) > 0)
		return true;
	c->flags |= TF_WANT_WRITE;
	return false;
}

int tcp_send(struct tcp_conn *c, struct rte_mbuf *m)
{
	if (m == NULL || m->pkt_len == 0)
		return -EINVAL;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	default:
		return -EPIPE;
	}
	if ((c->flags & (TF_FIN_QUEUED | TF_APP_GONE | TF_DEAD)) != 0)
		return -EPIPE;
	struct tcp_stack *s = tcp__stack_of(c);
	if (tcp_sndbuf(c) == 0) {
		c->flags |= TF_WANT_WRITE;
		return -ENOBUFS;
	}
	for (struct rte_mbuf *seg = m; seg != NULL; seg = seg->next)
		if (rte_mbuf_refcnt_read(seg) != 1)
			return -EINVAL;
	/* Link the segments one by one: empty ones are dropped so every queued mbuf carries
	 * bytes (the send cursor and the ACK trimming rely on it). */
	uint32_t total = 0;
	while (m != NULL) {
		struct rte_mbuf *n = m->next;
		m->next = NULL;
		m->nb_segs = 1; /* each queued mbuf stands alone (freed one by one) */
		m->pkt_len = m->data_len;
		struct rte_mbuf *t = c->sndq_tail;
		if (m->data_len == 0) {
			rte_pktmbuf_free_seg(m);
		} else if (t != NULL && m->data_len <= TCP_COALESCE_MAX && RTE_MBUF_DIRECT(t) &&
			   rte_pktmbuf_tailroom(t) >= m->data_len) {
			/* Small write behind a direct mbuf with room: copy it there. Fan-out
			 * queues one small PUBLISH per write; one mbuf per write made every
			 * segment a chain of a dozen indirect mbufs and every ACK a walk over
			 * as many cold headers. Appending past data_len is safe while frames
			 * in flight reference the earlier bytes (their views are fixed). */
			memcpy(rte_pktmbuf_mtod_offset(t, char *, t->data_len),
			       rte_pktmbuf_mtod(m, const char *), m->data_len);
			t->data_len = (uint16_t)(t->data_len + m->data_len);
			t->pkt_len = t->data_len;
			total += m->data_len;
			s->st.coalesced++;
			rte_pktmbuf_free_seg(m);
		} else {
			struct rte_mbuf *big = NULL;
			if (t != NULL && s->cfg.tx_pool != NULL && m->data_len <= TCP_COALESCE_MAX &&
			    RTE_MBUF_DIRECT(t) && (m->pool != s->cfg.pool || !RTE_MBUF_DIRECT(m)) &&
			    s->gather_budget > 0 && (big = rte_pktmbuf_alloc(s->cfg.pool)) != NULL)
				s->gather_budget--;
			if (big != NULL) {
				/* A stream of small writes in small mbufs (tx_pool) or small
				 * references to payloads filled the last queued mbuf: gather the
				 * rest into a large mbuf of the main pool while it has room to
				 * spare, so that a segment stays one or two mbufs (with 256-byte
				 * mbufs a full segment was a chain of six, each cloned per send). A
				 * connection with one write queued keeps its small mbuf: that is
				 * what each of a million subscribers holds. */
				memcpy(rte_pktmbuf_mtod(big, char *), rte_pktmbuf_mtod(m, const char *),
				       m->data_len);
				big->data_len = m->data_len;
				big->pkt_len = m->data_len;
				s->st.gathered++;
				rte_pktmbuf_free_seg(m);
				m = big;
			}
			total += m->data_len;
			if (c->sndq_tail != NULL)
				c->sndq_tail->next = m;
			else
				c->sndq = m;
			c->sndq_tail = m;
		}
		m = n;
	}
	c->snd_lbb += total;
	tcp__outq_add(s, c);
	return 0;
}

void tcp_recved(struct tcp_conn *c, uint32_t len)
{
	if (c->flags & TF_DEAD)
		return;
	struct tcp_stack *s = tcp__stack_of(c);
	c->rcv_held = len >= c->rcv_held ? 0 : c->rcv_held - len;
	/* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): announce only a worthwhile opening. */
	uint32_t right = c->rcv_nxt + tcp__rcv_window(s, c);
	uint32_t thresh = RTE_MIN(s->cfg.rcvbuf / 2, 2u * c->mss);
	if (SEQ_GEQ(right, c->rcv_adv + thresh)) {
		c->flags |= TF_ACK_NOW;
		tcp__outq_add(s, c);
	}
}

static void tcp__queue_fin(struct tcp_stack *s, struct tcp_conn *c)
{
	c->flags |= TF_FIN_QUEUED;
	if (c->state == TCP_ESTABLISHED)
		c->state = TCP_FIN_WAIT_1;
	else if (c->state == TCP_CLOSE_WAIT)
		c->state = TCP_LAST_ACK;
	tcp__outq_add(s, c);
}

int tcp_shutdown(struct tcp_conn *c)
{
	if ((c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT) ||
	    (c->flags & TF_FIN_QUEUED))
		return -ENOTCONN;
	tcp__queue_fin(tcp__stack_of(c), c);
	return 0;
}

void tcp_close(struct tcp_conn *c)
{
	struct tcp_stack *s = tcp__stack_of(c);
	if (c->flags & TF_DEAD)
		return;
	c->flags |= TF_APP_GONE;
	c->cb = NULL;
	switch (c->state) {
	case TCP_SYN_SENT:
		tcp__release(s, c);
		return;
	case TCP_SYN_RECEIVED:
		tcp_abort(c);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		if (!(c->flags & TF_FIN_QUEUED))
			tcp__queue_fin(s, c);
		break;
	case TCP_FIN_WAIT_2:
		/* Orphaned and waiting for the peer's FIN: bound the wait (Linux tcp_fin_timeout). */
		if (c->rtx_at == 0) {
			c->rtx_at = s->now_ms + s->cfg.time_wait_ms;
			tcp__timer_update(s, c);
		}
		break;
	default:
		break;
	}
}

void tcp_abort(struct tcp_conn *c)
{
	struct tcp_stack *s = tcp__stack_of(c);
	if (c->flags & TF_DEAD)
		return;
	c->flags |= TF_APP_GONE;
	c->cb = NULL;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		/* RFC 9293 3.10.5 (ABORT): <SEQ=SND.NXT><CTL=RST>. */
		tcp__send_rst(s, c->lip, c->lport, c->rip, c->rport, c->snd_max, 0, TCP_RST);
		break;
	default:
		break;
	}
	tcp__release(s, c);
}
