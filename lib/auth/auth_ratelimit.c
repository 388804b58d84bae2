/**
 * @file auth_ratelimit.c
 * Per-source-address failure limiter: GCRA token buckets in a fixed, seeded, 4-way
 * set-associative table. Design and contract in auth_ratelimit.h.
 */
#include "auth/auth_ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define AUTH__RL_WAYS 4

/**
 * One tracked address. `tat` is the GCRA "theoretical arrival time": the instant at which the
 * address's debt is paid off. The debt at time t is max(0, tat - t); an entry whose debt is
 * zero is free, whatever its ip says, so entries need no separate valid flag or expiry pass.
 */
struct auth__rl_ent {
	uint32_t ip;
	uint32_t pad;
	uint64_t tat;
};

struct auth__rl_bucket {
	struct auth__rl_ent e[AUTH__RL_WAYS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct auth__rl_bucket) == 64, "a bucket is one cache line");

struct auth_rl {
	struct auth__rl_bucket *b;
	uint32_t mask;              /**< buckets - 1 */
	uint64_t seed;
	uint64_t interval;          /**< debt added per failure (ns) */
	uint64_t limit;             /**< burst * interval: blocked once debt + interval > limit */
	struct auth_rl_stats st;
};

struct auth_rl *auth_rl_create(const struct auth_rl_config *cfg)
{
	if (cfg == NULL || cfg->burst < 1 || cfg->burst > 1000000 || cfg->interval_ns < 1000000ull ||
	    cfg->interval_ns > 86400ull * 1000000000ull || cfg->entries < 4 ||
	    cfg->entries > (1u << 26)) {
		errno = EINVAL;
		return NULL;
	}
	struct auth_rl *rl = calloc(1, sizeof(*rl));
	if (rl == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	uint32_t nb = 1;
	while (nb * AUTH__RL_WAYS < cfg->entries)
		nb *= 2;
	rl->b = aligned_alloc(64, nb * sizeof(*rl->b));
	if (rl->b == NULL) {
		free(rl);
		errno = ENOMEM;
		return NULL;
	}
	memset(rl->b, 0, nb * sizeof(*rl->b));
	rl->mask = nb - 1;
	rl->interval = cfg->interval_ns;
	rl->limit = (uint64_t)cfg->burst * cfg->interval_ns;
	rl->seed = cfg->seed;
	if (rl->seed == 0 && RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1) {
		auth_rl_free(rl);
		errno = EIO;
		return NULL;
	}
	return rl;
}

void auth_rl_free(struct auth_rl *rl)
{
	if (rl == NULL)
		return;
	free(rl->b);
	free(rl);
}

static struct auth__rl_bucket *auth__rl_bucket(const struct auth_rl *rl, uint32_t ip)
{
	/* splitmix64's finaliser over the seeded address: every output bit depends on every
	 * input bit, so without the seed the bucket cannot be predicted. */
	uint64_t z = ip ^ rl->seed;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return &rl->b[z & rl->mask];
}

static uint64_t auth__debt(const struct auth__rl_ent *e, uint64_t now)
{
	return e->tat > now ? e->tat - now : 0;
}

static struct auth__rl_ent *auth__rl_find(const struct auth_rl *rl, uint32_t ip, uint64_t now)
{
	struct auth__rl_bucket *b = auth__rl_bucket(rl, ip);
	for (int i = 0; i < AUTH__RL_WAYS; i++)
		if (b->e[i].ip == ip && b->e[i].tat > now)
			return &b->e[i];
	return NULL;
}

bool auth_rl_allowed(struct auth_rl *rl, uint32_t ip, uint64_t now_ns)
{
	const struct auth__rl_ent *e = auth__rl_find(rl, ip, now_ns);
	if (e == NULL || auth__debt(e, now_ns) + rl->interval <= rl->limit)
		return true;
	rl->st.refused++;
	return false;
}

uint64_t auth_rl_blocked_for(const struct auth_rl *rl, uint32_t ip, uint64_t now_ns)
{
	const struct auth__rl_ent *e = auth__rl_find(rl, ip, now_ns);
	if (e == NULL)
		return 0;
	uint64_t d = auth__debt(e, now_ns) + rl->interval;
	return d > rl->limit ? d - rl->limit : 0;
}

int auth_rl_fail(struct auth_rl *rl, uint32_t ip, uint64_t now_ns)
{
	rl->st.failures++;
	struct auth__rl_ent *e = auth__rl_find(rl, ip, now_ns);
	if (e == NULL) {
		/* Take a free way, else evict the least indebted: blocked addresses go last. */
		struct auth__rl_bucket *b = auth__rl_bucket(rl, ip);
		e = &b->e[0];
		for (int i = 0; i < AUTH__RL_WAYS; i++) {
			if (b->e[i].tat <= now_ns) {
				e = &b->e[i];
				break;
			}
			if (b->e[i].tat < e->tat)
				e = &b->e[i];
		}
		if (e->tat > now_ns)
			rl->st.evictions++;
		e->ip = ip;
		e->tat = now_ns;
	}
	uint64_t debt = auth__debt(e, now_ns);
	bool was_blocked = debt + rl->interval > rl->limit;
	/* Cap the debt at `limit`: failures reported while blocked must not extend the block
	 * without bound (an address behind NAT would never get back in). */
	debt += rl->interval;
	if (debt > rl->limit)
		debt = rl->limit;
	e->tat = now_ns + debt;
	if (was_blocked)
		return AUTH_RL_STILL_BLOCKED;
	if (debt + rl->interval > rl->limit) {
		rl->st.blocks++;
		return AUTH_RL_NOW_BLOCKED;
	}
	return AUTH_RL_COUNTED;
}

const struct auth_rl_stats *auth_rl_stats(const struct auth_rl *rl)
{
	return &rl->st;
}
