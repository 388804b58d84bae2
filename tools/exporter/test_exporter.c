/**
 * @file test_exporter.c
 * Unit tests of tachyon-exporter's pure parts (suite 'unit'): the stats -> metrics converter
 * (convert.c) on canned stats/status documents shaped like tachyond's replies (today's
 * counters, plus the `mqtt`, `persistence`, `mempools` and `rings` sections of the schema in
 * docs/operations.md), the exposition builder (prom.c) and the HTTP request parser (http.c).
 *
 * Checks: curated names, types and labels; one HELP and one TYPE per family, families
 * contiguous, no series twice; label escaping; histograms; generic names; up == 0 output;
 * and, when a promtool path is given as argv[1], `promtool check metrics` on the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convert.h"
#include "http.h"
#include "prom.h"
#include "util/json.h"

static int failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                        \
		}                                                                          \
	} while (0)

/* A stats reply as tachyond writes it today (one worker shown with TCP), plus the sections
 * the broker is to add. The port name carries a quote, a backslash and a newline to test
 * label escaping. */
static const char stats_doc[] =
	"{\"ok\":true,\"uptime_s\":81.5,"
	"\"workers\":[{\"index\":0,\"lcore\":1,"
	"\"loop\":{\"loops\":544982,\"rx_pkts\":41,\"rx_bursts\":40,\"tx_pkts\":31,\"tx_drops\":2,"
	"\"tx_flushes\":31,\"sleeps\":7188,\"wakeups_rx\":58,\"arp_shared_out\":1,\"arp_shared_in\":0,"
	"\"arp_share_drops\":0},"
	"\"net\":{\"rx_frames\":41,\"rx_bytes\":3778,\"tx_frames\":31,\"tx_bytes\":2982,"
	"\"eth_drop_short\":0,\"eth_drop_not_ours\":10,\"tx_drop_nobufs\":0,\"arp_rx_request\":1,"
	"\"arp_tx_reply\":1,\"arp_conflict\":0,\"arp_drop_pending_full\":3,\"ip_rx\":30,"
	"\"ip_drop_checksum\":4,\"ip_tx\":30,\"icmp_rx_echo\":30,\"icmp_tx_echo_reply\":30,"
	"\"l4_rx\":0,\"brand_new_events\":7},"
	"\"l4\":{\"tcp\":{\"segs_in\":100,\"segs_out\":90,\"bytes_in\":18446744073709551615,"
	"\"retransmits\":5,\"resets_out\":1,\"syncookies_sent\":2,\"cksum_errors\":1,"
	"\"conns_opened\":9,\"conns_cur\":3,\"future_thing_cur\":4,\"rtt_avg_us\":250},"
	"\"quic\":{\"streams\":5}}},"
	"{\"index\":1,\"lcore\":2,\"loop\":{\"rx_pkts\":2},\"net\":{\"rx_bytes\":180},"
	"\"l4\":{\"tcp\":{\"conns_cur\":7,\"states\":{\"ESTABLISHED\":5,\"TIME_WAIT\":2}}}}],"
	"\"totals\":{\"loop\":{\"rx_pkts\":43},\"net\":{\"rx_bytes\":3958}},"
	"\"ports\":[{\"id\":0,\"name\":\"net\\\"tap\\\\0\\n\",\"ipackets\":43,\"opackets\":31,"
	"\"ibytes\":3958,\"obytes\":2982,\"imissed\":0,\"ierrors\":0,\"oerrors\":0,\"rx_nombuf\":0}],"
	"\"mqtt\":{\"clients_connected\":12,\"connects\":15,"
	"\"sessions\":{\"online\":12,\"offline\":3},\"subscriptions\":40,\"retained_messages\":6,"
	"\"messages_received\":{\"qos0\":1000,\"qos1\":20,\"qos2\":3},"
	"\"messages_sent\":{\"qos0\":5000,\"qos1\":40,\"qos2\":3},"
	"\"bytes_received\":{\"qos0\":64000,\"qos1\":1280,\"qos2\":192},"
	"\"messages_dropped\":{\"queue_full\":2,\"expired\":1},"
	"\"queued_messages\":8,"
	"\"latency_histogram\":{\"unit\":\"ns\",\"buckets\":[[1000,10],[10000,90],[100000,100]],"
	"\"sum\":2500000,\"count\":101}},"
	"\"persistence\":{\"mode\":\"sync\",\"log_bytes_written\":123456,\"fsyncs\":77,"
	"\"fsync_latency_histogram\":{\"cumulative\":false,\"buckets\":[[0.001,5],[0.01,2],[\"+Inf\",1]],"
	"\"sum\":0.05,\"count\":8},\"durable_lag_records\":0,\"snapshot_age_s\":12.5,"
	"\"odd_value\":1},"
	"\"mempools\":[{\"name\":\"mbuf_w0\",\"worker\":0,\"size\":4095,\"in_use\":100,\"available\":3995,\"data_room\":2176},"
	"{\"name\":\"mbuf_tx_w0\",\"worker\":0,\"size\":16383,\"in_use\":7,\"available\":16376,\"data_room\":384}],"
	"\"rings\":[{\"name\":\"w0->ctl\",\"count\":3,\"capacity\":1024,\"enqueue_drops\":0}],"
	"\"future_section\":{\"widgets\":3,\"nested\":{\"ignored\":1}},"
	"\"future_top_events\":9}";

static const char status_doc[] =
	"{\"ok\":true,\"version\":\"0.1.0\",\"pid\":1,\"uptime_s\":81.5,"
	"\"workers\":[{\"index\":0,\"lcore\":1,\"running\":true},{\"index\":1,\"lcore\":2,\"running\":false}],"
	"\"ports\":[{\"id\":0,\"name\":\"net_tap0\",\"driver\":\"net_tap\",\"kind\":\"tap\","
	"\"link_up\":true,\"queues\":2}]}";

static struct json_value *parse(const char *s)
{
	char err[128];
	struct json_value *v = json_parse(s, strlen(s), err, sizeof(err));
	if (v == NULL)
		fprintf(stderr, "canned JSON does not parse: %s\n", err);
	return v;
}

/* Convert and render; @p problems receives the stats_problems gauge's value. */
static struct prom_buf notes;

static char *convert(const char *stats, const char *status, struct prom_set *set)
{
	prom_buf_free(&notes);
	struct json_value *st = stats != NULL ? parse(stats) : NULL;
	struct json_value *ss = status != NULL ? parse(status) : NULL;
	struct conv_input in = { .stats = st, .status = ss, .scrape_seconds = 0.004,
				 .scrape_errors = 2 };
	prom_set_init(set);
	CHECK(conv_metrics(&in, set, &notes) == 0);
	size_t len;
	char *text = prom_render(set, &len);
	CHECK(text != NULL && strlen(text) == len);
	json_free(st);
	json_free(ss);
	return text;
}

/* @return true if @p text has the line @p line exactly. */
static bool has_line(const char *text, const char *line)
{
	size_t ll = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[ll] == '\n' || p[ll] == '\0'))
			return true;
	return false;
}

#define CHECK_LINE(text, line)                                                             \
	do {                                                                               \
		if (!has_line(text, line)) {                                               \
			fprintf(stderr, "%s:%d: missing line: %s\n", __FILE__, __LINE__, line); \
			failures++;                                                        \
		}                                                                          \
	} while (0)

/*
 * The format's structure, checked line by line: every sample belongs to the family of the
 * TYPE line above it (histograms: name_bucket/_sum/_count), each family has HELP then TYPE
 * exactly once, counters end in _total, no series repeats.
 */
static void check_structure(const char *text)
{
	char *copy = strdup(text);
	char family[256] = "", type[32] = "";
	char *seen_fam[512];
	unsigned n_fam = 0;
	char *seen_series[4096];
	unsigned n_series = 0;
	bool help_pending = false;
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		if (strncmp(line, "# HELP ", 7) == 0) {
			CHECK(sscanf(line + 7, "%255s", name) == 1);
			for (unsigned i = 0; i < n_fam; i++)
				if (strcmp(seen_fam[i], name) == 0) {
					fprintf(stderr, "family twice: %s\n", name);
					failures++;
				}
			CHECK(n_fam < 512);
			seen_fam[n_fam++] = strdup(name);
			snprintf(family, sizeof(family), "%s", name);
			help_pending = true;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			CHECK(help_pending);
			help_pending = false;
			CHECK(sscanf(line + 7, "%255s %31s", name, type) == 2);
			CHECK(strcmp(name, family) == 0);
			if (strcmp(type, "counter") == 0) {
				size_t l = strlen(name);
				if (!(l > 6 && strcmp(name + l - 6, "_total") == 0)) {
					fprintf(stderr, "counter without _total: %s\n", name);
					failures++;
				}
			}
			continue;
		}
		CHECK(line[0] != '#');
		CHECK(!help_pending);
		size_t nl = strcspn(line, "{ ");
		snprintf(name, sizeof(name), "%.*s", (int)nl, line);
		bool ok = strcmp(name, family) == 0;
		if (!ok && strcmp(type, "histogram") == 0) {
			static const char *const sfx[] = { "_bucket", "_sum", "_count" };
			for (unsigned k = 0; k < 3; k++) {
				size_t fl = strlen(family);
				ok = ok || (strncmp(name, family, fl) == 0 && strcmp(name + fl, sfx[k]) == 0);
			}
		}
		if (!ok) {
			fprintf(stderr, "sample outside its family (%s): %s\n", family, line);
			failures++;
		}
		/* The series: everything before the value. */
		char *sp = strrchr(line, ' ');
		CHECK(sp != NULL);
		if (sp == NULL)
			continue;
		*sp = '\0';
		for (unsigned i = 0; i < n_series; i++)
			if (strcmp(seen_series[i], line) == 0) {
				fprintf(stderr, "series twice: %s\n", line);
				failures++;
			}
		if (n_series < 4096)
			seen_series[n_series++] = strdup(line);
	}
	for (unsigned i = 0; i < n_fam; i++)
		free(seen_fam[i]);
	for (unsigned i = 0; i < n_series; i++)
		free(seen_series[i]);
	free(copy);
}

/* Pipe @p text into `promtool check metrics`; @return its exit status. */
static int promtool_check(const char *promtool, const char *text)
{
	char path[] = "/tmp/test_exporter_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	if (!ok) {
		unlink(path);
		return -1;
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s'", promtool, path);
	int rc = system(cmd);
	unlink(path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_convert_full(const char *promtool)
{
	struct prom_set set;
	char *t = convert(stats_doc, status_doc, &set);
	if (t == NULL)
		return;
	if (getenv("TEST_EXPORTER_DUMP") != NULL)
		fputs(t, stdout);
	check_structure(t);

	/* up, build info, uptime, exporter's own */
	CHECK_LINE(t, "tachyon_up 1");
	CHECK_LINE(t, "# TYPE tachyon_up gauge");
	CHECK_LINE(t, "tachyon_build_info{version=\"0.1.0\"} 1");
	CHECK_LINE(t, "tachyon_uptime_seconds 81.5");
	CHECK_LINE(t, "tachyon_exporter_scrape_duration_seconds 0.004");
	CHECK_LINE(t, "tachyon_exporter_scrape_errors_total 2");
	/* everything in the document fits the schema or a generic rule (persistence.odd_value,
	 * an uncurated number, is generic): no problems (see test_convert_problems) */
	CHECK_LINE(t, "tachyon_exporter_stats_problems 0");

	/* workers */
	CHECK_LINE(t, "# HELP tachyon_worker_rx_packets_total Frames the worker received from its NIC queue.");
	CHECK_LINE(t, "# TYPE tachyon_worker_rx_packets_total counter");
	CHECK_LINE(t, "tachyon_worker_rx_packets_total{worker=\"0\"} 41");
	CHECK_LINE(t, "tachyon_worker_rx_packets_total{worker=\"1\"} 2");
	CHECK_LINE(t, "tachyon_worker_rx_bytes_total{worker=\"0\"} 3778");
	CHECK_LINE(t, "tachyon_worker_rx_bytes_total{worker=\"1\"} 180");
	CHECK_LINE(t, "tachyon_worker_tx_bytes_total{worker=\"0\"} 2982");
	CHECK_LINE(t, "tachyon_worker_loop_iterations_total{worker=\"0\"} 544982");
	CHECK_LINE(t, "tachyon_worker_arp_bindings_shared_total{worker=\"0\",direction=\"out\"} 1");
	CHECK_LINE(t, "tachyon_worker_running{worker=\"1\"} 0");
	/* drops by reason, from the _drop_ rule, from loop.tx_drops and arp_conflict */
	CHECK_LINE(t, "# TYPE tachyon_net_dropped_packets_total counter");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"eth_not_ours\"} 10");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"arp_pending_full\"} 3");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"ip_checksum\"} 4");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"tx_nobufs\"} 0");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"tx_queue_full\"} 2");
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"arp_conflict\"} 0");
	CHECK_LINE(t, "tachyon_net_ip_packets_total{worker=\"0\",direction=\"rx\"} 30");
	CHECK_LINE(t, "tachyon_net_arp_packets_total{worker=\"0\",kind=\"rx_request\"} 1");
	/* generic: an uncurated net counter */
	CHECK_LINE(t, "tachyon_net_brand_new_events_total{worker=\"0\"} 7");
	CHECK_LINE(t, "# TYPE tachyon_net_brand_new_events_total counter");

	/* TCP */
	CHECK_LINE(t, "tachyon_tcp_retransmitted_segments_total{worker=\"0\"} 5");
	CHECK_LINE(t, "tachyon_tcp_resets_sent_total{worker=\"0\"} 1");
	CHECK_LINE(t, "tachyon_tcp_syncookies_sent_total{worker=\"0\"} 2");
	CHECK_LINE(t, "tachyon_tcp_dropped_segments_total{worker=\"0\",reason=\"checksum\"} 1");
	CHECK_LINE(t, "tachyon_tcp_received_bytes_total{worker=\"0\"} 18446744073709551615");
	CHECK_LINE(t, "# TYPE tachyon_tcp_connections gauge");
	CHECK_LINE(t, "tachyon_tcp_connections{worker=\"0\"} 3");
	/* worker 1 reports states: they replace conns_cur */
	CHECK_LINE(t, "tachyon_tcp_connections{worker=\"1\",state=\"ESTABLISHED\"} 5");
	CHECK_LINE(t, "tachyon_tcp_connections{worker=\"1\",state=\"TIME_WAIT\"} 2");
	CHECK(strstr(t, "tachyon_tcp_connections{worker=\"1\"} ") == NULL);
	CHECK_LINE(t, "tachyon_tcp_connections_opened_total{worker=\"0\"} 9");
	/* generic: _cur gauge, time suffix scaled to seconds */
	CHECK_LINE(t, "# TYPE tachyon_tcp_future_thing gauge");
	CHECK_LINE(t, "tachyon_tcp_future_thing{worker=\"0\"} 4");
	CHECK_LINE(t, "# TYPE tachyon_tcp_rtt_avg_seconds gauge");
	CHECK_LINE(t, "tachyon_tcp_rtt_avg_seconds{worker=\"0\"} 0.00025");
	/* another transport */
	CHECK_LINE(t, "tachyon_l4_quic_streams_total{worker=\"0\"} 5");

	/* totals are not exported (Prometheus sums): no worker series without a worker label */
	CHECK(strstr(t, "\ntachyon_worker_rx_packets_total ") == NULL);
	CHECK(strstr(t, "\ntachyon_worker_rx_bytes_total ") == NULL);

	/* ports, with escaping of the label value */
	CHECK_LINE(t, "tachyon_port_rx_packets_total{port=\"0\",name=\"net\\\"tap\\\\0\\n\"} 43");
	CHECK_LINE(t, "tachyon_port_rx_missed_total{port=\"0\",name=\"net\\\"tap\\\\0\\n\"} 0");
	CHECK_LINE(t, "tachyon_port_rx_errors_total{port=\"0\",name=\"net\\\"tap\\\\0\\n\"} 0");
	CHECK_LINE(t, "tachyon_port_link_up{port=\"0\",name=\"net_tap0\"} 1");
	CHECK_LINE(t, "tachyon_port_info{port=\"0\",name=\"net_tap0\",driver=\"net_tap\",kind=\"tap\"} 1");
	CHECK_LINE(t, "tachyon_port_queues{port=\"0\",name=\"net_tap0\"} 2");

	/* MQTT */
	CHECK_LINE(t, "# TYPE tachyon_mqtt_messages_received_total counter");
	CHECK_LINE(t, "tachyon_mqtt_messages_received_total{qos=\"0\"} 1000");
	CHECK_LINE(t, "tachyon_mqtt_messages_received_total{qos=\"2\"} 3");
	CHECK_LINE(t, "tachyon_mqtt_received_bytes_total{qos=\"1\"} 1280");
	CHECK_LINE(t, "tachyon_mqtt_sessions{state=\"offline\"} 3");
	CHECK_LINE(t, "tachyon_mqtt_clients_connected 12");
	CHECK_LINE(t, "tachyon_mqtt_dropped_messages_total{reason=\"queue_full\"} 2");
	CHECK_LINE(t, "tachyon_mqtt_retained_messages 6");
	CHECK_LINE(t, "tachyon_mqtt_subscriptions 40");
	CHECK_LINE(t, "tachyon_mqtt_queued_messages 8");
	/* latency histogram in ns: le in seconds, cumulative, +Inf = count */
	CHECK_LINE(t, "# TYPE tachyon_mqtt_publish_to_deliver_latency_seconds histogram");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_bucket{le=\"1e-06\"} 10");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_bucket{le=\"1e-05\"} 90");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_bucket{le=\"0.0001\"} 100");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_bucket{le=\"+Inf\"} 101");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_sum 0.0025");
	CHECK_LINE(t, "tachyon_mqtt_publish_to_deliver_latency_seconds_count 101");

	/* persistence: per-bucket counts accumulated, an explicit +Inf bucket */
	CHECK_LINE(t, "tachyon_persistence_mode{mode=\"sync\"} 1");
	CHECK_LINE(t, "tachyon_persistence_log_written_bytes_total 123456");
	CHECK_LINE(t, "tachyon_persistence_fsyncs_total 77");
	CHECK_LINE(t, "tachyon_persistence_fsync_duration_seconds_bucket{le=\"0.001\"} 5");
	CHECK_LINE(t, "tachyon_persistence_fsync_duration_seconds_bucket{le=\"0.01\"} 7");
	CHECK_LINE(t, "tachyon_persistence_fsync_duration_seconds_bucket{le=\"+Inf\"} 8");
	CHECK_LINE(t, "tachyon_persistence_fsync_duration_seconds_count 8");
	CHECK_LINE(t, "tachyon_persistence_durable_lag_records 0");
	CHECK_LINE(t, "tachyon_persistence_snapshot_age_seconds 12.5");

	/* mempools, rings, unknown sections */
	CHECK_LINE(t, "tachyon_mempool_objects_in_use{pool=\"mbuf_w0\"} 100");
	CHECK_LINE(t, "tachyon_mempool_capacity_objects{pool=\"mbuf_w0\"} 4095");
	CHECK_LINE(t, "tachyon_mempool_mbuf_data_room_bytes{pool=\"mbuf_w0\"} 2176");
	CHECK_LINE(t, "tachyon_mempool_objects_in_use{pool=\"mbuf_tx_w0\"} 7");
	CHECK_LINE(t, "tachyon_mempool_mbuf_data_room_bytes{pool=\"mbuf_tx_w0\"} 384");
	CHECK_LINE(t, "tachyon_ring_used_entries{ring=\"w0->ctl\"} 3");
	CHECK_LINE(t, "tachyon_future_section_widgets_total 3");
	CHECK_LINE(t, "tachyon_future_top_events_total 9");
	CHECK(strstr(t, "ignored") == NULL);

	CHECK(set.refused == 0);
	CHECK(notes.p == NULL || notes.len == 0);
	if (promtool != NULL) {
		int rc = promtool_check(promtool, t);
		if (rc != 0) {
			fprintf(stderr, "promtool check metrics exited %d on:\n%s", rc, t);
			failures++;
		}
	}
	free(t);
	prom_set_free(&set);
}

static void test_convert_down(const char *promtool)
{
	struct prom_set set;
	/* No reply at all, and a reply with ok false: both are "down". */
	char *t = convert(NULL, NULL, &set);
	CHECK_LINE(t, "tachyon_up 0");
	CHECK_LINE(t, "tachyon_exporter_scrape_errors_total 2");
	CHECK(strstr(t, "tachyon_worker") == NULL);
	check_structure(t);
	if (promtool != NULL)
		CHECK(promtool_check(promtool, t) == 0);
	free(t);
	prom_set_free(&set);

	t = convert("{\"ok\":false,\"error\":{\"code\":\"failed\"}}", status_doc, &set);
	CHECK_LINE(t, "tachyon_up 0");
	CHECK(strstr(t, "tachyon_build_info") == NULL);
	free(t);
	prom_set_free(&set);
}

/* The "mqtt" section as lib/broker writes it today (struct brk_counters, flat numbers). */
static void test_convert_broker_flat(const char *promtool)
{
	static const char doc[] =
		"{\"ok\":true,\"mqtt\":{\"clients_connected\":4,\"clients_total\":6,"
		"\"clients_maximum\":5,\"connects\":9,\"connects_refused\":1,\"takeovers\":0,"
		"\"msgs_received\":120,\"msgs_sent\":240,\"bytes_received\":5000,"
		"\"bytes_sent\":9000,\"pub_dropped\":2,\"subscriptions\":8,\"retained\":3,"
		"\"wills_sent\":1,\"lim_connections\":0,\"lim_packet_size\":2,\"lim_inflight\":0,"
		"\"lim_queued\":1,\"lim_topic_levels\":0,\"lim_subscriptions\":0,"
		"\"protocol_errors\":1,\"keepalive_timeouts\":0,\"expired\":0,\"xmsg_drops\":0}}";
	struct prom_set set;
	char *t = convert(doc, NULL, &set);
	check_structure(t);
	CHECK_LINE(t, "tachyon_mqtt_messages_received_total 120");
	CHECK_LINE(t, "tachyon_mqtt_messages_sent_total 240");
	CHECK_LINE(t, "tachyon_mqtt_received_bytes_total 5000");
	CHECK_LINE(t, "tachyon_mqtt_connects_refused_total 1");
	CHECK_LINE(t, "tachyon_mqtt_dropped_messages_total 2");
	CHECK_LINE(t, "tachyon_mqtt_retained_messages 3");
	CHECK_LINE(t, "tachyon_mqtt_clients_connected 4");
	CHECK_LINE(t, "tachyon_mqtt_clients_connected_max 5");
	CHECK_LINE(t, "tachyon_mqtt_sessions{state=\"online\"} 4");
	CHECK_LINE(t, "tachyon_mqtt_sessions{state=\"offline\"} 2");
	CHECK_LINE(t, "tachyon_mqtt_limit_hits_total{limit=\"packet_size\"} 2");
	CHECK_LINE(t, "tachyon_mqtt_limit_hits_total{limit=\"queued\"} 1");
	CHECK_LINE(t, "tachyon_mqtt_wills_published_total 1");
	CHECK_LINE(t, "tachyon_mqtt_protocol_errors_total 1");
	CHECK_LINE(t, "tachyon_exporter_stats_problems 0");
	CHECK(strstr(t, "generic name") == NULL); /* every member curated */
	if (promtool != NULL)
		CHECK(promtool_check(promtool, t) == 0);
	free(t);
	prom_set_free(&set);
}

static void test_convert_problems(void)
{
	static const char *const bad[] = {
		/* le not increasing */
		"{\"ok\":true,\"mqtt\":{\"latency_histogram\":{\"buckets\":[[2,1],[1,2]],\"sum\":1,\"count\":2}}}",
		/* cumulative counts decreasing */
		"{\"ok\":true,\"mqtt\":{\"latency_histogram\":{\"buckets\":[[1,5],[2,3]],\"sum\":1,\"count\":5}}}",
		/* count below the last bucket */
		"{\"ok\":true,\"mqtt\":{\"latency_histogram\":{\"buckets\":[[1,5]],\"sum\":1,\"count\":4}}}",
		/* unknown unit */
		"{\"ok\":true,\"mqtt\":{\"latency_histogram\":{\"unit\":\"fortnights\",\"buckets\":[],\"sum\":0}}}",
		/* no sum */
		"{\"ok\":true,\"mqtt\":{\"latency_histogram\":{\"buckets\":[[1,5]],\"count\":5}}}",
		/* by-QoS member neither an object nor a number; a count that is a string */
		"{\"ok\":true,\"mqtt\":{\"messages_received\":[5]}}",
		"{\"ok\":true,\"mqtt\":{\"messages_received\":{\"qos0\":\"many\"}}}",
		/* a section of the wrong shape */
		"{\"ok\":true,\"workers\":{\"index\":0}}",
		"{\"ok\":true,\"persistence\":{\"mode\":1}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prom_set set;
		char *t = convert(bad[i], NULL, &set);
		if (!has_line(t, "tachyon_exporter_stats_problems 1")) {
			fprintf(stderr, "case %zu: expected one problem:\n%s", i, t);
			failures++;
		}
		/* ... and one note saying what it was */
		CHECK(notes.p != NULL && strchr(notes.p, '\n') == notes.p + notes.len - 1);
		if (notes.p != NULL)
			printf("case %zu note: %s", i, notes.p);
		CHECK(strstr(t, "_bucket") == NULL);
		CHECK_LINE(t, "tachyon_up 1");
		check_structure(t);
		free(t);
		prom_set_free(&set);
	}
	/* A generic name that clashes with a curated family of another type is refused, not
	 * given a second TYPE line; a generic series equal to a curated one is refused, not
	 * printed twice. */
	struct prom_set set;
	char *t = convert("{\"ok\":true,\"workers\":[{\"index\":0,\"net\":{\"ip_drop_ttl\":1}}],"
			  "\"net\":{\"dropped_packets_total_cur\":1},\"up\":true}", NULL, &set);
	check_structure(t);
	CHECK_LINE(t, "tachyon_net_dropped_packets_total{worker=\"0\",reason=\"ip_ttl\"} 1");
	CHECK_LINE(t, "tachyon_up 1");
	CHECK_LINE(t, "tachyon_exporter_stats_problems 2");
	CHECK(notes.p != NULL && strstr(notes.p, "tachyon_net_dropped_packets_total") != NULL &&
	      strstr(notes.p, "tachyon_up") != NULL);
	free(t);
	prom_set_free(&set);
	prom_buf_free(&notes);
}

static void test_prom(void)
{
	struct prom_set s;
	prom_set_init(&s);
	struct prom_label l[2] = { { "a", "x" }, { "b", NULL } };
	CHECK(prom_add_u64(&s, "m_total", PROM_COUNTER, "help \\ with\nnewline", "", l, 2, 1) == 0);
	CHECK(prom_add_u64(&s, "m_total", PROM_COUNTER, "other help", "", l, 2, 2) == -1); /* dup */
	CHECK(prom_add_u64(&s, "m_total", PROM_GAUGE, "h", "", NULL, 0, 2) == -1);        /* type */
	CHECK(prom_add_u64(&s, "9bad", PROM_GAUGE, "h", "", NULL, 0, 2) == -1);           /* name */
	struct prom_label bad[1] = { { "__reserved", "v" } };
	CHECK(prom_add_u64(&s, "g", PROM_GAUGE, "h", "", bad, 1, 2) == -1);               /* label */
	struct prom_label colon[1] = { { "a:b", "v" } };
	CHECK(prom_add_u64(&s, "g", PROM_GAUGE, "h", "", colon, 1, 2) == -1);
	CHECK(prom_add(&s, "g", PROM_GAUGE, "h", "", NULL, 0, NAN) == 0);
	struct prom_label l2[1] = { { "k", "v" } };
	CHECK(prom_add(&s, "g", PROM_GAUGE, "h", "", l2, 1, -INFINITY) == 0);
	CHECK(prom_add(&s, "ns:rule", PROM_GAUGE, "h", "", NULL, 0, 0.1) == 0);
	/* Invalid UTF-8 prints as U+FFFD; two values printing alike are one series. */
	struct prom_label u1[1] = { { "k", "a\xff" } }, u2[1] = { { "k", "a\xfe" } };
	struct prom_label u3[1] = { { "k", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc0\xaf\xed\xa0\x80" } };
	CHECK(prom_add(&s, "u", PROM_GAUGE, "h", "", u1, 1, 1) == 0);
	CHECK(prom_add(&s, "u", PROM_GAUGE, "h", "", u2, 1, 1) == -1);
	CHECK(prom_add(&s, "u", PROM_GAUGE, "h", "", u3, 1, 1) == 0);
	CHECK(s.refused == 6);
	char *t = prom_render(&s, NULL);
	CHECK(t != NULL);
	CHECK_LINE(t, "# HELP m_total help \\\\ with\\nnewline");
	CHECK_LINE(t, "m_total{a=\"x\"} 1");
	CHECK_LINE(t, "g NaN");
	CHECK_LINE(t, "g{k=\"v\"} -Inf");
	CHECK_LINE(t, "ns:rule 0.1");
	CHECK_LINE(t, "u{k=\"a\xef\xbf\xbd\"} 1");
	/* é € 😀 kept; an overlong "/" and a surrogate are replaced byte by byte */
	CHECK_LINE(t, "u{k=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd"
		      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1");
	free(t);
	prom_set_free(&s);

	char buf[40];
	CHECK(strcmp(prom_format_double(0.1, buf, sizeof(buf)), "0.1") == 0);
	CHECK(strcmp(prom_format_double(1e-9, buf, sizeof(buf)), "1e-09") == 0);
	CHECK(strcmp(prom_format_double(INFINITY, buf, sizeof(buf)), "+Inf") == 0);
	CHECK(strtod(prom_format_double(1.0 / 3, buf, sizeof(buf)), NULL) == 1.0 / 3);
	char nm[] = "a-b.c d";
	prom_sanitize(nm);
	CHECK(strcmp(nm, "a_b_c_d") == 0);

	/* An empty set renders as an empty text, not NULL. */
	prom_set_init(&s);
	size_t len = 99;
	t = prom_render(&s, &len);
	CHECK(t != NULL && len == 0);
	free(t);
	prom_set_free(&s);
}

static enum http_parse_result parse_str(const char *s, struct http_request *r)
{
	return http_parse(s, strlen(s), r);
}

static void test_http(void)
{
	struct http_request r;
	CHECK(parse_str("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &r) == HTTP_DONE);
	CHECK(strcmp(r.method, "GET") == 0 && strcmp(r.path, "/metrics") == 0 && r.minor == 1);
	CHECK(parse_str("GET /metrics?x=1#f HTTP/1.0\n\n", &r) == HTTP_DONE);
	CHECK(strcmp(r.path, "/metrics") == 0 && r.minor == 0);
	CHECK(parse_str("HEAD / HTTP/1.1\r\n\r\n", &r) == HTTP_DONE && strcmp(r.method, "HEAD") == 0);
	CHECK(parse_str("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("GET /met", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("G", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("GET ", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("GET /metrics HTTP/1", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("GET /metrics HTTP/1.1\r\nHost", &r) == HTTP_NEED_MORE);
	/* hopeless before the head ends: a 400 at once */
	CHECK(parse_str("\x16\x03\x01", &r) == HTTP_BAD); /* a TLS ClientHello */
	CHECK(parse_str("GET x", &r) == HTTP_BAD);
	CHECK(parse_str("GET /metrics HTTQ", &r) == HTTP_BAD);
	CHECK(parse_str("GET /metrics HTTP/1.1x", &r) == HTTP_NEED_MORE); /* caught at the end */
	CHECK(parse_str("GET /metrics HTTP/1.1x\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET /metrics HTTP/1.1\r\n\x01\x02 garbage\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET /metrics HTTP/1.1\r\nHost: x\r\nAcc", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("", &r) == HTTP_NEED_MORE);
	CHECK(parse_str("GET /metrics HTTP/2.0\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET  /metrics HTTP/1.1\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET metrics HTTP/1.1\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET http://h/metrics HTTP/1.1\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("G(T / HTTP/1.1\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET / HTTP/1.1\r\nno colon here\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET / HTTP/1.1\r\n: empty name\r\n\r\n", &r) == HTTP_BAD);
	CHECK(parse_str("GET / HTTP/1.1\r\n\r\n", &r) == HTTP_DONE);
	CHECK(parse_str("VERYLONGMETHODNAMEXX / HTTP/1.1\r\n\r\n", &r) == HTTP_BAD);

	/* A head that never ends: too large once HTTP_MAX_HEAD bytes are there. */
	char *big = malloc(HTTP_MAX_HEAD + 64);
	memset(big, 'a', HTTP_MAX_HEAD + 64);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK(http_parse(big, HTTP_MAX_HEAD - 1, &r) == HTTP_NEED_MORE);
	CHECK(http_parse(big, HTTP_MAX_HEAD, &r) == HTTP_TOO_LARGE);
	/* A path over HTTP_MAX_PATH is refused, not truncated. */
	memset(big, 'a', HTTP_MAX_HEAD + 64);
	memcpy(big, "GET /", 5);
	memcpy(big + 5 + HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n", 13);
	CHECK(http_parse(big, 5 + HTTP_MAX_PATH + 13, &r) == HTTP_BAD);

	/* Random bytes and mutations of a good request never crash or read out of bounds
	 * (the ASan build checks the latter); a fixed seed keeps the run reproducible. */
	const char good[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	unsigned seed = 12345;
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand_r(&seed) % 128);
		char *b = malloc(len + 1);
		if (i % 2 == 0) {
			for (size_t k = 0; k < len; k++)
				b[k] = (char)(rand_r(&seed) % 256);
		} else {
			len = len < sizeof(good) - 1 ? len : sizeof(good) - 1;
			memcpy(b, good, len);
			if (len > 0)
				b[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);
		}
		enum http_parse_result pr = http_parse(b, len, &r);
		CHECK(pr >= HTTP_NEED_MORE && pr <= HTTP_TOO_LARGE);
		if (pr == HTTP_DONE)
			CHECK(r.path[0] == '/' || r.path[0] == '*');
		free(b);
	}
	free(big);

	struct prom_buf out = { 0 };
	CHECK(http_response(&out, 404, "text/plain", NULL, "nope\n", 5, false) == 0);
	CHECK(strncmp(out.p, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	CHECK(strstr(out.p, "Content-Length: 5\r\n") != NULL);
	CHECK(strstr(out.p, "\r\n\r\nnope\n") != NULL);
	prom_buf_free(&out);
	CHECK(http_response(&out, 200, "text/plain", "Allow: GET\r\n", "body", 4, true) == 0);
	CHECK(strstr(out.p, "Content-Length: 4\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(out.p, "Allow: GET\r\n\r\n") != NULL);
	CHECK(strstr(out.p, "body") == NULL); /* HEAD: no body */
	prom_buf_free(&out);
}

int main(int argc, char **argv)
{
	const char *promtool = argc > 1 ? argv[1] : NULL;
	if (promtool != NULL && access(promtool, X_OK) != 0)
		promtool = NULL;
	if (promtool == NULL)
		printf("note: no promtool given, skipping `promtool check metrics`\n");
	test_prom();
	test_http();
	test_convert_full(promtool);
	test_convert_down(promtool);
	test_convert_broker_flat(promtool);
	test_convert_problems();
	if (failures != 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all exporter unit checks passed\n");
	return 0;
}
