/**
 * @file convert.c
 * stats/status JSON -> Prometheus metrics (see convert.h). Layout of this file: the curated
 * tables (one per stats group), the generic rules, the walkers (top level, workers, ports,
 * arrays of named items), then conv_metrics().
 *
 * How a member of a stats object becomes a sample:
 *  1. the group's table names it: the entry says the metric, its type and HELP, and how to
 *     read the member (a number; an object of numbers whose keys become a label; a
 *     histogram; a string that becomes an info label; or "not a metric" for identities);
 *  2. else the group's label rule matches (`<a>_drop_<b>` in net, `lim_<b>` in mqtt): one
 *     shared counter with a label naming the member (`reason="<a>_<b>"`, `limit="<b>"`);
 *  3. else a number or bool gets a generic name (conv__generic(): units from the suffix,
 *     gauge or counter from the suffix, `_total` for counters);
 *  4. anything else (unknown nested objects, arrays, strings) is ignored.
 * Group labels (worker, port, ...) come from the walker; an entry adds at most one more.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

/* ---- tables ------------------------------------------------------------------------- */

/** How a table entry reads its member. */
enum conv__kind {
	CV_SKIP,   /**< an identity or text member: not a metric */
	CV_NUM,    /**< a number (or bool): one sample; optional fixed extra label */
	CV_BYKEY,  /**< an object {k: number}: one sample per member, label lname = k minus prefix */
	CV_HIST,   /**< a histogram object: {"buckets":[[le,n],...],"sum":s,"count":n,...} */
	CV_INFO,   /**< a string: gauge 1 with label lname = the string */
};

/** One curated member. */
struct conv__map {
	const char *key;       /**< member name in the stats object */
	enum conv__kind kind;
	enum prom_type type;
	const char *metric;    /**< full metric name */
	const char *help;
	const char *lname;     /**< extra label name, or NULL */
	const char *lvalue;    /**< CV_NUM: the fixed label value; CV_BYKEY: prefix stripped from keys */
	double div;            /**< numbers are divided by it (0 means 1), e.g. 1e9 for ns */
};

#define SKIP(k)                      { k, CV_SKIP, PROM_UNTYPED, NULL, NULL, NULL, NULL, 0 }
#define NUM(k, t, m, h)              { k, CV_NUM, t, m, h, NULL, NULL, 0 }
#define NUMS(k, t, m, h, s)          { k, CV_NUM, t, m, h, NULL, NULL, s }
#define NUML(k, t, m, h, ln, lv)     { k, CV_NUM, t, m, h, ln, lv, 0 }
#define BYKEY(k, t, m, h, ln, strip) { k, CV_BYKEY, t, m, h, ln, strip, 0 }
#define HIST(k, m, h)                { k, CV_HIST, PROM_HISTOGRAM, m, h, NULL, NULL, 0 }
#define INFO(k, m, h, ln)            { k, CV_INFO, PROM_GAUGE, m, h, ln, NULL, 0 }
#define C PROM_COUNTER
#define G PROM_GAUGE

/**
 * A group: one kind of stats object, with its table and its fallbacks. The label rule maps a
 * family of members onto one metric: <a><infix><b> gives label "<a>_<b>" (net's
 * `ip_drop_checksum` -> reason="ip_checksum"); with the infix at the start, <infix><b>
 * gives "<b>" (mqtt's `lim_inflight` -> limit="inflight").
 */
struct conv__group {
	const char *prefix;          /**< generic names: prefix + member name */
	const char *what;            /**< generic HELP: "<what> '<member>' ..." */
	const struct conv__map *map;
	size_t n;
	const char *rule_infix;      /**< the label rule's pattern, or NULL */
	const char *rule_metric;     /**< its counter */
	const char *rule_help;
	const char *rule_label;      /**< its label name */
};

#define GROUP(prefix, what, map) \
	{ prefix, what, map, sizeof(map) / sizeof(map[0]), NULL, NULL, NULL, NULL }

/* Top level of the stats reply: only the numbers; the sections have walkers of their own. */
static const struct conv__map conv__top_map[] = {
	SKIP("ok"),
	NUM("uptime_s", G, "tachyon_uptime_seconds", "Seconds since tachyond started."),
};

/* workers[].loop: the worker's poll loop (dataplane/dp_worker.h). */
static const struct conv__map conv__loop_map[] = {
	NUM("loops", C, "tachyon_worker_loop_iterations_total", "Poll loop iterations of the worker."),
	NUM("rx_pkts", C, "tachyon_worker_rx_packets_total", "Frames the worker received from its NIC queue."),
	NUM("rx_bursts", C, "tachyon_worker_rx_bursts_total", "Non-empty receive bursts."),
	NUM("tx_pkts", C, "tachyon_worker_tx_packets_total", "Frames the NIC queue accepted for transmission."),
	NUML("tx_drops", C, "tachyon_net_dropped_packets_total",
	     "Frames dropped by the worker's network layers, by reason (each dropped frame is counted once).",
	     "reason", "tx_queue_full"),
	NUM("tx_flushes", C, "tachyon_worker_tx_bursts_total", "Transmit bursts handed to the NIC queue."),
	NUM("tx_refused", C, "tachyon_worker_tx_refused_packets_total", "Frames refused to TCP because the NIC queue and the TX backlog were full (TCP sends them at its next poll; nothing is dropped)."),
	NUM("rx_kicks", C, "tachyon_worker_rx_kicks_total", "net_tap: times the worker raised the PMD's SIGIO because its queue held frames that polls did not return (a receive that had stalled after the mbuf pool ran out)."),
	NUM("preempted", C, "tachyon_worker_preempted_total", "Involuntary context switches of the worker thread: times the OS gave its CPU to another task (a worker on an isolated core sees none)."),
	NUMS("cpu_wait_us", C, "tachyon_worker_cpu_wait_seconds_total", "Time the worker thread waited, runnable, for its CPU while other tasks ran there (schedstat).", 1e6),
	NUM("tx_backlogged", C, "tachyon_worker_tx_backlogged_packets_total", "Frames a full NIC queue refused at first and the worker kept in its TX backlog (sent later, in order)."),
	NUM("sleeps", C, "tachyon_worker_idle_sleeps_total", "Times the worker went to sleep for lack of work (idle back-off)."),
	NUM("wakeups_rx", C, "tachyon_worker_rx_wakeups_total", "Sleeps ended by a receive interrupt."),
	NUML("arp_shared_out", C, "tachyon_worker_arp_bindings_shared_total",
	     "ARP bindings passed between workers, by direction.", "direction", "out"),
	NUML("arp_shared_in", C, "tachyon_worker_arp_bindings_shared_total",
	     "ARP bindings passed between workers, by direction.", "direction", "in"),
	NUM("arp_share_drops", C, "tachyon_worker_arp_bindings_share_dropped_total",
	    "ARP bindings not passed to another worker because its ring was full."),
};

/* workers[].net: Ethernet, ARP, IPv4, ICMP (lib/net/net.h). Every drop counter is
 * <layer>_drop_<why> and falls to the label rule; the rest is listed here. */
static const struct conv__map conv__net_map[] = {
	NUM("rx_frames", C, "tachyon_net_rx_frames_total", "Frames given to the network layers."),
	NUM("rx_bytes", C, "tachyon_worker_rx_bytes_total", "Bytes of the frames the worker received."),
	NUM("tx_frames", C, "tachyon_net_tx_frames_total", "Frames the network layers sent."),
	NUM("tx_bytes", C, "tachyon_worker_tx_bytes_total", "Bytes of the frames the worker sent."),
	NUML("arp_rx_request", C, "tachyon_net_arp_packets_total", "ARP packets, by direction and type.", "kind", "rx_request"),
	NUML("arp_rx_reply", C, "tachyon_net_arp_packets_total", "ARP packets, by direction and type.", "kind", "rx_reply"),
	NUML("arp_tx_request", C, "tachyon_net_arp_packets_total", "ARP packets, by direction and type.", "kind", "tx_request"),
	NUML("arp_tx_reply", C, "tachyon_net_arp_packets_total", "ARP packets, by direction and type.", "kind", "tx_reply"),
	/* A conflict is a dropped frame like the others, but one an operator must see: it
	 * keeps its own reason in the shared drop counter. */
	NUML("arp_conflict", C, "tachyon_net_dropped_packets_total",
	     "Frames dropped by the worker's network layers, by reason (each dropped frame is counted once).",
	     "reason", "arp_conflict"),
	NUM("arp_cache_evict", C, "tachyon_net_arp_cache_evictions_total", "Live ARP entries replaced for lack of room."),
	NUML("ip_rx", C, "tachyon_net_ip_packets_total", "IPv4 datagrams accepted (rx) and built (tx).", "direction", "rx"),
	NUML("ip_tx", C, "tachyon_net_ip_packets_total", "IPv4 datagrams accepted (rx) and built (tx).", "direction", "tx"),
	NUM("icmp_rx_echo", C, "tachyon_net_icmp_echo_requests_total", "ICMP echo requests answered."),
	NUM("icmp_tx_echo_reply", C, "tachyon_net_icmp_echo_replies_total", "ICMP echo replies sent."),
	NUM("l4_rx", C, "tachyon_net_l4_rx_packets_total", "Segments handed to the transport (TCP)."),
};

/* workers[].l4.tcp: the userspace TCP stack (lib/tcp/tcp.h, struct tcp_stats). */
#define TCP_DROP_HELP "TCP segments dropped on input, by reason."
static const struct conv__map conv__tcp_map[] = {
	NUM("segs_in", C, "tachyon_tcp_segments_received_total", "TCP segments received."),
	NUM("segs_out", C, "tachyon_tcp_segments_sent_total", "TCP segments sent, retransmissions included."),
	NUM("bytes_in", C, "tachyon_tcp_received_bytes_total", "Payload bytes delivered in order to applications."),
	NUM("bytes_out", C, "tachyon_tcp_sent_bytes_total", "Payload bytes sent, retransmissions included."),
	NUM("retransmits", C, "tachyon_tcp_retransmitted_segments_total", "TCP segments retransmitted."),
	NUM("rto_expired", C, "tachyon_tcp_rto_expirations_total", "Retransmission timer expiries."),
	NUM("out_link_busy", C, "tachyon_tcp_output_link_busy_total", "Segments held back because the port's transmit queue and the worker's backlog were full (sent at the next poll; nothing lost)."),
	NUM("coalesced", C, "tachyon_tcp_coalesced_writes_total", "Small writes copied into the send queue's last buffer instead of queued as a buffer of their own."),
	NUM("gathered", C, "tachyon_tcp_gathered_writes_total", "Small writes copied into a fresh 2 KiB buffer because the send queue's last one was full."),
	NUM("tx_pool_fallbacks", C, "tachyon_tcp_tx_pool_fallbacks_total", "Header or clone buffers taken from the 2 KiB pool because the small send pool was empty."),
	NUM("spurious_rtos", C, "tachyon_tcp_spurious_rto_total", "Retransmission timer expiries found spurious by the timestamps (the ACK answered the original segment); the congestion window was restored."),
	NUM("fast_retransmits", C, "tachyon_tcp_fast_recoveries_total", "Entries into fast retransmit / fast recovery."),
	NUM("dup_acks", C, "tachyon_tcp_duplicate_acks_received_total", "Duplicate ACKs received."),
	NUM("ooo_segs", C, "tachyon_tcp_out_of_order_segments_total", "Segments queued out of order."),
	NUML("ooo_drops", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "out_of_order_full"),
	NUML("cksum_errors", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "checksum"),
	NUML("malformed", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "malformed"),
	NUML("paws_drops", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "paws"),
	NUML("out_of_window", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "out_of_window"),
	NUML("listen_drops", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "listen_full"),
	NUML("mem_drops", C, "tachyon_tcp_dropped_segments_total", TCP_DROP_HELP, "reason", "no_mbufs"),
	NUM("resets_in", C, "tachyon_tcp_resets_received_total", "Acceptable RSTs received (each closed a connection)."),
	NUM("resets_out", C, "tachyon_tcp_resets_sent_total", "RSTs sent."),
	NUM("challenge_acks", C, "tachyon_tcp_challenge_acks_sent_total", "RFC 5961 challenge ACKs sent."),
	NUM("syncookies_sent", C, "tachyon_tcp_syncookies_sent_total", "SYN-ACKs sent carrying a SYN cookie."),
	NUM("syncookies_ok", C, "tachyon_tcp_syncookies_valid_total", "Connections established from a valid SYN cookie."),
	NUM("syncookies_bad", C, "tachyon_tcp_syncookies_invalid_total", "ACKs to a listener carrying an invalid SYN cookie."),
	NUM("zero_window_probes", C, "tachyon_tcp_zero_window_probes_sent_total", "Zero-window probes sent."),
	NUM("conns_opened", C, "tachyon_tcp_connections_opened_total", "TCP connections that reached ESTABLISHED."),
	NUM("conns_closed", C, "tachyon_tcp_connections_closed_total", "TCP connections freed, for any reason."),
	NUM("conns_timed_out", C, "tachyon_tcp_connections_timed_out_total", "TCP connections dropped by the retransmission limit."),
	NUM("conns_cur", G, "tachyon_tcp_connections", "TCP connections currently held (all states, or by state when the stack reports states)."),
	BYKEY("states", G, "tachyon_tcp_connections", "TCP connections currently held (all states, or by state when the stack reports states).", "state", NULL),
	NUM("out_nobufs", C, "tachyon_tcp_send_failures_total", "Segments not sent: mbuf pool empty or IP output failed."),
};

/* ports[]: DPDK's rte_eth_stats. */
static const struct conv__map conv__port_map[] = {
	SKIP("id"),
	SKIP("name"),
	NUM("ipackets", C, "tachyon_port_rx_packets_total", "Packets received by the port (DPDK ipackets)."),
	NUM("opackets", C, "tachyon_port_tx_packets_total", "Packets sent by the port (DPDK opackets)."),
	NUM("ibytes", C, "tachyon_port_rx_bytes_total", "Bytes received by the port (DPDK ibytes)."),
	NUM("obytes", C, "tachyon_port_tx_bytes_total", "Bytes sent by the port (DPDK obytes)."),
	NUM("imissed", C, "tachyon_port_rx_missed_total", "Packets the NIC dropped because the receive queues were full (DPDK imissed)."),
	NUM("ierrors", C, "tachyon_port_rx_errors_total", "Erroneous packets received (DPDK ierrors)."),
	NUM("oerrors", C, "tachyon_port_tx_errors_total", "Failed transmissions (DPDK oerrors)."),
	NUM("rx_nombuf", C, "tachyon_port_rx_mbuf_allocation_errors_total", "Receive mbuf allocation failures (DPDK rx_nombuf)."),
};

/* mqtt: the broker (top level of stats; lib/broker struct brk_counters, summed over the
 * workers). The schema is docs/operations.md's. A by-key member (by QoS, by reason) may also
 * be a plain number: it is then one sample without that label. Pairs of keys that name the
 * same metric (msgs_received / messages_received) are the broker's name and the name the
 * schema first proposed; a broker sends one of them. */
#define MQ_RX_HELP "PUBLISH packets received from clients (by QoS when reported per QoS)."
#define MQ_TX_HELP "PUBLISH packets sent to clients (by QoS when reported per QoS)."
#define MQ_DROP_HELP "Messages the broker dropped instead of delivering (queue full, too large, expired; by reason when reported per reason)."
#define MQ_LIM_HELP "Times a configured limit was hit, by limit."
#define AUTH_HELP "CONNECTs refused by authentication, by reason."
#define ACL_HELP "Operations refused by the ACLs, by access (publish, subscribe, read: a delivery not made, will)."
static const struct conv__map conv__mqtt_map[] = {
	NUM("clients_connected", G, "tachyon_mqtt_clients_connected", "MQTT clients currently connected (past CONNACK)."),
	NUM("clients_maximum", G, "tachyon_mqtt_clients_connected_max", "Highest number of MQTT clients connected at once since start."),
	SKIP("clients_total"), /* sessions known: exported as tachyon_mqtt_sessions{state} */
	NUM("connects", C, "tachyon_mqtt_connects_total", "CONNECT packets accepted."),
	BYKEY("connects_refused", C, "tachyon_mqtt_connects_refused_total", "CONNECT packets answered with a failure (by reason when reported per reason).", "reason", NULL),
	NUM("takeovers", C, "tachyon_mqtt_session_takeovers_total", "Sessions taken over by a new connection with the same client id."),
	BYKEY("disconnects", C, "tachyon_mqtt_disconnects_total", "Network connections of clients ended, by reason.", "reason", NULL),
	NUM("protocol_errors", C, "tachyon_mqtt_protocol_errors_total", "Connections closed for bad input."),
	NUM("keepalive_timeouts", C, "tachyon_mqtt_keepalive_timeouts_total", "Connections closed by the keep alive."),
	BYKEY("sessions", G, "tachyon_mqtt_sessions", "Sessions, by state (online: a client is connected; offline: kept for a persistent client).", "state", NULL),
	NUM("subscriptions", G, "tachyon_mqtt_subscriptions", "Subscriptions held (shared ones included)."),
	NUM("shared_subscriptions", G, "tachyon_mqtt_shared_subscriptions", "Shared ($share/) subscriptions held."),
	NUM("retained", G, "tachyon_mqtt_retained_messages", "Retained messages held."),
	NUM("retained_messages", G, "tachyon_mqtt_retained_messages", "Retained messages held."),
	NUM("retained_bytes", G, "tachyon_mqtt_retained_payload_bytes", "Payload bytes of the retained messages."),
	BYKEY("msgs_received", C, "tachyon_mqtt_messages_received_total", MQ_RX_HELP, "qos", "qos"),
	BYKEY("messages_received", C, "tachyon_mqtt_messages_received_total", MQ_RX_HELP, "qos", "qos"),
	BYKEY("msgs_sent", C, "tachyon_mqtt_messages_sent_total", MQ_TX_HELP, "qos", "qos"),
	BYKEY("messages_sent", C, "tachyon_mqtt_messages_sent_total", MQ_TX_HELP, "qos", "qos"),
	BYKEY("bytes_received", C, "tachyon_mqtt_received_bytes_total", "Bytes of MQTT packets received (of PUBLISH packets by QoS when reported per QoS).", "qos", "qos"),
	BYKEY("bytes_sent", C, "tachyon_mqtt_sent_bytes_total", "Bytes of MQTT packets sent (of PUBLISH packets by QoS when reported per QoS).", "qos", "qos"),
	BYKEY("packets_received", C, "tachyon_mqtt_packets_received_total", "MQTT control packets received, by type.", "type", NULL),
	BYKEY("packets_sent", C, "tachyon_mqtt_packets_sent_total", "MQTT control packets sent, by type.", "type", NULL),
	BYKEY("pub_dropped", C, "tachyon_mqtt_dropped_messages_total", MQ_DROP_HELP, "reason", NULL),
	BYKEY("messages_dropped", C, "tachyon_mqtt_dropped_messages_total", MQ_DROP_HELP, "reason", NULL),
	NUM("expired", C, "tachyon_mqtt_expired_messages_total", "Messages dropped because their message expiry interval passed."),
	NUM("xmsg_drops", C, "tachyon_mqtt_fanout_dropped_total", "Fan-out messages lost to a full worker inbox ring."),
	NUM("wills_sent", C, "tachyon_mqtt_wills_published_total", "Will messages published."),
	NUM("queued_messages", G, "tachyon_mqtt_queued_messages", "Messages waiting in session queues (offline or over the inflight window)."),
	NUM("inflight_messages", G, "tachyon_mqtt_inflight_messages", "QoS 1/2 messages sent and not yet acknowledged."),
	HIST("latency_histogram", "tachyon_mqtt_publish_to_deliver_latency_seconds",
	     "Time from a PUBLISH's arrival to its delivery to a subscriber's connection."),
	NUM("tx_pool_starved", C, "tachyon_mqtt_tx_pool_starved_total",
	    "Sends that found the worker's mbuf pool short and waited (size mbufs for slow readers)."),
	/* Security (docs/security.md): CONNECT refusals by reason, ACL denials by access. */
	NUML("auth_anon_refused", C, "tachyon_mqtt_auth_refused_total", AUTH_HELP, "reason", "anonymous"),
	NUML("auth_unknown_user", C, "tachyon_mqtt_auth_refused_total", AUTH_HELP, "reason", "unknown_user"),
	NUML("auth_bad_password", C, "tachyon_mqtt_auth_refused_total", AUTH_HELP, "reason", "bad_password"),
	NUML("auth_rate_limited", C, "tachyon_mqtt_auth_refused_total", AUTH_HELP, "reason", "rate_limited"),
	NUML("auth_error", C, "tachyon_mqtt_auth_refused_total", AUTH_HELP, "reason", "error"),
	NUM("auth_blocks", C, "tachyon_mqtt_auth_blocked_addresses_total", "Source addresses blocked after repeated failed logins."),
	NUM("auth_hashes", C, "tachyon_mqtt_auth_password_hashes_total", "Password hashes computed (logins not answered from the cache)."),
	NUM("auth_cache_hits", C, "tachyon_mqtt_auth_cache_hits_total", "Logins answered from the verified-login cache."),
	NUML("acl_denied_publish", C, "tachyon_mqtt_acl_denied_total", ACL_HELP, "access", "publish"),
	NUML("acl_denied_subscribe", C, "tachyon_mqtt_acl_denied_total", ACL_HELP, "access", "subscribe"),
	NUML("acl_denied_read", C, "tachyon_mqtt_acl_denied_total", ACL_HELP, "access", "read"),
	NUML("acl_denied_will", C, "tachyon_mqtt_acl_denied_total", ACL_HELP, "access", "will"),
};

/* tls: the TLS listeners (dataplane/dp_tls.c). */
static const struct conv__map conv__tls_map[] = {
	NUM("connections", G, "tachyon_tls_connections", "TLS sessions open (handshaking or established)."),
	NUM("handshakes", C, "tachyon_tls_handshakes_total", "TLS handshakes completed."),
	NUM("handshake_failures", C, "tachyon_tls_handshake_failures_total", "TLS handshakes that failed (bad certificate, clear text on a TLS port, protocol errors)."),
	NUM("reloads", C, "tachyon_tls_reloads_total", "TLS contexts reloaded (tachyonctl tls-reload)."),
	NUM("cipher_bytes_in", C, "tachyon_tls_received_bytes_total", "TLS ciphertext bytes received."),
	NUM("cipher_bytes_out", C, "tachyon_tls_sent_bytes_total", "TLS ciphertext bytes sent."),
};

/* message_memory: the broker's messages in DPDK memory (dataplane/dp_msgmem.c). */
static const struct conv__map conv__msgmem_map[] = {
	SKIP("classes"), /* walked by conv__msgmem_classes */
	NUM("heap_allocs", C, "tachyon_message_memory_heap_allocations_total", "Messages allocated from the DPDK heap (larger than the largest class, or the classes empty)."),
	NUM("failures", C, "tachyon_message_memory_failures_total", "Messages refused: no message memory left."),
	NUM("descs_in_use", G, "tachyon_message_memory_send_descriptors_in_use", "External-buffer descriptors of sends in flight."),
	NUM("descs_available", G, "tachyon_message_memory_send_descriptors_available", "External-buffer descriptors free."),
};

/* message_memory.classes[]: one size-class mempool each. */
static const struct conv__map conv__msgclass_map[] = {
	SKIP("size"),
	NUM("in_use", G, "tachyon_message_memory_objects_in_use", "Message objects in use, by size class (bytes)."),
	NUM("available", G, "tachyon_message_memory_objects_available", "Message objects free, by size class (bytes)."),
};

/* persistence: the control core's log and snapshots (docs/durability.md). */
static const struct conv__map conv__plog_map[] = {
	INFO("mode", "tachyon_persistence_mode", "Persistence mode (off, sync or async): 1 for the mode in force.", "mode"),
	SKIP("location"),
	NUM("failed", G, "tachyon_persistence_failed", "1 after a log I/O error (nothing more is acknowledged as durable): restart tachyond."),
	NUM("snapshot_seq", G, "tachyon_persistence_snapshot_sequence", "Sequence number the newest snapshot covers."),
	NUM("bad_records", C, "tachyon_persistence_bad_records_total", "Records from the workers that did not parse or could not be appended."),
	NUM("log_bytes_written", C, "tachyon_persistence_log_written_bytes_total", "Bytes appended to the log."),
	NUM("log_records", C, "tachyon_persistence_log_records_total", "Records appended to the log."),
	NUM("log_size_bytes", G, "tachyon_persistence_log_size_bytes", "Bytes in the live log segments on disk."),
	NUM("fenced_records", C, "tachyon_persistence_fenced_records_total", "Records applied only after the other workers' earlier records (a session taken over from another worker)."),
	NUM("fence_waits", C, "tachyon_persistence_fence_waits_total", "Times a worker's records waited for a fence (other workers' records to be taken first)."),
	NUM("fsyncs", C, "tachyon_persistence_fsyncs_total", "fdatasync calls on the log (group commits)."),
	HIST("fsync_latency_histogram", "tachyon_persistence_fsync_duration_seconds", "Duration of the log's fdatasync calls."),
	NUM("appended_seq", G, "tachyon_persistence_appended_sequence", "Sequence number of the last record appended."),
	NUM("durable_seq", G, "tachyon_persistence_durable_sequence", "Sequence number of the last record known to be on disk."),
	NUM("durable_lag_records", G, "tachyon_persistence_durable_lag_records", "Records appended but not yet on disk."),
	NUM("durable_lag_s", G, "tachyon_persistence_durable_lag_seconds", "Age of the oldest record not yet on disk (0 when none)."),
	NUM("snapshots", C, "tachyon_persistence_snapshots_total", "Snapshots written."),
	NUM("snapshot_age_s", G, "tachyon_persistence_snapshot_age_seconds", "Seconds since the last snapshot was written."),
	NUM("snapshot_bytes", G, "tachyon_persistence_snapshot_size_bytes", "Size of the newest snapshot."),
	NUM("errors", C, "tachyon_persistence_errors_total", "Failed log or snapshot writes and syncs."),
};

/* mempools[]: DPDK mempools (rte_mempool_avail_count / in_use_count). */
static const struct conv__map conv__mempool_map[] = {
	SKIP("name"),
	SKIP("worker"),
	NUM("size", G, "tachyon_mempool_capacity_objects", "Objects the mempool holds in all."),
	NUM("in_use", G, "tachyon_mempool_objects_in_use", "Objects taken from the mempool (mbufs in flight)."),
	NUM("available", G, "tachyon_mempool_objects_available", "Objects free in the mempool."),
	NUM("data_room", G, "tachyon_mempool_mbuf_data_room_bytes", "Data room of each mbuf of the pool, headroom included."),
};

/* rings[]: cross-core rte_rings (worker to worker, worker to control core). */
static const struct conv__map conv__ring_map[] = {
	SKIP("name"),
	NUM("count", G, "tachyon_ring_used_entries", "Entries waiting in the ring (queue depth)."),
	NUM("capacity", G, "tachyon_ring_capacity_entries", "Entries the ring can hold."),
	NUM("enqueue_drops", C, "tachyon_ring_enqueue_failures_total", "Entries not enqueued because the ring was full."),
};

static const struct conv__group conv__top = GROUP("tachyon_", "stats value", conv__top_map);
static const struct conv__group conv__loop = GROUP("tachyon_worker_", "worker loop counter", conv__loop_map);
static const struct conv__group conv__net = {
	"tachyon_net_", "net counter", conv__net_map, sizeof(conv__net_map) / sizeof(conv__net_map[0]),
	"_drop_", "tachyon_net_dropped_packets_total",
	"Frames dropped by the worker's network layers, by reason (each dropped frame is counted once).",
	"reason",
};
static const struct conv__group conv__tcp = GROUP("tachyon_tcp_", "TCP counter", conv__tcp_map);
static const struct conv__group conv__port = GROUP("tachyon_port_", "port counter", conv__port_map);
static const struct conv__group conv__mqtt = {
	"tachyon_mqtt_", "MQTT value", conv__mqtt_map, sizeof(conv__mqtt_map) / sizeof(conv__mqtt_map[0]),
	"lim_", "tachyon_mqtt_limit_hits_total", MQ_LIM_HELP, "limit",
};
static const struct conv__group conv__plog = GROUP("tachyon_persistence_", "persistence value", conv__plog_map);
static const struct conv__group conv__mempool = GROUP("tachyon_mempool_", "mempool value", conv__mempool_map);
static const struct conv__group conv__ring = GROUP("tachyon_ring_", "ring value", conv__ring_map);
static const struct conv__group conv__tls = GROUP("tachyon_tls_", "TLS value", conv__tls_map);
static const struct conv__group conv__msgmem = GROUP("tachyon_message_memory_", "message memory value", conv__msgmem_map);
static const struct conv__group conv__msgclass = GROUP("tachyon_message_memory_", "message memory value", conv__msgclass_map);

/* ---- the walk ----------------------------------------------------------------------- */

#define CONV_MAX_LABELS 4   /* group labels (at most 2) + entry label + le */

struct conv__ctx {
	struct prom_set *out;
	unsigned problems;       /**< values skipped because they did not fit the schema */
	struct prom_buf *notes;  /**< one line per problem, or NULL */
};

/* Count a problem and say what it was (the exporter logs the notes). */
static void conv__problem(struct conv__ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void conv__problem(struct conv__ctx *c, const char *fmt, ...)
{
	c->problems++;
	if (c->notes == NULL)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	prom_buf_puts(c->notes, line);
	prom_buf_puts(c->notes, "\n");
}

/* prom_add()/prom_add_u64() that note a refused sample (a clash between names). */
static void conv__add(struct conv__ctx *c, const char *name, enum prom_type type,
		      const char *help, const char *suffix, const struct prom_label *l,
		      unsigned n, double v)
{
	if (prom_add(c->out, name, type, help, suffix, l, n, v) != 0 && !c->out->oom)
		conv__problem(c, "%s%s: sample refused (duplicate series or type clash)", name,
			      suffix);
}

static void conv__add_u64(struct conv__ctx *c, const char *name, enum prom_type type,
			  const char *help, const char *suffix, const struct prom_label *l,
			  unsigned n, uint64_t v)
{
	if (prom_add_u64(c->out, name, type, help, suffix, l, n, v) != 0 && !c->out->oom)
		conv__problem(c, "%s%s: sample refused (duplicate series or type clash)", name,
			      suffix);
}

static const struct conv__map *conv__lookup(const struct conv__group *g, const char *key)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->map[i].key, key) == 0)
			return &g->map[i];
	return NULL;
}

/* Read a number or a bool. @return false for anything else. */
static bool conv__number(const struct json_value *v, double *d, bool *exact, uint64_t *u)
{
	*exact = false;
	if (v->type == JSON_BOOL) {
		*d = v->b ? 1 : 0;
		*u = v->b ? 1 : 0;
		*exact = true;
		return true;
	}
	if (v->type != JSON_NUMBER)
		return false;
	*d = v->num;
	if (v->is_int && !v->is_neg) {
		*u = v->u;
		*exact = true;
	}
	return true;
}

/* One sample of @p v under base labels + an optional extra one. */
static void conv__emit(struct conv__ctx *c, const char *metric, enum prom_type type,
		       const char *help, const struct prom_label *base, unsigned nbase,
		       const char *lname, const char *lvalue, const struct json_value *v, double div)
{
	struct prom_label l[CONV_MAX_LABELS];
	unsigned n = 0;
	for (; n < nbase; n++)
		l[n] = base[n];
	if (lname != NULL)
		l[n++] = (struct prom_label){ lname, lvalue };
	double d;
	uint64_t u;
	bool exact;
	if (!conv__number(v, &d, &exact, &u)) {
		conv__problem(c, "%s: value is not a number", metric);
		return;
	}
	/* Counters stay exact integers (a uint64 past 2^53 would lose digits as a double). */
	if (exact && (div == 0 || div == 1))
		conv__add_u64(c, metric, type, help, "", l, n, u);
	else
		conv__add(c, metric, type, help, "", l, n, d / (div != 0 ? div : 1));
}

/* The divisor that turns a unit into seconds, or 0 if it is not one. A divisor rather than
 * a factor: 1000 / 1e9 is exactly the double nearest 1e-6, 1000 * 1e-9 is not, and le
 * labels must print as the bucket bounds people expect. */
static double conv__unit_div(const char *unit)
{
	if (unit == NULL || strcmp(unit, "s") == 0)
		return 1;
	if (strcmp(unit, "ms") == 0)
		return 1e3;
	if (strcmp(unit, "us") == 0)
		return 1e6;
	if (strcmp(unit, "ns") == 0)
		return 1e9;
	return 0;
}

static bool conv__le(const struct json_value *v, double *le)
{
	if (v->type == JSON_NUMBER) {
		*le = v->num;
		return true;
	}
	if (v->type == JSON_STRING && (strcmp(v->str, "+Inf") == 0 || strcmp(v->str, "Inf") == 0)) {
		*le = INFINITY;
		return true;
	}
	return false;
}

/*
 * A histogram: {"buckets":[[le,count],...], "sum":s, "count":n, "unit":"ns", "cumulative":b}.
 * Checked whole before anything is printed, because Prometheus rejects a histogram whose
 * buckets are not increasing: le strictly increasing, cumulative counts non-decreasing,
 * count >= the last bucket. A bad one is skipped and counted as a problem.
 */
static void conv__hist(struct conv__ctx *c, const struct conv__map *m, const struct json_value *h,
		       const struct prom_label *base, unsigned nbase)
{
	const struct json_value *b = json_get(h, "buckets");
	const struct json_value *sum = json_get(h, "sum");
	double div = conv__unit_div(json_get_str(h, "unit"));
	bool cumulative = json_get_bool(h, "cumulative", true);
	if (h->type != JSON_OBJECT || b == NULL || b->type != JSON_ARRAY || div == 0 ||
	    sum == NULL || sum->type != JSON_NUMBER) {
		conv__problem(c, "%s: not a histogram object (buckets array, sum, known unit)",
			      m->metric);
		return;
	}
	double prev_le = -INFINITY;
	uint64_t running = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct json_value *p = b->items[i];
		double le;
		if (p->type != JSON_ARRAY || p->n != 2 || !conv__le(p->items[0], &le) ||
		    p->items[1]->type != JSON_NUMBER || !p->items[1]->is_int || p->items[1]->is_neg ||
		    !(le > prev_le)) {
			conv__problem(c, "%s: bucket %zu is not [le, count] with le increasing",
				      m->metric, i);
			return;
		}
		uint64_t n = p->items[1]->u;
		if (cumulative && n < running) {
			conv__problem(c, "%s: cumulative bucket %zu decreases", m->metric, i);
			return;
		}
		running = cumulative ? n : running + n;
		prev_le = le;
	}
	uint64_t count = json_get_u64(h, "count", running);
	if (count < running) {
		conv__problem(c, "%s: count is below the last bucket", m->metric);
		return;
	}

	struct prom_label l[CONV_MAX_LABELS];
	unsigned n = 0;
	for (; n < nbase; n++)
		l[n] = base[n];
	char lebuf[40];
	l[n] = (struct prom_label){ "le", lebuf };
	running = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct json_value *p = b->items[i];
		double le = 0; /* validated above; the initialiser quiets -O3 */
		conv__le(p->items[0], &le);
		running = cumulative ? p->items[1]->u : running + p->items[1]->u;
		if (isinf(le))
			break; /* the +Inf bucket is written below, from count */
		prom_format_double(le / div, lebuf, sizeof(lebuf));
		conv__add_u64(c, m->metric, PROM_HISTOGRAM, m->help, "_bucket", l, n + 1, running);
	}
	snprintf(lebuf, sizeof(lebuf), "+Inf");
	conv__add_u64(c, m->metric, PROM_HISTOGRAM, m->help, "_bucket", l, n + 1, count);
	conv__add(c, m->metric, PROM_HISTOGRAM, m->help, "_sum", l, n, sum->num / div);
	conv__add_u64(c, m->metric, PROM_HISTOGRAM, m->help, "_count", l, n, count);
}

/*
 * The generic rule for a number nobody curated (docs/operations.md, "Generic names"):
 *   <prefix><key>, with a time suffix _s/_ms/_us/_ns turned into _seconds (value scaled) and
 *   a gauge; _cur dropped and a gauge; a bool a gauge; anything else a counter, + _total.
 */
static void conv__generic(struct conv__ctx *c, const struct conv__group *g, const char *key,
			  const struct json_value *v, const struct prom_label *base, unsigned nbase)
{
	static const struct { const char *suffix; double div; } times[] = {
		{ "_ns", 1e9 }, { "_us", 1e6 }, { "_ms", 1e3 }, { "_s", 1 },
	};
	char stem[128];
	char name[256];
	char help[320];
	size_t kl = strlen(key);
	if (kl == 0 || kl >= sizeof(stem)) {
		conv__problem(c, "%s member '%.64s...': name empty or too long", g->what, key);
		return;
	}
	memcpy(stem, key, kl + 1);
	prom_sanitize(stem);
	enum prom_type type = v->type == JSON_BOOL ? PROM_GAUGE : PROM_COUNTER;
	const char *unit = "";
	double div = 1;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		size_t sl = strlen(times[i].suffix);
		if (kl > sl && strcmp(stem + kl - sl, times[i].suffix) == 0) {
			stem[kl - sl] = '\0';
			unit = "_seconds";
			div = times[i].div;
			type = PROM_GAUGE;
			break;
		}
	}
	if (type == PROM_COUNTER && kl > 4 && strcmp(stem + kl - 4, "_cur") == 0) {
		stem[kl - 4] = '\0';
		type = PROM_GAUGE;
	}
	const char *total = "";
	if (type == PROM_COUNTER && !(kl > 6 && strcmp(stem + kl - 6, "_total") == 0))
		total = "_total";
	snprintf(name, sizeof(name), "%s%s%s%s", g->prefix, stem, unit, total);
	snprintf(help, sizeof(help), "%s '%s' from the stats reply (generic name, not yet curated).",
		 g->what, key);
	conv__emit(c, name, type, help, base, nbase, NULL, NULL, v, div);
}

/* Does @p key match the label rule (see struct conv__group)? Then write its label value. */
static bool conv__rule_label(const char *key, const char *infix, char *out, size_t len)
{
	size_t il = strlen(infix);
	if (infix[0] != '_') {
		if (strncmp(key, infix, il) != 0 || key[il] == '\0')
			return false;
		snprintf(out, len, "%s", key + il);
		return true;
	}
	const char *p = strstr(key, infix);
	if (p == NULL || p == key || p[il] == '\0')
		return false;
	snprintf(out, len, "%.*s_%s", (int)(p - key), key, p + il);
	return true;
}

/* One member @p key = @p v of a group's object through the group's table and rules.
 * @p has_states: the object also reports TCP connections by state (see conv__group_walk). */
static void conv__member(struct conv__ctx *c, const struct conv__group *g, const char *key,
			 const struct json_value *v, const struct prom_label *base, unsigned nbase,
			 bool has_states)
{
	const struct conv__map *m = conv__lookup(g, key);
	char reason[128];
	if (m == NULL) {
		if (g->rule_infix != NULL && v->type == JSON_NUMBER &&
		    conv__rule_label(key, g->rule_infix, reason, sizeof(reason)))
			conv__emit(c, g->rule_metric, PROM_COUNTER, g->rule_help, base, nbase,
				   g->rule_label, reason, v, 1);
		else if (v->type == JSON_NUMBER || v->type == JSON_BOOL)
			conv__generic(c, g, key, v, base, nbase);
		return;
	}
	struct prom_label l[CONV_MAX_LABELS];
	unsigned n = 0;
	switch (m->kind) {
	case CV_SKIP:
		break;
	case CV_NUM:
		if (has_states && strcmp(key, "conns_cur") == 0)
			break;
		conv__emit(c, m->metric, m->type, m->help, base, nbase, m->lname, m->lvalue, v,
			   m->div);
		break;
	case CV_BYKEY:
		if (v->type == JSON_NUMBER) {
			/* not broken down (yet): one sample without the label */
			conv__emit(c, m->metric, m->type, m->help, base, nbase, NULL, NULL, v, m->div);
			break;
		}
		if (v->type != JSON_OBJECT) {
			conv__problem(c, "%s: '%s' is neither an object nor a number", m->metric, key);
			break;
		}
		for (size_t k = 0; k < v->n; k++) {
			const char *lv = v->keys[k];
			size_t pl = m->lvalue != NULL ? strlen(m->lvalue) : 0;
			if (pl != 0 && strncmp(lv, m->lvalue, pl) == 0 && lv[pl] != '\0')
				lv += pl;
			conv__emit(c, m->metric, m->type, m->help, base, nbase, m->lname, lv,
				   v->items[k], m->div);
		}
		break;
	case CV_HIST:
		conv__hist(c, m, v, base, nbase);
		break;
	case CV_INFO:
		if (v->type != JSON_STRING) {
			conv__problem(c, "%s: '%s' is not a string", m->metric, key);
			break;
		}
		for (; n < nbase; n++)
			l[n] = base[n];
		l[n++] = (struct prom_label){ m->lname, v->str };
		conv__add_u64(c, m->metric, PROM_GAUGE, m->help, "", l, n, 1);
		break;
	}
}

/* Every member of object @p obj through group @p g, with the given base labels. */
static void conv__group_walk(struct conv__ctx *c, const struct conv__group *g,
			     const struct json_value *obj, const struct prom_label *base,
			     unsigned nbase)
{
	if (obj == NULL || obj->type != JSON_OBJECT) {
		if (obj != NULL)
			conv__problem(c, "%s section is not an object", g->what);
		return;
	}
	/* When the TCP stack reports connections by state, the total would double them in
	 * sum(tachyon_tcp_connections): the per-state samples replace it. */
	bool has_states = g == &conv__tcp && json_get(obj, "states") != NULL;
	for (size_t i = 0; i < obj->n; i++)
		conv__member(c, g, obj->keys[i], obj->items[i], base, nbase, has_states);
}

/* A label value from a member that may be a string or an integer; @p dflt otherwise. */
static const char *conv__label_of(const struct json_value *v, char *buf, size_t len, size_t dflt)
{
	if (v != NULL && v->type == JSON_STRING)
		return v->str;
	if (v != NULL && v->type == JSON_NUMBER && v->is_int && !v->is_neg)
		snprintf(buf, len, "%llu", (unsigned long long)v->u);
	else
		snprintf(buf, len, "%zu", dflt);
	return buf;
}

/* workers[]: loop, net and the transport's objects, labelled worker="<index>". */
static void conv__workers(struct conv__ctx *c, const struct json_value *arr)
{
	if (arr->type != JSON_ARRAY) {
		conv__problem(c, "workers is not an array");
		return;
	}
	for (size_t i = 0; i < arr->n; i++) {
		const struct json_value *w = arr->items[i];
		char idx[24];
		struct prom_label l[1] = {
			{ "worker", conv__label_of(json_get(w, "index"), idx, sizeof(idx), i) },
		};
		conv__group_walk(c, &conv__loop, json_get(w, "loop"), l, 1);
		conv__group_walk(c, &conv__net, json_get(w, "net"), l, 1);
		const struct json_value *l4 = json_get(w, "l4");
		if (l4 == NULL || l4->type != JSON_OBJECT)
			continue;
		for (size_t k = 0; k < l4->n; k++) {
			if (strcmp(l4->keys[k], "tcp") == 0) {
				conv__group_walk(c, &conv__tcp, l4->items[k], l, 1);
				continue;
			}
			/* Another transport: generic names under tachyon_l4_<name>_. */
			char prefix[96];
			snprintf(prefix, sizeof(prefix), "tachyon_l4_%s_", l4->keys[k]);
			prom_sanitize(prefix);
			struct conv__group g = { prefix, "transport counter", NULL, 0, NULL, NULL, NULL, NULL };
			conv__group_walk(c, &g, l4->items[k], l, 1);
		}
	}
}

/*
 * An array of named items (ports, mempools, rings): each item through group @p g, labelled
 * by its identity members (@p nid pairs of label name / member name).
 */
static void conv__items(struct conv__ctx *c, const struct conv__group *g,
			const struct json_value *arr, const char *const (*ids)[2], unsigned nid)
{
	if (arr->type != JSON_ARRAY) {
		conv__problem(c, "%s list is not an array", g->what);
		return;
	}
	for (size_t i = 0; i < arr->n; i++) {
		char bufs[2][24];
		struct prom_label l[2];
		for (unsigned k = 0; k < nid && k < 2; k++)
			l[k] = (struct prom_label){ ids[k][0],
				conv__label_of(json_get(arr->items[i], ids[k][1]), bufs[k],
					       sizeof(bufs[k]), i) };
		conv__group_walk(c, g, arr->items[i], l, nid);
	}
}

/* The status reply: version, worker and port liveness. */
static void conv__status(struct conv__ctx *c, const struct json_value *st)
{
	const char *version = json_get_str(st, "version");
	if (version != NULL) {
		struct prom_label l[1] = { { "version", version } };
		conv__add_u64(c, "tachyon_build_info", PROM_GAUGE,
			     "Version of the running tachyond (always 1).", "", l, 1, 1);
	}
	const struct json_value *w = json_get(st, "workers");
	for (size_t i = 0; w != NULL && w->type == JSON_ARRAY && i < w->n; i++) {
		char idx[24];
		struct prom_label l[1] = {
			{ "worker", conv__label_of(json_get(w->items[i], "index"), idx, sizeof(idx), i) },
		};
		conv__add_u64(c, "tachyon_worker_running", PROM_GAUGE,
			     "1 while the worker is inside its poll loop.", "", l, 1,
			     json_get_bool(w->items[i], "running", false));
	}
	const struct json_value *p = json_get(st, "ports");
	for (size_t i = 0; p != NULL && p->type == JSON_ARRAY && i < p->n; i++) {
		const struct json_value *x = p->items[i];
		char idx[24];
		const char *id = conv__label_of(json_get(x, "id"), idx, sizeof(idx), i);
		const char *name = json_get_str(x, "name");
		struct prom_label l[4] = {
			{ "port", id }, { "name", name },
			{ "driver", json_get_str(x, "driver") }, { "kind", json_get_str(x, "kind") },
		};
		conv__add_u64(c, "tachyon_port_info", PROM_GAUGE,
			     "The port's driver and kind (always 1).", "", l, 4, 1);
		conv__add_u64(c, "tachyon_port_link_up", PROM_GAUGE,
			     "1 when the port's link is up.", "", l, 2,
			     json_get_bool(x, "link_up", false));
		const struct json_value *q = json_get(x, "queues");
		if (q != NULL)
			conv__emit(c, "tachyon_port_queues", PROM_GAUGE,
				   "RX/TX queue pairs configured on the port (one per worker).", l, 2,
				   NULL, NULL, q, 1);
	}
}

/* lib/broker reports sessions as clients_total (known) and clients_connected (online);
 * the schema's "sessions" object, when present, says it directly and wins. */
static void conv__mqtt_sessions(struct conv__ctx *c, const struct json_value *mq)
{
	if (mq->type != JSON_OBJECT || json_get(mq, "sessions") != NULL)
		return;
	const struct json_value *known = json_get(mq, "clients_total");
	const struct json_value *online = json_get(mq, "clients_connected");
	if (known == NULL || online == NULL)
		return;
	uint64_t k = json_get_u64(mq, "clients_total", 0);
	uint64_t o = json_get_u64(mq, "clients_connected", 0);
	const struct conv__map *m = conv__lookup(&conv__mqtt, "sessions");
	struct prom_label l[1] = { { "state", "online" } };
	conv__add_u64(c, m->metric, PROM_GAUGE, m->help, "", l, 1, o);
	l[0].value = "offline";
	/* The two are read one after the other while workers run: never report below zero. */
	conv__add_u64(c, m->metric, PROM_GAUGE, m->help, "", l, 1, k > o ? k - o : 0);
}

/* The stats reply's top level: dispatch each section to its walker. */
static void conv__stats(struct conv__ctx *c, const struct json_value *st)
{
	static const char *const port_ids[][2] = { { "port", "id" }, { "name", "name" } };
	static const char *const pool_ids[][2] = { { "pool", "name" } };
	static const char *const ring_ids[][2] = { { "ring", "name" } };
	for (size_t i = 0; i < st->n; i++) {
		const char *key = st->keys[i];
		const struct json_value *v = st->items[i];
		if (strcmp(key, "workers") == 0) {
			conv__workers(c, v);
		} else if (strcmp(key, "ports") == 0) {
			conv__items(c, &conv__port, v, port_ids, 2);
		} else if (strcmp(key, "mempools") == 0) {
			conv__items(c, &conv__mempool, v, pool_ids, 1);
		} else if (strcmp(key, "rings") == 0) {
			conv__items(c, &conv__ring, v, ring_ids, 1);
		} else if (strcmp(key, "mqtt") == 0) {
			conv__group_walk(c, &conv__mqtt, v, NULL, 0);
			conv__mqtt_sessions(c, v);
		} else if (strcmp(key, "persistence") == 0) {
			conv__group_walk(c, &conv__plog, v, NULL, 0);
		} else if (strcmp(key, "tls") == 0) {
			conv__group_walk(c, &conv__tls, v, NULL, 0);
		} else if (strcmp(key, "message_memory") == 0) {
			static const char *const class_ids[][2] = { { "size", "size" } };
			conv__group_walk(c, &conv__msgmem, v, NULL, 0);
			const struct json_value *cl = json_get(v, "classes");
			if (cl != NULL)
				conv__items(c, &conv__msgclass, cl, class_ids, 1);
		} else if (strcmp(key, "totals") == 0) {
			/* Sums over the workers: Prometheus sums per-worker series itself, and
			 * exporting both would double every sum() over the family. */
		} else if (v->type == JSON_OBJECT) {
			/* A section nobody curated yet: its numbers under tachyon_<section>_. */
			char prefix[96];
			snprintf(prefix, sizeof(prefix), "tachyon_%s_", key);
			prom_sanitize(prefix);
			struct conv__group g = { prefix, "stats value", NULL, 0, NULL, NULL, NULL, NULL };
			conv__group_walk(c, &g, v, NULL, 0);
		} else {
			conv__member(c, &conv__top, key, v, NULL, 0, false);
		}
	}
}

int conv_metrics(const struct conv_input *in, struct prom_set *out, struct prom_buf *notes)
{
	struct conv__ctx c = { .out = out, .notes = notes };
	bool up = in->stats != NULL && in->stats->type == JSON_OBJECT &&
		  json_get_bool(in->stats, "ok", false);

	prom_add_u64(out, "tachyon_up", PROM_GAUGE,
		     "1 if tachyond answered the exporter's stats request, else 0.", "", NULL, 0, up);
	if (up) {
		if (in->status != NULL && in->status->type == JSON_OBJECT &&
		    json_get_bool(in->status, "ok", false))
			conv__status(&c, in->status);
		conv__stats(&c, in->stats);
	}
	prom_add(out, "tachyon_exporter_scrape_duration_seconds", PROM_GAUGE,
		 "Time the exporter spent querying the management socket for this scrape.", "", NULL,
		 0, in->scrape_seconds);
	prom_add_u64(out, "tachyon_exporter_scrape_errors_total", PROM_COUNTER,
		     "Scrapes in which the broker did not answer (since the exporter started).", "",
		     NULL, 0, in->scrape_errors);
	/* Refusals by the builder (a duplicate series, a type clash) were counted as problems
	 * by conv__add(). */
	prom_add_u64(out, "tachyon_exporter_stats_problems", PROM_GAUGE,
		     "Stats values this scrape could not map (malformed, or clashing with another series).",
		     "", NULL, 0, c.problems);
	return out->oom ? -1 : 0;
}
