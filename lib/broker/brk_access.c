/**
 * @file brk_access.c
 * Who may connect, and what a connected client may do: the CONNECT's credentials against
 * its listener's password table (with the worker's failed-login limiter and a cache of
 * verified logins), and the ACL checks on PUBLISH (write), SUBSCRIBE, delivery (read,
 * retained messages too) and wills (write, when the will is published, as Mosquitto does).
 * The decisions are lib/auth's (auth_connect.h, auth_acl.h); this file picks the tables in
 * force, maps verdicts to reason codes, counts every denial and logs blocked addresses.
 *
 * Tables under RCU. struct brk_shared.sec points to an immutable struct brk_sec holding,
 * per listener, allow_anonymous and a reference to its password and ACL tables. Workers
 * read it with rcu_dereference() inside a packet handler (they are online QSBR readers
 * between two quiescent states), so a check never locks or waits. brk_security_publish()
 * (control core) swaps in a new struct, waits for a grace period and only then drops the
 * old references: no worker can still be looking at them.
 *
 * Login cache. A $7$ check is 101 PBKDF2 rounds (~0.2 ms), a file with more iterations or
 * argon2id costs milliseconds, and the worker computing it serves nobody else meanwhile.
 * So each worker remembers, in a direct-mapped table of BRK__PWC_SLOTS slots, the tags of
 * logins it verified: tag = SHA-256(secret || listener || len(user) || user || password),
 * with a per-process random secret, and the generation of the tables it was verified
 * against. A repeat login with the same username and password costs one SHA-256 (about a
 * microsecond); a new publish (user added, deleted, changed; ACL reload) bumps the
 * generation and so forgets every entry. Failures are never cached: each one costs a full
 * verification, which the per-address limiter bounds. The tags are keyed hashes, never
 * stored passwords; they live only in the worker's memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/auth_connect.h"
#include "auth/auth_passwd.h"
#include "auth/auth_ratelimit.h"
#include "broker/brk_int.h"
#include "conf/conf.h"
#include "util/log.h"

#define BRK__PWC_SLOTS 1024u         /**< logins remembered per worker (power of two) */
#define BRK__RL_ENTRIES 4096u        /**< addresses the limiter tracks per worker */

struct brk__pwc_slot {
	uint64_t gen;                /**< struct brk_sec.gen it was verified against; 0: empty */
	uint8_t tag[32];
};

/** Verified logins of one worker (see the file comment). Touched by its worker only. */
struct brk_pwcache {
	EVP_MD_CTX *md;              /**< reused for every tag */
	struct brk__pwc_slot slot[BRK__PWC_SLOTS];
};

/** The password-check thread (see "the verifier thread" below). */
struct brk_verifier {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct brk_vjob *head, *tail; /**< under mu */
	bool stop;                    /**< under mu */
};

static struct brk_verifier *brk__verifier_start(void);
static void brk__verifier_stop(struct brk_verifier *v);

/* ---- the published tables ---- */

static void brk__sec_free(struct brk_sec *x)
{
	if (x == NULL)
		return;
	for (unsigned i = 0; i < BRK_MAX_LISTENERS; i++) {
		auth_passwd_unref(x->l[i].pw);
		auth_acl_unref(x->l[i].acl);
	}
	free(x);
}

int brk_sec_shared_init(struct brk_shared *sh, const struct tachyon_config *cfg)
{
	if (RAND_bytes(sh->pwc_key, sizeof(sh->pwc_key)) != 1)
		return -EIO;
	sh->rl_burst = cfg->auth_fail_burst != 0 ? cfg->auth_fail_burst : 5;
	sh->rl_interval_ns = (uint64_t)(cfg->auth_fail_interval != 0 ? cfg->auth_fail_interval
								      : 10) * BRK_SEC;
	struct brk_sec *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->gen = ++sh->sec_gen;
	for (unsigned i = 0; i < BRK_MAX_LISTENERS; i++)
		x->l[i].allow_anonymous = conf_listener_allow_anonymous(cfg, i);
	sh->n_listeners = cfg->n_listeners == 0 ? 1
			  : cfg->n_listeners > BRK_MAX_LISTENERS ? BRK_MAX_LISTENERS
								 : cfg->n_listeners;
	sh->sec = x; /* no worker runs yet */
	/* Without the thread, passwords are checked on the worker (slower for the others). */
	sh->ver = brk__verifier_start();
	return 0;
}

void brk_sec_shared_fini(struct brk_shared *sh)
{
	brk__verifier_stop(sh->ver);
	sh->ver = NULL;
	brk__sec_free(sh->sec);
	sh->sec = NULL;
}

int brk_security_publish(struct brk_shared *sh, const struct brk_sec_listener *l, unsigned n)
{
	if (n == 0 || n > BRK_MAX_LISTENERS)
		return -EINVAL;
	struct brk_sec *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < BRK_MAX_LISTENERS; i++) {
		const struct brk_sec_listener *src = &l[i < n ? i : 0];
		x->l[i].allow_anonymous = src->allow_anonymous;
		x->l[i].pw = src->pw != NULL ? auth_passwd_ref(src->pw) : NULL;
		x->l[i].acl = src->acl != NULL ? auth_acl_ref(src->acl) : NULL;
	}
	x->gen = ++sh->sec_gen; /* one writer: the control core */
	sh->n_listeners = n;
	struct brk_sec *old = rcu_xchg_pointer(&sh->sec, x);
	/* After this no worker holds a pointer into @c old (QSBR: each passed a quiescent
	 * state, i.e. finished the packet it was handling). */
	synchronize_rcu();
	brk__sec_free(old);
	return 0;
}

/* ---- per worker ---- */

int brk_sec_worker_init(struct brk_worker *w)
{
	struct auth_rl_config rc = {
		.burst = w->sh->rl_burst,
		.interval_ns = w->sh->rl_interval_ns,
		.entries = BRK__RL_ENTRIES,
		.seed = 0,
	};
	w->rl = auth_rl_create(&rc);
	if (w->rl == NULL)
		return -errno;
	w->pwc = calloc(1, sizeof(*w->pwc));
	if (w->pwc != NULL)
		w->pwc->md = EVP_MD_CTX_new();
	if (w->pwc == NULL || w->pwc->md == NULL) {
		brk_sec_worker_fini(w);
		return -ENOMEM;
	}
	return 0;
}

void brk_sec_worker_fini(struct brk_worker *w)
{
	/* Every job of ours was collected (brk_worker_destroy() waited); a hand-back may
	 * still be inside ops.wake: it holds the verifier's mutex until done. */
	struct brk_verifier *v = w->sh->ver;
	if (v != NULL) {
		pthread_mutex_lock(&v->mu);
		pthread_mutex_unlock(&v->mu);
	}
	auth_rl_free(w->rl);
	w->rl = NULL;
	if (w->pwc != NULL) {
		EVP_MD_CTX_free(w->pwc->md);
		OPENSSL_cleanse(w->pwc, sizeof(*w->pwc));
		free(w->pwc);
	}
	w->pwc = NULL;
}

void brk_conn_set_cert_user(struct brk_conn *c)
{
	c->cert_user = true;
}

void brk_conn_set_peer(struct brk_conn *c, uint32_t ip)
{
	c->peer_ip = ip;
}

/* ---- CONNECT ---- */

static bool brk__pwc_tag(struct brk_worker *w, uint8_t lst, const struct mqtt_connect *cn,
			 uint8_t tag[32])
{
	uint8_t hdr[3] = { lst, (uint8_t)(cn->username.len >> 8), (uint8_t)cn->username.len };
	unsigned n = 0;
	EVP_MD_CTX *md = w->pwc->md;
	return EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	       EVP_DigestUpdate(md, w->sh->pwc_key, sizeof(w->sh->pwc_key)) == 1 &&
	       EVP_DigestUpdate(md, hdr, sizeof(hdr)) == 1 &&
	       EVP_DigestUpdate(md, cn->username.p, cn->username.len) == 1 &&
	       (!cn->has_password ||
		EVP_DigestUpdate(md, cn->password.p, cn->password.len) == 1) &&
	       EVP_DigestFinal_ex(md, tag, &n) == 1 && n == 32;
}

static struct brk__pwc_slot *brk__pwc_slot(struct brk_worker *w, const uint8_t tag[32])
{
	uint32_t i = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16;
	return &w->pwc->slot[i & (BRK__PWC_SLOTS - 1)];
}

static void brk__log_refusal(const struct brk_conn *c, const struct mqtt_connect *cn, int v)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = htonl(c->peer_ip) };
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (cn->has_username) {
		/* The client chose these bytes: at most 64, printable ASCII, so that a username
		 * cannot forge log lines. */
		char u[65];
		size_t n = cn->username.len < 64 ? cn->username.len : 64;
		for (size_t i = 0; i < n; i++) {
			uint8_t ch = cn->username.p[i];
			u[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
		u[n] = '\0';
		TLOG_INFO("auth", "login refused from %s, user '%s': %s", ip, u,
			  auth_connect_verdict_name(v));
	} else
		TLOG_INFO("auth", "login refused from %s, no username: %s", ip,
			  auth_connect_verdict_name(v));
}

/* Count, log, and turn a refusal into its CONNACK reason code. */
static uint8_t brk__refusal(struct brk_conn *c, const struct mqtt_connect *cn, int v,
			    bool blocked)
{
	struct brk_worker *w = c->w;
	switch (v) {
	case AUTH_CONNECT_ANON_REFUSED: BRK_CNT(w, auth_anon_refused, 1); break;
	case AUTH_CONNECT_UNKNOWN_USER: BRK_CNT(w, auth_unknown_user, 1); break;
	case AUTH_CONNECT_BAD_PASSWORD: BRK_CNT(w, auth_bad_password, 1); break;
	case AUTH_CONNECT_RATE_LIMITED: BRK_CNT(w, auth_rate_limited, 1); break;
	default: BRK_CNT(w, auth_error, 1); break;
	}
	/* Refusals of a blocked address are only counted: logging each would let the
	 * attacker flood the log. The block itself is logged once. */
	if (v != AUTH_CONNECT_RATE_LIMITED)
		brk__log_refusal(c, cn, v);
	if (blocked) {
		char ip[INET_ADDRSTRLEN];
		struct in_addr a = { .s_addr = htonl(c->peer_ip) };
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		uint64_t ms = auth_rl_blocked_for(w->rl, c->peer_ip, w->now) / 1000000u;
		BRK_CNT(w, auth_blocks, 1);
		TLOG_WARN("auth", "%s blocked for %llu.%03llu s after %u failed logins (worker %u)",
			  ip, (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
			  w->sh->rl_burst, w->index);
	}
	/* Reason codes (MQTT 5 / 3.1.1 return codes via mqtt_connack_v3_code()): a wrong
	 * username or password is 0x86 / 4, a refused anonymous client 0x87 / 5, a blocked
	 * address 0x9F Connection rate exceeded / 5 (3.1.1 has nothing closer). Debian's
	 * mosquitto 2.0.11 answers 0x87 / 5 to all of them (docs/security.md). */
	switch (v) {
	case AUTH_CONNECT_UNKNOWN_USER:
	case AUTH_CONNECT_BAD_PASSWORD:
		return MQTT_RC_BAD_USER_PASS;
	case AUTH_CONNECT_RATE_LIMITED:
		return c->version == MQTT_V5 ? MQTT_RC_CONNECTION_RATE_EXCEEDED
					     : MQTT_RC_NOT_AUTHORIZED;
	default:
		return MQTT_RC_NOT_AUTHORIZED;
	}
}

/* A password result (enum auth_pw_result) as the CONNECT verdict, failures counted in the
 * limiter as auth_connect_check() does. */
static int brk__pw_verdict(struct brk_conn *c, int r, bool *blocked)
{
	if (r == AUTH_PW_OK)
		return AUTH_CONNECT_OK;
	/* Out of memory is our failure, not the client's guess: not held against it. */
	if (r != AUTH_PW_ERROR && auth_rl_fail(c->w->rl, c->peer_ip, c->w->now) ==
				  AUTH_RL_NOW_BLOCKED)
		*blocked = true;
	if (r == AUTH_PW_UNKNOWN_USER)
		return AUTH_CONNECT_UNKNOWN_USER;
	return r == AUTH_PW_BAD_PASSWORD ? AUTH_CONNECT_BAD_PASSWORD : AUTH_CONNECT_ERROR;
}

/* ---- the verifier thread ----
 *
 * One thread per process checks passwords for every worker, so a slow hash (many PBKDF2
 * iterations, argon2id) delays only the CONNECT that needs it. It is created by
 * brk_shared_create() on the thread that calls it (tachyond: the control core, whose CPU
 * it shares; it never runs on a worker's core). A worker hands it a struct brk_vjob under a
 * mutex (taken once per CONNECT that needs a hash, never per message); the thread pushes
 * the finished job on the worker's lock-free vdone stack and wakes the worker
 * (brk_worker_ops.wake); brk_worker_tick() collects and resumes the CONNECT. The job holds
 * a reference to the password table, so a table replaced meanwhile stays valid for it, and
 * its own copy of the CONNECT (re-encoded), decoded again in place: the resumed CONNECT
 * sees exactly what the client sent. A connection that goes away meanwhile only clears
 * job->c (the worker's field; the thread never reads it).
 */
struct brk_vjob {
	struct brk_vjob *next;       /**< the verifier's queue, then the worker's vdone stack */
	struct brk_worker *w;
	struct brk_conn *c;          /**< worker-owned: NULL once the connection is gone */
	struct auth_passwd *pw;      /**< one reference */
	uint64_t gen;                /**< struct brk_sec.gen the check was made against */
	bool tagged;
	uint8_t tag[32];             /**< the login cache's tag */
	int result;                  /**< enum auth_pw_result, written by the thread */
	struct mqtt_packet pkt;      /**< decoded from buf: views into it */
	uint32_t len;
	uint8_t buf[];               /**< the CONNECT, encoded */
};

static void *brk__verifier_main(void *arg)
{
	struct brk_verifier *v = arg;
	pthread_mutex_lock(&v->mu);
	for (;;) {
		while (v->head == NULL && !v->stop)
			pthread_cond_wait(&v->cv, &v->mu);
		struct brk_vjob *j = v->head;
		if (j == NULL)
			break; /* stop, and nothing left */
		v->head = j->next;
		if (v->head == NULL)
			v->tail = NULL;
		pthread_mutex_unlock(&v->mu);

		const struct mqtt_connect *cn = &j->pkt.connect;
		j->result = auth_passwd_verify(j->pw, (const char *)cn->username.p, cn->username.len,
					       cn->has_password ? (const char *)cn->password.p
								: NULL,
					       cn->has_password ? cn->password.len : 0);
		/* Hand back under the mutex: brk_sec_worker_fini() takes it once, so a worker
		 * (and its runtime, which ops.wake reaches) is never freed under our feet. */
		pthread_mutex_lock(&v->mu);
		struct brk_worker *w = j->w;
		struct brk_vjob *top = __atomic_load_n(&w->vdone, __ATOMIC_RELAXED);
		do {
			j->next = top;
		/* SEQ_CST: with the worker's store of `sleeping` and our load of it in
		 * ops.wake, a Dekker pair: either the worker sees this job before it sleeps
		 * (brk_worker_busy), or we see it asleep and wake it. */
		} while (!__atomic_compare_exchange_n(&w->vdone, &top, j, true, __ATOMIC_SEQ_CST,
						      __ATOMIC_RELAXED));
		if (w->ops.wake != NULL)
			w->ops.wake(w->ops.ctx, w->index);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

static struct brk_verifier *brk__verifier_start(void)
{
	struct brk_verifier *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	if (pthread_create(&v->th, NULL, brk__verifier_main, v) != 0) {
		pthread_cond_destroy(&v->cv);
		pthread_mutex_destroy(&v->mu);
		free(v);
		return NULL;
	}
	pthread_setname_np(v->th, "tachyon-auth");
	return v;
}

static void brk__verifier_stop(struct brk_verifier *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->th, NULL);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

static void brk__vjob_free(struct brk_vjob *j)
{
	auth_passwd_unref(j->pw);
	OPENSSL_cleanse(j->buf, j->len); /* the password is in there */
	free(j);
}

/* Hand the check to the verifier. @return 0, or -1 (do it inline instead). */
static int brk__submit(struct brk_conn *c, const struct mqtt_packet *pkt,
		       const struct brk_sec_listener *sl, uint64_t gen, const uint8_t *tag)
{
	struct brk_worker *w = c->w;
	struct brk_verifier *v = w->sh->ver;
	if (v == NULL)
		return -1;
	size_t n = mqtt_encode_size(pkt->connect.version, pkt);
	struct brk_vjob *j = n != 0 ? calloc(1, sizeof(*j) + n) : NULL;
	if (j == NULL)
		return -1;
	if (mqtt_encode(pkt->connect.version, pkt, j->buf, n) != n ||
	    mqtt_decode(pkt->connect.version, j->buf, n, &j->pkt) != MQTT_OK) {
		free(j);
		return -1;
	}
	j->len = (uint32_t)n;
	j->w = w;
	j->c = c;
	j->pw = auth_passwd_ref(sl->pw);
	j->gen = gen;
	if (tag != NULL) {
		j->tagged = true;
		memcpy(j->tag, tag, 32);
	}
	c->vjob = j;
	w->vjobs++;
	pthread_mutex_lock(&v->mu);
	if (v->tail != NULL)
		v->tail->next = j;
	else
		v->head = j;
	v->tail = j;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

void brk_login_cancel(struct brk_conn *c)
{
	if (c->vjob != NULL)
		c->vjob->c = NULL; /* freed when it comes back */
	c->vjob = NULL;
}

/* The answer for a waiting CONNECT: refuse it, or run it again from the top (it skips
 * the parts already done: counting, credentials). */
static void brk__resume(struct brk_vjob *j)
{
	struct brk_conn *c = j->c;
	struct brk_worker *w = c->w;
	c->vjob = NULL;
	c->state = BRK_C_NEW;
	c->pause &= (uint8_t)~BRK_PAUSE_AUTH;
	bool blocked = false;
	int v = brk__pw_verdict(c, j->result, &blocked);
	if (v != AUTH_CONNECT_OK) {
		brk_connect_refuse(c, brk__refusal(c, &j->pkt.connect, v, blocked));
		return;
	}
	if (j->tagged && w->pwc != NULL) {
		struct brk__pwc_slot *slot = brk__pwc_slot(w, j->tag);
		memcpy(slot->tag, j->tag, 32);
		slot->gen = j->gen; /* a table published meanwhile has another gen: never hit */
	}
	c->login_ok = true;
	/* As brk_conn_packet() would: the handler may close (and so free) the connection;
	 * otherwise brk_connect_finish() lets the transport feed what waited behind it. */
	if (brk_handle_connect(c, &j->pkt) == BRK_PAUSE && c->pause == 0)
		brk_conn_resume_check(c);
}

void brk_login_collect(struct brk_worker *w)
{
	if (__atomic_load_n(&w->vdone, __ATOMIC_RELAXED) == NULL)
		return;
	struct brk_vjob *j = __atomic_exchange_n(&w->vdone, NULL, __ATOMIC_ACQUIRE);
	struct brk_vjob *fifo = NULL;
	while (j != NULL) { /* the stack is newest first: answer in arrival order */
		struct brk_vjob *next = j->next;
		j->next = fifo;
		fifo = j;
		j = next;
	}
	while (fifo != NULL) {
		j = fifo;
		fifo = j->next;
		w->vjobs--;
		if (j->c != NULL)
			brk__resume(j);
		brk__vjob_free(j);
	}
}

int brk_login(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_connect *cn = &pkt->connect;
	struct brk_worker *w = c->w;
	const struct brk_sec *sec = rcu_dereference(w->sh->sec);
	uint8_t lst = (uint8_t)(c->lst.index % BRK_MAX_LISTENERS);
	const struct brk_sec_listener *sl = &sec->l[lst];
	bool blocked = false;
	int v;

	if (!cn->has_username) {
		v = sl->allow_anonymous ? AUTH_CONNECT_OK : AUTH_CONNECT_ANON_REFUSED;
	} else if (sl->pw == NULL || c->cert_user) {
		/* Usernames are not checked without a password_file; one taken from a verified
		 * client certificate is the certificate's to vouch for. */
		v = AUTH_CONNECT_OK;
	} else if (!auth_rl_allowed(w->rl, c->peer_ip, w->now)) {
		/* Before anything costs us a digest, cached or not. */
		v = AUTH_CONNECT_RATE_LIMITED;
	} else {
		uint8_t tag[32];
		bool tagged = w->pwc != NULL && brk__pwc_tag(w, lst, cn, tag);
		if (tagged) {
			struct brk__pwc_slot *slot = brk__pwc_slot(w, tag);
			if (slot->gen == sec->gen && CRYPTO_memcmp(slot->tag, tag, 32) == 0) {
				BRK_CNT(w, auth_cache_hits, 1);
				return 0;
			}
		}
		BRK_CNT(w, auth_hashes, 1);
		if (brk__submit(c, pkt, sl, sec->gen, tagged ? tag : NULL) == 0)
			return -EINPROGRESS;
		/* No verifier thread (or no memory for the job): check here. */
		int r = auth_passwd_verify(sl->pw, (const char *)cn->username.p, cn->username.len,
					   cn->has_password ? (const char *)cn->password.p : NULL,
					   cn->has_password ? cn->password.len : 0);
		v = brk__pw_verdict(c, r, &blocked);
		if (v == AUTH_CONNECT_OK && tagged) {
			struct brk__pwc_slot *slot = brk__pwc_slot(w, tag);
			memcpy(slot->tag, tag, 32);
			slot->gen = sec->gen;
		}
	}
	if (v == AUTH_CONNECT_OK)
		return 0;
	return brk__refusal(c, cn, v, blocked);
}

int brk_sec_identity(struct brk_conn *c, struct brk_session *s, const struct mqtt_connect *cn)
{
	s->lst = (uint8_t)(c->lst.index % BRK_MAX_LISTENERS);
	if (!cn->has_username)
		return 0;
	s->username = malloc((size_t)cn->username.len + 1);
	if (s->username == NULL)
		return -ENOMEM;
	memcpy(s->username, cn->username.p, cn->username.len);
	s->username[cn->username.len] = '\0';
	s->username_len = (uint16_t)cn->username.len;
	return 0;
}

/* ---- ACLs ---- */

static int brk__acl(struct brk_session *s, const struct mqtt_str *topic,
		    enum auth_acl_access access)
{
	const struct brk_sec *sec = rcu_dereference(s->w->sh->sec);
	const struct auth_acl *acl = sec->l[s->lst % BRK_MAX_LISTENERS].acl;
	if (acl == NULL)
		return AUTH_ACL_ALLOW; /* no acl_file: the broker's own $SYS/$share rules apply */
	struct auth_client cl = {
		.client_id = s->id,
		.client_id_len = s->id_len,
		.username = s->username,
		.username_len = s->username_len,
	};
	return auth_acl_check(acl, &cl, (const char *)topic->p, topic->len, access, NULL);
}

bool brk_acl_ok(struct brk_session *s, const struct mqtt_str *topic,
		enum auth_acl_access access)
{
	if (brk__acl(s, topic, access) == AUTH_ACL_ALLOW)
		return true;
	struct brk_worker *w = s->w;
	switch (access) {
	case AUTH_ACL_READ: BRK_CNT(w, acl_denied_read, 1); break;
	case AUTH_ACL_WRITE: BRK_CNT(w, acl_denied_publish, 1); break;
	default: BRK_CNT(w, acl_denied_subscribe, 1); break;
	}
	return false;
}

bool brk_acl_will_ok(struct brk_session *s, const struct mqtt_str *topic)
{
	if (brk__acl(s, topic, AUTH_ACL_WRITE) == AUTH_ACL_ALLOW)
		return true;
	BRK_CNT(s->w, acl_denied_will, 1);
	return false;
}
