#!/usr/bin/python3
"""08-shared: shared subscriptions $share/<group>/<filter> (5.0 4.8.2).

Each message matching a group goes to exactly one member of the group; every group gets its
own copy; ordinary subscriptions on the same filter get theirs; members may be 3.1.1 or 5.0
clients (like Mosquitto, Tachyon accepts $share/ from 3.1.1 clients); a member that leaves or
unsubscribes stops receiving; invalid share names are refused; retained messages are not
sent when a shared subscription is made.
"""

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


def group_members(t, group, flt, versions, qos=1):
    ms = []
    for v in versions:
        c = t.client(version=v)
        c.subscribe([(f"$share/{group}/{flt}", qos)])
        ms.append(c)
    return ms


def gather(members, quiet=1.0):
    got = []
    for m in members:
        got.append([p.payload for p in m.collect(quiet)])
    return got


def check_once(got, n, what):
    flat = sorted(int(x) for g in got for x in g)
    check(flat == list(range(n)),
          f"{what}: each of {n} messages must reach exactly one member; per member "
          f"{[len(g) for g in got]}, missing {sorted(set(range(n)) - set(flat))}, "
          f"duplicates {sorted({x for x in flat if flat.count(x) > 1})}")


@T.check()
def connack_shared_available(t):
    c = t.conn(5)
    a = c.connect(t.cid())
    check(a.props.get("shared_sub_available", 1) == 1, f"shared subscriptions unavailable: {a!r}")


@T.check()
def each_message_to_one_member_v5(t):
    topic = t.topic()
    ms = group_members(t, "g1", topic, (5, 5, 5))
    pub = t.client(version=5)
    n = 60
    for i in range(n):
        pub.publish(topic, str(i).encode(), qos=1)
    check_once(gather(ms), n, "3 v5 members")


@T.check()
def each_message_to_one_member_mixed_versions(t):
    topic = t.topic()
    ms = group_members(t, "mix", topic, (4, 5, 4, 5))
    pub = t.client(version=4)
    n = 60
    for i in range(n):
        pub.publish(topic, str(i).encode(), qos=i % 3)
    check_once(gather(ms), n, "3.1.1 and 5.0 members")


@T.check()
def qos0_shared(t):
    topic = t.topic()
    ms = group_members(t, "q0", topic, (4, 5), qos=0)
    pub = t.client(version=5)
    for i in range(20):
        pub.publish(topic, str(i).encode(), qos=0)
    pub.is_open()
    check_once(gather(ms), 20, "QoS 0 members")


@T.check()
def several_groups_and_plain_subscriber(t):
    topic = t.topic()
    g1 = group_members(t, "ga", topic, (5, 4))
    g2 = group_members(t, "gb", topic, (5, 5, 4))
    plain = t.client(version=5)
    plain.subscribe([(topic, 1)])
    pub = t.client(version=5)
    n = 30
    for i in range(n):
        pub.publish(topic, str(i).encode(), qos=1)
    check_once(gather(g1), n, "group ga")
    check_once(gather(g2, 0.3), n, "group gb")
    got = [int(p.payload) for p in plain.collect(0.3)]
    check(got == list(range(n)), f"plain subscriber must get all {n} in order: {got}")


@T.check()
def shared_wildcard_filter(t):
    base = t.topic()
    ms = group_members(t, "wild", base + "/+", (5, 5))
    pub = t.client(version=5)
    for i in range(20):
        pub.publish(f"{base}/{i % 4}", str(i).encode(), qos=1)
    check_once(gather(ms), 20, "$share/wild/<base>/+")


@T.check()
def same_client_in_group_and_plain(t):
    # A client with a plain and a shared subscription matching: the plain one always
    # delivers; the group may pick it too (then it gets the message twice).
    topic = t.topic()
    c = t.client(version=5)
    c.subscribe([(topic, 1), (f"$share/sp/{topic}", 1)])
    t.client(version=5).publish(topic, b"x", qos=1)
    got = [p.payload for p in c.collect(0.7)]
    check(got == [b"x", b"x"], f"one plain + one shared subscription (sole member): got {got}")


@T.check()
def member_leaves(t):
    topic = t.topic()
    a, b = group_members(t, "leave", topic, (5, 4))
    a.disconnect()
    pub = t.client(version=5)
    for i in range(10):
        pub.publish(topic, str(i).encode(), qos=1)
    got = [int(p.payload) for p in b.collect(0.7)]
    check(sorted(got) == list(range(10)), f"remaining member must get all 10: {got}")


@T.check()
def member_unsubscribes(t):
    topic = t.topic()
    a, b = group_members(t, "unsub", topic, (5, 5))
    u = a.unsubscribe(f"$share/unsub/{topic}")
    check(u.codes == [0], f"UNSUBACK for the shared subscription: {u!r}")
    pub = t.client(version=5)
    for i in range(10):
        pub.publish(topic, str(i).encode(), qos=1)
    check(not a.collect(0.5), "unsubscribed member still receives")
    got = [int(p.payload) for p in b.collect(0.3)]
    check(sorted(got) == list(range(10)), f"remaining member must get all 10: {got}")


@T.check(tachyon_only="Mosquitto 2.0.11 sends retained messages to a new shared subscription; "
                      "5.0 3.3.1.3 sends them only for a new Non-shared Subscription")
def no_retained_on_shared_subscribe(t):
    # 5.0 4.8.2: retained messages are not sent when a shared subscription is established.
    topic = t.topic()
    t.client(version=5).publish(topic, b"retained", qos=1, retain=True)
    m = t.client(version=5)
    m.subscribe([(f"$share/ret/{topic}", 1)])
    m.expect_nothing(0.7, "a retained message on a shared subscription")


@T.check(tachyon_only="Mosquitto 2.0.11 grants No Local on a shared subscription")
def no_local_on_shared_is_protocol_error(t):
    # 5.0 3.8.3-4: No Local on a shared subscription is a Protocol Error.
    c = t.client(version=5)
    c.send(mw.subscribe(1, [(f"$share/nl/{t.topic()}", {"qos": 0, "nl": True})], 5))
    c.expect_closed(5, disconnect=mw.RC["PROTOCOL_ERROR"])


@T.check()
def invalid_share_names(t):
    # 4.8.2: ShareName must not be empty nor contain '/', '+', '#'; a filter must follow.
    # Mosquitto 2.0.11 refuses only the wildcard ones (the rest: strict targets).
    bads = ["$share/g+/x", "$share/g#/x"]
    if t.strict:
        bads += ["$share//x", "$share/g", "$share/g/", "$share/"]
    for bad in bads:
        c = t.client(version=5)
        c.send(mw.subscribe(1, [(bad, 0)], 5))
        try:
            p = c.recv(5)
        except mw.Closed:
            continue
        if p.type == mw.SUBACK:
            check(p.codes[0] >= 0x80, f"{bad!r} accepted: {p!r}")
        else:
            check(p.type == mw.DISCONNECT and p.rc in (0x81, 0x82, 0x8F),
                  f"{bad!r}: expected SUBACK 0x8F or DISCONNECT 0x81/0x82, got {p!r}")


@T.check()
def shared_many_members_many_messages(t):
    topic = t.topic()
    ms = group_members(t, "many", topic, (5, 4) * 5)
    pub = t.client(version=5)
    n = 300
    for i in range(n):
        pub.publish(topic, str(i).encode(), qos=1)
    check_once(gather(ms, 0.5), n, "10 members, 300 messages")


if __name__ == "__main__":
    T.main()
