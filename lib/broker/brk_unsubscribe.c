/**
 * @file brk_unsubscribe.c
 * UNSUBSCRIBE -> UNSUBACK: removes the session's subscriptions to the exact filters
 * named (MQTT 5: 0x00 per removed filter, 0x11 "no subscription existed" otherwise;
 * 3.1.x UNSUBACK carries no codes). Messages already queued for the session stay.
 * In persistence_mode sync a durable session's UNSUBACK waits for its sub_remove records
 * (brk_persist_suback), like its SUBACK.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

int brk_handle_unsubscribe(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_subscribe *sb = &pkt->subscribe;
	struct brk_session *s = c->s;
	struct brk_suback *sa = malloc(sizeof(*sa) + sb->count);
	if (sa == NULL)
		return MQTT_RC_UNSPECIFIED;
	uint8_t *codes = sa->data;
	uint32_t off = 0, i = 0;
	struct mqtt_str f;
	while (i < sb->count && mqtt_unsub_next(sb, &off, &f)) {
		uint8_t rc = 0x11;
		for (struct brk_sub **pp = &s->subs; *pp != NULL; pp = &(*pp)->next) {
			struct brk_sub *sub = *pp;
			if (sub->len == f.len && memcmp(sub->filter, f.p, f.len) == 0) {
				*pp = sub->next;
				topic_unsubscribe(c->w->sh->tree, sub->h);
				brk_p_sub_remove(s, sub->filter, sub->len);
				free(sub);
				s->n_subs--;
				rc = 0;
				break;
			}
		}
		codes[i++] = rc;
	}
	sa->type = MQTT_UNSUBACK;
	sa->pid = sb->packet_id;
	sa->n_codes = c->version == MQTT_V5 ? i : 0;
	sa->sub_id = 0;
	sa->n_ret = 0;
	brk_persist_suback(c, sa); /* sync mode: once the sub_remove records are durable */
	return 0;
}
