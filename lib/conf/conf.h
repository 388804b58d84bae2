/**
 * @file conf.h
 * Tachyon's configuration: the settings, their defaults, and the parser for the config file
 * (Mosquitto's language plus Tachyon's own keys) and for command-line overrides.
 *
 * Where it sits: tachyond's main reads the config once at start-up (control core), then hands
 * a const pointer to every part. Run-time changes (management socket `config set`) go through
 * conf_set() on the control core and reach the workers by message.
 *
 * Error convention: functions return 0 on success and -1 on error, with a human-readable
 * message ("file:line: ...") written into the caller's err buffer.
 *
 * CONTRACT NOTE: other parts already compile against the fields below. Add fields freely;
 * do not rename or remove existing ones.
 */
#ifndef TACHYON_CONF_H
#define TACHYON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_LISTENERS 16
#define CONF_PATH_MAX 256
#define CONF_ERR_MAX 512

enum conf_persistence_mode {
	CONF_PERSIST_SYNC = 0,  /**< acknowledge QoS 1/2 only once logged to disk (default) */
	CONF_PERSIST_ASYNC,     /**< acknowledge at once; the log is written behind */
};

/** One `listener <port> [<address>]` section. */
struct conf_listener {
	uint16_t port;                       /**< TCP port */
	uint32_t bind_ip;                    /**< IPv4 address, host byte order; 0 = any of ours */
	bool tls;                            /**< true when certfile/keyfile are set */
	char cafile[CONF_PATH_MAX];          /**< Mosquitto `cafile` */
	char capath[CONF_PATH_MAX];          /**< Mosquitto `capath` */
	char certfile[CONF_PATH_MAX];        /**< Mosquitto `certfile` */
	char keyfile[CONF_PATH_MAX];         /**< Mosquitto `keyfile` */
	bool require_certificate;            /**< Mosquitto `require_certificate` */
	bool use_identity_as_username;       /**< Mosquitto `use_identity_as_username` */
	char tls_version[16];                /**< Mosquitto `tls_version` (minimum), "" = default */
	char ciphers[256];                   /**< Mosquitto `ciphers` */
	int allow_anonymous;                 /**< -1 = inherit the global setting, else 0/1 */
	int64_t max_connections;             /**< -1 = unlimited */
};

/** The whole configuration. conf_defaults() gives every field its default. */
struct tachyon_config {
	/* ---- where it came from ---- */
	char source_path[CONF_PATH_MAX];     /**< config file path, "" = embedded default */

	/* ---- Mosquitto keys ---- */
	struct conf_listener listeners[CONF_MAX_LISTENERS];
	unsigned n_listeners;                /**< default: one plain listener on 1883 */
	bool allow_anonymous;                /**< default true when no password_file */
	char password_file[CONF_PATH_MAX];
	char acl_file[CONF_PATH_MAX];
	bool persistence;                    /**< default true */
	char persistence_location[CONF_PATH_MAX]; /**< default "/var/lib/tachyon/" */
	uint32_t autosave_interval;          /**< seconds between snapshots, default 1800 */
	int64_t max_connections;             /**< -1 = unlimited (default) */
	uint32_t max_inflight_messages;      /**< per client, default 20 (0 = unlimited -> 65535) */
	uint32_t max_queued_messages;        /**< per offline/slow session, default 1000 */
	uint64_t max_queued_bytes;           /**< per session, 0 = unlimited */
	uint32_t message_size_limit;         /**< max PUBLISH payload, 0 = 268435455 */
	uint32_t max_packet_size;            /**< max packet we accept, 0 = 268435460 */
	uint16_t max_keepalive;              /**< seconds, default 65535 */
	bool retain_available;               /**< default true */
	uint32_t sys_interval;               /**< $SYS publish period, seconds, default 10; 0 = off */
	bool queue_qos0_messages;            /**< default false */
	uint16_t max_topic_alias;            /**< default 10 */
	bool allow_zero_length_clientid;     /**< default true */
	int log_level;                       /**< 0 error .. 4 debug; default 2 (notice/info) */

	/* ---- Tachyon keys: runtime and EAL ---- */
	unsigned workers;                    /**< worker lcores, default 1 */
	char cores[64];                      /**< EAL core list, "" = first workers+1 cores */
	uint32_t memory_mb;                  /**< EAL -m, default 256 */
	bool no_huge;                        /**< EAL --no-huge, default true */
	char eal_args[512];                  /**< extra EAL arguments, split on spaces */
	char file_prefix[64];                /**< EAL --file-prefix, default "tachyon" */
	uint32_t mbufs;                      /**< mbufs per worker pool, default 16383 */

	/* ---- Tachyon keys: the port ---- */
	char pci_device[64];                 /**< "" = embedded default: a net_tap port */
	char tap_name[16];                   /**< default "tachyon0" */
	uint32_t tap_kernel_ip;              /**< kernel side of the tap, default 10.77.0.1 */
	uint32_t ip;                         /**< our address, default 10.77.0.2 */
	uint8_t prefix_len;                  /**< default 24 */
	uint32_t gateway;                    /**< default = tap_kernel_ip on a tap port, else 0 */
	uint16_t mtu;                        /**< default 1500 */

	/* ---- Tachyon keys: control plane ---- */
	char mgmt_socket[108];               /**< default "/run/tachyon/tachyon.sock" */
	char mgmt_group[64];                 /**< "" = owner-only socket (0600) */
	enum conf_persistence_mode persistence_mode; /**< default sync */

	/* ---- Tachyon keys: TCP ---- */
	uint16_t tcp_echo_port;              /**< diagnostic echo service, 0 = off (default) */
	uint32_t tcp_time_wait_ms;           /**< 2*MSL, default 60000 */
	uint32_t tcp_rto_min_ms;             /**< default 200 */
	uint32_t tcp_rto_max_ms;             /**< default 60000 */
	uint32_t tcp_max_retries;            /**< default 8 */
	uint32_t tcp_delayed_ack_ms;         /**< default 40, 0 = off */
	uint32_t tcp_max_conns_per_worker;   /**< default 1048576 */
	uint32_t tcp_syn_backlog;            /**< default 4096; SYN cookies past it */
	uint32_t tcp_sndbuf;                 /**< per-connection send limit, bytes, default 262144 */
	uint32_t tcp_rcvbuf;                 /**< per-connection receive/OOO bound, default 262144 */

	/* ---- Tachyon keys: test-only impairment (off unless set) ---- */
	uint64_t impair_seed;
	double impair_loss;                  /**< fraction 0..1, both directions */
	double impair_dup;
	double impair_corrupt;
	uint32_t impair_delay_us;
	uint32_t impair_jitter_us;
};

/** Fill every field with its default (the embedded default configuration). */
void conf_defaults(struct tachyon_config *c);

/**
 * Parse a config file on top of @p c (call conf_defaults first).
 * @return 0, or -1 with "path:line: message" in @p err.
 */
int conf_load_file(struct tachyon_config *c, const char *path, char *err, size_t errlen);

/**
 * Apply one `key value` setting (command-line override or run-time `config set`), with the
 * same validation as the file. @p where names the origin in messages ("--set", "mgmt").
 * @return 0, or -1 with a message in @p err.
 */
int conf_set(struct tachyon_config *c, const char *key, const char *value, const char *where,
	     char *err, size_t errlen);

/** Final consistency checks after all sources are applied. @return 0 or -1 with @p err. */
int conf_validate(struct tachyon_config *c, char *err, size_t errlen);

#endif /* TACHYON_CONF_H */
