/**
 * @file dp_mqtt.h
 * The MQTT glue of a worker: between the worker's TCP stack (lib/tcp) and the broker logic
 * (lib/broker). It listens on the configured MQTT listener ports, turns each connection's
 * received mbuf chain into packets (lib/mqtt framing, zero copy when a packet lies within
 * one segment, a reassembly buffer bounded by max_packet_size when it straddles), hands
 * them to the broker, and turns the broker's sends into mbuf chains for tcp_send(): the
 * head is copied into a fresh mbuf, the payload is attached by reference (an external
 * buffer whose free callback drops the message reference), so no payload byte is copied
 * per subscriber.
 *
 * Cross-worker messages travel in one rte_ring per worker (multi-producer, single
 * consumer), drained by dp_mqtt_poll() each loop iteration.
 *
 * Threads: dp_mqtt_attach() and dp_mqtt_destroy() on the main lcore (before launch, after
 * stop); dp_mqtt_poll() on the worker's lcore, which must be a registered QSBR thread
 * (dp_worker_main registers it). Error convention: 0 or a negative errno.
 */
#ifndef TACHYON_DP_MQTT_H
#define TACHYON_DP_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_worker;
struct dp_mqtt;
struct tcp_stack;
struct tachyon_config;
struct json_writer;
struct brk_shared;

/**
 * Set up MQTT on worker @p w's TCP stack: tcp_listen() on every configured listener, the
 * broker state of the worker (and, on the first call, the process-wide state for
 * cfg->workers workers), the worker's inbox ring. Sets w->app_poll / w->app_ctx.
 * @return 0, -ENOMEM, -EADDRINUSE (a port also used by another service), -EINVAL.
 */
int dp_mqtt_attach(struct dp_worker *w, struct tcp_stack *stack,
		   const struct tachyon_config *cfg);

/** One loop iteration's MQTT work: inbox, resumed connections, timers. Worker lcore. */
void dp_mqtt_poll(void *ctx, uint64_t now_ns);

/**
 * Stopping, on the worker's lcore: @p final false closes every connection (MQTT 5:
 * DISCONNECT 0x8B) and lets the loop run on to deliver it; @p final true resets those
 * still open. See dp_worker_main.
 */
void dp_mqtt_stop(void *ctx, bool final);

struct brk_shared;

/**
 * @return the process-wide broker state (created by the first dp_mqtt_attach()), for the
 * control core's security commands (brk_security_publish()); NULL before. Main lcore.
 */
struct brk_shared *dp_mqtt_shared(void);

struct plog_state;
struct plog_sess;

/**
 * Wake worker @p i if it sleeps and still runs (the persistence transport's wake callback,
 * dp_persist_init(): records became durable, or the backlog went down). Any thread.
 */
void dp_mqtt_wake(unsigned i);

/**
 * Rebuild the recovered state in the broker (brk_restore): after every worker attached,
 * before launch. Main lcore. @return 0 or a negative errno.
 */
int dp_mqtt_restore(const struct plog_state *st,
		    void (*gone)(void *arg, const struct plog_sess *s), void *arg);

/** Append the broker's counters ("mqtt": {...}) to a worker's stats entry (any thread). */
void dp_mqtt_stats_json(struct dp_mqtt *m, struct json_writer *jw);

/**
 * Re-read every TLS listener's certificate, key and CA files (paths from the running
 * configuration) into new contexts: new connections use them, open ones keep theirs. Main
 * lcore, while the workers run (waits for an RCU grace period). The first failure stops
 * and is reported; listeners before it are reloaded.
 * @return the number of TLS listeners reloaded, or -1 with a message in @p err.
 */
int dp_mqtt_tls_reload(char *err, size_t errlen);

/**
 * Post a control request (struct dp_ctl_req, see dp_ctl.h) to worker @p worker's inbox and
 * wake it. Any thread (the inbox is multi-producer).
 * @return 0, -ENOBUFS (inbox full), -EINVAL (no such worker).
 */
int dp_mqtt_post_ctl(unsigned worker, void *req);

/** "a.b.c.d:port" of the peer of a broker connection's transport context. Worker lcore.
 *  @return 0, or -ENOTCONN. */
int dp_mqtt_peer(void *tctx, char *buf, size_t len);

/**
 * Push the run-time-changeable settings of @p cfg to the running broker: its shared
 * settings (brk_shared_apply_settings) and every worker's framing bound (max_packet_size).
 * Atomic stores; control core.
 */
void dp_mqtt_apply_settings(const struct tachyon_config *cfg);

/** Messages waiting in the worker's inbox ring, and its capacity (any thread). */
void dp_mqtt_inbox_depth(const struct dp_mqtt *m, unsigned *count, unsigned *capacity);

/**
 * Tear down worker @p m's MQTT state; the worker has stopped. Call before the TCP stack
 * is destroyed. The last call also frees the process-wide broker state. Main lcore.
 */
void dp_mqtt_destroy(struct dp_mqtt *m);

#endif /* TACHYON_DP_MQTT_H */
