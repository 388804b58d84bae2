/**
 * @file test_auth_acl.c
 * ACLs: the matcher's three relations, decision vectors for a Mosquitto-style file (user
 * sections, the anonymous section, patterns with %c/%u, deny before grant, read vs write,
 * wildcards, `$SYS`, `$share`, unsafe ids), SUBSCRIBE filters, denial counters (also from
 * several threads), copy-on-write editing, save + reload, and malformed files with file:line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "auth/auth_acl.h"
#include "auth/auth_topic.h"
#include "auth_test.h"

/* ---- the matcher ---- */

static bool covers(const char *rule, const char *s)
{
	struct auth__filter f;
	if (auth__filter_compile(&f, rule, strlen(rule), false, NULL, 0) != 0)
		return false;
	struct auth__subst sub = {"c", 1, NULL, 0};
	bool r = auth__filter_covers(&f, s, strlen(s), &sub);
	auth__filter_fini(&f);
	return r;
}

static bool intersects(const char *rule, const char *s)
{
	struct auth__filter f;
	if (auth__filter_compile(&f, rule, strlen(rule), false, NULL, 0) != 0)
		return false;
	struct auth__subst sub = {"c", 1, NULL, 0};
	bool r = auth__filter_intersects(&f, s, strlen(s), &sub);
	auth__filter_fini(&f);
	return r;
}

static bool matches(const char *filter, const char *topic)
{
	return auth__topic_matches(filter, strlen(filter), topic, strlen(topic));
}

static void test_matcher(void)
{
	/* plain matching (covers with a topic name) */
	CHECK(covers("a/b", "a/b"));
	CHECK(!covers("a/b", "a/b/c"));
	CHECK(!covers("a/b", "a/b/"));
	CHECK(covers("a/+", "a/b"));
	CHECK(covers("a/+", "a/"));          /* an empty level is a level */
	CHECK(!covers("a/+", "a"));
	CHECK(covers("a/#", "a"));           /* # matches its parent */
	CHECK(covers("a/#", "a/b/c"));
	CHECK(covers("+/+", "/x"));
	CHECK(covers("#", "x/y"));
	CHECK(!covers("#", "$SYS/x"));       /* wildcards never match a leading $ */
	CHECK(!covers("+/x", "$SYS/x"));
	CHECK(covers("$SYS/#", "$SYS/broker/uptime"));
	CHECK(covers("$SYS/#", "$SYS"));
	CHECK(!covers("$SYS/#", "SYS/x"));
	/* filter covers filter */
	CHECK(covers("a/#", "a/+"));
	CHECK(covers("a/#", "a/#"));
	CHECK(!covers("a/+", "a/#"));
	CHECK(covers("+/+", "a/+"));
	CHECK(!covers("a/b", "a/+"));
	CHECK(covers("#", "#"));
	CHECK(!covers("#", "$SYS/#"));
	CHECK(!covers("a/+/c", "a/#"));
	/* intersection */
	CHECK(intersects("a/+", "+/b"));
	CHECK(!intersects("a/b", "a/c"));
	CHECK(intersects("a", "a/#"));
	CHECK(intersects("a/#", "a"));
	CHECK(!intersects("a/+", "a"));
	CHECK(!intersects("+/x", "$SYS/x"));
	CHECK(!intersects("a/#", "b/#"));
	CHECK(intersects("#", "x/+/y"));
	CHECK(intersects("$SYS/#", "$SYS/+"));
	CHECK(!intersects("a/b/c", "a/+"));
	/* plain filter matching */
	CHECK(matches("$SYS/broker/connection/+/state", "$SYS/broker/connection/br1/state"));
	CHECK(!matches("$SYS/broker/connection/+/state", "$SYS/broker/connection/state"));
	CHECK(matches("a/#", "a"));
	CHECK(!matches("#", "$x"));
	/* validation */
	CHECK(auth__is_filter("a/+/#", 5));
	CHECK(!auth__is_filter("a/#/b", 5));
	CHECK(!auth__is_filter("a+", 2));
	CHECK(!auth__is_filter("", 0));
	CHECK(auth__is_topic("/", 1));
	CHECK(!auth__is_topic("a/+", 3));
	/* patterns: %c/%u substituted inside a level too (as mosquitto 2.0.11 does)... */
	struct auth__filter f;
	CHECK(auth__filter_compile(&f, "d/%c/x%u-%c", 11, true, NULL, 0) == 0);
	CHECK(f.has_username);
	struct auth__subst sub = {"c1", 2, "u1", 2};
	CHECK(auth__filter_covers(&f, "d/c1/xu1-c1", 11, &sub));
	CHECK(!auth__filter_covers(&f, "d/c1/xu1-c", 10, &sub));
	CHECK(!auth__filter_covers(&f, "d/c1/xu1-c12", 12, &sub));
	CHECK(!auth__filter_covers(&f, "d/c1/x%u-%c", 11, &sub));
	CHECK(!auth__filter_covers(&f, "d/c1/x+", 7, &sub));
	CHECK(auth__filter_intersects(&f, "d/+/+", 5, &sub));
	CHECK(!auth__filter_intersects(&f, "d/c1/xu2-c1", 11, &sub));
	struct auth__subst anon = {"c1", 2, NULL, 0};
	CHECK(!auth__filter_covers(&f, "d/c1/x-c1", 9, &anon));
	/* ...but never across levels: an id with '/' cannot reach into a subtree */
	struct auth__subst slash = {"a/b", 3, "u/v", 3};
	CHECK(!auth__filter_covers(&f, "d/a/b/xu/v-a/b", 14, &slash));
	auth__filter_fini(&f);
	CHECK(auth__filter_compile(&f, "d/%c/#", 6, true, NULL, 0) == 0);
	CHECK(!f.has_username);
	CHECK(auth__filter_covers(&f, "d/a/b", 5, &(struct auth__subst){"a", 1, NULL, 0}));
	CHECK(!auth__filter_covers(&f, "d/a/b", 5, &slash));
	auth__filter_fini(&f);
	/* in a `topic` line, % is plain text */
	CHECK(auth__filter_compile(&f, "d/%c", 4, false, NULL, 0) == 0);
	CHECK(auth__filter_covers(&f, "d/%c", 4, &sub));
	CHECK(!auth__filter_covers(&f, "d/c1", 4, &sub));
	auth__filter_fini(&f);
}

/* ---- decisions ---- */

static const char acl_text[] =
	"# Mosquitto-style ACL used by the vectors\n"
	"topic read public/#\n"
	"topic deny public/secret\n"
	"topic read $SYS/#\n"
	"\n"
	"pattern readwrite devices/%c/#\n"
	"pattern write sensor/%u/data\n"
	"pattern deny devices/%c/locked\n"
	"pattern read users/%u/inbox/+\n"
	"\n"
	"user alice\n"
	"topic readwrite alice/#\n"
	"topic read shared/+/status\n"
	"  topic   deny   alice/private/#  \n"
	"topic write $SYS/broker/connection/+/state\n"
	"topic write devices/+/locked\n"
	"topic readwrite has space/x\n"
	"user bob\n"
	"topic write shared/bob/status\n"
	"topic read #\n"
	"user solo\n"
	"topic read\n";

#define R AUTH_ACL_READ
#define W AUTH_ACL_WRITE
#define S AUTH_ACL_SUBSCRIBE

struct vec {
	const char *cid;
	const char *user;   /* NULL = anonymous */
	const char *topic;
	int access;
	int want;
};

static const struct vec vectors[] = {
	/* anonymous: the section before the first `user`, plus patterns */
	{"c1", NULL, "public/a", R, AUTH_ACL_ALLOW},
	{"c1", NULL, "public", R, AUTH_ACL_ALLOW},
	{"c1", NULL, "public/a", W, AUTH_ACL_DENY_NO_GRANT},
	{"c1", NULL, "public/secret", R, AUTH_ACL_DENY_RULE},
	{"c1", NULL, "$SYS/broker/uptime", R, AUTH_ACL_ALLOW},
	{"c1", NULL, "$SYS/broker/uptime", W, AUTH_ACL_DENY_SYS},
	{"c1", NULL, "devices/c1/temp", R, AUTH_ACL_ALLOW},
	{"c1", NULL, "devices/c1/temp", W, AUTH_ACL_ALLOW},
	{"c1", NULL, "devices/c2/temp", W, AUTH_ACL_DENY_NO_GRANT},
	{"c1", NULL, "devices/c1/locked", W, AUTH_ACL_DENY_RULE},
	{"c1", NULL, "sensor/c1/data", W, AUTH_ACL_DENY_NO_GRANT}, /* %u: never anonymous */
	{"c1", NULL, "public/#", S, AUTH_ACL_ALLOW},
	{"c1", NULL, "public/secret", S, AUTH_ACL_DENY_RULE},
	/* a filter is refused only if a deny covers all of it or no grant shares a topic */
	{"c1", NULL, "+/secret", S, AUTH_ACL_ALLOW},
	{"c1", NULL, "#", S, AUTH_ACL_ALLOW},
	{"c1", NULL, "other/#", S, AUTH_ACL_DENY_NO_GRANT},
	{"c1", NULL, "$SYS/#", S, AUTH_ACL_ALLOW},
	{"c1", NULL, "devices/c1/+", S, AUTH_ACL_ALLOW},
	/* `deny` takes away every access */
	{"c1", NULL, "devices/c1/locked", S, AUTH_ACL_DENY_RULE},
	{"c1", NULL, "devices/c1/locked", R, AUTH_ACL_DENY_RULE},
	/* alice: her section, then patterns; the anonymous section is not hers */
	{"a1", "alice", "alice/x", W, AUTH_ACL_ALLOW},
	{"a1", "alice", "alice/x", R, AUTH_ACL_ALLOW},
	{"a1", "alice", "alice", W, AUTH_ACL_ALLOW},
	{"a1", "alice", "alice/private/key", W, AUTH_ACL_DENY_RULE},
	{"a1", "alice", "alice/private/key", R, AUTH_ACL_DENY_RULE},
	{"a1", "alice", "alice/private/#", S, AUTH_ACL_DENY_RULE},
	{"a1", "alice", "alice/private/+/x", S, AUTH_ACL_DENY_RULE},
	{"a1", "alice", "alice/#", S, AUTH_ACL_ALLOW},
	{"a1", "alice", "public/a", R, AUTH_ACL_DENY_NO_GRANT},
	{"a1", "alice", "shared/x/status", R, AUTH_ACL_ALLOW},
	{"a1", "alice", "shared/x/status", W, AUTH_ACL_DENY_NO_GRANT},
	{"a1", "alice", "sensor/alice/data", W, AUTH_ACL_ALLOW},
	{"a1", "alice", "sensor/bob/data", W, AUTH_ACL_DENY_NO_GRANT},
	{"a1", "alice", "users/alice/inbox/1", R, AUTH_ACL_ALLOW},
	{"a1", "alice", "users/alice/inbox/1/2", R, AUTH_ACL_DENY_NO_GRANT},
	{"a1", "alice", "users/alice/inbox/1", W, AUTH_ACL_DENY_NO_GRANT},
	{"a1", "alice", "$SYS/broker/connection/a1/state", W, AUTH_ACL_ALLOW},
	{"a1", "alice", "$SYS/broker/connection/a1/other", W, AUTH_ACL_DENY_SYS},
	{"a1", "alice", "devices/a1/x", W, AUTH_ACL_ALLOW},
	/* her own grant decides before the pattern deny, as in Mosquitto */
	{"a1", "alice", "devices/a1/locked", W, AUTH_ACL_ALLOW},
	{"a1", "alice", "has space/x", W, AUTH_ACL_ALLOW},
	/* bob reads everything but $-topics */
	{"b1", "bob", "anything/at/all", R, AUTH_ACL_ALLOW},
	{"b1", "bob", "$SYS/broker/uptime", R, AUTH_ACL_DENY_NO_GRANT},
	{"b1", "bob", "$SYS/#", S, AUTH_ACL_DENY_NO_GRANT},
	{"b1", "bob", "#", S, AUTH_ACL_ALLOW},
	{"b1", "bob", "shared/bob/status", W, AUTH_ACL_ALLOW},
	{"b1", "bob", "shared/bob/other", W, AUTH_ACL_DENY_NO_GRANT},
	/* a one-word topic line is the filter, readwrite */
	{"s1", "solo", "read", W, AUTH_ACL_ALLOW},
	/* a user without a section gets the patterns only */
	{"z1", "zed", "public/a", R, AUTH_ACL_DENY_NO_GRANT},
	{"z1", "zed", "devices/z1/x", W, AUTH_ACL_ALLOW},
	/* ids that would widen a pattern */
	{"c+1", NULL, "devices/x", W, AUTH_ACL_DENY_UNSAFE_ID},
	{"c#", NULL, "devices/c#/x", R, AUTH_ACL_DENY_INVALID},
	{"ok", "ev#l", "sensor/x/data", W, AUTH_ACL_DENY_UNSAFE_ID},
	{"c+1", NULL, "public/a", R, AUTH_ACL_ALLOW},  /* own rules decide first */
	/* $share */
	{"c1", NULL, "$share/g/public/#", S, AUTH_ACL_ALLOW},
	{"c1", NULL, "$share/g/other", S, AUTH_ACL_DENY_NO_GRANT},
	{"c1", NULL, "$share//public/a", S, AUTH_ACL_DENY_SHARE},
	{"c1", NULL, "$share/g", S, AUTH_ACL_DENY_SHARE},
	{"c1", NULL, "$share/g+/public/a", S, AUTH_ACL_DENY_SHARE},
	{"c1", NULL, "$share/g/x", W, AUTH_ACL_DENY_SHARE},
	{"c1", NULL, "$share/g/x", R, AUTH_ACL_DENY_SHARE},
	/* not MQTT at all */
	{"c1", NULL, "public/+", R, AUTH_ACL_DENY_INVALID},
	{"c1", NULL, "public/a/#/b", S, AUTH_ACL_DENY_INVALID},
	{"c1", NULL, "", R, AUTH_ACL_DENY_INVALID},
	{"c1", NULL, "a#", S, AUTH_ACL_DENY_INVALID},
};

static int check(const struct auth_acl *acl, const char *cid, const char *user,
		 const char *topic, int access, struct auth_acl_stats *st)
{
	struct auth_client c = {cid, strlen(cid), user, user ? strlen(user) : 0};
	return auth_acl_check(acl, &c, topic, strlen(topic), access, st);
}

static void run_vectors(const struct auth_acl *acl, const char *what)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		int got = check(acl, v->cid, v->user, v->topic, v->access, NULL);
		if (got != v->want) {
			fprintf(stderr, "%s vector %zu: %s/%s %s access %d: got %s, want %s\n", what,
				i, v->cid, v->user ? v->user : "(anon)", v->topic, v->access,
				auth_acl_deny_name(got), auth_acl_deny_name(v->want));
			at_failures++;
		}
	}
}

static struct auth_acl *parse(const char *text)
{
	char err[256] = "";
	struct auth_acl *acl = auth_acl_parse(text, strlen(text), "acl", err, sizeof(err));
	if (acl == NULL)
		fprintf(stderr, "parse: %s\n", err);
	return acl;
}

static void test_vectors(void)
{
	struct auth_acl *acl = parse(acl_text);
	CHECK(acl != NULL);
	if (acl == NULL)
		return;
	CHECK_EQ(auth_acl_rule_count(acl), 16);
	run_vectors(acl, "parsed");

	/* Save, reload: same decisions. */
	char err[256] = "";
	const char *f = at_path("acl");
	CHECK_EQ(auth_acl_save(acl, f, err, sizeof(err)), 0);
	struct auth_acl *rd = auth_acl_load(f, err, sizeof(err));
	CHECK(rd != NULL);
	if (rd != NULL) {
		CHECK_EQ(auth_acl_rule_count(rd), 16);
		run_vectors(rd, "reloaded");
		auth_acl_unref(rd);
	}
	/* A clone decides the same. */
	struct auth_acl *c = auth_acl_clone(acl);
	CHECK(c != NULL);
	if (c != NULL) {
		run_vectors(c, "clone");
		auth_acl_unref(c);
	}
	auth_acl_unref(acl);
}

static void test_no_acl_and_empty(void)
{
	/* No acl_file: only the $ rules. */
	CHECK_EQ(check(NULL, "c", NULL, "any/thing", W, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(NULL, "c", "u", "#", S, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(NULL, "c", NULL, "$SYS/x", W, NULL), AUTH_ACL_DENY_SYS);
	CHECK_EQ(check(NULL, "c", NULL, "$SYS/x", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(NULL, "c", NULL, "$share/g/x", S, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(NULL, "c", NULL, "$share/g/x", W, NULL), AUTH_ACL_DENY_SHARE);
	CHECK_EQ(check(NULL, "c", NULL, "$SYS/broker/connection/b/state", W, NULL),
		 AUTH_ACL_ALLOW);
	/* An empty file denies everything. */
	struct auth_acl *acl = parse("# nothing\n\n");
	CHECK(acl != NULL);
	CHECK_EQ(check(acl, "c", NULL, "x", R, NULL), AUTH_ACL_DENY_NO_GRANT);
	CHECK_EQ(check(acl, "c", "u", "x", S, NULL), AUTH_ACL_DENY_NO_GRANT);
	auth_acl_unref(acl);
}

static void test_counters(void)
{
	struct auth_acl *acl = parse(acl_text);
	CHECK(acl != NULL);
	if (acl == NULL)
		return;
	struct auth_acl_stats st;
	memset(&st, 0, sizeof(st));
	check(acl, "c1", NULL, "public/secret", R, &st);
	check(acl, "c1", NULL, "public/secret", R, &st);
	check(acl, "c1", NULL, "public/a", W, &st);
	check(acl, "c1", NULL, "public/a", R, &st);       /* allowed: not counted */
	check(acl, "c1", NULL, "$SYS/x", W, &st);
	check(acl, "c1", NULL, "other/#", S, &st);
	check(acl, "c+", NULL, "x", W, &st);
	CHECK_EQ(auth_acl_stats_get(&st, R, AUTH_ACL_DENY_RULE), 2);
	CHECK_EQ(auth_acl_stats_get(&st, W, AUTH_ACL_DENY_NO_GRANT), 1);
	CHECK_EQ(auth_acl_stats_get(&st, W, AUTH_ACL_DENY_SYS), 1);
	CHECK_EQ(auth_acl_stats_get(&st, S, AUTH_ACL_DENY_NO_GRANT), 1);
	CHECK_EQ(auth_acl_stats_get(&st, W, AUTH_ACL_DENY_UNSAFE_ID), 1);
	CHECK_EQ(auth_acl_stats_get(&st, R, AUTH_ACL_ALLOW), 0);
	CHECK(strcmp(auth_acl_deny_name(AUTH_ACL_DENY_SYS), "sys") == 0);
	auth_acl_unref(acl);
}

/* Several threads check one table and share one counter block: every denial is counted. */
struct thr_arg {
	const struct auth_acl *acl;
	struct auth_acl_stats *st;
	int bad;
};

#define THR_ITERS 20000

static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	for (int i = 0; i < THR_ITERS; i++) {
		if (check(a->acl, "a1", "alice", "alice/x", W, a->st) != AUTH_ACL_ALLOW)
			a->bad++;
		if (check(a->acl, "a1", "alice", "alice/private/x", R, a->st) != AUTH_ACL_DENY_RULE)
			a->bad++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct auth_acl *acl = parse(acl_text);
	CHECK(acl != NULL);
	if (acl == NULL)
		return;
	struct auth_acl_stats st;
	memset(&st, 0, sizeof(st));
	pthread_t t[4];
	struct thr_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thr_arg){acl, &st, 0};
		CHECK(pthread_create(&t[i], NULL, thr_main, &args[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(args[i].bad, 0);
	}
	CHECK_EQ(auth_acl_stats_get(&st, R, AUTH_ACL_DENY_RULE), 4 * THR_ITERS);
	auth_acl_unref(acl);
}

static void test_editing(void)
{
	char err[256] = "";
	struct auth_acl *base = parse("user alice\ntopic read a/#\n");
	CHECK(base != NULL);
	if (base == NULL)
		return;
	struct auth_acl *c = auth_acl_clone(base);
	CHECK(c != NULL);
	if (c == NULL) {
		auth_acl_unref(base);
		return;
	}
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_W, "a/out", err,
				   sizeof(err)), 0);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_DENY, "a/secret", err,
				   sizeof(err)), 0);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, NULL, AUTH_ACL_R, "anon/#", err,
				   sizeof(err)), 0);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_PATTERN, NULL, AUTH_ACL_RW, "c/%c", err,
				   sizeof(err)), 0);
	/* the new user's index grows past its first size */
	for (int i = 0; i < 40; i++) {
		char u[32];
		snprintf(u, sizeof(u), "user%d", i);
		CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, u, AUTH_ACL_R, "x/#", err,
					   sizeof(err)), 0);
	}
	CHECK_EQ(check(c, "k", "user39", "x/1", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(c, "k", "user0", "x/1", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(c, "k", "user40", "x/1", R, NULL), AUTH_ACL_DENY_NO_GRANT);
	/* errors */
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_W, "a/out", err,
				   sizeof(err)), -EEXIST);
	CHECK(strstr(err, "already there") != NULL);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_W, "a/#/b", err,
				   sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a valid topic filter") != NULL);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_W, " a", err,
				   sizeof(err)), -EINVAL);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "al\nice", AUTH_ACL_W, "a", err,
				   sizeof(err)), -EINVAL);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_PATTERN, "alice", AUTH_ACL_W, "a", err,
				   sizeof(err)), -EINVAL);
	CHECK_EQ(auth_acl_add_rule(c, AUTH_ACL_TOPIC, "alice", (enum auth_acl_grant)7, "a", err,
				   sizeof(err)), -EINVAL);

	/* the clone changed, the original did not */
	CHECK_EQ(check(c, "k", "alice", "a/out", W, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(base, "k", "alice", "a/out", W, NULL), AUTH_ACL_DENY_NO_GRANT);
	CHECK_EQ(check(c, "k", "alice", "a/secret", R, NULL), AUTH_ACL_DENY_RULE);
	CHECK_EQ(check(base, "k", "alice", "a/secret", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(c, "k", NULL, "anon/1", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(c, "k", "bob", "c/k", W, NULL), AUTH_ACL_ALLOW);

	/* the text form groups sections; anonymous rules come before any user line */
	struct auth_acl *small = parse("user alice\ntopic a/#\ntopic deny a/s\n"
				       "pattern read p/%u\ntopic write anon/x\n");
	CHECK(small != NULL);
	if (small != NULL) {
		char *txt = auth_acl_format(small, NULL);
		const char *want = "# ACL file in Mosquitto's acl_file format, written by Tachyon.\n"
				   "pattern read p/%u\n"
				   "\nuser alice\n"
				   "topic deny a/s\n"
				   "topic readwrite a/#\n"
				   "topic write anon/x\n";
		CHECK(txt != NULL && strcmp(txt, want) == 0);
		if (txt != NULL && strcmp(txt, want) != 0)
			fprintf(stderr, "format:\n%s", txt);
		free(txt);
		auth_acl_unref(small);
	}

	/* removal */
	CHECK_EQ(auth_acl_remove_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_DENY, "a/secret"), 0);
	CHECK_EQ(auth_acl_remove_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_DENY, "a/secret"),
		 -ENOENT);
	CHECK_EQ(auth_acl_remove_rule(c, AUTH_ACL_TOPIC, "alice", AUTH_ACL_R, "a/out"), -ENOENT);
	CHECK_EQ(auth_acl_remove_rule(c, AUTH_ACL_TOPIC, "nobody", AUTH_ACL_R, "a/out"), -ENOENT);
	CHECK_EQ(auth_acl_remove_rule(c, AUTH_ACL_PATTERN, NULL, AUTH_ACL_RW, "c/%c"), 0);
	CHECK_EQ(check(c, "k", "alice", "a/secret", R, NULL), AUTH_ACL_ALLOW);
	CHECK_EQ(check(c, "k", "bob", "c/k", W, NULL), AUTH_ACL_DENY_NO_GRANT);

	/* the reference count: the last unref frees (ASan would see a leak or a double free) */
	auth_acl_ref(c);
	auth_acl_unref(c);
	CHECK_EQ(check(c, "k", "alice", "a/1", R, NULL), AUTH_ACL_ALLOW);
	auth_acl_unref(c);
	auth_acl_unref(base);
	auth_acl_unref(NULL);
}

static void test_malformed(void)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"topic\n", "acl:1: 'topic' needs a topic filter"},
		{"\n\npattern   \n", "acl:3: 'pattern' needs a topic filter"},
		{"user\n", "acl:1: 'user' needs a username"},
		{"topic sometimes a/b\n", "acl:1: unknown access 'sometimes'"},
		{"topic read a/#/b\n", "acl:1: 'a/#/b' is not a valid topic filter"},
		{"# c\n  # c\nfoo bar\n", "acl:3: unknown keyword 'foo'"},
		{"user a\ntopic read a+\n", "acl:2: 'a+' is not a valid topic filter"},
		{"pattern write x/%c/#/y\n", "acl:1: 'x/%c/#/y' is not a valid topic filter"},
		{"topicread a\n", "acl:1: unknown keyword 'topicread'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		struct auth_acl *acl = auth_acl_parse(cases[i].text, strlen(cases[i].text), "acl", err,
						      sizeof(err));
		CHECK(acl == NULL);
		if (strstr(err, cases[i].want) == NULL) {
			fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, cases[i].want);
			at_failures++;
		}
		auth_acl_unref(acl);
	}
	char err[256] = "";
	CHECK(auth_acl_parse("topic a\0b\n", 10, "acl", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "acl:1: NUL byte") != NULL);
	CHECK(auth_acl_load(at_path("missing.acl"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "missing.acl: No such file") != NULL);
	/* Duplicate lines are accepted (Mosquitto does) and stored once. */
	struct auth_acl *acl = parse("topic a\ntopic a\ntopic readwrite a\n");
	CHECK(acl != NULL && auth_acl_rule_count(acl) == 1);
	auth_acl_unref(acl);
}

int main(void)
{
	at_mkdir();
	test_matcher();
	test_vectors();
	test_no_acl_and_empty();
	test_counters();
	test_threads();
	test_editing();
	test_malformed();
	return at_finish("test_auth_acl");
}
