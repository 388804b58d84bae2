/**
 * @file conf.c
 * Tachyon's configuration (temporary first cut: defaults only; the parser follows).
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"

#define CONF__IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
			      ((uint32_t)(c) << 8) | (uint32_t)(d))

void conf_defaults(struct tachyon_config *c)
{
	memset(c, 0, sizeof(*c));
	c->n_listeners = 1;
	c->listeners[0].port = 1883;
	c->listeners[0].allow_anonymous = -1;
	c->listeners[0].max_connections = -1;
	c->allow_anonymous = true;
	c->persistence = true;
	snprintf(c->persistence_location, sizeof(c->persistence_location), "/var/lib/tachyon/");
	c->autosave_interval = 1800;
	c->max_connections = -1;
	c->max_inflight_messages = 20;
	c->max_queued_messages = 1000;
	c->max_keepalive = 65535;
	c->retain_available = true;
	c->sys_interval = 10;
	c->max_topic_alias = 10;
	c->allow_zero_length_clientid = true;
	c->log_level = 2;
	c->workers = 1;
	c->memory_mb = 256;
	c->no_huge = true;
	snprintf(c->file_prefix, sizeof(c->file_prefix), "tachyon");
	c->mbufs = 16383;
	snprintf(c->tap_name, sizeof(c->tap_name), "tachyon0");
	c->tap_kernel_ip = CONF__IP(10, 77, 0, 1);
	c->ip = CONF__IP(10, 77, 0, 2);
	c->prefix_len = 24;
	c->gateway = c->tap_kernel_ip;
	c->mtu = 1500;
	snprintf(c->mgmt_socket, sizeof(c->mgmt_socket), "/run/tachyon/tachyon.sock");
	c->persistence_mode = CONF_PERSIST_SYNC;
	c->tcp_time_wait_ms = 60000;
	c->tcp_rto_min_ms = 200;
	c->tcp_rto_max_ms = 60000;
	c->tcp_max_retries = 8;
	c->tcp_delayed_ack_ms = 40;
	c->tcp_max_conns_per_worker = 1048576;
	c->tcp_syn_backlog = 4096;
	c->tcp_sndbuf = 262144;
	c->tcp_rcvbuf = 262144;
}

int conf_load_file(struct tachyon_config *c, const char *path, char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "%s: config files are not supported yet", path);
	return -1;
}

int conf_set(struct tachyon_config *c, const char *key, const char *value, const char *where,
	     char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "%s: %s '%s': not supported yet", where, key, value);
	return -1;
}

int conf_validate(struct tachyon_config *c, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}
