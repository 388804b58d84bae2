/**
 * @file brk_auth.c
 * AUTH (MQTT 5 enhanced authentication). No authentication method is configured, so a
 * CONNECT naming one is refused with 0x8C (brk_connect.c), and an AUTH packet can only
 * be a protocol error [MQTT-4.12.0-1]: "If the Client does not include an Authentication
 * Method in the CONNECT, the Client MUST NOT send an AUTH packet to the Server".
 */
#include "broker/brk_int.h"

int brk_handle_auth(struct brk_conn *c, const struct mqtt_packet *pkt)
{
	(void)c;
	(void)pkt;
	return MQTT_RC_PROTOCOL_ERROR;
}
