/**
 * @file conf_keys.c
 * The key registry: one table row per config key, Mosquitto's and Tachyon's, supported or
 * refused. The file parser, conf_set(), conf_get(), conf_write(), the management socket's
 * listing and the docs test all read this one table, so a key cannot exist in one of them
 * and not the others.
 *
 * A row gives the key's name, type, scope, bounds, the field it lives in (offset and size, in
 * the global struct and/or in struct conf_listener), whether it may change at run time, and a
 * one-line help. Keys with their own syntax (listener, address, log_type ...) have a setter
 * here; everything else is stored by type in conf.c.
 *
 * Mosquitto's keys come from mosquitto.conf(5) of Mosquitto 2.0. The ones Tachyon lacks are
 * rows of type CONF_TYPE_UNSUPPORTED so they are refused by name instead of as "unknown".
 * "Reloaded on reload signal" in that man page is what `runtime` follows for Mosquitto keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

#define CONF__G(f) .goff = offsetof(struct tachyon_config, f), \
	.gsize = sizeof(((struct tachyon_config *)0)->f)
#define CONF__L(f) .loff = offsetof(struct conf_listener, f), \
	.lsize = sizeof(((struct conf_listener *)0)->f)
#define CONF__INFO(n, t, sc, mosq, rt, allow, h) \
	.info = { .name = (n), .type = (t), .scope = (sc), .mosquitto = (mosq), \
		  .supported = true, .runtime = (rt), .prefix = false, .allowed = (allow), \
		  .help = (h) }
/* A Mosquitto key Tachyon does not support yet; pfx: the name is a prefix (bridge_...). */
#define CONF__NO(n, pfx, h) \
	{ .info = { .name = (n), .type = CONF_TYPE_UNSUPPORTED, .scope = CONF_SCOPE_GLOBAL, \
		    .mosquitto = true, .supported = false, .runtime = false, .prefix = (pfx), \
		    .allowed = "", .help = (h) } }

#define M true   /* Mosquitto key */
#define T false  /* Tachyon key */
#define RT true  /* may change at run time */
#define ST false /* start-up only */

static const char *const conf__persist_modes[] = { "sync", "async", NULL };
static const char *const conf__memif_roles[] = { "server", "client", NULL };
static const char *const conf__log_levels[] = { "error", "warning", "notice", "info", "debug",
						NULL };

/* ---- setters and getters of the keys with their own syntax ------------------------------- */

static int conf__set_listener(struct tachyon_config *c, const struct conf__key *k,
			      const char *value, const char *where, char *err, size_t errlen)
{
	char tmp[128], *save = NULL;
	int64_t port;
	uint32_t ip = 0;

	if (strlen(value) >= sizeof(tmp))
		return conf__err(err, errlen, "%s: %s: value too long (allowed: %s)", where,
				 k->info.name, k->info.allowed);
	strcpy(tmp, value);
	char *port_s = strtok_r(tmp, " \t", &save);
	char *addr_s = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	if (extra != NULL)
		return conf__err(err, errlen, "%s: %s: unexpected '%s' after the address "
				 "(allowed: %s)", where, k->info.name, extra, k->info.allowed);
	if (port_s == NULL || conf__parse_int(port_s, &port) != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not a port (allowed: %s)",
				 where, k->info.name, value, k->info.allowed);
	if (port == 0)
		return conf__err(err, errlen, "%s: %s: port 0 (a Unix socket listener) is a "
				 "Mosquitto option that Tachyon does not support yet", where,
				 k->info.name);
	if (port < 1 || port > 65535)
		return conf__err(err, errlen, "%s: %s: port '%s' is out of range (allowed: %s)",
				 where, k->info.name, port_s, k->info.allowed);
	if (addr_s != NULL && conf__parse_ipv4(addr_s, &ip) != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not an IPv4 address; host names, "
				 "IPv6 and Unix sockets are not supported yet (allowed: %s)",
				 where, k->info.name, addr_s, k->info.allowed);

	/* The first `listener` replaces the default listener unless port/bind_address kept it. */
	bool replace = !c->listeners_explicit && !c->default_listener_kept;
	if (replace && c->default_listener_touched)
		/* Keys before this line configured the default listener, which Mosquitto would
		 * now drop without a word: refuse instead. */
		return conf__err(err, errlen, "%s: %s: listener options were given before the "
				 "first 'listener' line; they would configure the default "
				 "listener, which this line replaces. Move them below a "
				 "'listener' line (or keep the default listener with 'port')",
				 where, k->info.name);
	if (!replace) {
		for (unsigned i = 0; i < c->n_listeners; i++)
			if (c->listeners[i].port == port)
				return conf__err(err, errlen, "%s: %s: port %lld is already a "
						 "listener", where, k->info.name, (long long)port);
		if (c->n_listeners >= CONF_MAX_LISTENERS)
			return conf__err(err, errlen, "%s: %s: too many listeners (at most %d)",
					 where, k->info.name, CONF_MAX_LISTENERS);
	}

	unsigned idx = replace ? 0 : c->n_listeners;
	struct conf_listener *l = &c->listeners[idx];
	conf__listener_init(l, (uint16_t)port, ip);
	snprintf(l->origin, sizeof(l->origin), "%s", where);
	c->n_listeners = idx + 1;
	c->listeners_explicit = true;
	return 0;
}

static int conf__get_listener(const struct tachyon_config *c, const struct conf__key *k,
			      unsigned li, char *buf, size_t len)
{
	(void)k;
	if (li == CONF__GLOBAL)
		li = conf__cur_listener(c);
	const struct conf_listener *l = &c->listeners[li];
	char ip[16];
	if (l->bind_ip == 0)
		return conf__out(buf, len, "%u", l->port);
	conf__format_ipv4(l->bind_ip, ip, sizeof(ip));
	return conf__out(buf, len, "%u %s", l->port, ip);
}

/* `port` and `bind_address`: Mosquitto's (deprecated) way to configure the default listener. */
static int conf__default_listener_check(struct tachyon_config *c, const struct conf__key *k,
					const char *where, char *err, size_t errlen)
{
	if (c->listeners_explicit && !c->default_listener_kept)
		return conf__err(err, errlen, "%s: %s: sets the default listener, so it must come "
				 "before the first 'listener' line", where, k->info.name);
	return 0;
}

static int conf__set_port(struct tachyon_config *c, const struct conf__key *k,
			  const char *value, const char *where, char *err, size_t errlen)
{
	int64_t port;
	if (conf__default_listener_check(c, k, where, err, errlen) != 0)
		return -1;
	if (conf__parse_int(value, &port) != 0 || port < 1 || port > 65535)
		return conf__err(err, errlen, "%s: %s: '%s' is not a port (allowed: %s)", where,
				 k->info.name, value, k->info.allowed);
	for (unsigned i = 1; i < c->n_listeners; i++)
		if (c->listeners[i].port == port)
			return conf__err(err, errlen, "%s: %s: port %lld is already a listener",
					 where, k->info.name, (long long)port);
	c->listeners[0].port = (uint16_t)port;
	c->default_listener_kept = true;
	return 0;
}

static int conf__set_bind_address(struct tachyon_config *c, const struct conf__key *k,
				  const char *value, const char *where, char *err, size_t errlen)
{
	uint32_t ip;
	if (conf__default_listener_check(c, k, where, err, errlen) != 0)
		return -1;
	if (conf__parse_ipv4(value, &ip) != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not an IPv4 address (allowed: %s)",
				 where, k->info.name, value, k->info.allowed);
	c->listeners[0].bind_ip = ip;
	c->default_listener_kept = true;
	return 0;
}

static int conf__set_protocol(struct tachyon_config *c, const struct conf__key *k,
			      const char *value, const char *where, char *err, size_t errlen)
{
	(void)c;
	if (strcmp(value, "mqtt") == 0)
		return 0; /* the only protocol a listener speaks */
	if (strcmp(value, "websockets") == 0)
		return conf__err(err, errlen, "%s: %s: 'websockets' is a Mosquitto option that "
				 "Tachyon does not support yet (allowed: mqtt)", where,
				 k->info.name);
	return conf__err(err, errlen, "%s: %s: '%s' is not a protocol (allowed: %s)", where,
			 k->info.name, value, k->info.allowed);
}

static int conf__set_socket_domain(struct tachyon_config *c, const struct conf__key *k,
				   const char *value, const char *where, char *err,
				   size_t errlen)
{
	(void)c;
	if (strcmp(value, "ipv4") == 0)
		return 0; /* Tachyon's stack is IPv4 only, so this is already true */
	if (strcmp(value, "ipv6") == 0)
		return conf__err(err, errlen, "%s: %s: 'ipv6' is a Mosquitto option that Tachyon "
				 "does not support yet (allowed: ipv4)", where, k->info.name);
	return conf__err(err, errlen, "%s: %s: '%s' is not a socket domain (allowed: %s)",
			 where, k->info.name, value, k->info.allowed);
}

static int conf__get_word(const struct tachyon_config *c, const struct conf__key *k,
			  unsigned li, char *buf, size_t len)
{
	(void)c;
	(void)li;
	/* protocol and socket_domain have one accepted value: the first of `allowed`. */
	size_t n = strcspn(k->info.allowed, "|");
	return conf__out(buf, len, "%.*s", (int)n, k->info.allowed);
}

static int conf__set_tls_version(struct tachyon_config *c, const struct conf__key *k,
				 const char *value, const char *where, char *err, size_t errlen)
{
	if (strcmp(value, "tlsv1.3") != 0 && strcmp(value, "tlsv1.2") != 0 &&
	    strcmp(value, "tlsv1.1") != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not a TLS version (allowed: %s)",
				 where, k->info.name, value, k->info.allowed);
	return conf__store_typed(c, k, value, where, err, errlen);
}

/* With per_listener_settings the meaning of later lines changes, so, as a rule of this
 * parser, it has to come before the listeners it is meant to affect. */
static int conf__set_per_listener(struct tachyon_config *c, const struct conf__key *k,
				  const char *value, const char *where, char *err, size_t errlen)
{
	if (c->listeners_explicit)
		return conf__err(err, errlen, "%s: %s: must come before the first 'listener' line",
				 where, k->info.name);
	return conf__store_typed(c, k, value, where, err, errlen);
}

static int conf__set_allow_anonymous(struct tachyon_config *c, const struct conf__key *k,
				     const char *value, const char *where, char *err,
				     size_t errlen)
{
	if (conf__store_typed(c, k, value, where, err, errlen) != 0)
		return -1;
	if (!(c->per_listener_settings && c->listeners_explicit))
		c->allow_anonymous_set = true;
	return 0;
}

static int conf__set_max_inflight(struct tachyon_config *c, const struct conf__key *k,
				  const char *value, const char *where, char *err, size_t errlen)
{
	if (conf__store_typed(c, k, value, where, err, errlen) != 0)
		return -1;
	/* Mosquitto's 0 = "no maximum"; MQTT 5's Receive Maximum cannot exceed 65535. */
	if (c->max_inflight_messages == 0)
		c->max_inflight_messages = 65535;
	return 0;
}

static int conf__set_max_packet_size(struct tachyon_config *c, const struct conf__key *k,
				     const char *value, const char *where, char *err,
				     size_t errlen)
{
	int64_t v;
	/* Mosquitto refuses 1..19: smaller than a CONNECT, it would lock every client out. */
	if (conf__parse_int(value, &v) == 0 && v > 0 && v < 20)
		return conf__err(err, errlen, "%s: %s: '%s' is out of range (allowed: %s)", where,
				 k->info.name, value, k->info.allowed);
	return conf__store_typed(c, k, value, where, err, errlen);
}

static int conf__set_cores(struct tachyon_config *c, const struct conf__key *k,
			   const char *value, const char *where, char *err, size_t errlen)
{
	if (conf__parse_corelist(value) != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not a core list (allowed: %s)",
				 where, k->info.name, value, k->info.allowed);
	return conf__store_typed(c, k, value, where, err, errlen);
}

static int conf__set_file_prefix(struct tachyon_config *c, const struct conf__key *k,
				 const char *value, const char *where, char *err, size_t errlen)
{
	/* It names files under /var/run/dpdk/: a path separator or a space would break EAL. */
	if (strpbrk(value, "/ \t") != NULL)
		return conf__err(err, errlen, "%s: %s: '%s' must not contain '/' or spaces "
				 "(allowed: %s)", where, k->info.name, value, k->info.allowed);
	return conf__store_typed(c, k, value, where, err, errlen);
}

static int conf__set_gateway(struct tachyon_config *c, const struct conf__key *k,
			     const char *value, const char *where, char *err, size_t errlen)
{
	if (conf__store_typed(c, k, value, where, err, errlen) != 0)
		return -1;
	c->gateway_set = true;
	return 0;
}

static int conf__set_address(struct tachyon_config *c, const struct conf__key *k,
			     const char *value, const char *where, char *err, size_t errlen)
{
	char ip_s[32];
	const char *slash = strchr(value, '/');
	size_t n = slash ? (size_t)(slash - value) : strlen(value);
	int64_t len = c->prefix_len;
	uint32_t ip;

	if (n >= sizeof(ip_s))
		n = sizeof(ip_s) - 1;
	memcpy(ip_s, value, n);
	ip_s[n] = '\0';
	if (conf__parse_ipv4(ip_s, &ip) != 0)
		return conf__err(err, errlen, "%s: %s: '%s' is not an IPv4 address (allowed: %s)",
				 where, k->info.name, value, k->info.allowed);
	if (slash != NULL && (conf__parse_int(slash + 1, &len) != 0 || len < 1 || len > 30))
		return conf__err(err, errlen, "%s: %s: prefix length '%s' is out of range "
				 "(allowed: %s)", where, k->info.name, slash + 1, k->info.allowed);
	c->ip = ip;
	c->prefix_len = (uint8_t)len;
	return 0;
}

static int conf__get_address(const struct tachyon_config *c, const struct conf__key *k,
			     unsigned li, char *buf, size_t len)
{
	(void)k;
	(void)li;
	char ip[16];
	conf__format_ipv4(c->ip, ip, sizeof(ip));
	return conf__out(buf, len, "%s/%u", ip, c->prefix_len);
}

static int conf__set_log_type(struct tachyon_config *c, const struct conf__key *k,
			      const char *value, const char *where, char *err, size_t errlen)
{
	/* Mosquitto logs a set of types; Tachyon has one threshold. Each log_type line raises
	 * the threshold to cover the type; the first line replaces the default. */
	static const struct { const char *type; int level; } map[] = {
		{ "none", 0 }, { "error", 0 }, { "warning", 1 }, { "notice", 2 },
		{ "information", 3 }, { "subscribe", 3 }, { "unsubscribe", 3 }, { "debug", 4 },
		{ "all", 4 },
	};
	if (strcmp(value, "websockets") == 0)
		return conf__err(err, errlen, "%s: %s: 'websockets' is a Mosquitto option that "
				 "Tachyon does not support yet", where, k->info.name);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(value, map[i].type) != 0)
			continue;
		if (!c->log_type_set || map[i].level > c->log_level)
			c->log_level = map[i].level;
		c->log_type_set = true;
		return 0;
	}
	return conf__err(err, errlen, "%s: %s: '%s' is not a log type (allowed: %s)", where,
			 k->info.name, value, k->info.allowed);
}

static int conf__set_log_dest(struct tachyon_config *c, const struct conf__key *k,
			      const char *value, const char *where, char *err, size_t errlen)
{
	(void)c;
	if (strcmp(value, "stderr") == 0)
		return 0; /* where Tachyon logs */
	static const char *const mosq[] = { "stdout", "syslog", "topic", "file", "dlt", "none" };
	for (size_t i = 0; i < sizeof(mosq) / sizeof(mosq[0]); i++)
		if (strncmp(value, mosq[i], strlen(mosq[i])) == 0)
			return conf__err(err, errlen, "%s: %s: '%s' is a Mosquitto option that "
					 "Tachyon does not support yet (allowed: stderr)", where,
					 k->info.name, value);
	return conf__err(err, errlen, "%s: %s: '%s' is not a log destination (allowed: %s)",
			 where, k->info.name, value, k->info.allowed);
}

static int conf__set_include_dir(struct tachyon_config *c, const struct conf__key *k,
				 const char *value, const char *where, char *err, size_t errlen)
{
	(void)k;
	return conf__include_dir(c, value, 0, where, err, errlen);
}

/* ---- the table ---------------------------------------------------------------------------- */

#define G CONF_SCOPE_GLOBAL
#define L CONF_SCOPE_LISTENER
#define E CONF_SCOPE_EITHER
#define P CONF_SCOPE_PER_LISTENER_SETTINGS
#define BOOL CONF_TYPE_BOOL
#define INT CONF_TYPE_INT
#define DBL CONF_TYPE_DOUBLE
#define STR CONF_TYPE_STRING
#define ENUM CONF_TYPE_ENUM
#define IP CONF_TYPE_IPV4
#define SPEC CONF_TYPE_SPECIAL
#define TF "true|false"
#define U32MAX 4294967295LL
#define I32MAX 2147483647LL

const struct conf__key conf__keys[] = {
	/* ---- Mosquitto: listeners ---- */
	{ CONF__INFO("listener", SPEC, G, M, ST, "<port 1..65535> [<IPv4 address>]",
		     "open a listener section; the first one replaces the default 1883 listener"),
	  .set = conf__set_listener, .get = conf__get_listener, .rest = true },
	{ CONF__INFO("port", SPEC, G, M, ST, "1..65535",
		     "port of the default listener (deprecated in Mosquitto; use listener)"),
	  .set = conf__set_port },
	{ CONF__INFO("bind_address", SPEC, G, M, ST, "a.b.c.d",
		     "address of the default listener (deprecated in Mosquitto)"),
	  .set = conf__set_bind_address },
	{ CONF__INFO("protocol", SPEC, L, M, ST, "mqtt", "protocol of the current listener"),
	  .set = conf__set_protocol, .get = conf__get_word },
	{ CONF__INFO("socket_domain", SPEC, L, M, ST, "ipv4",
		     "address family of the current listener"),
	  .set = conf__set_socket_domain, .get = conf__get_word },
	{ CONF__INFO("cafile", STR, L, M, ST, "a file path",
		     "PEM CA certificates to verify client certificates"), CONF__L(cafile) },
	{ CONF__INFO("capath", STR, L, M, ST, "a directory path",
		     "directory of hashed PEM CA certificates"), CONF__L(capath) },
	{ CONF__INFO("certfile", STR, L, M, ST, "a file path",
		     "PEM server certificate; with keyfile makes the listener TLS"),
	  CONF__L(certfile) },
	{ CONF__INFO("keyfile", STR, L, M, ST, "a file path", "PEM private key of certfile"),
	  CONF__L(keyfile) },
	{ CONF__INFO("require_certificate", BOOL, L, M, ST, TF,
		     "clients must present a certificate signed by cafile/capath"),
	  CONF__L(require_certificate) },
	{ CONF__INFO("use_identity_as_username", BOOL, L, M, ST, TF,
		     "use the client certificate's CN as the username"),
	  CONF__L(use_identity_as_username) },
	{ CONF__INFO("tls_version", STR, L, M, ST, "tlsv1.3|tlsv1.2|tlsv1.1",
		     "minimum TLS version (default: TLS 1.2)"),
	  CONF__L(tls_version), .set = conf__set_tls_version },
	{ CONF__INFO("ciphers", STR, L, M, ST, "an OpenSSL cipher list",
		     "TLS 1.2 cipher list (OpenSSL syntax)"), CONF__L(ciphers) },
	{ CONF__INFO("max_connections", INT, E, M, ST, "-1..2147483647",
		     "client limit of the current listener (before any listener: of each), "
		     "-1 = unlimited"),
	  CONF__G(max_connections), CONF__L(max_connections), .min = -1, .max = I32MAX },
	{ CONF__INFO("max_topic_alias", INT, E, M, ST, "0..65535",
		     "topic aliases an MQTT 5 client may create, per listener"),
	  CONF__G(max_topic_alias), CONF__L(max_topic_alias), .min = 0, .max = 65535 },

	/* ---- Mosquitto: security ---- */
	{ CONF__INFO("per_listener_settings", BOOL, G, M, ST, TF,
		     "apply allow_anonymous, password_file, acl_file, "
		     "allow_zero_length_clientid per listener"),
	  CONF__G(per_listener_settings), .set = conf__set_per_listener },
	{ CONF__INFO("allow_anonymous", BOOL, P, M, RT, TF,
		     "let clients connect without a username (default: true unless "
		     "password_file is set)"),
	  CONF__G(allow_anonymous), CONF__L(allow_anonymous), .set = conf__set_allow_anonymous },
	{ CONF__INFO("password_file", STR, P, M, RT, "a file path",
		     "mosquitto_passwd file of usernames and password hashes"),
	  CONF__G(password_file), CONF__L(password_file) },
	{ CONF__INFO("acl_file", STR, P, M, RT, "a file path",
		     "Mosquitto ACL file (topic/user/pattern lines)"),
	  CONF__G(acl_file), CONF__L(acl_file) },
	{ CONF__INFO("allow_zero_length_clientid", BOOL, P, M, RT, TF,
		     "accept an empty client id (the broker assigns one)"),
	  CONF__G(allow_zero_length_clientid), CONF__L(allow_zero_length_clientid) },

	/* ---- Mosquitto: persistence ---- */
	{ CONF__INFO("persistence", BOOL, G, M, ST, TF,
		     "keep sessions, subscriptions, retained and queued messages on disk"),
	  CONF__G(persistence) },
	{ CONF__INFO("persistence_location", STR, G, M, ST, "a directory path",
		     "directory of the log and snapshots"), CONF__G(persistence_location) },
	{ CONF__INFO("autosave_interval", INT, G, M, RT, "0..2147483647",
		     "seconds between snapshots, 0 = only at shutdown"),
	  CONF__G(autosave_interval), .min = 0, .max = I32MAX },

	/* ---- Mosquitto: limits and behaviour ---- */
	{ CONF__INFO("max_inflight_messages", INT, G, M, RT, "0..65535",
		     "outgoing QoS 1/2 messages in flight per client, 0 = no limit (65535)"),
	  CONF__G(max_inflight_messages), .min = 0, .max = 65535,
	  .set = conf__set_max_inflight },
	{ CONF__INFO("max_queued_messages", INT, G, M, RT, "0..2147483647",
		     "QoS 1/2 messages queued per client beyond those in flight, 0 = no limit"),
	  CONF__G(max_queued_messages), .min = 0, .max = I32MAX },
	{ CONF__INFO("max_queued_bytes", INT, G, M, RT, "0..9223372036854775807",
		     "bytes queued per client beyond those in flight, 0 = no limit"),
	  CONF__G(max_queued_bytes), .min = 0, .max = INT64_MAX },
	{ CONF__INFO("queue_qos0_messages", BOOL, G, M, RT, TF,
		     "queue QoS 0 messages for offline persistent sessions too"),
	  CONF__G(queue_qos0_messages) },
	{ CONF__INFO("message_size_limit", INT, G, M, RT, "0..268435455",
		     "largest PUBLISH payload accepted, 0 = MQTT's limit"),
	  CONF__G(message_size_limit), .min = 0, .max = 268435455 },
	{ CONF__INFO("max_packet_size", INT, G, M, RT, "0 (no limit) or 20..268435460",
		     "largest MQTT packet accepted (advertised to MQTT 5 clients)"),
	  CONF__G(max_packet_size), .min = 0, .max = 268435460, .set = conf__set_max_packet_size },
	{ CONF__INFO("max_keepalive", INT, G, M, RT, "0..65535",
		     "largest keepalive (seconds) an MQTT 5 client may use"),
	  CONF__G(max_keepalive), .min = 0, .max = 65535 },
	{ CONF__INFO("retain_available", BOOL, G, M, RT, TF, "accept retained messages"),
	  CONF__G(retain_available) },
	{ CONF__INFO("sys_interval", INT, G, M, RT, "0..2147483647",
		     "seconds between $SYS updates, 0 = off"),
	  CONF__G(sys_interval), .min = 0, .max = I32MAX },

	/* ---- Mosquitto: logging, mapped onto Tachyon's log_level ---- */
	{ CONF__INFO("log_type", SPEC, G, M, RT,
		     "none|error|warning|notice|information|subscribe|unsubscribe|debug|all",
		     "raise the log threshold to include this type (sets log_level)"),
	  .set = conf__set_log_type },
	{ CONF__INFO("log_dest", SPEC, G, M, ST, "stderr", "where to log: stderr only"),
	  .set = conf__set_log_dest, .rest = true },
	{ CONF__INFO("include_dir", SPEC, G, M, ST, "a directory path",
		     "load the directory's *.conf files here (main file only)"),
	  .set = conf__set_include_dir, .rest = true },

	/* ---- Tachyon: runtime and EAL ---- */
	{ CONF__INFO("log_level", ENUM, G, T, RT, "error|warning|notice|info|debug",
		     "log threshold"), CONF__G(log_level), .names = conf__log_levels },
	{ CONF__INFO("workers", INT, G, T, ST, "1..64", "worker lcores (one NIC queue each)"),
	  CONF__G(workers), .min = 1, .max = 64 },
	{ CONF__INFO("cores", STR, G, T, ST, "an EAL core list such as 0-2 or 0,2,4",
		     "EAL core list, control core first (default: the first workers+1 cores)"),
	  CONF__G(cores), .set = conf__set_cores },
	{ CONF__INFO("memory_mb", INT, G, T, ST, "16..1048576", "EAL memory, MiB (-m)"),
	  CONF__G(memory_mb), .min = 16, .max = 1048576 },
	{ CONF__INFO("no_huge", BOOL, G, T, ST, TF, "run without hugepages (--no-huge)"),
	  CONF__G(no_huge) },
	{ CONF__INFO("eal_args", STR, G, T, ST, "EAL arguments separated by spaces",
		     "extra EAL arguments, appended last"), CONF__G(eal_args) },
	{ CONF__INFO("file_prefix", STR, G, T, ST, "a name without '/' or spaces",
		     "EAL --file-prefix (one per DPDK process)"),
	  CONF__G(file_prefix), .set = conf__set_file_prefix },
	{ CONF__INFO("mbufs", INT, G, T, ST, "511..16777215",
		     "small mbufs in each worker's send pool (headers, references to payloads, "
		     "small copies)"),
	  CONF__G(mbufs), .min = 511, .max = 16777215 },
	{ CONF__INFO("rx_mbufs", INT, G, T, ST, "0..16777215 (0, or at least 2047)",
		     "2 KiB mbufs in each worker's receive pool (received frames, TLS records, "
		     "large copies); 0: mbufs / 4, at least 2047"),
	  CONF__G(rx_mbufs), .min = 0, .max = 16777215 },
	{ CONF__INFO("idle_spin_max_us", INT, G, T, ST, "0..1000000",
		     "longest a worker polls on without frames before it sleeps, when traffic "
		     "has been arriving at shorter gaps (it spins 200 us after a real pause)"),
	  CONF__G(idle_spin_max_us), .min = 0, .max = 1000000 },
	{ CONF__INFO("message_pool_mb", INT, G, T, ST, "0..1048576",
		     "MiB of message mempools (size classes); larger or overflow messages use the "
		     "DPDK heap"),
	  CONF__G(message_pool_mb), .min = 0, .max = 1048576 },
	{ CONF__INFO("auth_fail_burst", INT, G, T, ST, "1..1000000",
		     "failed logins in a row from one address (per worker) before it is blocked"),
	  CONF__G(auth_fail_burst), .min = 1, .max = 1000000 },
	{ CONF__INFO("auth_fail_interval", INT, G, T, ST, "1..86400",
		     "seconds: a blocked address may try once more per this interval"),
	  CONF__G(auth_fail_interval), .min = 1, .max = 86400 },

	/* ---- Tachyon: the port ---- */
	{ CONF__INFO("pci_device", STR, G, T, ST, "a PCI address such as 0000:01:00.0",
		     "NIC to use; unset = a net_tap port (the embedded default)"),
	  CONF__G(pci_device) },
	{ CONF__INFO("tap_name", STR, G, T, ST, "an interface name, at most 15 characters",
		     "kernel name of the net_tap interface"), CONF__G(tap_name) },
	{ CONF__INFO("memif_socket", STR, G, T, ST, "a path of at most 107 characters",
		     "use a net_memif port on this socket instead of the tap (no kernel side)"),
	  CONF__G(memif_socket) },
	{ CONF__INFO("memif_role", ENUM, G, T, ST, "server|client",
		     "role of the net_memif port; the server must start first"),
	  CONF__G(memif_role), .names = conf__memif_roles },
	{ CONF__INFO("tap_address", IP, G, T, ST, "a.b.c.d",
		     "the kernel side's address on the tap (clients connect from it)"),
	  CONF__G(tap_kernel_ip) },
	{ CONF__INFO("address", SPEC, G, T, ST, "a.b.c.d/len with len 1..30",
		     "Tachyon's own address and prefix length (clients connect to it)"),
	  .set = conf__set_address, .get = conf__get_address },
	{ CONF__INFO("gateway", IP, G, T, ST, "a.b.c.d",
		     "next hop off our subnet (default: tap_address on a tap port)"),
	  CONF__G(gateway), .set = conf__set_gateway },
	{ CONF__INFO("mtu", INT, G, T, ST, "576..9216", "IP MTU of the port"),
	  CONF__G(mtu), .min = 576, .max = 9216 },

	/* ---- Tachyon: control plane ---- */
	{ CONF__INFO("mgmt_socket", STR, G, T, ST, "a path of at most 107 characters",
		     "management socket (tachyonctl, exporter)"), CONF__G(mgmt_socket) },
	{ CONF__INFO("mgmt_group", STR, G, T, ST, "a group name",
		     "group allowed to use the management socket (mode 0660); unset = 0600"),
	  CONF__G(mgmt_group) },
	{ CONF__INFO("persistence_mode", ENUM, G, T, ST, "sync|async",
		     "sync: acknowledge QoS 1/2 once logged to disk; async: at once"),
	  CONF__G(persistence_mode), .names = conf__persist_modes },
	{ CONF__INFO("persistence_fsync_interval_ms", INT, G, T, ST, "0..60000",
		     "group commit: fsync the log at most this long after a record, 0 = at once"),
	  CONF__G(persistence_fsync_interval_ms), .min = 0, .max = 60000 },
	{ CONF__INFO("persistence_fsync_bytes", INT, G, T, ST, "0..1073741824",
		     "group commit: fsync once this many log bytes wait, 0 = no size trigger"),
	  CONF__G(persistence_fsync_bytes), .min = 0, .max = 1073741824 },
	{ CONF__INFO("persistence_start_empty", BOOL, G, T, ST, TF,
		     "move the store aside to <dir>.old-<time> and start empty"),
	  CONF__G(persistence_start_empty) },

	/* ---- Tachyon: MQTT limits ---- */
	{ CONF__INFO("max_subscriptions_per_client", INT, G, T, ST, "0..4294967295",
		     "subscriptions one session may hold, 0 = no limit; past it SUBACK 0x97"),
	  CONF__G(max_subscriptions_per_client), .min = 0, .max = UINT32_MAX },
	{ CONF__INFO("max_topic_levels", INT, G, T, ST, "1..128",
		     "levels a topic name or filter may have; past it PUBACK/PUBREC 0x90, SUBACK 0x8F"),
	  CONF__G(max_topic_levels), .min = 1, .max = 128 },

	/* ---- Tachyon: TCP ---- */
	{ CONF__INFO("tcp_echo_port", INT, G, T, ST, "0..65535",
		     "diagnostic TCP echo service port, 0 = off"),
	  CONF__G(tcp_echo_port), .min = 0, .max = 65535 },
	{ CONF__INFO("tcp_time_wait_ms", INT, G, T, ST, "0..600000", "TIME-WAIT (2*MSL), ms"),
	  CONF__G(tcp_time_wait_ms), .min = 0, .max = 600000 },
	{ CONF__INFO("tcp_rto_min_ms", INT, G, T, ST, "1..60000", "lower bound of the RTO, ms"),
	  CONF__G(tcp_rto_min_ms), .min = 1, .max = 60000 },
	{ CONF__INFO("tcp_rto_max_ms", INT, G, T, ST, "100..600000",
		     "upper bound of the RTO, ms"),
	  CONF__G(tcp_rto_max_ms), .min = 100, .max = 600000 },
	{ CONF__INFO("tcp_max_retries", INT, G, T, ST, "1..64",
		     "retransmissions before a connection is dropped"),
	  CONF__G(tcp_max_retries), .min = 1, .max = 64 },
	{ CONF__INFO("tcp_delayed_ack_ms", INT, G, T, ST, "0..500",
		     "delayed ACK timeout, ms, 0 = ACK at once"),
	  CONF__G(tcp_delayed_ack_ms), .min = 0, .max = 500 },
	{ CONF__INFO("tcp_max_conns_per_worker", INT, G, T, ST, "1..16777216",
		     "connections per worker"),
	  CONF__G(tcp_max_conns_per_worker), .min = 1, .max = 16777216 },
	{ CONF__INFO("tcp_syn_backlog", INT, G, T, ST, "1..1048576",
		     "half-open connections per worker before SYN cookies"),
	  CONF__G(tcp_syn_backlog), .min = 1, .max = 1048576 },
	{ CONF__INFO("tcp_sndbuf", INT, G, T, ST, "4096..1073741824",
		     "send buffer per connection, bytes"),
	  CONF__G(tcp_sndbuf), .min = 4096, .max = 1073741824 },
	{ CONF__INFO("tcp_rcvbuf", INT, G, T, ST, "4096..1073741824",
		     "receive (and out-of-order) buffer per connection, bytes"),
	  CONF__G(tcp_rcvbuf), .min = 4096, .max = 1073741824 },

	/* ---- Tachyon: test-only impairment ---- */
	{ CONF__INFO("impair_seed", INT, G, T, RT, "0..9223372036854775807",
		     "seed of the impairment layer's random numbers"),
	  CONF__G(impair_seed), .min = 0, .max = INT64_MAX },
	{ CONF__INFO("impair_loss", DBL, G, T, RT, "0..1", "fraction of frames dropped"),
	  CONF__G(impair_loss), .dmin = 0, .dmax = 1 },
	{ CONF__INFO("impair_dup", DBL, G, T, RT, "0..1", "fraction of frames duplicated"),
	  CONF__G(impair_dup), .dmin = 0, .dmax = 1 },
	{ CONF__INFO("impair_corrupt", DBL, G, T, RT, "0..1",
		     "fraction of frames with a flipped bit"),
	  CONF__G(impair_corrupt), .dmin = 0, .dmax = 1 },
	{ CONF__INFO("impair_delay_us", INT, G, T, RT, "0..10000000", "added delay, us"),
	  CONF__G(impair_delay_us), .min = 0, .max = 10000000 },
	{ CONF__INFO("impair_jitter_us", INT, G, T, RT, "0..10000000",
		     "random extra delay up to this, us (reorders frames)"),
	  CONF__G(impair_jitter_us), .min = 0, .max = 10000000 },

	/* ---- Mosquitto keys Tachyon does not support yet ---- */
	CONF__NO("auth_plugin", false, "authentication plugin"),
	CONF__NO("auth_opt_", true, "authentication plugin options"),
	CONF__NO("auth_plugin_deny_special_chars", false, "authentication plugin"),
	CONF__NO("plugin", false, "plugin"),
	CONF__NO("plugin_opt_", true, "plugin options"),
	CONF__NO("global_plugin", false, "plugin"),
	CONF__NO("global_plugin_opt_", true, "plugin options"),
	CONF__NO("enable_control_api", false, "control API"),
	CONF__NO("accept_protocol_versions", false, "protocol versions per listener"),
	CONF__NO("psk_file", false, "TLS pre-shared keys"),
	CONF__NO("psk_hint", false, "TLS pre-shared keys"),
	CONF__NO("auto_id_prefix", false, "prefix of assigned client ids"),
	CONF__NO("clientid_prefixes", false, "client id prefix filter"),
	CONF__NO("check_retain_source", false, "retained message re-check"),
	CONF__NO("upgrade_outgoing_qos", false, "QoS upgrade"),
	CONF__NO("allow_duplicate_messages", false, "duplicate messages (deprecated)"),
	CONF__NO("autosave_on_changes", false, "autosave by change count"),
	CONF__NO("persistence_file", false, "file name of the store"),
	CONF__NO("persistent_client_expiration", false, "expiry of persistent sessions"),
	CONF__NO("max_inflight_bytes", false, "in-flight byte limit"),
	CONF__NO("memory_limit", false, "heap limit"),
	CONF__NO("connection_messages", false, "connect/disconnect log lines"),
	CONF__NO("log_facility", false, "syslog facility"),
	CONF__NO("log_timestamp", false, "log timestamps"),
	CONF__NO("log_timestamp_format", false, "log timestamp format"),
	CONF__NO("pid_file", false, "pid file"),
	CONF__NO("user", false, "dropping privileges"),
	CONF__NO("set_tcp_nodelay", false, "TCP_NODELAY"),
	CONF__NO("bind_interface", false, "binding to an interface"),
	CONF__NO("http_dir", false, "websockets HTTP server"),
	CONF__NO("websockets_log_level", false, "websockets"),
	CONF__NO("websockets_headers_size", false, "websockets"),
	CONF__NO("max_qos", false, "QoS limit per listener"),
	CONF__NO("mount_point", false, "listener mount points"),
	CONF__NO("use_username_as_clientid", false, "username as client id"),
	CONF__NO("use_subject_as_username", false, "certificate subject as username"),
	CONF__NO("crlfile", false, "certificate revocation lists"),
	CONF__NO("dhparamfile", false, "DH parameters"),
	CONF__NO("ciphers_tls1.3", false, "TLS 1.3 cipher suites"),
	CONF__NO("tls_engine", false, "OpenSSL engines"),
	CONF__NO("tls_engine_kpass_sha1", false, "OpenSSL engines"),
	CONF__NO("tls_keyform", false, "OpenSSL engines"),
	CONF__NO("require_ocsp", false, "OCSP"),
	/* bridges */
	CONF__NO("connection", false, "bridges"),
	CONF__NO("addresses", false, "bridges"),
	CONF__NO("bridge_", true, "bridges"),
	CONF__NO("cleansession", false, "bridges"),
	CONF__NO("local_cleansession", false, "bridges"),
	CONF__NO("clientid", false, "bridges"),
	CONF__NO("idle_timeout", false, "bridges"),
	CONF__NO("keepalive_interval", false, "bridges"),
	CONF__NO("local_clientid", false, "bridges"),
	CONF__NO("local_password", false, "bridges"),
	CONF__NO("local_username", false, "bridges"),
	CONF__NO("notifications", false, "bridges"),
	CONF__NO("notifications_local_only", false, "bridges"),
	CONF__NO("notification_topic", false, "bridges"),
	CONF__NO("remote_clientid", false, "bridges"),
	CONF__NO("remote_password", false, "bridges"),
	CONF__NO("remote_username", false, "bridges"),
	CONF__NO("restart_timeout", false, "bridges"),
	CONF__NO("round_robin", false, "bridges"),
	CONF__NO("start_type", false, "bridges"),
	CONF__NO("threshold", false, "bridges"),
	CONF__NO("topic", false, "bridges"),
	CONF__NO("try_private", false, "bridges"),
};

const unsigned conf__n_keys = sizeof(conf__keys) / sizeof(conf__keys[0]);

const struct conf__key *conf__key_find(const char *name)
{
	for (unsigned i = 0; i < conf__n_keys; i++) {
		const struct conf__key *k = &conf__keys[i];
		if (k->info.prefix ? strncmp(name, k->info.name, strlen(k->info.name)) == 0
				   : strcmp(name, k->info.name) == 0)
			return k;
	}
	return NULL;
}

unsigned conf_key_count(void)
{
	return conf__n_keys;
}

const struct conf_key_info *conf_key_at(unsigned i)
{
	return i < conf__n_keys ? &conf__keys[i].info : NULL;
}

const struct conf_key_info *conf_key_info(const char *key)
{
	const struct conf__key *k = key ? conf__key_find(key) : NULL;
	return k ? &k->info : NULL;
}

bool conf_key_runtime(const char *key)
{
	const struct conf_key_info *i = conf_key_info(key);
	return i != NULL && i->supported && i->runtime;
}
