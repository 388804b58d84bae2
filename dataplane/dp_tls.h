/**
 * @file dp_tls.h
 * TLS on the userspace TCP stack: OpenSSL over memory BIOs, one SSL object per connection,
 * driven by the worker that owns the connection. Ciphertext from TCP goes in with
 * dp_tls_put_cipher(); dp_tls_step() runs the handshake and decrypts into the connection's
 * plaintext buffer (dp_tls_plain()); plaintext to send goes in with dp_tls_write(); the
 * ciphertext to put on the wire comes out with dp_tls_out_read(). Nothing here touches
 * mbufs or sockets: dp_mqtt.c moves the bytes.
 *
 * Contexts: one struct dp_tls_ctx per TLS listener (certificate, key, CA, minimum version,
 * ciphers, client-certificate policy), shared by every worker. dp_tls_ctx_reload() builds a
 * new OpenSSL context from the files and swaps it in; connections that started on the old
 * one keep it (OpenSSL reference counts it), new ones get the new one.
 *
 * Threads: contexts are created, reloaded and destroyed on the main lcore (reload waits for
 * an RCU grace period: the caller must not be a registered-online QSBR reader, or must be
 * the only one); a struct dp_tls belongs to one worker thread. Counters are atomics.
 */
#ifndef TACHYON_DP_TLS_H
#define TACHYON_DP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_listener;
struct dp_tls_ctx;
struct dp_tls;
struct json_writer;

/** Results of dp_tls_step(). */
enum dp_tls_state {
	DP_TLS_HANDSHAKE = 0,  /**< handshake under way: more input needed */
	DP_TLS_OPEN = 1,       /**< established: plaintext may be available */
	DP_TLS_CLOSED = 2,     /**< the peer sent close_notify */
	DP_TLS_FAILED = 3,     /**< a fatal error (bad handshake, bad record): close */
};

/**
 * The context of one TLS listener (certfile and keyfile set).
 * @return the context, or NULL with a message in @p err (unreadable files, key not matching
 *   the certificate, bad cipher list, ...).
 */
struct dp_tls_ctx *dp_tls_ctx_create(const struct conf_listener *l, char *err, size_t errlen);

/** Re-read the listener's files into a new OpenSSL context and swap it in.
 *  @return 0, or -1 with a message in @p err (the old context stays). */
int dp_tls_ctx_reload(struct dp_tls_ctx *t, const struct conf_listener *l, char *err,
		      size_t errlen);

/** Free a context (every connection using it must be gone). */
void dp_tls_ctx_destroy(struct dp_tls_ctx *t);

/** Whether the listener wants the client certificate's CN as the username. */
bool dp_tls_ctx_identity_user(const struct dp_tls_ctx *t);

/** A server-side TLS connection on @p t; NULL when out of memory. Worker thread. */
struct dp_tls *dp_tls_new(struct dp_tls_ctx *t);

/** Free a connection's TLS state. */
void dp_tls_free(struct dp_tls *s);

/** Ciphertext received from the peer (copied). @return 0, or -1 (out of memory). */
int dp_tls_put_cipher(struct dp_tls *s, const uint8_t *p, uint32_t len);

/** Ciphertext given with dp_tls_put_cipher() and not decrypted yet, in bytes. */
size_t dp_tls_cipher_pending(const struct dp_tls *s);

/**
 * Make progress: the handshake, then decrypt into the plaintext buffer as long as it has
 * room. May produce output (handshake messages, alerts): check dp_tls_out_pending().
 */
enum dp_tls_state dp_tls_step(struct dp_tls *s);

/** The decrypted bytes not consumed yet (valid until the next step or consume). */
const uint8_t *dp_tls_plain(const struct dp_tls *s, uint32_t *len);

/** @p n plaintext bytes were used. */
void dp_tls_plain_consume(struct dp_tls *s, uint32_t n);

/** Encrypt @p len bytes for the peer. @return 0, or -1 (not established, or an error). */
int dp_tls_write(struct dp_tls *s, const uint8_t *p, uint32_t len);

/** Queue a close_notify alert (once). */
void dp_tls_shutdown(struct dp_tls *s);

/** Ciphertext waiting to be sent, in bytes. */
size_t dp_tls_out_pending(const struct dp_tls *s);

/** Take up to @p cap bytes of ciphertext to send. @return bytes copied. */
size_t dp_tls_out_read(struct dp_tls *s, uint8_t *buf, size_t cap);

/** The verified client certificate's subject CN, or NULL (none, or no CN). */
const char *dp_tls_peer_cn(const struct dp_tls *s);

/** The reason of the last failure (for the log), "" if none. */
const char *dp_tls_error(const struct dp_tls *s);

/** "tls" section of `stats`: connections, handshakes done and failed, bytes. */
void dp_tls_stats_json(struct json_writer *jw);

#endif /* TACHYON_DP_TLS_H */
