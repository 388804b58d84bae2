/**
 * @file auth_connect.h
 * The CONNECT decision: anonymous access per listener, the password file, and the failure rate
 * limiter, combined the way Mosquitto 2.0 combines `allow_anonymous` and `password_file`, with
 * the CONNACK code to send and a counter per outcome.
 *
 * Where it sits: the worker that decodes a CONNECT calls auth_connect_check() with the
 * listener's settings and the currently published password table; on anything but
 * AUTH_CONNECT_OK it sends auth_connect_connack_code() and closes. When @p now_blocked comes
 * back true it logs one line for the source address (see auth_ratelimit.h: once per block, not
 * once per attempt, so failures cannot flood the log). This file neither logs nor allocates.
 *
 * Rules (Mosquitto 2.0, src/security.c and security_default.c):
 *  - no username: allowed if the listener allows anonymous clients, else refused;
 *  - a username and a password table: the user must be in the table with the right password;
 *  - a username and no password table: allowed (Mosquitto accepts any username then, even with
 *    `allow_anonymous false`; the username still selects the ACL section);
 *  - a blocked source address is refused before any hash is computed.
 *
 * Thread-safety: safe on any number of workers at once given one limiter per worker (the
 * limiter is single-threaded); the password table is read only; stats are relaxed atomics.
 * Error convention: auth_connect_check() returns an enum auth_connect_verdict.
 */
#ifndef TACHYON_AUTH_CONNECT_H
#define TACHYON_AUTH_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth_passwd;
struct auth_rl;

/** What a listener says about authentication (from conf: allow_anonymous, password_file). */
struct auth_listener {
	bool allow_anonymous;            /**< clients without a username may connect */
	const struct auth_passwd *pw;    /**< the password table, or NULL without password_file */
};

/** The outcome of a CONNECT. */
enum auth_connect_verdict {
	AUTH_CONNECT_OK = 0,
	AUTH_CONNECT_ANON_REFUSED,   /**< no username and allow_anonymous false */
	AUTH_CONNECT_UNKNOWN_USER,   /**< username not in the password file */
	AUTH_CONNECT_BAD_PASSWORD,   /**< wrong or missing password */
	AUTH_CONNECT_RATE_LIMITED,   /**< the source address is blocked for now */
	AUTH_CONNECT_ERROR,          /**< the digest failed (out of memory): refused */
	AUTH_CONNECT_VERDICT_COUNT
};

/** Counters per verdict (relaxed atomics; shared or per worker). Zero-initialise. */
struct auth_connect_stats {
	uint64_t n[AUTH_CONNECT_VERDICT_COUNT];
};

/**
 * Decide on a CONNECT.
 * @param l            the listener's settings
 * @param rl           the worker's failure limiter, or NULL for no rate limiting
 * @param ip           source IPv4 address (as the limiter keys it)
 * @param now_ns       the worker's monotonic clock
 * @param user         username or NULL if the CONNECT had none; @p ulen bytes
 * @param pass         password or NULL if none; @p plen bytes
 * @param stats        counters to bump, or NULL
 * @param now_blocked  if not NULL, set true when this failure made @p ip blocked (log it)
 * @return enum auth_connect_verdict
 */
int auth_connect_check(const struct auth_listener *l, struct auth_rl *rl, uint32_t ip,
		       uint64_t now_ns, const char *user, size_t ulen, const char *pass,
		       size_t plen, struct auth_connect_stats *stats, bool *now_blocked);

/**
 * The CONNACK code for a verdict: what Debian's mosquitto 2.0 sends for a refused login
 * (MQTT 5: 0x87 Not authorized; 3.1.1: return code 5), and for a blocked address MQTT 5's
 * 0x9F Connection rate exceeded (3.1.1 has nothing closer than 5). AUTH_CONNECT_OK gives 0.
 * @param mqtt5  true for an MQTT 5 client (reason code), false for 3.1/3.1.1 (return code)
 */
uint8_t auth_connect_connack_code(int verdict, bool mqtt5);

/** @return a short name for a verdict ("ok", "anon_refused", ...), for metrics and logs. */
const char *auth_connect_verdict_name(int verdict);

/** @return a counter (relaxed atomic read). */
uint64_t auth_connect_stats_get(const struct auth_connect_stats *stats, int verdict);

#endif /* TACHYON_AUTH_CONNECT_H */
