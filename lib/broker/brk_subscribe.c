/**
 * @file brk_subscribe.c
 * SUBSCRIBE -> SUBACK, then the retained messages the new subscriptions ask for.
 *
 * A filter the session already has replaces the old subscription's options
 * [MQTT-3.8.4-3]; retained messages are sent according to Retain Handling (0: always,
 * 1: only for a new subscription, 2: never) and never for shared subscriptions
 * [MQTT-3.8.4-4, 5.0 4.8.2]. They go after the SUBACK, with RETAIN set [MQTT-3.3.1-8].
 *
 * In persistence_mode sync the SUBACK of a durable session waits until its sub_add records
 * are on disk (brk_persist_suback): a client that saw SUBACK keeps the subscription through
 * any crash. The retained messages wait with it, so they still follow it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

struct brk__ret_list {
	struct brk_msg **v;
	size_t n, cap;
};

static void brk__ret_collect(void *arg, struct topic_retained *r)
{
	struct brk__ret_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct brk_msg **nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return;
		l->v = nv;
		l->cap = cap;
	}
	struct brk_msg *m = caa_container_of(r, struct brk_msg, ret);
	brk_msg_ref(m); /* valid until our next quiescent state only: hold it */
	l->v[l->n++] = m;
}

static struct brk_sub *brk__find_sub(struct brk_session *s, const struct mqtt_str *f)
{
	for (struct brk_sub *sub = s->subs; sub != NULL; sub = sub->next)
		if (sub->len == f->len && memcmp(sub->filter, f->p, f->len) == 0)
			return sub;
	return NULL;
}

/* Add or update one subscription. @return the granted QoS, or a failure reason code. */
static uint8_t brk__subscribe_one(struct brk_conn *c, const struct mqtt_sub *e, uint32_t sub_id,
				  bool *is_new, bool *shared)
{
	struct brk_worker *w = c->w;
	struct brk_session *s = c->s;
	const char *f = (const char *)e->filter.p;
	size_t fl = e->filter.len;
	*is_new = false;
	size_t glen = 0;
	size_t plain = topic_share_split(f, fl, &glen);
	*shared = glen > 0;
	int rc = topic_filter_check(f, fl);
	if (rc == 0) {
		/* The configured bound (max_topic_levels) below the tree's own. */
		uint32_t levels = 1;
		for (size_t i = plain; i < fl; i++)
			levels += f[i] == '/';
		if (levels > w->sh->set.max_topic_levels)
			rc = -E2BIG;
	}
	if (rc == -E2BIG)
		BRK_CNT(w, lim_topic_levels, 1);
	if (rc != 0)
		return brk_reason_from_errno(rc, MQTT_SUBSCRIBE);
	/* MQTT 5: 0x87 Not authorized; the caller turns it into 3.1.1's 0x80 Failure. */
	if (!brk_acl_ok(s, &e->filter, AUTH_ACL_SUBSCRIBE))
		return MQTT_RC_NOT_AUTHORIZED;
	struct topic_opts o;
	memset(&o, 0, sizeof(o));
	o.max_qos = e->qos > 2 ? 2 : e->qos;
	if (c->version == MQTT_V5) {
		o.no_local = e->no_local;
		o.retain_as_published = e->retain_as_published;
		o.retain_handling = e->retain_handling;
		o.sub_id = sub_id;
	} else {
		/* 3.1.x has no retain-as-published: Mosquitto keeps RETAIN on forwarded
		 * messages off, like 3.1.1 section 3.3.1.3 describes. */
	}
	struct brk_sub *sub = brk__find_sub(s, &e->filter);
	if (sub != NULL) {
		rc = topic_sub_set_opts(sub->h, &o);
		if (rc != 0)
			return brk_reason_from_errno(rc, MQTT_SUBSCRIBE);
		sub->opts = o;
		brk_p_sub_add(s, sub);
		return o.max_qos;
	}
	if (w->sh->set.max_subs_per_client != 0 && s->n_subs >= w->sh->set.max_subs_per_client) {
		BRK_CNT(w, lim_subscriptions, 1);
		return MQTT_RC_QUOTA_EXCEEDED;
	}
	sub = malloc(sizeof(*sub) + fl + 1);
	if (sub == NULL)
		return MQTT_RC_UNSPECIFIED;
	memcpy(sub->filter, f, fl);
	sub->filter[fl] = '\0';
	sub->len = (uint16_t)fl;
	sub->opts = o;
	rc = topic_subscribe(w->sh->tree, sub->filter, fl, w->index, s->uid, &o, &sub->h);
	if (rc != 0) {
		free(sub);
		return brk_reason_from_errno(rc, MQTT_SUBSCRIBE);
	}
	sub->next = s->subs;
	s->subs = sub;
	s->n_subs++;
	brk_p_sub_add(s, sub);
	*is_new = true;
	return o.max_qos;
}

/* The retained messages of one filter, for the session's subscription to it (if it still
 * has one: a held SUBACK may be released after an UNSUBSCRIBE). */
static void brk__send_retained(struct brk_conn *c, const uint8_t *filter, uint16_t len,
			       uint32_t sub_id)
{
	struct brk_session *s = c->s;
	struct mqtt_str f = { .p = filter, .len = len };
	struct brk_sub *sub = brk__find_sub(s, &f);
	if (sub == NULL)
		return;
	struct brk__ret_list l = { 0 };
	topic_retained_lookup(c->w->sh->tree, (const char *)filter, len, brk__ret_collect, &l);
	for (size_t r = 0; r < l.n; r++) {
		if (c->state == BRK_C_CONNECTED && c->s == s)
			brk_deliver_to(s, l.v[r], &sub->opts, &sub_id, sub_id ? 1 : 0, true);
		brk_msg_unref(l.v[r]);
	}
	free(l.v);
}

void brk_suback_send(struct brk_conn *c, const struct brk_suback *sa)
{
	if (c->state != BRK_C_CONNECTED || c->s == NULL)
		return;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = sa->type;
	p.suback.packet_id = sa->pid;
	p.suback.codes.p = sa->data;
	p.suback.codes.len = sa->n_codes;
	brk_out_packet(c, &p);
	/* Retained messages after the SUBACK [MQTT-3.3.1-8], filter by filter. */
	const uint8_t *r = sa->data + sa->n_codes;
	for (uint32_t k = 0; k < sa->n_ret && c->state == BRK_C_CONNECTED; k++) {
		uint16_t len = (uint16_t)(r[0] | (r[1] << 8));
		brk__send_retained(c, r + 2, len, sa->sub_id);
		r += 2 + len;
	}
}

int brk_handle_subscribe(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_subscribe *sb = &pkt->subscribe;
	uint32_t sub_id = 0;
	if (c->version == MQTT_V5 && MQTT_PROP_HAS(&sb->props, MQTT_PROP_SUB_ID))
		sub_id = sb->props.sub_id;
	/* Codes, then the filters whose retained messages follow, in one allocation: it is
	 * what a held SUBACK keeps (brk_persist_suback). The packet's length bounds it. */
	size_t cap = sizeof(struct brk_suback) + sb->count + sb->raw.len;
	struct brk_suback *sa = malloc(cap);
	bool *want = calloc(sb->count ? sb->count : 1, sizeof(bool));
	if (sa == NULL || want == NULL) {
		free(sa);
		free(want);
		return MQTT_RC_UNSPECIFIED;
	}
	uint8_t *codes = sa->data;
	uint32_t off = 0, i = 0;
	struct mqtt_sub e;
	while (i < sb->count && mqtt_sub_next(sb, &off, &e)) {
		bool is_new, shared;
		uint8_t rc = brk__subscribe_one(c, &e, sub_id, &is_new, &shared);
		if (rc >= 0x80 && c->version != MQTT_V5)
			rc = 0x80; /* 3.1.1's only failure code */
		codes[i] = rc;
		want[i] = rc < 0x80 && !shared &&
			  (e.retain_handling == 0 || (e.retain_handling == 1 && is_new));
		if (c->version != MQTT_V5)
			want[i] = rc < 0x80 && !shared; /* no retain handling before 5.0 */
		i++;
	}
	sa->type = MQTT_SUBACK;
	sa->pid = sb->packet_id;
	sa->n_codes = i;
	sa->sub_id = sub_id;
	sa->n_ret = 0;
	if (c->w->sh->set.retain_available) {
		uint8_t *r = sa->data + i;
		off = 0;
		for (uint32_t k = 0; k < i && mqtt_sub_next(sb, &off, &e); k++) {
			if (!want[k])
				continue;
			r[0] = (uint8_t)e.filter.len;
			r[1] = (uint8_t)(e.filter.len >> 8);
			memcpy(r + 2, e.filter.p, e.filter.len);
			r += 2 + e.filter.len;
			sa->n_ret++;
		}
	}
	free(want);
	brk_persist_suback(c, sa); /* sends now or when the sub_add records are durable */
	return 0;
}
