/**
 * @file conf.h
 * Tachyon's configuration: the settings, their defaults, and the parser for the config file
 * (Mosquitto's language plus Tachyon's own keys) and for command-line overrides.
 *
 * Where it sits: tachyond's main reads the config once at start-up (control core), then hands
 * a const pointer to every part. Run-time changes (management socket `config set`) go through
 * conf_set() on the control core and reach the workers by message.
 *
 * Error convention (the whole part): functions return 0 on success and -1 on error, with a
 * human-readable message written into the caller's err buffer (always NUL-terminated, cut to
 * errlen). Messages name the origin ("file:line: " or the caller's @p where), the key, and what
 * is allowed, e.g. "tachyon.conf:12: max_keepalive: '70000' is out of range (allowed: 0..65535)".
 * The only exceptions are conf_get*() (no message: they return -1 and set errno) and
 * conf_from_args() (which also returns 1 for "exit successfully").
 *
 * Thread-safety: none of these functions lock. A struct tachyon_config is written only by the
 * control core (start-up, then conf_set at run time); other threads read the copies they are
 * handed. The key registry (conf_key_*) is constant and safe to read from any thread.
 *
 * The language (docs/configuration.md is the reference):
 *  - one `key value` per line; `#` as the first non-blank character starts a comment line
 *    (a `#` later in a line is part of the value, as in Mosquitto, since paths may hold it);
 *  - `listener <port> [<address>]` opens a listener section: listener keys after it apply to
 *    it; the first `listener` line replaces the default 1883 listener;
 *  - Mosquitto keys keep their meaning and bounds; Mosquitto keys Tachyon lacks are refused by
 *    name; Tachyon's own keys sit beside them; anything else is refused.
 *
 * CONTRACT NOTE: other parts already compile against the fields below. Add fields freely;
 * do not rename or remove existing ones.
 */
#ifndef TACHYON_CONF_H
#define TACHYON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_MAX_LISTENERS 16
#define CONF_PATH_MAX 256
#define CONF_ERR_MAX 512

/** Role of the net_memif port (key `memif_role`). */
enum conf_memif_role {
	CONF_MEMIF_SERVER = 0,  /**< creates the socket; the peer (e.g. tachyon-loadgen) connects */
	CONF_MEMIF_CLIENT,      /**< connects to a server's socket, which must exist first */
};

enum conf_persistence_mode {
	CONF_PERSIST_SYNC = 0,  /**< acknowledge QoS 1/2 only once logged to disk (default) */
	CONF_PERSIST_ASYNC,     /**< acknowledge at once; the log is written behind */
};

/** One `listener <port> [<address>]` section. */
struct conf_listener {
	uint16_t port;                       /**< TCP port */
	uint32_t bind_ip;                    /**< IPv4 address, host byte order; 0 = any of ours */
	bool tls;                            /**< true when certfile and keyfile are set
					      *   (computed by conf_validate) */
	char cafile[CONF_PATH_MAX];          /**< Mosquitto `cafile` */
	char capath[CONF_PATH_MAX];          /**< Mosquitto `capath` */
	char certfile[CONF_PATH_MAX];        /**< Mosquitto `certfile` */
	char keyfile[CONF_PATH_MAX];         /**< Mosquitto `keyfile` */
	bool require_certificate;            /**< Mosquitto `require_certificate` */
	bool use_identity_as_username;       /**< Mosquitto `use_identity_as_username` */
	char tls_version[16];                /**< Mosquitto `tls_version` (minimum), "" = default */
	char ciphers[256];                   /**< Mosquitto `ciphers` */
	int allow_anonymous;                 /**< -1 = inherit the global setting, else 0/1 */
	int64_t max_connections;             /**< -1 = inherit the global max_connections (whose
					      *   default -1 means unlimited), else the limit;
					      *   conf_listener_max_connections() resolves it */
	/* Added after the contract: */
	int32_t max_topic_alias;             /**< Mosquitto `max_topic_alias` (per listener);
					      *   -1 = inherit the global value */
	char password_file[CONF_PATH_MAX];   /**< with per_listener_settings: "" = inherit */
	char acl_file[CONF_PATH_MAX];        /**< with per_listener_settings: "" = inherit */
	int allow_zero_length_clientid;      /**< with per_listener_settings: -1 = inherit */
	char origin[CONF_PATH_MAX + 16];     /**< "file:line" (or "--set") of its `listener`
					      *   line, for messages; "" = the default listener */
};

/** The whole configuration. conf_defaults() gives every field its default. */
struct tachyon_config {
	/* ---- where it came from ---- */
	char source_path[CONF_PATH_MAX];     /**< config file path, "" = embedded default */

	/* ---- Mosquitto keys ---- */
	struct conf_listener listeners[CONF_MAX_LISTENERS];
	unsigned n_listeners;                /**< default: one plain listener on 1883 */
	bool allow_anonymous;                /**< default true only when the config defines
					      *   no listener and no password_file (Mosquitto
					      *   2's rule, applied by conf_validate) */
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
	uint32_t max_subscriptions_per_client; /**< Tachyon key, 0 = unlimited (default) */
	uint32_t max_topic_levels;     /**< Tachyon key, 1..128 (default 128) */
	uint32_t message_pool_mb;      /**< Tachyon key: message mempools, MiB (default 64) */
	int log_level;                       /**< 0 error .. 4 debug; default 2 (notice/info) */
	bool per_listener_settings;          /**< Mosquitto `per_listener_settings`, default
					      *   false: allow_anonymous, password_file, acl_file,
					      *   allow_zero_length_clientid apply per listener */

	/* ---- Tachyon keys: runtime and EAL ---- */
	unsigned workers;                    /**< worker lcores, default 1 */
	char cores[64];                      /**< EAL core list, "" = first workers+1 cores */
	uint32_t memory_mb;                  /**< EAL -m, default 256 */
	bool no_huge;                        /**< EAL --no-huge, default true */
	char eal_args[512];                  /**< extra EAL arguments, split on spaces */
	char file_prefix[64];                /**< EAL --file-prefix, default "tachyon" */
	uint32_t mbufs;                      /**< small mbufs per worker send pool, default 16383 */
	uint32_t rx_mbufs;                   /**< 2 KiB mbufs per worker receive pool, 0 (default)
					      *   = mbufs / 4, at least 2047 (conf_rx_mbufs) */
	uint32_t idle_spin_max_us;           /**< a worker's idle spin adapts up to this to
					      *   the gaps between frames, default 2000 */

	/* ---- Tachyon keys: authentication failures (docs/security.md) ---- */
	uint32_t auth_fail_burst;            /**< failed logins in a row per source address
					      *   (per worker) before it is blocked, default 5 */
	uint32_t auth_fail_interval;         /**< seconds: one more failure allowed per this,
					      *   default 10 */

	/* ---- Tachyon keys: the port ---- */
	char pci_device[64];                 /**< "" = embedded default: a net_tap port */
	char tap_name[16];                   /**< default "tachyon0" */
	char memif_socket[108];              /**< "" = no memif; else a net_memif port on this
					      *   socket path instead of the tap (pci_device wins) */
	enum conf_memif_role memif_role;     /**< default server */
	uint32_t tap_kernel_ip;              /**< key `tap_address`: kernel side of the tap,
					      *   default 10.77.0.1 */
	uint32_t ip;                         /**< key `address`: our address, default 10.77.0.2 */
	uint8_t prefix_len;                  /**< key `address` (the /len), default 24 */
	uint32_t gateway;                    /**< default = tap_kernel_ip on a tap port, else 0
					      *   (resolved by conf_validate) */
	uint16_t mtu;                        /**< default 1500 */

	/* ---- Tachyon keys: control plane ---- */
	char mgmt_socket[108];               /**< default "/run/tachyon/tachyon.sock" */
	char mgmt_group[64];                 /**< "" = owner-only socket (0600) */
	enum conf_persistence_mode persistence_mode; /**< default sync */
	uint32_t persistence_fsync_interval_ms; /**< group commit: longest wait, default 2 */
	uint32_t persistence_fsync_bytes;    /**< group commit: bytes pending, default 1 MiB */
	bool persistence_start_empty;        /**< move the old store aside, start empty */

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

	/* ---- parser state: written by this part only, read-only for others ---- */
	bool listeners_explicit;             /**< a `listener` line replaced the default one */
	bool default_listener_kept;          /**< `port`/`bind_address` keep the default listener */
	bool default_listener_touched;       /**< a listener key came before any `listener` */
	bool allow_anonymous_set;            /**< allow_anonymous was given explicitly */
	bool gateway_set;                    /**< gateway was given explicitly */
	bool log_type_set;                   /**< a Mosquitto `log_type` line was seen */
};

/** Default port of a plain MQTT listener (the embedded default listener). */
#define CONF_DEFAULT_PORT 1883
/** Port the docs recommend for a TLS listener (`listener 8883` with certfile/keyfile). */
#define CONF_DEFAULT_TLS_PORT 8883

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * Fill every field with its default (the embedded default configuration: one plain listener
 * on 1883, a net_tap port tachyon0 with 10.77.0.2/24, persistence on in sync mode ...).
 *
 * @param c  configuration to overwrite entirely (memset first, so padding is zero too).
 */
void conf_defaults(struct tachyon_config *c);

/**
 * Parse a config file on top of @p c (call conf_defaults first). Lines apply in order; a later
 * line for the same key wins, as in Mosquitto. `include_dir` lines in this file load the
 * directory's `*.conf` files (Mosquitto's order) at that point.
 * Does not call conf_validate(): do that once all sources (file, --set) are applied.
 *
 * @param c       configuration to update; on error it holds the lines before the bad one.
 * @param path    file to read; copied into c->source_path.
 * @param err     receives "path:line: message" (or "path: <strerror>") on error.
 * @param errlen  size of @p err (CONF_ERR_MAX is enough for every message).
 * @return 0, or -1 on the first bad line or an unreadable file.
 */
int conf_load_file(struct tachyon_config *c, const char *path, char *err, size_t errlen);

/**
 * Parse config text from memory, exactly as conf_load_file() parses a file (the fuzz target
 * and the tests use it). The buffer need not be NUL-terminated; a NUL byte inside is an error.
 *
 * @param name  name used in messages ("name:line: ..."), e.g. the file it came from.
 * @param buf   the text, @p len bytes.
 * @return 0, or -1 with "name:line: message" in @p err.
 */
int conf_load_buffer(struct tachyon_config *c, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen);

/**
 * Apply one `key value` setting (command-line override or run-time `config set`), with the
 * same validation as the file. @p where names the origin in messages ("--set", "mgmt").
 * It behaves as one more line at the end of the file: a listener key applies to the last
 * `listener` section, `listener` opens a new one. It does not check whether the key may
 * change at run time: see conf_set_runtime().
 *
 * @return 0, or -1 with "where: key: message" in @p err (c unchanged on error).
 */
int conf_set(struct tachyon_config *c, const char *key, const char *value, const char *where,
	     char *err, size_t errlen);

/**
 * conf_set() for a running broker: refuses keys that cannot change at run time
 * ("<key>: cannot change at run time; edit the config file and restart").
 * @return 0, or -1 with a message in @p err (c unchanged on error).
 */
int conf_set_runtime(struct tachyon_config *c, const char *key, const char *value,
		     const char *where, char *err, size_t errlen);

/**
 * Final consistency checks after all sources are applied, and derived values: a listener's
 * `tls` flag (certfile and keyfile both set), allow_anonymous's default (false once a
 * password_file is set, unless given), the gateway's default (the tap's kernel side).
 * Checks: TLS options need certfile+keyfile, require_certificate needs cafile or capath,
 * use_identity_as_username needs require_certificate, a listener address must be ours,
 * pci_device and memif_socket not both set,
 * our address inside the tap subnet and not the kernel's (tap ports only), gateway in our subnet,
 * tcp_rto_min_ms <= tcp_rto_max_ms, tcp_echo_port not a listener port, persistence_location
 * set when persistence is on. It does NOT check that files (password_file ...) are readable.
 *
 * @return 0, or -1 with a message naming the listener or keys in @p err.
 */
int conf_validate(struct tachyon_config *c, char *err, size_t errlen);

/** @return true when @p c selects the embedded default's net_tap port (neither a PCI device
 *  nor a memif socket). */
/** The receive pool's size per worker: rx_mbufs, or when 0 a quarter of mbufs, at least
 *  2047 (the port's receive ring holds 1024; the rest is room for bursts and what TLS and
 *  TCP's fallback take). */
static inline uint32_t conf_rx_mbufs(const struct tachyon_config *c)
{
	if (c->rx_mbufs != 0)
		return c->rx_mbufs;
	return c->mbufs / 4 > 2047 ? c->mbufs / 4 : 2047;
}

static inline bool conf_port_is_tap(const struct tachyon_config *c)
{
	return c->pci_device[0] == '\0' && c->memif_socket[0] == '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Reading values back, and the key registry (for the management socket and the docs)         */
/* ------------------------------------------------------------------------------------------ */

/**
 * A setting's current value as text, in the config file's syntax (so conf_set(key, text)
 * gives the same value back). A listener key reads the last listener (the current section),
 * like conf_set; a per-listener value that inherits shows the inherited (effective) value.
 *
 * @return 0; -1 with errno ENOENT (unknown or unsupported key, or a key with no single value
 *         such as include_dir or log_type), or ENOSPC (@p buf too small; it holds a prefix).
 */
int conf_get(const struct tachyon_config *c, const char *key, char *buf, size_t len);

/** conf_get() for listener @p idx (0..n_listeners-1); errno EINVAL for a bad index. */
int conf_get_listener(const struct tachyon_config *c, unsigned idx, const char *key, char *buf,
		      size_t len);

/** Effective allow_anonymous of a listener (its own with per_listener_settings, else global). */
bool conf_listener_allow_anonymous(const struct tachyon_config *c, unsigned idx);
/** Effective max_connections of a listener: -1 = unlimited. */
int64_t conf_listener_max_connections(const struct tachyon_config *c, unsigned idx);
/** Effective max_topic_alias of a listener (0..65535). */
uint16_t conf_listener_max_topic_alias(const struct tachyon_config *c, unsigned idx);
/** Effective password_file of a listener ("" = none). */
const char *conf_listener_password_file(const struct tachyon_config *c, unsigned idx);
/** Effective acl_file of a listener ("" = none). */
const char *conf_listener_acl_file(const struct tachyon_config *c, unsigned idx);
/** Effective allow_zero_length_clientid of a listener. */
bool conf_listener_allow_zero_length_clientid(const struct tachyon_config *c, unsigned idx);

/**
 * Write the whole configuration as a config file that conf_load_buffer() reads back to the
 * same settings (`tachyond --print-config`).
 * @return 0, or -1 if writing to @p f failed (errno from stdio).
 */
int conf_write(const struct tachyon_config *c, FILE *f);

/** What kind of value a key takes. */
enum conf_key_type {
	CONF_TYPE_BOOL,        /**< true | false */
	CONF_TYPE_INT,         /**< decimal integer within [min, max] */
	CONF_TYPE_DOUBLE,      /**< decimal fraction within [min, max] */
	CONF_TYPE_STRING,      /**< the rest of the line (paths, lists) */
	CONF_TYPE_ENUM,        /**< one word from a fixed list */
	CONF_TYPE_IPV4,        /**< a.b.c.d */
	CONF_TYPE_SPECIAL,     /**< its own syntax (listener, address, include_dir, log_type ...) */
	CONF_TYPE_UNSUPPORTED, /**< a Mosquitto key Tachyon does not support yet: always refused */
};

/** Where a key applies. */
enum conf_key_scope {
	CONF_SCOPE_GLOBAL,       /**< the whole broker */
	CONF_SCOPE_LISTENER,     /**< the current `listener` section only */
	CONF_SCOPE_EITHER,       /**< before any `listener`: every listener's default;
				  *   after one: that listener */
	CONF_SCOPE_PER_LISTENER_SETTINGS, /**< global, or per listener with per_listener_settings true */
};

/** Public description of one key of the registry. */
struct conf_key_info {
	const char *name;          /**< key as written in the file (a prefix if @p prefix) */
	enum conf_key_type type;   /**< kind of value */
	enum conf_key_scope scope; /**< where it applies */
	bool mosquitto;            /**< true: a Mosquitto key; false: Tachyon's own */
	bool supported;            /**< false: known Mosquitto key that Tachyon refuses */
	bool runtime;              /**< true: may change at run time (conf_set_runtime) */
	bool prefix;               /**< name is a prefix (e.g. "bridge_"): any key starting so */
	const char *allowed;       /**< allowed values as shown in messages ("0..65535") */
	const char *help;          /**< one line */
};

/** Number of entries in the registry (supported and refused keys). */
unsigned conf_key_count(void);

/** Entry @p i of the registry (0..conf_key_count()-1), NULL past the end. */
const struct conf_key_info *conf_key_at(unsigned i);

/** Look a key up by name (prefix entries match too). @return NULL if unknown. */
const struct conf_key_info *conf_key_info(const char *key);

/** True if @p key is a supported key that may change at run time. */
bool conf_key_runtime(const char *key);

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                               */
/* ------------------------------------------------------------------------------------------ */

/**
 * tachyond's command line: conf_defaults(), then `-c/--config FILE` (at most once), then every
 * `--set key=value` in order, then conf_validate(). Options:
 *   -c, --config FILE     config file (none: the embedded default)
 *   --set KEY=VALUE       override one setting after the file (repeatable)
 *   --check               load and validate, print "configuration OK", exit
 *   --print-config        print the effective configuration as a config file, exit
 *   -h, --help            print the usage (conf_usage) to stdout, exit
 *   --version             print "tachyond <version>", exit
 * Long options also take `--opt=value`. Does not use getopt (no global state; callable twice).
 *
 * @return 0: run with @p c; 1: done (help/version/check/print written to stdout), exit 0;
 *         -1: error with a message in @p err, exit non-zero.
 */
int conf_from_args(struct tachyon_config *c, int argc, char **argv, char *err, size_t errlen);

/** Print tachyond's usage (the options of conf_from_args) to @p f. */
void conf_usage(FILE *f);

#endif /* TACHYON_CONF_H */
