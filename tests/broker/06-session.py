#!/usr/bin/python3
"""06-session: persistent sessions.

3.1.1 CleanSession 0 / 5.0 Clean Start 0 with Session Expiry: subscriptions survive a
reconnect, QoS 1/2 messages are queued while offline and delivered on reconnect in order,
QoS 0 is not queued (unless queue_qos0_messages), unacknowledged PUBLISHes are resent with
DUP=1 and their original packet ids and an unfinished QoS 2 resumes with PUBREL (4.4), the
session ends at Session Expiry (5.0 3.1.2.11.2), a clean start discards it.
"""

import time

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)

V5_KEEP = {"session_expiry": 300}


def persistent(t, cid, version, session_present=None):
    c = t.conn(version)
    c.connect(cid, clean=False, props=V5_KEEP if version == 5 else None,
              session_present=session_present)
    return c


def end_session(t, cid, version):
    c = t.conn(version)
    c.connect(cid, clean=True)
    c.disconnect()


@T.check()
def subscription_survives_reconnect(t):
    for v in (4, 5):
        cid, topic = t.cid(), t.topic()
        c = persistent(t, cid, v, False)
        c.subscribe([(topic, 1)])
        c.disconnect()
        c = persistent(t, cid, v, True)
        t.client(version=4).publish(topic, b"still subscribed", qos=1)
        c.expect_publish(topic, b"still subscribed")
        c.disconnect()
        end_session(t, cid, v)


@T.check()
def queued_while_offline(t):
    for v in (4, 5):
        for q in (1, 2):
            cid, topic = t.cid(), t.topic()
            c = persistent(t, cid, v)
            c.subscribe([(topic, q)])
            c.disconnect()
            pub = t.client(version=4)
            for i in range(10):
                pub.publish(topic, f"m{i}".encode(), qos=q)
            c = persistent(t, cid, v, True)
            got = [c.expect_publish(topic, timeout=5) for _ in range(10)]
            check([p.payload for p in got] == [f"m{i}".encode() for i in range(10)],
                  f"v{v} QoS {q}: queued messages {[p.payload for p in got]}")
            check(all(p.qos == q for p in got), f"v{v}: delivered QoS {[p.qos for p in got]}")
            c.expect_nothing(0.5)
            c.disconnect()
            end_session(t, cid, v)


@T.check()
def qos0_not_queued_by_default(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    pub = t.client(version=4)
    pub.publish(topic, b"q0", qos=0)
    pub.publish(topic, b"q1", qos=1)
    c = persistent(t, cid, 4, True)
    c.expect_publish(topic, b"q1")
    c.expect_nothing(0.7, "a QoS 0 message queued for an offline client")
    c.disconnect()
    end_session(t, cid, 4)


@T.check(config=["queue_qos0_messages true"])
def qos0_queued_when_configured(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    pub = t.client(version=4)
    pub.publish(topic, b"q0", qos=0)
    pub.publish(topic, b"q1", qos=1)
    c = persistent(t, cid, 4, True)
    got = sorted(p.payload for p in c.collect(1.0))
    check(got == [b"q0", b"q1"], f"queue_qos0_messages true: got {got}")
    c.disconnect()
    end_session(t, cid, 4)


@T.check()
def unacked_qos1_resent_with_dup(t):
    for v in (4, 5):
        cid, topic = t.cid(), t.topic()
        c = persistent(t, cid, v)
        c.subscribe([(topic, 1)])
        t.client(version=4).publish(topic, b"ack me", qos=1)
        first = c.expect_publish(topic, b"ack me", ack=False)
        check(not first.dup, f"first delivery has DUP: {first!r}")
        c.close()
        c = persistent(t, cid, v, True)
        again = c.expect_publish(topic, b"ack me", ack=False, timeout=5)
        check(again.dup, f"v{v}: re-sent PUBLISH must have DUP=1: {again!r}")
        check(again.pid == first.pid, f"v{v}: re-sent with packet id {again.pid}, "
                                      f"original {first.pid} (4.4.0-1)")
        c.ack(again)
        c.expect_nothing(0.5)
        c.disconnect()
        c = persistent(t, cid, v, True)
        c.expect_nothing(0.7, "a message that was acknowledged")
        c.disconnect()
        end_session(t, cid, v)


@T.check()
def unfinished_qos2_resumes(t):
    for v in (4, 5):
        cid, topic = t.cid(), t.topic()
        c = persistent(t, cid, v)
        c.subscribe([(topic, 2)])
        t.client(version=4).publish(topic, b"exactly once", qos=2)
        # Case 1: PUBLISH not acknowledged -> resent with DUP.
        p = c.expect_publish(topic, b"exactly once", ack=False)
        c.close()
        c = persistent(t, cid, v, True)
        p2 = c.expect_publish(topic, b"exactly once", ack=False, timeout=5)
        check(p2.dup and p2.pid == p.pid, f"v{v}: QoS 2 resend {p2!r}, first {p!r}")
        # Case 2: PUBREC sent, PUBREL not answered -> PUBREL resent, not the PUBLISH.
        c.send(mw.pubrec(p2.pid, version=v))
        rel = c.expect(mw.PUBREL)
        check(rel.pid == p.pid, f"PUBREL {rel!r}")
        c.close()
        c = persistent(t, cid, v, True)
        rel2 = c.expect(mw.PUBREL, timeout=5)
        check(rel2.pid == p.pid, f"v{v}: after reconnect expected PUBREL {p.pid}, got {rel2!r}")
        c.send(mw.pubcomp(rel2.pid, version=v))
        c.expect_nothing(0.7, "anything after the QoS 2 flow completed")
        c.disconnect()
        end_session(t, cid, v)


@T.check()
def clean_session_discards_queue(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    t.client(version=4).publish(topic, b"dropped", qos=1)
    c = t.conn(4)
    c.connect(cid, clean=True, session_present=False)
    c.expect_nothing(0.7, "queued message after a clean session")
    c.disconnect()
    c = persistent(t, cid, 4, False)
    t.client(version=4).publish(topic, b"unsubscribed", qos=1)
    c.expect_nothing(0.7, "message for the discarded subscription")
    c.disconnect()
    end_session(t, cid, 4)


@T.check()
def unsubscribe_persists(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.unsubscribe(topic)
    c.disconnect()
    c = persistent(t, cid, 4, True)
    t.client(version=4).publish(topic, b"x", qos=1)
    c.expect_nothing(0.7, "message after UNSUBSCRIBE in a persistent session")
    c.disconnect()
    end_session(t, cid, 4)


@T.check()
def session_expiry_honoured(t):
    cid, topic = t.cid(), t.topic()
    c = t.conn(5)
    c.connect(cid, clean=True, props={"session_expiry": 2})
    c.subscribe([(topic, 1)])
    c.disconnect()
    time.sleep(0.5)
    t.client(version=4).publish(topic, b"within", qos=1)
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 2}, session_present=True)
    c.expect_publish(topic, b"within")
    c.disconnect()
    time.sleep(3.5)
    t.client(version=4).publish(topic, b"after expiry", qos=1)
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 2}, session_present=False)
    c.expect_nothing(0.7, "message for an expired session")
    c.disconnect()


@T.check()
def session_expiry_zero_ends_at_close(t):
    cid, topic = t.cid(), t.topic()
    c = t.conn(5)
    c.connect(cid, clean=False)   # no Session Expiry property: 0
    c.subscribe([(topic, 1)])
    c.close()
    time.sleep(0.3)
    c = t.conn(5)
    c.connect(cid, clean=False, session_present=False)
    c.disconnect()


@T.check()
def session_expiry_set_to_zero_at_disconnect(t):
    # 5.0 3.14.2.2.2: DISCONNECT may lower a non-zero Session Expiry to 0.
    cid, topic = t.cid(), t.topic()
    c = t.conn(5)
    c.connect(cid, clean=True, props={"session_expiry": 60})
    c.subscribe([(topic, 1)])
    c.disconnect(rc=0, props={"session_expiry": 0})
    time.sleep(0.3)
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 60}, session_present=False)
    c.disconnect()
    end_session(t, cid, 5)


@T.check()
def disconnect_session_expiry_from_zero_is_protocol_error(t):
    # 5.0 3.14.2.2.2: CONNECT had 0, DISCONNECT sets non-zero -> Protocol Error.
    c = t.client(version=5)
    c.send(mw.disconnect(0, 5, {"session_expiry": 60}))
    d = c.expect_closed(5)
    if d is not None:
        check(d.rc == mw.RC["PROTOCOL_ERROR"], f"expected DISCONNECT 0x82, got {d!r}")


@T.check()
def v311_session_across_v5_reconnect(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    t.client(version=4).publish(topic, b"cross", qos=1)
    c = persistent(t, cid, 5, True)
    c.expect_publish(topic, b"cross")
    c.disconnect()
    end_session(t, cid, 5)


@T.check(config=["max_queued_messages 5"])
def max_queued_messages(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    pub = t.client(version=4)
    for i in range(12):
        pub.publish(topic, f"m{i}".encode(), qos=1)
    c = persistent(t, cid, 4, True)
    got = [p.payload for p in c.collect(1.0)]
    # Mosquitto's queue limit counts the in-flight window separately (max_inflight_messages
    # 20 here), so all 12 may arrive; at least the first ones in order, never more than sent.
    check(got[:5] == [f"m{i}".encode() for i in range(5)] and len(got) <= 12,
          f"max_queued_messages 5: got {got}")
    c.disconnect()
    end_session(t, cid, 4)


@T.check(config=["max_queued_messages 5", "max_inflight_messages 1"])
def max_queued_messages_drops_excess(t):
    cid, topic = t.cid(), t.topic()
    c = persistent(t, cid, 4)
    c.subscribe([(topic, 1)])
    c.disconnect()
    pub = t.client(version=4)
    for i in range(12):
        pub.publish(topic, f"m{i}".encode(), qos=1)
    c = persistent(t, cid, 4, True)
    got = [p.payload for p in c.collect(1.0)]
    check(len(got) < 12 and got == [f"m{i}".encode() for i in range(len(got))],
          f"with max_queued_messages 5 / max_inflight_messages 1 the oldest are kept and "
          f"the excess dropped; got {got}")
    c.disconnect()
    end_session(t, cid, 4)


if __name__ == "__main__":
    T.main()
