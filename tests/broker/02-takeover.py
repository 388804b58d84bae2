#!/usr/bin/python3
"""02-takeover: a second connection with the same client id takes the session over.

3.1.1 3.1.4-2: the server disconnects the existing client. 5.0 3.1.4-3: it sends the old
connection DISCONNECT 0x8E (Session taken over) and closes it. The new one works; a session
kept across the takeover keeps its subscriptions. Repeated over many connections so that
with 2 workers (flows hashed to queues by the kernel) old and new land on different workers.
"""

import time

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


@T.check()
def takeover_v311(t):
    cid = t.cid()
    old = t.client(version=4, client_id=cid)
    new = t.client(version=4, client_id=cid)
    old.expect_closed(5, disconnect=False)
    check(new.is_open(), "the new connection does not work after the takeover")


@T.check()
def takeover_v5(t):
    cid = t.cid()
    old = t.client(version=5, client_id=cid)
    new = t.client(version=5, client_id=cid)
    t.expect_taken_over(old)
    check(new.is_open(), "the new connection does not work after the takeover")


@T.check(tachyon_only="Mosquitto 2.0.11 closes the old v5 connection without DISCONNECT 0x8E")
def takeover_v5_disconnect_0x8e(t):
    cid = t.cid()
    old = t.client(version=5, client_id=cid)
    new = t.client(version=5, client_id=cid)
    old.expect_closed(5, disconnect=mw.RC["SESSION_TAKEN_OVER"])
    check(new.is_open(), "the new connection does not work after the takeover")


@T.check()
def takeover_mixed_versions(t):
    cid = t.cid()
    old = t.client(version=5, client_id=cid)
    new = t.client(version=4, client_id=cid)
    t.expect_taken_over(old)
    check(new.is_open(), "new 3.1.1 connection dead")
    newer = t.client(version=5, client_id=cid)
    new.expect_closed(5, disconnect=False)
    check(newer.is_open(), "newest v5 connection dead")


@T.check()
def takeover_keeps_persistent_subscription(t):
    cid, topic = t.cid(), t.topic()
    old = t.client(version=4, client_id=cid, clean=False)
    old.subscribe([(topic, 1)])
    new = t.conn(4)
    new.connect(cid, clean=False, session_present=True)
    old.expect_closed(5)
    pub = t.client(version=4)
    pub.publish(topic, b"after-takeover", qos=1)
    p = new.expect_publish(topic, b"after-takeover")
    check(p.qos == 1, f"expected QoS 1 delivery, got {p!r}")
    new.disconnect()
    t.client(version=4, client_id=cid, clean=True).disconnect()


@T.check()
def takeover_clean_drops_subscription(t):
    cid, topic = t.cid(), t.topic()
    old = t.client(version=4, client_id=cid, clean=False)
    old.subscribe([(topic, 1)])
    new = t.conn(4)
    new.connect(cid, clean=True, session_present=False)
    old.expect_closed(5)
    pub = t.client(version=4)
    pub.publish(topic, b"nobody", qos=1)
    new.expect_nothing(1.0)


@T.check()
def takeover_publishes_will_v311(t):
    # 3.1.1: the will of the taken-over connection IS published (it did not DISCONNECT).
    # Checked on 3.1.1 only, where all brokers agree.
    cid, wt = t.cid(), t.topic("will")
    watcher = t.client(version=4)
    watcher.subscribe(wt)
    t.client(version=4, client_id=cid, will=mw.Will(wt, b"gone"))
    t.client(version=4, client_id=cid)
    p = watcher.expect_publish(wt, b"gone", timeout=5)
    check(not p.retain, f"will was not retained: {p!r}")


@T.check()
def takeover_many_connections(t):
    # 40 rounds of old/new pairs, each from a new source port: with 2 workers, some pairs
    # are split across workers. Every old connection must be closed (v5: 0x8E first, required
    # except against mosquitto) and
    # every new one must work.
    rounds = 40
    cids = [t.cid(f"m{i}-") for i in range(rounds)]
    olds = []
    for i, cid in enumerate(cids):
        olds.append(t.client(version=5 if i % 2 else 4, client_id=cid))
    news = []
    for i, cid in enumerate(cids):
        news.append(t.client(version=4 if i % 3 else 5, client_id=cid))
    for o in olds:
        t.expect_taken_over(o)
    for i, n in enumerate(news):
        check(n.is_open(), f"round {i}: new connection for {cids[i]} is dead")
    t.check_spread("80 connections")


@T.check()
def takeover_chain(t):
    # The same id taken over 15 times in a row, alternating versions.
    cid = t.cid()
    prev = None
    for i in range(15):
        c = t.client(version=5 if i % 2 else 4, client_id=cid)
        if prev is not None:
            t.expect_taken_over(prev)
        prev = c
    check(prev.is_open(), "last connection dead")


@T.check()
def takeover_delivery_goes_to_new_connection(t):
    cid, topic = t.cid(), t.topic()
    for i in range(10):
        c = t.client(version=5, client_id=cid, clean=False, props={"session_expiry": 30})
        c.subscribe([(topic, 1)])
        time.sleep(0.05)
    pub = t.client(version=4)
    pub.publish(topic, b"one", qos=1)
    c.expect_publish(topic, b"one")
    c.expect_nothing(0.5)
    c.disconnect()
    t.client(version=5, client_id=cid, clean=True).disconnect()


if __name__ == "__main__":
    T.main()
