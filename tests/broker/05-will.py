#!/usr/bin/python3
"""05-will: the will message.

Published when the network connection is lost without DISCONNECT (3.1.1 3.1.2-8: socket
closed, keep alive expiry, protocol error), not after a normal DISCONNECT (3.1.2-10);
5.0: DISCONNECT 0x04 (Disconnect with Will Message) publishes it, Will Delay Interval
delays it and a reconnect within the delay cancels it (3.1.3.2.2), will properties are
passed through, will retain and will QoS.
"""

import time

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


def watcher(t, topic, qos=1, version=4):
    w = t.client(version=version)
    w.subscribe([(topic, qos)])
    return w


@T.check()
def will_on_socket_close(t):
    for v in (3, 4, 5):
        wt = t.topic("will")
        w = watcher(t, wt)
        c = t.client(version=v, will=mw.Will(wt, b"lost", qos=1))
        c.close()  # FIN without DISCONNECT
        p = w.expect_publish(wt, b"lost", timeout=5)
        check(p.qos == 1 and not p.retain, f"v{v}: will delivery {p!r}")


@T.check()
def will_on_reset(t):
    wt = t.topic("will")
    w = watcher(t, wt)
    c = t.client(version=4, will=mw.Will(wt, b"reset"))
    c.abort()  # RST
    w.expect_publish(wt, b"reset", timeout=5)


@T.check()
def no_will_on_disconnect(t):
    for v in (3, 4, 5):
        wt = t.topic("will")
        w = watcher(t, wt)
        c = t.client(version=v, will=mw.Will(wt, b"should not"))
        c.disconnect()
        w.expect_nothing(1.5, "will after a normal DISCONNECT")


@T.check()
def v5_disconnect_with_will(t):
    wt = t.topic("will")
    w = watcher(t, wt)
    c = t.client(version=5, will=mw.Will(wt, b"asked for"))
    c.disconnect(rc=mw.RC["DISCONNECT_WITH_WILL"])
    w.expect_publish(wt, b"asked for", timeout=5)


@T.check()
def will_on_keepalive_expiry(t):
    wt = t.topic("will")
    w = watcher(t, wt)
    t.client(version=4, keepalive=1, will=mw.Will(wt, b"silent"))
    w.expect_publish(wt, b"silent", timeout=1.5 + 7)   # Mosquitto's keep alive timer is coarse


@T.check(tachyon_only="Mosquitto 2.0.11 drops the will when it closes a connection for a "
                      "second CONNECT; 3.1.1 3.1.2-8 says a protocol error publishes it")
def will_on_protocol_error(t):
    wt = t.topic("will")
    w = watcher(t, wt)
    c = t.client(version=4, will=mw.Will(wt, b"violated"))
    c.send(mw.connect(t.cid(), 4))   # a second CONNECT: the server closes the connection
    c.expect_closed(5)
    w.expect_publish(wt, b"violated", timeout=5)


@T.check()
def will_retained(t):
    wt = t.topic("will")
    t.retain_cleanup(wt)
    c = t.client(version=4, will=mw.Will(wt, b"retained will", qos=1, retain=True))
    c.close()
    time.sleep(0.5)
    w = watcher(t, wt)
    p = w.expect_publish(wt, b"retained will", timeout=5)
    check(p.retain, f"will retain: a later subscriber must see RETAIN=1: {p!r}")


@T.check()
def will_qos_capped(t):
    wt = t.topic("will")
    w0 = watcher(t, wt, 0)
    w2 = watcher(t, wt, 2)
    c = t.client(version=4, will=mw.Will(wt, b"q2", qos=2))
    c.close()
    p = w0.expect_publish(wt, b"q2", timeout=5)
    check(p.qos == 0, f"QoS 0 subscriber: {p!r}")
    p = w2.expect_publish(wt, b"q2", timeout=5)
    check(p.qos == 2, f"QoS 2 subscriber: {p!r}")


@T.check()
def will_properties_passed_through(t):
    wt = t.topic("will")
    w = watcher(t, wt, 1, 5)
    props = {"content_type": "text/plain", "response_topic": wt + "/r",
             "correlation_data": b"\x01\x02", "payload_format": 1,
             "user_property": [("who", "me")]}
    c = t.client(version=5, will=mw.Will(wt, b"props", 1, False, props))
    c.close()
    p = w.expect_publish(wt, b"props", timeout=5)
    for k in ("content_type", "response_topic", "correlation_data", "payload_format"):
        check(p.props.get(k) == props[k], f"will property {k}: {p.props.get(k)!r}, "
                                          f"expected {props[k]!r} ({p!r})")
    check(("who", "me") in p.props.getall("user_property"), f"will user property lost: {p!r}")


@T.check()
def will_delay_interval(t):
    # 5.0 3.1.3.2.2: published after the delay (session expiry longer than the delay).
    wt, cid = t.topic("will"), t.cid()
    w = watcher(t, wt)
    c = t.client(version=5, client_id=cid, props={"session_expiry": 30},
                 will=mw.Will(wt, b"delayed", props={"will_delay": 2}))
    c.close()
    t0 = time.monotonic()
    w.expect_nothing(1.5, "will before its 2 s delay")
    w.expect_publish(wt, b"delayed", timeout=5)
    dt = time.monotonic() - t0
    check(1.5 <= dt <= 6.5, f"will with delay 2 s published after {dt:.1f}s")
    t.client(version=5, client_id=cid, clean=True).disconnect()   # end the session


@T.check()
def will_delay_cancelled_by_reconnect(t):
    wt = t.topic("will")
    w = watcher(t, wt)
    cid = t.cid()
    c = t.client(version=5, client_id=cid, props={"session_expiry": 30},
                 will=mw.Will(wt, b"cancelled", props={"will_delay": 3}))
    c.close()
    time.sleep(0.5)
    c2 = t.conn(5)
    c2.connect(cid, clean=False, props={"session_expiry": 30}, session_present=True)
    w.expect_nothing(4.0, "will after the client reconnected within the will delay")
    c2.disconnect()
    t.client(version=5, client_id=cid, clean=True).disconnect()


@T.check()
def will_delay_capped_by_session_expiry(t):
    # The will is sent when the session ends, if that is earlier than the delay.
    wt = t.topic("will")
    w = watcher(t, wt)
    c = t.client(version=5, props={"session_expiry": 1},
                 will=mw.Will(wt, b"session ended", props={"will_delay": 60}))
    c.close()
    w.expect_publish(wt, b"session ended", timeout=6)


@T.check()
def will_after_takeover_v311(t):
    wt, cid = t.topic("will"), t.cid()
    w = watcher(t, wt)
    t.client(version=4, client_id=cid, will=mw.Will(wt, b"taken"))
    t.client(version=4, client_id=cid)
    w.expect_publish(wt, b"taken", timeout=5)


@T.check()
def will_topic_with_wildcard_refused(t):
    # 3.1.1 3.1.3-11/ 5.0 3.1.3.3: the Will Topic is a topic name: no wildcards.
    for v in (4, 5):
        c = t.conn(v)
        c.send(mw.connect(t.cid(), v, will=mw.Will("a/+/b", b"x")))
        try:
            a = c.recv(5)
        except mw.Closed:
            continue
        check(a.type == mw.CONNACK and a.rc != 0,
              f"v{v}: will topic with '+': expected refusal or close, got {a!r}")
        c.expect_closed()


if __name__ == "__main__":
    T.main()
