/**
 * @file twheel.h
 * A hashed timer wheel with intrusive nodes: O(1) add, move and delete, and an advance
 * that visits only the slots whose time has come. For deadlines held by very many objects
 * (a keep alive per connection, an expiry per offline session) where a scan of every object
 * per tick would cost O(objects).
 *
 * Time is split into ticks of @c gran_ns; slot = tick mod nslots. A node is filed under the
 * first tick at or after its deadline, so a node the wheel hands out is always due
 * (at <= now). Deadlines further away than one revolution share a slot with nearer ones and
 * are passed over (left in place) until their own revolution comes.
 *
 * Lazy deadlines: an owner whose deadline moves often (keep alive moves with every packet)
 * need not touch the wheel each time; when the node fires, it checks the real deadline and
 * files the node again if it is not due yet.
 *
 * Threads: none; one wheel belongs to one thread. No allocation after twheel_init().
 */
#ifndef TACHYON_UTIL_TWHEEL_H
#define TACHYON_UTIL_TWHEEL_H

#include <stdbool.h>
#include <stdint.h>

/** Embed one per timer in the owning object; zero-initialised = not filed. */
struct twheel_node {
	struct twheel_node *prev, *next;
	uint64_t at;                  /**< deadline, ns (valid while filed) */
};

struct twheel {
	struct twheel_node *slots;    /**< nslots list heads (sentinels) */
	uint32_t mask;                /**< nslots - 1 */
	uint64_t gran_ns;
	uint64_t tick;                /**< every slot up to this tick has been visited */
	uint64_t count;               /**< nodes filed */
};

/**
 * @param nslots   rounded up to a power of two (at least 2)
 * @param gran_ns  tick length (> 0)
 * @param now_ns   the clock now: deadlines before it fire at the first advance
 * @return 0, or -ENOMEM / -EINVAL.
 */
int twheel_init(struct twheel *tw, uint32_t nslots, uint64_t gran_ns, uint64_t now_ns);

/** Free the slot array (nodes still filed are simply forgotten). */
void twheel_fini(struct twheel *tw);

/** File @p n for deadline @p at_ns (moving it if it is filed already). */
void twheel_add(struct twheel *tw, struct twheel_node *n, uint64_t at_ns);

/** File @p n for @p at_ns, or take it off the wheel when @p at_ns is UINT64_MAX (never). */
void twheel_set(struct twheel *tw, struct twheel_node *n, uint64_t at_ns);

/** Take @p n off the wheel; harmless when it is not filed. */
void twheel_del(struct twheel *tw, struct twheel_node *n);

/** Whether @p n is filed. */
static inline bool twheel_filed(const struct twheel_node *n)
{
	return n->next != NULL;
}

/**
 * Hand every node with at <= @p now_ns to @p fire, taken off the wheel first. @p fire may
 * add, move or delete any node, this one included (refile it to run again).
 * @return the number of nodes fired.
 */
uint64_t twheel_advance(struct twheel *tw, uint64_t now_ns,
			void (*fire)(struct twheel_node *n, void *arg), void *arg);

#endif /* TACHYON_UTIL_TWHEEL_H */
