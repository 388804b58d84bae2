/**
 * @file dp_worker.c
 * The worker lcore loop (see dp_worker.h for its shape): rx burst -> net_input, L4 poll,
 * buffered TX drained on a timer, housekeeping, and an idle backoff that sleeps on the rx
 * queue's interrupt fd (rte_epoll_wait) or, where the PMD has none, in short usleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <urcu-qsbr.h>

#include "dp_io.h"
#include "dp_mqtt.h"
#include "conf/conf.h"
#include "dp_worker.h"
#include "util/log.h"
#include "util/thread_sched.h"

const char *const dp_worker_counter_names[] = {
	"loops", "rx_pkts", "rx_bursts", "tx_pkts", "tx_drops", "tx_flushes", "sleeps",
	"wakeups_rx", "arp_shared_out", "arp_shared_in", "arp_share_drops", "tx_backlogged",
	"tx_refused", "rx_kicks", "preempted", "cpu_wait_us",
};
const unsigned dp_worker_counter_count = RTE_DIM(dp_worker_counter_names);
_Static_assert(RTE_DIM(dp_worker_counter_names) * sizeof(uint64_t) ==
	       sizeof(struct dp_worker_counters), "dp_worker_counter_names out of step");

uint64_t dp_clock_mult;

/* One ARP binding passed between workers (ring element: a multiple of 4 bytes). */
struct dp__arp_msg {
	uint32_t ip;
	struct rte_ether_addr mac;
	uint16_t pad;
};
#define DP__ARP_RING_SIZE 256

void dp_clock_init(void)
{
	/* ns = cycles * (1e9 / hz), the factor in 32.32 fixed point: exact to < 1 ppb. */
	dp_clock_mult = (uint64_t)(((unsigned __int128)1000000000u << 32) / rte_get_tsc_hz());
}

int dp_worker_init(struct dp_worker *w, unsigned index, unsigned lcore_id,
		   struct rte_mempool *pool, uint16_t port_id, const struct rte_ether_addr *mac,
		   uint64_t tx_offloads, bool rx_intr, const struct tachyon_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->wake_fd = -1;
	int rc = net_if_init(&w->nif, cfg->ip, cfg->prefix_len, cfg->gateway);
	if (rc != 0)
		return rc;
	w->index = index;
	w->lcore_id = lcore_id;
	w->socket_id = (int)rte_lcore_to_socket_id(lcore_id);
	w->pool = pool;
	w->port_id = port_id;
	w->queue_id = (uint16_t)index;
	w->tx_offloads = tx_offloads;
	w->rx_intr = rx_intr;
	w->idle_spin_max_ns = (uint64_t)cfg->idle_spin_max_us * 1000;
	w->ip = cfg->ip;
	w->cfg = cfg;
	w->nif.mac = *mac;
	w->nif.mtu = cfg->mtu;
	w->nif.pool = pool;
	w->nif.tx = dp_worker_tx;
	w->nif.tx_ctx = w;
	w->nif.tx_ip_cksum_offload = (tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
	/* Slots for the largest backlog; the cap follows the send pool (set_tx_pool). */
	if (net_txq_init(&w->txq, DP_TXQ_MAX) != 0)
		return -ENOMEM;
	net_txq_set_cap(&w->txq, pool != NULL ? pool->size / 8 : 0);
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "dp_arp_w%u", index);
	w->arp_ring = rte_ring_create_elem(name, sizeof(struct dp__arp_msg), DP__ARP_RING_SIZE,
					   w->socket_id, RING_F_SC_DEQ);
	if (w->arp_ring == NULL)
		return -ENOMEM;
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return 0;
}

void dp_worker_set_tx_pool(struct dp_worker *w, struct rte_mempool *tx_pool)
{
	w->tx_pool = tx_pool;
	if (tx_pool != NULL)
		net_txq_set_cap(&w->txq, tx_pool->size / 8);
}

/* Runs on the worker that learnt the binding: offer it to every other worker. A full ring
 * only delays that worker, which then resolves by itself. */
static void dp__arp_learnt(void *ctx, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct dp_worker *w = ctx;
	struct dp__arp_msg msg = { .ip = ip, .mac = *mac };
	for (unsigned i = 0; i < w->n_peers; i++) {
		struct dp_worker *p = &w->peers[i];
		if (p == w)
			continue;
		if (rte_ring_mp_enqueue_elem(p->arp_ring, &msg, sizeof(msg)) == 0)
			w->cnt.arp_shared_out++;
		else
			w->cnt.arp_share_drops++;
	}
}

static void dp__arp_drain(struct dp_worker *w)
{
	struct dp__arp_msg msgs[8];
	unsigned n = rte_ring_sc_dequeue_burst_elem(w->arp_ring, msgs, sizeof(msgs[0]),
						    RTE_DIM(msgs), NULL);
	for (unsigned i = 0; i < n; i++)
		net_arp_add(&w->nif, msgs[i].ip, &msgs[i].mac);
	w->cnt.arp_shared_in += n;
}

void dp_worker_set_peers(struct dp_worker *workers, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		workers[i].peers = workers;
		workers[i].n_peers = n;
		if (n > 1) {
			workers[i].nif.arp_learnt = dp__arp_learnt;
			workers[i].nif.arp_learnt_ctx = &workers[i];
		}
	}
}

void dp_worker_wire_l4(struct dp_worker *w)
{
	w->nif.l4_input = w->l4.input;
	w->nif.l4_ctx = w->l4.ctx;
}

/* The port's TX, counted (the backlog's and the buffer's sends alike). */
static uint16_t dp__tx_counted(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_worker *w = ctx;
	uint16_t sent = dp_io_tx(w, pkts, n);
	w->cnt.tx_flushes++;
	w->cnt.tx_pkts += sent;
	return sent;
}

/* Send from the backlog's head until it is empty or the ring refuses. */
static void dp__txq_drain(struct dp_worker *w)
{
	if (net_txq_drain(&w->txq, dp__tx_counted, w, DP_BURST) == 0 &&
	    w->now_ns - w->link_checked_ns >= DP_LINK_CHECK_NS) {
		/* Nothing taken: a busy queue, or a link that went down (a memif peer that
		 * left). A down link loses frames anyway; keeping them would hold mbufs and
		 * keep the worker spinning on a dead port until it comes back. */
		w->link_checked_ns = w->now_ns;
		struct rte_eth_link link;
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(w->port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_DOWN)
			w->cnt.tx_drops += net_txq_drop_all(&w->txq);
	}
}

void dp_worker_flush(struct dp_worker *w)
{
	if (w->txq.len > 0)
		dp__txq_drain(w);
	uint16_t n = w->tx_n;
	if (n == 0)
		return;
	uint16_t sent = 0;
	if (w->txq.len == 0) /* else the new frames queue behind the backlog (order) */
		sent = dp__tx_counted(w, w->tx_buf, n);
	/* A full TX ring: the link is busy for now. Keep what it refused (bounded) rather than
	 * drop it like l2fwd, which would leave each TCP flow to a retransmission timeout. */
	uint32_t dropped = net_txq_keep(&w->txq, w->tx_buf + sent, (uint16_t)(n - sent));
	w->cnt.tx_backlogged += (uint64_t)(n - sent) - dropped;
	w->cnt.tx_drops += dropped;
	w->tx_n = 0;
}

int dp_worker_tx(void *arg, struct rte_mbuf *m)
{
	struct dp_worker *w = arg;
	if (w->txq.len > 0 && net_txq_full(&w->txq, w->tx_n)) {
		/* The link is congested and the backlog full: refuse, so that TCP keeps the
		 * data and tries again next poll instead of losing the frame to a drop (which
		 * would cost the connection a retransmission timeout). */
		rte_pktmbuf_free(m);
		w->cnt.tx_refused++;
		return -EBUSY;
	}
	if (w->tx_n == 0)
		w->tx_first_ns = w->now_ns;
	w->tx_buf[w->tx_n++] = m;
	if (w->tx_n == DP_BURST)
		dp_worker_flush(w);
	return 0;
}

void dp_worker_stop(struct dp_worker *w)
{
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
}

void dp_worker_counters_snapshot(const struct dp_worker *w, struct dp_worker_counters *out)
{
	const uint64_t *src = (const uint64_t *)&w->cnt;
	uint64_t *dst = (uint64_t *)out;
	for (unsigned i = 0; i < dp_worker_counter_count; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void dp_worker_fini(struct dp_worker *w)
{
	for (uint16_t i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx_buf[i]);
	w->tx_n = 0;
	net_txq_fini(&w->txq);
	if (w->arp_ring != NULL)
		dp__arp_drain(w);
	net_if_fini(&w->nif);
	rte_ring_free(w->arp_ring);
	w->arp_ring = NULL;
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	w->wake_fd = -1;
	/* MQTT first: it must not outlive the TCP stack it sends on. */
	dp_mqtt_destroy(w->mqtt);
	w->mqtt = NULL;
	w->app_poll = NULL;
	if (w->l4.destroy != NULL)
		w->l4.destroy(w->l4.ctx);
	memset(&w->l4, 0, sizeof(w->l4));
	w->nif.l4_input = NULL;
	w->nif.l4_ctx = NULL;
}

/*
 * Idle wake-up sources, chosen per worker on its own thread at start:
 *  - DP__WAKE_QUEUE_FD: the PMD has no real rx interrupt (rx_intr_enable answers -ENOTSUP)
 *    but its queue "interrupt" fd is the data fd itself (net_tap: the tun queue fd). We
 *    poll it with our own level-triggered epoll: readable exactly while frames wait, so a
 *    frame that arrived before we slept wakes us at once. (DPDK's own per-thread epoll uses
 *    EPOLLET; on a tun fd that lost wake-ups here and cost ~10 ms RTTs.)
 *  - DP__WAKE_RTE_EPOLL: a real rx interrupt (an eventfd from VFIO). DPDK's protocol, as in
 *    l3fwd-power: enable the queue interrupt, poll once more (a frame may have slipped in),
 *    sleep in rte_epoll_wait, disable.
 *  - DP__WAKE_SLEEP: neither works: usleep(DP_SLEEP_US) per empty poll.
 */
enum dp__wake { DP__WAKE_SLEEP = 0, DP__WAKE_QUEUE_FD, DP__WAKE_RTE_EPOLL };
enum { DP__EV_QUEUE = 1, DP__EV_WAKE = 2 }; /* DP__WAKE_QUEUE_FD: epoll_event.data.u32 */

struct dp__idle {
	enum dp__wake mode;
	int epfd;                     /* DP__WAKE_QUEUE_FD: our epoll instance */
	bool can_kick;                /* DP__WAKE_QUEUE_FD: kick_sig has a handler (net_tap's) */
	int kick_sig;                 /* the signal the queue fd raises (F_GETSIG) */
	bool queue_woke;              /* the last sleep ended with the queue fd readable */
	uint64_t rx_at_wake;          /* cnt.rx_pkts then */
	bool wake_reg;                /* DP__WAKE_RTE_EPOLL: wake_fd is in the per-thread epoll */
	struct rte_epoll_event wake_ev; /* its registration (DPDK keeps a pointer to it) */
};

static const char *dp__wake_name(enum dp__wake m)
{
	switch (m) {
	case DP__WAKE_QUEUE_FD: return "queue fd epoll";
	case DP__WAKE_RTE_EPOLL: return "rx interrupt";
	default: return "sleep";
	}
}

static void dp__idle_setup(struct dp_worker *w, struct dp__idle *idl)
{
	memset(idl, 0, sizeof(*idl));
	idl->mode = DP__WAKE_SLEEP;
	idl->epfd = -1;
	idl->wake_reg = false;
	if (!w->rx_intr)
		return;
	int rc = rte_eth_dev_rx_intr_enable(w->port_id, w->queue_id);
	if (rc == 0) {
		rte_eth_dev_rx_intr_disable(w->port_id, w->queue_id);
		rc = rte_eth_dev_rx_intr_ctl_q(w->port_id, w->queue_id, RTE_EPOLL_PER_THREAD,
					       RTE_INTR_EVENT_ADD, NULL);
		if (rc != 0)
			return;
		idl->mode = DP__WAKE_RTE_EPOLL;
		/* Other workers' knocks (dp_worker_wake) wake this sleep too: the eventfd joins
		 * DPDK's per-thread epoll, level-triggered (read back after each wake-up). */
		if (w->wake_fd >= 0) {
			memset(&idl->wake_ev, 0, sizeof(idl->wake_ev));
			idl->wake_ev.epdata.event = EPOLLIN;
			if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, w->wake_fd,
					  &idl->wake_ev) == 0)
				idl->wake_reg = true;
			else
				TLOG_NOTICE("worker", "worker %u: cannot add the wake-up eventfd to the "
					    "rx interrupt epoll: other workers' messages wait up to "
					    "%d ms", w->index, DP_MAX_SLEEP_MS);
		}
		return;
	}
	int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(w->port_id, w->queue_id);
	if (fd < 0)
		return;
	idl->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = DP__EV_QUEUE };
	if (idl->epfd < 0 || epoll_ctl(idl->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		TLOG_NOTICE("worker", "worker %u: cannot epoll the queue fd (%s): sleeping instead",
			    w->index, strerror(errno));
		if (idl->epfd >= 0)
			close(idl->epfd);
		idl->epfd = -1;
		return;
	}
	idl->mode = DP__WAKE_QUEUE_FD;
	/* The signal the fd raises (F_SETSIG; 0 is SIGIO): DPDK 22.11's net_tap takes a
	 * real-time one. Kick only if a handler is there to catch it. */
	int sig = fcntl(fd, F_GETSIG);
	idl->kick_sig = sig > 0 ? sig : SIGIO;
	struct sigaction sa;
	idl->can_kick = sig >= 0 && sigaction(idl->kick_sig, NULL, &sa) == 0 &&
			(sa.sa_flags & SA_SIGINFO ? sa.sa_sigaction != NULL :
			 sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
	/* Other workers post messages (fan-out, takeover) into our inbox ring and knock on
	 * this eventfd when they find us asleep (dp_worker_wake). */
	if (w->wake_fd >= 0) {
		struct epoll_event wev = { .events = EPOLLIN, .data.u32 = DP__EV_WAKE };
		epoll_ctl(idl->epfd, EPOLL_CTL_ADD, w->wake_fd, &wev);
	}
}

static void dp__idle_teardown(struct dp_worker *w, struct dp__idle *idl)
{
	if (idl->mode == DP__WAKE_RTE_EPOLL) {
		if (idl->wake_reg)
			rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, w->wake_fd, &idl->wake_ev);
		idl->wake_reg = false;
		rte_eth_dev_rx_intr_ctl_q(w->port_id, w->queue_id, RTE_EPOLL_PER_THREAD,
					  RTE_INTR_EVENT_DEL, NULL);
	}
	if (idl->epfd >= 0)
		close(idl->epfd);
	idl->epfd = -1;
}

/* net_tap reads its queue only after a signal it has not seen yet (the fd's O_ASYNC signal,
 * SIGIO or what F_SETSIG chose: the kernel raises one per frame it queues), and it takes a
 * burst that ends short for "the queue is empty": one cut short because no mbuf was free
 * marks the signal seen with frames still queued. Once the tun queue is full, the kernel
 * drops new frames before signalling, so no signal comes again: the port would never
 * receive anything more (not even the ACKs that free the mbufs, nor ARP), and the fd stays
 * readable. So: woken twice in a row by a readable queue fd with no frame received in
 * between, raise the signal ourselves. */
static void dp__tap_kick(struct dp_worker *w, struct dp__idle *idl, bool queue_ready)
{
	if (queue_ready && idl->can_kick && idl->queue_woke &&
	    w->cnt.rx_pkts == idl->rx_at_wake) {
		w->cnt.rx_kicks++;
		kill(getpid(), idl->kick_sig);
	}
	idl->queue_woke = queue_ready;
	idl->rx_at_wake = w->cnt.rx_pkts;
}

void dp_idle_spin_gap(struct dp_idle_spin *s, uint64_t gap_ns, uint64_t now_ns,
		      uint64_t max_ns)
{
	uint64_t want = gap_ns + gap_ns / 4;
	if (gap_ns <= max_ns && want >= s->ns) {
		s->ns = want < max_ns ? want : max_ns;
		s->needed_at = now_ns;
	} else if (gap_ns > max_ns || now_ns - s->needed_at >= DP_SPIN_DECAY_NS) {
		s->ns /= 2;
		s->needed_at = now_ns;
	}
	if (s->ns < DP_IDLE_NS)
		s->ns = DP_IDLE_NS;
}

/* Sleeps until a frame may be waiting or the next L4 deadline, at most DP_MAX_SLEEP_MS.
 * @return true when woken by the queue (frames likely), false after a timeout or a nap. */
static bool dp__idle_wait(struct dp_worker *w, struct dp__idle *idl)
{
	uint64_t timeout_ms = DP_MAX_SLEEP_MS;
	if (idl->mode == DP__WAKE_SLEEP) {
		usleep(DP_SLEEP_US);
		return false;
	}
	if (w->l4.next_deadline_ns != NULL) {
		uint64_t dl = w->l4.next_deadline_ns(w->l4.ctx);
		uint64_t now = dp_clock_ns();
		if (dl <= now)
			return false;
		/* Round down: waking early costs a loop iteration, waking late delays a timer. */
		uint64_t ms = (dl - now) / 1000000;
		if (ms < timeout_ms)
			timeout_ms = ms;
		if (timeout_ms == 0) {
			/* Under a millisecond to go: a short sleep keeps the CPU cool and the timer
			 * within ~0.1 ms. */
			usleep(DP_SLEEP_US);
			return false;
		}
	}
	w->cnt.sleeps++;
	int n;
	if (idl->mode == DP__WAKE_QUEUE_FD) {
		/* Dekker with dp_worker_wake(): announce the sleep, then look at the inbox
		 * once more; a poster enqueues, then looks at the flag. One of us sees the other. */
		__atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
		if (w->app_busy != NULL && w->app_busy(w->app_ctx)) {
			__atomic_store_n(&w->sleeping, false, __ATOMIC_SEQ_CST);
			return true;
		}
		struct epoll_event evs[2];
		n = epoll_wait(idl->epfd, evs, 2, (int)timeout_ms);
		__atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
		bool queue_ready = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == DP__EV_QUEUE) {
				queue_ready = true;
			} else if (w->wake_fd >= 0) {
				uint64_t v;
				ssize_t r = read(w->wake_fd, &v, sizeof(v)); /* non-blocking: clears it */
				(void)r;
			}
		}
		dp__tap_kick(w, idl, queue_ready);
	} else {
		rte_eth_dev_rx_intr_enable(w->port_id, w->queue_id);
		/* A frame that arrived between the last poll and the enable raised no interrupt. */
		if (rte_eth_rx_queue_count(w->port_id, w->queue_id) > 0) {
			rte_eth_dev_rx_intr_disable(w->port_id, w->queue_id);
			return true;
		}
		if (idl->wake_reg) {
			/* The same Dekker handshake with dp_worker_wake() as above. */
			__atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
			if (w->app_busy != NULL && w->app_busy(w->app_ctx)) {
				__atomic_store_n(&w->sleeping, false, __ATOMIC_SEQ_CST);
				rte_eth_dev_rx_intr_disable(w->port_id, w->queue_id);
				return true;
			}
		}
		struct rte_epoll_event ev[4];
		n = rte_epoll_wait_interruptible(RTE_EPOLL_PER_THREAD, ev, RTE_DIM(ev),
						 (int)timeout_ms);
		__atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
		rte_eth_dev_rx_intr_disable(w->port_id, w->queue_id);
		for (int i = 0; i < n; i++) {
			if (idl->wake_reg && ev[i].fd == w->wake_fd) {
				uint64_t v;
				ssize_t r = read(w->wake_fd, &v, sizeof(v));
				(void)r;
			}
		}
	}
	if (n > 0)
		w->cnt.wakeups_rx++;
	return n > 0;
}

void dp_worker_wake(struct dp_worker *w)
{
	if (w->wake_fd >= 0 && __atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ssize_t r = write(w->wake_fd, &one, sizeof(one));
		(void)r;
	}
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct rte_mbuf *pkts[DP_BURST];
	struct dp__idle idl;
	uint64_t idle_since = 0;   /* 0 = busy */
	uint64_t next_housekeep = 0;

	dp__idle_setup(w, &idl);
	w->idle_backoff = dp__wake_name(idl.mode);
	int sched_fd = thread_sched_open(); /* what other tasks take from us (cnt.preempted) */
	uint64_t cpu_wait_ns = 0;
	TLOG_INFO("worker", "worker %u on lcore %u: port %u queue %u, idle backoff: %s",
		  w->index, w->lcore_id, w->port_id, w->queue_id, dp__wake_name(idl.mode));
	/* The broker reads RCU structures (topic tree, session registry): this thread is a
	 * QSBR reader, online except while it sleeps, quiescent once per iteration. */
	rcu_register_thread();
	__atomic_store_n(&w->running, true, __ATOMIC_RELEASE);

	uint64_t stop_at = 0;  /* 0 = running; else when the stop linger ends */
	struct dp_idle_spin spin = { .ns = DP_IDLE_NS, .needed_at = 0 };
	for (;;) {
		uint64_t now = dp_clock_ns();
		if (stop_at == 0 && __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
			if (w->app_stop == NULL)
				break;
			w->app_stop(w->app_ctx, false);
			stop_at = now + DP_STOP_LINGER_NS;
		} else if (stop_at != 0 && now >= stop_at) {
			w->app_stop(w->app_ctx, true);
			if (w->l4.poll != NULL)
				w->l4.poll(w->l4.ctx, now);
			break;
		}
		w->now_ns = now;
		w->nif.now_ns = now;
		w->cnt.loops++;

		if (w->n_peers > 1)
			dp__arp_drain(w);
		/* Up to DP_RX_BURSTS bursts while the queue stays full: ACKs are what frees the
		 * mbufs queued for sending, and with a million connections one burst per
		 * iteration let the sending side (retries of starved connections, TCP output)
		 * outrun them. */
		uint16_t n = 0;
		for (unsigned b = 0; b < DP_RX_BURSTS; b++) {
			uint16_t got = dp_io_rx(w, pkts, DP_BURST);
			if (got == 0)
				break;
			n = (uint16_t)(n + got);
			w->cnt.rx_bursts++;
			w->cnt.rx_pkts += got;
			for (uint16_t i = 0; i < got; i++)
				net_input(&w->nif, pkts[i]);
			if (got < DP_BURST)
				break;
		}
		if (w->app_poll != NULL)
			w->app_poll(w->app_ctx, now);
		if (w->l4.poll != NULL)
			w->l4.poll(w->l4.ctx, now);
		rcu_quiescent_state();

		/* Drain on a timer, like l2fwd: a lone reply must not wait for 31 others. */
		if ((w->tx_n > 0 && (n == 0 || now - w->tx_first_ns >= DP_TX_DRAIN_NS)) ||
		    w->txq.len > 0)
			dp_worker_flush(w);

		if (now >= next_housekeep) {
			net_timer(&w->nif);
			thread_sched_read(sched_fd, &w->cnt.preempted, &cpu_wait_ns);
			w->cnt.cpu_wait_us = cpu_wait_ns / 1000;
			next_housekeep = now + DP_HOUSEKEEP_NS;
		}

		if (n > 0 && idle_since != 0)
			dp_idle_spin_gap(&spin, now - idle_since, now, w->idle_spin_max_ns);
		if (n > 0 || w->tx_n > 0 || w->txq.len > 0) {
			idle_since = 0;
			continue;
		}
		/* Spin after the last frame (the next one often follows closely), then sleep on
		 * each empty poll. A wake-up by the queue restarts the spin; a timeout does not,
		 * so an idle worker costs one poll per DP_MAX_SLEEP_MS. */
		if (idle_since == 0)
			idle_since = now;
		else if (now - idle_since >= spin.ns) {
			/* Offline while asleep: grace periods need not wait for us. */
			rcu_thread_offline();
			bool woken = dp__idle_wait(w, &idl);
			rcu_thread_online();
			if (woken) {
				uint64_t t = dp_clock_ns();
				dp_idle_spin_gap(&spin, t - idle_since, t, w->idle_spin_max_ns);
				idle_since = 0;
			}
		}
	}
	dp_worker_flush(w);
	dp__idle_teardown(w, &idl);
	if (sched_fd >= 0)
		close(sched_fd);
	rcu_unregister_thread();
	__atomic_store_n(&w->running, false, __ATOMIC_RELEASE);
	TLOG_INFO("worker", "worker %u stopped", w->index);
	return 0;
}
