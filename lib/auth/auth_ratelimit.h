/**
 * @file auth_ratelimit.h
 * Rate limiting of authentication failures per source IPv4 address, so that password guessing
 * is slow and a flood of bad CONNECTs cannot keep a worker busy with PBKDF2.
 *
 * Where it sits: each worker owns one limiter. On CONNECT with credentials the worker first
 * asks auth_rl_allowed(); if the source is blocked it refuses at once, without verifying the
 * password (MQTT 5: CONNACK 0x9F Connection rate exceeded; 3.1.1: return code 5 Not
 * authorized, the closest it has). After a failed verification it calls
 * auth_rl_fail(); when that answers AUTH_RL_NOW_BLOCKED, it logs one line for the address
 * (not one per attempt, so an attacker cannot flood the log either).
 *
 * Algorithm: a token bucket per address, kept as one timestamp (GCRA): each failure adds
 * `interval_ns` of debt, debt drains in real time, and an address is blocked while its debt
 * is `burst` failures or more. So `burst` failures in a row are allowed, then one more each
 * `interval_ns`. An address with no debt needs no entry, so entries are created only by
 * failures and expire by themselves.
 *
 * Memory: a fixed table of 4-way buckets (one 64-byte cache line each) allocated at creation;
 * nothing is allocated per check. When a bucket is full, the entry with the least debt is
 * evicted: blocked addresses are the last to go, and the bucket index is keyed by a secret
 * seed, so an attacker cannot aim at the bucket of an address it wants to unblock.
 *
 * Limits of the design: a connection lives on one worker, and the flows of one address may
 * spread over several workers, so an address can get up to `burst` failures per worker.
 * Addresses are IPv4, as the stack is.
 *
 * Thread-safety: none. One limiter per worker; only its worker calls it. The control core may
 * read auth_rl_stats() fields without locks (single-writer 64-bit counters, see
 * docs/principles.md).
 *
 * Time is the caller's: pass a monotonic nanosecond clock (TSC-derived on a worker, virtual in
 * tests). Error convention: auth_rl_create() returns NULL and sets errno; the rest cannot fail.
 */
#ifndef TACHYON_AUTH_RATELIMIT_H
#define TACHYON_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/** A limiter (opaque). */
struct auth_rl;

/** Settings for auth_rl_create(). */
struct auth_rl_config {
	uint32_t burst;        /**< failures allowed in a row before blocking (1..1000000) */
	uint64_t interval_ns;  /**< one more failure allowed per this much time (1 ms..1 day) */
	uint32_t entries;      /**< addresses tracked; rounded up to a power of two, >= 4 */
	uint64_t seed;         /**< secret for the bucket hash; 0 = take one from RAND_bytes */
};

/** Counters, written only by the owning worker. */
struct auth_rl_stats {
	uint64_t failures;     /**< auth_rl_fail() calls */
	uint64_t blocks;       /**< times an address became blocked (AUTH_RL_NOW_BLOCKED) */
	uint64_t refused;      /**< auth_rl_allowed() calls that answered false */
	uint64_t evictions;    /**< indebted entries dropped to make room */
};

/** What auth_rl_fail() did. */
enum auth_rl_verdict {
	AUTH_RL_COUNTED = 0,   /**< failure counted; the address may still try */
	AUTH_RL_NOW_BLOCKED,   /**< this failure blocked the address: log it once */
	AUTH_RL_STILL_BLOCKED, /**< it was already blocked (caller did not ask first) */
};

/**
 * Create a limiter. @return it, or NULL with errno EINVAL (settings out of range), ENOMEM, or
 * EIO (no randomness for the seed).
 */
struct auth_rl *auth_rl_create(const struct auth_rl_config *cfg);

/** Free a limiter; NULL is allowed. */
void auth_rl_free(struct auth_rl *rl);

/**
 * May @p ip try to authenticate now? Never creates an entry.
 * @param ip      source address, any byte order as long as it is always the same
 * @param now_ns  the caller's monotonic clock
 * @return true if allowed; false if blocked (counted in stats.refused).
 */
bool auth_rl_allowed(struct auth_rl *rl, uint32_t ip, uint64_t now_ns);

/** Record one failed authentication from @p ip. @return enum auth_rl_verdict. */
int auth_rl_fail(struct auth_rl *rl, uint32_t ip, uint64_t now_ns);

/**
 * @return how long until @p ip may try again: 0 if it may now. For logs ("blocked for 30 s").
 */
uint64_t auth_rl_blocked_for(const struct auth_rl *rl, uint32_t ip, uint64_t now_ns);

/** @return the limiter's counters (live; read without locks). */
const struct auth_rl_stats *auth_rl_stats(const struct auth_rl *rl);

#endif /* TACHYON_AUTH_RATELIMIT_H */
