/**
 * @file mqtt_reason.c
 * Reason codes: names, which v5 packets may carry which code (5.0 section 2.4 and the
 * per-packet tables of chapter 3), and the single place that maps a CONNECT failure to the
 * 3.1.x CONNACK return code (3.1.1 table 3.1) or to "close without CONNACK".
 */
#include "mqtt/mqtt.h"

#define C(t) (1u << MQTT_##t)
#define ACK14 (C(PUBACK) | C(PUBREC))
#define ACK67 (C(PUBREL) | C(PUBCOMP))

/* Bit t set: the code may appear in a v5 packet of type t. */
static const uint16_t mqtt__reason_mask[256] = {
	[0x00] = C(CONNACK) | ACK14 | ACK67 | C(SUBACK) | C(UNSUBACK) | C(DISCONNECT) | C(AUTH),
	[0x01] = C(SUBACK),
	[0x02] = C(SUBACK),
	[0x04] = C(DISCONNECT),
	[0x10] = ACK14,
	[0x11] = C(UNSUBACK),
	[0x18] = C(AUTH),
	[0x19] = C(AUTH),
	[0x80] = C(CONNACK) | ACK14 | C(SUBACK) | C(UNSUBACK) | C(DISCONNECT),
	[0x81] = C(CONNACK) | C(DISCONNECT),
	[0x82] = C(CONNACK) | C(DISCONNECT),
	[0x83] = C(CONNACK) | ACK14 | C(SUBACK) | C(UNSUBACK) | C(DISCONNECT),
	[0x84] = C(CONNACK),
	[0x85] = C(CONNACK),
	[0x86] = C(CONNACK),
	[0x87] = C(CONNACK) | ACK14 | C(SUBACK) | C(UNSUBACK) | C(DISCONNECT),
	[0x88] = C(CONNACK),
	[0x89] = C(CONNACK) | C(DISCONNECT),
	[0x8A] = C(CONNACK),
	[0x8B] = C(DISCONNECT),
	[0x8C] = C(CONNACK),
	[0x8D] = C(DISCONNECT),
	[0x8E] = C(DISCONNECT),
	[0x8F] = C(SUBACK) | C(UNSUBACK) | C(DISCONNECT),
	[0x90] = C(CONNACK) | ACK14 | C(DISCONNECT),
	[0x91] = ACK14 | C(SUBACK) | C(UNSUBACK),
	[0x92] = ACK67,
	[0x93] = C(DISCONNECT),
	[0x94] = C(DISCONNECT),
	[0x95] = C(CONNACK) | C(DISCONNECT),
	[0x96] = C(DISCONNECT),
	[0x97] = C(CONNACK) | ACK14 | C(SUBACK) | C(DISCONNECT),
	[0x98] = C(DISCONNECT),
	[0x99] = C(CONNACK) | ACK14 | C(DISCONNECT),
	[0x9A] = C(CONNACK) | C(DISCONNECT),
	[0x9B] = C(CONNACK) | C(DISCONNECT),
	[0x9C] = C(CONNACK) | C(DISCONNECT),
	[0x9D] = C(CONNACK) | C(DISCONNECT),
	[0x9E] = C(SUBACK) | C(DISCONNECT),
	[0x9F] = C(CONNACK) | C(DISCONNECT),
	[0xA0] = C(DISCONNECT),
	[0xA1] = C(SUBACK) | C(DISCONNECT),
	[0xA2] = C(SUBACK) | C(DISCONNECT),
};

bool mqtt_reason_allowed(uint8_t type, uint8_t rc)
{
	return type < 16 && (mqtt__reason_mask[rc] >> type) & 1u;
}

const char *mqtt_reason_str(uint8_t rc)
{
	switch (rc) {
	case 0x00: return "success";
	case 0x01: return "granted QoS 1";
	case 0x02: return "granted QoS 2";
	case 0x04: return "disconnect with will message";
	case 0x10: return "no matching subscribers";
	case 0x11: return "no subscription existed";
	case 0x18: return "continue authentication";
	case 0x19: return "re-authenticate";
	case 0x80: return "unspecified error";
	case 0x81: return "malformed packet";
	case 0x82: return "protocol error";
	case 0x83: return "implementation specific error";
	case 0x84: return "unsupported protocol version";
	case 0x85: return "client identifier not valid";
	case 0x86: return "bad user name or password";
	case 0x87: return "not authorized";
	case 0x88: return "server unavailable";
	case 0x89: return "server busy";
	case 0x8A: return "banned";
	case 0x8B: return "server shutting down";
	case 0x8C: return "bad authentication method";
	case 0x8D: return "keep alive timeout";
	case 0x8E: return "session taken over";
	case 0x8F: return "topic filter invalid";
	case 0x90: return "topic name invalid";
	case 0x91: return "packet identifier in use";
	case 0x92: return "packet identifier not found";
	case 0x93: return "receive maximum exceeded";
	case 0x94: return "topic alias invalid";
	case 0x95: return "packet too large";
	case 0x96: return "message rate too high";
	case 0x97: return "quota exceeded";
	case 0x98: return "administrative action";
	case 0x99: return "payload format invalid";
	case 0x9A: return "retain not supported";
	case 0x9B: return "QoS not supported";
	case 0x9C: return "use another server";
	case 0x9D: return "server moved";
	case 0x9E: return "shared subscriptions not supported";
	case 0x9F: return "connection rate exceeded";
	case 0xA0: return "maximum connect time";
	case 0xA1: return "subscription identifiers not supported";
	case 0xA2: return "wildcard subscriptions not supported";
	}
	return "unknown";
}

const char *mqtt_type_str(uint8_t type)
{
	static const char *const names[16] = {
		"?", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
		"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ",
		"PINGRESP", "DISCONNECT", "AUTH",
	};
	return type < 16 ? names[type] : "?";
}

int mqtt_connack_v3_code(uint8_t rc)
{
	/* 3.1.1 only has CONNACK codes for refusals of a well-formed CONNECT; a malformed
	 * one is answered by closing the connection [MQTT-2.2.2-2] [MQTT-4.8.0-1]. */
	switch (rc) {
	case MQTT_OK: return 0;
	case MQTT_RC_UNSUPPORTED_VERSION: return 1; /* [MQTT-3.1.2-2] */
	case MQTT_RC_CLIENT_ID_INVALID: return 2;
	case MQTT_RC_SERVER_UNAVAILABLE:
	case MQTT_RC_SERVER_BUSY:
	case MQTT_RC_SERVER_SHUTTING_DOWN:
	case MQTT_RC_USE_ANOTHER_SERVER:
	case MQTT_RC_SERVER_MOVED:
	case MQTT_RC_CONNECTION_RATE_EXCEEDED: return 3;
	case MQTT_RC_BAD_USER_PASS:
	case MQTT_RC_BAD_AUTH_METHOD: return 4;
	case MQTT_RC_NOT_AUTHORIZED:
	case MQTT_RC_BANNED: return 5;
	}
	return -1;
}
