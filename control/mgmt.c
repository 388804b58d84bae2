/**
 * @file mgmt.c
 * Management socket server (see mgmt.h): epoll over the listening socket, the clients, a
 * signalfd and a timerfd; line framing with per-client input and output buffers; dispatch
 * through the command table.
 *
 * Clients are non-blocking: a client that sends a request and does not read its reply only
 * fills its own output buffer (EPOLLOUT resumes it), it never blocks the control core.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt.h"
#include "util/json.h"
#include "util/log.h"

struct mgmt__client {
	int fd;                 /* -1 = slot free */
	char *in;               /* partial request line */
	size_t in_len;
	char *out;              /* reply bytes not yet written */
	size_t out_len, out_off;
	bool closing;           /* close once out is written */
};

struct mgmt {
	char path[108];
	int listen_fd, epfd, sig_fd, timer_fd;
	const struct mgmt_cmd *cmds;
	void *ctx;
	void (*tick)(void *ctx);
	bool stop;
	struct mgmt__client clients[MGMT_MAX_CLIENTS];
	struct { void (*fn)(void *ctx); void *ctx; } watch[MGMT_MAX_WATCH];
	unsigned n_watch;
};

/* epoll data: small integers for our own fds, watched fds from MGMT__EV_WATCH, client
 * index + MGMT__EV_CLIENT for clients. */
enum { MGMT__EV_LISTEN = 1, MGMT__EV_SIGNAL, MGMT__EV_TIMER, MGMT__EV_WATCH = 8,
       MGMT__EV_CLIENT = 16 };
_Static_assert(MGMT__EV_WATCH + MGMT_MAX_WATCH <= MGMT__EV_CLIENT, "watch ids overlap");

static int mgmt__epoll_add(struct mgmt *m, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int mgmt_watch(struct mgmt *m, int fd, void (*fn)(void *ctx), void *ctx)
{
	if (m->n_watch >= MGMT_MAX_WATCH)
		return -1;
	if (mgmt__epoll_add(m, fd, EPOLLIN, MGMT__EV_WATCH + m->n_watch) != 0)
		return -1;
	m->watch[m->n_watch].fn = fn;
	m->watch[m->n_watch].ctx = ctx;
	m->n_watch++;
	return 0;
}

int mgmt_error(struct mgmt_req *req, const char *code, const char *fmt, ...)
{
	snprintf(req->code, sizeof(req->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req->message, sizeof(req->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* mkdir -p for the socket's directory (/run/tachyon on a fresh boot). */
static int mgmt__mkdir_parent(const char *path, char *err, size_t errlen)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create directory %s: %s", dir,
					 strerror(errno));
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int mgmt_lock(const char *path, char *err, size_t errlen)
{
	if (mgmt__mkdir_parent(path, err, errlen) != 0)
		return -1;
	char lock[300];
	snprintf(lock, sizeof(lock), "%s.lock", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock file %s: %s", lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0) {
			pid[n] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
		}
		if (errno == EWOULDBLOCK || errno == EAGAIN || n > 0)
			snprintf(err, errlen, "another tachyond%s%s%s is already running with "
				 "management socket %s (lock %s held); stop it or set mgmt_socket "
				 "to another path", pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "",
				 path, lock);
		else
			snprintf(err, errlen, "cannot lock %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		TLOG_WARN("mgmt", "cannot write pid to %s: %s", lock, strerror(errno));
	return fd;
}

void mgmt_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd); /* releases the flock; the file stays (see docs/management.md) */
}


static int mgmt__listen(struct mgmt *m, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(m->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "management socket path too long: %s", m->path);
		return -1;
	}
	memcpy(sa.sun_path, m->path, strlen(m->path) + 1);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* We hold the lock, so a socket file left here is stale (a crashed tachyond). */
	unlink(m->path);
	/* Create it private, then widen: no window in which others could connect. */
	mode_t old = umask(0177);
	int rc = bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "cannot bind management socket %s: %s", m->path,
			 strerror(errno));
		return -1;
	}
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "mgmt_group %s: no such group", group);
			return -1;
		}
		if (chown(m->path, (uid_t)-1, gr->gr_gid) != 0 || chmod(m->path, 0660) != 0) {
			snprintf(err, errlen, "cannot give %s to group %s: %s", m->path, group,
				 strerror(errno));
			return -1;
		}
	}
	if (listen(m->listen_fd, 16) != 0) {
		snprintf(err, errlen, "listen on %s: %s", m->path, strerror(errno));
		return -1;
	}
	return 0;
}

struct mgmt *mgmt_open(const char *path, const char *group, const struct mgmt_cmd *cmds,
		       void *ctx, void (*tick)(void *ctx), unsigned tick_ms, char *err,
		       size_t errlen)
{
	struct mgmt *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->cmds = cmds;
	m->ctx = ctx;
	m->tick = tick;
	m->listen_fd = m->epfd = m->sig_fd = m->timer_fd = -1;
	for (unsigned i = 0; i < MGMT_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;

	if (mgmt__listen(m, group, err, errlen) != 0)
		goto err;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	m->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->sig_fd < 0 || m->timer_fd < 0) {
		snprintf(err, errlen, "epoll/signalfd/timerfd: %s", strerror(errno));
		goto err;
	}
	struct itimerspec its = {
		.it_interval = { .tv_sec = tick_ms / 1000, .tv_nsec = (long)(tick_ms % 1000) * 1000000 },
	};
	its.it_value = its.it_interval;
	if (tick != NULL && tick_ms > 0 && timerfd_settime(m->timer_fd, 0, &its, NULL) != 0) {
		snprintf(err, errlen, "timerfd_settime: %s", strerror(errno));
		goto err;
	}
	if (mgmt__epoll_add(m, m->listen_fd, EPOLLIN, MGMT__EV_LISTEN) != 0 ||
	    mgmt__epoll_add(m, m->sig_fd, EPOLLIN, MGMT__EV_SIGNAL) != 0 ||
	    mgmt__epoll_add(m, m->timer_fd, EPOLLIN, MGMT__EV_TIMER) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		goto err;
	}
	return m;
err:
	mgmt_close(m);
	return NULL;
}

void mgmt_stop(struct mgmt *m)
{
	m->stop = true;
}

const struct mgmt_cmd *mgmt_commands(const struct mgmt *m)
{
	return m->cmds;
}

static void mgmt__error_reply(struct json_writer *out, const char *code, const char *msg)
{
	json_writer_reset(out);
	json_obj_begin(out);
	json_kv_bool(out, "ok", false);
	json_key(out, "error");
	json_obj_begin(out);
	json_kv_str(out, "code", code);
	json_kv_str(out, "message", msg);
	json_obj_end(out);
	json_obj_end(out);
}

void mgmt_dispatch(struct mgmt *m, const char *line, size_t len, struct json_writer *out)
{
	char perr[128];
	struct json_value *req = json_parse(line, len, perr, sizeof(perr));
	if (req == NULL) {
		char msg[200];
		snprintf(msg, sizeof(msg), "request is not valid JSON: %s", perr);
		mgmt__error_reply(out, "bad_request", msg);
		return;
	}
	const char *name = json_get_str(req, "cmd");
	if (name == NULL) {
		mgmt__error_reply(out, "bad_request",
				  "request must be an object with a string member \"cmd\"");
		goto done;
	}
	const struct mgmt_cmd *cmd = NULL;
	for (const struct mgmt_cmd *c = m->cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			cmd = c;
	if (cmd == NULL) {
		char msg[200];
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (try \"help\")", name);
		mgmt__error_reply(out, "unknown_command", msg);
		goto done;
	}
	struct mgmt_req r = { .m = m, .json = req, .out = out, .ctx = m->ctx };
	json_writer_reset(out);
	json_obj_begin(out);
	json_kv_bool(out, "ok", true);
	if (cmd->fn(&r) != 0) {
		mgmt__error_reply(out, r.code[0] ? r.code : "failed",
				  r.message[0] ? r.message : "command failed");
		goto done;
	}
	json_obj_end(out);
	if (json_writer_str(out) == NULL)
		mgmt__error_reply(out, "internal", "reply could not be built");
done:
	json_free(req);
}

static void mgmt__client_close(struct mgmt *m, unsigned i)
{
	struct mgmt__client *c = &m->clients[i];
	if (c->fd < 0)
		return;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Writes what the client can take; arms EPOLLOUT for the rest. @return -1 if it is gone. */
static int mgmt__client_flush(struct mgmt *m, unsigned i)
{
	struct mgmt__client *c = &m->clients[i];
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
						  .data.u64 = MGMT__EV_CLIENT + i };
			epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return 0;
		}
		return -1;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MGMT__EV_CLIENT + i };
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return c->closing ? -1 : 0;
}

static int mgmt__queue_reply(struct mgmt__client *c, const char *s, size_t n)
{
	char *nb = realloc(c->out, c->out_len + n + 1);
	if (nb == NULL)
		return -1;
	memcpy(nb + c->out_len, s, n);
	nb[c->out_len + n] = '\n';
	c->out = nb;
	c->out_len += n + 1;
	return 0;
}

static void mgmt__client_read(struct mgmt *m, unsigned i, struct json_writer *jw)
{
	struct mgmt__client *c = &m->clients[i];
	char buf[4096];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			/* Peer closed (or failed): replies still queued cannot be delivered. */
			mgmt__client_close(m, i);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		char *nb = realloc(c->in, c->in_len + (size_t)n);
		if (nb == NULL) {
			mgmt__client_close(m, i);
			return;
		}
		c->in = nb;
		memcpy(c->in + c->in_len, buf, (size_t)n);
		c->in_len += (size_t)n;

		/* Serve every complete line. */
		size_t start = 0;
		for (size_t k = 0; k < c->in_len; k++) {
			if (c->in[k] != '\n')
				continue;
			size_t len = k - start;
			if (len > 0 && c->in[start + len - 1] == '\r')
				len--;
			if (len > 0) {
				mgmt_dispatch(m, c->in + start, len, jw);
				const char *s = json_writer_str(jw);
				if (s == NULL || mgmt__queue_reply(c, s, strlen(s)) != 0) {
					mgmt__client_close(m, i);
					return;
				}
			}
			start = k + 1;
		}
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		if (c->in_len > MGMT_MAX_LINE) {
			mgmt__error_reply(jw, "request_too_long", "request line longer than 64 KiB");
			const char *s = json_writer_str(jw);
			mgmt__queue_reply(c, s, strlen(s));
			c->closing = true;
			c->in_len = 0;
			break;
		}
	}
	if (c->out_len > 0 && mgmt__client_flush(m, i) != 0)
		mgmt__client_close(m, i);
}

static void mgmt__accept(struct mgmt *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		unsigned i;
		for (i = 0; i < MGMT_MAX_CLIENTS; i++)
			if (m->clients[i].fd < 0)
				break;
		if (i == MGMT_MAX_CLIENTS) {
			TLOG_WARN("mgmt", "too many management connections (%d): refusing one",
				  MGMT_MAX_CLIENTS);
			close(fd);
			continue;
		}
		m->clients[i].fd = fd;
		if (mgmt__epoll_add(m, fd, EPOLLIN, MGMT__EV_CLIENT + i) != 0)
			mgmt__client_close(m, i);
	}
}

int mgmt_run(struct mgmt *m)
{
	struct json_writer jw;
	json_writer_init(&jw);
	int sig = 0;
	m->stop = false;
	while (!m->stop && sig == 0) {
		struct epoll_event evs[16];
		int n = epoll_wait(m->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			TLOG_ERR("mgmt", "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < n; k++) {
			uint64_t d = evs[k].data.u64;
			if (d == MGMT__EV_LISTEN) {
				mgmt__accept(m);
			} else if (d == MGMT__EV_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					sig = (int)si.ssi_signo;
			} else if (d >= MGMT__EV_WATCH && d < MGMT__EV_WATCH + m->n_watch) {
				m->watch[d - MGMT__EV_WATCH].fn(m->watch[d - MGMT__EV_WATCH].ctx);
			} else if (d == MGMT__EV_TIMER) {
				uint64_t ticks;
				if (read(m->timer_fd, &ticks, sizeof(ticks)) > 0 && m->tick != NULL)
					m->tick(m->ctx);
			} else {
				unsigned i = (unsigned)(d - MGMT__EV_CLIENT);
				if (i >= MGMT_MAX_CLIENTS || m->clients[i].fd < 0)
					continue;
				if (evs[k].events & EPOLLOUT) {
					if (mgmt__client_flush(m, i) != 0) {
						mgmt__client_close(m, i);
						continue;
					}
				}
				if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					mgmt__client_read(m, i, &jw);
			}
		}
	}
	json_writer_free(&jw);
	return sig;
}

void mgmt_close(struct mgmt *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < MGMT_MAX_CLIENTS; i++)
		mgmt__client_close(m, i);
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		unlink(m->path);
	}
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	free(m);
}
