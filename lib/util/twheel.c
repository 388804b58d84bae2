/**
 * @file twheel.c
 * The hashed timer wheel (twheel.h). Each slot is a circular doubly linked list around a
 * sentinel; a filed node's next is never NULL, an unfiled node's always is.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/twheel.h"

static void twheel__link(struct twheel_node *head, struct twheel_node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void twheel__unlink(struct twheel_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

int twheel_init(struct twheel *tw, uint32_t nslots, uint64_t gran_ns, uint64_t now_ns)
{
	if (gran_ns == 0 || nslots == 0 || nslots > (1u << 30))
		return -EINVAL;
	uint32_t n = 2;
	while (n < nslots)
		n <<= 1;
	tw->slots = malloc(sizeof(*tw->slots) * n);
	if (tw->slots == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		tw->slots[i].prev = tw->slots[i].next = &tw->slots[i];
	tw->mask = n - 1;
	tw->gran_ns = gran_ns;
	tw->tick = now_ns / gran_ns;
	tw->count = 0;
	return 0;
}

void twheel_fini(struct twheel *tw)
{
	free(tw->slots);
	tw->slots = NULL;
	tw->count = 0;
}

void twheel_add(struct twheel *tw, struct twheel_node *n, uint64_t at_ns)
{
	if (twheel_filed(n))
		twheel__unlink(n);
	else
		tw->count++;
	/* The first tick at or after the deadline, and never one already visited. */
	uint64_t t = at_ns / tw->gran_ns + (at_ns % tw->gran_ns != 0);
	if (t <= tw->tick)
		t = tw->tick + 1;
	n->at = at_ns;
	twheel__link(&tw->slots[t & tw->mask], n);
}

void twheel_set(struct twheel *tw, struct twheel_node *n, uint64_t at_ns)
{
	if (at_ns == UINT64_MAX)
		twheel_del(tw, n);
	else
		twheel_add(tw, n, at_ns);
}

void twheel_del(struct twheel *tw, struct twheel_node *n)
{
	if (!twheel_filed(n))
		return;
	twheel__unlink(n);
	tw->count--;
}

uint64_t twheel_advance(struct twheel *tw, uint64_t now_ns,
			void (*fire)(struct twheel_node *n, void *arg), void *arg)
{
	uint64_t target = now_ns / tw->gran_ns;
	if (target <= tw->tick)
		return 0;
	/* After a long stall one pass over every slot is enough: the due test is by time. */
	uint64_t last = target - tw->tick > (uint64_t)tw->mask + 1 ? tw->tick + tw->mask + 1
								    : target;
	uint64_t fired = 0;
	for (uint64_t t = tw->tick + 1; t <= last; t++) {
		tw->tick = t; /* nodes filed from here on go to later ticks */
		struct twheel_node *head = &tw->slots[t & tw->mask];
		if (head->next == head)
			continue;
		/* Move the slot's nodes aside so that fire() may file into this slot freely. */
		struct twheel_node local;
		local.next = head->next;
		local.prev = head->prev;
		local.next->prev = &local;
		local.prev->next = &local;
		head->next = head->prev = head;
		while (local.next != &local) {
			struct twheel_node *n = local.next;
			twheel__unlink(n);
			if (n->at <= now_ns) {
				tw->count--;
				fired++;
				fire(n, arg);
			} else {
				twheel__link(head, n); /* a later revolution's */
			}
		}
	}
	tw->tick = target;
	return fired;
}
