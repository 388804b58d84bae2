/**
 * @file auth_passwd.h
 * Password files in mosquitto_passwd's format: load, verify a CONNECT's username/password,
 * and add, change or delete users with an atomic rewrite of the file.
 *
 * Where it sits: the control core loads the file named by `password_file` at start-up and on
 * reload, and serves `tachyonctl user add|delete|passwd` by copy-on-write (auth_passwd_clone(),
 * auth_passwd_set()/auth_passwd_delete(), auth_passwd_save(), then publish the new table).
 * auth_passwd_verify() runs wherever CONNECT is handled.
 *
 * The file (what Debian's mosquitto 2.0 reads and mosquitto_passwd writes): one `user:hash`
 * per line; a line starting with `#` is a comment; blanks around user and hash are ignored.
 * Hashes:
 *  - `$7$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA512 over the password with the salt,
 *    64-byte result; salt and hash in standard base64. mosquitto_passwd's default, with 101
 *    iterations and a 12-byte salt. This is what auth_passwd_set() writes, so our files work
 *    with mosquitto and mosquitto_passwd unchanged.
 *  - `$6$<salt>$<hash>`: one SHA-512 over password || salt (`mosquitto_passwd -H sha512`,
 *    Mosquitto 1.6's format). Not crypt(3)'s sha512-crypt, which also starts with `$6$`.
 *  - `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>` (Mosquitto 2.1's default), when built with
 *    libargon2 (auth_passwd_have_argon2()); otherwise such a line is refused at load.
 * Tachyon is stricter than Mosquitto, which skips bad lines with a warning: any line that is
 * not a valid entry (plain-text password, unknown hash, bad base64, duplicate user) makes the
 * load fail with "file:line: message", so a typo never silently locks a user out.
 *
 * Cost of a check: a $7$ verify is 101 HMAC-SHA512 rounds (~0.2 ms measured on the 2-vCPU test
 * box with OpenSSL 3.0), done once per CONNECT, never per message. OpenSSL allocates inside it, so it is not allocation-free; an
 * argon2id verify takes milliseconds and megabytes, and belongs on the control core.
 *
 * Lifetime and reload: as auth_acl.h says for ACL tables. A published table is immutable;
 * swap the pointer and free the old one after an RCU grace period, or hold references.
 *
 * Error convention: constructors return NULL with "file:line: message" in the caller's err
 * buffer; editing functions return 0 or a negative errno; auth_passwd_save() returns 0 or -1
 * with a message; auth_passwd_verify() returns an enum auth_pw_result.
 */
#ifndef TACHYON_AUTH_PASSWD_H
#define TACHYON_AUTH_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/** mosquitto_passwd's default PBKDF2 iteration count (mosquitto 2.0: PW_DEFAULT_ITERATIONS). */
#define AUTH_PW_DEFAULT_ITERATIONS 101
/** Salt bytes mosquitto_passwd generates. */
#define AUTH_PW_SALT_LEN 12
/** Largest iteration count we accept when loading, so a corrupt file cannot make each
 *  CONNECT cost seconds. */
#define AUTH_PW_MAX_ITERATIONS 10000000u

/** A loaded password table (opaque). */
struct auth_passwd;

/** Result of auth_passwd_verify(). */
enum auth_pw_result {
	AUTH_PW_OK = 0,            /**< user known, password right */
	AUTH_PW_BAD_PASSWORD = 1,  /**< user known, password wrong */
	AUTH_PW_UNKNOWN_USER = 2,  /**< no such user */
	AUTH_PW_ERROR = 3,         /**< the digest failed (out of memory in OpenSSL): deny */
};

/**
 * Check a username and password. The hash comparison is constant-time, and an unknown user
 * costs one dummy $7$ digest, so timing does not tell which usernames exist.
 * Thread-safety: safe from any number of threads on the same table.
 * @param user  username bytes (no NUL needed), @p ulen long
 * @param pass  password bytes (MQTT passwords are binary), @p plen long; NULL with 0 allowed
 * @return enum auth_pw_result
 */
int auth_passwd_verify(const struct auth_passwd *pw, const char *user, size_t ulen,
		       const char *pass, size_t plen);

/** @return whether @p user (NUL-terminated) has an entry. Thread-safe (reads only). */
bool auth_passwd_has_user(const struct auth_passwd *pw, const char *user);

/** @return the number of users. Thread-safe (reads only). */
size_t auth_passwd_count(const struct auth_passwd *pw);

/** @return the @p i-th username in file order (0 <= i < count), for `user list`. */
const char *auth_passwd_user_at(const struct auth_passwd *pw, size_t i);

/** @return whether this build reads $argon2id$ hashes (libargon2 was found). */
bool auth_passwd_have_argon2(void);

/**
 * Load a password file. @return a table with one reference, or NULL with "path:line: message"
 * (or "path: reason") in @p err.
 */
struct auth_passwd *auth_passwd_load(const char *path, char *err, size_t errlen);

/** As auth_passwd_load() from a buffer; @p name stands for the path in messages. */
struct auth_passwd *auth_passwd_parse(const char *buf, size_t len, const char *name, char *err,
				      size_t errlen);

/** @return a new empty table, or NULL. */
struct auth_passwd *auth_passwd_new(void);

/** @return a deep copy with one reference, or NULL. */
struct auth_passwd *auth_passwd_clone(const struct auth_passwd *pw);

/** Take a reference (thread-safe). @return @p pw. */
struct auth_passwd *auth_passwd_ref(struct auth_passwd *pw);

/** Drop a reference; the last frees the table. NULL is allowed. Thread-safe. */
void auth_passwd_unref(struct auth_passwd *pw);

/**
 * Add @p user or replace its password with a new $7$ entry (101 iterations, 12 random bytes
 * of salt from RAND_bytes). Thread-safety: none; the table must be private to the caller.
 * @param user  NUL-terminated; not empty, at most 65535 bytes, no ':' (mosquitto_passwd's
 *              rule), no line break, no blank at either end (the file format trims them)
 * @return 0; -EINVAL (bad username); -ENOMEM; -EIO (no randomness or digest failure).
 */
int auth_passwd_set(struct auth_passwd *pw, const char *user, const char *pass, size_t plen);

/** Remove @p user. Thread-safety: as auth_passwd_set(). @return 0 or -ENOENT. */
int auth_passwd_delete(struct auth_passwd *pw, const char *user);

/**
 * Write the table to @p path atomically (temporary file, fsync, rename, fsync of the
 * directory): `user:hash` lines in table order; entries loaded from a file keep their hash
 * text byte for byte; comments are not kept. A new file gets mode 0600; an existing file's
 * mode and owner are kept. Thread-safety: reads only.
 * @return 0, or -1 with "path: reason" in @p err.
 */
int auth_passwd_save(const struct auth_passwd *pw, const char *path, char *err, size_t errlen);

#endif /* TACHYON_AUTH_PASSWD_H */
