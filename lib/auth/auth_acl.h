/**
 * @file auth_acl.h
 * Access control lists in Mosquitto's `acl_file` format, and the check the broker makes on
 * every PUBLISH (write), SUBSCRIBE and delivery (read).
 *
 * Where it sits: the control core loads the file (auth_acl_load()) at start-up and on reload,
 * and applies run-time changes from tachyonctl by copy-on-write (auth_acl_clone(), then
 * auth_acl_add_rule()/auth_acl_remove_rule(), then auth_acl_save()). Workers call
 * auth_acl_check() on the fast path: it never allocates, locks or blocks.
 *
 * The file format (as Mosquitto 2.0 reads it; docs/security.md has examples):
 *  - `#` as the first non-blank character: a comment; blank lines are ignored;
 *  - `topic [read|write|readwrite|deny] <filter>`: with no access word, readwrite. The filter
 *    is the rest of the line, trimmed, and may hold `+`/`#` and spaces;
 *  - `user <name>`: the `topic` lines after it apply to clients logged in as <name>; the
 *    `topic` lines before the first `user` line apply to anonymous clients only;
 *  - `pattern [read|write|readwrite|deny] <filter>`: applies to every client wherever it
 *    stands in the file; `%c` and `%u` stand for the client id and the username, also inside
 *    a level (`dev-%c`, as Mosquitto 2.0.11 does), but a substituted value must fit within its
 *    level: an id containing `/` matches nothing. A `%u` pattern never matches an anonymous
 *    client.
 *
 * The check, following Mosquitto 2.0 (src/security.c and security_default.c):
 *  1. `$` rules, made even with no ACL loaded: writing to `$SYS/...` is denied except to
 *     `$SYS/broker/connection/+/state`; a topic starting with `$share` can be subscribed to
 *     (as `$share/<group>/<filter>`, checked as <filter>) but never published or read.
 *  2. With no ACL loaded (acl == NULL), everything else is allowed.
 *  3. The client's own rules (its user's section, or the anonymous section): if any `deny`
 *     rule matches, denied; else if a matching rule grants the access, allowed.
 *  4. If the file has patterns and the username or client id contains `+` or `#`, denied
 *     (such an id could widen a pattern to other clients' topics).
 *  5. Patterns, the same way: a matching `deny` denies, a matching grant allows.
 *  6. Otherwise denied. (So a loaded empty file denies everything.)
 * A rule matches a topic starting with `$` only if the rule starts with `$` too: `#` grants
 * nothing under `$SYS`.
 *
 * SUBSCRIBE: Mosquitto's acl_file never refuses a subscription and only filters deliveries.
 * Tachyon answers earlier, without changing what gets delivered: a filter is refused when a
 * `deny` rule covers all of it, or when no rule granting read shares any topic with it (it
 * could never deliver anything); otherwise it is allowed and each message is still checked
 * with AUTH_ACL_READ on delivery. E.g. with `topic read a/#` and `topic deny a/secret`,
 * subscribing to `#` is allowed (a/x is delivered, a/secret is not), `a/secret` and `b/#` are
 * refused.
 *
 * What the broker answers on a denial (as Mosquitto does): SUBSCRIBE gets reason code 0x87
 * Not authorized in the SUBACK for MQTT 5 and 0x80 Failure for 3.1.1; a PUBLISH is dropped,
 * and acknowledged normally for 3.1.1 while MQTT 5 QoS 1/2 gets 0x87 in its PUBACK/PUBREC; a
 * message the receiver may not read is silently not delivered.
 *
 * Lifetime and reload. A table that has been handed to workers is immutable. To change it,
 * the control core builds a new one (load, or clone + add/remove), publishes the pointer, and
 * frees the old one only when no worker can still be reading it: either after an RCU grace
 * period (workers are liburcu QSBR readers; rcu_assign_pointer() the new table, then
 * synchronize_rcu() or call_rcu(), then auth_acl_unref()), or by reference counting
 * (auth_acl_ref() by a holder, auth_acl_unref() when done; the last unref frees). Counting
 * once per check would bounce a cache line between workers, so use references only for
 * holders that outlive a read-side section.
 *
 * Error convention: constructors return NULL with "file:line: message" in the caller's err
 * buffer; functions that change or save a table return 0 or a negative errno, with a message
 * in err where they take one; auth_acl_check() returns 0 (allowed) or a positive enum
 * auth_acl_deny reason.
 */
#ifndef TACHYON_AUTH_ACL_H
#define TACHYON_AUTH_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The MQTT 5 reason code for every ACL denial (SUBACK, PUBACK, PUBREC). */
#define AUTH_MQTT5_NOT_AUTHORIZED 0x87
/** The MQTT 3.1.1 SUBACK return code for a refused subscription. */
#define AUTH_MQTT311_SUBACK_FAILURE 0x80

/** An ACL table (opaque). */
struct auth_acl;

/** What the client wants to do. */
enum auth_acl_access {
	AUTH_ACL_READ = 0,      /**< receive a message on a topic (delivery, retained too) */
	AUTH_ACL_WRITE = 1,     /**< PUBLISH to a topic (and the will's topic at CONNECT) */
	AUTH_ACL_SUBSCRIBE = 2, /**< SUBSCRIBE with a filter */
	AUTH_ACL_ACCESS_COUNT
};

/** Access a rule grants, as written in the file. */
enum auth_acl_grant {
	AUTH_ACL_DENY = 0,       /**< `deny` */
	AUTH_ACL_R = 1,          /**< `read` */
	AUTH_ACL_W = 2,          /**< `write` */
	AUTH_ACL_RW = 3,         /**< `readwrite` (or no access word) */
};

/** Why auth_acl_check() denied; 0 means allowed. Each has a counter per access. */
enum auth_acl_deny {
	AUTH_ACL_ALLOW = 0,
	AUTH_ACL_DENY_RULE,      /**< a `deny` rule matched (or covers the filter) */
	AUTH_ACL_DENY_NO_GRANT,  /**< no rule grants this access */
	AUTH_ACL_DENY_SYS,       /**< write to `$SYS` */
	AUTH_ACL_DENY_SHARE,     /**< `$share` used as a topic, or a malformed `$share/` filter */
	AUTH_ACL_DENY_UNSAFE_ID, /**< username or client id holds `+`/`#` while patterns exist */
	AUTH_ACL_DENY_INVALID,   /**< the topic or filter itself is not valid MQTT */
	AUTH_ACL_DENY_COUNT
};

/** Who is asking: the identity of a connected client. Strings need not be NUL-terminated. */
struct auth_client {
	const char *client_id;   /**< the client identifier (assigned one if it sent none) */
	size_t client_id_len;
	const char *username;    /**< NULL: anonymous; else the authenticated username */
	size_t username_len;
};

/**
 * Denial counters, one per access and reason. Increments are relaxed atomics, so one block
 * may be shared by all workers or each worker may own one (no contention at all); readers
 * use auth_acl_stats_get(). Zero-initialise it.
 */
struct auth_acl_stats {
	uint64_t denied[AUTH_ACL_ACCESS_COUNT][AUTH_ACL_DENY_COUNT];
};

/**
 * Check whether @p client may do @p access on @p topic (a topic name for READ/WRITE, a topic
 * filter for SUBSCRIBE, `$share/<group>/` prefix allowed), following the rules in the @file
 * comment.
 *
 * Thread-safety: safe from any number of threads at once on the same table; never allocates,
 * locks or blocks. The table must stay alive for the duration of the call (see Lifetime).
 *
 * @param acl     the table, or NULL when no acl_file is configured (only the `$` rules apply)
 * @param client  the asking client (client_id must not be NULL)
 * @param topic   the topic or filter, @p len bytes, not necessarily NUL-terminated
 * @param access  AUTH_ACL_READ, AUTH_ACL_WRITE or AUTH_ACL_SUBSCRIBE
 * @param stats   counters to bump on denial, or NULL
 * @return AUTH_ACL_ALLOW (0), or the enum auth_acl_deny reason.
 */
int auth_acl_check(const struct auth_acl *acl, const struct auth_client *client,
		   const char *topic, size_t len, enum auth_acl_access access,
		   struct auth_acl_stats *stats);

/** @return a counter of @p stats (relaxed atomic read; safe while workers count). */
uint64_t auth_acl_stats_get(const struct auth_acl_stats *stats, enum auth_acl_access access,
			    enum auth_acl_deny reason);

/** @return a short name for a reason ("rule", "no_grant", "sys", ...), for metrics labels. */
const char *auth_acl_deny_name(int reason);

/**
 * Load an acl_file. The whole file is checked; the first error is reported as
 * "path:line: message" and nothing is loaded.
 * @return a new table with one reference, or NULL with the message in @p err.
 */
struct auth_acl *auth_acl_load(const char *path, char *err, size_t errlen);

/** As auth_acl_load() from a buffer; @p name is used in messages in place of the path. */
struct auth_acl *auth_acl_parse(const char *buf, size_t len, const char *name, char *err,
				size_t errlen);

/** @return a new empty table (denies everything but what rules are added), or NULL. */
struct auth_acl *auth_acl_new(void);

/** @return a deep copy of @p acl with one reference, for copy-on-write changes; or NULL. */
struct auth_acl *auth_acl_clone(const struct auth_acl *acl);

/** Take a reference. Thread-safe. @return @p acl. */
struct auth_acl *auth_acl_ref(struct auth_acl *acl);

/** Drop a reference; the last one frees the table. NULL is allowed. Thread-safe. */
void auth_acl_unref(struct auth_acl *acl);

/** Which section of the file a rule belongs to. */
enum auth_acl_kind {
	AUTH_ACL_TOPIC,   /**< a `topic` line: for @p user, or the anonymous section if NULL */
	AUTH_ACL_PATTERN, /**< a `pattern` line: for every client (@p user must be NULL) */
};

/**
 * Add a rule to a table that no worker reads yet (a fresh load or clone).
 * Thread-safety: none; the table must be private to the caller.
 * @param user    the `user` section, or NULL (anonymous section; must be NULL for patterns)
 * @param filter  NUL-terminated topic filter; no line breaks, no blanks at either end
 * @return 0; -EINVAL (bad filter, username or kind; message in @p err); -EEXIST (the same
 *         rule is already there); -ENOMEM.
 */
int auth_acl_add_rule(struct auth_acl *acl, enum auth_acl_kind kind, const char *user,
		      enum auth_acl_grant grant, const char *filter, char *err, size_t errlen);

/**
 * Remove the rule with exactly this section, access and filter text.
 * Thread-safety: as auth_acl_add_rule().
 * @return 0, or -ENOENT if there is no such rule.
 */
int auth_acl_remove_rule(struct auth_acl *acl, enum auth_acl_kind kind, const char *user,
			 enum auth_acl_grant grant, const char *filter);

/** @return the number of rules (topic and pattern lines) in the table. */
size_t auth_acl_rule_count(const struct auth_acl *acl);

/**
 * Write the table in acl_file format to @p path atomically (temporary file, fsync, rename).
 * Rules are grouped: anonymous `topic` lines, then `pattern` lines, then one `user` section
 * per user; in each group `deny` lines come first (the order does not change any decision).
 * Comments of a loaded file are not kept.
 * Thread-safety: reads only; safe while workers check the same table.
 * @return 0, or -1 with the message in @p err.
 */
int auth_acl_save(const struct auth_acl *acl, const char *path, char *err, size_t errlen);

/**
 * Format the table as auth_acl_save() would write it, into a malloc()ed NUL-terminated
 * string (the caller frees it). For the management socket's "acl list". @return NULL on ENOMEM.
 */
char *auth_acl_format(const struct auth_acl *acl, size_t *len);

#endif /* TACHYON_AUTH_ACL_H */
