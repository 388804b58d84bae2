#!/usr/bin/python3
"""10-limits: size and count limits.

max_packet_size: advertised in the 5.0 CONNACK (3.2.2.3.6); a larger packet gets DISCONNECT
0x95 (Packet too large) in 5.0 and a close in 3.1.1. message_size_limit: a larger PUBLISH is
not forwarded (5.0: its PUBACK says 0x95). retain_available false: CONNACK says so and a
retained PUBLISH gets DISCONNECT 0x9A (3.3.1.3). Without limits: large payloads (1 MiB),
deep and long topics, many filters in one SUBSCRIBE and many subscriptions per client work.
max_connections refuses connections beyond the limit. max_topic_levels refuses deeper
filters (SUBACK 0x8F / 0x80) and names (PUBACK/PUBREC 0x90 in 5.0, dropped in 3.1.1) and counts
them in lim_topic_levels.
"""

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


@T.check(config=["max_packet_size 2000"])
def packet_too_large(t):
    c = t.conn(5)
    a = c.connect(t.cid())
    check(a.props.get("maximum_packet_size") == 2000,
          f"max_packet_size 2000: CONNACK Maximum Packet Size {a.props.get('maximum_packet_size')}")
    topic = t.topic()
    c.subscribe([(topic, 1)])
    c.publish(topic, b"x" * 1500, qos=1)                   # fits
    c.expect_publish(topic, b"x" * 1500)
    c.send(mw.publish(topic, b"y" * 3000, qos=1, pid=9, version=5))
    c.expect_closed(5, disconnect=mw.RC["PACKET_TOO_LARGE"])
    c4 = t.client(version=4)
    c4.send(mw.publish(topic, b"y" * 3000, qos=0))
    c4.expect_closed(5, disconnect=False)
    # others unaffected
    b = t.client(version=4)
    b.subscribe([(topic, 0)])
    t.client(version=4).publish(topic, b"ok", qos=1)
    b.expect_publish(topic, b"ok")


@T.check(config=["max_packet_size 2000"])
def packet_too_large_header_only(t):
    # The broker can refuse as soon as it has the fixed header: send only the header of a
    # 1 MB PUBLISH and never the rest.
    c = t.client(version=5)
    c.send(b"\x30" + mw.enc_varint(1 << 20) + b"\x00\x03a/b")
    c.expect_closed(5, disconnect=mw.RC["PACKET_TOO_LARGE"])


@T.check(config=["message_size_limit 500"])
def message_size_limit(t):
    topic = t.topic()
    sub = t.client(version=4)
    sub.subscribe([(topic, 1)])
    c5 = t.client(version=5)
    a = c5.publish(topic, b"x" * 1000, qos=1)
    check(a.rc in (0x95, 0x97), f"v5 PUBACK for a payload over message_size_limit: {a!r}")
    c4 = t.client(version=4)
    c4.publish(topic, b"z" * 1000, qos=1)
    c4.publish(topic, b"small", qos=1)
    p = sub.expect_publish(topic)
    check(p.payload == b"small",
          f"a payload over message_size_limit was forwarded ({len(p.payload)} bytes)")
    check(c5.is_open() and c4.is_open(), "publishers must stay connected")


@T.check(config=["retain_available false"])
def retain_not_available(t):
    c = t.conn(5)
    a = c.connect(t.cid())
    check(a.props.get("retain_available") == 0, f"retain_available false: CONNACK {a!r}")
    c.send(mw.publish(t.topic(), b"r", qos=0, retain=True, version=5))
    c.expect_closed(5, disconnect=mw.RC["RETAIN_NOT_SUPPORTED"])
    c4 = t.client(version=4)
    c4.send(mw.publish(t.topic(), b"r", qos=0, retain=True))
    c4.expect_closed(5, disconnect=False)
    # non-retained still fine
    c = t.client(version=5)
    topic = t.topic()
    c.subscribe([(topic, 0)])
    c.publish(topic, b"plain", qos=1)
    c.expect_publish(topic, b"plain")


@T.check()
def large_payload_1mib(t):
    topic = t.topic()
    sub = t.client(version=4)
    sub.subscribe([(topic, 1)])
    payload = bytes(i * 7 % 251 for i in range(1 << 20))
    pub = t.client(version=5)
    pub.timeout = 20
    pub.publish(topic, payload, qos=1)
    p = sub.expect_publish(topic, timeout=20)
    check(p.payload == payload, f"1 MiB payload corrupted ({len(p.payload)} bytes back)")


@T.check()
def deep_topic(t):
    topic = t.topic() + "/" + "/".join(f"l{i}" for i in range(100))
    sub = t.client(version=4)
    sub.subscribe([(topic, 0), (t.topic() + "/#", 0)])
    sub2 = t.client(version=4)
    sub2.subscribe([("/".join(["+"] * topic.count("/")) + "/+", 0)])
    t.client(version=4).publish(topic, b"deep", qos=1)
    sub.expect_publish(topic, b"deep")
    sub2.expect_publish(topic, b"deep")


@T.check()
def long_topic(t):
    topic = t.topic() + "/" + "x" * 30000
    sub = t.client(version=5)
    sub.subscribe([(topic, 1)])
    t.client(version=5).publish(topic, b"long", qos=1)
    p = sub.expect_publish(topic, b"long")
    check(p.topic == topic, "topic mangled")


@T.check()
def many_filters_one_subscribe(t):
    base = t.topic()
    c = t.client(version=5)
    filters = [(f"{base}/{i}", i % 3) for i in range(200)]
    s = c.subscribe(filters)
    check(s.codes == [i % 3 for i in range(200)], f"SUBACK for 200 filters: {s.codes[:10]}...")
    pub = t.client(version=4)
    for i in (0, 99, 199):
        pub.publish(f"{base}/{i}", b"hit", qos=1)
    got = sorted(p.topic for p in c.collect(0.7))
    check(got == sorted(f"{base}/{i}" for i in (0, 99, 199)), f"deliveries {got}")


@T.check()
def many_subscriptions_per_client(t):
    base = t.topic()
    c = t.client(version=4)
    n = 2000
    for chunk in range(0, n, 100):
        c.subscribe([(f"{base}/{i}", 1) for i in range(chunk, chunk + 100)])
    pub = t.client(version=4)
    pub.publish(f"{base}/{n - 1}", b"last", qos=1)
    pub.publish(f"{base}/0", b"first", qos=1)
    got = sorted(p.payload for p in c.collect(0.7))
    check(got == [b"first", b"last"], f"with {n} subscriptions: {got}")
    u = c.unsubscribe([f"{base}/{i}" for i in range(100)])
    check(len(u.codes) == 0 or u.codes == [0] * 100, f"UNSUBACK {u!r}")


@T.check(config=["max_subscriptions_per_client 3"],
         tachyon_only="max_subscriptions_per_client is a Tachyon key; Mosquitto has no such limit")
def subscriptions_per_client_limit(t):
    base = t.topic()
    c5 = t.client(version=5)
    s = c5.subscribe([(f"{base}/a/{i}", 1) for i in range(4)], check=False)
    check(s.codes == [1, 1, 1, 0x97], f"v5 SUBACK past the limit of 3: {s.codes}")
    again = c5.subscribe([(f"{base}/a/0", 0)])      # replacing one is not a new subscription
    check(again.codes == [0], f"v5 SUBACK replacing a held subscription: {again.codes}")
    c4 = t.client(version=4)
    s = c4.subscribe([(f"{base}/b/{i}", 0) for i in range(4)], check=False)
    check(s.codes == [0, 0, 0, 0x80], f"3.1.1 SUBACK past the limit of 3: {s.codes}")
    pub = t.client(version=4)
    pub.publish(f"{base}/a/3", b"refused", qos=1)
    pub.publish(f"{base}/a/2", b"held", qos=1)
    got = [p.payload for p in c5.collect(0.7)]
    check(got == [b"held"], f"deliveries to the limited client: {got}")


@T.check(config=["max_topic_levels 6"],
         tachyon_only="max_topic_levels is a Tachyon key; Mosquitto has no such limit")
def topic_levels_limit(t):
    import json
    base = t.topic()                                   # bt/<run>/<check>/tN: 4 levels
    check(base.count("/") == 3, f"test topic {base!r} is not 4 levels")
    deep, ok = f"{base}/a/b/c", f"{base}/a/b"          # 7 levels and 6
    c5 = t.client(version=5)
    s = c5.subscribe([(f"{base}/+/+", 1), (f"{base}/a/b/#", 1), (f"$share/g/{base}/#", 1),
                      (f"$share/g/{base}/a/+/c", 1)], check=False)
    check(s.codes == [1, 0x8F, 1, 0x8F], f"v5 SUBACK with max_topic_levels 6: {s.codes}")
    c4 = t.client(version=4)
    s = c4.subscribe([(ok, 0), (deep, 0)], check=False)
    check(s.codes == [0, 0x80], f"3.1.1 SUBACK with max_topic_levels 6: {s.codes}")
    for qos in (1, 2):
        a = c5.publish(deep, b"deep", qos=qos)
        check(a.rc == 0x90, f"v5 QoS {qos} PUBLISH to 7 levels: expected 0x90, got {a!r}")
    c4.publish(deep, b"deep4", qos=1)                 # acknowledged, not forwarded
    c4.publish(deep, b"deep4", qos=2)
    c5.publish(deep, b"deep0", qos=0)
    c5.publish(ok, b"fits", qos=1)
    got = [p.payload for p in c5.collect(0.7)]
    check(got == [b"fits", b"fits"], f"deliveries with max_topic_levels 6: {got}")
    check(c5.is_open() and c4.is_open(), "clients over the limit must stay connected")
    st = json.loads(t.target.b.ctl("stats", "--json").stdout)
    n = st["mqtt"]["lim_topic_levels"]
    check(n == 8, f"lim_topic_levels counts 3 SUBSCRIBE entries and 5 PUBLISHes: {n}")


@T.check()
def many_connections(t):
    conns = [t.client(version=4 if i % 2 else 5) for i in range(150)]
    for c in conns[::15]:
        check(c.is_open(), f"{c.name} dead with 150 connections open")


@T.check(config=["max_connections 3"],
         tachyon_only="Mosquitto 2.0.11 accepted 5 connections with max_connections 3 in the "
                      "listener section here")
def max_connections(t):
    conns = [t.client(version=4) for _ in range(3)]
    c = t.conn(4)
    try:
        c.send(mw.connect(t.cid(), 4))
        a = c.recv(5)
        check(a.type == mw.CONNACK and a.rc != 0, f"4th connection with max_connections 3: {a!r}")
        c.expect_closed()
    except (mw.Closed, OSError):
        pass
    conns[0].disconnect()
    import time
    time.sleep(0.3)
    t.client(version=4)   # a slot is free again


if __name__ == "__main__":
    T.main()
