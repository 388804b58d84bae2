/**
 * @file dp_mqtt.c
 * MQTT on a worker's TCP stack (see dp_mqtt.h): accept -> brk_conn_open; data (mbuf
 * chain) -> framing -> brk_conn_packet; broker sends -> head mbuf + payload attached by
 * reference -> tcp_send; writable -> brk_conn_writable; closed -> brk_conn_lost. Plus the
 * worker's inbox ring and the broker's timers.
 *
 * Backpressure both ways: when tcp_send() refuses (-ENOBUFS) the broker holds the packet
 * and stops us feeding that client (BRK_PAUSE): its unread segments stay in our rx chain,
 * unacknowledged to TCP (tcp_recved not called), so its receive window closes. Feeding
 * resumes from dp_mqtt_poll() once the broker says so (ops->resume), never from inside a
 * broker call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "broker/brk.h"
#include "conf/conf.h"
#include "dp_ctl.h"
#include "dp_mqtt.h"
#include "dp_msgmem.h"
#include "dp_persist.h"
#include "dp_pool.h"
#include "dp_tls.h"
#include "dp_worker.h"
#include "mqtt/mqtt.h"
#include "plog/plog_record.h"
#include "tcp/tcp.h"
#include "util/hist.h"
#include "util/json.h"
#include "util/log.h"

#define DP__INBOX_SIZE 16384
#define DP__EXT_CHUNK 61440u   /* external buffer length is 16 bits */
#define DP__LINGER_NS (5ull * 1000000000) /* a closed connection's peer has this long to close */
/* mbufs of the worker's send pool the glue never takes for sends (and, for TLS records,
 * of its 2 KiB pool): TCP needs them for headers,
 * retransmission clones and ACKs, the port for refilling its RX ring (the ring's own
 * descriptors are already out of the pool). Without this reserve a burst of fan-out fills
 * the pool with queued data that can then never be sent (no header mbufs, and TCP clones
 * every queued mbuf it puts in flight) nor acknowledged: a deadlock. An eighth of the
 * pool, at least 256. (It was half: with the RX ring's 1024 mbufs out too, two
 * subscribers with closed windows then held every sendable mbuf of a 4095-mbuf pool and
 * starved a third that was reading; sends that find the pool short are counted in
 * tx_pool_starved.) */
#define DP__RESERVE_MIN 256u
#define DP__STARVED_BATCH 256u /* starved connections retried per loop iteration, at most */

_Static_assert(sizeof(struct brk_xmsg) % 4 == 0, "ring elements are multiples of 4 bytes");

struct dp_mqtt;

/* One client connection. Invariant: rx holds the received segments not yet consumed,
 * rx_off bytes of the first one consumed; part holds a packet straddling segments. */
struct dp__mconn {
	struct dp__mconn *next, *prev;   /* worker's list */
	struct dp__mconn *rnext, *rprev; /* ready list (resume pending; O(1) unlink) */
	struct dp_mqtt *m;
	struct tcp_conn *tc;
	struct brk_conn *bc;
	struct rte_mbuf *rx, *rx_tail;
	uint32_t rx_off;
	uint8_t *part;                   /* reassembly buffer */
	uint32_t part_have, part_cap;
	uint32_t consumed;               /* bytes to give back with tcp_recved */
	uint8_t version;                 /* for the decoder: 0 until CONNECT */
	bool paused, ready, in_feed, dead, fin;
	bool starved;                    /* on the starved list: a send found no mbuf */
	bool draining;                   /* closed by the broker, FIN sent, reading to the end */
	struct dp__mconn *snext, *sprev; /* starved list (FIFO, O(1) unlink) */
	uint64_t drain_since;
	struct dp_tls *tls;              /* TLS listener: the session (NULL: plain MQTT) */
	bool tls_identity;               /* the certificate's CN is the username */
};

struct dp__listener {
	struct dp_mqtt *m;
	struct brk_listener bl;
	struct dp_tls_ctx *tls;          /* NULL: plain */
};

struct dp_mqtt {
	struct dp_worker *w;
	struct tcp_stack *stack;
	struct brk_worker *bw;
	struct rte_ring *inbox;
	struct tcp_callbacks cb;
	struct dp__listener lst[CONF_MAX_LISTENERS];
	unsigned n_lst;
	struct dp__mconn *conns, *ready;
	struct dp__mconn *starved, *starved_tail; /* FIFO: the oldest is retried first */
	uint64_t starve_events;          /* this worker's dp__starve calls */
	uint32_t max_packet;
	uint32_t reserve;                /* see DP__RESERVE_MIN; of w->pool (TLS records) */
	uint32_t avail_est;              /* see dp__send; of w->pool */
	struct rte_mempool *txp;         /* the send pool: w->tx_pool, or w->pool without one */
	uint32_t tx_room;                /* its mbufs' data room past the headroom */
	uint32_t tx_reserve;             /* as reserve, of txp */
	uint32_t tx_avail_est;           /* as avail_est, of txp */
	uint64_t next_scan;
	uint64_t conns_cur;
	uint8_t *tls_scratch;            /* one TLS record of plaintext, to seal head + payload */
};

/* Process-wide: the broker's shared state and every worker's inbox. */
static struct brk_shared *dp__sh;
static struct dp_mqtt *dp__all[BRK_MAX_WORKERS];
static unsigned dp__n, dp__live;
static bool dp__stopping;
static uint64_t dp__starved;     /* sends that found the pool short (tx_pool_starved) */
static struct dp_tls_ctx *dp__tls_ctx[CONF_MAX_LISTENERS]; /* per TLS listener, shared */
static const struct tachyon_config *dp__cfg;                /* for dp_mqtt_tls_reload */
#define DP__TLS_SCRATCH 16384u
#define DP__TLS_CIPHER_MAX 65536u  /* ciphertext handed to OpenSSL ahead of decryption */

static const struct brk_conn_ops dp__ops;

/* The control core woke worker @p i: records became durable, or its persistence backlog
 * went down (dp_persist.c). */
void dp_mqtt_wake(unsigned i)
{
	if (!dp__stopping && i < dp__n && dp__all[i] != NULL)
		dp_worker_wake(dp__all[i]->w);
}

int dp_mqtt_restore(const struct plog_state *st,
		    void (*gone)(void *arg, const struct plog_sess *s), void *arg)
{
	if (dp__sh == NULL)
		return -EINVAL;
	rcu_register_thread();
	int rc = brk_restore(dp__sh, st, dp_clock_ns(), gone, arg);
	rcu_unregister_thread();
	return rc;
}

/* ---- cross-worker ---- */

static int dp__post(void *ctx, unsigned to, const struct brk_xmsg *msg)
{
	(void)ctx;
	if (to >= dp__n || dp__all[to] == NULL)
		return -EINVAL;
	if (rte_ring_mp_enqueue_elem(dp__all[to]->inbox, (void *)(uintptr_t)msg,
				     sizeof(*msg)) != 0)
		return -ENOBUFS;
	dp_worker_wake(dp__all[to]->w);
	return 0;
}

int dp_mqtt_post_ctl(unsigned worker, void *req)
{
	struct brk_xmsg x;
	memset(&x, 0, sizeof(x));
	x.type = BRK_X_CTL;
	x.from = UINT16_MAX; /* the control core */
	x.ctl = req;
	return dp__post(NULL, worker, &x);
}

/* One inbox message: control requests are the runtime's, the rest the broker's. */
static void dp__inbox_msg(struct dp_mqtt *m, const struct brk_xmsg *x)
{
	if (x->type == BRK_X_CTL)
		dp_ctl_handle(x->ctl, m->bw, m->w->index);
	else
		brk_worker_receive(m->bw, x);
}

int dp_mqtt_peer(void *tctx, char *buf, size_t len)
{
	const struct dp__mconn *mc = tctx;
	if (mc == NULL || mc->tc == NULL)
		return -ENOTCONN;
	uint32_t lip, rip;
	uint16_t lport, rport;
	tcp_conn_tuple(mc->tc, &lip, &lport, &rip, &rport);
	snprintf(buf, len, "%u.%u.%u.%u:%u", rip >> 24, (rip >> 16) & 255, (rip >> 8) & 255,
		 rip & 255, rport);
	return 0;
}

struct brk_shared *dp_mqtt_shared(void)
{
	return dp__sh;
}

void dp_mqtt_apply_settings(const struct tachyon_config *cfg)
{
	if (dp__sh == NULL)
		return;
	brk_shared_apply_settings(dp__sh, cfg);
	/* The framing bound: packets over it are refused before the broker sees them. */
	for (unsigned i = 0; i < dp__n; i++)
		if (dp__all[i] != NULL)
			__atomic_store_n(&dp__all[i]->max_packet, cfg->max_packet_size,
					 __ATOMIC_RELAXED);
}

void dp_mqtt_inbox_depth(const struct dp_mqtt *m, unsigned *count, unsigned *capacity)
{
	*count = rte_ring_count(m->inbox);
	*capacity = rte_ring_get_capacity(m->inbox);
}

/* The broker's password-check thread finished a CONNECT of worker @p to. */
static void dp__wake(void *ctx, unsigned to)
{
	(void)ctx;
	if (to < dp__n && dp__all[to] != NULL)
		dp_worker_wake(dp__all[to]->w);
}

static bool dp__busy(void *ctx)
{
	struct dp_mqtt *m = ctx;
	return rte_ring_count(m->inbox) > 0 || m->ready != NULL || brk_worker_busy(m->bw) ||
	       brk_worker_persist_ready(m->bw);
}

/* ---- sending: head copied, payload by reference ---- */

struct dp__ext {
	struct rte_mbuf_ext_shared_info shinfo;
	struct brk_msg *msg;
};

static void dp__ext_free(void *addr, void *opaque)
{
	(void)addr;
	struct dp__ext *e = opaque;
	brk_msg_unref(e->msg);
	dp_msgmem_desc_put(e);
}

/* Append the one-segment @p m (data_len set) to the chain (*head, *tail). */
static void dp__chain_add(struct rte_mbuf **head, struct rte_mbuf **tail, struct rte_mbuf *m)
{
	if (*head == NULL) {
		*head = *tail = m;
		return;
	}
	(*tail)->next = m;
	*tail = m;
	(*head)->nb_segs++;
	(*head)->pkt_len += m->data_len;
}

static struct rte_mbuf *dp__copy_mbufs(struct rte_mempool *pool, const uint8_t *p, uint32_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	while (len > 0 || head == NULL) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		uint32_t n = rte_pktmbuf_tailroom(m);
		if (n > len)
			n = len;
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), p, n);
		m->data_len = (uint16_t)n;
		m->pkt_len = n;
		p += n;
		len -= n;
		dp__chain_add(&head, &tail, m);
	}
	return head;
}

/* The pool ran dry: TCP will not call writable() for that (it never refused), so we
 * retry from dp_mqtt_poll once mbufs are back. */
static int dp__starve(struct dp__mconn *mc)
{
	struct dp_mqtt *m = mc->m;
	__atomic_fetch_add(&dp__starved, 1, __ATOMIC_RELAXED);
	m->starve_events++;
	if (!mc->starved) {
		mc->starved = true;
		mc->snext = NULL;
		mc->sprev = m->starved_tail;
		if (m->starved_tail != NULL)
			m->starved_tail->snext = mc;
		else
			m->starved = mc;
		m->starved_tail = mc;
	}
	return -ENOBUFS;
}

static void dp__unstarve(struct dp__mconn *mc)
{
	struct dp_mqtt *m = mc->m;
	if (!mc->starved)
		return;
	if (mc->sprev != NULL)
		mc->sprev->snext = mc->snext;
	else
		m->starved = mc->snext;
	if (mc->snext != NULL)
		mc->snext->sprev = mc->sprev;
	else
		m->starved_tail = mc->sprev;
	mc->snext = mc->sprev = NULL;
	mc->starved = false;
}

/* ---- TLS: the records OpenSSL sealed go out as copies; received ones are opened into the
 * session's plaintext buffer and framed from there (dp_tls.c does the OpenSSL side) ---- */

/* Put the session's pending ciphertext on the wire, as much as TCP and the pool allow.
 * @return 0 (all out), -ENOBUFS (some left: writable() or the starved retry calls again),
 * -EPIPE (the connection is gone). */
static int dp__tls_flush(struct dp__mconn *mc)
{
	size_t pend = dp_tls_out_pending(mc->tls);
	if (pend == 0)
		return 0;
	if (mc->tc == NULL)
		return -EPIPE;
	if (!tcp_want_writable(mc->tc))
		return -ENOBUFS;
	struct rte_mempool *pool = mc->m->w->pool;
	uint32_t room = 2048; /* an mbuf's data room after its headroom */
	uint32_t need = (uint32_t)((pend + room - 1) / room);
	uint32_t can = mc->m->avail_est > mc->m->reserve ? mc->m->avail_est - mc->m->reserve : 0;
	if (need > can)
		need = can;
	if (need > 512)
		need = 512; /* ~1 MiB per call; the rest on the next writable() */
	if (need == 0)
		return dp__starve(mc);
	struct rte_mbuf *bufs[512];
	if (rte_pktmbuf_alloc_bulk(pool, bufs, need) != 0)
		return dp__starve(mc);
	mc->m->avail_est -= need;
	struct rte_mbuf *head = NULL, *tail = NULL;
	for (uint32_t i = 0; i < need; i++) {
		struct rte_mbuf *b = bufs[i];
		size_t n = dp_tls_out_read(mc->tls, rte_pktmbuf_mtod(b, uint8_t *),
					   RTE_MIN((size_t)rte_pktmbuf_tailroom(b), (size_t)room));
		if (n == 0) {
			rte_pktmbuf_free(b);
			continue;
		}
		b->data_len = (uint16_t)n;
		b->pkt_len = (uint32_t)n;
		dp__chain_add(&head, &tail, b);
	}
	if (head != NULL && tcp_send(mc->tc, head) != 0) {
		/* Sealed records lost: the stream cannot go on. */
		rte_pktmbuf_free(head);
		tcp_abort(mc->tc);
		return -EPIPE;
	}
	if (dp_tls_out_pending(mc->tls) > 0)
		return dp__starve(mc);
	return 0;
}

static int dp__tls_send(struct dp__mconn *mc, const uint8_t *hd, uint32_t hlen,
			struct brk_msg *msg)
{
	/* Sealed but unsent records first: while they wait, the broker holds its packets. */
	if (dp_tls_out_pending(mc->tls) > 0) {
		int rc = dp__tls_flush(mc);
		if (rc != 0)
			return rc == -EPIPE ? -EPIPE : -ENOBUFS;
	}
	if (!tcp_want_writable(mc->tc))
		return -ENOBUFS;
	uint32_t plen = 0;
	const uint8_t *pay = msg != NULL ? brk_msg_payload(msg, &plen) : NULL;
	uint32_t need = (hlen + plen) / 2048 + 2;
	if (mc->m->avail_est < mc->m->reserve + need)
		return dp__starve(mc);
	int rc;
	uint8_t *sc = mc->m->tls_scratch;
	if (sc != NULL && (uint64_t)hlen + plen <= DP__TLS_SCRATCH) {
		/* One record for head and payload: the payload is copied into it anyway. */
		memcpy(sc, hd, hlen);
		if (plen > 0)
			memcpy(sc + hlen, pay, plen);
		rc = dp_tls_write(mc->tls, sc, hlen + plen);
	} else {
		rc = dp_tls_write(mc->tls, hd, hlen);
		if (rc == 0 && plen > 0)
			rc = dp_tls_write(mc->tls, pay, plen);
	}
	if (rc != 0)
		return -EPIPE;
	rc = dp__tls_flush(mc);
	return rc == -EPIPE ? -EPIPE : 0; /* sealed: what is left goes out on writable() */
}

static int dp__send(void *tctx, const uint8_t *hd, uint32_t hlen, struct brk_msg *msg)
{
	struct dp__mconn *mc = tctx;
	if (dp__stopping || mc->tc == NULL)
		return -EPIPE;
	/* Full: arm writable() (brk_out holds the packet and flushes on brk_conn_writable). A
	 * bare -ENOBUFS here without arming it left QoS 0 subscribers stalled for good. */
	if (mc->tls != NULL)
		return dp__tls_send(mc, hd, hlen, msg);
	if (!tcp_want_writable(mc->tc))
		return -ENOBUFS;
	/* The head is copied into small send mbufs and the payload attached to more of them
	 * by reference: a subscriber waiting for its ACK holds two small mbufs, not 2 KiB ones
	 * (dp_pool.h). tx_avail_est: the pool's free count read once per loop iteration (it
	 * walks every lcore cache), minus what we took since; frees are not seen, so it errs
	 * safe. Short of mbufs, the connection waits in the starved FIFO (dp__starve). */
	struct rte_mempool *pool = mc->m->txp;
	uint32_t plen0 = 0;
	if (msg != NULL)
		brk_msg_payload(msg, &plen0);
	uint32_t need = 1 + hlen / mc->m->tx_room + (plen0 + DP__EXT_CHUNK - 1) / DP__EXT_CHUNK;
	if (mc->m->tx_avail_est < mc->m->tx_reserve + need)
		return dp__starve(mc);
	mc->m->tx_avail_est -= need;
	struct rte_mbuf *head = dp__copy_mbufs(pool, hd, hlen);
	if (head == NULL)
		return dp__starve(mc);
	uint32_t plen = 0;
	const uint8_t *pay = msg != NULL ? brk_msg_payload(msg, &plen) : NULL;
	if (plen > 0) {
		struct dp__ext *e = dp_msgmem_desc_get(sizeof(*e));
		if (e == NULL) {
			rte_pktmbuf_free(head);
			return dp__starve(mc);
		}
		e->shinfo.free_cb = dp__ext_free;
		e->shinfo.fcb_opaque = e;
		/* One reference of our own while building, one per attached chunk. */
		rte_mbuf_ext_refcnt_set(&e->shinfo, 1);
		brk_msg_ref(msg);
		e->msg = msg;
		struct rte_mbuf *tail = rte_pktmbuf_lastseg(head);
		uint32_t off = 0;
		bool short_of_mbufs = false;
		while (off < plen) {
			uint32_t n = plen - off < DP__EXT_CHUNK ? plen - off : DP__EXT_CHUNK;
			struct rte_mbuf *pm = rte_pktmbuf_alloc(pool);
			if (pm == NULL) {
				short_of_mbufs = true;
				break;
			}
			void *addr = (void *)(uintptr_t)(pay + off);
			/* The message is in DPDK memory (dp_msgmem.c): a NIC DMAs from it. */
			size_t contig;
			rte_iova_t iova = dp_msgmem_iova(addr, n, &contig);
			if (contig < n)
				n = (uint32_t)contig; /* an IO-space seam: the rest in the next chunk */
			rte_mbuf_ext_refcnt_update(&e->shinfo, 1);
			rte_pktmbuf_attach_extbuf(pm, addr, iova, (uint16_t)n, &e->shinfo);
			pm->data_len = (uint16_t)n;
			pm->pkt_len = n;
			dp__chain_add(&head, &tail, pm);
			off += n;
		}
		if (short_of_mbufs)
			rte_pktmbuf_free(head); /* the attached chunks drop their references */
		if (rte_mbuf_ext_refcnt_update(&e->shinfo, -1) == 0)
			dp__ext_free(NULL, e);
		if (short_of_mbufs)
			return dp__starve(mc);
	}
	int rc = tcp_send(mc->tc, head);
	if (rc != 0) {
		rte_pktmbuf_free(head);
		return rc == -ENOBUFS ? -ENOBUFS : -EPIPE;
	}
	return 0;
}

/* ---- connections ---- */

static void dp__mconn_free(struct dp__mconn *mc)
{
	struct dp_mqtt *m = mc->m;
	if (mc->prev != NULL)
		mc->prev->next = mc->next;
	else
		m->conns = mc->next;
	if (mc->next != NULL)
		mc->next->prev = mc->prev;
	if (mc->ready) { /* O(1): a million connections may be freed at once (shutdown) */
		if (mc->rprev != NULL)
			mc->rprev->rnext = mc->rnext;
		else
			m->ready = mc->rnext;
		if (mc->rnext != NULL)
			mc->rnext->rprev = mc->rprev;
		mc->ready = false;
	}
	dp__unstarve(mc);
	rte_pktmbuf_free(mc->rx);
	free(mc->part);
	dp_tls_free(mc->tls);
	m->conns_cur--;
	free(mc);
}

static void dp__resume(void *tctx);

/*
 * The broker is done with the connection. We send what is queued (a DISCONNECT with its
 * reason, a refusing CONNACK) and a FIN, but keep reading and discarding until the client
 * closes too: closing at once would answer the client's unread bytes with a RST, and a RST
 * makes the client's kernel throw away our DISCONNECT before the client reads it. The
 * client has DP__LINGER_NS to close; then the connection is aborted.
 */
static void dp__close(void *tctx)
{
	struct dp__mconn *mc = tctx;
	mc->bc = NULL;
	if (mc->tls != NULL && mc->tc != NULL && !dp__stopping) {
		dp_tls_shutdown(mc->tls); /* close_notify ahead of our FIN */
		dp__tls_flush(mc);
	}
	if (mc->tc != NULL && !dp__stopping && tcp_shutdown(mc->tc) == 0) {
		mc->draining = true;
		mc->paused = false;
		mc->drain_since = mc->m->w->now_ns;
		if (!mc->in_feed && mc->rx != NULL)
			dp__resume(mc); /* discard what is buffered from the poll loop */
		return;
	}
	if (mc->tc != NULL && !dp__stopping)
		tcp_close(mc->tc);
	mc->tc = NULL;
	if (mc->in_feed)
		mc->dead = true;
	else
		dp__mconn_free(mc);
}

static void dp__resume(void *tctx)
{
	struct dp__mconn *mc = tctx;
	mc->paused = false;
	if (!mc->ready) {
		mc->ready = true;
		mc->rprev = NULL;
		mc->rnext = mc->m->ready;
		if (mc->rnext != NULL)
			mc->rnext->rprev = mc;
		mc->m->ready = mc;
	}
}

static const struct brk_conn_ops dp__ops = {
	.send = dp__send,
	.close = dp__close,
	.resume = dp__resume,
};

/* Hand one whole packet to the broker. @return false to stop feeding. */
static bool dp__packet(struct dp__mconn *mc, const uint8_t *p, uint32_t len)
{
	struct mqtt_packet pkt;
	uint8_t type = p[0] >> 4;
	if (mc->version != 0 && (type == MQTT_CONNACK || type == MQTT_SUBACK ||
				 type == MQTT_UNSUBACK || type == MQTT_PINGRESP)) {
		/* Server-to-client packets: a protocol error whatever their bytes (the codec
		 * leaves direction to the broker, docs/codec.md). */
		brk_conn_bad_input(mc->bc, MQTT_RC_PROTOCOL_ERROR, mc->version);
		return false;
	}
	int rc = mqtt_decode(mc->version, p, len, &pkt);
	if (rc != MQTT_OK) {
		uint8_t v = mc->version ? mc->version : pkt.connect.version;
		brk_conn_bad_input(mc->bc, (uint8_t)rc, v);
		return false;
	}
	if (pkt.type == MQTT_CONNECT && mc->tls_identity) {
		/* use_identity_as_username: the verified certificate's CN replaces whatever the
		 * client put in the CONNECT (Mosquitto's rule); no certificate, no entry. */
		const char *cn = dp_tls_peer_cn(mc->tls);
		if (cn == NULL) {
			brk_conn_bad_input(mc->bc, MQTT_RC_NOT_AUTHORIZED, pkt.connect.version);
			return false;
		}
		pkt.connect.has_username = true;
		pkt.connect.username.p = (const uint8_t *)cn;
		pkt.connect.username.len = (uint16_t)strlen(cn);
		pkt.connect.has_password = false;
		pkt.connect.password.p = NULL;
		pkt.connect.password.len = 0;
		brk_conn_set_cert_user(mc->bc);
	}
	if (pkt.type == MQTT_CONNECT)
		mc->version = pkt.connect.version;
	enum brk_input r = brk_conn_packet(mc->bc, &pkt, len);
	if (r == BRK_PAUSE)
		mc->paused = true;
	return r == BRK_CONTINUE;
}

/* Feed the bytes of (p, len); returns how many were consumed (all unless stopped). */
static uint32_t dp__feed_bytes(struct dp__mconn *mc, const uint8_t *p, uint32_t len)
{
	uint32_t used = 0;
	while (used < len && !mc->paused && !mc->dead) {
		const uint8_t *q = p + used;
		uint32_t avail = len - used;
		struct mqtt_frame f;
		if (mc->part_have == 0 && mc->version == 0 && (q[0] >> 4) != MQTT_CONNECT) {
			/* [MQTT-3.1.0-1]: judged on the first byte, like Mosquitto, so that a
			 * stranger (an HTTP request...) is not kept waiting for a whole packet. */
			brk_conn_bad_input(mc->bc, MQTT_RC_PROTOCOL_ERROR, 0);
			return len;
		}
		if (mc->part_have == 0) {
			int rc = mqtt_frame(q, avail, __atomic_load_n(&mc->m->max_packet, __ATOMIC_RELAXED), &f);
			if (rc == MQTT_OK) {
				used += f.total_len;
				if (!dp__packet(mc, q, f.total_len))
					return used;
				continue;
			}
			if (rc != MQTT_NEED_MORE) {
				brk_conn_bad_input(mc->bc, (uint8_t)rc, mc->version);
				return len;
			}
			uint32_t want = f.total_len ? f.total_len : 5;
			if (mc->part_cap < want) {
				uint8_t *nb = realloc(mc->part, want);
				if (nb == NULL) {
					brk_conn_bad_input(mc->bc, MQTT_RC_IMPL_SPECIFIC, mc->version);
					return len;
				}
				mc->part = nb;
				mc->part_cap = want;
			}
			memcpy(mc->part, q, avail);
			mc->part_have = avail;
			used += avail;
			continue;
		}
		/* Here a partial packet is buffered. */
		int rc = mqtt_frame(mc->part, mc->part_have,
				 __atomic_load_n(&mc->m->max_packet, __ATOMIC_RELAXED), &f);
		if (rc != MQTT_NEED_MORE && rc != MQTT_OK) {
			brk_conn_bad_input(mc->bc, (uint8_t)rc, mc->version);
			return len;
		}
		uint32_t want = f.total_len ? f.total_len : mc->part_have + 1;
		if (mc->part_cap < want) {
			uint8_t *nb = realloc(mc->part, want < 5 ? 5 : want);
			if (nb == NULL) {
				brk_conn_bad_input(mc->bc, MQTT_RC_IMPL_SPECIFIC, mc->version);
				return len;
			}
			mc->part = nb;
			mc->part_cap = want < 5 ? 5 : want;
		}
		uint32_t n = want - mc->part_have;
		if (n > avail)
			n = avail;
		memcpy(mc->part + mc->part_have, q, n);
		mc->part_have += n;
		used += n;
		if (f.total_len != 0 && mc->part_have == f.total_len) {
			mc->part_have = 0;
			if (!dp__packet(mc, mc->part, f.total_len))
				return used;
			/* Give the memory of a big packet back: few connections send them. */
			if (mc->part_cap > 4096) {
				free(mc->part);
				mc->part = NULL;
				mc->part_cap = 0;
			}
		}
	}
	return used;
}

/* Free the first received segment (used up) and start at the next one. */
static void dp__rx_pop(struct dp__mconn *mc)
{
	struct rte_mbuf *seg = mc->rx;
	mc->rx = seg->next;
	if (mc->rx == NULL)
		mc->rx_tail = NULL;
	seg->next = NULL;
	seg->nb_segs = 1;
	rte_pktmbuf_free_seg(seg);
	mc->rx_off = 0;
}

/* TLS: hand ciphertext to OpenSSL (at most DP__TLS_CIPHER_MAX ahead, so a paused
 * connection's window still closes), run the handshake, frame the plaintext. A failed
 * handshake or a bad record ends the connection (the alert goes out first); the peer's
 * close_notify is its end of stream. */
static void dp__tls_feed(struct dp__mconn *mc)
{
	for (;;) {
		while (mc->rx != NULL && dp_tls_cipher_pending(mc->tls) < DP__TLS_CIPHER_MAX) {
			struct rte_mbuf *seg = mc->rx;
			uint32_t len = seg->data_len - mc->rx_off;
			if (dp_tls_put_cipher(mc->tls, rte_pktmbuf_mtod_offset(seg, const uint8_t *,
									       mc->rx_off), len) != 0)
				break;
			mc->consumed += len;
			dp__rx_pop(mc);
		}
		enum dp_tls_state st = dp_tls_step(mc->tls);
		dp__tls_flush(mc); /* handshake messages, alerts, tickets */
		if (st == DP_TLS_FAILED) {
			uint32_t ip = 0;
			uint16_t port = 0;
			if (mc->tc != NULL)
				tcp_conn_tuple(mc->tc, NULL, NULL, &ip, &port);
			TLOG_INFO("mqtt", "TLS from %u.%u.%u.%u:%u failed: %s", ip >> 24,
				  (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port,
				  dp_tls_error(mc->tls));
			if (mc->bc != NULL)
				brk_conn_lost(mc->bc);
			mc->bc = NULL;
			if (mc->tc != NULL)
				tcp_close(mc->tc);
			mc->tc = NULL;
			mc->dead = true;
			return;
		}
		if (st == DP_TLS_CLOSED) {
			mc->fin = true;
			rte_pktmbuf_free(mc->rx);
			mc->rx = mc->rx_tail = NULL;
			mc->rx_off = 0;
			return;
		}
		uint32_t n;
		const uint8_t *p = dp_tls_plain(mc->tls, &n);
		if (n == 0) {
			if (mc->rx == NULL || st == DP_TLS_HANDSHAKE)
				return;
			continue;
		}
		uint32_t used = dp__feed_bytes(mc, p, n);
		dp_tls_plain_consume(mc->tls, used);
		if (mc->paused || mc->dead || mc->bc == NULL)
			return;
	}
}

/* Feed the received segments until they are used up or the broker pauses us. */
static void dp__feed(struct dp__mconn *mc)
{
	mc->in_feed = true;
	if (mc->tls != NULL && !mc->paused && !mc->dead && mc->bc != NULL)
		dp__tls_feed(mc);
	while (mc->tls == NULL && mc->rx != NULL && !mc->paused && !mc->dead && mc->bc != NULL) {
		struct rte_mbuf *seg = mc->rx;
		uint32_t len = seg->data_len - mc->rx_off;
		const uint8_t *p = rte_pktmbuf_mtod_offset(seg, const uint8_t *, mc->rx_off);
		uint32_t used = dp__feed_bytes(mc, p, len);
		mc->rx_off += used;
		mc->consumed += used;
		if (mc->rx_off < seg->data_len && !mc->dead)
			break; /* paused inside this segment */
		/* Segment used up (the broker is done with views into it). */
		dp__rx_pop(mc);
	}
	mc->in_feed = false;
	if (mc->dead) {
		dp__mconn_free(mc);
		return;
	}
	if (mc->draining) {
		/* Discard what the client still sends; the window stays open for it. */
		for (struct rte_mbuf *seg = mc->rx; seg != NULL; seg = seg->next)
			mc->consumed += seg->data_len;
		mc->consumed -= mc->rx_off;
		rte_pktmbuf_free(mc->rx);
		mc->rx = mc->rx_tail = NULL;
		mc->rx_off = 0;
	}
	if (mc->tc != NULL && mc->consumed > 0) {
		tcp_recved(mc->tc, mc->consumed);
		mc->consumed = 0;
	}
	if (mc->fin && mc->draining && mc->tc != NULL) {
		/* The client closed its side after ours: the stack finishes the close. */
		tcp_close(mc->tc);
		mc->tc = NULL;
		dp__mconn_free(mc);
		return;
	}
	if (mc->fin && mc->rx == NULL && mc->bc != NULL) {
		/* The client half-closed: for MQTT the connection is over. */
		brk_conn_lost(mc->bc);
		mc->bc = NULL;
		if (mc->tc != NULL)
			tcp_close(mc->tc);
		mc->tc = NULL;
		dp__mconn_free(mc);
	}
}

static int dp__accepted(void *arg, struct tcp_conn *c)
{
	struct dp__listener *l = arg;
	struct dp_mqtt *m = l->m;
	struct dp__mconn *mc = calloc(1, sizeof(*mc));
	if (mc == NULL)
		return -ENOMEM;
	mc->m = m;
	mc->tc = c;
	if (l->tls != NULL) {
		mc->tls = dp_tls_new(l->tls);
		mc->tls_identity = dp_tls_ctx_identity_user(l->tls);
		if (mc->tls == NULL) {
			free(mc);
			return -ENOMEM;
		}
	}
	mc->bc = brk_conn_open(m->bw, &dp__ops, mc, &l->bl, m->w->now_ns);
	if (mc->bc == NULL) {
		dp_tls_free(mc->tls);
		free(mc);
		return -ENOMEM;
	}
	uint32_t lip, rip;
	uint16_t lport, rport;
	tcp_conn_tuple(c, &lip, &lport, &rip, &rport);
	brk_conn_set_peer(mc->bc, rip); /* the failed-login limiter keys on it */
	mc->next = m->conns;
	if (m->conns != NULL)
		m->conns->prev = mc;
	m->conns = mc;
	m->conns_cur++;
	tcp_conn_set_arg(c, mc);
	return 0;
}

static void dp__data(void *arg, struct tcp_conn *c, struct rte_mbuf *mb)
{
	(void)c;
	struct dp__mconn *mc = arg;
	if (mb == NULL) {
		mc->fin = true;
	} else {
		/* Appending by ->next only: the chain's head fields are not used. */
		if (mc->rx_tail != NULL)
			mc->rx_tail->next = mb;
		else
			mc->rx = mb;
		mc->rx_tail = rte_pktmbuf_lastseg(mb);
	}
	if (!mc->paused || mc->draining)
		dp__feed(mc);
}

static void dp__writable(void *arg, struct tcp_conn *c)
{
	(void)c;
	struct dp__mconn *mc = arg;
	if (mc->tls != NULL && dp__tls_flush(mc) != 0)
		return; /* sealed records still wait: the broker's packets wait behind them */
	if (mc->bc != NULL)
		brk_conn_writable(mc->bc);
}

static void dp__closed(void *arg, struct tcp_conn *c, enum tcp_close_reason why)
{
	(void)c;
	(void)why;
	struct dp__mconn *mc = arg;
	mc->tc = NULL;
	if (mc->bc != NULL) {
		brk_conn_lost(mc->bc);
		mc->bc = NULL;
	}
	dp__mconn_free(mc);
}

/* ---- the worker's side ---- */

void dp_mqtt_poll(void *ctx, uint64_t now_ns)
{
	struct dp_mqtt *m = ctx;
	m->avail_est = dp_pool_avail(m->w->pool);
	m->tx_avail_est = m->txp != m->w->pool ? dp_pool_avail(m->txp) : m->avail_est;
	dp_persist_poll(m->w->index);
	brk_worker_tick(m->bw, now_ns);
	struct brk_xmsg msgs[32];
	unsigned n;
	do {
		n = rte_ring_sc_dequeue_burst_elem(m->inbox, msgs, sizeof(msgs[0]), RTE_DIM(msgs),
						   NULL);
		for (unsigned i = 0; i < n; i++)
			dp__inbox_msg(m, &msgs[i]);
	} while (n == RTE_DIM(msgs));
	while (m->ready != NULL) {
		struct dp__mconn *mc = m->ready;
		m->ready = mc->rnext;
		if (m->ready != NULL)
			m->ready->rprev = NULL;
		mc->ready = false;
		if (!mc->paused)
			dp__feed(mc);
	}
	if (m->starved != NULL &&
	    (m->tx_avail_est >= m->tx_reserve + 64 || m->avail_est >= m->reserve + 64)) {
		/* Retry the starved connections oldest first, while a pool has mbufs (plain
		 * sends wait for the send pool, TLS records for the 2 KiB one): stop at
		 * the first retry that starves again (it goes back to the tail; the pool is dry,
		 * the rest would only starve too) and after DP__STARVED_BATCH, so that an
		 * iteration stays short with a million subscribers waiting (it once walked the
		 * whole list per iteration and retried its head over and over). */
		struct dp__mconn *last = m->starved_tail; /* those starved before this pass */
		for (unsigned k = 0; k < DP__STARVED_BATCH && m->starved != NULL; k++) {
			struct dp__mconn *mc = m->starved;
			bool was_last = mc == last;
			uint64_t ev = m->starve_events;
			dp__unstarve(mc);
			/* mc may be freed by what follows: only the counters are read after */
			if (mc->tls == NULL || dp__tls_flush(mc) == 0) {
				if (mc->bc != NULL)
					brk_conn_writable(mc->bc);
			}
			if (m->starve_events != ev || was_last)
				break;
		}
	}
	if (now_ns >= m->next_scan) {
		m->next_scan = now_ns + 1000000000ull;
		struct dp__mconn *mc = m->conns;
		while (mc != NULL) {
			struct dp__mconn *next = mc->next;
			if (mc->draining && now_ns - mc->drain_since > DP__LINGER_NS) {
				if (mc->tc != NULL)
					tcp_abort(mc->tc);
				mc->tc = NULL;
				dp__mconn_free(mc);
			}
			mc = next;
		}
	}
}

int dp_mqtt_attach(struct dp_worker *w, struct tcp_stack *stack,
		   const struct tachyon_config *cfg)
{
	if (w->index >= BRK_MAX_WORKERS)
		return -EINVAL;
	if (dp__sh == NULL) {
		/* Messages live in DPDK memory; one send descriptor per payload mbuf at most. */
		int mrc = dp_msgmem_init(cfg->message_pool_mb, cfg->mbufs * cfg->workers);
		if (mrc != 0)
			return mrc;
		/* One OpenSSL context per TLS listener, shared by the workers. */
		for (unsigned i = 0; i < cfg->n_listeners && i < CONF_MAX_LISTENERS; i++) {
			if (!cfg->listeners[i].tls || dp__tls_ctx[i] != NULL)
				continue;
			char err[256];
			dp__tls_ctx[i] = dp_tls_ctx_create(&cfg->listeners[i], err, sizeof(err));
			if (dp__tls_ctx[i] == NULL) {
				TLOG_ERR("mqtt", "listener %u: TLS: %s", cfg->listeners[i].port, err);
				return -EINVAL;
			}
		}
		dp__cfg = cfg;
		dp__sh = brk_shared_create(cfg, cfg->workers, dp_clock_ns());
		if (dp__sh == NULL)
			return -errno;
		dp__n = cfg->workers;
		dp__stopping = false;
	}
	struct dp_mqtt *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->w = w;
	m->stack = stack;
	m->max_packet = cfg->max_packet_size;
	for (unsigned i = 0; i < cfg->n_listeners && i < CONF_MAX_LISTENERS; i++)
		if (cfg->listeners[i].tls && m->tls_scratch == NULL)
			m->tls_scratch = malloc(DP__TLS_SCRATCH);
	m->reserve = w->pool->size / 8 > DP__RESERVE_MIN ? w->pool->size / 8 : DP__RESERVE_MIN;
	m->avail_est = rte_mempool_avail_count(w->pool);
	m->txp = w->tx_pool != NULL ? w->tx_pool : w->pool;
	m->tx_room = rte_pktmbuf_data_room_size(m->txp) - RTE_PKTMBUF_HEADROOM;
	m->tx_reserve = m->txp->size / 8 > DP__RESERVE_MIN ? m->txp->size / 8 : DP__RESERVE_MIN;
	m->tx_avail_est = rte_mempool_avail_count(m->txp);
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "brk_in_w%u", w->index);
	m->inbox = rte_ring_create_elem(name, sizeof(struct brk_xmsg), DP__INBOX_SIZE,
					w->socket_id, RING_F_SC_DEQ);
	struct brk_worker_ops ops = { .post = dp__post, .ctx = NULL, .wake = dp__wake };
	dp_persist_ops(w->index, &ops);
	m->bw = m->inbox != NULL ? brk_worker_create(dp__sh, w->index, &ops) : NULL;
	if (m->bw == NULL) {
		rte_ring_free(m->inbox);
		free(m);
		return -ENOMEM;
	}
	dp__all[w->index] = m;
	dp__live++;
	m->cb.accepted = dp__accepted;
	m->cb.data = dp__data;
	m->cb.writable = dp__writable;
	m->cb.closed = dp__closed;
	for (unsigned i = 0; i < cfg->n_listeners && i < CONF_MAX_LISTENERS; i++) {
		const struct conf_listener *cl = &cfg->listeners[i];
		struct dp__listener *l = &m->lst[m->n_lst++];
		l->m = m;
		l->bl.port = cl->port;
		l->bl.index = (uint8_t)i;
		l->bl.max_connections = conf_listener_max_connections(cfg, i);
		l->bl.max_topic_alias = conf_listener_max_topic_alias(cfg, i);
		l->bl.allow_zero_length_clientid = cl->allow_zero_length_clientid >= 0
							   ? cl->allow_zero_length_clientid != 0
							   : cfg->allow_zero_length_clientid;
		l->tls = cl->tls ? dp__tls_ctx[i] : NULL;
		int rc = tcp_listen(stack, cl->bind_ip, cl->port, &m->cb, l);
		if (rc != 0) {
			TLOG_ERR("mqtt", "worker %u: cannot listen on port %u: %s", w->index,
				 cl->port, strerror(-rc));
			return rc;
		}
	}
	w->app_poll = dp_mqtt_poll;
	w->app_busy = dp__busy;
	w->app_stop = dp_mqtt_stop;
	w->app_ctx = m;
	w->mqtt = m;
	return 0;
}

void dp_mqtt_stop(void *ctx, bool final)
{
	struct dp_mqtt *m = ctx;
	if (!final) {
		/* Tell the clients (DISCONNECT 0x8B, FIN); the worker keeps running its loop a
		 * little so that TCP delivers it and hears the clients close. */
		brk_worker_shutdown(m->bw);
		return;
	}
	/* Whoever has not closed by now gets a RST: a peer must not keep a connection to a
	 * broker that is gone (the tap and its address vanish with us). */
	for (struct dp__mconn *mc = m->conns; mc != NULL; mc = mc->next) {
		if (mc->tc != NULL)
			tcp_abort(mc->tc);
		mc->tc = NULL;
	}
}

void dp_mqtt_stats_json(struct dp_mqtt *m, struct json_writer *jw)
{
	(void)m;
	if (dp__sh == NULL)
		return;
	struct brk_counters k;
	brk_shared_counters(dp__sh, &k);
	json_key(jw, "mqtt");
	json_obj_begin(jw);
#define F(name) json_kv_u64(jw, #name, k.name)
	F(clients_connected); F(clients_total); F(clients_maximum); F(connects);
	F(connects_refused);
	F(takeovers); F(bytes_received); F(bytes_sent);
	F(pub_dropped); F(subscriptions); F(retained); F(wills_sent); F(lim_connections);
	F(lim_packet_size); F(lim_inflight); F(lim_queued); F(lim_topic_levels);
	F(lim_subscriptions); F(protocol_errors); F(keepalive_timeouts); F(expired);
	F(auth_anon_refused); F(auth_unknown_user); F(auth_bad_password); F(auth_rate_limited);
	F(auth_error); F(auth_blocks); F(auth_hashes); F(auth_cache_hits);
	F(acl_denied_publish); F(acl_denied_subscribe); F(acl_denied_read); F(acl_denied_will);
	F(xmsg_drops); F(persist_records); F(persist_errors); F(acks_held);
	F(persist_throttled);
#undef F
	json_kv_u64(jw, "tx_pool_starved", __atomic_load_n(&dp__starved, __ATOMIC_RELAXED));
	/* docs/operations.md's schema: breakdowns as objects, the histogram in integer ns
	 * with cumulative buckets (upper bounds 2^k us; the last one +Inf). */
	static const char *const qn[3] = { "qos0", "qos1", "qos2" };
	json_key(jw, "msgs_received");
	json_obj_begin(jw);
	for (unsigned q = 0; q < 3; q++)
		json_kv_u64(jw, qn[q], k.msgs_received_qos[q]);
	json_obj_end(jw);
	json_key(jw, "msgs_sent");
	json_obj_begin(jw);
	for (unsigned q = 0; q < 3; q++)
		json_kv_u64(jw, qn[q], k.msgs_sent_qos[q]);
	json_obj_end(jw);
	hist_json(jw, "latency_histogram", k.lat_bucket, BRK_LAT_BUCKETS, k.lat_sum_ns);
	json_obj_end(jw);
	dp_msgmem_stats_json(jw);
	dp_tls_stats_json(jw);
}

/* The last worker to go takes the broker down: connections are dropped (wills would
 * only reach connections that are being dropped too), every inbox is drained, then the
 * workers and the shared state are freed, on this (main lcore) thread, registered with
 * QSBR for the purpose. Sends are refused from the first call on: the stacks may be gone. */
void dp_mqtt_destroy(struct dp_mqtt *m)
{
	if (m == NULL)
		return;
	dp__stopping = true;
	if (--dp__live > 0)
		return;
	rcu_register_thread();
	for (unsigned i = 0; i < dp__n; i++) {
		struct dp_mqtt *x = dp__all[i];
		if (x == NULL)
			continue;
		while (x->conns != NULL) {
			struct dp__mconn *mc = x->conns;
			if (mc->bc != NULL)
				brk_conn_lost(mc->bc);
			mc->bc = NULL;
			mc->tc = NULL;
			dp__mconn_free(mc);
		}
	}
	bool any = true;
	while (any) {
		any = false;
		for (unsigned i = 0; i < dp__n; i++) {
			struct dp_mqtt *x = dp__all[i];
			struct brk_xmsg msg;
			while (x != NULL &&
			       rte_ring_sc_dequeue_elem(x->inbox, &msg, sizeof(msg)) == 0) {
				if (msg.type == BRK_X_CTL)
					dp_ctl_abandon(msg.ctl, i);
				else
					brk_worker_receive(x->bw, &msg);
				any = true;
			}
		}
	}
	for (unsigned i = 0; i < dp__n; i++) {
		struct dp_mqtt *x = dp__all[i];
		if (x == NULL)
			continue;
		brk_worker_destroy(x->bw);
		rte_ring_free(x->inbox);
		free(x->tls_scratch);
		free(x);
		dp__all[i] = NULL;
	}
	brk_shared_destroy(dp__sh);
	dp__sh = NULL;
	for (unsigned i = 0; i < CONF_MAX_LISTENERS; i++) {
		dp_tls_ctx_destroy(dp__tls_ctx[i]); /* every connection (SSL) is freed above */
		dp__tls_ctx[i] = NULL;
	}
	dp__cfg = NULL;
	rcu_barrier();
	rcu_unregister_thread();
}

int dp_mqtt_tls_reload(char *err, size_t errlen)
{
	if (dp__cfg == NULL) {
		snprintf(err, errlen, "the broker is not running");
		return -1;
	}
	int done = 0;
	for (unsigned i = 0; i < dp__cfg->n_listeners && i < CONF_MAX_LISTENERS; i++) {
		if (dp__tls_ctx[i] == NULL)
			continue;
		char e[256];
		if (dp_tls_ctx_reload(dp__tls_ctx[i], &dp__cfg->listeners[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "listener %u: %s", dp__cfg->listeners[i].port, e);
			return -1;
		}
		TLOG_NOTICE("mqtt", "listener %u: TLS certificate, key and CA reloaded",
			    dp__cfg->listeners[i].port);
		done++;
	}
	return done;
}
