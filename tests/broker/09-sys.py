#!/usr/bin/python3
"""09-sys: the $SYS/ hierarchy, like Mosquitto's.

With sys_interval 1: $SYS/broker/uptime ("<n> seconds"), $SYS/broker/version,
$SYS/broker/clients/connected, $SYS/broker/messages/received and /sent,
$SYS/broker/subscriptions/count are published (retained, so a new subscriber gets them at
once) and updated every interval; counters follow what clients do. '#' and '+' do not match
$SYS topics (4.7.2-1). Clients cannot inject messages into $SYS. sys_interval 0 turns the
periodic updates off.
"""

import re
import time

import brokertest as bt
from brokertest import check

T = bt.Suite(__file__)

SYS1 = ["sys_interval 1"]


def sys_values(t, topics, quiet=2.5, conn=None):
    """Subscribes to the given $SYS topics, returns {topic: [payloads in order]} over quiet."""
    c = conn or t.client(version=4)
    c.subscribe([(tp, 0) for tp in topics])
    got = {}
    for p in c.collect(quiet, total=quiet):
        got.setdefault(p.topic, []).append(p.payload.decode(errors="replace"))
    return got


def num(s):
    m = re.match(r"\s*(\d+)", s)
    check(m, f"not a number: {s!r}")
    return int(m.group(1))


@T.check(config=SYS1)
def uptime_published_and_increasing(t):
    topic = "$SYS/broker/uptime"
    got = sys_values(t, [topic], 3.0).get(topic, [])
    check(len(got) >= 2, f"sys_interval 1: expected >= 2 updates of {topic} in 3 s, got {got}")
    check(all(re.fullmatch(r"\d+ seconds", g) for g in got),
          f"uptime must read '<n> seconds' (as Mosquitto's): {got}")
    vals = [num(g) for g in got]
    check(vals == sorted(vals) and vals[-1] > vals[0], f"uptime not increasing: {got}")


@T.check(config=SYS1)
def version_published(t):
    topic = "$SYS/broker/version"
    got = sys_values(t, [topic], 1.5).get(topic, [])
    check(got and got[0].strip(), f"{topic}: nothing (or empty) published: {got}")


@T.check(config=SYS1)
def retained_on_subscribe(t):
    time.sleep(1.2)  # at least one interval has passed
    c = t.client(version=4)
    c.subscribe([("$SYS/broker/uptime", 0)])
    p = c.expect_publish("$SYS/broker/uptime", timeout=0.5)
    check(p.retain, f"$SYS values are retained (a new subscriber gets them at once): {p!r}")


@T.check(config=SYS1)
def clients_connected_counts(t):
    topic = "$SYS/broker/clients/connected"
    w = t.client(version=4)
    before = num(sys_values(t, [topic], 1.5, w)[topic][-1])
    extra = [t.client(version=4) for _ in range(5)]
    vals = [num(v) for v in sys_values(t, [topic], 2.5, w)[topic]]
    check(vals[-1] >= before + 5, f"{topic}: {before} before, {vals} after 5 more clients")
    for c in extra:
        c.disconnect()
    vals2 = [num(v) for v in sys_values(t, [topic], 2.5, w)[topic]]
    check(vals2[-1] <= vals[-1] - 5, f"{topic}: {vals[-1]} then {vals2} after 5 disconnected")


@T.check(config=SYS1)
def messages_received_and_sent_count(t):
    rt, st = "$SYS/broker/messages/received", "$SYS/broker/messages/sent"
    w = t.client(version=4)
    v0 = sys_values(t, [rt, st], 1.5, w)
    r0, s0 = num(v0[rt][-1]), num(v0[st][-1])
    topic = t.topic()
    sub = t.client(version=4)
    sub.subscribe([(topic, 1)])
    pub = t.client(version=4)
    for i in range(20):
        pub.publish(topic, b"m", qos=1)
    sub.collect(0.5)
    v1 = sys_values(t, [rt, st], 2.5, w)
    r1, s1 = num(v1[rt][-1]), num(v1[st][-1])
    check(r1 >= r0 + 20, f"{rt}: {r0} -> {r1} after 20 PUBLISHes in")
    check(s1 >= s0 + 20, f"{st}: {s0} -> {s1} after 20 PUBLISHes out")


@T.check(config=SYS1)
def subscriptions_count(t):
    topic = "$SYS/broker/subscriptions/count"
    c = t.client(version=4)
    n0 = num(sys_values(t, [topic], 1.5, c)[topic][-1])
    other = t.client(version=4)
    other.subscribe([(t.topic(), 0) for _ in range(7)])
    n1 = num(sys_values(t, [topic], 2.5, c)[topic][-1])
    check(n1 >= n0 + 7, f"{topic}: {n0} -> {n1} after 7 new subscriptions")


@T.check(config=SYS1)
def hash_does_not_match_sys(t):
    c = t.client(version=4)
    c.subscribe([("#", 0), ("+/broker/uptime", 0)])
    got = [p for p in c.collect(2.5, total=2.5) if p.topic.startswith("$")]
    check(not got, f"'#' / '+/...' matched $SYS topics (4.7.2-1): {got[:3]}")
    c2 = t.client(version=4)
    c2.subscribe([("$SYS/#", 0)])
    check(c2.collect(2.0, total=2.0), "$SYS/# received nothing with sys_interval 1")


@T.check(config=SYS1)
def clients_cannot_publish_to_sys(t):
    topic = "$SYS/broker/uptime"
    c = t.client(version=4)
    c.subscribe([(topic, 0)])
    c.collect(0.3, total=0.3)
    t.client(version=4).publish(topic, b"forged", qos=1)
    got = [p.payload for p in c.collect(1.5, total=1.5)]
    check(b"forged" not in got, f"a client's PUBLISH reached $SYS subscribers: {got}")


@T.check(config=["sys_interval 0"])
def sys_interval_zero_disables_updates(t):
    c = t.client(version=4)
    c.subscribe([("$SYS/broker/uptime", 0), ("$SYS/broker/clients/connected", 0)])
    got = c.collect(2.5, total=2.5)
    check(not got, f"sys_interval 0: $SYS updates still published: {got[:3]}")


@T.check(config=["sys_interval 2"])
def sys_interval_respected(t):
    topic = "$SYS/broker/uptime"
    c = t.client(version=4)
    c.subscribe([(topic, 0)])
    c.collect(0.2, total=0.2)  # the retained one
    t0 = time.monotonic()
    stamps = []
    while time.monotonic() - t0 < 5.0:
        try:
            c.expect_publish(topic, timeout=max(0.1, 5.0 - (time.monotonic() - t0)))
            stamps.append(time.monotonic() - t0)
        except bt.WireError:
            break
    check(1 <= len(stamps) <= 3, f"sys_interval 2: {len(stamps)} updates in 5 s at {stamps}")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    check(all(g >= 1.5 for g in gaps), f"sys_interval 2: updates {gaps} s apart")


if __name__ == "__main__":
    T.main()
