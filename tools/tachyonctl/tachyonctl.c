/**
 * @file tachyonctl.c
 * tachyonctl: the control CLI. Sends one JSON request line to tachyond's management socket,
 * reads one reply line, and prints it as readable text (or raw with --json).
 *
 *   tachyonctl [-s SOCKET] [--json] [--timeout SEC] COMMAND [--help]
 *   commands: status, stats [--all], shutdown, snapshot, help
 *
 * Exit codes: 0 ok; 1 the broker answered with an error ({"ok":false,...}); 2 usage error,
 * no connection, no reply or an unreadable reply.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/json.h"

#define CTL_DEFAULT_SOCKET "/run/tachyon/tachyon.sock"
#define CTL_EXIT_OK 0
#define CTL_EXIT_BROKER 1
#define CTL_EXIT_USAGE 2

struct ctl_opts {
	const char *socket;
	bool json;
	bool all;
	int timeout_ms;
};

struct ctl_cmd {
	const char *name;
	const char *usage;
	const char *help;
	void (*print)(const struct ctl_opts *o, const struct json_value *reply);
};

/* ---- printing helpers -------------------------------------------------------------- */

static void ctl__print_value(const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL: printf("-"); break;
	case JSON_BOOL: printf("%s", v->b ? "yes" : "no"); break;
	case JSON_STRING: printf("%s", v->str); break;
	case JSON_NUMBER:
		if (v->is_int && !v->is_neg)
			printf("%" PRIu64, v->u);
		else if (v->is_int)
			printf("%" PRId64, v->i);
		else
			printf("%.3f", v->num);
		break;
	default: printf("(%zu items)", v->n); break;
	}
}

static void ctl__kv(const char *label, const struct json_value *v)
{
	printf("%-14s ", label);
	if (v != NULL)
		ctl__print_value(v);
	else
		printf("-");
	printf("\n");
}

static void ctl__uptime(const char *label, const struct json_value *v)
{
	if (v == NULL || v->type != JSON_NUMBER) {
		ctl__kv(label, v);
		return;
	}
	uint64_t s = (uint64_t)v->num;
	printf("%-14s %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 " (%.1f s)\n", label,
	       s / 86400, s / 3600 % 24, s / 60 % 60, s % 60, v->num);
}

/* ---- status ------------------------------------------------------------------------ */

static void ctl__print_status(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	ctl__kv("version", json_get(r, "version"));
	ctl__kv("pid", json_get(r, "pid"));
	ctl__uptime("uptime", json_get(r, "uptime_s"));
	ctl__kv("config", json_get(r, "config"));
	ctl__kv("mgmt socket", json_get(r, "mgmt_socket"));
	ctl__kv("log level", json_get(r, "log_level"));
	const struct json_value *a = json_get(r, "addresses");
	if (a != NULL) {
		printf("%-14s %s/%" PRIu64 "\n", "address", json_get_str(a, "ip") ?: "-",
		       json_get_u64(a, "prefix_len", 0));
		ctl__kv("gateway", json_get(a, "gateway"));
		if (json_get(a, "kernel_ip") != NULL)
			ctl__kv("kernel side", json_get(a, "kernel_ip"));
		ctl__kv("mtu", json_get(a, "mtu"));
	}
	const struct json_value *l = json_get(r, "listeners");
	if (l != NULL && l->type == JSON_ARRAY) {
		for (size_t i = 0; i < l->n; i++) {
			const struct json_value *x = l->items[i];
			printf("%-14s mqtt%s://%s:%" PRIu64 "\n", i == 0 ? "listeners" : "",
			       json_get_bool(x, "tls", false) ? "s" : "",
			       json_get_str(x, "address") ?: "-", json_get_u64(x, "port", 0));
		}
	}
	const struct json_value *p = json_get(r, "ports");
	if (p != NULL && p->type == JSON_ARRAY) {
		printf("\nports\n  %-4s %-14s %-10s %-5s %-10s %-18s %-5s %-7s %s\n", "id", "name",
		       "driver", "kind", "interface", "mac", "link", "queues", "rx-intr");
		for (size_t i = 0; i < p->n; i++) {
			const struct json_value *x = p->items[i];
			printf("  %-4" PRIu64 " %-14s %-10s %-5s %-10s %-18s %-5s %-7" PRIu64 " %s\n",
			       json_get_u64(x, "id", 0), json_get_str(x, "name") ?: "-",
			       json_get_str(x, "driver") ?: "-", json_get_str(x, "kind") ?: "-",
			       json_get_str(x, "tap") ?: "-", json_get_str(x, "mac") ?: "-",
			       json_get_bool(x, "link_up", false) ? "up" : "down",
			       json_get_u64(x, "queues", 0),
			       json_get_bool(x, "rx_interrupts", false) ? "yes" : "no");
		}
	}
	const struct json_value *w = json_get(r, "workers");
	if (w != NULL && w->type == JSON_ARRAY) {
		printf("\nworkers\n  %-6s %-6s %-5s %-6s %-8s %s\n", "index", "lcore", "port",
		       "queue", "running", "idle-backoff");
		for (size_t i = 0; i < w->n; i++) {
			const struct json_value *x = w->items[i];
			printf("  %-6" PRIu64 " %-6" PRIu64 " %-5" PRIu64 " %-6" PRIu64 " %-8s %s\n",
			       json_get_u64(x, "index", 0), json_get_u64(x, "lcore", 0),
			       json_get_u64(x, "port", 0), json_get_u64(x, "queue", 0),
			       json_get_bool(x, "running", false) ? "yes" : "no",
			       json_get_str(x, "idle_backoff") ?: "-");
		}
	}
}

/* ---- stats ------------------------------------------------------------------------- */

/* Prints one counter group ("loop", "net", "l4") as a table: a row per counter, a column
 * per worker, and the total. Zero rows are hidden unless --all. */
static void ctl__stats_group(const struct ctl_opts *o, const struct json_value *workers,
			     const char *group)
{
	const struct json_value *first = NULL;
	for (size_t i = 0; i < workers->n && first == NULL; i++)
		first = json_get(workers->items[i], group);
	if (first == NULL || first->type != JSON_OBJECT)
		return;
	printf("\n%-28s", group);
	for (size_t i = 0; i < workers->n; i++)
		printf(" %14s%-2zu", "worker", i);
	if (workers->n > 1)
		printf(" %16s", "total");
	printf("\n");
	unsigned hidden = 0;
	for (size_t k = 0; k < first->n; k++) {
		const char *name = first->keys[k];
		uint64_t total = 0;
		bool numeric = true;
		for (size_t i = 0; i < workers->n; i++) {
			const struct json_value *v = json_get(json_get(workers->items[i], group), name);
			if (v == NULL || v->type != JSON_NUMBER || !v->is_int || v->is_neg)
				numeric = false;
			else
				total += v->u;
		}
		if (!numeric)
			continue;
		if (total == 0 && !o->all) {
			hidden++;
			continue;
		}
		printf("  %-26s", name);
		for (size_t i = 0; i < workers->n; i++)
			printf(" %16" PRIu64,
			       json_get_u64(json_get(workers->items[i], group), name, 0));
		if (workers->n > 1)
			printf(" %16" PRIu64, total);
		printf("\n");
	}
	if (hidden > 0)
		printf("  (%u zero counters hidden; --all shows them)\n", hidden);
}

static void ctl__print_stats(const struct ctl_opts *o, const struct json_value *r)
{
	ctl__uptime("uptime", json_get(r, "uptime_s"));
	const struct json_value *w = json_get(r, "workers");
	if (w != NULL && w->type == JSON_ARRAY && w->n > 0) {
		ctl__stats_group(o, w, "loop");
		ctl__stats_group(o, w, "net");
		ctl__stats_group(o, w, "l4");
	}
	const struct json_value *p = json_get(r, "ports");
	if (p != NULL && p->type == JSON_ARRAY) {
		static const char *const cols[] = { "ipackets", "opackets", "ibytes", "obytes",
						    "imissed", "ierrors", "oerrors", "rx_nombuf" };
		printf("\nports\n  %-4s %-12s", "id", "name");
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			printf(" %12s", cols[c]);
		printf("\n");
		for (size_t i = 0; i < p->n; i++) {
			const struct json_value *x = p->items[i];
			printf("  %-4" PRIu64 " %-12s", json_get_u64(x, "id", 0),
			       json_get_str(x, "name") ?: "-");
			for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
				printf(" %12" PRIu64, json_get_u64(x, cols[c], 0));
			printf("\n");
		}
	}
}

/* ---- shutdown, help ---------------------------------------------------------------- */

static void ctl__print_message(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const char *m = json_get_str(r, "message");
	printf("%s\n", m != NULL ? m : "ok");
}

static void ctl__print_help(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *c = json_get(r, "commands");
	if (c == NULL || c->type != JSON_ARRAY)
		return;
	printf("commands the broker accepts:\n");
	for (size_t i = 0; i < c->n; i++)
		printf("  %-12s %s\n", json_get_str(c->items[i], "name") ?: "?",
		       json_get_str(c->items[i], "help") ?: "");
}

static const struct ctl_cmd ctl__cmds[] = {
	{ "status", "status", "version, uptime, workers, ports and addresses",
	  ctl__print_status },
	{ "stats", "stats [--all]", "per-worker counters and port statistics (--all: "
	  "include zero counters)", ctl__print_stats },
	{ "shutdown", "shutdown", "stop the broker (like SIGTERM)", ctl__print_message },
	{ "snapshot", "snapshot", "write a persistence snapshot now", ctl__print_message },
	{ "help", "help", "list the commands the broker itself accepts", ctl__print_help },
};

static void ctl__usage(FILE *f)
{
	fprintf(f, "Usage: tachyonctl [-s SOCKET] [--json] [--timeout SEC] COMMAND [options]\n"
		"Talks to tachyond's management socket (default %s).\n\n"
		"Commands:\n", CTL_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(ctl__cmds) / sizeof(ctl__cmds[0]); i++)
		fprintf(f, "  %-16s %s\n", ctl__cmds[i].usage, ctl__cmds[i].help);
	fprintf(f, "\nOptions:\n"
		"  -s, --socket PATH  management socket\n"
		"  --json             print the raw JSON reply\n"
		"  --timeout SEC      give up waiting for the reply after SEC seconds (default 5)\n"
		"  -h, --help         this help; COMMAND --help: that command's help\n\n"
		"Exit codes: 0 ok, 1 the broker answered with an error, 2 usage error or no "
		"connection.\n");
}

/* ---- I/O --------------------------------------------------------------------------- */

static int ctl__connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tachyonctl: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "tachyonctl: cannot connect to %s: %s (is tachyond running? "
			"-s selects another socket)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads one line (the reply). @return malloc'd NUL-terminated line, or NULL. */
static char *ctl__read_line(int fd, int timeout_ms)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (buf != NULL) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		int spent = (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (spent >= timeout_ms || poll(&pfd, 1, timeout_ms - spent) <= 0) {
			fprintf(stderr, "tachyonctl: no reply within %d ms\n", timeout_ms);
			break;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			fprintf(stderr, "tachyonctl: connection closed before the reply\n");
			break;
		}
		len += (size_t)n;
		char *nl = memchr(buf, '\n', len);
		if (nl != NULL) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static int ctl__run(const struct ctl_opts *o, const struct ctl_cmd *cmd)
{
	int fd = ctl__connect(o->socket);
	if (fd < 0)
		return CTL_EXIT_USAGE;
	char req[128];
	int n = snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", cmd->name);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "tachyonctl: cannot send to %s: %s\n", o->socket, strerror(errno));
		close(fd);
		return CTL_EXIT_USAGE;
	}
	char *line = ctl__read_line(fd, o->timeout_ms);
	close(fd);
	if (line == NULL)
		return CTL_EXIT_USAGE;
	char err[128];
	struct json_value *r = json_parse(line, strlen(line), err, sizeof(err));
	if (r == NULL || r->type != JSON_OBJECT) {
		fprintf(stderr, "tachyonctl: unreadable reply (%s): %.200s\n",
			r == NULL ? err : "not an object", line);
		json_free(r);
		free(line);
		return CTL_EXIT_USAGE;
	}
	bool ok = json_get_bool(r, "ok", false);
	if (o->json) {
		printf("%s\n", line);
	} else if (ok) {
		cmd->print(o, r);
	} else {
		const struct json_value *e = json_get(r, "error");
		fprintf(stderr, "tachyonctl: %s: %s (%s)\n", cmd->name,
			json_get_str(e, "message") ?: "error", json_get_str(e, "code") ?: "?");
	}
	json_free(r);
	free(line);
	return ok ? CTL_EXIT_OK : CTL_EXIT_BROKER;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .socket = CTL_DEFAULT_SOCKET, .timeout_ms = 5000 };
	const struct ctl_cmd *cmd = NULL;
	bool cmd_help = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
			if (++i == argc) {
				fprintf(stderr, "tachyonctl: %s needs a path\n", a);
				return CTL_EXIT_USAGE;
			}
			o.socket = argv[i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			o.socket = a + 9;
		} else if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : (++i < argc ? argv[i] : NULL);
			char *end;
			double s = v != NULL ? strtod(v, &end) : 0;
			if (v == NULL || *end != '\0' || s <= 0 || s > 3600) {
				fprintf(stderr, "tachyonctl: --timeout needs seconds (0 < SEC <= 3600)\n");
				return CTL_EXIT_USAGE;
			}
			o.timeout_ms = (int)(s * 1000);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			if (cmd == NULL) {
				ctl__usage(stdout);
				return CTL_EXIT_OK;
			}
			cmd_help = true;
		} else if (cmd != NULL && strcmp(a, "--all") == 0 && strcmp(cmd->name, "stats") == 0) {
			o.all = true;
		} else if (cmd == NULL && a[0] != '-') {
			for (size_t k = 0; k < sizeof(ctl__cmds) / sizeof(ctl__cmds[0]); k++)
				if (strcmp(ctl__cmds[k].name, a) == 0)
					cmd = &ctl__cmds[k];
			if (cmd == NULL) {
				fprintf(stderr, "tachyonctl: unknown command '%s'\n\n", a);
				ctl__usage(stderr);
				return CTL_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "tachyonctl: unexpected argument '%s'\n\n", a);
			ctl__usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (cmd == NULL) {
		ctl__usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (cmd_help) {
		printf("Usage: tachyonctl [-s SOCKET] [--json] %s\n  %s\n", cmd->usage, cmd->help);
		return CTL_EXIT_OK;
	}
	return ctl__run(&o, cmd);
}
