/**
 * @file brk_ping.c
 * PINGREQ -> PINGRESP. Any packet resets the keep alive (brk_conn_packet); PINGREQ
 * exists for when the client has nothing else to say.
 */
#include <string.h>

#include "broker/brk_int.h"

int brk_handle_pingreq(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	(void)pkt;
	struct mqtt_packet p;
	memset(&p, 0, sizeof(p));
	p.type = MQTT_PINGRESP;
	brk_out_packet(c, &p);
	return 0;
}
