/**
 * @file dp_eal.c
 * EAL start-up from the config (see dp_port.h): assembles the argument list, checks the
 * usual causes of failure beforehand so the operator reads a reason rather than an EAL trace,
 * runs rte_eal_init and checks the lcores it got.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "conf/conf.h"
#include "dp_port.h"
#include "dp_worker.h"

#define DP__MAX_ARGS 64

/* Storage for argv: rte_eal_init may permute argv, so the strings live in our buffer. */
struct dp__args {
	int argc;
	char *argv[DP__MAX_ARGS + 1];
	char store[4096];
	size_t used;
	bool overflow;
};

static void dp__arg(struct dp__args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dp__arg(struct dp__args *a, const char *fmt, ...)
{
	if (a->argc >= DP__MAX_ARGS || a->used >= sizeof(a->store)) {
		a->overflow = true;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof(a->store) - a->used;
	int n = vsnprintf(a->store + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = true;
		return;
	}
	a->argv[a->argc++] = a->store + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
}

/* Maps tachyon's log_level (0 error .. 4 debug) to DPDK's (4 err .. 8 debug). Notice maps to
 * DPDK's warning: DPDK's notice/info lines are start-up chatter an operator rarely needs. */
static int dp__rte_log_level(int level)
{
	static const int map[] = { 4, 5, 5, 7, 8 };
	if (level < 0)
		level = 0;
	if (level > 4)
		level = 4;
	return map[level];
}

/* Default core layout: lcore i on the i-th CPU we may run on. With more lcores than CPUs
 * (a 2-CPU box with 2 workers) lcores share CPUs, which the idle backoff makes bearable. */
static void dp__default_lcores(struct dp__args *a, unsigned n_lcores)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE];
	int ncpu = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpu++] = c;
	}
	if (ncpu == 0)
		cpus[ncpu++] = 0;
	char list[512];
	size_t off = 0;
	for (unsigned i = 0; i < n_lcores && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%u@%d", i ? "," : "", i,
					cpus[i % (unsigned)ncpu]);
	dp__arg(a, "--lcores=%s", list);
}

static void dp__build(const struct tachyon_config *cfg, struct dp__args *a)
{
	memset(a, 0, sizeof(*a));
	dp__arg(a, "tachyond");
	if (cfg->cores[0] != '\0') {
		dp__arg(a, "-l");
		dp__arg(a, "%s", cfg->cores);
	} else {
		dp__default_lcores(a, cfg->workers + 1);
	}
	dp__arg(a, "-m");
	dp__arg(a, "%u", cfg->memory_mb);
	if (cfg->no_huge)
		dp__arg(a, "--no-huge");
	dp__arg(a, "--file-prefix=%s", cfg->file_prefix);
	dp__arg(a, "--log-level=%d", dp__rte_log_level(cfg->log_level));
	if (cfg->pci_device[0] != '\0') {
		dp__arg(a, "-a");
		dp__arg(a, "%s", cfg->pci_device);
	} else if (cfg->memif_socket[0] != '\0') {
		/* DPDK 22.11 puts the socket in the abstract namespace by default: nothing is
		 * left on the file system when a process dies. */
		dp__arg(a, "--no-pci");
		dp__arg(a, "--vdev=%s,role=%s,socket=%s", DP_MEMIF_VDEV,
			cfg->memif_role == CONF_MEMIF_CLIENT ? "client" : "server",
			cfg->memif_socket);
	} else {
		dp__arg(a, "--no-pci");
		dp__arg(a, "--vdev=%s,iface=%s", DP_TAP_VDEV, cfg->tap_name);
	}
	/* Extra arguments last, so an operator's setting overrides ours. */
	char extra[sizeof(cfg->eal_args)];
	snprintf(extra, sizeof(extra), "%s", cfg->eal_args);
	char *save = NULL;
	for (char *tok = strtok_r(extra, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save))
		dp__arg(a, "%s", tok);
}

int dp_eal_args_string(const struct tachyon_config *cfg, char *buf, size_t len)
{
	struct dp__args a;
	dp__build(cfg, &a);
	size_t off = 0;
	if (len == 0)
		return -1;
	buf[0] = '\0';
	for (int i = 0; i < a.argc; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", a.argv[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return a.overflow ? -1 : 0;
}

/* Checks an explicit core list before the EAL sees it: the EAL answers a bad one with its
 * whole usage text, and the operator should rather read which CPU is wrong. Accepts the
 * `-l` syntax: comma-separated CPUs and ranges ("0-3,8"). */
static int dp__check_cores(const struct tachyon_config *cfg, char *err, size_t errlen)
{
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return 0; /* cannot tell: let the EAL judge */
	unsigned count = 0;
	const char *p = cfg->cores;
	while (*p != '\0') {
		char *end;
		errno = 0;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p || errno != 0)
			goto syntax;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || errno != 0 || hi < lo)
				goto syntax;
		}
		for (unsigned long c = lo; c <= hi; c++) {
			if (c >= CPU_SETSIZE || !CPU_ISSET(c, &allowed)) {
				snprintf(err, errlen, "cores '%s': CPU %lu is not available to this "
					 "process (see `taskset -cp $$` or nproc)", cfg->cores, c);
				return -1;
			}
			count++;
		}
		if (*end == ',')
			end++;
		else if (*end != '\0')
			goto syntax;
		p = end;
	}
	if (count < cfg->workers + 1) {
		snprintf(err, errlen, "cores '%s' gives %u lcore(s), but the main lcore and %u "
			 "worker(s) need %u", cfg->cores, count, cfg->workers, cfg->workers + 1);
		return -1;
	}
	return 0;
syntax:
	snprintf(err, errlen, "cores '%s' is not a core list (examples: 0-2, 0,2,4)",
		 cfg->cores);
	return -1;
}

int dp_eal_start(const struct tachyon_config *cfg, char *err, size_t errlen)
{
	struct dp__args a;
	dp__build(cfg, &a);
	if (a.overflow) {
		snprintf(err, errlen, "too many EAL arguments (eal_args is too long)");
		return -1;
	}
	if (cfg->cores[0] != '\0' && dp__check_cores(cfg, err, errlen) != 0)
		return -1;
	if (conf_port_is_tap(cfg)) {
		/* The tap port needs /dev/net/tun and CAP_NET_ADMIN; EAL would only say that the
		 * vdev failed to probe. */
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open /dev/net/tun (%s): the embedded default's "
				 "net_tap port needs root and the tun driver (modprobe tun)",
				 strerror(errno));
			return -1;
		}
		close(fd);
		if (geteuid() != 0) {
			snprintf(err, errlen, "tachyond must run as root to create the tap "
				 "interface %s and give it an address", cfg->tap_name);
			return -1;
		}
	}
	if (rte_eal_init(a.argc, a.argv) < 0) {
		int e = rte_errno;
		char args[1024];
		dp_eal_args_string(cfg, args, sizeof(args));
		snprintf(err, errlen, "DPDK EAL failed to start (%s). Check the core list "
			 "(cores '%s'), memory_mb %u, hugepages (no_huge %s), eal_args and that "
			 "tachyond runs as root. EAL arguments: %s",
			 rte_strerror(e), cfg->cores[0] ? cfg->cores : "(default)", cfg->memory_mb,
			 cfg->no_huge ? "true" : "false", args);
		return -1;
	}
	dp_clock_init();
	unsigned workers = rte_lcore_count() - 1;
	if (workers < cfg->workers) {
		snprintf(err, errlen, "the core list gives %u worker lcore(s) besides the main one, "
			 "but workers is %u: list %u cores in 'cores'", workers, cfg->workers,
			 cfg->workers + 1);
		rte_eal_cleanup();
		return -1;
	}
	return 0;
}
