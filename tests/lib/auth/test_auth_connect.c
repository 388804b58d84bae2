/**
 * @file test_auth_connect.c
 * The CONNECT decision: anonymous on/off per listener, usernames without a password file,
 * right/wrong/missing passwords, unknown users, the rate limiter refusing before hashing and
 * reporting the start of a block once, CONNACK codes, counters.
 */
#include <stdbool.h>

#include "auth/auth_connect.h"
#include "auth/auth_passwd.h"
#include "auth/auth_ratelimit.h"
#include "auth_test.h"

#define SEC 1000000000ull

static int conn(const struct auth_listener *l, struct auth_rl *rl, uint64_t now,
		const char *user, const char *pass, struct auth_connect_stats *st, bool *blocked)
{
	return auth_connect_check(l, rl, 0x7f000001, now, user, user ? strlen(user) : 0, pass,
				  pass ? strlen(pass) : 0, st, blocked);
}

int main(void)
{
	struct auth_passwd *pw = auth_passwd_new();
	CHECK(pw != NULL && auth_passwd_set(pw, "alice", "pa55", 4) == 0);
	struct auth_rl_config rc = {.burst = 2, .interval_ns = 10 * SEC, .entries = 64, .seed = 1};
	struct auth_rl *rl = auth_rl_create(&rc);
	CHECK(rl != NULL);
	struct auth_connect_stats st = {{0}};
	bool blocked = true;

	struct auth_listener open = {.allow_anonymous = true, .pw = NULL};
	struct auth_listener closed = {.allow_anonymous = false, .pw = NULL};
	struct auth_listener pwd = {.allow_anonymous = false, .pw = pw};
	struct auth_listener pwd_anon = {.allow_anonymous = true, .pw = pw};

	/* anonymous access per listener */
	CHECK_EQ(conn(&open, rl, 0, NULL, NULL, &st, &blocked), AUTH_CONNECT_OK);
	CHECK(!blocked);
	CHECK_EQ(conn(&closed, rl, 0, NULL, NULL, &st, NULL), AUTH_CONNECT_ANON_REFUSED);
	CHECK_EQ(conn(&pwd, rl, 0, NULL, "pa55", &st, NULL), AUTH_CONNECT_ANON_REFUSED);
	CHECK_EQ(conn(&pwd_anon, rl, 0, NULL, NULL, &st, NULL), AUTH_CONNECT_OK);
	/* a username without a password file is accepted, as by mosquitto */
	CHECK_EQ(conn(&closed, rl, 0, "anyone", NULL, &st, NULL), AUTH_CONNECT_OK);
	/* the password file */
	CHECK_EQ(conn(&pwd, rl, 0, "alice", "pa55", &st, NULL), AUTH_CONNECT_OK);
	CHECK_EQ(conn(&pwd_anon, rl, 0, "alice", "pa55", &st, NULL), AUTH_CONNECT_OK);

	/* failures: unknown user, then a missing password: the second blocks the address */
	uint64_t t = 100 * SEC;
	CHECK_EQ(conn(&pwd, rl, t, "mallory", "x", &st, &blocked), AUTH_CONNECT_UNKNOWN_USER);
	CHECK(!blocked);
	CHECK_EQ(conn(&pwd, rl, t, "alice", NULL, &st, &blocked), AUTH_CONNECT_BAD_PASSWORD);
	CHECK(blocked);
	/* blocked: even the right password is refused, and nothing new is reported */
	CHECK_EQ(conn(&pwd, rl, t + 1, "alice", "pa55", &st, &blocked), AUTH_CONNECT_RATE_LIMITED);
	CHECK(!blocked);
	CHECK_EQ(auth_rl_stats(rl)->failures, 2);
	/* anonymous clients are not rate limited: they guess no password */
	CHECK_EQ(conn(&pwd_anon, rl, t + 1, NULL, NULL, &st, NULL), AUTH_CONNECT_OK);
	/* after one interval, one more try */
	CHECK_EQ(conn(&pwd, rl, t + 10 * SEC, "alice", "pa55", &st, NULL), AUTH_CONNECT_OK);
	CHECK_EQ(conn(&pwd, rl, t + 10 * SEC, "alice", "nope", &st, &blocked),
		 AUTH_CONNECT_BAD_PASSWORD);
	CHECK(blocked);
	/* without a limiter nothing is ever rate limited */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(conn(&pwd, NULL, t, "alice", "nope", &st, NULL), AUTH_CONNECT_BAD_PASSWORD);

	/* CONNACK codes: mosquitto's 0x87 / 5, and 0x9F for a blocked MQTT 5 client */
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_OK, true), 0);
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_BAD_PASSWORD, true), 0x87);
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_BAD_PASSWORD, false), 5);
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_ANON_REFUSED, false), 5);
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_RATE_LIMITED, true), 0x9F);
	CHECK_EQ(auth_connect_connack_code(AUTH_CONNECT_RATE_LIMITED, false), 5);

	/* counters */
	CHECK_EQ(auth_connect_stats_get(&st, AUTH_CONNECT_OK), 7);
	CHECK_EQ(auth_connect_stats_get(&st, AUTH_CONNECT_ANON_REFUSED), 2);
	CHECK_EQ(auth_connect_stats_get(&st, AUTH_CONNECT_UNKNOWN_USER), 1);
	CHECK_EQ(auth_connect_stats_get(&st, AUTH_CONNECT_BAD_PASSWORD), 7);
	CHECK_EQ(auth_connect_stats_get(&st, AUTH_CONNECT_RATE_LIMITED), 1);
	CHECK_EQ(auth_connect_stats_get(&st, 99), 0);
	CHECK(strcmp(auth_connect_verdict_name(AUTH_CONNECT_RATE_LIMITED), "rate_limited") == 0);

	auth_rl_free(rl);
	auth_passwd_unref(pw);
	return at_finish("test_auth_connect");
}
