#!/usr/bin/python3
"""14-durability: sessions, subscriptions, retained and queued messages survive a restart.

Runs the real tachyond over a tap (tests/integration/harness.py) with `persistence true`,
`persistence_mode sync`, one store directory kept across restarts of the same broker:

- restart_after_clean_shutdown: persistent QoS 1 (3.1.1) and QoS 2 (5.0) subscribers
  offline, numbered messages queued, a retained message; SIGTERM, start again: session
  present 1, every queued message delivered once and in order, the retained message and
  the subscriptions intact.
- crash_cycles: the same subscribers offline; a publisher sends numbered QoS 1 and QoS 2
  messages, each waiting for its PUBACK / PUBREC; tachyond is killed with SIGKILL at a
  random moment; after a restart every message whose PUBACK / PUBREC the publisher saw is
  delivered (QoS 1 at least once, QoS 2 exactly once over all cycles), retained and
  subscriptions intact, session present 1. 3 cycles by default; TACHYON_TEST_LONG=1 makes
  it 20 (or TACHYON_DURABILITY_CYCLES=N). The seed is printed (TACHYON_DURABILITY_SEED).
- sync_holds_and_unreadable_store: sync mode holds acknowledgements (stats acks_held);
  a store with a foreign log segment stops tachyond with a message naming it;
  persistence_start_empty moves it aside and starts empty.

Usage: 14-durability.py [--workers N]   (env TACHYOND / TACHYONCTL, root)
"""

import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import mqtt_wire as mw  # noqa: E402
from harness import check  # noqa: E402

WORKERS = 1
from durable import CONF, conn, persistent, running, start, stop_clean  # noqa: E402


def subscribers_setup(b, q1, q2, cid1, cid2):
    s1 = persistent(b, cid1, 4, False)
    s1.subscribe([(q1, 1)])
    s1.disconnect()
    s2 = persistent(b, cid2, 5, False)
    s2.subscribe([(q2, 2)])
    s2.disconnect()


def collect_numbers(c, quiet=1.5, total=30):
    got = c.collect(timeout=quiet, total=total)
    return [int(p.payload.decode()) for p in got], got


def check_retained(b, topic, payload):
    c = conn(b, 4)
    c.connect(f"dur-ret-{random.randrange(1 << 30)}")
    c.subscribe([(topic, 1)])
    p = c.expect_publish(topic, timeout=5)
    check(p.payload == payload and p.retain,
          f"retained {topic}: expected {payload!r} with RETAIN, got {p!r}")
    c.disconnect()


def restart_after_clean_shutdown():
    with running("dur-clean", WORKERS, CONF) as b:
        start(b)
        q1, q2, ret = "dur/clean/q1", "dur/clean/q2", "dur/clean/ret"
        subscribers_setup(b, q1, q2, "dur-clean-s1", "dur-clean-s2")
        pub = conn(b, 4)
        pub.connect("dur-clean-pub")
        pub.publish(ret, b"R1", qos=1, retain=True)
        for i in range(20):
            pub.publish(q1, str(i).encode(), qos=1)
            pub.publish(q2, str(i).encode(), qos=2)
        pub.disconnect()
        r = b.ctl("snapshot")
        check(r.returncode == 0 and "snapshot" in r.stdout,
              f"tachyonctl snapshot: {r.returncode} {r.stdout} {r.stderr}")
        stop_clean(b)
        start(b)
        s1 = persistent(b, "dur-clean-s1", 4, True)
        n1, _ = collect_numbers(s1)
        check(n1 == list(range(20)), f"QoS 1 subscriber after restart got {n1}")
        s2 = persistent(b, "dur-clean-s2", 5, True)
        n2, got2 = collect_numbers(s2)
        check(n2 == list(range(20)), f"QoS 2 subscriber after restart got {n2}")
        check(all(p.qos == 2 for p in got2), "QoS 2 subscriber: wrong QoS")
        check_retained(b, ret, b"R1")
        # the subscriptions themselves survived: a new message reaches both
        pub = conn(b, 4)
        pub.connect("dur-clean-pub")
        pub.publish(q1, b"100", qos=1)
        pub.publish(q2, b"100", qos=2)
        pub.disconnect()
        s1.expect_publish(q1, b"100", timeout=5)
        s2.expect_publish(q2, b"100", timeout=5)
        s1.disconnect()
        s2.disconnect()
        stop_clean(b)
        b.check_log_clean()


def sync_holds_and_unreadable_store():
    """Sync mode really holds acknowledgements (acks_held counts them); a store that is not
    ours stops tachyond with a message naming it; persistence_start_empty moves it aside."""
    with running("dur-store", WORKERS, CONF) as b:
        start(b)
        subscribers_setup(b, "dur/st/q1", "dur/st/q2", "dur-st-s1", "dur-st-s2")
        pub = conn(b, 4)
        pub.connect("dur-st-pub")
        for i in range(5):
            pub.publish("dur/st/q1", str(i).encode(), qos=1)
        pub.disconnect()
        st = b.stats()
        mq = st.get("mqtt", {})
        ps = st.get("persistence", {})
        check(ps.get("mode") == "sync" and ps.get("durable_seq", 0) > 0,
              f"stats persistence: {ps}")
        check(mq.get("acks_held", 0) >= 5 and mq.get("persist_records", 0) > 0,
              f"sync mode: expected held acknowledgements and records, stats mqtt {mq}")
        stop_clean(b)
        store = os.path.join(b.tmp, "store")
        with open(os.path.join(store, "log-00000000000000000001.tlog"), "wb") as f:
            f.write(b"this is not a tachyon log segment" * 4)
        # the newest segment must not be ours: make it sort last
        with open(os.path.join(store, "log-99999999999999999999.tlog"), "wb") as f:
            f.write(b"garbage" * 10)
        log_before = len(b.log_text())
        try:
            b.start(timeout=30)
            started = True
        except harness.TestFailure:
            started = False
        if started:
            b.stop()
        check(not started, "tachyond started on a store with a foreign log segment")
        text = b.log_text()[log_before:] if len(b.log_text()) > log_before else b.log_text()
        check("persistence store" in text and "persistence_start_empty" in text,
              f"no clear message for the unreadable store:\n{text[-2000:]}")
        b2 = harness.Broker("dur-store2", workers=WORKERS, extra=CONF + [
            f"persistence_location {store}", "persistence_start_empty true"])
        try:
            start(b2)
            moved = [d for d in os.listdir(b.tmp) if d.startswith("store.old-")]
            check(moved, f"old store not moved aside: {os.listdir(b.tmp)}")
            c = conn(b2, 4)
            c.connect("dur-st-s1", clean=False, session_present=False)
            c.disconnect()
            rc = b2.stop()
            check(rc == 0, f"exit code {rc} after SIGTERM")
        finally:
            b2.cleanup()


def publish_until_killed(b, q1, q2, start_n, kill_after):
    """Numbered publishes (alternating QoS 1 / QoS 2) until the broker dies; kills it with
    SIGKILL after kill_after seconds. Returns (acked QoS 1 numbers, acked QoS 2 numbers,
    next number)."""
    acked1, acked2 = set(), set()
    n = start_n
    pub = conn(b, 4, timeout=10)
    pub.connect(f"dur-crash-pub-{start_n}")
    t_kill = time.monotonic() + kill_after
    killed = False
    try:
        while True:
            if not killed and time.monotonic() >= t_kill:
                b.proc.kill()          # SIGKILL: no shutdown, no final snapshot
                killed = True
            qos = 1 if n % 2 == 0 else 2
            topic = q1 if qos == 1 else q2
            pid = pub.pid()
            pub.send(mw.publish(topic, str(n).encode(), qos, False, pid, False, 4))
            if qos == 1:
                a = pub.expect(mw.PUBACK)
                check(a.pid == pid, f"PUBACK for {a.pid}, expected {pid}")
                acked1.add(n)
            else:
                r = pub.expect(mw.PUBREC)
                check(r.pid == pid, f"PUBREC for {r.pid}, expected {pid}")
                acked2.add(n)
                pub.send(mw.pubrel(pid, version=4))
                pub.expect(mw.PUBCOMP)
            n += 1
    except (OSError, mw.WireError):
        pass
    finally:
        pub.close()
    if not killed:
        b.proc.kill()
    b.proc.wait()
    return acked1, acked2, n


def crash_cycles():
    long_mode = os.environ.get("TACHYON_TEST_LONG") == "1"
    cycles = int(os.environ.get("TACHYON_DURABILITY_CYCLES", "20" if long_mode else "3"))
    seed = int(os.environ.get("TACHYON_DURABILITY_SEED", str(random.randrange(1 << 30))))
    print(f"# crash_cycles: {cycles} cycles, seed {seed}", flush=True)
    rnd = random.Random(seed)
    # snapshots every second: recovery reads snapshot + log, and snapshots run under load
    q1, q2, ret = "dur/crash/q1", "dur/crash/q2", "dur/crash/ret"
    cid1, cid2 = "dur-crash-s1", "dur-crash-s2"
    all1, all2 = set(), set()      # acked by the broker, all cycles
    got1, seen2 = set(), {}        # delivered to the subscribers, all cycles
    n = 0
    with running("dur-crash", WORKERS, CONF + ["autosave_interval 1"]) as b:
        start(b)
        subscribers_setup(b, q1, q2, cid1, cid2)
        p = conn(b, 4)
        p.connect("dur-crash-retainer")
        p.publish(ret, b"kept", qos=1, retain=True)
        p.disconnect()
        for cycle in range(cycles):
            kill_after = rnd.uniform(0.2, 1.5)
            a1, a2, n = publish_until_killed(b, q1, q2, n, kill_after)
            all1 |= a1
            all2 |= a2
            b.kill()                   # removes the tap; the store stays
            start(b)
            s1 = persistent(b, cid1, 4, True)
            n1, _ = collect_numbers(s1)
            s1.disconnect()
            s2 = persistent(b, cid2, 5, True)
            n2, _ = collect_numbers(s2)
            s2.disconnect()
            got1 |= set(n1)
            for x in n2:
                seen2[x] = seen2.get(x, 0) + 1
            miss1 = sorted(all1 - got1)
            miss2 = sorted(all2 - set(seen2))
            dup2 = sorted(x for x, k in seen2.items() if k > 1)
            print(f"# cycle {cycle + 1}: killed after {kill_after:.2f}s, acked "
                  f"{len(a1)}+{len(a2)}, delivered {len(n1)}+{len(n2)}", flush=True)
            check(not miss1, f"cycle {cycle + 1}: acknowledged QoS 1 messages lost: "
                             f"{miss1[:20]} (seed {seed})")
            check(not miss2, f"cycle {cycle + 1}: acknowledged QoS 2 messages lost: "
                             f"{miss2[:20]} (seed {seed})")
            check(not dup2, f"cycle {cycle + 1}: QoS 2 messages delivered twice: "
                            f"{dup2[:20]} (seed {seed})")
            check_retained(b, ret, b"kept")
        stop_clean(b)
        b.check_log_clean()


def main():
    global WORKERS
    ap = argparse.ArgumentParser(description="14-durability")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BROKER_WORKERS", "1")))
    ap.add_argument("-k", dest="select", default=None)
    a = ap.parse_args()
    WORKERS = a.workers
    if os.geteuid() != 0:
        print("14-durability: skip: tachyond needs root (tap port)")
        sys.exit(77)
    tests = [restart_after_clean_shutdown, sync_holds_and_unreadable_store, crash_cycles]
    if a.select:
        tests = [t for t in tests if a.select in t.__name__]
    harness.run_tests(tests)


if __name__ == "__main__":
    main()
