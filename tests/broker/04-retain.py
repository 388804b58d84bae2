#!/usr/bin/python3
"""04-retain: retained messages.

Set, replace, clear with an empty payload (3.1.1 3.3.1-5..-11, 5.0 3.3.1.3); a new
subscription gets the retained message with RETAIN=1, a live one gets RETAIN=0 (3.3.1-9);
wildcard subscriptions get every match; 5.0 Retain Handling 0/1/2 and Retain As Published
(3.8.3.1); retained QoS is capped by the subscription.
"""

import brokertest as bt
from brokertest import check

T = bt.Suite(__file__)


def fresh_sub(t, topic, qos=0, version=4, opts=None):
    c = t.client(version=version)
    o = dict(opts or {})
    o.setdefault("qos", qos)
    c.subscribe([(topic, o if version == 5 else qos)])
    return c


@T.check()
def retained_delivered_to_new_subscriber(t):
    for v in (3, 4, 5):
        topic = t.topic()
        pub = t.client(version=v)
        pub.publish(topic, b"kept", qos=1, retain=True)
        sub = fresh_sub(t, topic, 1, v)
        p = sub.expect_publish(topic, b"kept")
        check(p.retain, f"v{v}: retained message delivered without RETAIN=1: {p!r}")
        check(p.qos == 1, f"v{v}: retained QoS 1 to QoS 1 subscription: {p!r}")


@T.check()
def live_delivery_has_retain_0(t):
    # 3.1.1 3.3.1-9: a message sent because of an existing subscription has RETAIN=0.
    topic = t.topic()
    sub = fresh_sub(t, topic, 0, 4)
    pub = t.client(version=4)
    pub.publish(topic, b"live", retain=True)
    p = sub.expect_publish(topic, b"live")
    check(not p.retain, f"live delivery to a 3.1.1 subscriber must have RETAIN=0: {p!r}")


@T.check()
def retained_replaced(t):
    topic = t.topic()
    pub = t.client(version=4)
    pub.publish(topic, b"one", qos=1, retain=True)
    pub.publish(topic, b"two", qos=1, retain=True)
    sub = fresh_sub(t, topic)
    sub.expect_publish(topic, b"two")
    sub.expect_nothing(0.5)


@T.check()
def retained_cleared_by_empty_payload(t):
    for v in (4, 5):
        topic = t.topic()
        pub = t.client(version=v)
        pub.publish(topic, b"soon gone", qos=1, retain=True)
        pub.publish(topic, b"", qos=1, retain=True)
        sub = fresh_sub(t, topic, 1, v)
        sub.expect_nothing(0.7, "retained message after it was cleared")


@T.check()
def empty_retained_forwarded_live(t):
    # The clearing message itself still goes to current subscribers (payload empty).
    topic = t.topic()
    sub = fresh_sub(t, topic)
    pub = t.client(version=4)
    pub.publish(topic, b"x", retain=True)
    sub.expect_publish(topic, b"x")
    pub.publish(topic, b"", retain=True)
    p = sub.expect_publish(topic, b"")
    check(p.payload == b"", f"{p!r}")


@T.check()
def non_retained_does_not_replace(t):
    topic = t.topic()
    pub = t.client(version=4)
    pub.publish(topic, b"kept", qos=1, retain=True)
    pub.publish(topic, b"passing", qos=1, retain=False)
    sub = fresh_sub(t, topic)
    sub.expect_publish(topic, b"kept")
    sub.expect_nothing(0.5)


@T.check()
def retained_wildcards(t):
    base = t.topic()
    names = [f"{base}/a", f"{base}/b/c", f"{base}/d"]
    pub = t.client(version=4)
    for n in names:
        pub.publish(n, n.encode(), qos=1, retain=True)
    for flt, want in ((f"{base}/#", names), (f"{base}/+", [names[0], names[2]]),
                      (f"{base}/+/c", [names[1]])):
        sub = fresh_sub(t, flt)
        got = sorted(p.topic for p in sub.collect(0.7))
        check(got == sorted(want), f"{flt}: retained {got}, expected {sorted(want)}")


@T.check()
def retained_qos_capped_by_subscription(t):
    topic = t.topic()
    pub = t.client(version=4)
    pub.publish(topic, b"q2", qos=2, retain=True)
    for sq in (0, 1, 2):
        sub = fresh_sub(t, topic, sq)
        p = sub.expect_publish(topic, b"q2")
        check(p.qos == sq and p.retain, f"retained QoS 2 to a QoS {sq} subscription: {p!r}")


@T.check()
def retained_qos0_stored(t):
    topic = t.topic()
    pub = t.client(version=4)
    pub.publish(topic, b"q0", qos=0, retain=True)
    pub.is_open()  # round trip so the PUBLISH was processed
    sub = fresh_sub(t, topic, 1)
    p = sub.expect_publish(topic, b"q0")
    check(p.qos == 0 and p.retain, f"{p!r}")


@T.check()
def resubscribe_gets_retained_again_rh0(t):
    # Retain Handling 0 (and 3.1.1): every SUBSCRIBE, even a repeated one, sends retained.
    for v in (4, 5):
        topic = t.topic()
        t.client(version=4).publish(topic, b"r", qos=1, retain=True)
        sub = fresh_sub(t, topic, 0, v, {"rh": 0})
        sub.expect_publish(topic, b"r")
        sub.subscribe([(topic, {"rh": 0} if v == 5 else 0)])
        p = sub.expect_publish(topic, b"r")
        check(p.retain, f"v{v}: resubscribe retained delivery {p!r}")


@T.check()
def retain_handling_1_only_new_subscription(t):
    topic = t.topic()
    t.client(version=4).publish(topic, b"r", qos=1, retain=True)
    sub = t.client(version=5)
    sub.subscribe([(topic, {"rh": 1})])
    sub.expect_publish(topic, b"r")
    sub.subscribe([(topic, {"rh": 1})])
    sub.expect_nothing(0.7, "retained message on re-subscribing with Retain Handling 1")


@T.check()
def retain_handling_2_never(t):
    topic = t.topic()
    t.client(version=4).publish(topic, b"r", qos=1, retain=True)
    sub = t.client(version=5)
    sub.subscribe([(topic, {"rh": 2})])
    sub.expect_nothing(0.7, "retained message with Retain Handling 2")
    # live messages still arrive
    t.client(version=4).publish(topic, b"live", qos=0)
    sub.expect_publish(topic, b"live")


@T.check()
def retain_as_published(t):
    topic = t.topic()
    rap = t.client(version=5)
    rap.subscribe([(topic, {"rap": True})])
    plain = t.client(version=5)
    plain.subscribe([(topic, {"rap": False})])
    pub = t.client(version=5)
    pub.publish(topic, b"r1", qos=1, retain=True)
    p = rap.expect_publish(topic, b"r1")
    check(p.retain, f"Retain As Published: live delivery must keep RETAIN=1: {p!r}")
    p = plain.expect_publish(topic, b"r1")
    check(not p.retain, f"without Retain As Published live delivery has RETAIN=0: {p!r}")
    pub.publish(topic, b"n1", qos=1, retain=False)
    p = rap.expect_publish(topic, b"n1")
    check(not p.retain, f"Retain As Published with a non-retained publish: {p!r}")


@T.check()
def retained_v5_properties_kept(t):
    topic = t.topic()
    pub = t.client(version=5)
    pub.publish(topic, b"{}", qos=1, retain=True,
                props={"content_type": "application/json", "user_property": [("k", "v")]})
    sub = fresh_sub(t, topic, 1, 5)
    p = sub.expect_publish(topic, b"{}")
    check(p.props.get("content_type") == "application/json" and
          ("k", "v") in p.props.getall("user_property"),
          f"retained message lost its properties: {p!r}")


@T.check()
def retained_dollar_topics_not_matched_by_hash(t):
    # 4.7.2: '#' and '+' at the first level do not match topics starting with '$'.
    base = t.topic()
    sub = fresh_sub(t, "#")
    sub.collect(0.5)   # whatever other tests left retained: ignored
    pub = t.client(version=4)
    pub.publish(base, b"normal", qos=0)
    got = [p for p in sub.collect(0.7) if not p.retain]
    check(any(p.topic == base for p in got), f"'#' missed {base}: {got}")
    check(not any(p.topic.startswith("$") for p in got), f"'#' matched a $ topic: {got}")


@T.check()
def many_retained_messages(t):
    base = t.topic()
    pub = t.client(version=4)
    n = 100
    for i in range(n):
        pub.publish(f"{base}/{i}", str(i).encode(), qos=1, retain=True)
    sub = fresh_sub(t, base + "/#", 1)
    got = sub.collect(1.0)
    check(sorted(int(p.payload) for p in got) == list(range(n)),
          f"{len(got)} of {n} retained messages delivered")
    check(all(p.retain for p in got), "retained delivery without RETAIN=1")


if __name__ == "__main__":
    T.main()
