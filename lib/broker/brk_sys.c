/**
 * @file brk_sys.c
 * $SYS/ topics, named as Mosquitto names them, published retained by worker 0 every
 * sys_interval seconds through the normal route (so a subscriber to $SYS/# on any worker
 * gets them, and a late subscriber gets the last values). Counters are the sum of the
 * workers' (brk_shared_counters()).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker/brk_int.h"

static void brk__sys_str(struct brk_worker *w, const char *topic, const char *s, int n)
{
	brk_publish_internal(w, topic, strlen(topic), (const uint8_t *)s, (uint32_t)n, 0, true);
}

static void brk__sys_u64(struct brk_worker *w, const char *topic, uint64_t v)
{
	char buf[32];
	brk__sys_str(w, topic, buf, snprintf(buf, sizeof(buf), "%" PRIu64, v));
}

void brk_sys_publish(struct brk_worker *w)
{
	struct brk_counters k;
	brk_shared_counters(w->sh, &k);
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "tachyon version %s", TACHYON_VERSION);
	brk__sys_str(w, "$SYS/broker/version", buf, n);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " seconds",
		     (uint64_t)((w->now - w->sh->start_ns) / BRK_SEC));
	brk__sys_str(w, "$SYS/broker/uptime", buf, n);
	brk__sys_u64(w, "$SYS/broker/clients/connected", k.clients_connected);
	brk__sys_u64(w, "$SYS/broker/clients/total", k.clients_total);
	brk__sys_u64(w, "$SYS/broker/clients/maximum", k.clients_maximum);
	brk__sys_u64(w, "$SYS/broker/clients/disconnected", k.clients_total - k.clients_connected);
	brk__sys_u64(w, "$SYS/broker/messages/received", k.msgs_received);
	brk__sys_u64(w, "$SYS/broker/messages/sent", k.msgs_sent);
	brk__sys_u64(w, "$SYS/broker/publish/messages/dropped", k.pub_dropped);
	brk__sys_u64(w, "$SYS/broker/bytes/received", k.bytes_received);
	brk__sys_u64(w, "$SYS/broker/bytes/sent", k.bytes_sent);
	brk__sys_u64(w, "$SYS/broker/subscriptions/count", k.subscriptions);
	brk__sys_u64(w, "$SYS/broker/retained messages/count", k.retained);
}
