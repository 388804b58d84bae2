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
- will_acl_user_after_kill: two listeners with their own acl_file (per_listener_settings):
  on 1884 only `user alice` (password_file by mosquitto_passwd) may write the will topic.
  Wills of sessions connected at the kill: alice's on 1884 is published after the restart;
  an anonymous one on 1884 and alice's on 1883 (whose ACL does not grant it) are refused
  (`acl_denied_will` 2): the restored sessions are checked as the user they were, on the
  listener they were.

Usage: 15-durable-state.py [--workers N] [--tachyond PATH] [-k NAME]
       (env TACHYOND / TACHYONCTL, root; --mosquitto / --host: skipped)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import mqtt_wire as mw  # noqa: E402
from harness import check  # noqa: E402

WORKERS = 1
from durable import (CONF, conn, persistent, restart_after_kill, running, start,  # noqa: E402
                     stop_clean)


def suback_survives_kill():
    with running("dur15-sub", WORKERS, CONF) as b:
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
        stop_clean(b)


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
    with running("dur15-will", WORKERS, CONF) as b:
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
        stop_clean(b)
        start(b)
        ws = persistent(b, "dur15-will-sub", 5, True)
        ws.expect_nothing(2.0, "will published again after a second restart")
        ws.disconnect()
        stop_clean(b)


def sub_ids_restored():
    with running("dur15-sid", WORKERS, CONF) as b:
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
        stop_clean(b)


AW_ACL0 = """\
# 15-durable-state, listener 1883: guests and alice read the wills; nobody writes them
topic read dur15/aw/#
user alice
topic read dur15/aw/#
"""
AW_ACL1 = """\
# 15-durable-state, listener 1884: only alice writes the will topic
topic read dur15/aw/#
user alice
topic write dur15/aw/alice
topic read dur15/aw/#
"""


def will_acl_user_after_kill():
    tmp = tempfile.mkdtemp(prefix="dur15-aw-")
    b = None
    try:
        pw = os.path.join(tmp, "passwd")
        subprocess.run(["mosquitto_passwd", "-c", "-b", pw, "alice", "secret"], check=True,
                       capture_output=True)
        acl0, acl1 = os.path.join(tmp, "acl0"), os.path.join(tmp, "acl1")
        for path, text in ((acl0, AW_ACL0), (acl1, AW_ACL1)):
            with open(path, "w") as f:
                f.write(text)
        conf = CONF + ["per_listener_settings true",
                       "listener 1883", "allow_anonymous true", f"acl_file {acl0}",
                       "listener 1884", "allow_anonymous true", f"password_file {pw}",
                       f"acl_file {acl1}"]
        b = harness.Broker("dur15-aw", workers=WORKERS, extra=conf)
        start(b)

        def session(cid, port, user):
            c = mw.Conn(b.ip, port, 5, 5.0)
            c.connect(cid, clean=False, props={"session_expiry": 3600},
                      username=user, password=b"secret" if user else None,
                      will=mw.Will("dur15/aw/alice", cid.encode(), qos=1))
            # SUBACK is held until the session's records are on disk (sync mode)
            c.subscribe([("dur15/aw/none", 0)])
            return c

        ws = mw.Conn(b.ip, 1883, 5, 5.0)
        ws.connect("dur15-aw-sub", clean=False, props={"session_expiry": 3600})
        ws.subscribe([("dur15/aw/#", 1)])
        ws.disconnect()
        keep = [session("dur15-aw-alice", 1884, "alice"),   # granted by her section
                session("dur15-aw-anon", 1884, None),       # 1884's guests may not
                session("dur15-aw-alice0", 1883, "alice")]  # 1883 does not grant alice
        time.sleep(0.3)
        restart_after_kill(b)
        ws = mw.Conn(b.ip, 1883, 5, 5.0)
        ws.connect("dur15-aw-sub", clean=False, props={"session_expiry": 3600},
                   session_present=True)
        got = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not got:
            got += [p.payload.decode() for p in ws.collect(timeout=0.5, total=1.0)
                    if p.topic == "dur15/aw/alice"]
        got += [p.payload.decode() for p in ws.collect(timeout=1.0, total=2.0)
                if p.topic == "dur15/aw/alice"]
        denied = b.stats()["mqtt"]["acl_denied_will"]
        check(got == ["dur15-aw-alice"],
              f"wills after the kill: expected only alice's of listener 1884, got {got} "
              f"(acl_denied_will {denied})")
        check(denied == 2, f"acl_denied_will {denied}, expected 2 (the guest of 1884, "
                           f"alice on 1883)")
        ws.disconnect()
        for c in keep:
            c.close()
        stop_clean(b)
    except BaseException:
        if b is not None:
            sys.stderr.write(f"--- tachyond log ---\n{b.log_text()[-6000:]}\n")
        raise
    finally:
        if b is not None:
            b.cleanup()
        shutil.rmtree(tmp, True)


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
    tests = [suback_survives_kill, wills_after_kill, sub_ids_restored,
             will_acl_user_after_kill]
    if a.select:
        tests = [t for t in tests if a.select in t.__name__]
    harness.run_tests(tests)


if __name__ == "__main__":
    main()
