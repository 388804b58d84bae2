"""brokertest: runner and fixtures for the black-box MQTT wire tests (tests/broker/NN-*.py).

A test file is a standalone executable script:

    #!/usr/bin/python3
    import brokertest as bt
    T = bt.Suite(__file__)

    @T.check()
    def connack_v311(t):                    # t: a Ctx, fresh for every check
        c = t.conn(version=4)               # mqtt_wire.Conn, closed after the check
        c.connect(t.cid())
        ...

    @T.check(config=["max_keepalive 10"])   # needs broker config (started for it)
    @T.check(tachyon_only="why")            # behaviour mosquitto lacks: skipped there

    if __name__ == "__main__":
        T.main()

Targets (where the broker is):
  --host H --port P (or env BROKER_HOST / BROKER_PORT)  an external broker; checks that need
        config are skipped (the runner cannot configure it) unless --assume-config
  --mosquitto        a private Debian mosquitto on 127.0.0.1:<random port> per config
  --tachyond PATH    tachyond through tests/integration/harness.py (private tap and subnet;
        broker at the harness's IP, port 1883); the default when env TACHYOND is set;
        --workers N (1 or 2). Config lines go into its config file (mosquitto's keys).
With none of these and no TACHYOND/BROKER_HOST, --mosquitto is used.

Exit status: 0 all run checks passed, 1 a check failed (the message says what was expected
and what was seen), 77 nothing ran (all skipped). Other options: -k SUBSTR (run matching
checks), --list, --verbose (print the broker log on failure).
"""

import argparse
import itertools
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mqtt_wire as mw  # noqa: E402
from mqtt_wire import WireError  # noqa: E402,F401

MOSQUITTO = os.environ.get("MOSQUITTO", "/usr/sbin/mosquitto")
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
CHECK_TIMEOUT = int(os.environ.get("BROKERTEST_CHECK_TIMEOUT", "90"))

RUN_ID = f"{os.getpid():x}{random.randrange(1 << 16):04x}"


class Failure(AssertionError):
    """A check failed; the message says what was expected and what was seen."""


class Skip(Exception):
    """A check cannot run here (the message says why)."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ---- targets --------------------------------------------------------------------------------

class Target:
    kind = "?"
    host = port = None
    workers = 1

    def start(self, config):
        pass

    def stop(self):
        pass

    def alive(self):
        return True

    def log_text(self):
        return ""

    def describe(self):
        return f"{self.kind} at {self.host}:{self.port}"


class External(Target):
    kind = "external"

    def __init__(self, host, port):
        self.host, self.port = host, port


class Mosquitto(Target):
    """A private Debian mosquitto. It drops root to user `mosquitto`: its directory is
    world-writable and it persists nothing."""
    kind = "mosquitto"

    def __init__(self):
        self.proc = None

    def start(self, config):
        self.tmp = tempfile.mkdtemp(prefix="brokertest-mosq-")
        os.chmod(self.tmp, 0o777)
        self.host, self.port = "127.0.0.1", free_port()
        self.conf = os.path.join(self.tmp, "mosquitto.conf")
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "persistence false", "log_dest stderr",
                 "log_type error", "log_type warning", "log_type notice"] + list(config)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf, 0o644)
        self.log_path = os.path.join(self.tmp, "mosquitto.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_port(self.host, self.port, 15, self.proc):
            text = self.log_text()
            self.stop()
            raise Failure(f"mosquitto did not start on port {self.port}:\n{text}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
            self.log.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Tachyond(Target):
    """tachyond over a private net_tap port, through tests/integration/harness.py."""
    kind = "tachyond"
    _seq = itertools.count()

    def __init__(self, workers, name):
        sys.path.insert(0, os.path.join(HERE, "..", "integration"))
        import harness  # noqa: E402
        self.harness = harness
        self.workers = workers
        self.name = name
        self.b = None

    def start(self, config):
        name = f"b{self.name}{next(self._seq)}"[:20]
        self.b = self.harness.Broker(name, workers=self.workers, extra=list(config))
        try:
            self.b.start()
        except BaseException:
            self.b.cleanup()
            self.b = None
            raise
        self.host, self.port = self.b.ip, 1883
        if not wait_port(self.host, self.port, 20, self.b.proc):
            text = self.b.log_text()
            self.b.cleanup()
            self.b = None
            raise Failure(f"tachyond answers no MQTT on {self.host}:1883:\n{text[-4000:]}")

    def alive(self):
        return self.b is not None and self.b.proc is not None and self.b.proc.poll() is None

    def stop(self):
        """SIGTERM; a non-zero exit, a left-over tap or a sanitizer report is a failure."""
        if self.b is None:
            return
        b, self.b = self.b, None
        try:
            if b.proc is not None and b.proc.poll() is None:
                rc = b.stop()
                check(rc == 0, f"tachyond exit code {rc} after SIGTERM:\n{b.log_text()[-4000:]}")
                check(not self.harness.link_exists(b.tap), f"tap {b.tap} still there after exit")
                b.check_log_clean()
            elif b.proc is not None:
                raise Failure(f"tachyond died (exit {b.proc.returncode}):\n"
                              f"{b.log_text()[-4000:]}")
        finally:
            b.cleanup()

    def log_text(self):
        return self.b.log_text() if self.b else ""

    def describe(self):
        return f"tachyond ({self.workers} worker{'s' if self.workers > 1 else ''}) at " \
               f"{self.host}:{self.port}"


# ---- per-check context ----------------------------------------------------------------------

class TConn(mw.Conn):
    """A Conn that remembers the retained topics it set, so the check's cleanup clears them."""

    def __init__(self, ctx, *a, **kw):
        super().__init__(*a, **kw)
        self.ctx = ctx

    def publish(self, topic, payload=b"", qos=0, retain=False, **kw):
        if retain and payload:
            self.ctx.retained.add(topic)
        return super().publish(topic, payload, qos, retain, **kw)


class Ctx:
    """What a check gets: the broker's address, unique names, tracked clients."""

    def __init__(self, suite, check_name, target):
        self.suite, self.check_name, self.target = suite, check_name, target
        self.host, self.port, self.workers = target.host, target.port, target.workers
        self.kind = target.kind
        # strict: hold the broker to behaviour Mosquitto 2.0.11 lacks (tachyon_only parts of
        # otherwise portable checks). False against mosquitto.
        self.strict = target.kind != "mosquitto" and not suite.skip_tachyon_only
        self.conns, self.pahos, self.procs = [], [], []
        self.retained = set()
        self.broker_stopped = False
        self._n = itertools.count(1)
        self.base = f"{suite.short}-{check_name}"[:40].replace("_", "-")

    # names: unique per run, per check, per call, so no two checks share topics/ids
    def cid(self, tag="c"):
        return f"bt{RUN_ID}-{self.base}-{tag}{next(self._n)}"[:64]

    def topic(self, tag="t"):
        return f"bt/{RUN_ID}/{self.base}/{tag}{next(self._n)}"

    # clients
    def conn(self, version=4, timeout=5.0, name=None):
        c = TConn(self, self.host, self.port, version, timeout,
                  name=name or f"conn{len(self.conns) + 1}(v{version})")
        self.conns.append(c)
        return c

    def client(self, version=4, client_id=None, clean=True, keepalive=60, props=None,
               will=None, **kw):
        """A connected Conn (CONNACK 0 checked)."""
        c = self.conn(version)
        c.connect(client_id if client_id is not None else self.cid(), clean, keepalive, will,
                  props=props, **kw)
        return c

    def retain_cleanup(self, topic):
        self.retained.add(topic)

    def paho(self, version=4, client_id=None, clean=True, props=None, keepalive=60):
        p = PahoClient(self.host, self.port, version, client_id or self.cid("p"), clean,
                       props, keepalive)
        self.pahos.append(p)
        return p

    def mosq_pub(self, topic, message, qos=0, retain=False, version=None, extra=(),
                 timeout=10):
        """Runs mosquitto_pub; returns the CompletedProcess (fails on a non-zero exit)."""
        if retain and message:
            self.retained.add(topic)
        cmd = [MOSQUITTO_PUB, "-h", self.host, "-p", str(self.port), "-t", topic, "-m",
               message, "-q", str(qos), "-i", self.cid("mp")]
        if retain:
            cmd.append("-r")
        if version:
            cmd += ["-V", {3: "mqttv31", 4: "mqttv311", 5: "mqttv5"}[version]]
        cmd += list(extra)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"mosquitto_pub did not finish in {timeout}s: {' '.join(cmd)}")
        check(p.returncode == 0, f"mosquitto_pub failed ({p.returncode}): {p.stderr}")
        return p

    def mosq_sub(self, topic, count, qos=0, version=None, extra=(), timeout=10):
        """Starts mosquitto_sub -v -C count, returns once it is subscribed (SUBACK seen).
        .wait() returns the list of 'topic payload' lines."""
        s = MosqSub(self, topic, count, qos, version, extra, timeout)
        self.procs.append(s)
        return s

    def cleanup(self):
        for p in self.procs:
            p.kill()
        for p in self.pahos:
            p.stop()
        for c in self.conns:
            c.close()
        if self.retained and self.target.alive():
            try:
                with mw.Conn(self.host, self.port, 4, 5) as c:
                    c.connect(self.cid("clean"))
                    for t in sorted(self.retained):
                        c.publish(t, b"", qos=1, retain=True)
                    c.disconnect()
            except (OSError, WireError) as e:
                sys.stderr.write(f"warning: could not clear retained messages: {e}\n")

    def stop_broker(self):
        """Stops the broker under test (SIGTERM, clean exit checked); the runner starts a
        fresh one for the next check. Not possible on an external broker (Skip)."""
        if self.kind == "external":
            raise Skip("cannot stop an external broker")
        self.broker_stopped = True
        self.target.stop()

    def check_spread(self, what):
        """tachyond with 2+ workers: every worker must have received packets, so the check
        really crossed workers. A no-op on other targets."""
        if self.kind != "tachyond" or self.workers < 2:
            return
        st = self.target.b.request("stats")
        rx = [w.get("loop", {}).get("rx_pkts", 0) for w in st.get("workers", [])]
        check(len(rx) >= 2 and all(rx), f"{what}: connections did not spread over the "
                                         f"{self.workers} workers (rx packets per worker {rx})")

    def expect_taken_over(self, c, timeout=5):
        """The old connection of a takeover is closed; a v5 one gets DISCONNECT 0x8E first
        (required when strict; Mosquitto 2.0.11 just closes)."""
        if c.version != 5:
            return c.expect_closed(timeout, disconnect=False)
        d = c.expect_closed(timeout, disconnect=mw.RC["SESSION_TAKEN_OVER"] if self.strict
                            else None)
        check(d is None or d.rc == mw.RC["SESSION_TAKEN_OVER"],
              f"{c.name}: taken over with DISCONNECT {mw.rc_name(d.rc) if d else ''}, "
              f"expected 0x8E")
        return d

    def sleep(self, s):
        time.sleep(s)


class MosqSub:
    def __init__(self, ctx, topic, count, qos, version, extra, timeout):
        self.id = ctx.cid("ms")
        cmd = [MOSQUITTO_SUB, "-h", ctx.host, "-p", str(ctx.port), "-t", topic, "-v", "-d",
               "-C", str(count), "-W", str(timeout), "-q", str(qos), "-i", self.id]
        if version:
            cmd += ["-V", {3: "mqttv31", 4: "mqttv311", 5: "mqttv5"}[version]]
        cmd += list(extra)
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL"] + cmd   # its debug lines are stdio-buffered on a pipe
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.debug = []
        self.subscribed = threading.Event()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        if not self.subscribed.wait(timeout):
            self.kill()
            raise Failure(f"mosquitto_sub did not get a SUBACK within {timeout}s: "
                          f"{' '.join(cmd)}\n{''.join(self.debug)}")

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(f"Client {self.id} ") or line.startswith("Client null "):
                self.debug.append(line)
                if "received SUBACK" in line:
                    self.subscribed.set()
            elif line.startswith("Subscribed (mid"):
                self.debug.append(line)
            else:
                self.lines.append(line.rstrip("\n"))

    def wait(self, timeout=15):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure(f"mosquitto_sub still running after {timeout}s; got {self.lines}")
        self.t.join(2)
        return self.lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PahoClient:
    """A paho-mqtt 1.6 client on its own network thread; received messages go to a queue."""

    def __init__(self, host, port, version, client_id, clean, props, keepalive):
        import paho.mqtt.client as pm
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        self.pm = pm
        self.version = version
        proto = {3: pm.MQTTv31, 4: pm.MQTTv311, 5: pm.MQTTv5}[version]
        if version == 5:
            self.c = pm.Client(client_id=client_id, protocol=proto)
        else:
            self.c = pm.Client(client_id=client_id, protocol=proto, clean_session=clean)
        self.msgs = queue.Queue()
        self.connected = threading.Event()
        self.subacks = {}
        self.sub_ev = threading.Condition()
        self.connack = None
        self.c.on_message = lambda c, u, m: self.msgs.put(m)

        def on_connect(c, u, flags, rc, properties=None):
            self.connack = (flags, rc, properties)
            self.connected.set()

        def on_subscribe(c, u, mid, granted, properties=None):
            with self.sub_ev:
                self.subacks[mid] = granted
                self.sub_ev.notify_all()
        self.c.on_connect = on_connect
        self.c.on_subscribe = on_subscribe
        kw = {}
        if version == 5:
            kw["clean_start"] = clean
            if props:
                cp = Properties(PacketTypes.CONNECT)
                for k, v in props.items():
                    setattr(cp, k, v)
                kw["properties"] = cp
        self.c.connect(host, port, keepalive, **kw)
        self.c.loop_start()
        if not self.connected.wait(10):
            self.stop()
            raise Failure(f"paho client {client_id}: no CONNACK within 10s")
        rc = self.connack[1]
        if (rc if isinstance(rc, int) else rc.value) != 0:
            self.stop()
            raise Failure(f"paho client {client_id}: CONNACK {rc}")

    def subscribe(self, topic, qos=0, timeout=10, **opts):
        if self.version == 5:
            from paho.mqtt.subscribeoptions import SubscribeOptions
            rc, mid = self.c.subscribe(topic, options=SubscribeOptions(qos=qos, **opts))
        else:
            rc, mid = self.c.subscribe(topic, qos)
        check(rc == 0, f"paho subscribe {topic}: rc {rc}")
        with self.sub_ev:
            ok = self.sub_ev.wait_for(lambda: mid in self.subacks, timeout)
        check(ok, f"paho: no SUBACK for {topic} within {timeout}s")
        return self.subacks[mid]

    def publish(self, topic, payload, qos=0, retain=False, props=None, timeout=10):
        kw = {}
        if props is not None:
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            pp = Properties(PacketTypes.PUBLISH)
            for k, v in props.items():
                setattr(pp, k, v)
            kw["properties"] = pp
        info = self.c.publish(topic, payload, qos, retain, **kw)
        info.wait_for_publish(timeout)
        check(info.is_published(), f"paho: publish to {topic} not completed in {timeout}s")

    def get(self, timeout=5):
        try:
            return self.msgs.get(timeout=timeout)
        except queue.Empty:
            raise Failure(f"paho client: no message within {timeout}s")

    def drain(self, quiet=1.0):
        out = []
        while True:
            try:
                out.append(self.msgs.get(timeout=quiet))
            except queue.Empty:
                return out

    def stop(self):
        try:
            self.c.disconnect()
        except Exception:
            pass
        self.c.loop_stop()


# ---- the suite ------------------------------------------------------------------------------

class CheckDef:
    def __init__(self, fn, config, tachyon_only, needs):
        self.fn, self.name = fn, fn.__name__
        self.config = tuple(config or ())
        self.tachyon_only = tachyon_only
        self.needs = needs


class _CheckTimeout(Exception):
    pass


class Suite:
    def __init__(self, path):
        self.path = path
        self.short = os.path.basename(path).split(".")[0]
        self.checks = []
        self.skip_tachyon_only = False

    def check(self, config=None, tachyon_only=None, needs=None):
        """Decorator. config: broker config lines (mosquitto.conf keys) the check needs.
        tachyon_only: a reason string; the check is skipped against mosquitto.
        needs: a callable(ctx) returning None or a skip reason (e.g. needs 2 workers)."""
        def deco(fn):
            self.checks.append(CheckDef(fn, config, tachyon_only, needs))
            return fn
        return deco

    def parse(self, argv):
        ap = argparse.ArgumentParser(description=f"{self.short}: black-box MQTT checks")
        ap.add_argument("--host", default=os.environ.get("BROKER_HOST"))
        ap.add_argument("--port", type=int, default=int(os.environ.get("BROKER_PORT", "1883")))
        ap.add_argument("--mosquitto", action="store_true", help="a private Debian mosquitto")
        ap.add_argument("--tachyond", metavar="PATH", help="tachyond via the integration harness")
        ap.add_argument("--workers", type=int, default=int(os.environ.get("BROKER_WORKERS", "1")))
        ap.add_argument("--assume-config", action="store_true",
                        help="external broker: run checks that need config anyway")
        ap.add_argument("--skip-tachyon-only", action="store_true")
        ap.add_argument("-k", dest="select", action="append", default=[])
        ap.add_argument("--list", action="store_true")
        ap.add_argument("--verbose", "-v", action="store_true")
        return ap.parse_args(argv)

    def make_target(self, a):
        if a.mosquitto:
            return Mosquitto()
        if a.tachyond:
            os.environ["TACHYOND"] = os.path.abspath(a.tachyond)
            d = os.path.dirname(os.path.abspath(a.tachyond))
            for ctl in (os.path.join(d, "tachyonctl"),
                        os.path.join(os.path.dirname(d), "control", "tachyonctl"),
                        os.path.join(os.path.dirname(d), "tools", "tachyonctl", "tachyonctl")):
                if "TACHYONCTL" not in os.environ and os.path.exists(ctl):
                    os.environ["TACHYONCTL"] = ctl
            return Tachyond(a.workers, self.short.split("-")[0])
        if a.host:
            return External(a.host, a.port)
        if os.environ.get("TACHYOND"):
            return Tachyond(a.workers, self.short.split("-")[0])
        return Mosquitto()

    def main(self, argv=None):
        a = self.parse(sys.argv[1:] if argv is None else argv)
        checks = [c for c in self.checks
                  if not a.select or any(s in c.name for s in a.select)]
        if a.list:
            for c in checks:
                extra = f"  config={list(c.config)}" if c.config else ""
                extra += f"  tachyon_only: {c.tachyon_only}" if c.tachyon_only else ""
                print(f"{c.name}{extra}")
            return 0
        target = self.make_target(a)
        self.skip_tachyon_only = a.skip_tachyon_only
        if target.kind == "tachyond" and os.geteuid() != 0:
            print(f"{self.short}: skip: tachyond needs root (tap port)")
            sys.exit(77)
        results = {"ok": 0, "fail": 0, "skip": 0}
        started_cfg = None
        start_errors = {}   # config -> why the broker did not start (not retried)
        t_file = time.monotonic()

        def on_alarm(signum, frame):
            raise _CheckTimeout()
        signal.signal(signal.SIGALRM, on_alarm)
        print(f"# {self.short} against {target.kind}"
              + (f" ({target.workers} workers)" if target.kind == "tachyond" else ""), flush=True)
        try:
            for c in checks:
                reason = None
                if c.tachyon_only and (target.kind == "mosquitto" or a.skip_tachyon_only):
                    reason = f"tachyon_only: {c.tachyon_only}"
                elif c.config and target.kind == "external" and not a.assume_config:
                    reason = f"needs broker config {list(c.config)} (external broker)"
                if reason is None and c.needs is not None:
                    reason = c.needs(target)
                if reason:
                    results["skip"] += 1
                    print(f"skip {c.name}: {reason}", flush=True)
                    continue
                t0 = time.monotonic()
                ctx = None
                try:
                    if started_cfg != c.config or not target.alive():
                        target.stop()
                        started_cfg = None
                        if c.config in start_errors:
                            raise Failure(f"the broker did not start with config "
                                          f"{list(c.config)}: {start_errors[c.config]}")
                        try:
                            target.start(c.config)
                        except Exception as e:
                            start_errors[c.config] = str(e).splitlines()[0] if str(e) else e
                            raise
                        started_cfg = c.config
                    ctx = Ctx(self, c.name, target)
                    signal.alarm(CHECK_TIMEOUT)
                    try:
                        c.fn(ctx)
                    finally:
                        signal.alarm(0)
                        ctx.cleanup()
                    check(ctx.broker_stopped or target.alive(),
                          f"the broker died during the check:\n{target.log_text()[-3000:]}")
                    results["ok"] += 1
                    print(f"ok   {c.name} ({time.monotonic() - t0:.1f}s)", flush=True)
                except Skip as e:
                    results["skip"] += 1
                    print(f"skip {c.name}: {e}", flush=True)
                except _CheckTimeout:
                    results["fail"] += 1
                    print(f"FAIL {c.name}: did not finish within {CHECK_TIMEOUT}s", flush=True)
                except (AssertionError, OSError, Exception) as e:
                    results["fail"] += 1
                    where = traceback.extract_tb(e.__traceback__)
                    line = next((f"{os.path.basename(fr.filename)}:{fr.lineno}"
                                 for fr in reversed(where) if fr.filename == self.path
                                 or fr.filename.endswith(self.short + ".py")), "")
                    kind = "" if isinstance(e, AssertionError) else f"{type(e).__name__}: "
                    print(f"FAIL {c.name} ({line}): {kind}{e}", flush=True)
                    if a.verbose or not isinstance(e, AssertionError):
                        traceback.print_exc()
                    if a.verbose:
                        print(f"--- broker log ---\n{target.log_text()[-4000:]}", flush=True)
        finally:
            signal.alarm(0)
            try:
                target.stop()
            except AssertionError as e:
                results["fail"] += 1
                print(f"FAIL stopping the broker: {e}", flush=True)
        dt = time.monotonic() - t_file
        print(f"{self.short}: {results['ok']} passed, {results['fail']} failed, "
              f"{results['skip']} skipped ({dt:.1f}s)", flush=True)
        if results["fail"]:
            sys.exit(1)
        if not results["ok"]:
            sys.exit(77)
        sys.exit(0)


# ---- small helpers for checks ---------------------------------------------------------------

def wait_for(pred, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()

