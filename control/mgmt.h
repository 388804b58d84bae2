/**
 * @file mgmt.h
 * The management socket server of the control core: a Unix stream socket speaking one JSON
 * request per line and one JSON reply per line (docs/management.md).
 *
 *   request: {"cmd":"<name>", ...arguments}
 *   reply:   {"ok":true, ...result}  or  {"ok":false,"error":{"code":"...","message":"..."}}
 *
 * The server never busy-polls: mgmt_run() sleeps in epoll_wait on the listening socket, its
 * clients, a signalfd (SIGINT/SIGTERM end the run) and a timerfd (the tick callback, for
 * housekeeping). Commands come from a table the caller hands in, so later features add a row
 * and a handler, nothing else.
 *
 * Single instance: mgmt_lock() takes an flock on "<socket>.lock" before anything else is
 * started, so a second tachyond on the same socket path refuses at once, before it touches
 * the EAL or the tap.
 *
 * Error convention: set-up functions return 0, or -1 with a message in the caller's err
 * buffer. Command handlers return 0, or -1 after mgmt_error().
 *
 * Thread-safety: everything runs on the control core's thread.
 */
#ifndef TACHYON_MGMT_H
#define TACHYON_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_value;
struct json_writer;

#define MGMT_MAX_CLIENTS 64          /**< more connections are refused (closed at once) */
#define MGMT_MAX_LINE (64 * 1024)    /**< longest request line; longer ones get an error */
#define MGMT_MAX_WATCH 4             /**< other fds mgmt_run() may wait on (mgmt_watch) */

struct mgmt;

/** One request being served. */
struct mgmt_req {
	struct mgmt *m;
	const struct json_value *json;   /**< the whole request object */
	struct json_writer *out;         /**< an object is open and "ok":true written: add members */
	void *ctx;                       /**< the caller's context (mgmt_open) */
	char code[32];                   /**< error code, set by mgmt_error() */
	char message[256];               /**< error message, set by mgmt_error() */
};

/** A command: name, one line of help, handler (0 ok, -1 error after mgmt_error()). */
struct mgmt_cmd {
	const char *name;
	const char *help;
	int (*fn)(struct mgmt_req *req);
};

/** Record an error for the reply; returns -1 so handlers can `return mgmt_error(...)`. */
int mgmt_error(struct mgmt_req *req, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Make sure we are the only server on @p path: create the socket's directory if needed, then
 * take an exclusive flock on "<path>.lock" (kept open until mgmt_unlock) and write our pid.
 * @return the lock fd (>= 0), or -1 with e.g. "another tachyond (pid 123) is already serving
 *   /run/tachyon/tachyon.sock" in @p err.
 */
int mgmt_lock(const char *path, char *err, size_t errlen);

/** Release the lock taken by mgmt_lock(). */
void mgmt_unlock(int lock_fd);

/**
 * Create the server: listen on @p path (a stale socket file is replaced; the lock says it is
 * stale), mode 0600, or 0660 owned by @p group when @p group is not "".
 * @param cmds   table ended by a row with name NULL; must outlive the server.
 * @param tick   called every @p tick_ms from mgmt_run() (may be NULL).
 * @return the server, or NULL with a message in @p err.
 */
struct mgmt *mgmt_open(const char *path, const char *group, const struct mgmt_cmd *cmds,
		       void *ctx, void (*tick)(void *ctx), unsigned tick_ms, char *err,
		       size_t errlen);

/**
 * Serve until SIGINT/SIGTERM or mgmt_stop(). The caller must have blocked SIGINT and SIGTERM
 * in every thread (so they are read from the signalfd here).
 * @return the signal number that ended the run, or 0 when mgmt_stop() did.
 */
int mgmt_run(struct mgmt *m);

/**
 * Also wait on @p fd (readable): mgmt_run() calls @p fn(@p ctx) when it is, on the control
 * core's thread; @p fn must consume what made it readable (level-triggered). Used by the
 * persistence (its workers' eventfd and its commit timer). At most MGMT_MAX_WATCH.
 * @return 0, or -1 (table full, epoll_ctl failed: errno).
 */
int mgmt_watch(struct mgmt *m, int fd, void (*fn)(void *ctx), void *ctx);

/** Make mgmt_run() return after the current request's reply is sent (e.g. `shutdown`). */
void mgmt_stop(struct mgmt *m);

/**
 * Serve one request line and produce the reply line (no trailing newline) in @p out.
 * mgmt_run() uses it per line; tests may call it directly.
 */
void mgmt_dispatch(struct mgmt *m, const char *line, size_t len, struct json_writer *out);

/** @return the command table. */
const struct mgmt_cmd *mgmt_commands(const struct mgmt *m);

/** Close all connections and the socket, unlink the socket file, free @p m. NULL is ok. */
void mgmt_close(struct mgmt *m);

#endif /* TACHYON_MGMT_H */
