/**
 * @file net_txq.c
 * The TX backlog (see net_txq.h): a power-of-two ring of mbuf pointers, sent from its head
 * in contiguous pieces.
 */
#include <errno.h>
#include <stdlib.h>

#include <rte_mbuf.h>

#include "net/net_txq.h"

int net_txq_init(struct net_txq *t, uint32_t cap)
{
	t->head = t->len = 0;
	t->q = NULL;
	t->size = t->cap = 0;
	if (cap == 0)
		return 0;
	uint32_t size = 1;
	while (size < cap)
		size <<= 1;
	t->q = calloc(size, sizeof(*t->q));
	if (t->q == NULL)
		return -ENOMEM;
	t->size = size;
	t->cap = cap;
	return 0;
}

void net_txq_set_cap(struct net_txq *t, uint32_t cap)
{
	t->cap = cap < t->size ? cap : t->size;
}

void net_txq_fini(struct net_txq *t)
{
	net_txq_drop_all(t);
	free(t->q);
	t->q = NULL;
	t->size = t->cap = 0;
}

uint32_t net_txq_drain(struct net_txq *t, net_txq_tx_fn tx, void *ctx, uint16_t burst)
{
	uint32_t total = 0;
	while (t->len > 0) {
		uint32_t k = t->len;
		if (k > t->size - t->head)
			k = t->size - t->head; /* the contiguous part first */
		if (k > burst)
			k = burst;
		uint16_t sent = tx(ctx, &t->q[t->head], (uint16_t)k);
		t->head = (t->head + sent) & (t->size - 1);
		t->len -= sent;
		total += sent;
		if (sent < k)
			return total;
	}
	t->head = 0;
	return total;
}

uint32_t net_txq_keep(struct net_txq *t, struct rte_mbuf *const *pkts, uint16_t n)
{
	uint32_t dropped = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (t->len < t->cap) {
			t->q[(t->head + t->len) & (t->size - 1)] = pkts[i];
			t->len++;
		} else {
			rte_pktmbuf_free(pkts[i]);
			dropped++;
		}
	}
	return dropped;
}

uint32_t net_txq_drop_all(struct net_txq *t)
{
	uint32_t n = t->len;
	for (; t->len > 0; t->len--) {
		rte_pktmbuf_free(t->q[t->head]);
		t->head = (t->head + 1) & (t->size - 1);
	}
	t->head = 0;
	return n;
}
