/**
 * @file dp_tls.c
 * TLS over memory BIOs (dp_tls.h). The read BIO holds ciphertext from TCP, the write BIO
 * the ciphertext OpenSSL produced; both are plain memory, so no call here ever blocks and
 * the worker decides when bytes move. SSL_MODE_RELEASE_BUFFERS lets an idle connection
 * give back OpenSSL's record buffers (connections per gigabyte).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <urcu-qsbr.h>

#include "conf/conf.h"
#include "dp_tls.h"
#include "util/json.h"

#define DP__TLS_PLAIN 16384u /* one TLS record's worth of plaintext */

struct dp_tls_ctx {
	SSL_CTX *cur;                /* RCU-protected: swapped by reload */
	bool identity_user;
};

struct dp_tls {
	SSL *ssl;
	BIO *rb, *wb;                /* owned by ssl */
	uint8_t *pt;                 /* decrypted, not yet consumed: [pt_off, pt_len) */
	uint32_t pt_off, pt_len;
	bool done, shut, failed, counted;
	char *cn;
	char err[128];
};

static struct {
	int64_t conns;
	uint64_t handshakes, failures, reloads, cipher_in, cipher_out;
} dp__tls_cnt;

#define DP__TLS_ADD(f, n) __atomic_fetch_add(&dp__tls_cnt.f, (n), __ATOMIC_RELAXED)

static void dp__tls_errstr(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static SSL_CTX *dp__tls_build(const struct conf_listener *l, char *err, size_t errlen)
{
	char what[2 * CONF_PATH_MAX + 64];
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	if (c == NULL) {
		dp__tls_errstr(err, errlen, "cannot create an OpenSSL context");
		return NULL;
	}
	int minv = TLS1_2_VERSION;
	if (strcmp(l->tls_version, "tlsv1.3") == 0)
		minv = TLS1_3_VERSION;
	else if (strcmp(l->tls_version, "tlsv1.1") == 0)
		minv = TLS1_1_VERSION;
	if (minv == TLS1_1_VERSION)
		SSL_CTX_set_security_level(c, 0); /* OpenSSL 3 refuses TLS 1.1 above level 0 */
	SSL_CTX_set_min_proto_version(c, minv);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				       SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(c, l->certfile) != 1) {
		snprintf(what, sizeof(what), "certfile %s", l->certfile);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, l->keyfile, SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof(what), "keyfile %s", l->keyfile);
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		snprintf(what, sizeof(what), "keyfile %s does not match certfile %s", l->keyfile,
			 l->certfile);
		goto fail;
	}
	if (l->ciphers[0] != '\0' && SSL_CTX_set_cipher_list(c, l->ciphers) != 1) {
		snprintf(what, sizeof(what), "ciphers '%s'", l->ciphers);
		goto fail;
	}
	bool have_ca = l->cafile[0] != '\0' || l->capath[0] != '\0';
	if (have_ca && SSL_CTX_load_verify_locations(c, l->cafile[0] ? l->cafile : NULL,
						     l->capath[0] ? l->capath : NULL) != 1) {
		snprintf(what, sizeof(what), "cafile/capath %s%s", l->cafile, l->capath);
		goto fail;
	}
	if (l->require_certificate && !have_ca) {
		snprintf(err, errlen, "require_certificate needs cafile or capath");
		SSL_CTX_free(c);
		return NULL;
	}
	/* Required: no certificate, no connection. With a CA but not required: asked for,
	 * checked when given, and a client without one still gets in. */
	if (l->require_certificate)
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (have_ca || l->use_identity_as_username)
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	else
		SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (have_ca && l->cafile[0] != '\0') {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(l->cafile);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(c, names);
	}
	ERR_clear_error();
	return c;
fail:
	dp__tls_errstr(err, errlen, what);
	SSL_CTX_free(c);
	return NULL;
}

struct dp_tls_ctx *dp_tls_ctx_create(const struct conf_listener *l, char *err, size_t errlen)
{
	struct dp_tls_ctx *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cur = dp__tls_build(l, err, errlen);
	if (t->cur == NULL) {
		free(t);
		return NULL;
	}
	t->identity_user = l->use_identity_as_username;
	return t;
}

int dp_tls_ctx_reload(struct dp_tls_ctx *t, const struct conf_listener *l, char *err,
		      size_t errlen)
{
	SSL_CTX *n = dp__tls_build(l, err, errlen);
	if (n == NULL)
		return -1;
	SSL_CTX *old = rcu_xchg_pointer(&t->cur, n);
	/* A worker may be between reading the old pointer and SSL_new() taking its own
	 * reference: wait until every worker has passed a quiescent state. */
	synchronize_rcu();
	SSL_CTX_free(old);
	DP__TLS_ADD(reloads, 1);
	return 0;
}

void dp_tls_ctx_destroy(struct dp_tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->cur);
	free(t);
}

bool dp_tls_ctx_identity_user(const struct dp_tls_ctx *t)
{
	return t->identity_user;
}

struct dp_tls *dp_tls_new(struct dp_tls_ctx *t)
{
	struct dp_tls *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ssl = SSL_new(rcu_dereference(t->cur)); /* holds its own reference to the ctx */
	s->rb = BIO_new(BIO_s_mem());
	s->wb = BIO_new(BIO_s_mem());
	if (s->ssl == NULL || s->rb == NULL || s->wb == NULL) {
		BIO_free(s->rb);
		BIO_free(s->wb);
		SSL_free(s->ssl);
		free(s->pt);
		free(s);
		ERR_clear_error();
		return NULL;
	}
	/* An empty read BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(s->rb, -1);
	BIO_set_mem_eof_return(s->wb, -1);
	SSL_set_bio(s->ssl, s->rb, s->wb);
	SSL_set_accept_state(s->ssl);
	DP__TLS_ADD(conns, 1);
	return s;
}

void dp_tls_free(struct dp_tls *s)
{
	if (s == NULL)
		return;
	SSL_free(s->ssl); /* frees both BIOs */
	free(s->pt);
	free(s->cn);
	free(s);
	DP__TLS_ADD(conns, -1);
}

int dp_tls_put_cipher(struct dp_tls *s, const uint8_t *p, uint32_t len)
{
	if (len == 0)
		return 0;
	if (BIO_write(s->rb, p, (int)len) != (int)len)
		return -1;
	DP__TLS_ADD(cipher_in, len);
	return 0;
}

size_t dp_tls_cipher_pending(const struct dp_tls *s)
{
	return BIO_ctrl_pending(s->rb);
}

static enum dp_tls_state dp__tls_fail(struct dp_tls *s, const char *what, int rc)
{
	int e = SSL_get_error(s->ssl, rc);
	unsigned long oe = ERR_peek_error();
	char buf[96] = "";
	if (oe != 0)
		ERR_error_string_n(oe, buf, sizeof(buf));
	else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL)
		snprintf(buf, sizeof(buf), "protocol error");
	else
		snprintf(buf, sizeof(buf), "SSL error %d", e);
	ERR_clear_error();
	long vr = SSL_get_verify_result(s->ssl);
	if (vr != X509_V_OK)
		snprintf(s->err, sizeof(s->err), "%s: client certificate: %s", what,
			 X509_verify_cert_error_string(vr));
	else
		snprintf(s->err, sizeof(s->err), "%s: %s", what, buf);
	if (!s->failed && !s->done)
		DP__TLS_ADD(failures, 1);
	s->failed = true;
	return DP_TLS_FAILED;
}

enum dp_tls_state dp_tls_step(struct dp_tls *s)
{
	if (s->failed)
		return DP_TLS_FAILED;
	if (!s->done) {
		int rc = SSL_do_handshake(s->ssl);
		if (rc != 1) {
			int e = SSL_get_error(s->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return DP_TLS_HANDSHAKE;
			return dp__tls_fail(s, "handshake", rc);
		}
		s->done = true;
		DP__TLS_ADD(handshakes, 1);
		X509 *peer = SSL_get1_peer_certificate(s->ssl);
		if (peer != NULL) {
			char cn[256];
			int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
							  NID_commonName, cn, sizeof(cn));
			if (n > 0 && (size_t)n < sizeof(cn))
				s->cn = strdup(cn);
			X509_free(peer);
		}
	}
	if (BIO_ctrl_pending(s->rb) == 0 && !SSL_has_pending(s->ssl) && s->pt_off == s->pt_len)
		return DP_TLS_OPEN; /* nothing to open */
	if (s->pt == NULL) {
		/* Only while records are being opened: an idle connection holds no buffer. */
		s->pt = malloc(DP__TLS_PLAIN);
		if (s->pt == NULL) {
			snprintf(s->err, sizeof(s->err), "out of memory");
			s->failed = true;
			return DP_TLS_FAILED;
		}
	}
	if (s->pt_off == s->pt_len) {
		s->pt_off = s->pt_len = 0;
	} else if (s->pt_off > 0 && DP__TLS_PLAIN - s->pt_len < 2048) {
		memmove(s->pt, s->pt + s->pt_off, s->pt_len - s->pt_off);
		s->pt_len -= s->pt_off;
		s->pt_off = 0;
	}
	while (s->pt_len < DP__TLS_PLAIN) {
		int rc = SSL_read(s->ssl, s->pt + s->pt_len, (int)(DP__TLS_PLAIN - s->pt_len));
		if (rc > 0) {
			s->pt_len += (uint32_t)rc;
			continue;
		}
		int e = SSL_get_error(s->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN)
			return DP_TLS_CLOSED;
		return dp__tls_fail(s, "read", rc);
	}
	return DP_TLS_OPEN;
}

const uint8_t *dp_tls_plain(const struct dp_tls *s, uint32_t *len)
{
	*len = s->pt_len - s->pt_off;
	return s->pt != NULL ? s->pt + s->pt_off : NULL;
}

void dp_tls_plain_consume(struct dp_tls *s, uint32_t n)
{
	s->pt_off += n;
	if (s->pt_off >= s->pt_len) {
		/* All used: give the buffer back (SSL_MODE_RELEASE_BUFFERS does the same for
		 * OpenSSL's own), so that idle TLS connections stay small. */
		free(s->pt);
		s->pt = NULL;
		s->pt_off = s->pt_len = 0;
	}
}

int dp_tls_write(struct dp_tls *s, const uint8_t *p, uint32_t len)
{
	if (!s->done || s->failed || s->shut)
		return -1;
	if (len == 0)
		return 0;
	/* A memory BIO takes everything: SSL_write completes in one call. */
	int rc = SSL_write(s->ssl, p, (int)len);
	if (rc != (int)len) {
		dp__tls_fail(s, "write", rc);
		return -1;
	}
	return 0;
}

void dp_tls_shutdown(struct dp_tls *s)
{
	if (s->shut || !s->done || s->failed)
		return;
	s->shut = true;
	SSL_shutdown(s->ssl);
	ERR_clear_error();
}

size_t dp_tls_out_pending(const struct dp_tls *s)
{
	return BIO_ctrl_pending(s->wb);
}

size_t dp_tls_out_read(struct dp_tls *s, uint8_t *buf, size_t cap)
{
	int n = BIO_read(s->wb, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
	if (n <= 0)
		return 0;
	DP__TLS_ADD(cipher_out, (uint64_t)n);
	return (size_t)n;
}

const char *dp_tls_peer_cn(const struct dp_tls *s)
{
	return s->cn;
}

const char *dp_tls_error(const struct dp_tls *s)
{
	return s->err;
}

void dp_tls_stats_json(struct json_writer *jw)
{
	json_key(jw, "tls");
	json_obj_begin(jw);
	int64_t c = __atomic_load_n(&dp__tls_cnt.conns, __ATOMIC_RELAXED);
	json_kv_u64(jw, "connections", c > 0 ? (uint64_t)c : 0);
	json_kv_u64(jw, "handshakes", __atomic_load_n(&dp__tls_cnt.handshakes, __ATOMIC_RELAXED));
	json_kv_u64(jw, "handshake_failures",
		    __atomic_load_n(&dp__tls_cnt.failures, __ATOMIC_RELAXED));
	json_kv_u64(jw, "reloads", __atomic_load_n(&dp__tls_cnt.reloads, __ATOMIC_RELAXED));
	json_kv_u64(jw, "cipher_bytes_in",
		    __atomic_load_n(&dp__tls_cnt.cipher_in, __ATOMIC_RELAXED));
	json_kv_u64(jw, "cipher_bytes_out",
		    __atomic_load_n(&dp__tls_cnt.cipher_out, __ATOMIC_RELAXED));
	json_obj_end(jw);
}
