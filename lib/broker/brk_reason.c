/**
 * @file brk_reason.c
 * The one place that maps the broker's internal errors to MQTT reason codes and gives
 * reason strings. Internal failures are negative errno values from the parts below
 * (topic tree, allocation); protocol failures are already reason codes (lib/mqtt's
 * enum mqtt_rc). MQTT 3.1.x has no reason codes: there a failure after CONNECT closes the
 * connection, and a refused CONNECT maps through mqtt_connack_v3_code().
 */
#include <errno.h>
#include <string.h>

#include "broker/brk_int.h"

/*
 * errno -> reason code, by the packet that failed:
 *   -E2BIG    a topic deeper than TOPIC_MAX_LEVELS: filter / name "invalid" for this
 *             server (the spec's closest code; counted as lim_topic_levels)
 *   -ENOSPC   a limit (retained store, subscriptions per client): Quota exceeded
 *   -ENOMEM   Server busy / Unspecified: nothing the client did wrong
 *   -EINVAL   a filter or name the tree refuses: Topic Filter / Name invalid
 */
uint8_t brk_reason_from_errno(int err, uint8_t type)
{
	switch (err) {
	case -E2BIG:
	case -EINVAL:
		return type == MQTT_PUBLISH ? MQTT_RC_TOPIC_NAME_INVALID
					    : MQTT_RC_TOPIC_FILTER_INVALID;
	case -ENOSPC:
		return MQTT_RC_QUOTA_EXCEEDED;
	case -ENOMEM:
		return type == MQTT_CONNACK ? MQTT_RC_SERVER_BUSY : MQTT_RC_UNSPECIFIED;
	default:
		return MQTT_RC_UNSPECIFIED;
	}
}

/* Texts that tell a client what it did, where the code alone is vague. */
const char *brk_reason_text(uint8_t rc)
{
	switch (rc) {
	case MQTT_RC_MALFORMED: return "malformed packet";
	case MQTT_RC_PROTOCOL_ERROR: return "protocol error";
	case MQTT_RC_CLIENT_ID_INVALID: return "client identifier not allowed";
	case MQTT_RC_BAD_AUTH_METHOD: return "no authentication method is configured";
	case MQTT_RC_KEEP_ALIVE_TIMEOUT: return "no packet within 1.5 times the keep alive";
	case MQTT_RC_SESSION_TAKEN_OVER: return "another connection took the session over";
	case MQTT_RC_TOPIC_ALIAS_INVALID: return "topic alias out of range or unknown";
	case MQTT_RC_RECEIVE_MAX_EXCEEDED: return "more QoS 2 messages in flight than receive maximum";
	case MQTT_RC_PACKET_TOO_LARGE: return "packet or payload exceeds the configured limit";
	case MQTT_RC_QUOTA_EXCEEDED: return "a configured limit was reached";
	case MQTT_RC_RETAIN_NOT_SUPPORTED: return "retained messages are disabled";
	case MQTT_RC_SERVER_SHUTTING_DOWN: return "server shutting down";
	case MQTT_RC_TOPIC_NAME_INVALID: return "topic name not accepted";
	case MQTT_RC_TOPIC_FILTER_INVALID: return "topic filter not accepted";
	case MQTT_RC_PACKET_ID_NOT_FOUND: return "packet identifier not found";
	default: return NULL;
	}
}

/* Reason strings only on failures, and only when the client did not opt out
 * (Request Problem Information = 0, MQTT 5 section 3.1.2.11.7). */
void brk_props_reason(struct brk_conn *c, struct mqtt_props *p, uint8_t rc)
{
	if (c->version != MQTT_V5 || rc < 0x80 || !c->problem_info)
		return;
	const char *t = brk_reason_text(rc);
	if (t == NULL)
		return;
	MQTT_PROP_SET(p, MQTT_PROP_REASON_STRING);
	p->reason_string.p = (const uint8_t *)t;
	p->reason_string.len = (uint32_t)strlen(t);
}
