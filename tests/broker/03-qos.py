#!/usr/bin/python3
"""03-qos: QoS 0/1/2 in both directions, packet ids, downgrade, duplicates, flow control.

Publisher -> broker and broker -> subscriber flows (3.1.1 4.3, 5.0 4.3), the delivered QoS is
min(published, granted) (3.1.1 3.8.4 / 5.0 3.8.4), a QoS 2 PUBLISH resent with the same
packet id before PUBREL is delivered once (4.3.3), packet ids of unacknowledged outgoing
messages are non-zero and distinct (2.3.1), and the broker never has more unacknowledged
QoS 1/2 PUBLISHes out than the client's Receive Maximum (5.0 4.9) or max_inflight_messages.
"""

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


def pair(t, version=4, qos=0, sub_version=None, sub_props=None):
    topic = t.topic()
    sub = t.conn(sub_version or version)
    sub.connect(t.cid("sub"), props=sub_props)
    s = sub.subscribe([(topic, qos)])
    check(s.codes == [qos], f"SUBACK granted {s.codes}, requested QoS {qos}")
    pub = t.client(version=version)
    return topic, sub, pub


@T.check()
def qos0_both_versions(t):
    for v in (3, 4, 5):
        topic, sub, pub = pair(t, v, 0)
        pub.publish(topic, b"q0", qos=0)
        p = sub.expect_publish(topic, b"q0")
        check(p.qos == 0 and p.pid is None and not p.dup, f"v{v}: QoS 0 delivery {p!r}")


@T.check()
def qos1_flow(t):
    for v in (3, 4, 5):
        topic, sub, pub = pair(t, v, 1)
        pid = 4242
        pub.send(mw.publish(topic, b"q1", qos=1, pid=pid, version=v))
        a = pub.expect(mw.PUBACK)
        check(a.pid == pid, f"v{v}: PUBACK for {a.pid}, expected {pid}")
        check(a.rc in (0, 0x10), f"v{v}: PUBACK reason {mw.rc_name(a.rc)}")
        p = sub.expect_publish(topic, b"q1", ack=False)
        check(p.qos == 1 and p.pid and not p.dup, f"v{v}: expected QoS 1 with a packet id: {p!r}")
        sub.send(mw.puback(p.pid, version=v))
        check(sub.is_open(), f"v{v}: subscriber dead after PUBACK")


@T.check()
def qos2_flow(t):
    for v in (3, 4, 5):
        topic, sub, pub = pair(t, v, 2)
        pid = 777
        pub.send(mw.publish(topic, b"q2", qos=2, pid=pid, version=v))
        r = pub.expect(mw.PUBREC)
        check(r.pid == pid and r.rc in (0, 0x10), f"v{v}: PUBREC {r!r}")
        pub.send(mw.pubrel(pid, version=v))
        c = pub.expect(mw.PUBCOMP)
        check(c.pid == pid and c.rc == 0, f"v{v}: PUBCOMP {c!r}")
        p = sub.expect_publish(topic, b"q2", ack=False)
        check(p.qos == 2 and p.pid and not p.dup, f"v{v}: expected QoS 2: {p!r}")
        sub.send(mw.pubrec(p.pid, version=v))
        rel = sub.expect(mw.PUBREL)
        check(rel.pid == p.pid and rel.flags == 0x02, f"v{v}: PUBREL {rel!r} flags {rel.flags}")
        sub.send(mw.pubcomp(p.pid, version=v))
        sub.expect_nothing(0.5)
        check(sub.is_open(), f"v{v}: subscriber dead after PUBCOMP")


@T.check()
def qos_downgrade_to_granted(t):
    # Delivered QoS = min(published QoS, granted QoS), for every combination.
    for v in (4, 5):
        for sq in (0, 1, 2):
            topic, sub, pub = pair(t, v, sq)
            for pq in (0, 1, 2):
                pub.publish(topic, f"{pq}->{sq}".encode(), qos=pq)
                p = sub.expect_publish(topic, f"{pq}->{sq}".encode())
                check(p.qos == min(pq, sq),
                      f"v{v}: published QoS {pq} to a QoS {sq} subscription, delivered at "
                      f"QoS {p.qos} (expected {min(pq, sq)})")


@T.check()
def suback_grants_requested(t):
    for v in (4, 5):
        c = t.client(version=v)
        topics = [(t.topic(), q) for q in (0, 1, 2)]
        s = c.subscribe(topics)
        check(s.codes == [0, 1, 2], f"v{v}: SUBACK {s.codes}, expected [0, 1, 2]")


@T.check()
def qos2_duplicate_delivered_once(t):
    for v in (4, 5):
        topic, sub, pub = pair(t, v, 2)
        pid = 99
        pub.send(mw.publish(topic, b"once", qos=2, pid=pid, version=v))
        pub.expect(mw.PUBREC)
        # The same packet id again before PUBREL (a resend, DUP set): not a new message.
        pub.send(mw.publish(topic, b"once", qos=2, pid=pid, dup=True, version=v))
        r2 = pub.expect(mw.PUBREC)
        check(r2.pid == pid, f"v{v}: second PUBREC {r2!r}")
        pub.send(mw.pubrel(pid, version=v))
        pub.expect(mw.PUBCOMP)
        sub.expect_publish(topic, b"once")
        got = sub.collect(1.0)
        check(not got, f"v{v}: QoS 2 message delivered twice: extra {got}")
        # After PUBCOMP the id is free: the same id now carries a new message.
        pub.publish(topic, b"new", qos=2, pid=pid)
        sub.expect_publish(topic, b"new")


@T.check()
def qos2_duplicate_without_dup_flag(t):
    topic, sub, pub = pair(t, 4, 1)
    pub.send(mw.publish(topic, b"x", qos=2, pid=5))
    pub.expect(mw.PUBREC)
    pub.send(mw.publish(topic, b"x", qos=2, pid=5))
    pub.expect(mw.PUBREC)
    pub.send(mw.pubrel(5))
    pub.expect(mw.PUBCOMP)
    sub.expect_publish(topic, b"x")
    check(not sub.collect(1.0), "QoS 2 message with a reused id delivered twice")


@T.check()
def pubrel_unknown_id_gets_pubcomp(t):
    # 3.1.1 4.3.3: PUBREL -> PUBCOMP with the same id even if the id is not known;
    # 5.0: PUBCOMP, reason 0x00 or 0x92 (Packet Identifier not found).
    for v in (4, 5):
        c = t.client(version=v)
        c.send(mw.pubrel(1234, version=v))
        p = c.expect(mw.PUBCOMP)
        check(p.pid == 1234 and p.rc in (0, 0x92), f"v{v}: {p!r}")
        check(c.is_open(), f"v{v}: connection dead after PUBREL for an unknown id")


@T.check()
def outgoing_packet_ids_distinct(t):
    for v in (4, 5):
        topic, sub, pub = pair(t, v, 1)
        for i in range(8):
            pub.publish(topic, str(i).encode(), qos=1)
        ps = [sub.expect_publish(topic, str(i).encode(), ack=False) for i in range(8)]
        ids = [p.pid for p in ps]
        check(all(ids) and len(set(ids)) == len(ids),
              f"v{v}: unacknowledged messages must have distinct non-zero ids: {ids}")
        for p in ps:
            sub.ack(p)


@T.check()
def order_preserved_qos1_qos2(t):
    for q in (1, 2):
        topic, sub, pub = pair(t, 4, q)
        n = 60
        for i in range(n):
            pub.publish(topic, str(i).encode(), qos=q)
        got = [sub.expect_publish(topic, ack=True).payload for _ in range(n)]
        check(got == [str(i).encode() for i in range(n)], f"QoS {q}: order broken: {got}")


def _window(t, sub, pub, topic, q, window, n, strict):
    """Publishes n messages at QoS q to `sub` (not acking), then acks one at a time. The
    first burst must be exactly `window`; with strict, every ack frees exactly one slot and
    the unacknowledged count never exceeds the window."""
    for i in range(n):
        pub.publish(topic, str(i).encode(), qos=q)
    first = sub.collect(1.0, ack=False)
    check(len(first) == window, f"QoS {q}, window {window}: {len(first)} unacknowledged "
                                f"PUBLISHes sent before any ack: {first}")
    got, outstanding = list(first), list(first)
    while outstanding:
        sub.ack(outstanding.pop(0))
        more = sub.collect(0.5, ack=False)
        if strict:
            check(len(outstanding) + len(more) <= window,
                  f"QoS {q}: after an ack {len(outstanding) + len(more)} unacknowledged "
                  f"PUBLISHes (window {window}); new: {[m.payload for m in more]}")
        got += more
        outstanding += more
    check([p.payload for p in got] == [str(i).encode() for i in range(n)],
          f"QoS {q}: order/content under flow control: {[p.payload for p in got]}")
    check(not sub.collect(0.3), "extra deliveries")


def _receive_maximum(t, strict):
    for q in (1, 2):
        topic = t.topic()
        sub = t.conn(5)
        sub.connect(t.cid(), props={"receive_maximum": 2})
        sub.subscribe([(topic, q)])
        pub = t.client(version=5)
        _window(t, sub, pub, topic, q, 2, 7, strict)


@T.check()
def receive_maximum_initial_window(t):
    # 5.0 4.9: with Receive Maximum 2 the broker sends at most 2 before acks; everything
    # arrives in order as acks come.
    _receive_maximum(t, False)


@T.check(tachyon_only="Mosquitto 2.0.11 sends up to Receive Maximum new messages on every "
                      "ack (3 unacked with Receive Maximum 2), breaking 5.0 4.9")
def receive_maximum_never_exceeded(t):
    _receive_maximum(t, True)


@T.check(config=["max_inflight_messages 3"])
def max_inflight_messages_v311(t):
    topic, sub, pub = pair(t, 4, 1)
    _window(t, sub, pub, topic, 1, 3, 9, t.strict)


@T.check()
def qos1_puback_v5_no_subscribers(t):
    c = t.client(version=5)
    a = c.publish(t.topic(), b"nobody", qos=1)
    check(a.rc in (0x00, 0x10), f"PUBACK with no subscribers: {mw.rc_name(a.rc)}")
    r = c.publish(t.topic(), b"nobody", qos=2)
    check(r.rc in (0x00, 0x10), f"PUBREC/PUBCOMP with no subscribers: {r!r}")


@T.check()
def overlapping_subscriptions_max_qos(t):
    # 3.1.1 3.3.5: overlapping subscriptions -> delivered at the maximum QoS of the matches,
    # once (Mosquitto and Tachyon send one copy for a 3.1.1 client).
    base = t.topic()
    sub = t.client(version=5)
    sub.subscribe([(base + "/+", 0), (base + "/#", 2)])
    pub = t.client(version=4)
    pub.publish(base + "/x", b"ov", qos=2)
    p = sub.expect_publish(base + "/x", b"ov")
    rest = sub.collect(0.7)
    for r in rest:
        check(r.payload == b"ov", f"unexpected {r!r}")
    check(max([p.qos] + [r.qos for r in rest]) == 2,
          f"overlapping QoS 0 and 2: best delivery {p!r} {rest}")


if __name__ == "__main__":
    T.main()
