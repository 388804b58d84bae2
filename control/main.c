/**
 * @file main.c
 * tachyond: the appliance's DPDK primary process. The main lcore is the control core; the
 * worker lcores run dp_worker_main.
 *
 * Lifecycle:
 *   1. configuration (conf_from_args: embedded default, -c file, --set overrides)
 *   2. SIGINT/SIGTERM blocked in every thread (they are read from a signalfd by mgmt_run)
 *   3. single-instance lock beside the management socket: a second tachyond on the same
 *      socket path stops here, before it touches the EAL or the tap
 *   4. the persistence store opened and recovered (rt_persist.c; before the EAL, so an
 *      unreadable store stops us first); EAL, one mbuf pool per worker, the port (tap:
 *      kernel side addressed and up)
 *   5. workers prepared, the transport attached (dp_l4_attach), the recovered state rebuilt
 *      in the broker, password and ACL files loaded and published to the broker
 *      (rt_auth.c), the management socket opened, workers launched; "ready" printed
 *   6. mgmt_run until SIGINT/SIGTERM or `shutdown`
 *   7. workers stopped, port closed (the tap disappears), socket removed, EAL cleaned up: 0
 *
 * Exit codes: 0 clean stop; 1 start-up failed (message on stderr says why); 2 bad command
 * line or configuration.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp_pool.h"
#include "mgmt.h"
#include "rt.h"
#include "rt_auth.h"
#include "util/log.h"

/* Large (the config alone is tens of KiB): static rather than on the stack. */
static struct rt rt__rt;

static void rt__ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = htonl(ip) };
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static uint64_t rt__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Mbuf pools, one per worker on the worker's NUMA node: a worker allocates (ARP, ICMP,
 * TCP segments) only from its own pool, so the pool cache is never contended. */
static int rt__pools(struct rt *rt, const unsigned *lcores, char *err, size_t errlen)
{
	/* Two pools per worker. Everything the send path takes, headers, references to
	 * payloads and copies of small heads, is small and held until the peer's ACK: with a
	 * million subscribers that is most of the mbufs in use, so it comes from small mbufs
	 * (DP_POOL_TX_DATA_ROOM). Received frames need the 2 KiB data room. The whole of both
	 * pools is resident from the start (the mempool writes every object's header). */
	uint32_t rx = conf_rx_mbufs(&rt->cfg);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		char name[RTE_MEMPOOL_NAMESIZE];
		int socket = (int)rte_lcore_to_socket_id(lcores[i]);
		snprintf(name, sizeof(name), "mbuf_w%u", i);
		rt->pools[i] = dp_pool_create_mbufs(name, rx, 256, RTE_MBUF_DEFAULT_BUF_SIZE,
						    socket);
		if (rt->pools[i] == NULL) {
			snprintf(err, errlen, "cannot create mbuf pool %s (%u mbufs): %s; raise "
				 "memory_mb (now %u) or lower rx_mbufs", name, rx,
				 rte_strerror(rte_errno), rt->cfg.memory_mb);
			return -1;
		}
		snprintf(name, sizeof(name), "mbuf_tx_w%u", i);
		rt->tx_pools[i] = dp_pool_create_mbufs(name, rt->cfg.mbufs, 256,
						       DP_POOL_TX_DATA_ROOM, socket);
		if (rt->tx_pools[i] == NULL) {
			snprintf(err, errlen, "cannot create mbuf pool %s (%u mbufs): %s; raise "
				 "memory_mb (now %u) or lower mbufs", name, rt->cfg.mbufs,
				 rte_strerror(rte_errno), rt->cfg.memory_mb);
			return -1;
		}
	}
	return 0;
}

static int rt__workers(struct rt *rt, const unsigned *lcores, char *err, size_t errlen)
{
	rt->workers = rte_zmalloc("dp_workers", rt->n_workers * sizeof(*rt->workers),
				  RTE_CACHE_LINE_SIZE);
	if (rt->workers == NULL) {
		snprintf(err, errlen, "out of memory for %u workers", rt->n_workers);
		return -1;
	}
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct dp_worker *w = &rt->workers[i];
		int rc = dp_worker_init(w, i, lcores[i], rt->pools[i], rt->port.port_id,
					&rt->port.mac, rt->port.tx_offloads, rt->port.rx_intr,
					&rt->cfg);
		if (rc != 0) {
			snprintf(err, errlen, "worker %u: cannot set up: %s", i, strerror(-rc));
			return -1;
		}
		dp_worker_set_tx_pool(w, rt->tx_pools[i]);
		rc = dp_l4_attach(w, &rt->cfg);
		if (rc != 0) {
			snprintf(err, errlen, "worker %u: cannot attach the transport: %s", i,
				 strerror(-rc));
			return -1;
		}
		dp_worker_wire_l4(w);
	}
	dp_worker_set_peers(rt->workers, rt->n_workers);
	return 0;
}

static void rt__stop_workers(struct rt *rt, bool launched)
{
	if (rt->workers == NULL)
		return;
	if (launched) {
		for (unsigned i = 0; i < rt->n_workers; i++)
			dp_worker_stop(&rt->workers[i]);
		rte_eal_mp_wait_lcore();
	}
	for (unsigned i = 0; i < rt->n_workers; i++)
		dp_worker_fini(&rt->workers[i]);
	rte_free(rt->workers);
	rt->workers = NULL;
}

static void rt__print_ready(const struct rt *rt)
{
	const struct tachyon_config *c = &rt->cfg;
	char ip[INET_ADDRSTRLEN], kip[INET_ADDRSTRLEN];
	rt__ip_str(c->ip, ip);
	rt__ip_str(c->tap_kernel_ip, kip);
	unsigned mqtt_port = c->n_listeners > 0 ? c->listeners[0].port : 0;
	if (rt->port.is_tap)
		printf("tachyond %s ready: MQTT on %s:%u, kernel side %s on %s, management socket "
		       "%s\n", TACHYON_VERSION, ip, mqtt_port, kip, c->tap_name, c->mgmt_socket);
	else
		printf("tachyond %s ready: MQTT on %s:%u via %s, management socket %s\n",
		       TACHYON_VERSION, ip, mqtt_port, rt->port.name, c->mgmt_socket);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct rt *rt = &rt__rt;
	char err[1024];
	int rc = conf_from_args(&rt->cfg, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "tachyond: %s\n", err);
		return 2;
	}
	tlog_set_level(rt->cfg.log_level);
	rt->n_workers = rt->cfg.workers;
	if (rt->n_workers < 1 || rt->n_workers > RT_MAX_WORKERS) {
		fprintf(stderr, "tachyond: workers must be 1..%d (is %u)\n", RT_MAX_WORKERS,
			rt->n_workers);
		return 2;
	}
	rt->start_ns = rt__mono_ns();

	/* Block before the EAL creates its threads, so every thread inherits the mask and
	 * the signals wait for the control core's signalfd. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lock_fd = mgmt_lock(rt->cfg.mgmt_socket, err, sizeof(err));
	if (lock_fd < 0) {
		fprintf(stderr, "tachyond: %s\n", err);
		return 1;
	}
	/* The store first: an unreadable one stops us before the EAL and the tap. */
	if (rt_persist_open(rt, err, sizeof(err)) != 0) {
		fprintf(stderr, "tachyond: %s\n", err);
		rt_persist_close(rt);
		mgmt_unlock(lock_fd);
		return 1;
	}
	if (dp_eal_start(&rt->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tachyond: %s\n", err);
		rt_persist_close(rt);
		mgmt_unlock(lock_fd);
		return 1;
	}

	unsigned lcores[RT_MAX_WORKERS];
	unsigned n = 0, lcore;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (n < rt->n_workers)
			lcores[n++] = lcore;
	}
	bool launched = false;
	int exit_code = 1;
	if (rt__pools(rt, lcores, err, sizeof(err)) != 0 ||
	    dp_port_open(&rt->port, &rt->cfg, rt->pools, (uint16_t)rt->n_workers, err,
			 sizeof(err)) != 0 ||
	    rt_persist_attach(rt, err, sizeof(err)) != 0 ||
	    rt__workers(rt, lcores, err, sizeof(err)) != 0 ||
	    rt_persist_restore(rt, err, sizeof(err)) != 0 ||
	    rt_auth_init(rt, err, sizeof(err)) != 0)
		goto fail;
	rt->mgmt = mgmt_open(rt->cfg.mgmt_socket, rt->cfg.mgmt_group, rt_cmds, rt, NULL, 0, err,
			     sizeof(err));
	if (rt->mgmt == NULL || rt_persist_watch(rt, err, sizeof(err)) != 0)
		goto fail;
	for (unsigned i = 0; i < rt->n_workers; i++) {
		rc = rte_eal_remote_launch(dp_worker_main, &rt->workers[i], lcores[i]);
		if (rc != 0) {
			snprintf(err, sizeof(err), "cannot launch worker %u on lcore %u: %s", i,
				 lcores[i], strerror(-rc));
			/* Those already launched are stopped below. */
			for (unsigned k = i; k < rt->n_workers; k++)
				dp_worker_stop(&rt->workers[k]);
			launched = true;
			goto fail;
		}
	}
	launched = true;
	rt__print_ready(rt);
	TLOG_NOTICE("main", "%u worker(s) running; management socket %s", rt->n_workers,
		    rt->cfg.mgmt_socket);

	int sig = mgmt_run(rt->mgmt);
	TLOG_NOTICE("main", "stopping (%s)", sig ? strsignal(sig) : "shutdown command");
	exit_code = 0;
	goto out;
fail:
	fprintf(stderr, "tachyond: %s\n", err);
out:
	rt__stop_workers(rt, launched);
	rt_persist_close(rt);       /* the workers' last records, a final snapshot */
	rt_auth_fini();
	dp_port_close(&rt->port);   /* the tap's kernel interface goes away here */
	mgmt_close(rt->mgmt);
	for (unsigned i = 0; i < rt->n_workers; i++)
	{
		rte_mempool_free(rt->pools[i]);
		rte_mempool_free(rt->tx_pools[i]);
	}
	rte_eal_cleanup();
	mgmt_unlock(lock_fd);
	if (exit_code == 0)
		TLOG_NOTICE("main", "stopped");
	return exit_code;
}
