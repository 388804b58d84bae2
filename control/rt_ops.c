/**
 * @file rt_ops.c
 * Operations commands of the management socket: clients, client, kick, sessions,
 * subscriptions, retained, publish (state the workers own, reached through dp_ctl
 * requests), and config, reload, log (the control core's own configuration, pushed to the
 * broker's shared settings).
 *
 * Worker state is never read from here: each command posts a request to the workers
 * concerned and waits for their answers at most RT__WAIT_MS (dp_ctl.h). A worker that does
 * not answer in time gives the error `worker_timeout` rather than a hang; what it answers
 * late is freed by the worker itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_ctl.h"
#include "dp_mqtt.h"
#include "mgmt.h"
#include "rt.h"
#include "rt_auth.h"
#include "util/json.h"
#include "util/log.h"

#define RT__WAIT_MS 1000            /**< longest wait for the workers' answers */
#define RT__DEFAULT_LIMIT 1000      /**< records per page unless "limit" says otherwise */

/* ---- running a request on the workers ---- */

static char *rt__dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/*
 * Post @p r to worker @p only (or every worker when < 0), wait, and check the answers.
 * @return 0 when every worker answered (their rc are in the parts), -1 after mgmt_error().
 */
static int rt__ask(struct mgmt_req *req, struct dp_ctl_req *r, int only)
{
	const struct rt *rt = req->ctx;
	for (unsigned i = 0; i < rt->n_workers; i++) {
		if (only >= 0 && (unsigned)only != i)
			continue;
		int rc = dp_ctl_post(r, i);
		if (rc != 0)
			return mgmt_error(req, "busy", "worker %u cannot take the request: %s", i,
					  rc == -ENOBUFS ? "its inbox is full" : strerror(-rc));
	}
	if (dp_ctl_wait(r, RT__WAIT_MS) != 0) {
		for (unsigned i = 0; i < rt->n_workers; i++)
			if (r->part[i].posted && !dp_ctl_part_done(r, i))
				return mgmt_error(req, "worker_timeout",
						  "worker %u did not answer within %d ms", i,
						  RT__WAIT_MS);
	}
	return 0;
}

static int rt__rec_cmp(const void *a, const void *b)
{
	const struct dp_ctl_rec *x = *(const struct dp_ctl_rec *const *)a;
	const struct dp_ctl_rec *y = *(const struct dp_ctl_rec *const *)b;
	return strcmp(x->key, y->key);
}

/*
 * The records of every part, sorted by key, as the array member @p name, paged by the
 * request's "offset" / "limit"; "total" says how many there are in all.
 */
static int rt__records(struct mgmt_req *req, struct dp_ctl_req *r, const char *name, bool page)
{
	size_t n = 0;
	for (unsigned i = 0; i < r->n_parts; i++)
		if (dp_ctl_part_done(r, i))
			n += r->part[i].n;
	const struct dp_ctl_rec **v = malloc((n ? n : 1) * sizeof(*v));
	if (v == NULL)
		return mgmt_error(req, "failed", "out of memory");
	size_t k = 0;
	for (unsigned i = 0; i < r->n_parts; i++)
		if (dp_ctl_part_done(r, i))
			for (size_t j = 0; j < r->part[i].n; j++)
				v[k++] = &r->part[i].recs[j];
	qsort(v, n, sizeof(*v), rt__rec_cmp);
	uint64_t off = page ? json_get_u64(req->json, "offset", 0) : 0;
	uint64_t lim = page ? json_get_u64(req->json, "limit", RT__DEFAULT_LIMIT) : n;
	struct json_writer *w = req->out;
	json_kv_u64(w, "total", n);
	if (page) {
		json_kv_u64(w, "offset", off);
		json_kv_u64(w, "limit", lim);
	}
	json_key(w, name);
	json_arr_begin(w);
	for (uint64_t i = off; i < n && i - off < lim; i++)
		json_raw(w, v[i]->json, strlen(v[i]->json));
	json_arr_end(w);
	free(v);
	return 0;
}

static struct dp_ctl_req *rt__new(struct mgmt_req *req, enum dp_ctl_kind kind)
{
	const struct rt *rt = req->ctx;
	struct dp_ctl_req *r = dp_ctl_req_new(kind, rt->n_workers);
	if (r == NULL)
		mgmt_error(req, "failed", "cannot create the request: %s", strerror(errno));
	return r;
}

/* A required string argument. */
static const char *rt__arg(struct mgmt_req *req, const char *key)
{
	const char *s = json_get_str(req->json, key);
	if (s == NULL || s[0] == '\0')
		mgmt_error(req, "bad_request", "'%s' (a non-empty string) is required", key);
	return s;
}

/* ---- clients, client, sessions, subscriptions ---- */

static int rt__list(struct mgmt_req *req, bool sessions)
{
	const struct rt *rt = req->ctx;
	int only = -1;
	const struct json_value *wv = json_get(req->json, "worker");
	if (wv != NULL) {
		if (wv->type != JSON_NUMBER || !wv->is_int || wv->is_neg || wv->u >= rt->n_workers)
			return mgmt_error(req, "bad_request", "'worker' must be 0..%u",
					  rt->n_workers - 1);
		only = (int)wv->u;
	}
	uint64_t version = json_get_u64(req->json, "protocol_version", 0);
	if (version != 0 && (version < 3 || version > 5))
		return mgmt_error(req, "bad_request", "'protocol_version' must be 3, 4 or 5");
	const char *state = json_get_str(req->json, "state");
	int st = sessions ? 0 : 1;
	if (state != NULL) {
		if (strcmp(state, "online") == 0)
			st = 1;
		else if (strcmp(state, "offline") == 0)
			st = 2;
		else if (strcmp(state, "all") == 0)
			st = 0;
		else
			return mgmt_error(req, "bad_request",
					  "'state' must be online, offline or all");
	}
	struct dp_ctl_req *r = rt__new(req, DP_CTL_CLIENTS);
	if (r == NULL)
		return -1;
	r->prefix = rt__dup(json_get_str(req->json, "prefix"));
	r->state = st;
	r->offline = st != 1;
	r->version = (uint8_t)version;
	int rc = rt__ask(req, r, only);
	if (rc == 0)
		rc = rt__records(req, r, sessions ? "sessions" : "clients", true);
	dp_ctl_req_put(r);
	return rc;
}

int rt_cmd_clients(struct mgmt_req *req)
{
	return rt__list(req, false);
}

int rt_cmd_sessions(struct mgmt_req *req)
{
	return rt__list(req, true);
}

int rt_cmd_client(struct mgmt_req *req)
{
	const char *id = rt__arg(req, "id");
	if (id == NULL)
		return -1;
	struct dp_ctl_req *r = rt__new(req, DP_CTL_CLIENTS);
	if (r == NULL)
		return -1;
	r->id = rt__dup(id);
	r->offline = true;
	r->with_subs = true;
	int rc = rt__ask(req, r, -1);
	if (rc == 0) {
		const struct dp_ctl_rec *found = NULL;
		for (unsigned i = 0; i < r->n_parts && found == NULL; i++)
			if (dp_ctl_part_done(r, i) && r->part[i].n > 0)
				found = &r->part[i].recs[0];
		if (found != NULL) {
			json_key(req->out, "client");
			json_raw(req->out, found->json, strlen(found->json));
		} else {
			rc = mgmt_error(req, "not_found", "no session with client id '%s'", id);
		}
	}
	dp_ctl_req_put(r);
	return rc;
}

int rt_cmd_subscriptions(struct mgmt_req *req)
{
	struct dp_ctl_req *r = rt__new(req, DP_CTL_SUBS);
	if (r == NULL)
		return -1;
	r->id = rt__dup(json_get_str(req->json, "client"));
	r->filter = rt__dup(json_get_str(req->json, "filter"));
	r->offline = true;
	int rc = rt__ask(req, r, -1);
	if (rc == 0)
		rc = rt__records(req, r, "subscriptions", true);
	dp_ctl_req_put(r);
	return rc;
}

int rt_cmd_kick(struct mgmt_req *req)
{
	const char *id = rt__arg(req, "id");
	if (id == NULL)
		return -1;
	struct dp_ctl_req *r = rt__new(req, DP_CTL_KICK);
	if (r == NULL)
		return -1;
	r->id = rt__dup(id);
	int rc = rt__ask(req, r, -1);
	if (rc == 0) {
		int found = -1;
		bool offline = false;
		for (unsigned i = 0; i < r->n_parts; i++) {
			if (r->part[i].rc == 0)
				found = (int)i;
			else if (r->part[i].rc == -ENOTCONN)
				offline = true;
		}
		if (found >= 0) {
			TLOG_NOTICE("mgmt", "client '%s' kicked (worker %d)", id, found);
			json_kv_str(req->out, "client_id", id);
			json_kv_u64(req->out, "worker", (uint64_t)found);
			json_kv_str(req->out, "message", "disconnected");
		} else if (offline) {
			rc = mgmt_error(req, "not_connected",
					"client '%s' has a session but no connection", id);
		} else {
			rc = mgmt_error(req, "not_found", "no client with id '%s'", id);
		}
	}
	dp_ctl_req_put(r);
	return rc;
}

/* ---- retained, publish (worker 0: any worker sees the whole tree) ---- */

int rt_cmd_retained(struct mgmt_req *req)
{
	const char *op = json_get_str(req->json, "op");
	if (op == NULL)
		op = "list";
	bool list = strcmp(op, "list") == 0, get = strcmp(op, "get") == 0;
	bool clear = strcmp(op, "clear") == 0;
	if (!list && !get && !clear)
		return mgmt_error(req, "bad_request", "'op' must be list, get or clear");
	const char *topic = NULL;
	if (!list && (topic = rt__arg(req, "topic")) == NULL)
		return -1;
	if (topic != NULL && (strchr(topic, '+') != NULL || strchr(topic, '#') != NULL))
		return mgmt_error(req, "bad_request", "'topic' is a topic name: no wildcards");
	struct dp_ctl_req *r = rt__new(req, DP_CTL_RETAINED);
	if (r == NULL)
		return -1;
	const char *f = list ? json_get_str(req->json, "filter") : topic;
	r->filter = rt__dup(f != NULL ? f : "#");
	r->with_payload = get;
	int rc = rt__ask(req, r, 0);
	if (rc == 0 && r->part[0].rc == -EINVAL)
		rc = mgmt_error(req, "bad_request", "'%s' is not a valid topic filter", r->filter);
	else if (rc == 0 && r->part[0].rc < 0)
		rc = mgmt_error(req, "failed", "%s", strerror(-r->part[0].rc));
	if (rc == 0 && list) {
		rc = rt__records(req, r, "retained", true);
	} else if (rc == 0 && r->part[0].n == 0) {
		rc = mgmt_error(req, "not_found", "no retained message on '%s'", topic);
	} else if (rc == 0 && get) {
		json_key(req->out, "retained");
		json_raw(req->out, r->part[0].recs[0].json, strlen(r->part[0].recs[0].json));
	} else if (rc == 0 && clear) {
		struct dp_ctl_req *c = rt__new(req, DP_CTL_RETAINED_CLEAR);
		if (c == NULL) {
			rc = -1;
		} else {
			c->topic = rt__dup(topic);
			rc = rt__ask(req, c, 0);
			if (rc == 0 && c->part[0].rc != 0)
				rc = mgmt_error(req, "failed", "%s", strerror(-c->part[0].rc));
			if (rc == 0) {
				TLOG_NOTICE("mgmt", "retained message on '%s' cleared", topic);
				json_kv_str(req->out, "topic", topic);
				json_kv_str(req->out, "message", "cleared");
			}
			dp_ctl_req_put(c);
		}
	}
	dp_ctl_req_put(r);
	return rc;
}

int rt_cmd_publish(struct mgmt_req *req)
{
	const char *topic = rt__arg(req, "topic");
	if (topic == NULL)
		return -1;
	const char *payload = json_get_str(req->json, "payload");
	if (payload == NULL)
		payload = "";
	uint64_t qos = json_get_u64(req->json, "qos", 0);
	if (qos > 2)
		return mgmt_error(req, "bad_request", "'qos' must be 0, 1 or 2");
	struct dp_ctl_req *r = rt__new(req, DP_CTL_PUBLISH);
	if (r == NULL)
		return -1;
	r->topic = rt__dup(topic);
	r->len = (uint32_t)strlen(payload);
	r->payload = malloc(r->len + 1);
	if (r->payload != NULL)
		memcpy(r->payload, payload, r->len + 1);
	r->qos = (uint8_t)qos;
	r->retain = json_get_bool(req->json, "retain", false);
	int rc = r->payload == NULL ? mgmt_error(req, "failed", "out of memory")
				    : rt__ask(req, r, 0);
	if (rc == 0 && r->part[0].rc == -EINVAL)
		rc = mgmt_error(req, "bad_request",
				"'%s' is not a valid topic name to publish to", topic);
	else if (rc == 0 && r->part[0].rc != 0)
		rc = mgmt_error(req, "failed", "%s", strerror(-r->part[0].rc));
	if (rc == 0) {
		TLOG_INFO("mgmt", "published %u bytes to '%s' (qos %u%s)", r->len, topic,
			  (unsigned)qos, r->retain ? ", retained" : "");
		json_kv_str(req->out, "topic", topic);
		json_kv_u64(req->out, "bytes", r->len);
	}
	dp_ctl_req_put(r);
	return rc;
}

/* ---- config, reload, log ---- */

/* After the control core's copy changed: push what the broker and the logger use. */
static void rt__apply(struct rt *rt)
{
	tlog_set_level(rt->cfg.log_level);
	dp_mqtt_apply_settings(&rt->cfg);
	/* allow_anonymous lives in the security tables the workers read: publish them again
	 * (same password and ACL tables, the listeners' anonymous flags from the new config). */
	rt_auth_republish();
}

/*
 * Run-time keys the running broker picks up at once (rt__apply). The other run-time keys of
 * lib/conf (password_file, acl_file, autosave_interval, impair_*) are
 * accepted and stored, and reported with "live": false: the parts reading them take their
 * copy at start-up in this version (docs/management.md, config).
 */
static bool rt__live(const char *key)
{
	static const char *const live[] = {
		"max_inflight_messages", "max_queued_messages", "max_queued_bytes",
		"message_size_limit", "max_packet_size", "max_keepalive", "retain_available",
		"sys_interval", "log_level", "log_type", "allow_anonymous",
	};
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(key, live[i]) == 0)
			return true;
	return false;
}

static void rt__key_json(struct json_writer *w, const struct tachyon_config *c,
			 const struct conf_key_info *k)
{
	char buf[1024];
	json_obj_begin(w);
	json_kv_str(w, "key", k->name);
	if (conf_get(c, k->name, buf, sizeof(buf)) == 0)
		json_kv_str(w, "value", buf);
	else
		json_kv_str(w, "value", NULL);
	json_kv_bool(w, "runtime", k->runtime);
	json_kv_bool(w, "live", k->runtime && rt__live(k->name));
	json_kv_str(w, "allowed", k->allowed);
	json_obj_end(w);
}

/* Set one key at run time: validated by lib/conf on a copy (a refused value changes
 * nothing), logged, applied. */
static int rt__set(struct mgmt_req *req, struct rt *rt, const char *key, const char *value,
		   const char *where)
{
	char old[1024] = "", err[512];
	if (conf_get(&rt->cfg, key, old, sizeof(old)) != 0)
		old[0] = '\0';
	if (conf_set_runtime(&rt->cfg, key, value, where, err, sizeof(err)) != 0) {
		const struct conf_key_info *ki = conf_key_info(key);
		const char *code = ki == NULL || !ki->supported ? "unknown_key"
				   : !ki->runtime ? "restart_required" : "invalid_value";
		return mgmt_error(req, code, "%s", err);
	}
	char now[1024] = "";
	if (conf_get(&rt->cfg, key, now, sizeof(now)) != 0)
		snprintf(now, sizeof(now), "%s", value);
	TLOG_NOTICE("config", "%s changed from '%s' to '%s' (%s)", key, old, now, where);
	rt__apply(rt);
	return 0;
}

int rt_cmd_config(struct mgmt_req *req)
{
	struct rt *rt = req->ctx;
	struct json_writer *w = req->out;
	const char *op = json_get_str(req->json, "op");
	const char *key = json_get_str(req->json, "key");
	if (op == NULL || strcmp(op, "get") == 0) {
		if (key != NULL) {
			const struct conf_key_info *k = conf_key_info(key);
			char buf[8];
			if (k == NULL || !k->supported || k->prefix ||
			    (conf_get(&rt->cfg, key, buf, sizeof(buf)) != 0 && errno == ENOENT))
				return mgmt_error(req, "unknown_key",
						  "'%s' is not a setting with a value", key);
			json_key(w, "setting");
			rt__key_json(w, &rt->cfg, k);
			return 0;
		}
		json_key(w, "settings");
		json_arr_begin(w);
		for (unsigned i = 0; i < conf_key_count(); i++) {
			const struct conf_key_info *k = conf_key_at(i);
			char buf[8];
			if (!k->supported || k->prefix ||
			    (conf_get(&rt->cfg, k->name, buf, sizeof(buf)) != 0 && errno == ENOENT))
				continue;
			rt__key_json(w, &rt->cfg, k);
		}
		json_arr_end(w);
		return 0;
	}
	if (strcmp(op, "set") != 0)
		return mgmt_error(req, "bad_request", "'op' must be get or set");
	const char *value = json_get_str(req->json, "value");
	if (key == NULL || value == NULL)
		return mgmt_error(req, "bad_request", "'key' and 'value' (strings) are required");
	if (rt__set(req, rt, key, value, "mgmt") != 0)
		return -1;
	const struct conf_key_info *k = conf_key_info(key);
	json_key(w, "setting");
	rt__key_json(w, &rt->cfg, k);
	return 0;
}

int rt_cmd_log(struct mgmt_req *req)
{
	struct rt *rt = req->ctx;
	const char *level = json_get_str(req->json, "level");
	if (level != NULL && rt__set(req, rt, "log_level", level, "mgmt") != 0)
		return -1;
	json_kv_str(req->out, "log_level", tlog_level_name(tlog_get_level()));
	return 0;
}

/*
 * Re-read the config file: keys that may change at run time and whose value differs are
 * set (logged, applied); keys that differ but cannot change are reported under
 * "restart_required" and left as they are. A file that does not load or validate changes
 * nothing.
 */
int rt_cmd_reload(struct mgmt_req *req)
{
	struct rt *rt = req->ctx;
	if (rt->cfg.source_path[0] == '\0')
		return mgmt_error(req, "no_config_file",
				  "tachyond runs on the embedded default: no file to re-read");
	struct tachyon_config *nc = malloc(sizeof(*nc));
	if (nc == NULL)
		return mgmt_error(req, "failed", "out of memory");
	char err[512];
	conf_defaults(nc);
	if (conf_load_file(nc, rt->cfg.source_path, err, sizeof(err)) != 0 ||
	    conf_validate(nc, err, sizeof(err)) != 0) {
		free(nc);
		return mgmt_error(req, "invalid_config", "%s (nothing changed)", err);
	}
	struct json_writer *w = req->out;
	json_kv_str(w, "config", rt->cfg.source_path);
	struct json_writer applied, restart, failed;
	json_writer_init(&applied);
	json_writer_init(&restart);
	json_writer_init(&failed);
	json_arr_begin(&applied);
	json_arr_begin(&restart);
	json_arr_begin(&failed);
	for (unsigned i = 0; i < conf_key_count(); i++) {
		const struct conf_key_info *k = conf_key_at(i);
		char a[1024], b[1024];
		if (!k->supported || k->prefix || conf_get(&rt->cfg, k->name, a, sizeof(a)) != 0 ||
		    conf_get(nc, k->name, b, sizeof(b)) != 0 || strcmp(a, b) == 0)
			continue;
		if (!k->runtime) {
			json_str(&restart, k->name);
			continue;
		}
		char e2[512];
		if (conf_set_runtime(&rt->cfg, k->name, b, "reload", e2, sizeof(e2)) != 0) {
			json_obj_begin(&failed);
			json_kv_str(&failed, "key", k->name);
			json_kv_str(&failed, "message", e2);
			json_obj_end(&failed);
			continue;
		}
		TLOG_NOTICE("config", "%s changed from '%s' to '%s' (reload)", k->name, a, b);
		json_obj_begin(&applied);
		json_kv_str(&applied, "key", k->name);
		json_kv_str(&applied, "old", a);
		json_kv_str(&applied, "new", b);
		json_kv_bool(&applied, "live", rt__live(k->name));
		json_obj_end(&applied);
	}
	free(nc);
	rt__apply(rt);
	json_arr_end(&applied);
	json_arr_end(&restart);
	json_arr_end(&failed);
	const char *s;
	json_key(w, "applied");
	s = json_writer_str(&applied);
	json_raw(w, s ? s : "[]", strlen(s ? s : "[]"));
	json_key(w, "restart_required");
	s = json_writer_str(&restart);
	json_raw(w, s ? s : "[]", strlen(s ? s : "[]"));
	json_key(w, "failed");
	s = json_writer_str(&failed);
	json_raw(w, s ? s : "[]", strlen(s ? s : "[]"));
	json_writer_free(&applied);
	json_writer_free(&restart);
	json_writer_free(&failed);
	TLOG_NOTICE("config", "reloaded %s", rt->cfg.source_path);
	return 0;
}
