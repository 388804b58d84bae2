/**
 * @file tachyonctl.c
 * tachyonctl: the control CLI. Sends one JSON request line to tachyond's management socket,
 * reads one reply line, and prints it as readable text (or raw with --json).
 *
 *   tachyonctl [-s SOCKET] [--json] [--timeout SEC] COMMAND [ARGS] [--help]
 *   commands: status, stats [--all], clients, client, kick, sessions, subscriptions,
 *   retained, publish, config, reload, log, shutdown, snapshot, tls-reload, user ...,
 *   acl ... (ctl__auth), help
 *
 * Each command is a row of ctl__cmds: a builder turning its arguments into the request's
 * members (or refusing them: usage error), and a printer turning the reply into text.
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
	/** Adds the request's members from the command's arguments; -1 (after a message on
	 *  stderr) for a usage error. NULL: the command takes no arguments. */
	int (*build)(struct json_writer *w, int argc, char **argv);
	const char *details;         /**< more lines for `COMMAND --help`, or NULL */
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

static const char *ctl__s(const struct json_value *o, const char *k)
{
	const char *s = json_get_str(o, k);
	return s != NULL ? s : "-";
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

/* The upper bound (in ns) of the bucket holding quantile @p q of a cumulative histogram. */
static const char *ctl__quantile(const struct json_value *h, double q, char *buf, size_t len)
{
	const struct json_value *b = json_get(h, "buckets");
	uint64_t count = json_get_u64(h, "count", 0);
	snprintf(buf, len, "-");
	if (b == NULL || b->type != JSON_ARRAY || count == 0)
		return buf;
	for (size_t i = 0; i < b->n; i++) {
		const struct json_value *x = b->items[i];
		if (x->type != JSON_ARRAY || x->n != 2 || x->items[1]->type != JSON_NUMBER)
			continue;
		if ((double)x->items[1]->u >= q * (double)count) {
			if (x->items[0]->type == JSON_NUMBER)
				snprintf(buf, len, "<= %.0f us", x->items[0]->num / 1000.0);
			else
				snprintf(buf, len, "> %s", "0.5 s");
			return buf;
		}
	}
	return buf;
}

/* The broker's counters: one column; breakdowns by QoS on one line; the latency summary. */
static void ctl__stats_mqtt(const struct ctl_opts *o, const struct json_value *m)
{
	if (m == NULL || m->type != JSON_OBJECT)
		return;
	printf("\n%-28s %16s\n", "mqtt", "value");
	unsigned hidden = 0;
	for (size_t k = 0; k < m->n; k++) {
		const struct json_value *v = m->items[k];
		if (v->type == JSON_NUMBER && v->is_int && !v->is_neg) {
			if (v->u == 0 && !o->all) {
				hidden++;
				continue;
			}
			printf("  %-26s %16" PRIu64 "\n", m->keys[k], v->u);
		} else if (v->type == JSON_OBJECT && json_get(v, "buckets") == NULL) {
			printf("  %-26s", m->keys[k]);
			for (size_t i = 0; i < v->n; i++)
				printf(" %s=%" PRIu64, v->keys[i], json_get_u64(v, v->keys[i], 0));
			printf("\n");
		}
	}
	const struct json_value *h = json_get(m, "latency_histogram");
	if (h != NULL && h->type == JSON_OBJECT) {
		uint64_t n = json_get_u64(h, "count", 0);
		char p50[32], p99[32];
		printf("  %-26s count=%" PRIu64 " mean=%.1f us p50 %s p99 %s\n", "deliver_latency", n,
		       n ? (double)json_get_u64(h, "sum", 0) / (double)n / 1000.0 : 0.0,
		       ctl__quantile(h, 0.5, p50, sizeof(p50)),
		       ctl__quantile(h, 0.99, p99, sizeof(p99)));
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
	ctl__stats_mqtt(o, json_get(r, "mqtt"));
	const struct json_value *rg = json_get(r, "rings");
	if (rg != NULL && rg->type == JSON_ARRAY && rg->n > 0) {
		printf("\nrings\n  %-16s %12s %12s\n", "name", "count", "capacity");
		for (size_t i = 0; i < rg->n; i++)
			printf("  %-16s %12" PRIu64 " %12" PRIu64 "\n", ctl__s(rg->items[i], "name"),
			       json_get_u64(rg->items[i], "count", 0),
			       json_get_u64(rg->items[i], "capacity", 0));
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

/* ---- operations: argument builders -------------------------------------------------- */

static int ctl__usage_err(const char *fmt, const char *arg)
{
	fprintf(stderr, "tachyonctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return -1;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i; NULL when @p a is not --name. */
static const char *ctl__opt(const char *name, int argc, char **argv, int *i, bool *bad)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		ctl__usage_err("%s needs a value", name);
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

static bool ctl__uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

/* clients / sessions: --prefix P --worker N --protocol 3|4|5 --state S --offset N --limit N */
static int ctl__build_list(struct json_writer *w, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		bool bad = false;
		const char *v;
		uint64_t n;
		if ((v = ctl__opt("--prefix", argc, argv, &i, &bad)) != NULL) {
			json_kv_str(w, "prefix", v);
		} else if ((v = ctl__opt("--state", argc, argv, &i, &bad)) != NULL) {
			if (strcmp(v, "online") && strcmp(v, "offline") && strcmp(v, "all"))
				return ctl__usage_err("--state: '%s' (online, offline or all)", v);
			json_kv_str(w, "state", v);
		} else if ((v = ctl__opt("--worker", argc, argv, &i, &bad)) != NULL) {
			if (!ctl__uint(v, 1023, &n))
				return ctl__usage_err("--worker: '%s' is not a worker index", v);
			json_kv_u64(w, "worker", n);
		} else if ((v = ctl__opt("--protocol", argc, argv, &i, &bad)) != NULL) {
			if (!ctl__uint(v, 5, &n) || n < 3)
				return ctl__usage_err("--protocol: '%s' (3, 4 or 5)", v);
			json_kv_u64(w, "protocol_version", n);
		} else if ((v = ctl__opt("--offset", argc, argv, &i, &bad)) != NULL) {
			if (!ctl__uint(v, UINT32_MAX, &n))
				return ctl__usage_err("--offset: '%s' is not a count", v);
			json_kv_u64(w, "offset", n);
		} else if ((v = ctl__opt("--limit", argc, argv, &i, &bad)) != NULL) {
			if (!ctl__uint(v, UINT32_MAX, &n))
				return ctl__usage_err("--limit: '%s' is not a count", v);
			json_kv_u64(w, "limit", n);
		} else {
			return bad ? -1 : ctl__usage_err("unexpected argument '%s'", argv[i]);
		}
	}
	return 0;
}

/* One positional argument, stored as @p key. */
static int ctl__build_one(struct json_writer *w, int argc, char **argv, const char *key,
			  const char *what)
{
	if (argc != 1)
		return ctl__usage_err("needs exactly one argument: %s", what);
	json_kv_str(w, key, argv[0]);
	return 0;
}

static int ctl__build_id(struct json_writer *w, int argc, char **argv)
{
	return ctl__build_one(w, argc, argv, "id", "the client id");
}

static int ctl__build_subs(struct json_writer *w, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		bool bad = false;
		const char *v;
		if ((v = ctl__opt("--client", argc, argv, &i, &bad)) != NULL)
			json_kv_str(w, "client", v);
		else if ((v = ctl__opt("--filter", argc, argv, &i, &bad)) != NULL)
			json_kv_str(w, "filter", v);
		else
			return bad ? -1 : ctl__usage_err("unexpected argument '%s'", argv[i]);
	}
	return 0;
}

static int ctl__build_retained(struct json_writer *w, int argc, char **argv)
{
	if (argc == 0 || strcmp(argv[0], "list") == 0) {
		if (argc > 2)
			return ctl__usage_err("%s", "retained list takes at most one filter");
		json_kv_str(w, "op", "list");
		if (argc == 2)
			json_kv_str(w, "filter", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "get") == 0 || strcmp(argv[0], "clear") == 0) {
		if (argc != 2)
			return ctl__usage_err("retained %s needs one topic", argv[0]);
		json_kv_str(w, "op", argv[0]);
		json_kv_str(w, "topic", argv[1]);
		return 0;
	}
	return ctl__usage_err("retained: '%s' (list, get or clear)", argv[0]);
}

static int ctl__build_publish(struct json_writer *w, int argc, char **argv)
{
	int pos = 0;
	for (int i = 0; i < argc; i++) {
		bool bad = false;
		const char *v;
		uint64_t n;
		if ((v = ctl__opt("--qos", argc, argv, &i, &bad)) != NULL) {
			if (!ctl__uint(v, 2, &n))
				return ctl__usage_err("--qos: '%s' (0, 1 or 2)", v);
			json_kv_u64(w, "qos", n);
		} else if (bad) {
			return -1;
		} else if (strcmp(argv[i], "--retain") == 0) {
			json_kv_bool(w, "retain", true);
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			return ctl__usage_err("unexpected option '%s'", argv[i]);
		} else if (pos < 2) {
			json_kv_str(w, pos == 0 ? "topic" : "payload", argv[i]);
			pos++;
		} else {
			return ctl__usage_err("unexpected argument '%s'", argv[i]);
		}
	}
	if (pos < 1)
		return ctl__usage_err("%s", "publish needs a topic (and a payload)");
	return 0;
}

static int ctl__build_config(struct json_writer *w, int argc, char **argv)
{
	if (argc == 0 || (strcmp(argv[0], "get") == 0 && argc <= 2)) {
		json_kv_str(w, "op", "get");
		if (argc == 2)
			json_kv_str(w, "key", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "set") == 0 && argc >= 3) {
		/* The value is the rest of the line, as in the config file. */
		char value[4096];
		size_t len = 0;
		value[0] = '\0';
		for (int i = 2; i < argc; i++) {
			int n = snprintf(value + len, sizeof(value) - len, "%s%s", i > 2 ? " " : "",
					 argv[i]);
			if (n < 0 || (size_t)n >= sizeof(value) - len)
				return ctl__usage_err("%s", "config set: value too long");
			len += (size_t)n;
		}
		json_kv_str(w, "op", "set");
		json_kv_str(w, "key", argv[1]);
		json_kv_str(w, "value", value);
		return 0;
	}
	return ctl__usage_err("%s", "config get [KEY] | config set KEY VALUE");
}

static int ctl__build_log(struct json_writer *w, int argc, char **argv)
{
	if (argc > 1)
		return ctl__usage_err("%s", "log [LEVEL]");
	if (argc == 1)
		json_kv_str(w, "level", argv[0]);
	return 0;
}

/* ---- operations: printers ---------------------------------------------------------- */

static void ctl__page_footer(const struct json_value *r, const char *what)
{
	const struct json_value *items = NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i]->type == JSON_ARRAY)
			items = r->items[i];
	size_t shown = items != NULL ? items->n : 0;
	uint64_t total = json_get_u64(r, "total", shown), off = json_get_u64(r, "offset", 0);
	if (shown < total)
		printf("(%zu of %" PRIu64 " %s shown from offset %" PRIu64 "; --offset/--limit "
		       "page)\n", shown, total, what, off);
	else
		printf("(%" PRIu64 " %s)\n", total, what);
}

static const char *ctl__proto(uint64_t v)
{
	return v == 5 ? "5.0" : v == 4 ? "3.1.1" : v == 3 ? "3.1" : "-";
}

static void ctl__print_clients(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *c = json_get(r, "clients");
	if (c == NULL)
		c = json_get(r, "sessions");
	const char *member = json_get(r, "clients") != NULL ? "clients" : "sessions";
	if (c == NULL || c->type != JSON_ARRAY)
		return;
	printf("%-24s %-6s %-7s %-21s %-6s %-5s %-8s %-7s %-10s %-10s %s\n", "client-id",
	       "worker", "state", "address", "proto", "keep", "inflight", "queued", "bytes-in",
	       "bytes-out", "since / expiry");
	for (size_t i = 0; i < c->n; i++) {
		const struct json_value *x = c->items[i];
		bool on = json_get_bool(x, "online", false);
		char tail[64], keep[16], bin[24], bout[24];
		snprintf(keep, sizeof(keep), "-");
		snprintf(bin, sizeof(bin), "-");
		snprintf(bout, sizeof(bout), "-");
		if (on) {
			snprintf(tail, sizeof(tail), "%s", ctl__s(x, "connected_since"));
			snprintf(keep, sizeof(keep), "%" PRIu64, json_get_u64(x, "keep_alive", 0));
			snprintf(bin, sizeof(bin), "%" PRIu64, json_get_u64(x, "bytes_in", 0));
			snprintf(bout, sizeof(bout), "%" PRIu64, json_get_u64(x, "bytes_out", 0));
		} else {
			const struct json_value *e = json_get(x, "expires_in_s");
			if (e != NULL && e->type == JSON_NUMBER)
				snprintf(tail, sizeof(tail), "expires in %.0f s", e->num);
			else
				snprintf(tail, sizeof(tail), "never expires");
		}
		printf("%-24s %-6" PRIu64 " %-7s %-21s %-6s %-5s %-8" PRIu64 " %-7" PRIu64
		       " %-10s %-10s %s\n",
		       ctl__s(x, "client_id"), json_get_u64(x, "worker", 0),
		       on ? "online" : "offline", on ? ctl__s(x, "address") : "-",
		       ctl__proto(json_get_u64(x, "protocol_version", 0)), keep,
		       json_get_u64(x, "inflight", 0), json_get_u64(x, "queued", 0), bin, bout,
		       tail);
	}
	ctl__page_footer(r, member);
}

static void ctl__sub_row(const struct json_value *x, const char *id)
{
	char sid[24] = "-";
	if (json_get(x, "subscription_id") != NULL)
		snprintf(sid, sizeof(sid), "%" PRIu64, json_get_u64(x, "subscription_id", 0));
	if (id != NULL)
		printf("%-24s ", id);
	printf("%-32s %-3" PRIu64 " %-8s %-8s %-3" PRIu64 " %s\n", ctl__s(x, "filter"),
	       json_get_u64(x, "qos", 0), json_get_bool(x, "no_local", false) ? "yes" : "no",
	       json_get_bool(x, "retain_as_published", false) ? "yes" : "no",
	       json_get_u64(x, "retain_handling", 0), sid);
}

static void ctl__print_client(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *c = json_get(r, "client");
	if (c == NULL || c->type != JSON_OBJECT)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->items[i]->type == JSON_ARRAY)
			continue;
		printf("%-20s ", c->keys[i]);
		ctl__print_value(c->items[i]);
		printf("\n");
	}
	const struct json_value *s = json_get(c, "subscription_list");
	if (s != NULL && s->type == JSON_ARRAY) {
		printf("\nsubscriptions\n  %-32s %-3s %-8s %-8s %-3s %s\n", "filter", "qos",
		       "no-local", "rap", "rh", "sub-id");
		for (size_t i = 0; i < s->n; i++) {
			printf("  ");
			ctl__sub_row(s->items[i], NULL);
		}
	}
}

static void ctl__print_subs(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *s = json_get(r, "subscriptions");
	if (s == NULL || s->type != JSON_ARRAY)
		return;
	printf("%-24s %-32s %-3s %-8s %-8s %-3s %s\n", "client-id", "filter", "qos", "no-local",
	       "rap", "rh", "sub-id");
	for (size_t i = 0; i < s->n; i++)
		ctl__sub_row(s->items[i], ctl__s(s->items[i], "client_id"));
	ctl__page_footer(r, "subscriptions");
}

static void ctl__print_retained(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *v = json_get(r, "retained");
	if (v != NULL && v->type == JSON_OBJECT) {
		ctl__kv("topic", json_get(v, "topic"));
		ctl__kv("qos", json_get(v, "qos"));
		ctl__kv("bytes", json_get(v, "bytes"));
		if (json_get(v, "payload") != NULL)
			ctl__kv("payload", json_get(v, "payload"));
		else
			ctl__kv("payload (hex)", json_get(v, "payload_hex"));
		return;
	}
	if (v != NULL && v->type == JSON_ARRAY) {
		printf("%-48s %-3s %s\n", "topic", "qos", "bytes");
		for (size_t i = 0; i < v->n; i++)
			printf("%-48s %-3" PRIu64 " %" PRIu64 "\n", ctl__s(v->items[i], "topic"),
			       json_get_u64(v->items[i], "qos", 0),
			       json_get_u64(v->items[i], "bytes", 0));
		ctl__page_footer(r, "retained messages");
		return;
	}
	printf("%s: %s\n", ctl__s(r, "topic"), ctl__s(r, "message"));
}

static void ctl__print_kick(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	printf("client '%s' disconnected (worker %" PRIu64 ")\n", ctl__s(r, "client_id"),
	       json_get_u64(r, "worker", 0));
}

static void ctl__print_publish(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	printf("published %" PRIu64 " bytes to '%s'\n", json_get_u64(r, "bytes", 0),
	       ctl__s(r, "topic"));
}

static void ctl__setting_row(const struct json_value *x)
{
	printf("%-36s %-24s %-7s %s\n", ctl__s(x, "key"), ctl__s(x, "value"),
	       json_get_bool(x, "runtime", false) ? "yes" : "no", ctl__s(x, "allowed"));
}

static void ctl__print_config(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *one = json_get(r, "setting");
	const struct json_value *all = json_get(r, "settings");
	printf("%-36s %-24s %-7s %s\n", "key", "value", "runtime", "allowed");
	if (one != NULL)
		ctl__setting_row(one);
	for (size_t i = 0; all != NULL && all->type == JSON_ARRAY && i < all->n; i++)
		ctl__setting_row(all->items[i]);
}

static void ctl__print_reload(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	printf("reloaded %s\n", ctl__s(r, "config"));
	const struct json_value *a = json_get(r, "applied");
	for (size_t i = 0; a != NULL && a->type == JSON_ARRAY && i < a->n; i++)
		printf("  applied           %s: %s -> %s\n", ctl__s(a->items[i], "key"),
		       ctl__s(a->items[i], "old"), ctl__s(a->items[i], "new"));
	const struct json_value *n = json_get(r, "restart_required");
	for (size_t i = 0; n != NULL && n->type == JSON_ARRAY && i < n->n; i++)
		printf("  needs a restart   %s\n", n->items[i]->type == JSON_STRING
							 ? n->items[i]->str : "?");
	const struct json_value *f = json_get(r, "failed");
	for (size_t i = 0; f != NULL && f->type == JSON_ARRAY && i < f->n; i++)
		printf("  refused           %s\n", ctl__s(f->items[i], "message"));
	if ((a == NULL || a->n == 0) && (n == NULL || n->n == 0) && (f == NULL || f->n == 0))
		printf("  no changes\n");
}

static void ctl__print_log(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	printf("log level %s\n", ctl__s(r, "log_level"));
}

/* ---- user / acl -------------------------------------------------------------------- */

static void ctl__print_auth(const struct ctl_opts *o, const struct json_value *r)
{
	(void)o;
	const struct json_value *u = json_get(r, "users");
	const struct json_value *f = json_get(r, "files");
	const char *text = json_get_str(r, "text");
	if (u != NULL && u->type == JSON_ARRAY) {
		for (size_t i = 0; i < u->n; i++)
			printf("%s\n", u->items[i]->type == JSON_STRING ? u->items[i]->str : "?");
	} else if (f != NULL && f->type == JSON_ARRAY) {
		for (size_t i = 0; i < f->n; i++) {
			const struct json_value *x = f->items[i];
			const char *what = json_get(x, "rules") != NULL ? "rules" : "users";
			printf("%s: %" PRIu64 " %s\n", json_get_str(x, "file") ?: "?",
			       json_get_u64(x, what, 0), what);
		}
	} else if (text != NULL) {
		fputs(text, stdout);
	} else {
		const char *m = json_get_str(r, "message");
		printf("%s%s%s\n", m != NULL ? m : "ok", json_get_str(r, "file") ? ": " : "",
		       json_get_str(r, "file") ?: "");
	}
}

/* user / acl build their own request (ctl__auth); this only lets main() collect the words. */
static int ctl__build_auth(struct json_writer *w, int argc, char **argv)
{
	(void)w;
	(void)argc;
	(void)argv;
	return 0;
}

static const struct ctl_cmd ctl__cmds[] = {
	{ "status", "status", "version, uptime, workers, ports and addresses",
	  ctl__print_status, NULL, NULL },
	{ "stats", "stats [--all]", "per-worker counters and port statistics (--all: "
	  "include zero counters)", ctl__print_stats, NULL, NULL },
	{ "clients", "clients [FILTERS]", "connected clients",
	  ctl__print_clients, ctl__build_list,
	  "  --prefix P        client ids starting with P\n"
	  "  --worker N        on worker N only\n"
	  "  --protocol V      protocol level 3 (3.1), 4 (3.1.1) or 5 (5.0)\n"
	  "  --state S         online (default), offline or all\n"
	  "  --offset N, --limit N   page through the list (sorted by client id; limit 1000)\n" },
	{ "client", "client ID", "one client's detail and subscriptions", ctl__print_client,
	  ctl__build_id, NULL },
	{ "kick", "kick ID", "disconnect a client (MQTT 5: DISCONNECT 0x98; its will is sent)",
	  ctl__print_kick, ctl__build_id, NULL },
	{ "sessions", "sessions [FILTERS]", "sessions, offline ones included, with expiry",
	  ctl__print_clients, ctl__build_list,
	  "  the filters of `clients`; --state defaults to all\n" },
	{ "subscriptions", "subscriptions [--client ID] [--filter F]",
	  "subscriptions of every session, of one client, or with one exact filter",
	  ctl__print_subs, ctl__build_subs, NULL },
	{ "retained", "retained list [FILTER] | get TOPIC | clear TOPIC",
	  "retained messages: list (filter default #, $SYS included), show one, remove one",
	  ctl__print_retained, ctl__build_retained, NULL },
	{ "publish", "publish TOPIC [PAYLOAD] [--qos N] [--retain]",
	  "publish a message as the broker itself", ctl__print_publish, ctl__build_publish,
	  NULL },
	{ "config", "config get [KEY] | set KEY VALUE",
	  "show settings; change one that may change at run time", ctl__print_config,
	  ctl__build_config, NULL },
	{ "reload", "reload", "re-read the config file: apply run-time keys, list the others",
	  ctl__print_reload, NULL, NULL },
	{ "log", "log [LEVEL]", "show or set the log level (error|warning|notice|info|debug)",
	  ctl__print_log, ctl__build_log, NULL },
	{ "shutdown", "shutdown", "stop the broker (like SIGTERM)", ctl__print_message, NULL,
	  NULL },
	{ "snapshot", "snapshot", "write a persistence snapshot now", ctl__print_message,
	  NULL, NULL },
	{ "tls-reload", "tls-reload", "re-read TLS certificates, keys and CA files (open "
	  "connections keep theirs)", ctl__print_message, NULL, NULL },
	{ "user", "user add|passwd NAME [-p PASSWORD] | user delete NAME | user list | "
	  "user reload  [--file PATH]", "change the password_file (password read from stdin "
	  "without -p)", ctl__print_auth, ctl__build_auth, NULL },
	{ "acl", "acl list | acl reload | acl add|remove [--user NAME|--pattern] "
	  "read|write|readwrite|deny FILTER  [--file PATH]", "show, reload or change the acl_file",
	  ctl__print_auth, ctl__build_auth, NULL },
	{ "help", "help", "list the commands the broker itself accepts", ctl__print_help, NULL,
	  NULL },
};

static void ctl__usage(FILE *f)
{
	fprintf(f, "Usage: tachyonctl [-s SOCKET] [--json] [--timeout SEC] COMMAND [options]\n"
		"Talks to tachyond's management socket (default %s).\n\n"
		"Commands:\n", CTL_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(ctl__cmds) / sizeof(ctl__cmds[0]); i++)
		fprintf(f, "  %-50s %s\n", ctl__cmds[i].usage, ctl__cmds[i].help);
	fprintf(f, "  FILTERS of clients/sessions: --prefix P --worker N --protocol 3|4|5\n"
		"    --state online|offline|all --offset N --limit N\n");
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

static int ctl__run(const struct ctl_opts *o, const struct ctl_cmd *cmd, const char *req)
{
	int fd = ctl__connect(o->socket);
	if (fd < 0)
		return CTL_EXIT_USAGE;
	size_t n = strlen(req);
	if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
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

/* Read a password: the first line of stdin, without its line break. */
static char *ctl__read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password: ");
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/*
 * `user ...` and `acl ...`: parse the subcommand into one request, e.g.
 * {"cmd":"user_add","user":"alice","password":"..."} (docs/security.md).
 */
static int ctl__auth(const struct ctl_opts *o, const struct ctl_cmd *cmd, int argc, char **argv)
{
	bool is_user = strcmp(cmd->name, "user") == 0;
	if (argc < 1) {
		fprintf(stderr, "Usage: tachyonctl %s\n", cmd->usage);
		return CTL_EXIT_USAGE;
	}
	const char *sub = argv[0];
	const char *file = NULL, *pass = NULL, *user = NULL;
	bool pattern = false;
	const char *pos[2] = { NULL, NULL };
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (strcmp(a, "--file") == 0 && has_val)
			file = argv[++i];
		else if (is_user && (strcmp(a, "-p") == 0 || strcmp(a, "--password") == 0) && has_val)
			pass = argv[++i];
		else if (!is_user && strcmp(a, "--user") == 0 && has_val)
			user = argv[++i];
		else if (!is_user && strcmp(a, "--pattern") == 0)
			pattern = true;
		else if (a[0] != '-' && npos < 2)
			pos[npos++] = a;
		else {
			fprintf(stderr, "tachyonctl: %s %s: unexpected argument '%s'\nUsage: "
				"tachyonctl %s\n", cmd->name, sub, a, cmd->usage);
			return CTL_EXIT_USAGE;
		}
	}
	bool named = is_user && (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0 ||
				 strcmp(sub, "delete") == 0);
	bool rule = !is_user && (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0);
	bool plain = strcmp(sub, "list") == 0 || strcmp(sub, "reload") == 0;
	int want = named ? 1 : rule ? 2 : 0;
	if ((!named && !rule && !plain) || npos != want) {
		fprintf(stderr, "Usage: tachyonctl %s\n", cmd->usage);
		return CTL_EXIT_USAGE;
	}
	char *owned = NULL;
	if (named && strcmp(sub, "delete") != 0 && pass == NULL) {
		owned = ctl__read_password();
		if (owned == NULL) {
			fprintf(stderr, "tachyonctl: no password on stdin (or give -p)\n");
			return CTL_EXIT_USAGE;
		}
		pass = owned;
	}
	char name[32];
	snprintf(name, sizeof(name), "%s_%s", cmd->name, sub);
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_str(&w, "cmd", name);
	if (named)
		json_kv_str(&w, "user", pos[0]);
	if (pass != NULL)
		json_kv_str(&w, "password", pass);
	if (rule) {
		json_kv_str(&w, "kind", pattern ? "pattern" : "topic");
		if (user != NULL)
			json_kv_str(&w, "user", user);
		json_kv_str(&w, "access", pos[0]);
		json_kv_str(&w, "filter", pos[1]);
	}
	if (file != NULL)
		json_kv_str(&w, "file", file);
	json_obj_end(&w);
	const char *js = json_writer_str(&w);
	int rc = js != NULL ? ctl__run(o, cmd, js) : CTL_EXIT_USAGE;
	json_writer_free(&w);
	if (owned != NULL) {
		memset(owned, 0, strlen(owned));
		free(owned);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .socket = CTL_DEFAULT_SOCKET, .timeout_ms = 5000 };
	const struct ctl_cmd *cmd = NULL;
	bool cmd_help = false;
	/* The command's own arguments, in order (global options may come anywhere), compacted
	 * into argv[1..]: the command word precedes each of them, so a slot is reused only
	 * after it was read. */
	char **cargv = argv + 1;
	int cargc = 0;

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
		} else if (cmd != NULL && cmd->build != NULL) {
			cargv[cargc++] = argv[i];
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
		printf("Usage: tachyonctl [-s SOCKET] [--json] %s\n  %s\n%s", cmd->usage, cmd->help,
		       cmd->details != NULL ? cmd->details : "");
		return CTL_EXIT_OK;
	}
	if (cmd->print == ctl__print_auth)
		return ctl__auth(&o, cmd, cargc, cargv);
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_str(&w, "cmd", cmd->name);
	if (cmd->build != NULL && cmd->build(&w, cargc, cargv) != 0) {
		fprintf(stderr, "Usage: tachyonctl %s (tachyonctl %s --help)\n", cmd->usage,
			cmd->name);
		json_writer_free(&w);
		return CTL_EXIT_USAGE;
	}
	json_obj_end(&w);
	const char *req = json_writer_str(&w);
	int rc = req != NULL ? ctl__run(&o, cmd, req) : CTL_EXIT_USAGE;
	json_writer_free(&w);
	return rc;
}
