/**
 * @file brk_ack.c
 * Acknowledgements of the messages we sent: PUBACK (QoS 1 done), PUBREC (QoS 2: answer
 * PUBREL, the message itself can go), PUBCOMP (QoS 2 done). Each frees a slot of the
 * inflight window, so the session's queue is pumped after it.
 *
 * An acknowledgement for an identifier we do not hold is ignored (PUBACK, PUBCOMP) or
 * answered with PUBREL 0x92 (PUBREC, MQTT 5 4.3.3): after a reconnect both sides may
 * legitimately hold stale identifiers, so it is no reason to close.
 */
#include <stdlib.h>

#include "broker/brk_int.h"
#include "plog/plog_record.h"

static struct brk_dlv *brk__find(struct brk_session *s, uint16_t pid, uint8_t qos, uint8_t st)
{
	for (struct brk_dlv *d = s->inflight.head; d != NULL; d = d->next)
		if (d->pid == pid && d->qos == qos && d->state == st)
			return d;
	return NULL;
}

static void brk__done(struct brk_session *s, struct brk_dlv *d)
{
	brk_p_mref(s, PLOG_REC_MSG_ACK, d);
	brk_dlv_take(&s->inflight, d->pid, NULL);
	brk_msg_unref(d->msg);
	free(d);
	brk_deliver_pump(s);
}

int brk_handle_puback(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	struct brk_dlv *d = brk__find(c->s, pkt->ack.packet_id, 1, BRK_DLV_PUBLISHED);
	if (d != NULL)
		brk__done(c->s, d);
	return 0;
}

int brk_handle_pubrec(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	uint16_t pid = pkt->ack.packet_id;
	struct brk_dlv *d = brk__find(c->s, pid, 2, BRK_DLV_PUBLISHED);
	if (d == NULL) {
		if (brk__find(c->s, pid, 2, BRK_DLV_RELEASED) != NULL)
			brk_send_ack(c, MQTT_PUBREL, pid, 0);
		else
			brk_send_ack(c, MQTT_PUBREL, pid, MQTT_RC_PACKET_ID_NOT_FOUND);
		return 0;
	}
	if (pkt->ack.rc >= 0x80) {
		/* The client refused the message: the exchange ends here (MQTT 5 4.3.3). */
		brk__done(c->s, d);
		return 0;
	}
	d->state = BRK_DLV_RELEASED;
	brk_p_mref(c->s, PLOG_REC_QOS2_OUT_REL, d);
	c->s->inflight.bytes -= d->msg->pub.payload.len;
	brk_msg_unref(d->msg);
	d->msg = NULL;
	/* Sync mode, durable session: PUBREL only once qos2_out_rel is on disk. Sent earlier,
	 * a machine crash could make us send the PUBLISH again with an id the client has
	 * already released: it would deliver it twice (docs/durability.md). */
	if (c->s->durable)
		brk_persist_ack(c, MQTT_PUBREL, pid, 0);
	else
		brk_send_ack(c, MQTT_PUBREL, pid, 0);
	return 0;
}

int brk_handle_pubcomp(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	struct brk_dlv *d = brk__find(c->s, pkt->ack.packet_id, 2, BRK_DLV_RELEASED);
	if (d != NULL)
		brk__done(c->s, d);
	return 0;
}
