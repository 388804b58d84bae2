/**
 * @file lg_main.c
 * tachyon-loadgen's main program (see lg.h): options, the EAL (its own, one lcore,
 * --no-huge, its own --file-prefix) with a net_memif client port or a net_tap port, the
 * polling loop (rx burst -> net_input -> tcp_input -> clients; tcp_poll -> tx burst), the
 * run's phases, and the report as a table or JSON.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "lg.h"
#include "util/thread_sched.h"

#define LG__BURST 64
#define LG__QUIET_NS (250ull * 1000000)        /* see lg__run, step 5 */
#define LG__QUIET_MAX_NS (15ull * 1000000000)
#define LG__VDEV_MEMIF "net_memif0"
#define LG__VDEV_TAP "net_tap0"

static volatile sig_atomic_t lg__stop;

static void lg__on_signal(int sig)
{
	(void)sig;
	lg__stop = 1;
}

/* ---- options --------------------------------------------------------------------------- */

static void lg__usage(FILE *f)
{
	fprintf(f,
"usage: tachyon-loadgen (--memif SOCKET | --tap IFNAME) --target IP[:PORT] [options]\n"
"Many MQTT clients on the project's own TCP/IP stack, one lcore, polling.\n"
"\n"
"port and addresses:\n"
"  --memif PATH          net_memif client on this socket (tachyond: memif_socket PATH)\n"
"  --memif-rsize L       memif rings of 2^L slots (default 11; the client sets them)\n"
"  --tap NAME            a net_tap port NAME (drive a kernel-socket broker, e.g. mosquitto)\n"
"  --tap-kernel-ip IP    give the tap's kernel side this address (same prefix as --src)\n"
"  --src IP/LEN          first source address and prefix (default 10.77.0.10/24)\n"
"  --src-count K         use K consecutive source addresses (K * 64,000 connections)\n"
"  --gateway IP          next hop for an off-subnet target (default none)\n"
"  --target IP[:PORT]    the broker (port default 1883)\n"
"  --file-prefix NAME    EAL --file-prefix (default tachyon-loadgen-<pid>)\n"
"  --memory-mb MB        EAL -m (default 512)    --mbufs N  mbuf pool (default 32767)\n"
"  --eal-args 'ARGS'     more EAL arguments\n"
"  --cpu N               run on CPU N (default: the least busy over 100 ms of those no\n"
"                        DPDK worker thread, e.g. tachyond's, is pinned to)\n"
"scenario:\n"
"  --scenario S          fanout (default) | fanin | p2p | shared | connections\n"
"     fanout       -P publishers on T, -S subscribers on T (each gets every message)\n"
"     fanin        -N publishers on T/<i>, one subscriber on T/+\n"
"     p2p          -N pairs: publisher i on T/<i>, subscriber i on T/<i>\n"
"     shared       -N publishers on T/<i>, -S subscribers (default 2) in one shared\n"
"                  subscription $share/<group>/T/+ (each message to one member; loss and\n"
"                  duplicates counted over the group)\n"
"     connections  -N idle clients, PINGREQ every keepalive/2\n"
"  -P N  publishers (fanout, default 1)     -S N  subscribers (fanout default 100)\n"
"  -N N  clients, publishers or pairs (see above; default 100)\n"
"  -V 4|5  MQTT version (default 4 = 3.1.1)  -q 0|1|2  QoS (default 0; 2: the full\n"
"        PUBREC/PUBREL/PUBCOMP flow both ways, a duplicate fails the run)\n"
"  --payload BYTES       at least 16 (default 64)\n"
"  --topic T             (default tachyon/loadgen/<pid>)\n"
"  --share-group NAME    the shared subscription's group (default lg)\n"
"  --rate R              publishes/s over all publishers (default 0: as fast as the window)\n"
"  --inflight W          per publisher: messages not yet at every subscriber (and at\n"
"                        QoS 1 not yet acknowledged), default 4\n"
"  --duration S (default 5)  --warmup S (default 1)  --drain S (default 5)\n"
"  --connect-rate R      connections/s (default 0: unlimited)\n"
"  --connect-window W    handshakes outstanding at most (default 256)\n"
"  --connect-timeout S   (default 30)   --keepalive S (default 60)\n"
"  --delayed-ack-ms MS   ACK every second segment, or after MS (default 0: every\n"
"                        segment at once)\n"
"  --drop-every K        fault injection: subscribers discard every Kth message received\n"
"  --dup-every K         fault injection: publishers send every Kth message twice (new\n"
"                        packet id), as a broker delivering twice would look\n"
"  --json                one JSON object on stdout instead of the table\n"
"  -v                    verbose\n"
"exit: 0 ok, 1 start-up failure, 2 usage, 3 a check failed (loss, duplicates, clients not\n"
"connected or dropped)\n");
}

static int lg__parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

static int lg__parse_ip_len(const char *s, uint32_t *ip, uint8_t *len)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		char *end;
		long l = strtol(slash + 1, &end, 10);
		if (*end != '\0' || l < 1 || l > 32)
			return -EINVAL;
		*len = (uint8_t)l;
	}
	return lg__parse_ip(buf, ip);
}

static int lg__parse_target(const char *s, uint32_t *ip, uint16_t *port)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *colon = strchr(buf, ':');
	if (colon != NULL) {
		*colon = '\0';
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			return -EINVAL;
		*port = (uint16_t)p;
	}
	return lg__parse_ip(buf, ip);
}

static int lg__num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "tachyon-loadgen: %s '%s': expected a number in %g..%g\n", opt, s,
			lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum {
	O_MEMIF = 256, O_TAP, O_TAP_KIP, O_SRC, O_SRC_COUNT, O_GW, O_TARGET, O_PREFIX, O_MEM,
	O_MBUFS, O_EAL, O_SCEN, O_PAYLOAD, O_TOPIC, O_RATE, O_INFL, O_DUR, O_WARM, O_DRAIN,
	O_CRATE, O_CWIN, O_CTMO, O_KA, O_DROP, O_JSON, O_RSIZE, O_DUP, O_GROUP, O_CPU,
	O_DACK,
};

static int lg__parse(int argc, char **argv, struct lg_opts *o)
{
	static const struct option lopts[] = {
		{ "memif", 1, NULL, O_MEMIF }, { "tap", 1, NULL, O_TAP },
		{ "tap-kernel-ip", 1, NULL, O_TAP_KIP }, { "src", 1, NULL, O_SRC },
		{ "src-count", 1, NULL, O_SRC_COUNT }, { "gateway", 1, NULL, O_GW },
		{ "target", 1, NULL, O_TARGET }, { "file-prefix", 1, NULL, O_PREFIX },
		{ "memory-mb", 1, NULL, O_MEM }, { "mbufs", 1, NULL, O_MBUFS },
		{ "eal-args", 1, NULL, O_EAL }, { "scenario", 1, NULL, O_SCEN },
		{ "payload", 1, NULL, O_PAYLOAD }, { "topic", 1, NULL, O_TOPIC },
		{ "rate", 1, NULL, O_RATE }, { "inflight", 1, NULL, O_INFL },
		{ "duration", 1, NULL, O_DUR }, { "warmup", 1, NULL, O_WARM },
		{ "drain", 1, NULL, O_DRAIN }, { "connect-rate", 1, NULL, O_CRATE },
		{ "connect-window", 1, NULL, O_CWIN }, { "connect-timeout", 1, NULL, O_CTMO },
		{ "keepalive", 1, NULL, O_KA }, { "drop-every", 1, NULL, O_DROP },
		{ "memif-rsize", 1, NULL, O_RSIZE }, { "json", 0, NULL, O_JSON },
		{ "dup-every", 1, NULL, O_DUP }, { "share-group", 1, NULL, O_GROUP },
		{ "cpu", 1, NULL, O_CPU }, { "delayed-ack-ms", 1, NULL, O_DACK },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->pubs = 1;
	o->subs = 100;
	o->conns = 100;
	o->version = 4;
	o->payload = 64;
	o->inflight = 4;
	o->duration_s = 5;
	o->warmup_s = 1;
	o->drain_s = 5;
	o->connect_window = 256;
	o->connect_timeout_s = 30;
	o->keepalive = 60;
	o->n_src = 1;
	o->prefix_len = 24;
	o->dst_port = 1883;
	o->memif_rsize = 11; /* 2048: longer rings only add queueing delay (spurious RTOs) */
	o->memory_mb = 512;
	o->mbufs = 32767;
	o->cpu = -1;
	snprintf(o->file_prefix, sizeof(o->file_prefix), "tachyon-loadgen-%d", (int)getpid());
	snprintf(o->share_group, sizeof(o->share_group), "lg");
	lg__parse_ip("10.77.0.10", &o->src_ip);
	bool have_target = false, topic_set = false;
	int ch;
	double v;
	while ((ch = getopt_long(argc, argv, "P:S:N:V:q:vh", lopts, NULL)) != -1) {
		switch (ch) {
		case O_MEMIF:
			snprintf(o->memif, sizeof(o->memif), "%s", optarg);
			break;
		case O_TAP:
			snprintf(o->tap, sizeof(o->tap), "%s", optarg);
			break;
		case O_TAP_KIP:
			if (lg__parse_ip(optarg, &o->tap_kernel_ip) != 0)
				goto bad;
			break;
		case O_SRC:
			if (lg__parse_ip_len(optarg, &o->src_ip, &o->prefix_len) != 0)
				goto bad;
			break;
		case O_SRC_COUNT:
			if (lg__num("--src-count", optarg, 1, 4096, &v) != 0)
				return -EINVAL;
			o->n_src = (unsigned)v;
			break;
		case O_GW:
			if (lg__parse_ip(optarg, &o->gateway) != 0)
				goto bad;
			break;
		case O_TARGET:
			if (lg__parse_target(optarg, &o->dst_ip, &o->dst_port) != 0)
				goto bad;
			have_target = true;
			break;
		case O_PREFIX:
			snprintf(o->file_prefix, sizeof(o->file_prefix), "%s", optarg);
			break;
		case O_MEM:
			if (lg__num("--memory-mb", optarg, 16, 1 << 20, &v) != 0)
				return -EINVAL;
			o->memory_mb = (unsigned)v;
			break;
		case O_MBUFS:
			if (lg__num("--mbufs", optarg, 1023, 1 << 24, &v) != 0)
				return -EINVAL;
			o->mbufs = (unsigned)v;
			break;
		case O_EAL:
			snprintf(o->eal_args, sizeof(o->eal_args), "%s", optarg);
			break;
		case O_SCEN:
			if (strcmp(optarg, "fanout") == 0)
				o->scenario = LG_FANOUT;
			else if (strcmp(optarg, "fanin") == 0)
				o->scenario = LG_FANIN;
			else if (strcmp(optarg, "connections") == 0)
				o->scenario = LG_CONNECTIONS;
			else if (strcmp(optarg, "p2p") == 0)
				o->scenario = LG_P2P;
			else if (strcmp(optarg, "shared") == 0)
				o->scenario = LG_SHARED;
			else
				goto bad;
			break;
		case 'P':
			if (lg__num("-P", optarg, 1, 1e6, &v) != 0)
				return -EINVAL;
			o->pubs = (unsigned)v;
			break;
		case 'S':
			if (lg__num("-S", optarg, 1, 1e7, &v) != 0)
				return -EINVAL;
			o->subs = (unsigned)v;
			o->subs_set = true;
			break;
		case 'N':
			if (lg__num("-N", optarg, 1, 1e7, &v) != 0)
				return -EINVAL;
			o->conns = (unsigned)v;
			break;
		case 'V':
			if (strcmp(optarg, "4") != 0 && strcmp(optarg, "5") != 0)
				goto bad;
			o->version = (uint8_t)atoi(optarg);
			break;
		case 'q':
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0 &&
			    strcmp(optarg, "2") != 0)
				goto bad;
			o->qos = (uint8_t)atoi(optarg);
			break;
		case O_PAYLOAD:
			if (lg__num("--payload", optarg, LG_PAYLOAD_MIN, 1 << 20, &v) != 0)
				return -EINVAL;
			o->payload = (uint32_t)v;
			break;
		case O_TOPIC:
			snprintf(o->topic, sizeof(o->topic), "%s", optarg);
			topic_set = true;
			break;
		case O_RATE:
			if (lg__num("--rate", optarg, 0, 1e9, &o->rate) != 0)
				return -EINVAL;
			break;
		case O_INFL:
			if (lg__num("--inflight", optarg, 1, 65535, &v) != 0)
				return -EINVAL;
			o->inflight = (unsigned)v;
			break;
		case O_DACK:
			if (lg__num("--delayed-ack-ms", optarg, 0, 500, &v) != 0)
				return -EINVAL;
			o->delayed_ack_ms = (unsigned)v;
			break;
		case O_DUR:
			if (lg__num("--duration", optarg, 0, 1e6, &o->duration_s) != 0)
				return -EINVAL;
			break;
		case O_WARM:
			if (lg__num("--warmup", optarg, 0, 1e6, &o->warmup_s) != 0)
				return -EINVAL;
			break;
		case O_DRAIN:
			if (lg__num("--drain", optarg, 0, 1e6, &o->drain_s) != 0)
				return -EINVAL;
			break;
		case O_CRATE:
			if (lg__num("--connect-rate", optarg, 0, 1e9, &o->connect_rate) != 0)
				return -EINVAL;
			break;
		case O_CWIN:
			if (lg__num("--connect-window", optarg, 1, 1e7, &v) != 0)
				return -EINVAL;
			o->connect_window = (unsigned)v;
			break;
		case O_CTMO:
			if (lg__num("--connect-timeout", optarg, 0.1, 1e6, &o->connect_timeout_s) != 0)
				return -EINVAL;
			break;
		case O_KA:
			if (lg__num("--keepalive", optarg, 0, 65535, &v) != 0)
				return -EINVAL;
			o->keepalive = (uint16_t)v;
			break;
		case O_DROP:
			if (lg__num("--drop-every", optarg, 1, 1e9, &v) != 0)
				return -EINVAL;
			o->drop_every = (unsigned)v;
			break;
		case O_DUP:
			if (lg__num("--dup-every", optarg, 1, 1e9, &v) != 0)
				return -EINVAL;
			o->dup_every = (unsigned)v;
			break;
		case O_GROUP:
			if (optarg[0] == '\0' || strpbrk(optarg, "/+#") != NULL ||
			    strlen(optarg) >= sizeof(o->share_group))
				goto bad;
			snprintf(o->share_group, sizeof(o->share_group), "%s", optarg);
			break;
		case O_RSIZE:
			if (lg__num("--memif-rsize", optarg, 1, 14, &v) != 0)
				return -EINVAL;
			o->memif_rsize = (unsigned)v;
			break;
		case O_CPU:
			if (lg__num("--cpu", optarg, 0, CPU_SETSIZE - 1, &v) != 0)
				return -EINVAL;
			o->cpu = (int)v;
			break;
		case O_JSON:
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			lg__usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (!topic_set) /* runs side by side on one broker must not hear each other */
		snprintf(o->topic, sizeof(o->topic), "tachyon/loadgen/%d", (int)getpid());
	if (optind != argc || !have_target || (o->memif[0] == '\0') == (o->tap[0] == '\0')) {
		fprintf(stderr, "tachyon-loadgen: need exactly one of --memif/--tap, and "
			"--target\n");
		lg__usage(stderr);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "tachyon-loadgen: bad option or value%s%s\n", optarg ? ": " : "",
		optarg ? optarg : "");
	lg__usage(stderr);
	return -EINVAL;
}

/* ---- EAL and port ---------------------------------------------------------------------- */

/* Busy jiffies (all but idle and iowait) of each CPU from /proc/stat into @p busy.
 * @return 0, or -1. */
static int lg__cpu_busy(uint64_t *busy, unsigned n)
{
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return -1;
	char line[512];
	for (unsigned i = 0; i < n; i++)
		busy[i] = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned cpu;
		unsigned long long v[8] = { 0 };
		if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5 || cpu >= n)
			continue;
		busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* v[3] idle, v[4] iowait */
	}
	fclose(f);
	return 0;
}

/* Into @p set: the CPUs that other processes' DPDK worker threads ("rte-worker-N", such
 * as tachyond's) are pinned to. An idle tachyond worker sleeps, so /proc/stat alone shows
 * its CPU free until traffic starts. */
static void lg__dpdk_worker_cpus(cpu_set_t *set)
{
	CPU_ZERO(set);
	DIR *procs = opendir("/proc");
	if (procs == NULL)
		return;
	struct dirent *p;
	while ((p = readdir(procs)) != NULL) {
		int pid = atoi(p->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		DIR *tasks = opendir(path);
		if (tasks == NULL)
			continue;
		struct dirent *t;
		while ((t = readdir(tasks)) != NULL) {
			int tid = atoi(t->d_name);
			if (tid <= 0)
				continue;
			char comm[32] = "";
			snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
			FILE *f = fopen(path, "r");
			if (f == NULL)
				continue;
			bool worker = fgets(comm, sizeof(comm), f) != NULL &&
				      strncmp(comm, "rte-worker-", 11) == 0;
			fclose(f);
			cpu_set_t one;
			if (worker && sched_getaffinity(tid, sizeof(one), &one) == 0)
				CPU_OR(set, set, &one);
		}
		closedir(tasks);
	}
	closedir(procs);
}

/* The CPU the generator's lcore runs on: --cpu, or else the least busy CPU over 100 ms
 * among those we may run on that no DPDK worker thread is pinned to (all of them if that
 * leaves none). A polling broker worker keeps its CPU 100% busy, and a generator that
 * shares it gets half a core: that was the 1->1k row's slow mode (255k against 1.5M
 * deliveries/s, depending on where the generator happened to start). */
static int lg__pick_cpu(const struct lg_opts *o)
{
	if (o->cpu >= 0)
		return o->cpu;
	int here = sched_getcpu() >= 0 ? sched_getcpu() : 0;
	cpu_set_t allowed, polled, free_cpus;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2)
		return here;
	lg__dpdk_worker_cpus(&polled);
	CPU_ZERO(&free_cpus); /* allowed and not polled */
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed) && !CPU_ISSET(c, &polled))
			CPU_SET(c, &free_cpus);
	if (CPU_COUNT(&free_cpus) > 0)
		allowed = free_cpus;
	if (CPU_COUNT(&allowed) == 1)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				return c;
	static uint64_t a[CPU_SETSIZE], b[CPU_SETSIZE];
	if (lg__cpu_busy(a, CPU_SETSIZE) != 0)
		return here;
	usleep(100000);
	if (lg__cpu_busy(b, CPU_SETSIZE) != 0)
		return here;
	int best = here;
	uint64_t best_busy = CPU_ISSET(here, &allowed) ? b[here] - a[here] : UINT64_MAX;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed) && b[c] - a[c] < best_busy) {
			best = c;
			best_busy = b[c] - a[c];
		}
	if (o->verbose)
		fprintf(stderr, "generator lcore on CPU %d (%" PRIu64 " busy jiffies in 100 ms)\n",
			best, best_busy);
	return best;
}

static int lg__eal(const struct lg_opts *o, const char *argv0)
{
	static char store[2048];
	char *args[48];
	int argc = 0;
	size_t used = 0;
#define LG__ARG(...)                                                                  \
	do {                                                                          \
		int n_ = snprintf(store + used, sizeof(store) - used, __VA_ARGS__);   \
		if (n_ < 0 || (size_t)n_ >= sizeof(store) - used || argc >= 46)        \
			return -E2BIG;                                                \
		args[argc++] = store + used;                                          \
		used += (size_t)n_ + 1;                                               \
	} while (0)
	LG__ARG("%s", argv0);
	LG__ARG("--lcores=0@%d", o->cpu);
	LG__ARG("--no-huge");
	LG__ARG("-m");
	LG__ARG("%u", o->memory_mb);
	LG__ARG("--no-pci");
	LG__ARG("--file-prefix=%s", o->file_prefix);
	LG__ARG("--log-level=%d", o->verbose ? 7 : 5);
	if (o->memif[0] != '\0')
		/* A MAC of our own: the server side keeps the PMD's default one. */
		/* The client lays out the shared rings, so their size is ours to choose: a
		 * publish to 1,000 subscribers is 1,000 frames at once, and a ring that
		 * overflows while this process is descheduled costs retransmission timeouts. */
		LG__ARG("--vdev=%s,role=client,socket=%s,mac=02:fe:4c:47:00:01,rsize=%u",
			LG__VDEV_MEMIF, o->memif, o->memif_rsize);
	else
		LG__ARG("--vdev=%s,iface=%s", LG__VDEV_TAP, o->tap);
	char extra[sizeof(o->eal_args)];
	snprintf(extra, sizeof(extra), "%s", o->eal_args);
	char *save = NULL;
	for (char *t = strtok_r(extra, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		LG__ARG("%s", t);
#undef LG__ARG
	args[argc] = NULL;
	if (rte_eal_init(argc, args) < 0)
		return -rte_errno;
	return 0;
}

/* The tap's kernel side: address, netmask, up (as `ip addr add` + `ip link set up`). */
static int lg__tap_kernel(const struct lg_opts *o)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->tap);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int rc = 0;
	sin.sin_addr.s_addr = htonl(o->tap_kernel_ip);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0)
		rc = -errno;
	sin.sin_addr.s_addr = htonl(o->prefix_len ? ~0u << (32 - o->prefix_len) : 0);
	memcpy(&ifr.ifr_netmask, &sin, sizeof(sin));
	if (rc == 0 && ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
		rc = -errno;
	if (rc == 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int lg__port(struct lg *g)
{
	const char *name = g->o.memif[0] ? LG__VDEV_MEMIF : LG__VDEV_TAP;
	if (rte_eth_dev_get_port_by_name(name, &g->port_id) != 0) {
		fprintf(stderr, "tachyon-loadgen: port %s did not appear (see the EAL messages%s)\n",
			name, g->o.memif[0] ? "; is the memif server (tachyond) running on that "
			"socket?" : "");
		return -ENODEV;
	}
	g->pool = rte_pktmbuf_pool_create("lg_pool", g->o.mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (g->pool == NULL) {
		fprintf(stderr, "tachyon-loadgen: cannot create a pool of %u mbufs: %s (raise "
			"--memory-mb)\n", g->o.mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(g->port_id, &info);
	if (rc != 0)
		return rc;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	rc = rte_eth_dev_configure(g->port_id, 1, 1, &conf);
	uint16_t nrx = 1024, ntx = 1024;
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(g->port_id, &nrx, &ntx);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(g->port_id, 0, nrx, rte_socket_id(), NULL, g->pool);
	if (rc == 0) {
		struct rte_eth_txconf txc = info.default_txconf;
		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(g->port_id, 0, ntx, rte_socket_id(), &txc);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(g->port_id);
	if (rc != 0) {
		fprintf(stderr, "tachyon-loadgen: cannot set up port %s: %s\n", name,
			strerror(-rc));
		return rc;
	}
	if (g->o.tap[0] != '\0' && g->o.tap_kernel_ip != 0 && (rc = lg__tap_kernel(&g->o)) != 0) {
		fprintf(stderr, "tachyon-loadgen: cannot address tap %s: %s\n", g->o.tap,
			strerror(-rc));
		return rc;
	}
	/* memif: the link comes up once the server accepted us. */
	uint64_t deadline = lg_now_ns() + 10000000000ull;
	struct rte_eth_link link;
	do {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(g->port_id, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		usleep(10000);
	} while (lg_now_ns() < deadline && !lg__stop);
	if (link.link_status != RTE_ETH_LINK_UP) {
		fprintf(stderr, "tachyon-loadgen: port %s link stayed down for 10 s\n", name);
		return -ENETDOWN;
	}
	return 0;
}

/* ---- the loop -------------------------------------------------------------------------- */

static uint16_t lg__port_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct lg *g = ctx;
	return rte_eth_tx_burst(g->port_id, 0, pkts, n);
}

static void lg__flush(struct lg *g)
{
	/* What waited goes first, in order: TCP segments of one connection must not pass
	 * each other on the way out (a reordered ACK is harmless, reordered data is not). */
	net_txq_drain(&g->txq, lg__port_tx, g, 512);
	uint16_t off = 0;
	if (g->txq.len == 0)
		for (int tries = 0; off < g->tx_n && tries < 8; tries++)
			off += rte_eth_tx_burst(g->port_id, 0, g->tx_buf + off, g->tx_n - off);
	g->st.tx_drops += net_txq_keep(&g->txq, g->tx_buf + off, (uint16_t)(g->tx_n - off));
	g->tx_n = 0;
}

static int lg__tx(void *ctx, struct rte_mbuf *m)
{
	struct lg *g = ctx;
	if (net_txq_full(&g->txq, g->tx_n)) {
		/* Backlog full: refuse, and TCP keeps the segment for its next poll (a drop
		 * would cost the flow a timeout, and an ACK dropped here a spurious one at the
		 * broker). */
		rte_pktmbuf_free(m);
		g->st.tx_refused++;
		return -EBUSY;
	}
	g->tx_buf[g->tx_n++] = m;
	if (g->tx_n == RTE_DIM(g->tx_buf))
		lg__flush(g);
	return 0;
}

/* One iteration: receive, run TCP timers and output, send. @return frames received. */
static unsigned lg__iterate(struct lg *g)
{
	struct rte_mbuf *pkts[LG__BURST];
	g->now_ns = lg_now_ns();
	g->nif.now_ns = g->now_ns;
	uint16_t n = rte_eth_rx_burst(g->port_id, 0, pkts, LG__BURST);
	for (uint16_t i = 0; i < n; i++)
		net_input(&g->nif, pkts[i]);
	tcp_poll(g->tcp, g->now_ns);
	lg__flush(g);
	return n + (g->txq.len != 0); /* a backlog to send: busy, do not back off */
}

/* Open connections at the configured rate, within the handshake window. */
static void lg__connect_some(struct lg *g, uint64_t phase_start, unsigned window)
{
	while (g->next_connect < g->n_clients && g->connecting < window) {
		if (g->o.connect_rate > 0) {
			double allowed = (double)(g->now_ns - phase_start) * 1e-9 * g->o.connect_rate;
			if ((double)g->next_connect >= allowed + 1)
				break;
		}
		struct lg_client *c = &g->clients[g->next_connect++];
		int rc = lg_client_open(g, c);
		if (rc != 0 && g->o.verbose)
			fprintf(stderr, "client %u: tcp_connect: %s\n", c->id, strerror(-rc));
		if (g->st.first_connect_ns == 0)
			g->st.first_connect_ns = g->now_ns;
	}
}

static unsigned lg__pending_clients(const struct lg *g)
{
	return g->n_clients - (unsigned)(g->st.connected + g->st.connect_failed);
}

/* Every message published should be counted once by each subscriber it is for: all of
 * them in fanout, one in the others (lg.fan). */
static uint64_t lg__expected(const struct lg *g)
{
	return g->st.published * g->fan;
}

/* QoS 1/2: every PUBLISH sent (the --dup-every copies too) acknowledged to the end. */
static bool lg__all_acked(const struct lg *g)
{
	return g->o.qos == 0 || g->st.acked >= g->st.published + g->st.injected_dups;
}

/* Messages that reached a subscriber, counted or discarded by --drop-every (the drain
 * waits for these; the loss check counts only what was counted). */
static uint64_t lg__received(const struct lg *g)
{
	return g->st.delivered + g->st.injected_drops;
}

static bool lg__idle_wait(unsigned *empty, unsigned got)
{
	if (got != 0) {
		*empty = 0;
		return false;
	}
	if (++*empty > 256) {
		usleep(50);
		return true;
	}
	return false;
}

/* Keep alive: every client is looked at once per sweep, in 1 ms slices. Each iteration
 * used to look at 64 clients, which at a million frames a second was a fifth of the
 * generator's time in cache misses on idle clients' state. */
struct lg__ka {
	uint64_t next_ns; /* the next slice */
	unsigned next;    /* the next client */
};

static void lg__keepalive(struct lg *g, struct lg__ka *ka)
{
	if (g->n_clients == 0 || g->o.keepalive == 0 || g->now_ns < ka->next_ns)
		return;
	/* A sweep takes keepalive/8 (at most 1 s): a PINGREQ is due at keepalive/2, so it
	 * leaves at most 5/8 of the keep alive after the last packet, well before the
	 * broker's 1.5x. */
	uint64_t sweep_ms = (uint64_t)g->o.keepalive * 1000 / 8;
	if (sweep_ms > 1000)
		sweep_ms = 1000;
	if (sweep_ms == 0)
		sweep_ms = 1;
	uint64_t slice = (g->n_clients + sweep_ms - 1) / sweep_ms;
	for (uint64_t k = 0; k < slice; k++) {
		lg_client_keepalive(g, &g->clients[ka->next]);
		if (++ka->next == g->n_clients)
			ka->next = 0;
	}
	ka->next_ns = g->now_ns + 1000000;
}

static void lg__run(struct lg *g)
{
	const struct lg_opts *o = &g->o;
	unsigned empty = 0;
	/* 1. connect */
	uint64_t t0 = lg_now_ns();
	uint64_t deadline = t0 + (uint64_t)(o->connect_timeout_s * 1e9);
	g->now_ns = t0;
	while (!lg__stop && lg__pending_clients(g) > 0 && g->now_ns < deadline) {
		/* Until the next hop answers ARP, frames wait in a queue of NET_ARP_PENDING
		 * (and the rest are dropped): open one connection, the others once its SYN
		 * resolved the address. The broker has the same queue for each of our source
		 * addresses: clients 0..n_src-1 use one address each, so let them finish
		 * before the crowd. */
		struct rte_ether_addr nh_mac;
		uint32_t nh = net_on_link(&g->nif, o->dst_ip) ? o->dst_ip : o->gateway;
		unsigned n_src = o->n_src < g->n_clients ? o->n_src : g->n_clients;
		unsigned window = !net_arp_lookup(&g->nif, nh, &nh_mac) ? 1 :
				  g->st.connected + g->st.connect_failed < n_src ? n_src :
				  o->connect_window;
		lg__connect_some(g, t0, window);
		lg__idle_wait(&empty, lg__iterate(g));
	}
	if (o->verbose)
		fprintf(stderr, "connected %" PRIu64 "/%u; so far: rto %" PRIu64 ", tx drops %"
			PRIu64 "\n", g->st.connected, g->n_clients,
			tcp_stack_stats(g->tcp)->rto_expired, g->st.tx_drops);
	if (g->st.connected < g->n_clients)
		fprintf(stderr, "tachyon-loadgen: only %" PRIu64 " of %u clients connected "
			"(%" PRIu64 " failed)\n", g->st.connected, g->n_clients,
			g->st.connect_failed);
	/* 2. warm-up and measurement (or hold, for connections) */
	uint64_t start = lg_now_ns();
	g->st.pub_start_ns = start;
	g->st.measure_start_ns = start + (uint64_t)(o->warmup_s * 1e9);
	uint64_t end = g->st.measure_start_ns + (uint64_t)(o->duration_s * 1e9);
	g->publishing = g->n_pubs > 0;
	struct lg_client *pubs = g->clients + g->n_subs; /* lg_clients_init's order */
	struct lg__ka ka = { 0 };
	/* what other tasks take from the generator while it publishes */
	int sched_fd = thread_sched_open();
	uint64_t preempted0 = 0, delay0 = 0;
	thread_sched_read(sched_fd, &preempted0, &delay0);
	while (!lg__stop && g->now_ns < end) {
		unsigned got = lg__iterate(g);
		if (g->publishing)
			for (unsigned i = 0; i < g->n_pubs; i++)
				lg_client_publish(g, &pubs[i]);
		lg__keepalive(g, &ka);
		if (!g->publishing)
			lg__idle_wait(&empty, got);
	}
	g->publishing = false;
	g->st.pub_end_ns = lg_now_ns();
	uint64_t preempted1 = preempted0, delay1 = delay0; /* unchanged if unreadable */
	thread_sched_read(sched_fd, &preempted1, &delay1);
	g->st.preempted = preempted1 - preempted0;
	g->st.run_delay_ns = delay1 - delay0;
	if (sched_fd >= 0)
		close(sched_fd);
	/* 3. drain: until every subscriber has everything and every QoS 1 publish is acked */
	uint64_t drain_end = g->st.pub_end_ns + (uint64_t)(o->drain_s * 1e9);
	while (!lg__stop && g->now_ns < drain_end && g->n_pubs > 0) {
		if (lg__received(g) + g->st.dups >= lg__expected(g) && lg__all_acked(g) &&
		    g->st.qos2_open == 0)
			break;
		lg__idle_wait(&empty, lg__iterate(g));
	}
	/* a short grace to catch duplicates that follow the last expected message */
	uint64_t grace = lg_now_ns() + 100000000ull;
	while (!lg__stop && g->now_ns < grace)
		lg__idle_wait(&empty, lg__iterate(g));
	/* 4. disconnect: DISCONNECT, and the broker closes; what is still open after a
	 * moment (the broker busy sending a backlog) is reset, and for a while longer the
	 * stack answers whatever still arrives with RST. Otherwise a broker would keep
	 * retransmitting into a vanished process for minutes, slowing down the next run. */
	g->closing = true;
	g->st.tx_drops_run = g->st.tx_drops;
	g->st.rto_run = tcp_stack_stats(g->tcp)->rto_expired;
	for (unsigned i = 0; i < g->n_clients; i++)
		lg_client_disconnect(g, &g->clients[i]);
	/* 300 ms, plus 10 us a client: a million DISCONNECTs alone take about a second to
	 * leave through the TX backlog, and the broker answers each with a FIN. With 300 ms
	 * flat, almost every RST of the abort below was refused by the full backlog too, and
	 * the broker kept ~98% of a million connections open after we left. */
	uint64_t bye = lg_now_ns() + 300000000ull + 10000ull * g->n_clients;
	while (!lg__stop && g->now_ns < bye && tcp_stack_stats(g->tcp)->conns_cur > 0)
		lg__idle_wait(&empty, lg__iterate(g));
	for (unsigned i = 0; i < g->n_clients; i++)
		lg_client_abort(g, &g->clients[i]);
	bye = lg_now_ns() + 300000000ull;
	while (g->now_ns < bye)
		lg__idle_wait(&empty, lg__iterate(g));
	/* 5. leave once the broker has gone quiet (LG__QUIET_NS without a frame, at most
	 * LG__QUIET_MAX_NS): DPDK 22.11's memif PMD unmaps the shared rings from its interrupt
	 * thread when the peer goes away, without waiting for the rx/tx burst the peer's
	 * worker may be in, so leaving while the broker still answers a million teardowns can
	 * crash it mid-burst (docs/benchmarks.md). Still-open broker connections that send
	 * get our RST meanwhile. */
	uint64_t quiet_since = lg_now_ns();
	uint64_t give_up = quiet_since + LG__QUIET_MAX_NS;
	while (!lg__stop && g->now_ns < give_up) {
		unsigned got = lg__iterate(g);
		if (got != 0)
			quiet_since = g->now_ns;
		else if (g->now_ns - quiet_since >= LG__QUIET_NS)
			break;
		lg__idle_wait(&empty, got);
	}
}

/* ---- report ---------------------------------------------------------------------------- */

static const char *const lg__scen_names[] = { "fanout", "fanin", "connections", "p2p",
						"shared" };

static int lg__report(const struct lg *g)
{
	const struct lg_opts *o = &g->o;
	const struct lg_stats *s = &g->st;
	double conn_s = s->all_connected_ns && s->first_connect_ns ?
		(double)(s->all_connected_ns - s->first_connect_ns) * 1e-9 : 0;
	double conn_rate = conn_s > 0 ? (double)s->connected / conn_s : 0;
	uint64_t expected = lg__expected(g);
	uint64_t received = s->delivered;
	uint64_t lost = expected > received ? expected - received : 0;
	double span = s->last_timed_ns > s->first_timed_ns ?
		(double)(s->last_timed_ns - s->first_timed_ns) * 1e-9 : 0;
	double dps = span > 0 ? (double)(s->delivered_timed - 1) / span : 0;
	double pub_s = (double)(s->pub_end_ns - s->pub_start_ns) * 1e-9;
	double pps = pub_s > 0 ? (double)s->published / pub_s : 0;
	const struct lg_hist *h = &s->lat;
	double p50 = (double)lg_hist_quantile(h, 0.5) / 1000;
	double p99 = (double)lg_hist_quantile(h, 0.99) / 1000;
	double p999 = (double)lg_hist_quantile(h, 0.999) / 1000, mx = (double)h->max / 1000;
	double mean = h->count ? (double)h->sum / (double)h->count / 1000 : 0;
	unsigned subs_receiving = 0; /* shared: how the group spread the messages */
	for (unsigned i = 0; i < g->n_subs; i++)
		subs_receiving += g->clients[i].recv_count > 0;
	uint64_t unacked = g->o.qos == 0 || lg__all_acked(g) ? 0 :
			   s->published + s->injected_dups - s->acked;
	bool ok = s->connected == g->n_clients && s->dropped == 0 && lost == 0 &&
		  s->dups == 0 && s->bad_packets == 0 && unacked == 0 && s->qos2_open == 0;
	const struct tcp_stats *ts = tcp_stack_stats(g->tcp);
	struct rte_eth_stats ps;
	memset(&ps, 0, sizeof(ps));
	rte_eth_stats_get(g->port_id, &ps);
	if (o->json) {
		printf("{\"scenario\":\"%s\",\"mqtt_version\":%u,\"qos\":%u,\"payload\":%u,"
		       "\"clients\":%u,\"publishers\":%u,\"subscribers\":%" PRIu64 ","
		       "\"connected\":%" PRIu64 ",\"connect_failed\":%" PRIu64 ","
		       "\"dropped\":%" PRIu64 ",\"time_to_all_connected_s\":%.6f,"
		       "\"connections_per_s\":%.1f,\"published\":%" PRIu64 ","
		       "\"publish_rate\":%.1f,\"acked\":%" PRIu64 ",\"unacked\":%" PRIu64 ","
		       "\"pubrecs\":%" PRIu64 ",\"pubrels\":%" PRIu64 ",\"qos2_open\":%" PRIu64 ","
		       "\"injected_dups\":%" PRIu64 ",\"subscribers_receiving\":%u,"
		       "\"expected\":%" PRIu64 ","
		       "\"delivered\":%" PRIu64 ",\"deliveries_per_s\":%.1f,"
		       "\"lost\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"injected_drops\":%" PRIu64 ","
		       "\"gaps\":%" PRIu64 ",\"bad_packets\":%" PRIu64 ",\"pings\":%" PRIu64 ","
		       "\"lat_samples\":%" PRIu64 ",\"lat_mean_us\":%.1f,\"lat_p50_us\":%.1f,"
		       "\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,\"lat_max_us\":%.1f,"
		       "\"tcp_retransmits\":%" PRIu64 ",\"tcp_out_nobufs\":%" PRIu64 ","
		       "\"tcp_mem_drops\":%" PRIu64 ",\"tcp_rto_expired\":%" PRIu64 ","
		       "\"port_imissed\":%" PRIu64 ",\"port_rx_nombuf\":%" PRIu64 ","
		       "\"port_oerrors\":%" PRIu64 ",\"tx_drops\":%" PRIu64 ",\"tx_refused\":%" PRIu64 ","
		       "\"tx_drops_before_teardown\":%" PRIu64 ","
		       "\"tcp_rto_before_teardown\":%" PRIu64 ",\"cpu\":%d,"
		       "\"gen_preempted\":%" PRIu64 ",\"gen_run_delay_ms\":%.3f,\"ok\":%s}\n",
		       lg__scen_names[o->scenario], o->version, o->qos, o->payload, g->n_clients,
		       g->n_pubs, (uint64_t)g->n_subs,
		       s->connected, s->connect_failed, s->dropped, conn_s, conn_rate,
		       s->published, pps, s->acked, unacked, s->pubrecs, s->pubrels, s->qos2_open,
		       s->injected_dups, subs_receiving, expected, s->delivered, dps, lost, s->dups,
		       s->injected_drops, s->gaps, s->bad_packets, s->pings, h->count, mean, p50,
		       p99, p999, mx, ts->retransmits, ts->out_nobufs, ts->mem_drops, ts->rto_expired,
		       ps.imissed, ps.rx_nombuf, ps.oerrors, s->tx_drops, s->tx_refused, s->tx_drops_run,
		       s->rto_run, o->cpu, s->preempted, (double)s->run_delay_ns * 1e-6,
		       ok ? "true" : "false");
	} else {
		printf("scenario %s, MQTT %s, QoS %u, payload %u B, %u clients (%u publishers)\n",
		       lg__scen_names[o->scenario], o->version == 5 ? "5" : "3.1.1", o->qos,
		       o->payload, g->n_clients, g->n_pubs);
		printf("  %-24s %" PRIu64 "/%u (failed %" PRIu64 ", dropped later %" PRIu64 ")\n",
		       "connected", s->connected, g->n_clients, s->connect_failed, s->dropped);
		printf("  %-24s %.3f s (%.0f connections/s)\n", "time to all connected", conn_s,
		       conn_rate);
		if (g->n_pubs > 0) {
			printf("  %-24s %" PRIu64 " (%.0f/s), acked %" PRIu64 "\n", "published",
			       s->published, pps, s->acked);
			printf("  %-24s %" PRIu64 " of %" PRIu64 " expected, %.0f/s measured\n",
			       "delivered", s->delivered, expected, dps);
			printf("  %-24s lost %" PRIu64 ", duplicated %" PRIu64 ", injected drops %"
			       PRIu64 ", injected dups %" PRIu64 "\n", "checks", lost, s->dups,
			       s->injected_drops, s->injected_dups);
			if (o->qos > 0)
				printf("  %-24s unacknowledged %" PRIu64 ", QoS 2 exchanges open %"
				       PRIu64 " (PUBRECs %" PRIu64 ", PUBRELs %" PRIu64 ")\n",
				       "acks", unacked, s->qos2_open, s->pubrecs, s->pubrels);
			printf("  %-24s p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f, %"
			       PRIu64 " samples)\n", "latency us", p50, p99, p999, mx, mean,
			       h->count);
			printf("  %-24s preempted %" PRIu64 " times, %.1f ms waiting for the CPU "
			       "(CPU %d)\n", "generator", s->preempted,
			       (double)s->run_delay_ns * 1e-6, o->cpu);
		} else {
			printf("  %-24s %" PRIu64 "\n", "PINGRESPs", s->pings);
		}
		printf("  %-24s %s\n", "result", ok ? "OK" : "FAILED");
	}
	fflush(stdout);
	return ok ? 0 : 3;
}

int main(int argc, char **argv)
{
	static struct lg g; /* big (the histogram): not on the stack */
	if (lg__parse(argc, argv, &g.o) != 0)
		return 2;
	signal(SIGINT, lg__on_signal);
	signal(SIGTERM, lg__on_signal);
	g.o.cpu = lg__pick_cpu(&g.o);
	int rc = lg__eal(&g.o, argv[0]);
	if (rc != 0) {
		fprintf(stderr, "tachyon-loadgen: EAL failed to start: %s\n", rte_strerror(-rc));
		return 1;
	}
	int exit_code = 1;
	if (lg__port(&g) != 0)
		goto out;
	/* At most a quarter of the pool waits (receiving and sending need the rest), and no
	 * more than LG_TX_BACKLOG_CAP: beyond the memif ring's own 16k slots a longer queue
	 * only delays our ACKs past the broker's RTO (bufferbloat); with the backlog full, TCP
	 * holds its segments and a held ACK is sent later with the newest ack number. Out of
	 * memory: no backlog, what the port refuses is dropped. */
	net_txq_init(&g.txq, g.o.mbufs / 4 < LG_TX_BACKLOG_CAP ? g.o.mbufs / 4 : LG_TX_BACKLOG_CAP);
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(g.port_id, &mac);
	net_if_init(&g.nif, g.o.src_ip, g.o.prefix_len, g.o.gateway);
	g.nif.n_ips = g.o.n_src;
	g.nif.mac = mac;
	g.nif.pool = g.pool;
	g.nif.tx = lg__tx;
	g.nif.tx_ctx = &g;
	g.nif.now_ns = lg_now_ns();
	struct tcp_stack_config sc;
	memset(&sc, 0, sizeof(sc));
	sc.pool = g.pool;
	sc.ip_output = net_ip_output;
	sc.ip_ctx = &g.nif;
	if (lg_clients_init(&g) != 0) {
		fprintf(stderr, "tachyon-loadgen: out of memory for %u clients\n", g.n_clients);
		goto out;
	}
	sc.max_conns = 2 * g.n_clients + 1024;
	sc.time_wait_ms = 1000; /* short: a long run reuses nothing late */
	/* By default ACK at once: at QoS 0 a subscriber sends nothing that an ACK could ride
	 * on, and 40 ms delayed ACKs would hold the broker's congestion window a round each. */
	sc.no_delayed_ack = g.o.delayed_ack_ms == 0;
	sc.delayed_ack_ms = g.o.delayed_ack_ms;
	sc.now_ns = g.nif.now_ns;
	g.tcp = tcp_stack_create(&sc);
	if (g.tcp == NULL) {
		fprintf(stderr, "tachyon-loadgen: tcp_stack_create: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	g.nif.l4_input = tcp_input;
	g.nif.l4_ctx = g.tcp;
	{
		/* each source address gives 64,000 local ports (1024..65023) */
		uint64_t n = g.n_clients;
		if (n > 64000ull * g.o.n_src) {
			fprintf(stderr, "tachyon-loadgen: %" PRIu64 " clients need --src-count %"
				PRIu64 " or more (64,000 ports per source address)\n", n,
				(n + 63999) / 64000);
			exit_code = 2;
			goto out;
		}
	}
	srand((unsigned)(lg_now_ns() ^ (uint64_t)getpid()));
	g.port_base = (uint16_t)(rand() % 64000);
	lg__run(&g);
	exit_code = lg__report(&g);
out:
	if (g.tcp != NULL)
		tcp_stack_destroy(g.tcp);
	lg__flush(&g);
	net_txq_fini(&g.txq); /* what the port never took */
	net_if_fini(&g.nif);
	lg_clients_fini(&g);
	if (g.pool != NULL) {
		rte_eth_dev_stop(g.port_id);
		rte_eth_dev_close(g.port_id);
	}
	rte_eal_cleanup();
	return exit_code;
}
