/**
 * @file exporter.c
 * tachyon-exporter: serves Prometheus metrics about a running tachyond.
 *
 *   tachyon-exporter [--listen ADDR:PORT] [--socket PATH] [--timeout SEC] [--once] [--help]
 *
 * Data flow per scrape: GET /metrics -> one management connection sending {"cmd":"status"}
 * and {"cmd":"stats"} (mgmt_client.c, bounded by --timeout) -> json_parse -> conv_metrics()
 * (convert.c) -> prom_render() (prom.c) -> the response. Nothing is cached between scrapes:
 * every scrape shows the broker as it is now, and when the broker does not answer the
 * exporter still answers, with tachyon_up 0.
 *
 * One thread, one ppoll() loop over the listening socket and up to EXP_MAX_CONNS client
 * connections, each a small state machine (read the head -> write the response -> drain
 * until the client closes). HTTP I/O never blocks, so a slow or hostile client holds only
 * its own slot, and only until its deadline. The management query itself is synchronous:
 * it is bounded by --timeout, and scrapes are rare (one per scrape interval per Prometheus),
 * so the simplicity is worth more than overlapping two scrapes.
 *
 * Exit codes: 0 after SIGINT/SIGTERM; 1 cannot listen; 2 bad command line. With --once: 0
 * metrics printed, 3 the broker did not answer (tachyon_up 0 printed), 1 out of memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "http.h"
#include "mgmt_client.h"
#include "prom.h"
#include "util/json.h"
#include "util/log.h"

#ifndef TACHYON_VERSION
#define TACHYON_VERSION "dev"
#endif

#define EXP_DEFAULT_LISTEN "127.0.0.1:9883"
#define EXP_DEFAULT_SOCKET "/run/tachyon/tachyon.sock"
#define EXP_MAX_CONNS 32               /* concurrent HTTP clients; more wait in the backlog */
#define EXP_READ_TIMEOUT_MS 5000       /* a request head must arrive within this */
#define EXP_WRITE_TIMEOUT_MS 30000     /* ... and the response must be taken within this */
#define EXP_DRAIN_TIMEOUT_MS 2000      /* lingering after the response, see exp__drain */
#define EXP_MAX_REPLY (64u << 20)      /* bound on the management replies of one scrape */

struct exp_opts {
	const char *listen;
	const char *socket;
	int timeout_ms;
};

enum exp_conn_state {
	EXP_FREE = 0,
	EXP_READING,    /**< collecting the request head */
	EXP_WRITING,    /**< sending out.p[off..len) */
	EXP_DRAINING,   /**< response sent and write side shut: wait for the client's close */
};

/** One HTTP client. Invariant: fd >= 0 exactly when state != EXP_FREE. */
struct exp_conn {
	enum exp_conn_state state;
	int fd;
	char in[HTTP_MAX_HEAD];
	size_t in_len;
	struct prom_buf out;   /**< the whole response */
	size_t off;            /**< bytes of out already sent */
	int64_t deadline_ms;   /**< the current state's deadline (monotonic) */
};

struct exp {
	struct exp_opts o;
	int lfd;
	struct exp_conn conns[EXP_MAX_CONNS];
	unsigned n_conns;
	uint64_t scrape_errors;   /**< failed management queries since start */
	bool broker_down;         /**< state of the last scrape, to log transitions only */
	char *last_notes;         /**< the converter's problem notes last logged (malloc'd) */
};

static volatile sig_atomic_t exp__stop;

static void exp__on_signal(int sig)
{
	(void)sig;
	exp__stop = 1;
}

static int64_t exp__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double exp__now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the scrape --------------------------------------------------------------------- */

/* Stats values the converter could not map mean a mismatch between tachyond and this
 * exporter (docs/operations.md, "Stats schema"). Log them when they change, not per scrape. */
static void exp__log_notes(struct exp *e, const struct prom_buf *notes)
{
	const char *now = notes->p != NULL ? notes->p : "";
	if (strcmp(now, e->last_notes != NULL ? e->last_notes : "") == 0)
		return;
	if (now[0] != '\0')
		TLOG_WARN("exporter", "stats values not exported (schema mismatch):\n%s", now);
	free(e->last_notes);
	e->last_notes = strdup(now);
}

/* Ask the broker, convert, render. @return the body (malloc'd) or NULL (out of memory). */
static char *exp__scrape(struct exp *e, size_t *len)
{
	static const char *const reqs[2] = { "{\"cmd\":\"status\"}", "{\"cmd\":\"stats\"}" };
	char *replies[2];
	char err[256] = "";
	double t0 = exp__now_s();
	int rc = mgc_query(e->o.socket, reqs, 2, e->o.timeout_ms, EXP_MAX_REPLY, replies, err,
			   sizeof(err));
	double took = exp__now_s() - t0;

	struct json_value *status = NULL, *stats = NULL;
	if (rc == 0) {
		char perr[128];
		status = json_parse(replies[0], strlen(replies[0]), perr, sizeof(perr));
		stats = json_parse(replies[1], strlen(replies[1]), perr, sizeof(perr));
		if (stats == NULL)
			snprintf(err, sizeof(err), "unreadable stats reply: %s", perr);
		else if (!json_get_bool(stats, "ok", false))
			snprintf(err, sizeof(err), "stats failed: %.200s", replies[1]);
		free(replies[0]);
		free(replies[1]);
	}
	bool up = stats != NULL && json_get_bool(stats, "ok", false);
	if (!up)
		e->scrape_errors++;
	/* Log transitions, not every failed scrape: a broker down for an hour would otherwise
	 * write a line per scrape interval to the journal. */
	if (!up && !e->broker_down)
		TLOG_WARN("exporter", "broker not answering: %s", err);
	else if (up && e->broker_down)
		TLOG_NOTICE("exporter", "broker answering again");
	e->broker_down = !up;

	struct conv_input in = {
		.stats = up ? stats : NULL,
		.status = up ? status : NULL,
		.scrape_seconds = took,
		.scrape_errors = e->scrape_errors,
	};
	struct prom_set set;
	struct prom_buf notes = { 0 };
	prom_set_init(&set);
	char *body = NULL;
	if (conv_metrics(&in, &set, &notes) == 0)
		body = prom_render(&set, len);
	exp__log_notes(e, &notes);
	prom_buf_free(&notes);
	prom_set_free(&set);
	json_free(status);
	json_free(stats);
	return body;
}

/* ---- HTTP --------------------------------------------------------------------------- */

static const char exp__index[] =
	"<!DOCTYPE html>\n<html><head><title>tachyon-exporter</title></head>\n"
	"<body><h1>tachyon-exporter</h1>\n"
	"<p>Prometheus metrics of the Tachyon MQTT broker: <a href=\"/metrics\">/metrics</a></p>\n"
	"</body></html>\n";

/* Build the response to a complete (or hopeless) request into c->out. */
static void exp__respond(struct exp *e, struct exp_conn *c, enum http_parse_result pr,
			 const struct http_request *req)
{
	const char *text = "text/plain; charset=utf-8";
	if (pr == HTTP_TOO_LARGE) {
		http_response(&c->out, 431, text, NULL, "request head too large\n", 23, false);
		return;
	}
	if (pr != HTTP_DONE) {
		http_response(&c->out, 400, text, NULL, "bad request\n", 12, false);
		return;
	}
	bool head = strcmp(req->method, "HEAD") == 0;
	if (!head && strcmp(req->method, "GET") != 0) {
		http_response(&c->out, 405, text, "Allow: GET, HEAD\r\n", "method not allowed\n",
			      19, false);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		size_t len = 0;
		char *body = exp__scrape(e, &len);
		if (body == NULL) {
			http_response(&c->out, 500, text, NULL, "out of memory\n", 14, head);
			return;
		}
		http_response(&c->out, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body,
			      len, head);
		free(body);
	} else if (strcmp(req->path, "/") == 0) {
		http_response(&c->out, 200, "text/html; charset=utf-8", NULL, exp__index,
			      sizeof(exp__index) - 1, head);
	} else {
		http_response(&c->out, 404, text, NULL, "not found; try /metrics\n", 24, head);
	}
}

static void exp__close(struct exp *e, struct exp_conn *c)
{
	close(c->fd);
	prom_buf_free(&c->out);
	c->fd = -1;
	c->state = EXP_FREE;
	c->in_len = 0;
	c->off = 0;
	e->n_conns--;
}

/* Send what the socket takes; on completion shut the write side and start draining. */
static void exp__write(struct exp *e, struct exp_conn *c)
{
	while (c->off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->off, c->out.len - c->off, MSG_NOSIGNAL);
		if (w > 0) {
			c->off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		exp__close(e, c); /* the client went away */
		return;
	}
	/* Closing at once could reset the connection if the client sent more than we read
	 * (a body, a pipelined request): the kernel then sends RST and the client may lose
	 * the tail of our response. Shut our side and wait briefly for the client's close. */
	shutdown(c->fd, SHUT_WR);
	c->state = EXP_DRAINING;
	c->deadline_ms = exp__now_ms() + EXP_DRAIN_TIMEOUT_MS;
}

static void exp__start_response(struct exp *e, struct exp_conn *c, enum http_parse_result pr,
				const struct http_request *req)
{
	exp__respond(e, c, pr, req);
	if (c->out.err) {
		exp__close(e, c);
		return;
	}
	c->state = EXP_WRITING;
	c->deadline_ms = exp__now_ms() + EXP_WRITE_TIMEOUT_MS;
	exp__write(e, c);
}

static void exp__read(struct exp *e, struct exp_conn *c)
{
	for (;;) {
		if (c->state == EXP_DRAINING) {
			char sink[4096];
			ssize_t r = recv(c->fd, sink, sizeof(sink), 0);
			if (r > 0)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			exp__close(e, c);
			return;
		}
		size_t room = sizeof(c->in) - c->in_len;
		ssize_t r = room > 0 ? recv(c->fd, c->in + c->in_len, room, 0) : 0;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0 && room > 0) {
			exp__close(e, c); /* closed or failed before a complete request */
			return;
		}
		c->in_len += (size_t)r;
		struct http_request req = { 0 };
		enum http_parse_result pr = http_parse(c->in, c->in_len, &req);
		if (pr == HTTP_NEED_MORE && c->in_len < sizeof(c->in))
			continue;
		if (pr == HTTP_NEED_MORE)
			pr = HTTP_TOO_LARGE;
		exp__start_response(e, c, pr, &req);
		return;
	}
}

static void exp__accept(struct exp *e)
{
	while (e->n_conns < EXP_MAX_CONNS) {
		int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				TLOG_WARN("exporter", "accept: %s", strerror(errno));
			return;
		}
		for (unsigned i = 0; i < EXP_MAX_CONNS; i++) {
			struct exp_conn *c = &e->conns[i];
			if (c->state != EXP_FREE)
				continue;
			c->state = EXP_READING;
			c->fd = fd;
			c->in_len = 0;
			c->off = 0;
			c->deadline_ms = exp__now_ms() + EXP_READ_TIMEOUT_MS;
			e->n_conns++;
			break;
		}
	}
}

/* Connections past their deadline: a slow request gets a 408, the rest are closed. */
static void exp__expire(struct exp *e, int64_t now)
{
	for (unsigned i = 0; i < EXP_MAX_CONNS; i++) {
		struct exp_conn *c = &e->conns[i];
		if (c->state == EXP_FREE || now < c->deadline_ms)
			continue;
		if (c->state == EXP_READING) {
			http_response(&c->out, 408, "text/plain; charset=utf-8", NULL,
				      "request timeout\n", 16, false);
			c->state = EXP_WRITING;
			/* One short chance to take the 408, then the slot is freed. */
			c->deadline_ms = now + EXP_DRAIN_TIMEOUT_MS;
			exp__write(e, c);
		} else {
			exp__close(e, c);
		}
	}
}

static int exp__run(struct exp *e)
{
	struct pollfd pfd[EXP_MAX_CONNS + 1];
	struct exp_conn *who[EXP_MAX_CONNS + 1];
	sigset_t waitmask;
	sigprocmask(SIG_SETMASK, NULL, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	while (!exp__stop) {
		int64_t now = exp__now_ms();
		int64_t next = now + 60000;
		unsigned n = 0;
		/* When every slot is taken, stop accepting: new clients wait in the backlog. */
		if (e->n_conns < EXP_MAX_CONNS) {
			pfd[n] = (struct pollfd){ .fd = e->lfd, .events = POLLIN };
			who[n++] = NULL;
		}
		for (unsigned i = 0; i < EXP_MAX_CONNS; i++) {
			struct exp_conn *c = &e->conns[i];
			if (c->state == EXP_FREE)
				continue;
			pfd[n] = (struct pollfd){ .fd = c->fd,
				.events = c->state == EXP_WRITING ? POLLOUT : POLLIN };
			who[n++] = c;
			if (c->deadline_ms < next)
				next = c->deadline_ms;
		}
		int64_t wait = next > now ? next - now : 0;
		struct timespec ts = { .tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000 };
		/* SIGINT/SIGTERM are blocked outside ppoll, so a signal cannot slip in between the
		 * exp__stop check and the wait. */
		int rc = ppoll(pfd, n, &ts, &waitmask);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			TLOG_ERR("exporter", "ppoll: %s", strerror(errno));
			return 1;
		}
		for (unsigned i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			struct exp_conn *c = who[i];
			if (c == NULL)
				exp__accept(e);
			else if (c->state == EXP_WRITING)
				exp__write(e, c);
			else if (c->state != EXP_FREE)
				exp__read(e, c);
		}
		exp__expire(e, exp__now_ms());
	}
	return 0;
}

/* ---- start-up ----------------------------------------------------------------------- */

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses). Binds and listens. */
static int exp__listen(const char *spec, char *bound, size_t boundlen)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (rb == NULL || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host))
			return -2;
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		port = rb + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
			return -2;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	if (port[0] == '\0')
		return -2;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int gai = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (gai != 0) {
		fprintf(stderr, "tachyon-exporter: --listen %s: %s\n", spec, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	int last_errno = 0;
	for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
			last_errno = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "tachyon-exporter: cannot listen on %s: %s\n", spec,
			strerror(last_errno));
		return -1;
	}
	/* Report the real port: with port 0 the kernel picks one (tests use that). */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[NI_MAXHOST], p[NI_MAXSERV];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	else
		snprintf(bound, boundlen, "%s", spec);
	return fd;
}

static void exp__usage(FILE *f)
{
	fprintf(f,
		"Usage: tachyon-exporter [--listen ADDR:PORT] [--socket PATH] [--timeout SEC] [--once]\n"
		"Serves Prometheus metrics of a running tachyond at http://ADDR:PORT/metrics.\n"
		"\n"
		"  -l, --listen ADDR:PORT  address to serve on (default %s);\n"
		"                          [V6ADDR]:PORT for IPv6, :PORT for every IPv4 address,\n"
		"                          port 0 picks a free port (printed at start)\n"
		"  -s, --socket PATH       tachyond's management socket (default %s)\n"
		"  -t, --timeout SEC       how long one scrape waits for the broker (default 2)\n"
		"      --once              print one scrape to stdout and exit (0; 3 if the\n"
		"                          broker did not answer)\n"
		"  -v, --verbose           log more (repeat for debug)\n"
		"  -h, --help              this text\n"
		"      --version           print the version\n"
		"\n"
		"When the broker does not answer, /metrics still answers, with tachyon_up 0.\n",
		EXP_DEFAULT_LISTEN, EXP_DEFAULT_SOCKET);
}

/* "--name VALUE" or "--name=VALUE"; @return the value, NULL if @p a is another option. */
static const char *exp__optval(int argc, char **argv, int *i, const char *shrt, const char *lng)
{
	const char *a = argv[*i];
	size_t ll = strlen(lng);
	if (strncmp(a, lng, ll) == 0 && a[ll] == '=')
		return a + ll + 1;
	if (strcmp(a, lng) != 0 && strcmp(a, shrt) != 0)
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "tachyon-exporter: %s needs a value\n", a);
		exit(2);
	}
	return argv[++*i];
}

int main(int argc, char **argv)
{
	static struct exp e; /* large (connection buffers): not on the stack */
	e.o = (struct exp_opts){ .listen = EXP_DEFAULT_LISTEN, .socket = EXP_DEFAULT_SOCKET,
				 .timeout_ms = 2000 };
	int verbosity = TLOG_NOTICE;
	bool once = false;

	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = exp__optval(argc, argv, &i, "-l", "--listen")) != NULL) {
			e.o.listen = v;
		} else if ((v = exp__optval(argc, argv, &i, "-s", "--socket")) != NULL) {
			e.o.socket = v;
		} else if ((v = exp__optval(argc, argv, &i, "-t", "--timeout")) != NULL) {
			char *end;
			double s = strtod(v, &end);
			if (*end != '\0' || !(s > 0 && s <= 600)) {
				fprintf(stderr, "tachyon-exporter: --timeout needs seconds (0 < SEC <= 600)\n");
				return 2;
			}
			e.o.timeout_ms = (int)(s * 1000) > 0 ? (int)(s * 1000) : 1;
		} else if (strcmp(argv[i], "--once") == 0) {
			once = true;
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbosity++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			exp__usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tachyon-exporter %s\n", TACHYON_VERSION);
			return 0;
		} else {
			fprintf(stderr, "tachyon-exporter: unexpected argument '%s'\n\n", argv[i]);
			exp__usage(stderr);
			return 2;
		}
	}
	tlog_set_level(verbosity);

	if (once) {
		/* One scrape to stdout: for a quick look, scripts, and checking a new tachyond's
		 * stats against this exporter (schema notes go to stderr). */
		size_t len = 0;
		char *body = exp__scrape(&e, &len);
		if (body != NULL)
			fwrite(body, 1, len, stdout);
		free(body);
		free(e.last_notes);
		return body == NULL ? 1 : e.broker_down ? 3 : 0;
	}

	char bound[300];
	e.lfd = exp__listen(e.o.listen, bound, sizeof(bound));
	if (e.lfd == -2) {
		fprintf(stderr, "tachyon-exporter: --listen wants ADDR:PORT, [V6ADDR]:PORT or :PORT, not '%s'\n",
			e.o.listen);
		return 2;
	}
	if (e.lfd < 0)
		return 1;
	for (unsigned i = 0; i < EXP_MAX_CONNS; i++)
		e.conns[i].fd = -1;

	struct sigaction sa = { .sa_handler = exp__on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* One line on stdout that scripts (and the integration test) can wait for. */
	printf("tachyon-exporter %s listening on http://%s/metrics, management socket %s\n",
	       TACHYON_VERSION, bound, e.o.socket);
	fflush(stdout);
	TLOG_NOTICE("exporter", "listening on http://%s/metrics, management socket %s", bound,
		    e.o.socket);

	int rc = exp__run(&e);
	for (unsigned i = 0; i < EXP_MAX_CONNS; i++)
		if (e.conns[i].state != EXP_FREE)
			exp__close(&e, &e.conns[i]);
	close(e.lfd);
	free(e.last_notes);
	TLOG_NOTICE("exporter", "stopped");
	return rc;
}
