/**
 * @file rt_tls.c
 * `tls-reload`: re-read every TLS listener's certificate, key and CA files without a
 * restart (dp_mqtt_tls_reload). New connections get the new files; open ones keep the
 * context they started with. A file that does not load leaves that listener as it was
 * and answers an error naming it.
 */
#include <stdio.h>

#include "dp_mqtt.h"
#include "mgmt.h"
#include "rt.h"
#include "util/json.h"
#include "util/log.h"

int rt_cmd_tls_reload(struct mgmt_req *req)
{
	char err[320];
	int n = dp_mqtt_tls_reload(err, sizeof(err));
	if (n < 0) {
		TLOG_WARN("mgmt", "tls-reload refused: %s", err);
		return mgmt_error(req, "tls_reload_failed", "%s", err);
	}
	if (n == 0)
		return mgmt_error(req, "no_tls_listener", "no listener has certfile and keyfile");
	json_kv_u64(req->out, "listeners", (uint64_t)n);
	char msg[64];
	snprintf(msg, sizeof(msg), "reloaded %d TLS listener%s", n, n == 1 ? "" : "s");
	json_kv_str(req->out, "message", msg);
	return 0;
}
