/**
 * @file tcp_echo.c
 * The echo service: a tcp.h application. Each connection echoes what it receives by handing
 * the received chain straight back to tcp_send(). When the send queue is over its limit the
 * chain waits in `pending` and is not tcp_recved(), so our receive window closes and the
 * client is held back: memory per connection stays bounded by sndbuf + rcvbuf.
 */
#include <errno.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_mbuf.h>

#include "tcp/tcp_echo.h"

struct tcp__echo_conn {
	struct tcp__echo_conn *next, *prev;
	struct tcp_echo *svc;
	struct tcp_conn *c;
	struct rte_mbuf *pending, *pending_tail; /* linked by ->next; head pkt_len unused */
	uint32_t pending_len;
	bool fin;                                /* peer finished: shut down once drained */
};

struct tcp_echo {
	struct tcp_stack *stack;
	uint16_t port;
	uint32_t nconns;
	uint64_t bytes;
	struct tcp__echo_conn *conns;
	struct tcp_callbacks cb;
};

static void tcp__echo_unlink(struct tcp__echo_conn *ec)
{
	struct tcp_echo *e = ec->svc;
	if (ec->prev != NULL)
		ec->prev->next = ec->next;
	else
		e->conns = ec->next;
	if (ec->next != NULL)
		ec->next->prev = ec->prev;
	e->nconns--;
	rte_pktmbuf_free(ec->pending);
	free(ec);
}

static int tcp__echo_accepted(void *arg, struct tcp_conn *c)
{
	struct tcp_echo *e = arg;
	struct tcp__echo_conn *ec = calloc(1, sizeof(*ec));
	if (ec == NULL)
		return -ENOMEM;
	ec->svc = e;
	ec->c = c;
	ec->next = e->conns;
	if (e->conns != NULL)
		e->conns->prev = ec;
	e->conns = ec;
	e->nconns++;
	tcp_conn_set_arg(c, ec);
	return 0;
}

/* Try to queue what is pending; true when nothing remains. */
static bool tcp__echo_flush(struct tcp__echo_conn *ec)
{
	if (ec->pending == NULL)
		return true;
	ec->pending->pkt_len = ec->pending_len;
	if (tcp_send(ec->c, ec->pending) != 0)
		return false;
	ec->svc->bytes += ec->pending_len;
	tcp_recved(ec->c, ec->pending_len);
	ec->pending = ec->pending_tail = NULL;
	ec->pending_len = 0;
	return true;
}

static void tcp__echo_data(void *arg, struct tcp_conn *c, struct rte_mbuf *m)
{
	struct tcp__echo_conn *ec = arg;
	if (m == NULL) {
		ec->fin = true;
		if (ec->pending == NULL)
			tcp_shutdown(c);
		return;
	}
	if (ec->pending == NULL) {
		uint32_t len = m->pkt_len;
		int rc = tcp_send(c, m);
		if (rc == 0) {
			ec->svc->bytes += len;
			tcp_recved(c, len);
			return;
		}
		if (rc != -ENOBUFS) {
			rte_pktmbuf_free(m);
			return;
		}
		ec->pending = m;
		ec->pending_len = len;
		ec->pending_tail = rte_pktmbuf_lastseg(m);
		return;
	}
	/* Appending by ->next only: nb_segs could overflow for many tiny segments, and
	 * tcp_send walks the links, not the count. */
	ec->pending_tail->next = m;
	ec->pending_len += m->pkt_len;
	ec->pending_tail = rte_pktmbuf_lastseg(m);
}

static void tcp__echo_writable(void *arg, struct tcp_conn *c)
{
	struct tcp__echo_conn *ec = arg;
	if (tcp__echo_flush(ec) && ec->fin)
		tcp_shutdown(c);
}

static void tcp__echo_closed(void *arg, struct tcp_conn *c, enum tcp_close_reason why)
{
	(void)c;
	(void)why;
	tcp__echo_unlink(arg);
}

struct tcp_echo *tcp_echo_start(struct tcp_stack *s, uint16_t port)
{
	struct tcp_echo *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	e->stack = s;
	e->port = port;
	e->cb.accepted = tcp__echo_accepted;
	e->cb.data = tcp__echo_data;
	e->cb.writable = tcp__echo_writable;
	e->cb.closed = tcp__echo_closed;
	int rc = tcp_listen(s, 0, port, &e->cb, e);
	if (rc != 0) {
		free(e);
		rte_errno = -rc;
		return NULL;
	}
	return e;
}

uint32_t tcp_echo_conns(const struct tcp_echo *e)
{
	return e->nconns;
}

uint64_t tcp_echo_bytes(const struct tcp_echo *e)
{
	return e->bytes;
}

void tcp_echo_stop(struct tcp_echo *e)
{
	if (e == NULL)
		return;
	tcp_unlisten(e->stack, 0, e->port);
	while (e->conns != NULL) {
		struct tcp__echo_conn *ec = e->conns;
		tcp_abort(ec->c);
		tcp__echo_unlink(ec);
	}
	free(e);
}
