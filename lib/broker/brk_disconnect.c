/**
 * @file brk_disconnect.c
 * DISCONNECT from the client: the normal end of a connection. Reason 0x00 discards the
 * will [MQTT-3.14.4-3]; MQTT 5's 0x04 "disconnect with will message" keeps it, as does
 * any other reason. MQTT 5 may change the Session Expiry Interval here, but not from 0
 * to non-zero [MQTT-3.14.2-2]. Server-initiated DISCONNECTs are sent by brk_conn_close().
 */
#include "broker/brk_int.h"

int brk_handle_disconnect(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	const struct mqtt_disconnect *d = &pkt->disconnect;
	struct brk_session *s = c->s;
	if (c->version == MQTT_V5 && MQTT_PROP_HAS(&d->props, MQTT_PROP_SESSION_EXPIRY)) {
		if (s->expiry_s == 0 && d->props.session_expiry != 0)
			return MQTT_RC_PROTOCOL_ERROR;
		bool changed = s->expiry_s != d->props.session_expiry;
		s->expiry_s = d->props.session_expiry;
		if (changed && s->expiry_s != 0)
			brk_p_sess_create(s, false, false); /* the replica learns the new interval */
	}
	c->normal_disconnect = c->version != MQTT_V5 || d->rc == 0;
	brk_conn_close(c, 0);
	return 0;
}
