/**
 * @file auth_topic.h
 * lib/auth's own small MQTT topic matcher (internal to the part). ACL rules are compiled once
 * into level arrays; a check then walks the rule's levels against the topic (or the
 * subscription filter) without allocating or copying.
 *
 * It is deliberately independent of lib/topic: that one is an RCU tree of subscriptions, this
 * one answers "does this one rule relate to this one string", including the relations between
 * two filters that a SUBSCRIBE check needs.
 *
 * Thread-safety: compiled filters are immutable; every function here except
 * auth__filter_compile()/auth__filter_fini() only reads and may run on any number of threads.
 */
#ifndef TACHYON_AUTH_TOPIC_H
#define TACHYON_AUTH_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What one level of a compiled rule filter is. */
enum auth__lvl_kind {
	AUTH__LVL_LIT = 0,  /**< literal text (may be empty: "a//b") */
	AUTH__LVL_PLUS,     /**< `+`: exactly one level */
	AUTH__LVL_HASH,     /**< `#`: this level and all below, and the parent itself */
	AUTH__LVL_CLIENTID, /**< `%c` (patterns only): the whole level equals the client id */
	AUTH__LVL_USERNAME, /**< `%u` (patterns only): the whole level equals the username */
	AUTH__LVL_SUBST,    /**< text with `%c`/`%u` inside (patterns only), e.g. `dev-%c` */
};

/** One level: text[off, off+len) of the filter. */
struct auth__level {
	uint32_t off;   /**< offset in auth__filter.text */
	uint32_t len;   /**< length in bytes */
	uint8_t kind;   /**< enum auth__lvl_kind */
};

/**
 * A compiled ACL filter. Invariants: nlevels >= 1; a HASH level is the last one; text is
 * NUL-terminated and holds exactly what the rule file said.
 */
struct auth__filter {
	char *text;                  /**< the filter as written (owned) */
	uint32_t len;                /**< strlen(text) */
	uint32_t nlevels;            /**< entries in levels */
	struct auth__level *levels;  /**< owned */
	bool has_username;           /**< some level is %u: the rule needs a username */
};

/** Values for %c and %u while matching a pattern. */
struct auth__subst {
	const char *client_id;
	size_t client_id_len;
	const char *username;        /**< NULL: anonymous */
	size_t username_len;
};

/**
 * Compile @p text as an ACL filter. With @p pattern, `%c` and `%u` in a level stand for the
 * client id and the username. Mosquitto 2.0.11 substitutes them anywhere in the text (checked:
 * `pattern readwrite dev-%u/x` grants `dev-bob/x` to bob), so we do too, but only within a
 * level: a substituted value must fit in the one topic level, so an id containing `/` matches
 * nothing instead of reaching into another client's subtree.
 * @return 0, or -1 with the reason (no file/line) in @p why.
 */
int auth__filter_compile(struct auth__filter *f, const char *text, size_t len, bool pattern,
			 char *why, size_t whylen);

/** Free what auth__filter_compile() allocated. */
void auth__filter_fini(struct auth__filter *f);

/** Is (s, n) a valid MQTT topic filter (non-empty, `+`/`#` only as whole levels, `#` last)? */
bool auth__is_filter(const char *s, size_t n);

/** Is (s, n) a valid MQTT topic name (non-empty, no `+` or `#`)? */
bool auth__is_topic(const char *s, size_t n);

/**
 * Does rule @p f cover filter (s, n): is every topic that (s, n) matches also matched by
 * @p f? For a topic name (no wildcards) this is plain matching. `$`-topics: a rule relates to
 * a topic or filter that starts with `$` only if the rule itself starts with `$`, and vice
 * versa (a wildcard first level never matches a `$` level).
 * @p sub gives %c/%u; the caller skips %u rules for anonymous clients.
 */
bool auth__filter_covers(const struct auth__filter *f, const char *s, size_t n,
			 const struct auth__subst *sub);

/** Do rule @p f and filter (s, n) share at least one topic? Same `$` and %c/%u rules. */
bool auth__filter_intersects(const struct auth__filter *f, const char *s, size_t n,
			     const struct auth__subst *sub);

/** Does filter (fs, fn) (plain, no substitution) match topic (ts, tn)? */
bool auth__topic_matches(const char *fs, size_t fn, const char *ts, size_t tn);

#endif /* TACHYON_AUTH_TOPIC_H */
