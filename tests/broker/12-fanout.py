#!/usr/bin/python3
"""12-fanout: one publish to many subscribers.

200 subscriber connections (3.1.1 and 5.0, exact and wildcard filters, QoS 0/1/2) each get
every message exactly once and, per publisher, in publish order (4.6: ordered topics), also
with several publishers interleaving. With `--workers 2` the connections spread over both
workers (the kernel hashes flows to tap queues), so cross-worker fan-out is exercised.
Also through real clients: paho (3.1.1 and 5.0) and mosquitto_pub / mosquitto_sub.
"""

import brokertest as bt
from brokertest import check

T = bt.Suite(__file__)


def subscribers(t, n, flt, qos_of=lambda i: i % 3, version_of=lambda i: 4 if i % 2 else 5):
    subs = []
    for i in range(n):
        c = t.client(version=version_of(i))
        c.timeout = 10
        c.subscribe([(flt, qos_of(i))])
        subs.append(c)
    return subs


def check_all(subs, expected, what, pub=None, topic=None):
    """Every subscriber got exactly `expected` (list of payloads), in order. With pub and
    topic, a final QoS 1 "end" message must come right after (no extra copies between)."""
    if pub is not None:
        pub.publish(topic, b"end", qos=1)
    for i, s in enumerate(subs):
        got = [s.expect_publish(None, timeout=10).payload for _ in range(len(expected))]
        check(got == expected, f"{what}: subscriber {i} ({s.name}) got {len(got)} messages "
                               f"out of order/wrong: {got[:8]}... expected {expected[:8]}...")
        if pub is not None:
            p = s.expect_publish(None, timeout=10)
            check(p.payload == b"end", f"{what}: subscriber {i}: extra message {p!r}")


@T.check()
def fanout_200_subscribers(t):
    topic = t.topic()
    subs = subscribers(t, 200, topic)
    pub = t.client(version=5)
    expected = [f"m{i}".encode() for i in range(20)]
    for i, m in enumerate(expected):
        pub.publish(topic, m, qos=i % 3)
    check_all(subs, expected, "200 subscribers", pub, topic)
    t.check_spread("200 subscribers")


@T.check()
def qos0_burst_fills_send_buffer(t):
    # 1,000 x 1 KiB at QoS 0 to a subscriber that reads all the while: more than a TCP send
    # buffer's worth is queued at once, so the broker must hold the rest and resume when the
    # connection drains (a stall here once lost ~70% of them silently).
    topic = t.topic()
    subs = subscribers(t, 3, topic, qos_of=lambda i: 0)
    pub = t.client(version=4)
    expected = [(b"%04d" % i) + bytes(1020) for i in range(1000)]
    for m in expected:
        pub.publish(topic, m, qos=0)
    check_all(subs, expected, "QoS 0 burst of 1000 x 1 KiB", pub, topic)


@T.check(tachyon_only="message memory is Tachyon's (stats: message_memory)")
def messages_live_in_message_memory(t):
    # Messages (and the payloads subscribers' segments point at) come from DPDK memory:
    # size-class mempools, the heap past the largest class. Retained messages hold theirs
    # until cleared.
    import json

    def mem():
        st = json.loads(t.target.b.ctl("stats", "--json").stdout)["message_memory"]
        return {c["size"]: c["in_use"] for c in st["classes"]}, st["heap_allocs"]

    base = t.topic()
    before, heap0 = mem()
    small, big = bytes(range(64)), bytes(i * 7 % 256 for i in range(100000))
    sub = t.client(version=5)
    sub.subscribe([(base + "/#", 1)])
    pub = t.client(version=4)
    t.retain_cleanup(base + "/small")
    t.retain_cleanup(base + "/big")
    pub.publish(base + "/small", small, qos=1, retain=True)
    pub.publish(base + "/big", big, qos=1, retain=True)
    got = {p.topic: p.payload for p in (sub.expect_publish(None), sub.expect_publish(None))}
    check(got == {base + "/small": small, base + "/big": big}, "payloads changed on the way")
    held, heap1 = mem()
    check(held[768] >= before[768] + 1, f"a 64-byte retained message in the 768 class: "
                                        f"{before} -> {held}")
    check(heap1 >= heap0 + 1, f"a 100 kB message from the heap: heap_allocs {heap0} -> {heap1}")
    pub.publish(base + "/small", b"", qos=1, retain=True)
    pub.publish(base + "/big", b"", qos=1, retain=True)
    sub.collect(0.5)
    after, _ = mem()
    check(after[768] <= held[768] - 1, f"clearing the retained message frees it: {held} -> {after}")


@T.check()
def fanout_wildcards(t):
    base = t.topic()
    topic = base + "/a/b"
    filters = [topic, base + "/#", base + "/+/b", base + "/a/+", "+/+/+/" + topic.split("/", 3)[3]]
    subs = []
    for i in range(100):
        c = t.client(version=5 if i % 3 else 4)
        c.subscribe([(filters[i % len(filters)], 1)])
        subs.append(c)
    pub = t.client(version=4)
    expected = [f"w{i}".encode() for i in range(10)]
    for m in expected:
        pub.publish(topic, m, qos=1)
    check_all(subs, expected, "wildcard subscribers", pub, topic)


@T.check()
def fanout_several_publishers_order(t):
    topic = t.topic()
    subs = subscribers(t, 60, topic, qos_of=lambda i: 1 + i % 2)
    pubs = [t.client(version=4 if k % 2 else 5) for k in range(3)]
    n = 15
    for i in range(n):
        for k, p in enumerate(pubs):
            p.publish(topic, f"p{k}-{i}".encode(), qos=1)
    for idx, s in enumerate(subs):
        got = [s.expect_publish(topic, timeout=10).payload.decode() for _ in range(n * 3)]
        for k in range(3):
            mine = [g for g in got if g.startswith(f"p{k}-")]
            check(mine == [f"p{k}-{i}" for i in range(n)],
                  f"subscriber {idx}: publisher {k}'s messages out of order or missing: {mine}")
    pubs[0].publish(topic, b"end", qos=1)
    for idx, s in enumerate(subs):
        p = s.expect_publish(topic, timeout=10)
        check(p.payload == b"end", f"subscriber {idx}: extra message {p!r}")


@T.check()
def fanout_retained_to_many(t):
    topic = t.topic()
    t.client(version=4).publish(topic, b"state", qos=1, retain=True)
    subs = subscribers(t, 100, topic, qos_of=lambda i: 1)
    for i, s in enumerate(subs):
        p = s.expect_publish(topic, b"state")
        check(p.retain, f"subscriber {i}: retained delivery without RETAIN=1")


@T.check()
def fanout_burst_qos0(t):
    topic = t.topic()
    subs = subscribers(t, 50, topic, qos_of=lambda i: 0)
    pub = t.client(version=4)
    expected = [f"b{i}".encode() for i in range(200)]
    for m in expected:
        pub.publish(topic, m, qos=0)
    check_all(subs, expected, "QoS 0 burst of 200 to 50", pub, topic)


@T.check()
def fanout_paho_clients(t):
    topic = t.topic()
    clients = [t.paho(version=4 if i % 2 else 5) for i in range(20)]
    for c in clients:
        c.subscribe(topic, qos=1)
    pub = t.paho(version=5)
    for i in range(10):
        pub.publish(topic, f"paho{i}", qos=1)
    for idx, c in enumerate(clients):
        got = [c.get(10).payload.decode() for _ in range(10)]
        check(got == [f"paho{i}" for i in range(10)], f"paho subscriber {idx}: {got}")
        check(not c.drain(0.05), f"paho subscriber {idx}: extra messages")


@T.check()
def fanout_mosquitto_clients(t):
    topic = t.topic()
    subs = [t.mosq_sub(topic, 5, qos=1, version=4 if i % 2 else 5) for i in range(8)]
    for i in range(5):
        t.mosq_pub(topic, f"cli{i}", qos=1, version=5 if i % 2 else 4)
    for idx, s in enumerate(subs):
        got = s.wait(15)
        check(got == [f"{topic} cli{i}" for i in range(5)], f"mosquitto_sub {idx}: {got}")


if __name__ == "__main__":
    T.main()
