/**
 * @file bench_mqtt.cc
 * Google Benchmark micro-benchmarks of the MQTT codec (lib/mqtt): decode and encode rates
 * for PUBLISH with 16 B, 256 B and 4 KB payloads, CONNECT and SUBSCRIBE, plus the two
 * paths the broker really runs: the incremental decoder over a stream of publishes, and the
 * fan-out PUBLISH head (encode once per shape, patch per subscriber, payload never copied).
 * Rates are reported as items/s (packets) and bytes/s (wire bytes).
 */
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

extern "C" {
#include "mqtt/mqtt.h"
}

namespace {

mqtt_str view(const char *s)
{
	return mqtt_str{reinterpret_cast<const uint8_t *>(s), static_cast<uint32_t>(strlen(s))};
}

/* A v5 QoS 1 PUBLISH with a Message Expiry, as a typical sensor message. */
std::vector<uint8_t> make_publish(size_t payload_len, std::vector<uint8_t> &payload)
{
	payload.assign(payload_len, 'x');
	mqtt_packet p{};
	p.type = MQTT_PUBLISH;
	p.publish.qos = 1;
	p.publish.packet_id = 42;
	p.publish.topic = view("sensors/building-7/floor-3/temperature");
	MQTT_PROP_SET(&p.publish.props, MQTT_PROP_MESSAGE_EXPIRY);
	p.publish.props.message_expiry = 3600;
	p.publish.payload = mqtt_str{payload.data(), static_cast<uint32_t>(payload_len)};
	std::vector<uint8_t> out(mqtt_encode_size(MQTT_V5, &p));
	mqtt_encode(MQTT_V5, &p, out.data(), out.size());
	return out;
}

std::vector<uint8_t> make_connect()
{
	mqtt_packet p{};
	p.type = MQTT_CONNECT;
	mqtt_connect &c = p.connect;
	c.version = MQTT_V5;
	c.clean_start = true;
	c.keep_alive = 60;
	c.client_id = view("loadgen-000123");
	c.has_username = c.has_password = true;
	c.username = view("device");
	c.password = view("secret-password");
	MQTT_PROP_SET(&c.props, MQTT_PROP_SESSION_EXPIRY);
	c.props.session_expiry = 300;
	MQTT_PROP_SET(&c.props, MQTT_PROP_RECEIVE_MAX);
	c.props.receive_max = 100;
	c.will = true;
	c.will_qos = 1;
	c.will_topic = view("clients/loadgen-000123/status");
	c.will_payload = view("offline");
	std::vector<uint8_t> out(mqtt_encode_size(0, &p));
	mqtt_encode(0, &p, out.data(), out.size());
	return out;
}

mqtt_sub g_subs[3];

mqtt_packet subscribe_packet()
{
	g_subs[0] = mqtt_sub{view("sensors/+/floor-3/#"), 1, false, false, 0};
	g_subs[1] = mqtt_sub{view("$share/workers/jobs/#"), 2, false, true, 1};
	g_subs[2] = mqtt_sub{view("alerts/critical"), 0, true, false, 2};
	mqtt_packet p{};
	p.type = MQTT_SUBSCRIBE;
	p.subscribe.packet_id = 7;
	p.subscribe.subs = g_subs;
	p.subscribe.count = 3;
	MQTT_PROP_SET(&p.subscribe.props, MQTT_PROP_SUB_ID);
	p.subscribe.props.sub_id = 12;
	return p;
}

std::vector<uint8_t> make_subscribe()
{
	mqtt_packet p = subscribe_packet();
	std::vector<uint8_t> out(mqtt_encode_size(MQTT_V5, &p));
	mqtt_encode(MQTT_V5, &p, out.data(), out.size());
	return out;
}

void run_decode(benchmark::State &state, const std::vector<uint8_t> &wire, uint8_t version)
{
	mqtt_packet p;
	for (auto _ : state) {
		int rc = mqtt_decode(version, wire.data(), wire.size(), &p);
		benchmark::DoNotOptimize(rc);
		benchmark::DoNotOptimize(p);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}

void run_encode(benchmark::State &state, const mqtt_packet &p, uint8_t version)
{
	std::vector<uint8_t> out(mqtt_encode_size(version, &p));
	for (auto _ : state) {
		size_t n = mqtt_encode(version, &p, out.data(), out.size());
		benchmark::DoNotOptimize(n);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}

void BM_decode_publish(benchmark::State &state)
{
	std::vector<uint8_t> payload;
	std::vector<uint8_t> wire = make_publish(state.range(0), payload);
	run_decode(state, wire, MQTT_V5);
}
BENCHMARK(BM_decode_publish)->Arg(16)->Arg(256)->Arg(4096)->MinTime(0.3);

void BM_encode_publish(benchmark::State &state)
{
	std::vector<uint8_t> payload;
	std::vector<uint8_t> wire = make_publish(state.range(0), payload);
	mqtt_packet p;
	mqtt_decode(MQTT_V5, wire.data(), wire.size(), &p);
	run_encode(state, p, MQTT_V5);
}
BENCHMARK(BM_encode_publish)->Arg(16)->Arg(256)->Arg(4096)->MinTime(0.3);

/* Fan-out: one head per subscriber shape; the payload stays where it is. */
void BM_publish_head_fanout(benchmark::State &state)
{
	std::vector<uint8_t> payload;
	std::vector<uint8_t> wire = make_publish(state.range(0), payload);
	mqtt_packet p;
	mqtt_decode(MQTT_V5, wire.data(), wire.size(), &p);
	uint32_t ids[1] = {5};
	mqtt_publish_shape sh{};
	sh.qos = 1;
	sh.packet_id = 1;
	sh.sub_ids = ids;
	sh.n_sub_ids = 1;
	uint8_t head[256];
	mqtt_publish_head h;
	uint16_t id = 0;
	for (auto _ : state) {
		sh.packet_id = ++id ? id : ++id;
		size_t n = mqtt_publish_head_encode(MQTT_V5, &p.publish, &sh, head, sizeof(head), &h);
		benchmark::DoNotOptimize(n);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(h.total_len));
}
BENCHMARK(BM_publish_head_fanout)->Arg(16)->Arg(4096)->MinTime(0.3);

/* Incremental decoder over 1460-byte TCP segments of back-to-back publishes. */
void BM_decoder_stream_publish(benchmark::State &state)
{
	std::vector<uint8_t> payload;
	std::vector<uint8_t> one = make_publish(state.range(0), payload);
	std::vector<uint8_t> stream;
	while (stream.size() < 256 * 1024)
		stream.insert(stream.end(), one.begin(), one.end());
	size_t packets = stream.size() / one.size();
	std::vector<uint8_t> rbuf(65536);
	mqtt_packet p;
	for (auto _ : state) {
		mqtt_decoder d;
		mqtt_decoder_init(&d, rbuf.data(), rbuf.size(), 0, MQTT_V5);
		for (size_t off = 0; off < stream.size(); off += 1460) {
			const uint8_t *data = stream.data() + off;
			size_t len = std::min<size_t>(1460, stream.size() - off);
			while (mqtt_decoder_feed(&d, &data, &len, &p) == MQTT_OK)
				benchmark::DoNotOptimize(p);
		}
	}
	state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(packets));
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_decoder_stream_publish)->Arg(16)->Arg(256)->Arg(4096)->MinTime(0.3);

void BM_decode_connect(benchmark::State &state)
{
	run_decode(state, make_connect(), MQTT_V_NONE);
}
BENCHMARK(BM_decode_connect)->MinTime(0.3);

void BM_encode_connect(benchmark::State &state)
{
	std::vector<uint8_t> wire = make_connect();
	mqtt_packet p;
	mqtt_decode(MQTT_V_NONE, wire.data(), wire.size(), &p);
	run_encode(state, p, MQTT_V5);
}
BENCHMARK(BM_encode_connect)->MinTime(0.3);

void BM_decode_subscribe(benchmark::State &state)
{
	run_decode(state, make_subscribe(), MQTT_V5);
}
BENCHMARK(BM_decode_subscribe)->MinTime(0.3);

void BM_encode_subscribe(benchmark::State &state)
{
	run_encode(state, subscribe_packet(), MQTT_V5);
}
BENCHMARK(BM_encode_subscribe)->MinTime(0.3);

} // namespace

BENCHMARK_MAIN();
