/**
 * @file test_conf.c
 * Unit tests of the conf part: defaults, a file with every supported key, each kind of bad
 * input with its exact "file:line: message", a real mosquitto.conf, the example file in
 * docs/, include_dir order, conf_set/conf_get round trips, conf_write -> reload, the command
 * line, and that docs/configuration.md names every key of the registry.
 *
 * Usage: test_conf <dir of tests/lib/conf> <dir of docs>
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

static int failures;
static const char *data_dir, *docs_dir;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			failures++;                                                   \
		}                                                                     \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		if (strcmp(a_, b_) != 0) {                                                \
			fprintf(stderr, "%s:%d: got '%s'\n%*s expected '%s'\n", __FILE__,  \
				__LINE__, a_, (int)strlen(__FILE__) + 6, "", b_);         \
			failures++;                                                       \
		}                                                                         \
	} while (0)

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static struct tachyon_config cfg;
static char err[CONF_ERR_MAX];

static int load(const char *text)
{
	conf_defaults(&cfg);
	err[0] = '\0';
	return conf_load_buffer(&cfg, "t.conf", text, strlen(text), err, sizeof(err));
}

/* Loading @p text must fail with exactly @p msg. */
#define BAD(text, msg)                                                          \
	do {                                                                    \
		CHECK(load(text) == -1);                                        \
		CHECK_STR(err, msg);                                            \
	} while (0)

/* Loading @p text must succeed and conf_validate must fail with exactly @p msg. */
#define BAD_VALIDATE(text, msg)                                                 \
	do {                                                                    \
		CHECK(load(text) == 0);                                         \
		CHECK(conf_validate(&cfg, err, sizeof(err)) == -1);             \
		CHECK_STR(err, msg);                                            \
	} while (0)

static const char *get(const char *key)
{
	static char buf[512];
	if (conf_get(&cfg, key, buf, sizeof(buf)) != 0)
		snprintf(buf, sizeof(buf), "<error %d>", errno);
	return buf;
}

static void test_defaults(void)
{
	conf_defaults(&cfg);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK(cfg.n_listeners == 1);
	CHECK(cfg.listeners[0].port == 1883 && !cfg.listeners[0].tls);
	CHECK(cfg.allow_anonymous && cfg.persistence);
	CHECK(cfg.mbufs == 16383 && cfg.rx_mbufs == 0 && conf_rx_mbufs(&cfg) == 4095);
	CHECK_STR(cfg.persistence_location, "/var/lib/tachyon/");
	CHECK_STR(cfg.mgmt_socket, "/run/tachyon/tachyon.sock");
	CHECK(cfg.persistence_mode == CONF_PERSIST_SYNC);
	CHECK(cfg.max_inflight_messages == 20 && cfg.max_queued_messages == 1000);
	CHECK(cfg.max_keepalive == 65535 && cfg.sys_interval == 10);
	CHECK(cfg.ip == IP(10, 77, 0, 2) && cfg.prefix_len == 24);
	CHECK(cfg.tap_kernel_ip == IP(10, 77, 0, 1) && cfg.gateway == IP(10, 77, 0, 1));
	CHECK(cfg.workers == 1 && cfg.no_huge && cfg.memory_mb == 256);
	CHECK(cfg.tcp_rto_min_ms == 200 && cfg.tcp_delayed_ack_ms == 40);
	CHECK(cfg.idle_spin_max_us == 2000);
	CHECK(cfg.impair_loss == 0.0 && cfg.impair_seed == 0);
	CHECK_STR(get("log_level"), "notice");
	CHECK_STR(get("address"), "10.77.0.2/24");
	CHECK_STR(get("listener"), "1883");
	CHECK(conf_listener_max_connections(&cfg, 0) == -1);
	CHECK(conf_listener_max_topic_alias(&cfg, 0) == 10);
	CHECK(conf_listener_allow_anonymous(&cfg, 0));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void test_all_keys_file(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/data/all_keys.conf", data_dir);
	conf_defaults(&cfg);
	CHECK(conf_load_file(&cfg, path, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK_STR(cfg.source_path, path);
	CHECK(!cfg.allow_anonymous && !cfg.allow_zero_length_clientid);
	CHECK_STR(cfg.password_file, "/etc/tachyon/passwd");
	CHECK_STR(cfg.acl_file, "/etc/tachyon/acl");
	CHECK_STR(cfg.persistence_location, "/srv/tachyon/");
	CHECK(cfg.autosave_interval == 600 && cfg.max_inflight_messages == 40);
	CHECK(cfg.max_queued_messages == 5000 && cfg.max_queued_bytes == 1048576);
	CHECK(cfg.queue_qos0_messages && !cfg.retain_available);
	CHECK(cfg.message_size_limit == 1000000 && cfg.max_packet_size == 2000000);
	CHECK(cfg.max_keepalive == 300 && cfg.sys_interval == 30);
	CHECK(cfg.max_connections == 5000 && cfg.max_topic_alias == 20);
	CHECK(cfg.log_level == 3); /* log_type lines, then log_level info */
	CHECK(cfg.workers == 2 && cfg.memory_mb == 512 && !cfg.no_huge && cfg.mbufs == 32767 &&
	      cfg.rx_mbufs == 4095 && conf_rx_mbufs(&cfg) == 4095 && cfg.idle_spin_max_us == 500);
	CHECK_STR(cfg.cores, "0-2");
	CHECK_STR(cfg.eal_args, "--huge-unlink --log-level=lib.eal:debug");
	CHECK_STR(cfg.file_prefix, "tachyon-test");
	CHECK_STR(cfg.pci_device, "0000:01:00.0");
	CHECK_STR(cfg.tap_name, "tach1");
	CHECK(cfg.tap_kernel_ip == IP(192, 168, 50, 1));
	CHECK(cfg.ip == IP(192, 168, 50, 10) && cfg.prefix_len == 24);
	CHECK(cfg.gateway == IP(192, 168, 50, 254) && cfg.mtu == 9000);
	CHECK_STR(cfg.mgmt_socket, "/run/tachyon/test.sock");
	CHECK_STR(cfg.mgmt_group, "mqttadm");
	CHECK(cfg.persistence_mode == CONF_PERSIST_ASYNC);
	CHECK(cfg.tcp_echo_port == 7 && cfg.tcp_time_wait_ms == 30000);
	CHECK(cfg.tcp_rto_min_ms == 100 && cfg.tcp_rto_max_ms == 30000);
	CHECK(cfg.tcp_max_retries == 12 && cfg.tcp_delayed_ack_ms == 20);
	CHECK(cfg.tcp_max_conns_per_worker == 65536 && cfg.tcp_syn_backlog == 1024);
	CHECK(cfg.tcp_sndbuf == 131072 && cfg.tcp_rcvbuf == 524288);
	CHECK(cfg.impair_seed == 42 && cfg.impair_loss == 0.01 && cfg.impair_dup == 0.002);
	CHECK(cfg.impair_corrupt == 0.0005 && cfg.impair_delay_us == 1000);
	CHECK(cfg.impair_jitter_us == 500);

	CHECK(cfg.n_listeners == 2);
	const struct conf_listener *l0 = &cfg.listeners[0], *l1 = &cfg.listeners[1];
	CHECK(l0->port == 1883 && l0->bind_ip == 0 && !l0->tls);
	CHECK(l0->max_connections == 100 && conf_listener_max_connections(&cfg, 0) == 100);
	CHECK(conf_listener_max_topic_alias(&cfg, 0) == 20);
	CHECK(l1->port == 8883 && l1->bind_ip == IP(192, 168, 50, 10) && l1->tls);
	CHECK_STR(l1->certfile, "/etc/tachyon/server.crt");
	CHECK_STR(l1->keyfile, "/etc/tachyon/server.key");
	CHECK_STR(l1->cafile, "/etc/tachyon/ca.crt");
	CHECK_STR(l1->capath, "/etc/ssl/certs");
	CHECK(l1->require_certificate && l1->use_identity_as_username);
	CHECK_STR(l1->tls_version, "tlsv1.2");
	CHECK_STR(l1->ciphers, "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
	CHECK(conf_listener_max_connections(&cfg, 1) == 5000);
	CHECK(conf_listener_max_topic_alias(&cfg, 1) == 0);
}

static void test_bad_input(void)
{
	BAD("max_keepalive 60\nfoo 1\n", "t.conf:2: unknown key 'foo' (every key is listed in "
	    "docs/configuration.md)");
	BAD("max_keepaliv 60\n", "t.conf:1: unknown key 'max_keepaliv' (did you mean "
	    "'max_keepalive'? every key is listed in docs/configuration.md)");
	BAD("\n\nbridge_cafile /x\n", "t.conf:3: 'bridge_cafile' is a Mosquitto option that "
	    "Tachyon does not support yet");
	BAD("# comment\nconnection b1\n", "t.conf:2: 'connection' is a Mosquitto option that "
	    "Tachyon does not support yet");
	BAD("auth_opt_db_host x\n", "t.conf:1: 'auth_opt_db_host' is a Mosquitto option that "
	    "Tachyon does not support yet");
	BAD("user mosquitto\n", "t.conf:1: 'user' is a Mosquitto option that Tachyon does not "
	    "support yet");
	BAD("listener 9001\nprotocol websockets\n", "t.conf:2: protocol: 'websockets' is a "
	    "Mosquitto option that Tachyon does not support yet (allowed: mqtt)");
	BAD("persistence yes\n", "t.conf:1: persistence: 'yes' is not a boolean "
	    "(allowed: true|false)");
	BAD("persistence TRUE\n", "t.conf:1: persistence: 'TRUE' is not a boolean "
	    "(allowed: true|false)");
	BAD("max_keepalive 70000\n", "t.conf:1: max_keepalive: '70000' is out of range "
	    "(allowed: 0..65535)");
	BAD("max_keepalive -1\n", "t.conf:1: max_keepalive: '-1' is out of range "
	    "(allowed: 0..65535)");
	BAD("max_keepalive 0x10\n", "t.conf:1: max_keepalive: '0x10' is not a whole number "
	    "(allowed: 0..65535)");
	BAD("message_size_limit 268435456\n", "t.conf:1: message_size_limit: '268435456' is out "
	    "of range (allowed: 0..268435455)");
	BAD("max_queued_bytes 99999999999999999999\n", "t.conf:1: max_queued_bytes: "
	    "'99999999999999999999' is out of range (allowed: 0..9223372036854775807)");
	BAD("max_packet_size 10\n", "t.conf:1: max_packet_size: '10' is out of range "
	    "(allowed: 0 (no limit) or 20..268435460)");
	BAD("workers 0\n", "t.conf:1: workers: '0' is out of range (allowed: 1..64)");
	BAD("workers 65\n", "t.conf:1: workers: '65' is out of range (allowed: 1..64)");
	BAD("impair_loss 1.5\n", "t.conf:1: impair_loss: '1.5' is out of range (allowed: 0..1)");
	BAD("impair_loss nan\n", "t.conf:1: impair_loss: 'nan' is not a number (allowed: 0..1)");
	BAD("tap_address 10.0.0.256\n", "t.conf:1: tap_address: '10.0.0.256' is not an IPv4 "
	    "address (allowed: a.b.c.d)");
	BAD("gateway example.com\n", "t.conf:1: gateway: 'example.com' is not an IPv4 address "
	    "(allowed: a.b.c.d)");
	BAD("address 10.77.0.2/33\n", "t.conf:1: address: prefix length '33' is out of range "
	    "(allowed: a.b.c.d/len with len 1..30)");
	BAD("address 10.77.0/24\n", "t.conf:1: address: '10.77.0/24' is not an IPv4 address "
	    "(allowed: a.b.c.d/len with len 1..30)");
	BAD("max_keepalive\n", "t.conf:1: max_keepalive: missing value (allowed: 0..65535)");
	BAD("password_file   \n", "t.conf:1: password_file: missing value (allowed: a file path)");
	BAD("max_keepalive 60 # one minute\n", "t.conf:1: max_keepalive: unexpected '# one "
	    "minute' after the value (allowed: 0..65535)");
	BAD("persistence true false\n", "t.conf:1: persistence: unexpected 'false' after the "
	    "value (allowed: true|false)");
	BAD("persistence_mode fast\n", "t.conf:1: persistence_mode: 'fast' is not allowed "
	    "(allowed: sync|async)");
	BAD("log_level verbose\n", "t.conf:1: log_level: 'verbose' is not allowed "
	    "(allowed: error|warning|notice|info|debug)");
	BAD("log_dest syslog\n", "t.conf:1: log_dest: 'syslog' is a Mosquitto option that "
	    "Tachyon does not support yet (allowed: stderr)");
	BAD("tls_version tlsv1.0\n", "t.conf:1: tls_version: 'tlsv1.0' is not a TLS version "
	    "(allowed: tlsv1.3|tlsv1.2|tlsv1.1)");
	BAD("cores 0-a\n", "t.conf:1: cores: '0-a' is not a core list (allowed: an EAL core list "
	    "such as 0-2 or 0,2,4)");
	BAD("tap_name abcdefghijklmnop\n", "t.conf:1: tap_name: value is too long (at most 15 "
	    "characters; allowed: an interface name, at most 15 characters)");
	BAD("file_prefix a/b\n", "t.conf:1: file_prefix: 'a/b' must not contain '/' or spaces "
	    "(allowed: a name without '/' or spaces)");
	conf_defaults(&cfg);
	static const char nul_text[] = "sys_interval 1\nmax_keepalive 6\0\n";
	CHECK(conf_load_buffer(&cfg, "nul.conf", nul_text, sizeof(nul_text) - 1, err,
			       sizeof(err)) == -1);
	CHECK_STR(err, "nul.conf:2: the line contains a NUL byte");
	CHECK(cfg.sys_interval == 1);

	/* listener errors */
	BAD("listener\n", "t.conf:1: listener: missing value (allowed: <port 1..65535> "
	    "[<IPv4 address>])");
	BAD("listener 70000\n", "t.conf:1: listener: port '70000' is out of range (allowed: "
	    "<port 1..65535> [<IPv4 address>])");
	BAD("listener abc\n", "t.conf:1: listener: 'abc' is not a port (allowed: "
	    "<port 1..65535> [<IPv4 address>])");
	BAD("listener 1883 localhost\n", "t.conf:1: listener: 'localhost' is not an IPv4 "
	    "address; host names, IPv6 and Unix sockets are not supported yet (allowed: "
	    "<port 1..65535> [<IPv4 address>])");
	BAD("listener 1883 0.0.0.0 extra\n", "t.conf:1: listener: unexpected 'extra' after the "
	    "address (allowed: <port 1..65535> [<IPv4 address>])");
	BAD("listener 0 /tmp/mqtt.sock\n", "t.conf:1: listener: port 0 (a Unix socket listener) "
	    "is a Mosquitto option that Tachyon does not support yet");
	BAD("listener 1883\nlistener 8883\nlistener 1883\n", "t.conf:3: listener: port 1883 is "
	    "already a listener");
	BAD("certfile /a.crt\nlistener 8883\n", "t.conf:2: listener: listener options were given "
	    "before the first 'listener' line; they would configure the default listener, which "
	    "this line replaces. Move them below a 'listener' line (or keep the default listener "
	    "with 'port')");
	BAD("listener 1883\nper_listener_settings true\n", "t.conf:2: per_listener_settings: must "
	    "come before the first 'listener' line");
	BAD("port 1883\nlistener 1883\n", "t.conf:2: listener: port 1883 is already a listener");
	BAD("listener 1883\nport 1884\n", "t.conf:2: port: sets the default listener, so it must "
	    "come before the first 'listener' line");
	BAD("listener 1883\ninclude_dir /nonexistent-dir\n", "t.conf:2: include_dir: cannot open "
	    "'/nonexistent-dir': No such file or directory");

	/* too many listeners */
	char many[1024] = "";
	for (int i = 0; i <= CONF_MAX_LISTENERS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "listener %d\n",
			 2000 + i);
	char msg[128];
	snprintf(msg, sizeof(msg), "t.conf:%d: listener: too many listeners (at most %d)",
		 CONF_MAX_LISTENERS + 1, CONF_MAX_LISTENERS);
	BAD(many, msg);

	/* cross-field rules */
	BAD_VALIDATE("listener 8883\ncertfile /a.crt\n", "t.conf:1: listener 8883: certfile "
		     "is set but keyfile is not (a TLS listener needs both)");
	BAD_VALIDATE("listener 1883\ncafile /ca.crt\n", "t.conf:1: listener 1883: cafile "
		     "needs TLS: set certfile and keyfile on this listener");
	BAD_VALIDATE("listener 8883\ncertfile /a\nkeyfile /b\nrequire_certificate true\n",
		     "t.conf:1: listener 8883: require_certificate needs cafile or capath");
	BAD_VALIDATE("# TLS\nlistener 8883\ncertfile /a\nkeyfile /b\nuse_identity_as_username true\n",
		     "t.conf:2: listener 8883: use_identity_as_username needs "
		     "require_certificate true");
	BAD_VALIDATE("listener 1883 10.77.0.9\n", "t.conf:1: listener 1883: 10.77.0.9 is "
		     "not Tachyon's address (see 'address')");
	BAD_VALIDATE("address 10.78.0.2/24\n", "configuration: address 10.78.0.2/24 is outside "
		     "the tap subnet of tap_address 10.77.0.1");
	BAD_VALIDATE("address 10.77.0.1\n", "configuration: address 10.77.0.1 is also "
		     "tap_address (the kernel's side)");
	BAD_VALIDATE("address 10.77.0.255\n", "configuration: address 10.77.0.255/24 is the "
		     "subnet's network or broadcast address");
	BAD_VALIDATE("gateway 10.9.9.9\n", "configuration: gateway 10.9.9.9 is not another host "
		     "of our subnet 10.77.0.2/24");
	BAD_VALIDATE("rx_mbufs 2046\n", "configuration: rx_mbufs 2046: 0 (automatic) or at "
		     "least 2047 (the port's receive ring alone holds 1024, and frames being "
		     "received need as many again)");
	BAD_VALIDATE("tcp_rto_min_ms 5000\ntcp_rto_max_ms 1000\n", "configuration: "
		     "tcp_rto_min_ms 5000 is above tcp_rto_max_ms 1000");
	BAD_VALIDATE("tcp_echo_port 1883\n", "configuration: tcp_echo_port 1883 is also a "
		     "listener port"); /* the default listener has no line */
	BAD_VALIDATE("tcp_echo_port 1883\nlistener 1883\n", "t.conf:2: tcp_echo_port 1883 is "
		     "also a listener port");

	/* the line number counts comment, blank and CRLF lines */
	BAD("# c\r\n\r\n   \t\r\nmax_keepalive 60\r\nworkers 99\r\n", "t.conf:5: workers: '99' "
	    "is out of range (allowed: 1..64)");
}

static void test_good_syntax(void)
{
	/* blanks, tabs, CRLF, indented comments, last line without newline */
	CHECK(load("  # indented comment\r\n\tmax_keepalive\t 60 \r\nsys_interval 0") == 0);
	CHECK(cfg.max_keepalive == 60 && cfg.sys_interval == 0);
	/* a '#' inside a string value is part of it (Mosquitto) */
	CHECK(load("password_file /etc/pass#1\n") == 0);
	CHECK_STR(cfg.password_file, "/etc/pass#1");
	/* last one wins */
	CHECK(load("max_keepalive 10\nmax_keepalive 20\n") == 0 && cfg.max_keepalive == 20);
	/* max_inflight_messages 0 = no limit = 65535 */
	CHECK(load("max_inflight_messages 0\n") == 0 && cfg.max_inflight_messages == 65535);
	/* port keeps the default listener next to explicit ones */
	CHECK(load("port 1884\nlistener 8883\n") == 0);
	CHECK(cfg.n_listeners == 2 && cfg.listeners[0].port == 1884);
	CHECK(cfg.listeners[1].port == 8883);
	/* listener keys before any listener configure the kept default listener */
	CHECK(load("port 1883\nmax_connections 5\ncertfile /a\nkeyfile /b\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.listeners[0].tls);
	/* the first listener replaces the default one */
	CHECK(load("listener 8883\n") == 0);
	CHECK(cfg.n_listeners == 1 && cfg.listeners[0].port == 8883);
	/* password_file flips allow_anonymous's default, an explicit value wins */
	CHECK(load("password_file /p\n") == 0 && conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK(!cfg.allow_anonymous);
	CHECK(load("allow_anonymous true\npassword_file /p\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.allow_anonymous);
	/* a listener line flips it too (Mosquitto 2), the listener-less default keeps true */
	CHECK(load("listener 1883\n") == 0 && conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK(!cfg.allow_anonymous && !conf_listener_allow_anonymous(&cfg, 0));
	CHECK(load("listener 1883\nallow_anonymous true\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.allow_anonymous);
	CHECK(load("max_keepalive 60\n") == 0 && conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK(cfg.allow_anonymous);
	/* log_type: the first line replaces the default threshold, later ones raise it */
	CHECK(load("log_type error\n") == 0 && cfg.log_level == 0);
	CHECK(load("log_type debug\nlog_type error\n") == 0 && cfg.log_level == 4);
	/* on a PCI port the gateway default is none, the tap subnet rule does not apply */
	CHECK(load("pci_device 0000:03:00.0\naddress 192.168.1.5/24\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.gateway == 0);
	/* a memif port: no kernel side, so no default gateway and no tap subnet rule */
	CHECK(load("memif_socket /run/tachyon/memif.sock\naddress 192.168.7.2/24\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.gateway == 0);
	CHECK(!conf_port_is_tap(&cfg) && cfg.memif_role == CONF_MEMIF_SERVER);
	CHECK_STR(cfg.memif_socket, "/run/tachyon/memif.sock");
	CHECK(load("memif_socket /m\nmemif_role client\n") == 0 &&
	      cfg.memif_role == CONF_MEMIF_CLIENT);
	CHECK(load("memif_role peer\n") != 0);
	CHECK(load("memif_socket /m\npci_device 0000:03:00.0\naddress 192.168.1.5/24\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) != 0 && strstr(err, "memif_socket") != NULL);
	/* tap_address moves the default gateway */
	CHECK(load("tap_address 10.1.0.1\naddress 10.1.0.2/16\n") == 0);
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0 && cfg.gateway == IP(10, 1, 0, 1));
	/* registry */
	CHECK(conf_key_runtime("max_keepalive") && !conf_key_runtime("workers"));
	CHECK(!conf_key_runtime("bridge_cafile") && !conf_key_runtime("nope"));
	const struct conf_key_info *ki = conf_key_info("bridge_insecure");
	CHECK(ki != NULL && !ki->supported && ki->mosquitto && ki->prefix);
	ki = conf_key_info("cafile");
	CHECK(ki != NULL && ki->supported && ki->scope == CONF_SCOPE_LISTENER);
	CHECK(conf_key_info("tcp_sndbuf") != NULL && !conf_key_info("tcp_sndbuf")->mosquitto);
	CHECK(conf_key_at(conf_key_count()) == NULL && conf_key_at(0) != NULL);
}

static void test_mosquitto_file(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/data/mosquitto.conf", data_dir);
	conf_defaults(&cfg);
	CHECK(conf_load_file(&cfg, path, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK(cfg.per_listener_settings && cfg.n_listeners == 2);
	CHECK(cfg.log_level == 3 && cfg.max_inflight_messages == 65535);
	CHECK_STR(cfg.persistence_location, "/var/lib/mosquitto/");
	/* per listener security */
	CHECK(!conf_listener_allow_anonymous(&cfg, 0) && !conf_listener_allow_anonymous(&cfg, 1));
	/* Mosquitto 2: a file with listeners and no allow_anonymous refuses anonymous clients */
	CHECK(!cfg.allow_anonymous);
	CHECK_STR(conf_listener_password_file(&cfg, 0), "/etc/mosquitto/passwd");
	CHECK_STR(conf_listener_password_file(&cfg, 1), "");
	CHECK_STR(conf_listener_acl_file(&cfg, 1), "/etc/mosquitto/acl-tls");
	CHECK(cfg.listeners[1].tls && cfg.listeners[1].require_certificate);
	CHECK(conf_listener_max_connections(&cfg, 1) == 1000);
	CHECK(conf_listener_max_connections(&cfg, 0) == -1);
}

static void test_example_file(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tachyon.conf.example", docs_dir);
	conf_defaults(&cfg);
	CHECK(conf_load_file(&cfg, path, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(conf_validate(&cfg, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(cfg.n_listeners >= 1);
}

static void test_include_dir(void)
{
	char text[1024];
	snprintf(text, sizeof(text), "sys_interval 1\ninclude_dir %s/data/include.d\n", data_dir);
	CHECK(load(text) == 0);
	CHECK_STR(err, "");
	/* Mosquitto's order: 10-limits.conf, a.conf, B.conf; notes.txt is not read */
	CHECK(cfg.max_keepalive == 120 && cfg.sys_interval == 5);

	/* include_dir only in the main file (this also rules out include loops) */
	char msg[1024];
	snprintf(text, sizeof(text), "include_dir %s/data/nested.d\n", data_dir);
	snprintf(msg, sizeof(msg), "%s/data/nested.d/inner.conf:2: include_dir: only allowed in "
		 "the main config file", data_dir);
	CHECK(load(text) == -1);
	CHECK_STR(err, msg);
}

static void test_set_get(void)
{
	char buf[512];
	conf_defaults(&cfg);
	/* every supported key with a value: get -> set -> get gives the same text */
	for (unsigned i = 0; i < conf_key_count(); i++) {
		const struct conf_key_info *k = conf_key_at(i);
		if (conf_get(&cfg, k->name, buf, sizeof(buf)) != 0) {
			CHECK(!k->supported || k->type == CONF_TYPE_SPECIAL ||
			      k->type == CONF_TYPE_STRING || k->scope == CONF_SCOPE_LISTENER);
			continue;
		}
		if (buf[0] == '\0' || strcmp(k->name, "listener") == 0)
			continue;
		char again[512];
		if (conf_set(&cfg, k->name, buf, "test", err, sizeof(err)) != 0) {
			fprintf(stderr, "set %s '%s': %s\n", k->name, buf, err);
			failures++;
		}
		CHECK(conf_get(&cfg, k->name, again, sizeof(again)) == 0);
		CHECK_STR(again, buf);
	}
	CHECK(conf_set(&cfg, "max_keepalive", "120", "--set", err, sizeof(err)) == 0);
	CHECK_STR(get("max_keepalive"), "120");
	CHECK(conf_set(&cfg, "impair_loss", "0.00001", "--set", err, sizeof(err)) == 0);
	CHECK(cfg.impair_loss == 0.00001);
	CHECK(conf_set(&cfg, "impair_loss", get("impair_loss"), "x", err, sizeof(err)) == 0);
	CHECK(cfg.impair_loss == 0.00001);
	CHECK(conf_set(&cfg, "address", "10.77.0.9/25", "--set", err, sizeof(err)) == 0);
	CHECK_STR(get("address"), "10.77.0.9/25");
	/* errors leave the config untouched */
	CHECK(conf_set(&cfg, "max_keepalive", "x", "mgmt", err, sizeof(err)) == -1);
	CHECK_STR(err, "mgmt: max_keepalive: 'x' is not a whole number (allowed: 0..65535)");
	CHECK(cfg.max_keepalive == 120);
	CHECK(conf_set(&cfg, "max_keepalive", "1\n2", "mgmt", err, sizeof(err)) == -1);
	CHECK_STR(err, "mgmt: max_keepalive: the value contains a control character");
	CHECK(conf_set(&cfg, "max_keepalive", NULL, "mgmt", err, sizeof(err)) == -1);
	CHECK(conf_set(&cfg, "psk_hint", "x", "mgmt", err, sizeof(err)) == -1);
	CHECK_STR(err, "mgmt: 'psk_hint' is a Mosquitto option that Tachyon does not support yet");
	CHECK(conf_set_runtime(&cfg, "workers", "2", "mgmt", err, sizeof(err)) == -1);
	CHECK_STR(err, "mgmt: workers: cannot change at run time; edit the config file and "
		  "restart");
	CHECK(conf_set_runtime(&cfg, "sys_interval", "3", "mgmt", err, sizeof(err)) == 0);
	CHECK(cfg.sys_interval == 3);
	/* listener keys: conf_set opens and fills sections like file lines (from defaults:
	 * the loop above set listener keys of the default listener, which a `listener` line
	 * would then refuse to drop) */
	CHECK(conf_set(&cfg, "listener", "8883", "--set", err, sizeof(err)) == -1);
	conf_defaults(&cfg);
	CHECK(conf_set(&cfg, "listener", "8883", "--set", err, sizeof(err)) == 0);
	CHECK(conf_set(&cfg, "certfile", "/c.pem", "--set", err, sizeof(err)) == 0);
	CHECK_STR(get("certfile"), "/c.pem");
	CHECK_STR(get("listener"), "8883");
	CHECK(conf_get_listener(&cfg, 0, "certfile", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "/c.pem");
	CHECK(conf_get_listener(&cfg, 1, "certfile", buf, sizeof(buf)) == -1 && errno == EINVAL);
	/* errno contract */
	CHECK(conf_get(&cfg, "nope", buf, sizeof(buf)) == -1 && errno == ENOENT);
	CHECK(conf_get(&cfg, "bridge_cafile", buf, sizeof(buf)) == -1 && errno == ENOENT);
	CHECK(conf_get(&cfg, "include_dir", buf, sizeof(buf)) == -1 && errno == ENOENT);
	CHECK(conf_get(&cfg, "mgmt_socket", buf, 4) == -1 && errno == ENOSPC);
}

/* conf_write's output loads back to the same values for every key and listener. */
static void test_write_reload(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/data/all_keys.conf", data_dir);
	static struct tachyon_config a, b;
	conf_defaults(&a);
	CHECK(conf_load_file(&a, path, err, sizeof(err)) == 0);
	CHECK(conf_validate(&a, err, sizeof(err)) == 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK(conf_write(&a, f) == 0);
	fclose(f);
	conf_defaults(&b);
	if (conf_load_buffer(&b, "written", text, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n---\n%s", err, text);
		failures++;
	}
	CHECK(conf_validate(&b, err, sizeof(err)) == 0);
	CHECK(a.n_listeners == b.n_listeners);
	for (unsigned i = 0; i < conf_key_count(); i++) {
		const char *key = conf_key_at(i)->name;
		for (unsigned li = 0; li < a.n_listeners; li++) {
			char va[512], vb[512];
			int ra = conf_get_listener(&a, li, key, va, sizeof(va));
			int rb = conf_get_listener(&b, li, key, vb, sizeof(vb));
			CHECK(ra == rb);
			if (ra == 0 && rb == 0 && strcmp(va, vb) != 0) {
				fprintf(stderr, "%s listener %u: '%s' != '%s'\n", key, li, va, vb);
				failures++;
			}
		}
	}
	free(text);
}

static int args(char **argv)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	err[0] = '\0';
	return conf_from_args(&cfg, argc, argv, err, sizeof(err));
}

static void test_args(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/data/all_keys.conf", data_dir);

	CHECK(args((char *[]){ "tachyond", NULL }) == 0);
	CHECK(cfg.n_listeners == 1 && cfg.source_path[0] == '\0');
	/* --set is applied after the file, whatever the order on the command line */
	CHECK(args((char *[]){ "tachyond", "--set", "workers=3", "-c", path,
			       "--set=max_keepalive=77", NULL }) == 0);
	CHECK_STR(err, "");
	CHECK(cfg.workers == 3 && cfg.max_keepalive == 77 && cfg.mtu == 9000);
	CHECK(args((char *[]){ "tachyond", "--config=/nonexistent.conf", NULL }) == -1);
	CHECK_STR(err, "/nonexistent.conf: No such file or directory");
	CHECK(args((char *[]){ "tachyond", "--set", "workers=99", NULL }) == -1);
	CHECK_STR(err, "--set: workers: '99' is out of range (allowed: 1..64)");
	CHECK(args((char *[]){ "tachyond", "--set", "workers", NULL }) == -1);
	CHECK_STR(err, "--set: expected KEY=VALUE, got 'workers'");
	CHECK(args((char *[]){ "tachyond", "--set", NULL }) == -1);
	CHECK(args((char *[]){ "tachyond", "-c", NULL }) == -1);
	CHECK_STR(err, "-c: missing file name");
	CHECK(args((char *[]){ "tachyond", "-c", path, "-c", path, NULL }) == -1);
	CHECK(args((char *[]){ "tachyond", "--frobnicate", NULL }) == -1);
	CHECK_STR(err, "unknown option '--frobnicate' (see --help)");
	/* a listener section from the command line, then validation */
	CHECK(args((char *[]){ "tachyond", "--set", "listener=8883", "--set", "certfile=/c",
			       NULL }) == -1);
	CHECK_STR(err, "--set: listener 8883: certfile is set but keyfile is not (a TLS "
		  "listener needs both)");
	CHECK(args((char *[]){ "tachyond", "--set", "listener=8883", "--set", "certfile=/c",
			       "--set", "keyfile=/k", NULL }) == 0);
	CHECK(cfg.listeners[0].port == 8883 && cfg.listeners[0].tls);
	/* exits with 1: help, version, check (output goes to stdout) */
	CHECK(args((char *[]){ "tachyond", "--help", NULL }) == 1);
	CHECK(args((char *[]){ "tachyond", "--version", NULL }) == 1);
	CHECK(args((char *[]){ "tachyond", "-c", path, "--check", NULL }) == 1);
	/* and the same twice in a row: no hidden state */
	CHECK(args((char *[]){ "tachyond", "--set", "workers=2", NULL }) == 0 && cfg.workers == 2);
	CHECK(args((char *[]){ "tachyond", NULL }) == 0 && cfg.workers == 1);
}

/* docs/configuration.md names every key, supported or refused, as `key`. */
static void test_docs_cover_registry(void)
{
	char path[1024];
	size_t len;
	snprintf(path, sizeof(path), "%s/configuration.md", docs_dir);
	char *doc = slurp(path, &len);
	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	for (unsigned i = 0; i < conf_key_count(); i++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "`%s%s`", conf_key_at(i)->name,
			 conf_key_at(i)->prefix ? "*" : "");
		if (strstr(doc, needle) == NULL) {
			fprintf(stderr, "docs/configuration.md does not mention %s\n", needle);
			failures++;
		}
	}
	free(doc);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} groups[] = {
		{ "defaults", test_defaults },
		{ "files", test_all_keys_file },
		{ "files", test_mosquitto_file },
		{ "files", test_example_file },
		{ "files", test_include_dir },
		{ "errors", test_bad_input },
		{ "syntax", test_good_syntax },
		{ "set-get", test_set_get },
		{ "write", test_write_reload },
		{ "args", test_args },
		{ "docs", test_docs_cover_registry },
	};
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s <tests/lib/conf dir> <docs dir> [group]\n", argv[0]);
		return 2;
	}
	data_dir = argv[1];
	docs_dir = argv[2];
	int ran = 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (argc == 4 && strcmp(argv[3], groups[i].name) != 0)
			continue;
		groups[i].fn();
		ran++;
	}
	if (ran == 0) {
		fprintf(stderr, "no test group '%s'\n", argv[3]);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("conf: %d test function(s) passed\n", ran);
	return 0;
}
