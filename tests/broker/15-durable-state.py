#!/usr/bin/python3
"""15-durable-state: what a client was told survives a kill -9 (persistence_mode sync).

Runs the real tachyond over a tap (tests/integration/harness.py) with `persistence true`,
`persistence_mode sync`, and kills it with SIGKILL (no shutdown, no final snapshot):

- suback_survives_kill: a persistent session gets SUBACK (then the retained message of the
  filter, after the SUBACK) or UNSUBACK; tachyond is killed at once; after the restart a
  publish reaches the subscription that was acknowledged, and not the one whose UNSUBACK was
  seen. `acks_held` shows the SUBACK waited for the log.
- wills_after_kill: persistent MQTT 5 / 3.1.1 sessions with wills: connected at the kill
  (delay 0 and delay 2 s), one whose delay was running at the kill (network gone without
  DISCONNECT), one that said DISCONNECT normally. After the restart a persistent will
  subscriber gets exactly the three wills due, once each (the crash is an unclean close),
  and not the one a normal DISCONNECT removed; a second restart sends none again.
- sub_ids_restored: messages queued for an offline MQTT 5 session with subscription
  identifiers come back from the log after a kill -9 with the same identifiers a live
  delivery carries.

Usage: 15-durable-state.py [--workers N] [--tachyond PATH] [-k NAME]
       (env TACHYOND / TACHYONCTL, root; --mosquitto / --host: skipped)
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import mqtt_wire as mw  # noqa: E402
from harness import check  # noqa: E402

WORKERS = 1
from durable import CONF, conn, persistent, restart_after_kill, start  # noqa: E402


def suback_survives_kill():
    b = harness.Broker("dur15-sub", workers=WORKERS, extra=CONF)
    try:
        start(b)
        p = conn(b, 4)
        p.connect("dur15-retainer")
        p.publish("dur15/s/ret", b"R", qos=1, retain=True)
        p.disconnect()
        held0 = b.stats().get("mqtt", {}).get("acks_held", 0)
        # SUBACK first, then the retained message of the filter
        s = persistent(b, "dur15-s1", 4, False)
        s.send(mw.subscribe(7, [("dur15/s/#", 1)]))
        first = s.recv()
        check(first.type == mw.SUBACK and first.pid == 7 and first.codes == [1],
              f"expected SUBACK 7 first, got {first!r}")
        r = s.expect_publish("dur15/s/ret", b"R")
        check(r.retain, f"retained message without RETAIN: {r!r}")
        s.close()  # network gone, no DISCONNECT: the session stays
        # a second session: subscribed, then unsubscribed (UNSUBACK seen)
        u = persistent(b, "dur15-s2", 5, False)
        u.subscribe([("dur15/u/#", 1)])
        u.send(mw.unsubscribe(9, ["dur15/u/#"], version=5))
        ua = u.expect(mw.UNSUBACK)
        check(ua.pid == 9 and ua.codes == [0], f"UNSUBACK: {ua!r}")
        u.close()
        held = b.stats().get("mqtt", {}).get("acks_held", 0)
        check(held >= held0 + 3, f"sync mode: (UN)SUBACKs of durable sessions should wait "
                                 f"for the log: acks_held {held0} -> {held}")
        restart_after_kill(b)
        pub = conn(b, 4)
        pub.connect("dur15-pub")
        pub.publish("dur15/s/1", b"after", qos=1)
        pub.publish("dur15/u/1", b"gone", qos=1)
        pub.disconnect()
        s = persistent(b, "dur15-s1", 4, True)
        s.expect_publish("dur15/s/1", b"after", timeout=5)
        s.expect_nothing(1.0, "message after the one for the subscription")
        s.disconnect()
        u = persistent(b, "dur15-s2", 5, True)
        u.expect_nothing(1.5, "message for the unsubscribed filter")
        u.disconnect()
        rc = b.stop()
        check(rc == 0, f"exit code {rc} after SIGTERM:\n{b.log_text()}")
    except BaseException:
        sys.stderr.write(f"--- tachyond log ---\n{b.log_text()[-6000:]}\n")
        raise
    finally:
        b.cleanup()


def will(cid, delay=None):
    props = {"will_delay": delay} if delay is not None else None
    return mw.Will("dur15/will", cid.encode(), qos=1, props=props)


def collect_wills(c, want, total=20.0):
    """Payloads of the wills c receives until `want` distinct ones came (or `total` s),
    then 1 s more to catch duplicates."""
    got = []
    deadline = time.monotonic() + total
    while time.monotonic() < deadline and len(set(got)) < want:
        try:
            p = c.expect_publish("dur15/will", timeout=max(0.1, deadline - time.monotonic()))
        except mw.Timeout:
            break
        got.append(p.payload.decode())
    got += [p.payload.decode() for p in c.collect(timeout=1.0, total=2.0)]
    return got


def wills_after_kill():
    b = harness.Broker("dur15-will", workers=WORKERS, extra=CONF)
    try:
        start(b)
        ws = persistent(b, "dur15-will-sub", 5, False)
        ws.subscribe([("dur15/will", 1)])
        ws.disconnect()
        # connected at the kill: will at once after the restart / after its delay
        a = persistent(b, "dur15-w-a", 5, False, will=will("dur15-w-a", 0))
        d = persistent(b, "dur15-w-d", 5, False, will=will("dur15-w-d", 2))
        e = persistent(b, "dur15-w-e", 4, False, will=will("dur15-w-e"))
        # normal DISCONNECT: the will is gone for good
        c = persistent(b, "dur15-w-c", 5, False, will=will("dur15-w-c", 0))
        c.disconnect()
        # network gone without DISCONNECT, delay running at the kill
        g = persistent(b, "dur15-w-b", 5, False, will=will("dur15-w-b", 3))
        g.close()
        # the sessions' records must be on disk: wait for a SUBACK of each connection
        # (held until its session's records are durable in sync mode)
        for x in (a, d, e):
            x.subscribe([("dur15/nothing", 0)])
        time.sleep(0.3)  # settle: b's disconnect records may come from another worker
        restart_after_kill(b)
        ws = persistent(b, "dur15-will-sub", 5, True)
        got = collect_wills(ws, 4)
        want = {"dur15-w-a", "dur15-w-b", "dur15-w-d", "dur15-w-e"}
        check(set(got) == want, f"wills after the kill: expected {sorted(want)}, got {got}")
        check(len(got) == len(set(got)), f"a will published twice: {got}")
        ws.disconnect()
        rc = b.stop()
        check(rc == 0, f"exit code {rc} after SIGTERM:\n{b.log_text()}")
        start(b)
        ws = persistent(b, "dur15-will-sub", 5, True)
        ws.expect_nothing(2.0, "will published again after a second restart")
        ws.disconnect()
        rc = b.stop()
        check(rc == 0, f"exit code {rc} after SIGTERM:\n{b.log_text()}")
    except BaseException:
        sys.stderr.write(f"--- tachyond log ---\n{b.log_text()[-6000:]}\n")
        raise
    finally:
        b.cleanup()


def sub_ids_restored():
    b = harness.Broker("dur15-sid", workers=WORKERS, extra=CONF)
    try:
        start(b)
        s = persistent(b, "dur15-sid-s", 5, False)
        s.subscribe([("dur15/sid/#", 1)], props={"subscription_id": 42})
        s.subscribe([("dur15/sid/+", 2)], props={"subscription_id": 43})
        pub = conn(b, 4)
        pub.connect("dur15-sid-pub")
        pub.publish("dur15/sid/live", b"live", qos=1)
        live = s.expect_publish("dur15/sid/live", b"live", timeout=5)
        live_ids = sorted(live.props.getall("subscription_id"))
        check(live_ids == [42, 43], f"live delivery: subscription ids {live_ids}, {live!r}")
        s.disconnect()
        for i in range(3):
            pub.publish("dur15/sid/q", str(i).encode(), qos=1)  # PUBACK: on disk
        pub.disconnect()
        restart_after_kill(b)
        s = persistent(b, "dur15-sid-s", 5, True)
        for i in range(3):
            p = s.expect_publish("dur15/sid/q", str(i).encode(), timeout=5)
            ids = sorted(p.props.getall("subscription_id"))
            check(ids == live_ids, f"restored message {i}: subscription ids {ids}, expected "
                                   f"{live_ids}: {p!r}")
        s.disconnect()
        rc = b.stop()
        check(rc == 0, f"exit code {rc} after SIGTERM:\n{b.log_text()}")
    except BaseException:
        sys.stderr.write(f"--- tachyond log ---\n{b.log_text()[-6000:]}\n")
        raise
    finally:
        b.cleanup()


def main():
    global WORKERS
    ap = argparse.ArgumentParser(description="15-durable-state")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BROKER_WORKERS", "1")))
    ap.add_argument("-k", dest="select", default=None)
    # tests/broker/run's target options: this file needs a tachyond it can kill and restart
    ap.add_argument("--tachyond", default=None)
    ap.add_argument("--mosquitto", action="store_true")
    ap.add_argument("--host", default=None)
    ap.add_argument("--port", default=None)
    a = ap.parse_args()
    WORKERS = a.workers
    if a.mosquitto or a.host or a.port:
        print("15-durable-state: skip: needs a tachyond of its own (kill -9, restart)")
        sys.exit(77)
    if a.tachyond:
        harness.TACHYOND = a.tachyond
    if os.geteuid() != 0:
        print("15-durable-state: skip: tachyond needs root (tap port)")
        sys.exit(77)
    tests = [suback_survives_kill, wills_after_kill, sub_ids_restored]
    if a.select:
        tests = [t for t in tests if a.select in t.__name__]
    harness.run_tests(tests)


if __name__ == "__main__":
    main()
