/**
 * @file brk_msg.c
 * Messages: one allocation per PUBLISH received (or will, or $SYS update), shared by
 * reference count by every subscriber, queue, worker and retained slot.
 *
 * The message is kept as an MQTT 5 PUBLISH encoding of itself (topic resolved, Topic
 * Alias and Subscription Identifiers removed) and decoded views into it: one copy when
 * the PUBLISH arrives, none per subscriber. Each delivery encodes only a small head
 * (mqtt_publish_head_encode()) and the transport sends the payload bytes of @c buf by
 * reference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

static struct brk_msg_alloc brk__alloc; /* alloc == NULL: malloc/free */

void brk_msg_set_alloc(const struct brk_msg_alloc *a)
{
	if (a != NULL)
		brk__alloc = *a;
	else
		memset(&brk__alloc, 0, sizeof(brk__alloc));
}

static void *brk__msg_alloc(size_t n)
{
	return brk__alloc.alloc != NULL ? brk__alloc.alloc(brk__alloc.ctx, n) : malloc(n);
}

static void brk__msg_free(void *p)
{
	if (brk__alloc.alloc != NULL)
		brk__alloc.free(brk__alloc.ctx, p);
	else
		free(p);
}

struct brk_msg *brk_msg_new(const struct mqtt_publish *p, const uint8_t *topic,
			    uint16_t topic_len, uint64_t publisher, uint64_t now)
{
	struct mqtt_packet pk;
	memset(&pk, 0, sizeof(pk));
	pk.type = MQTT_PUBLISH;
	pk.publish = *p;
	pk.publish.topic.p = topic;
	pk.publish.topic.len = topic_len;
	pk.publish.dup = false;
	pk.publish.packet_id = p->qos ? 1 : 0;
	/* Per-subscriber properties are added by the head encoder, never stored. */
	pk.publish.props.present &= ~((uint64_t)1 << MQTT_PROP_TOPIC_ALIAS);
	pk.publish.props.present &= ~((uint64_t)1 << MQTT_PROP_SUB_ID);
	pk.publish.props.n_sub_ids = 0;
	pk.publish.props.sub_ids = NULL;
	size_t len = mqtt_encode_size(MQTT_V5, &pk);
	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	struct brk_msg *m = brk__msg_alloc(sizeof(*m) + len);
	if (m == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	if (mqtt_encode(MQTT_V5, &pk, m->buf, len) != len) {
		brk__msg_free(m);
		errno = EINVAL;
		return NULL;
	}
	struct mqtt_packet dec;
	if (mqtt_decode(MQTT_V5, m->buf, len, &dec) != MQTT_OK) {
		brk__msg_free(m);
		errno = EINVAL;
		return NULL;
	}
	m->refcnt = 1;
	m->len = (uint32_t)len;
	m->pub = dec.publish;
	m->qos = p->qos;
	m->retain = p->retain;
	m->publisher = publisher;
	m->rx_ns = now;
	m->expire_at = BRK_NEVER;
	if (MQTT_PROP_HAS(&p->props, MQTT_PROP_MESSAGE_EXPIRY))
		m->expire_at = now + (uint64_t)p->props.message_expiry * BRK_SEC;
	m->ret.size = (uint32_t)len;
	return m;
}

void brk_msg_ref(struct brk_msg *m)
{
	__atomic_fetch_add(&m->refcnt, 1, __ATOMIC_RELAXED);
}

void brk_msg_unref(struct brk_msg *m)
{
	if (m == NULL)
		return;
	/* Release so that the freeing thread sees every use; acquire on the last drop. */
	if (__atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		brk__msg_free(m);
}

const uint8_t *brk_msg_payload(const struct brk_msg *m, uint32_t *len)
{
	*len = m->pub.payload.len;
	return m->pub.payload.p;
}

/* Seconds left, rounded up so that a message is never announced as already expired. */
uint32_t brk_msg_remaining_expiry(const struct brk_msg *m, uint64_t now)
{
	if (m->expire_at == BRK_NEVER)
		return 0;
	if (now >= m->expire_at)
		return 0;
	return (uint32_t)((m->expire_at - now + BRK_SEC - 1) / BRK_SEC);
}

bool brk_msg_expired(const struct brk_msg *m, uint64_t now)
{
	return m->expire_at != BRK_NEVER && now >= m->expire_at;
}
