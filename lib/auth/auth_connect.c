/**
 * @file auth_connect.c
 * The CONNECT decision: allow_anonymous, the password table and the failure limiter combined
 * as described in auth_connect.h.
 */
#include "auth/auth_connect.h"

#include "auth/auth_passwd.h"
#include "auth/auth_ratelimit.h"

static int auth__connect(const struct auth_listener *l, struct auth_rl *rl, uint32_t ip,
			 uint64_t now, const char *user, size_t ulen, const char *pass,
			 size_t plen, bool *now_blocked)
{
	if (user == NULL)
		return l->allow_anonymous ? AUTH_CONNECT_OK : AUTH_CONNECT_ANON_REFUSED;
	if (l->pw == NULL)
		return AUTH_CONNECT_OK;
	/* Ask before hashing: a blocked address must not cost us a digest. */
	if (rl != NULL && !auth_rl_allowed(rl, ip, now))
		return AUTH_CONNECT_RATE_LIMITED;
	int r = auth_passwd_verify(l->pw, user, ulen, pass, plen);
	if (r == AUTH_PW_OK)
		return AUTH_CONNECT_OK;
	/* Out of memory is our failure, not the client's guess: do not count it against it. */
	if (r != AUTH_PW_ERROR && rl != NULL &&
	    auth_rl_fail(rl, ip, now) == AUTH_RL_NOW_BLOCKED && now_blocked != NULL)
		*now_blocked = true;
	if (r == AUTH_PW_UNKNOWN_USER)
		return AUTH_CONNECT_UNKNOWN_USER;
	return r == AUTH_PW_BAD_PASSWORD ? AUTH_CONNECT_BAD_PASSWORD : AUTH_CONNECT_ERROR;
}

int auth_connect_check(const struct auth_listener *l, struct auth_rl *rl, uint32_t ip,
		       uint64_t now_ns, const char *user, size_t ulen, const char *pass,
		       size_t plen, struct auth_connect_stats *stats, bool *now_blocked)
{
	if (now_blocked != NULL)
		*now_blocked = false;
	int v = auth__connect(l, rl, ip, now_ns, user, ulen, pass, plen, now_blocked);
	if (stats != NULL)
		__atomic_fetch_add(&stats->n[v], 1, __ATOMIC_RELAXED);
	return v;
}

uint8_t auth_connect_connack_code(int verdict, bool mqtt5)
{
	if (verdict == AUTH_CONNECT_OK)
		return 0;
	if (verdict == AUTH_CONNECT_RATE_LIMITED && mqtt5)
		return 0x9F; /* Connection rate exceeded */
	return mqtt5 ? 0x87 : 5; /* Not authorized, as mosquitto answers */
}

const char *auth_connect_verdict_name(int verdict)
{
	static const char *const names[AUTH_CONNECT_VERDICT_COUNT] = {
		"ok", "anon_refused", "unknown_user", "bad_password", "rate_limited", "error",
	};
	if (verdict < 0 || verdict >= AUTH_CONNECT_VERDICT_COUNT)
		return "unknown";
	return names[verdict];
}

uint64_t auth_connect_stats_get(const struct auth_connect_stats *stats, int verdict)
{
	if (verdict < 0 || verdict >= AUTH_CONNECT_VERDICT_COUNT)
		return 0;
	return __atomic_load_n(&stats->n[verdict], __ATOMIC_RELAXED);
}
