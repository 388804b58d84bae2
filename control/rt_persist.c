/**
 * @file rt_persist.c
 * Persistence on the control core: the one writer of the store (lib/plog). It recovers the
 * store at start and rebuilds the broker from it before the port comes up, then drains the
 * workers' record rings whenever their eventfd fires, appends to the log, group-commits
 * (fsync after persistence_fsync_interval_ms or persistence_fsync_bytes), publishes per
 * worker how many of its records are on disk (sync mode releases held PUBACK/PUBREC on
 * that), writes snapshots every autosave_interval seconds, on `snapshot` and at shutdown.
 *
 * Data flow: worker -> dp_persist ring (frame, seq 0) -> rt__p_drain -> plog_store_append
 * (seq assigned, replica updated) -> plog_store_flush (write) -> plog_store_sync (fdatasync,
 * group commit) -> dp_persist_durable(worker, records on disk).
 *
 * Error convention: set-up functions return 0 or -1 with a sentence in err. A write or
 * fsync failure is latched by the log: from then on nothing more is published as durable
 * (sync mode stops acknowledging QoS 1/2), it is logged, and `status`-like commands say so;
 * the operator restarts and recovery decides from what is on disk (docs/durability.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "dp_mqtt.h"
#include "dp_persist.h"
#include "mgmt.h"
#include "plog/plog_store.h"
#include "rt.h"
#include "util/hist.h"
#include "util/json.h"
#include "util/log.h"

#define RT__P_HIST 21 /* fsync histogram: 1 us .. 2^19 us (~0.5 s), then +Inf */

struct rt_persist {
	struct plog_store *ps;
	int efd;                      /* workers -> us: records wait */
	int tfd;                      /* group commit deadline and snapshot period */
	bool sync;
	bool failed;                  /* the log latched an I/O error */
	unsigned n_workers;
	uint64_t drained[RT_MAX_WORKERS]; /* records taken from each worker so far */
	uint64_t snap_every_ns;       /* 0: only at shutdown and on request */
	uint64_t next_snap_ns;
	uint64_t bad_frames;          /* frames from workers that did not parse or append */
	/* for `stats` (docs/operations.md, persistence metrics) */
	uint64_t log_bytes;           /* record bytes appended */
	uint64_t undurable_since;     /* first append not yet synced, 0: all durable */
	uint64_t fsync_bucket[RT__P_HIST];  /* sync durations: <= 2^k us, last: the rest */
	uint64_t fsync_sum_ns;
	uint64_t last_snap_ns;        /* monotonic time of the last snapshot, 0: none yet */
	uint64_t last_snap_bytes;
	char dir[CONF_PATH_MAX];
};

static struct rt_persist rt__p;

static uint64_t rt__p_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rt_persist_open(struct rt *rt, char *err, size_t errlen)
{
	const struct tachyon_config *c = &rt->cfg;
	if (!c->persistence)
		return 0;
	struct rt_persist *p = &rt__p;
	memset(p, 0, sizeof(*p));
	p->efd = p->tfd = -1;
	snprintf(p->dir, sizeof(p->dir), "%s", c->persistence_location);
	struct plog_store_opts o;
	memset(&o, 0, sizeof(o));
	o.log.commit.max_delay_ns = (uint64_t)c->persistence_fsync_interval_ms * 1000000u;
	o.log.commit.max_bytes = c->persistence_fsync_bytes;
	o.start_empty = c->persistence_start_empty;
	struct plog_error pe;
	memset(&pe, 0, sizeof(pe));
	p->ps = plog_store_open(p->dir, &o, &pe);
	if (p->ps == NULL) {
		snprintf(err, errlen, "persistence store %s cannot be used: %s; fix it, or set "
			 "persistence_start_empty true (--set persistence_start_empty=true) to move "
			 "it aside and start empty", p->dir, pe.msg[0] ? pe.msg : strerror(pe.code));
		return -1;
	}
	char line[1024];
	if (plog_store_describe_recovery(p->ps, line, sizeof(line)) >= 0)
		TLOG_NOTICE("persist", "%s: %s", p->dir, line);
	const struct plog_recovery *rec = plog_store_recovery(p->ps);
	if (rec->moved_aside[0])
		TLOG_WARN("persist", "persistence_start_empty: old store moved to %s",
			  rec->moved_aside);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->efd < 0 || p->tfd < 0) {
		snprintf(err, errlen, "persistence: eventfd/timerfd: %s", strerror(errno));
		return -1;
	}
	p->sync = c->persistence_mode == CONF_PERSIST_SYNC;
	p->n_workers = rt->n_workers;
	p->snap_every_ns = (uint64_t)c->autosave_interval * 1000000000u;
	p->next_snap_ns = p->snap_every_ns ? rt__p_now() + p->snap_every_ns : 0;
	rt->persist = p;
	return 0;
}

int rt_persist_attach(struct rt *rt, char *err, size_t errlen)
{
	struct rt_persist *p = rt->persist;
	if (p == NULL)
		return 0;
	int rc = dp_persist_init(rt->n_workers, p->efd, p->sync, dp_mqtt_wake);
	if (rc != 0) {
		snprintf(err, errlen, "persistence: cannot create the record rings: %s",
			 strerror(-rc));
		return -1;
	}
	return 0;
}

/* Sessions that expired while we were down: found during the walk, logged after it. */
struct rt__p_gone_list {
	char **ids;
	uint16_t *lens;
	uint8_t *ended;
	size_t n, cap;
};

static void rt__p_gone_collect(void *arg, const struct plog_sess *s)
{
	struct rt__p_gone_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **ni = realloc(l->ids, cap * sizeof(*ni));
		if (ni != NULL)
			l->ids = ni;
		uint16_t *nl = realloc(l->lens, cap * sizeof(*nl));
		if (nl != NULL)
			l->lens = nl;
		uint8_t *ne = realloc(l->ended, cap);
		if (ne != NULL)
			l->ended = ne;
		if (ni == NULL || nl == NULL || ne == NULL)
			return;
		l->cap = cap;
	}
	char *id = malloc(s->client_id.len ? s->client_id.len : 1);
	if (id == NULL)
		return;
	memcpy(id, s->client_id.ptr, s->client_id.len);
	l->ids[l->n] = id;
	l->lens[l->n] = (uint16_t)s->client_id.len;
	l->ended[l->n] = s->expiry_interval == 0;
	l->n++;
}

/* Sessions connected at the crash: the crash closed their connections without DISCONNECT.
 * Recovery counts their expiry and will delay from the restart; saying so in the log
 * (sess_disconnect now, then sess_will with the will that is now pending) keeps that
 * moment across a second crash. Copies, because appending changes the replica. */
struct rt__p_conn {
	uint8_t *mem;            /* client id, will topic, payload, properties */
	uint16_t id_len;
	struct plog_will will;   /* byte strings point into mem */
};

struct rt__p_conn_list {
	struct rt__p_conn *v;
	size_t n, cap;
};

static int rt__p_conn_collect(void *arg, const struct plog_sess *s)
{
	struct rt__p_conn_list *l = arg;
	if (!s->connected || s->client_id.len > 65535)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct rt__p_conn *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return 0; /* then it is only less exact after a second crash */
		l->v = nv;
		l->cap = cap;
	}
	const struct plog_will *w = &s->will;
	size_t wl = w->present ? (size_t)w->topic.len + w->payload.len + w->props.len : 0;
	uint8_t *mem = malloc(s->client_id.len + wl + 1);
	if (mem == NULL)
		return 0;
	struct rt__p_conn *c = &l->v[l->n++];
	c->mem = mem;
	c->id_len = (uint16_t)s->client_id.len;
	memcpy(mem, s->client_id.ptr, s->client_id.len);
	uint8_t *p = mem + s->client_id.len;
	c->will = *w;
	if (w->present) {
		const struct plog_bytes *src[3] = { &w->topic, &w->payload, &w->props };
		struct plog_bytes *dst[3] = { &c->will.topic, &c->will.payload, &c->will.props };
		for (int i = 0; i < 3; i++) {
			if (src[i]->len)
				memcpy(p, src[i]->ptr, src[i]->len);
			dst[i]->ptr = p;
			p += src[i]->len;
		}
	}
	return 0;
}

static void rt__p_log_restart_disconnects(struct rt_persist *p, uint64_t now, uint64_t wall_ms)
{
	struct rt__p_conn_list l;
	memset(&l, 0, sizeof(l));
	plog_state_foreach(plog_store_state(p->ps), rt__p_conn_collect, NULL, &l);
	for (size_t i = 0; i < l.n; i++) {
		struct rt__p_conn *c = &l.v[i];
		struct plog_rec r;
		memset(&r, 0, sizeof(r));
		r.type = PLOG_REC_SESS_DISCONNECT;
		r.u.sref.client_id.ptr = c->mem;
		r.u.sref.client_id.len = c->id_len;
		r.u.sref.time_ms = wall_ms;
		plog_store_append(p->ps, &r, now);
		if (c->will.present) {
			memset(&r, 0, sizeof(r));
			r.type = PLOG_REC_SESS_WILL;
			r.u.will.client_id.ptr = c->mem;
			r.u.will.client_id.len = c->id_len;
			r.u.will.will = c->will;
			plog_store_append(p->ps, &r, now);
		}
		free(c->mem);
	}
	free(l.v);
}

int rt_persist_restore(struct rt *rt, char *err, size_t errlen)
{
	struct rt_persist *p = rt->persist;
	if (p == NULL)
		return 0;
	struct rt__p_gone_list l;
	memset(&l, 0, sizeof(l));
	int rc = dp_mqtt_restore(plog_store_state(p->ps), rt__p_gone_collect, &l);
	uint64_t now = rt__p_now();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; i < l.n; i++) {
		struct plog_rec r;
		memset(&r, 0, sizeof(r));
		r.type = l.ended[i] ? PLOG_REC_SESS_END : PLOG_REC_SESS_EXPIRE;
		r.u.sref.client_id.ptr = (const uint8_t *)l.ids[i];
		r.u.sref.client_id.len = l.lens[i];
		r.u.sref.time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		plog_store_append(p->ps, &r, now);
		free(l.ids[i]);
	}
	free(l.ids);
	free(l.lens);
	free(l.ended);
	if (rc == 0)
		rt__p_log_restart_disconnects(p, now, (uint64_t)ts.tv_sec * 1000u +
							    (uint64_t)ts.tv_nsec / 1000000u);
	plog_store_sync(p->ps);
	struct plog_state_stats st;
	plog_state_stats(plog_store_state(p->ps), &st);
	if (rc != 0) {
		snprintf(err, errlen, "persistence: cannot rebuild the recovered state: %s",
			 strerror(-rc));
		return -1;
	}
	TLOG_NOTICE("persist", "restored %" PRIu64 " sessions, %" PRIu64 " subscriptions, %"
		    PRIu64 " queued messages, %" PRIu64 " retained messages (%zu expired while "
		    "down)", st.sessions, st.subscriptions, st.queued, st.retained, l.n);
	return 0;
}

static int rt__p_frame(void *arg, const uint8_t *frame, uint32_t len)
{
	struct rt_persist *p = arg;
	struct plog_rec r;
	size_t fl = 0;
	int prc = plog_rec_parse(frame, len, &r, &fl);
	if (prc != 0) {
		p->bad_frames++;
		TLOG_ERR("persist", "a worker's record does not parse (%s): dropped",
			 plog_parse_err_str(prc));
		return 0;
	}
	uint64_t now = rt__p_now();
	int64_t seq = plog_store_append(p->ps, &r, now);
	if (seq >= 0) {
		p->log_bytes += fl != 0 ? fl : len;
		if (p->undurable_since == 0)
			p->undurable_since = now;
	}
	if (seq < 0) {
		p->bad_frames++;
		if (seq != -EINVAL && seq != -ENOMEM && !p->failed) {
			p->failed = true;
			TLOG_ERR("persist", "%s: the log cannot be written (%s): nothing more is "
				 "acknowledged as durable; restart tachyond", p->dir,
				 strerror((int)-seq));
		}
	}
	return 0;
}

/* Arm the timer at the nearer of the commit deadline and the next snapshot. */
static void rt__p_arm(struct rt_persist *p)
{
	uint64_t at = plog_store_sync_deadline(p->ps);
	if (p->next_snap_ns != 0 && (at == 0 || at == UINT64_MAX || p->next_snap_ns < at))
		at = p->next_snap_ns;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (at != 0 && at != UINT64_MAX) {
		uint64_t now = rt__p_now();
		uint64_t d = at > now ? at - now : 1;
		its.it_value.tv_sec = (time_t)(d / 1000000000u);
		its.it_value.tv_nsec = (long)(d % 1000000000u);
	}
	timerfd_settime(p->tfd, 0, &its, NULL);
}

/* Sync now; on success every record taken so far is on disk: tell the workers. */
static void rt__p_sync(struct rt_persist *p)
{
	if (p->failed)
		return;
	uint64_t t0 = rt__p_now();
	int rc = plog_store_sync(p->ps);
	if (rc == 0 && p->undurable_since != 0) {
		/* Only syncs that had records to make durable go into the histogram. */
		uint64_t d = rt__p_now() - t0;
		p->fsync_bucket[hist_bucket(d, RT__P_HIST)]++;
		p->fsync_sum_ns += d;
		p->undurable_since = 0;
	}
	if (rc != 0) {
		p->failed = true;
		TLOG_ERR("persist", "%s: fsync failed (%s): nothing more is acknowledged as "
			 "durable; restart tachyond", p->dir, strerror(-rc));
		return;
	}
	for (unsigned i = 0; i < p->n_workers; i++)
		dp_persist_durable(i, p->drained[i]);
}

/* Records taken per worker per round: bounded so that the group commit rule is looked at
 * between rounds even while workers keep producing (an unbounded drain starved fsync). */
#define RT__P_ROUND 4096u

static void rt__p_drain_all(struct rt_persist *p, bool bounded)
{
	bool any = true;
	unsigned rounds = 0;
	while (any) {
		if (bounded && ++rounds > 16) {
			/* Let the management socket in; come back at once through our eventfd. */
			uint64_t one = 1;
			if (write(p->efd, &one, sizeof(one)) < 0) {
				/* EAGAIN: already readable */
			}
			break;
		}
		any = false;
		for (unsigned i = 0; i < p->n_workers; i++) {
			unsigned n = dp_persist_drain(i, rt__p_frame, p, RT__P_ROUND);
			p->drained[i] += n;
			any |= n > 0;
		}
		if (!p->failed)
			plog_store_flush(p->ps);
		if (plog_store_sync_due(p->ps, rt__p_now()))
			rt__p_sync(p);
	}
}

static int rt__p_snapshot(struct rt_persist *p, struct plog_snap_info *info, char *err,
			  size_t errlen)
{
	rt__p_drain_all(p, false);
	rt__p_sync(p);
	struct plog_error pe;
	memset(&pe, 0, sizeof(pe));
	struct plog_snap_info tmp;
	if (info == NULL)
		info = &tmp;
	int rc = plog_store_snapshot(p->ps, info, &pe);
	if (rc != 0) {
		snprintf(err, errlen, "%s", pe.msg[0] ? pe.msg : strerror(-rc));
		TLOG_ERR("persist", "snapshot failed: %s", err);
		return rc;
	}
	TLOG_INFO("persist", "snapshot %" PRIu64 ": %" PRIu64 " records, %" PRIu64 " bytes",
		  info->seq, info->records, info->file_bytes);
	p->last_snap_ns = rt__p_now();
	p->last_snap_bytes = info->file_bytes;
	if (p->snap_every_ns)
		p->next_snap_ns = rt__p_now() + p->snap_every_ns;
	return 0;
}

/* The workers' eventfd fired: take their records, write them, commit when due. */
static void rt__p_on_records(void *ctx)
{
	struct rt_persist *p = ctx;
	uint64_t v;
	if (read(p->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing counted; drain anyway */
	}
	rt__p_drain_all(p, true);
	if (plog_store_sync_due(p->ps, rt__p_now()))
		rt__p_sync(p);
	rt__p_arm(p);
}

static void rt__p_on_timer(void *ctx)
{
	struct rt_persist *p = ctx;
	uint64_t v;
	if (read(p->tfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a re-armed timer; look anyway */
	}
	rt__p_drain_all(p, true);
	uint64_t now = rt__p_now();
	if (plog_store_sync_due(p->ps, now))
		rt__p_sync(p);
	if (p->next_snap_ns != 0 && now >= p->next_snap_ns && !p->failed) {
		char err[512];
		if (rt__p_snapshot(p, NULL, err, sizeof(err)) != 0)
			p->next_snap_ns = now + p->snap_every_ns;
	}
	rt__p_arm(p);
}

int rt_persist_watch(struct rt *rt, char *err, size_t errlen)
{
	struct rt_persist *p = rt->persist;
	if (p == NULL)
		return 0;
	if (mgmt_watch(rt->mgmt, p->efd, rt__p_on_records, p) != 0 ||
	    mgmt_watch(rt->mgmt, p->tfd, rt__p_on_timer, p) != 0) {
		snprintf(err, errlen, "persistence: cannot watch its fds: %s", strerror(errno));
		return -1;
	}
	rt__p_arm(p);
	return 0;
}

void rt_persist_close(struct rt *rt)
{
	struct rt_persist *p = rt->persist;
	if (p == NULL)
		return;
	/* The workers are gone: what they handed over last (sessions going offline at
	 * shutdown) is in the rings or their overflow lists. */
	bool more;
	do {
		more = dp_persist_flush_overflow();
		rt__p_drain_all(p, false);
	} while (more);
	if (!p->failed) {
		char err[512];
		rt__p_snapshot(p, NULL, err, sizeof(err));
	}
	int rc = plog_store_close(p->ps);
	if (rc != 0)
		TLOG_ERR("persist", "%s: closing the store: %s", p->dir, strerror(-rc));
	dp_persist_fini();
	close(p->efd);
	close(p->tfd);
	rt->persist = NULL;
}

/* ---- management: `stats` part, `snapshot` ---- */

void rt_persist_stats_json(const struct rt *rt, struct json_writer *w)
{
	const struct rt_persist *p = rt->persist;
	if (p == NULL)
		return;
	struct plog_store_stats s;
	plog_store_stats(p->ps, &s);
	json_key(w, "persistence");
	json_obj_begin(w);
	uint64_t now = rt__p_now();
	json_kv_str(w, "location", p->dir);
	json_kv_str(w, "mode", p->sync ? "sync" : "async");
	json_kv_bool(w, "failed", p->failed);
	json_kv_u64(w, "log_records", s.appended);
	json_kv_u64(w, "log_bytes_written", p->log_bytes);
	json_kv_u64(w, "fsyncs", s.syncs);
	json_kv_u64(w, "appended_seq", s.last_seq);
	json_kv_u64(w, "durable_seq", s.durable_seq);
	json_kv_u64(w, "durable_lag_records",
		    s.last_seq > s.durable_seq ? s.last_seq - s.durable_seq : 0);
	json_kv_double(w, "durable_lag_s", p->undurable_since != 0 && now > p->undurable_since
						    ? (double)(now - p->undurable_since) / 1e9 : 0.0);
	json_kv_u64(w, "snapshots", s.snapshots);
	json_kv_u64(w, "snapshot_seq", s.last_snapshot_seq);
	if (p->last_snap_ns != 0) {
		json_kv_double(w, "snapshot_age_s", (double)(now - p->last_snap_ns) / 1e9);
		json_kv_u64(w, "snapshot_bytes", p->last_snap_bytes);
	}
	json_kv_u64(w, "bad_records", p->bad_frames);
	uint64_t fenced, waits;
	dp_persist_fence_stats(&fenced, &waits);
	json_kv_u64(w, "fenced_records", fenced);
	json_kv_u64(w, "fence_waits", waits);
	/* The same shape as mqtt.latency_histogram. */
	hist_json(w, "fsync_latency_histogram", p->fsync_bucket, RT__P_HIST, p->fsync_sum_ns);
	json_obj_end(w);
}

int rt_cmd_snapshot(struct mgmt_req *req)
{
	struct rt *rt = req->ctx;
	struct rt_persist *p = rt->persist;
	if (p == NULL)
		return mgmt_error(req, "persistence_off", "persistence is off");
	if (p->failed)
		return mgmt_error(req, "persistence_failed",
				  "the log latched an I/O error; restart tachyond");
	struct plog_snap_info info;
	char err[512];
	uint64_t t0 = rt__p_now();
	if (rt__p_snapshot(p, &info, err, sizeof(err)) != 0)
		return mgmt_error(req, "snapshot_failed", "%s", err);
	rt__p_arm(p);
	struct json_writer *w = req->out;
	json_kv_u64(w, "seq", info.seq);
	json_kv_u64(w, "records", info.records);
	json_kv_u64(w, "raw_bytes", info.raw_bytes);
	json_kv_u64(w, "file_bytes", info.file_bytes);
	json_kv_double(w, "seconds", (double)(rt__p_now() - t0) / 1e9);
	char msg[160];
	snprintf(msg, sizeof(msg), "snapshot %" PRIu64 " written: %" PRIu64 " records, %" PRIu64
		 " bytes", info.seq, info.records, info.file_bytes);
	json_kv_str(w, "message", msg);
	return 0;
}
