/**
 * @file lg.h
 * tachyon-loadgen: many MQTT clients in one DPDK process, on one lcore, polling.
 *
 * Data flow: rx burst (net_memif client port facing tachyond, or a net_tap port facing a
 * kernel-socket broker) -> net_input (lib/net) -> tcp_input (lib/tcp) -> lg_client's data
 * callback -> mqtt_decoder_feed (lib/mqtt) -> the client's reaction (SUBSCRIBE after
 * CONNACK, PUBACK after a QoS 1 PUBLISH, PUBREC/PUBCOMP for QoS 2, PUBREL after a PUBREC,
 * statistics). The other way: lg_client encodes with
 * mqtt_encode into mbufs -> tcp_send -> tcp_poll flushes -> net_ip_output -> TX buffer -> tx
 * burst. Every connection uses the project's own TCP active open (tcp_connect).
 *
 * The run has phases (lg_main.c): connect (at --connect-rate, at most --connect-window
 * handshakes outstanding) until every client is connected (and subscribed), then warm-up and
 * measurement (publishers send), then a drain (until every message published has arrived
 * or --drain seconds passed), then DISCONNECT and the report.
 *
 * Payload of every PUBLISH: publisher id (u32), sequence number (u32, from 0), send time
 * (u64 ns, this process's monotonic clock: publisher and subscriber share it, so latency
 * needs no clock sync), then padding up to --payload bytes. A subscriber keeps the next
 * sequence number it expects from each publisher: a higher one counts a gap, a lower one a
 * duplicate (MQTT keeps one publisher's messages on one topic in order). Lost = messages
 * published x subscribers each message reaches (lg.fan: every subscriber in fanout, one
 * in fanin, p2p and shared) - messages counted.
 *
 * A shared subscription spreads one publisher's messages over the group's members, so no
 * member sees a contiguous sequence: there the check is group-wide, a bitmap per publisher
 * of the sequence numbers any member received (a second arrival is a duplicate), and loss
 * is what no member received.
 *
 * Error convention: functions return 0 or a negative errno; the main program reports to
 * stderr and exits 1 (start-up), 2 (usage) or 3 (a check failed: loss, duplicates, clients
 * that never connected or were dropped).
 *
 * Thread-safety: none needed: one lcore does everything.
 */
#ifndef TACHYON_LG_H
#define TACHYON_LG_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt/mqtt.h"
#include "net/net.h"
#include "net/net_txq.h"
#include "tcp/tcp.h"

/** Frames allowed to wait for room in the port's TX ring, at most (see lg_main.c). A
 * fan-out to 100k subscribers is 100k ACKs at once, and what the ring does not take is kept
 * rather than dropped (a dropped ACK can cost the broker a retransmission timeout). */
#define LG_TX_BACKLOG_CAP 4096

/** Bytes at the start of every payload: publisher id, sequence, send time. */
#define LG_PAYLOAD_MIN 16

enum lg_scenario {
	LG_FANOUT = 0,    /**< P publishers, N subscribers, one topic */
	LG_FANIN,         /**< N publishers on N topics, one subscriber on a wildcard */
	LG_CONNECTIONS,   /**< N idle clients held open with keep alive */
	LG_P2P,           /**< N pairs: publisher i on T/i, subscriber i on T/i */
	LG_SHARED,        /**< N publishers on T/i, S subscribers in $share/<group>/T/+ */
};

/** Options (command line). */
struct lg_opts {
	enum lg_scenario scenario;
	unsigned pubs;             /**< publishers (fanout), default 1 */
	unsigned subs;             /**< subscribers (fanout; shared: group members), default
				    *   100 (shared: 2) */
	bool subs_set;             /**< -S given */
	unsigned conns;            /**< clients (connections, fanin publishers), default 100 */
	uint8_t version;           /**< MQTT 4 (3.1.1) or 5 */
	uint8_t qos;               /**< 0, 1 or 2 */
	uint32_t payload;          /**< bytes, >= LG_PAYLOAD_MIN */
	double rate;               /**< publishes/s over all publishers, 0 = window-limited */
	unsigned inflight;         /**< window per publisher: messages published but not yet
				    *   at every subscriber (end to end, so QoS 0 too), and at
				    *   QoS 1 also PUBLISH not yet acknowledged */
	double duration_s;         /**< measurement */
	double warmup_s;           /**< before measurement: sent, checked, not timed */
	double connect_rate;       /**< new connections/s, 0 = unlimited */
	unsigned connect_window;   /**< handshakes (TCP + CONNACK/SUBACK) outstanding at most */
	double connect_timeout_s;  /**< give up waiting for all to connect */
	double drain_s;            /**< after publishing: wait this long at most for stragglers */
	uint16_t keepalive;        /**< seconds, MQTT keep alive */
	unsigned delayed_ack_ms;   /**< TCP: ACK every 2nd segment or after this; 0 = at once */
	unsigned drop_every;       /**< fault injection: subscribers discard every Kth message */
	unsigned dup_every;        /**< fault injection: publishers send every Kth message twice
				    *   (the copy under a new packet id, as a broker that
				    *   delivered twice would), so subscribers see a duplicate */
	char topic[128];
	char share_group[32];      /**< shared: the group name (default "lg") */
	/* addresses */
	uint32_t src_ip;           /**< first source address */
	uint8_t prefix_len;
	unsigned n_src;            /**< source addresses src_ip .. src_ip + n_src - 1 */
	uint32_t gateway;          /**< 0 = none (target on-link) */
	uint32_t dst_ip;
	uint16_t dst_port;
	/* port and EAL */
	char memif[108];           /**< memif socket (role client), or "" */
	unsigned memif_rsize;      /**< log2 of the memif ring size (we are the client) */
	char tap[16];              /**< tap interface name, or "" */
	uint32_t tap_kernel_ip;    /**< kernel side of the tap (0 = leave unconfigured) */
	char file_prefix[64];
	unsigned memory_mb;
	unsigned mbufs;
	char eal_args[256];
	int cpu;                   /**< the lcore's CPU; -1: the least busy one */
	bool json;
	bool verbose;
};

/** Histogram of latencies in ns: log2 buckets split in 32 linear steps (~3% resolution). */
#define LG_HIST_SUB 32
#define LG_HIST_BUCKETS (64 * LG_HIST_SUB)
struct lg_hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t b[LG_HIST_BUCKETS];
};

void lg_hist_add(struct lg_hist *h, uint64_t v);
/** The value at quantile @p q (0..1): the upper edge of its bucket, capped by the max. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/** Run statistics. */
struct lg_stats {
	uint64_t connects_started;
	uint64_t connected;        /**< CONNACK 0 received (and, for subscribers, SUBACK ok) */
	uint64_t connect_failed;   /**< refused, reset or timed out before being connected */
	uint64_t dropped;          /**< connected clients closed by the peer before the end */
	uint64_t first_connect_ns, all_connected_ns;
	uint64_t published;        /**< PUBLISH handed to TCP */
	uint64_t acked;            /**< PUBACKs (QoS 1) or PUBCOMPs (QoS 2) received */
	uint64_t pubrecs;          /**< QoS 2: PUBRECs received by publishers */
	uint64_t pubrels;          /**< QoS 2: PUBRELs received by subscribers */
	uint64_t injected_dups;    /**< copies sent by --dup-every */
	uint64_t delivered;        /**< PUBLISH received by subscribers (counted) */
	uint64_t delivered_timed;  /**< of which sent after the warm-up (in the histogram) */
	uint64_t injected_drops;   /**< discarded by --drop-every */
	uint64_t dups;             /**< a sequence number counted a second time */
	uint64_t qos2_open;        /**< QoS 2, subscribers: PUBREC sent, PUBREL not yet here;
				    *   publishers: PUBREL sent, PUBCOMP not yet here */
	uint64_t gaps;             /**< sequence numbers skipped (lost, or reordered) */
	uint64_t pings;            /**< PINGRESPs */
	uint64_t bad_packets;      /**< undecodable input or unexpected packets */
	uint64_t send_fail;        /**< tcp_send refused (-ENOBUFS): retried */
	uint64_t tx_drops;         /**< frames dropped: the port's ring and the backlog full */
	uint64_t tx_refused;       /**< frames refused (-EBUSY) with the backlog full: TCP resends */
	uint64_t tx_drops_run;     /**< tx_drops when the teardown began (the teardown's RST
				    *   and FIN bursts are the rest) */
	uint64_t rto_run;          /**< our TCP's retransmission timeouts, likewise */
	uint64_t preempted;        /**< publishing (warm-up and measurement): the generator's
				    *   involuntary context switches (another task took its CPU) */
	uint64_t run_delay_ns;     /**< and its time waiting for the CPU meanwhile */
	uint64_t pub_start_ns, pub_end_ns, measure_start_ns;
	uint64_t first_timed_ns, last_timed_ns; /**< first/last timed delivery */
	struct lg_hist lat;
};

/** Shared subscriptions: which sequence numbers of one publisher any member received. */
struct lg_seen {
	uint64_t *bits;
	uint32_t nwords;           /**< capacity in 64-bit words (grows by doubling) */
};

/** One MQTT client. */
struct lg_client {
	struct tcp_conn *conn;
	struct mqtt_decoder dec;
	uint8_t *rbuf;             /**< the decoder's reassembly buffer */
	uint32_t id;               /**< index in the client table */
	uint8_t role;              /**< enum lg_role */
	uint8_t state;             /**< enum lg_cstate */
	bool write_blocked;        /**< tcp_send said -ENOBUFS: wait for writable */
	uint16_t next_pid;         /**< QoS 1 packet identifiers */
	uint32_t pub_index;        /**< publishers: 0..P-1 (payload's publisher id) */
	uint32_t seq;              /**< publishers: next sequence number */
	uint32_t inflight;         /**< publishers: PUBLISH not yet acknowledged (QoS 2: not
				    *   yet PUBCOMP) */
	uint64_t accounted;        /**< publishers: (message, subscriber) pairs that arrived,
				    *   were discarded by --drop-every, or are known lost (gap) */
	uint32_t recv_count;       /**< subscribers: messages received (for --drop-every) */
	uint32_t *expect;          /**< subscribers: next sequence expected per publisher (p2p:
				    *   one entry, its own publisher's; shared: unused) */
	uint64_t next_pub_ns;      /**< publishers: pacing */
	uint64_t last_tx_ns;       /**< keep alive */
	uint64_t start_ns;         /**< connect start */
};

enum lg_role { LG_ROLE_PUB = 0, LG_ROLE_SUB, LG_ROLE_IDLE };
enum lg_cstate {
	LG_C_INIT = 0, LG_C_TCP, LG_C_MQTT, LG_C_SUBSCRIBING, LG_C_READY, LG_C_CLOSED,
};

/** The generator: one lcore's whole state. */
struct lg {
	struct lg_opts o;
	struct net_if nif;
	struct tcp_stack *tcp;
	struct rte_mempool *pool;
	uint16_t port_id;
	struct rte_mbuf *tx_buf[64];
	uint16_t tx_n;
	struct net_txq txq;           /**< frames the port did not take yet, sent first next
				       *   time: min(LG_TX_BACKLOG_CAP, mbufs / 4) at most */
	uint64_t now_ns;
	struct lg_client *clients;
	unsigned n_clients;
	unsigned n_pubs;           /**< publishers: clients[n_subs .. n_subs + n_pubs - 1] */
	unsigned n_subs;           /**< subscribers: clients[0 .. n_subs - 1] */
	unsigned fan;              /**< subscribers each message reaches */
	uint32_t *expect_store;    /**< subscribers' per-publisher expectations */
	struct lg_seen *seen;      /**< shared: per publisher, sequence numbers received */
	uint16_t port_base;        /**< first local port (random per run) */
	unsigned next_connect;     /**< next client to open */
	unsigned connecting;       /**< handshakes outstanding */
	bool publishing;           /**< publishers may send */
	bool closing;              /**< final DISCONNECTs sent: closes are expected */
	uint8_t *scratch;          /**< encode buffer */
	uint32_t scratch_cap;
	struct lg_stats st;
};

/** Monotonic clock, ns (the one every timestamp in the payload uses). */
uint64_t lg_now_ns(void);

/** Prepare the client table for @p g->o (allocations). @return 0 or -ENOMEM. */
int lg_clients_init(struct lg *g);
void lg_clients_fini(struct lg *g);
/** Open client @p c (TCP active open; CONNECT follows when connected). @return 0 or -errno. */
int lg_client_open(struct lg *g, struct lg_client *c);
/** Publisher turn: send what the window and the pacing allow. */
void lg_client_publish(struct lg *g, struct lg_client *c);
/** Keep alive: PINGREQ when nothing was sent for keepalive/2. */
void lg_client_keepalive(struct lg *g, struct lg_client *c);
/** Send DISCONNECT (the broker then closes the connection). */
void lg_client_disconnect(struct lg *g, struct lg_client *c);
/** Reset the connection (RST) if it is still open. */
void lg_client_abort(struct lg *g, struct lg_client *c);

#endif /* TACHYON_LG_H */
