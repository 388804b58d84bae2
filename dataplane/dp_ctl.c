/**
 * @file dp_ctl.c
 * Control-core requests to the workers (see dp_ctl.h for how they travel and end): the
 * control core's side (new, post, wait, put) and the worker's side (dp_ctl_handle), which
 * turns lib/broker's brk_ctl_* walks into JSON records.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "broker/brk.h"
#include "dp_ctl.h"
#include "dp_mqtt.h"
#include "mqtt/mqtt.h"
#include "util/json.h"

struct dp_ctl_req *dp_ctl_req_new(enum dp_ctl_kind kind, unsigned n_workers)
{
	struct dp_ctl_req *r = calloc(1, sizeof(*r) + n_workers * sizeof(r->part[0]));
	if (r == NULL)
		return NULL;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->kind = kind;
	r->n_parts = n_workers;
	return r;
}

void dp_ctl_req_put(struct dp_ctl_req *r)
{
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (unsigned i = 0; i < r->n_parts; i++) {
		for (size_t k = 0; k < r->part[i].n; k++) {
			free(r->part[i].recs[k].key);
			free(r->part[i].recs[k].json);
		}
		free(r->part[i].recs);
	}
	free(r->id);
	free(r->prefix);
	free(r->filter);
	free(r->topic);
	free(r->payload);
	close(r->efd);
	free(r);
}

int dp_ctl_post(struct dp_ctl_req *r, unsigned worker)
{
	if (worker >= r->n_parts)
		return -EINVAL;
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	r->part[worker].posted = 1;
	int rc = dp_mqtt_post_ctl(worker, r);
	if (rc != 0) {
		r->part[worker].posted = 0;
		__atomic_sub_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

bool dp_ctl_part_done(const struct dp_ctl_req *r, unsigned i)
{
	return r->part[i].posted && __atomic_load_n(&r->part[i].done, __ATOMIC_ACQUIRE);
}

static unsigned dp__ctl_pending(const struct dp_ctl_req *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n_parts; i++)
		if (r->part[i].posted && !dp_ctl_part_done(r, i))
			n++;
	return n;
}

static int64_t dp__ctl_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned dp_ctl_wait(struct dp_ctl_req *r, int timeout_ms)
{
	int64_t deadline = dp__ctl_ms() + timeout_ms;
	unsigned left;
	while ((left = dp__ctl_pending(r)) > 0) {
		int64_t now = dp__ctl_ms();
		if (now >= deadline)
			break;
		struct pollfd p = { .fd = r->efd, .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) > 0) {
			uint64_t v;
			ssize_t n = read(r->efd, &v, sizeof(v));
			(void)n;
		}
	}
	return left;
}

/* ---- the worker's side ---- */

static int dp__rec_add(struct dp_ctl_part *p, const char *key, size_t key_len,
		       const struct json_writer *jw)
{
	const char *s = json_writer_str(jw);
	if (s == NULL)
		return -ENOMEM;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 16;
		struct dp_ctl_rec *nr = realloc(p->recs, nc * sizeof(*nr));
		if (nr == NULL)
			return -ENOMEM;
		p->recs = nr;
		p->cap = nc;
	}
	char *k = malloc(key_len + 1);
	char *j = strdup(s);
	if (k == NULL || j == NULL) {
		free(k);
		free(j);
		return -ENOMEM;
	}
	memcpy(k, key, key_len);
	k[key_len] = '\0';
	p->recs[p->n].key = k;
	p->recs[p->n].json = j;
	p->n++;
	return 0;
}

struct dp__walk {
	struct dp_ctl_req *r;
	struct dp_ctl_part *p;
	struct json_writer jw;
	const char *cur_id;           /* SUBS: the session being walked */
	uint16_t cur_id_len;
	const struct brk_client_info *cur;
	int rc;
};

static void dp__sub_json(struct json_writer *jw, const char *filter, uint16_t len,
			 const struct topic_opts *o)
{
	json_key(jw, "filter");
	json_strn(jw, filter, len);
	json_kv_u64(jw, "qos", o->max_qos);
	json_kv_bool(jw, "no_local", o->no_local);
	json_kv_bool(jw, "retain_as_published", o->retain_as_published);
	json_kv_u64(jw, "retain_handling", o->retain_handling);
	if (o->sub_id != 0)
		json_kv_u64(jw, "subscription_id", o->sub_id);
}

static void dp__sub_in_client(void *arg, const char *filter, uint16_t len,
			      const struct topic_opts *o)
{
	struct json_writer *jw = arg;
	json_obj_begin(jw);
	dp__sub_json(jw, filter, len, o);
	json_obj_end(jw);
}

static void dp__sub_rec(void *arg, const char *filter, uint16_t len, const struct topic_opts *o)
{
	struct dp__walk *x = arg;
	const char *want = x->r->filter;
	if (want != NULL && (strlen(want) != len || memcmp(want, filter, len) != 0))
		return;
	const struct brk_client_info *ci = x->cur;
	json_writer_reset(&x->jw);
	json_obj_begin(&x->jw);
	json_key(&x->jw, "client_id");
	json_strn(&x->jw, ci->id, ci->id_len);
	json_kv_u64(&x->jw, "worker", ci->worker);
	json_kv_bool(&x->jw, "online", ci->online);
	dp__sub_json(&x->jw, filter, len, o);
	json_obj_end(&x->jw);
	if (dp__rec_add(x->p, ci->id, ci->id_len, &x->jw) != 0)
		x->rc = -ENOMEM;
}

static bool dp__id_match(const struct dp_ctl_req *r, const struct brk_client_info *ci)
{
	if (r->id != NULL && (strlen(r->id) != ci->id_len || memcmp(r->id, ci->id, ci->id_len)))
		return false;
	if (r->prefix != NULL) {
		size_t pl = strlen(r->prefix);
		if (pl > ci->id_len || memcmp(r->prefix, ci->id, pl) != 0)
			return false;
	}
	return true;
}

static int dp__client(void *arg, const struct brk_client_info *ci)
{
	struct dp__walk *x = arg;
	const struct dp_ctl_req *r = x->r;
	if (!dp__id_match(r, ci))
		return 0;
	if (r->kind == DP_CTL_SUBS) {
		x->cur = ci;
		brk_ctl_client_subs(ci, dp__sub_rec, x);
		return x->rc;
	}
	if ((r->state == 1 && !ci->online) || (r->state == 2 && ci->online))
		return 0;
	if (r->version != 0 && (!ci->online || ci->version != r->version))
		return 0;
	struct json_writer *jw = &x->jw;
	json_writer_reset(jw);
	json_obj_begin(jw);
	json_key(jw, "client_id");
	json_strn(jw, ci->id, ci->id_len);
	json_kv_u64(jw, "worker", ci->worker);
	json_kv_bool(jw, "online", ci->online);
	if (ci->online) {
		char addr[64];
		if (dp_mqtt_peer(ci->tctx, addr, sizeof(addr)) == 0)
			json_kv_str(jw, "address", addr);
		else
			json_kv_str(jw, "address", NULL);
		json_kv_u64(jw, "protocol_version", ci->version);
		json_kv_u64(jw, "keep_alive", ci->keepalive);
		json_kv_double(jw, "connected_for_s", ci->connected_for_s);
		/* Wall-clock time of the CONNACK, for people (the broker clock is monotonic). */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		time_t since = ts.tv_sec - (time_t)ci->connected_for_s;
		struct tm tm;
		char iso[32];
		gmtime_r(&since, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_kv_str(jw, "connected_since", iso);
		json_kv_u64(jw, "bytes_in", ci->bytes_in);
		json_kv_u64(jw, "bytes_out", ci->bytes_out);
	}
	json_kv_u64(jw, "inflight", ci->inflight);
	json_kv_u64(jw, "queued", ci->queued);
	json_kv_u64(jw, "queued_bytes", ci->queued_bytes);
	json_kv_u64(jw, "subscriptions", ci->n_subs);
	if (ci->expiry_s == UINT32_MAX)
		json_kv_str(jw, "session_expiry_s", NULL);
	else
		json_kv_u64(jw, "session_expiry_s", ci->expiry_s);
	if (!ci->online) {
		if (ci->expires_in_s < 0)
			json_kv_str(jw, "expires_in_s", NULL);
		else
			json_kv_double(jw, "expires_in_s", ci->expires_in_s);
	}
	json_kv_bool(jw, "will", ci->has_will);
	if (r->with_subs) {
		json_key(jw, "subscription_list");
		json_arr_begin(jw);
		brk_ctl_client_subs(ci, dp__sub_in_client, jw);
		json_arr_end(jw);
	}
	json_obj_end(jw);
	if (dp__rec_add(x->p, ci->id, ci->id_len, jw) != 0) {
		x->rc = -ENOMEM;
		return -1;
	}
	return 0;
}

static void dp__retained(void *arg, const char *topic, uint16_t topic_len,
			 const uint8_t *payload, uint32_t len, uint8_t qos)
{
	struct dp__walk *x = arg;
	struct json_writer *jw = &x->jw;
	json_writer_reset(jw);
	json_obj_begin(jw);
	json_key(jw, "topic");
	json_strn(jw, topic, topic_len);
	json_kv_u64(jw, "qos", qos);
	json_kv_u64(jw, "bytes", len);
	if (x->r->with_payload) {
		/* Shown as text when it is well-formed UTF-8 without control characters (other
		 * than tab and newline), else as hex: the reply must stay valid JSON text, and a
		 * payload is any bytes. */
		bool text = mqtt_utf8_valid(payload, len);
		for (uint32_t i = 0; i < len && text; i++)
			if (payload[i] < 0x20 && payload[i] != '\n' && payload[i] != '\t')
				text = false;
		if (text) {
			json_key(jw, "payload");
			json_strn(jw, (const char *)payload, len);
		} else {
			char *hex = malloc((size_t)len * 2 + 1);
			if (hex != NULL) {
				for (uint32_t i = 0; i < len; i++) {
					hex[2 * i] = "0123456789abcdef"[payload[i] >> 4];
					hex[2 * i + 1] = "0123456789abcdef"[payload[i] & 15];
				}
				hex[2 * (size_t)len] = '\0';
				json_kv_str(jw, "payload_hex", hex);
				free(hex);
			}
		}
	}
	json_obj_end(jw);
	if (dp__rec_add(x->p, topic, topic_len, jw) != 0)
		x->rc = -ENOMEM;
}

static void dp__ctl_done(struct dp_ctl_req *r, unsigned i, int rc)
{
	r->part[i].rc = rc;
	__atomic_store_n(&r->part[i].done, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t n = write(r->efd, &one, sizeof(one));
	(void)n;
	dp_ctl_req_put(r);
}

void dp_ctl_handle(struct dp_ctl_req *r, struct brk_worker *bw, unsigned i)
{
	struct dp__walk x = { .r = r, .p = &r->part[i], .rc = 0 };
	json_writer_init(&x.jw);
	int rc = 0;
	switch (r->kind) {
	case DP_CTL_CLIENTS:
	case DP_CTL_SUBS:
		brk_ctl_list(bw, r->offline || r->state == 2, dp__client, &x);
		rc = x.rc;
		break;
	case DP_CTL_KICK:
		rc = brk_ctl_kick(bw, r->id, strlen(r->id));
		break;
	case DP_CTL_RETAINED:
		rc = brk_ctl_retained(bw, r->filter, strlen(r->filter), dp__retained, &x);
		rc = rc < 0 ? rc : x.rc;
		break;
	case DP_CTL_PUBLISH:
		rc = brk_ctl_publish(bw, r->topic, strlen(r->topic), r->payload, r->len, r->qos,
				     r->retain);
		break;
	case DP_CTL_RETAINED_CLEAR:
		rc = brk_ctl_retained_clear(bw, r->topic, strlen(r->topic));
		break;
	default:
		rc = -EINVAL;
	}
	json_writer_free(&x.jw);
	dp__ctl_done(r, i, rc);
}

void dp_ctl_abandon(struct dp_ctl_req *r, unsigned i)
{
	dp__ctl_done(r, i, -ESHUTDOWN);
}
