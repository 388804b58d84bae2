"""50-exporter: tachyon-exporter against a real tachyond, and a real Prometheus scraping it.

1. tachyond (harness) + tachyon-exporter on a kernel-chosen port, pointed at its socket:
   /metrics says tachyon_up 1 with worker, port and TCP metrics, MQTT messages by QoS, the
   publish-to-deliver latency histogram and the inbox ring depths, passes `promtool check
   metrics`, has one HELP and one TYPE per family; /, 404, 405, 400, 431 and a silent client
   are handled and the exporter keeps serving.
2. Debian's Prometheus, started with a scrape config pointing at the exporter (1 s interval):
   after traffic its HTTP API reports up == 1 and a non-zero received-messages counter, and
   the target has no scrape error. The counter is tachyon_mqtt_messages_received_total (after
   five QoS 0 PUBLISHes from a minimal MQTT client) when tachyond reports MQTT stats, else the
   workers' received packets (after pings).
3. tachyond stops: the exporter still answers, with tachyon_up 0, and Prometheus sees that.
4. (no tachyond) a socket that never answers, answers garbage or an error, or closes at once:
   tachyon_up 0 within --timeout, valid output, the exporter keeps serving.
Every process started here is stopped by pid and every temp dir removed, whatever happens.

Run: sudo TACHYOND=... TACHYONCTL=... /usr/bin/python3 50-exporter.py <tachyon-exporter>
Environment: PROMETHEUS, PROMTOOL (default /usr/bin/...).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Broker, check, run_tests  # noqa: E402

EXPORTER = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TACHYON_EXPORTER", "tachyon-exporter")
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer")


def free_port():
    """A port that was free a moment ago (Prometheus cannot be told to pick its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    """(status, headers, body text) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def raw_request(port, data, timeout=10, half_close=False):
    """Sends raw bytes, returns everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


class Exporter:
    """tachyon-exporter on a kernel-chosen port; stopped by pid in stop()."""

    def __init__(self, sock, tmp):
        self.log_path = os.path.join(tmp, "exporter.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([EXPORTER, "--listen", "127.0.0.1:0", "--socket", sock,
                                      "--timeout", "2"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/metrics", line)
        if m is None:
            self.stop()
            raise AssertionError(f"exporter did not start: {line!r}\n{self.log_text()}")
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def metrics(self):
        status, headers, body = http_get(self.url + "/metrics")
        check(status == 200, f"/metrics answered {status}: {body}")
        check(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        return body

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM; returns the exit code (checked by callers on the success path)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


def sample(text, name, labels=None):
    """Value of the series `name{labels}` in exposition text, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if labels is None and series == name:
            return float(value)
        if labels is not None and series == f"{name}{{{labels}}}":
            return float(value)
    return None


def check_families(text):
    """One HELP and one TYPE per family, HELP first, samples right under their TYPE."""
    helps, types = [], []
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.append(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            check(helps and helps[-1] == name, f"TYPE without its HELP: {line}")
            types.append(name)
            current = (name, kind)
        else:
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            ok = name == current[0] or (current[1] == "histogram" and name in (
                current[0] + "_bucket", current[0] + "_sum", current[0] + "_count"))
            check(ok, f"sample outside its family {current}: {line}")
    check(len(helps) == len(set(helps)), "a family has two HELP lines")
    check(len(types) == len(set(types)) and len(types) == len(helps), "TYPE/HELP mismatch")


def promtool_check(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, f"promtool check metrics failed ({p.returncode}):\n"
                             f"{p.stdout}{p.stderr}\n--- metrics ---\n{text}")


def test_exporter_metrics():
    with Broker("exp", workers=2) as b:
        ex = Exporter(b.sock, b.tmp)
        try:
            p = b.ping(3)
            check(p.returncode == 0, p.stdout + p.stderr)
            mqtt_publish(b.ip, 3)
            text = ex.metrics()
            check(sample(text, "tachyon_up") == 1, f"tachyon_up not 1:\n{text}")
            # The broker's per-QoS counters, the latency histogram, the inbox rings.
            check((sample(text, "tachyon_mqtt_messages_received_total", 'qos="0"') or 0) >= 3,
                  f"QoS 0 received counter:\n{text}")
            for q in ("1", "2"):
                check(sample(text, "tachyon_mqtt_messages_sent_total", f'qos="{q}"') is not None,
                      f"sent counter for QoS {q} missing")
            lat = "tachyon_mqtt_publish_to_deliver_latency_seconds"
            check(f"# TYPE {lat} histogram" in text and f'{lat}_bucket{{le="+Inf"}}' in text
                  and sample(text, f"{lat}_count") is not None
                  and sample(text, f"{lat}_sum") is not None, f"latency histogram:\n{text}")
            for w in ("0", "1"):
                check(sample(text, "tachyon_ring_capacity_entries", f'ring="w{w}.inbox"') > 0,
                      f"ring of worker {w} missing")
                check(sample(text, "tachyon_ring_used_entries", f'ring="w{w}.inbox"') is not None,
                      f"ring depth of worker {w} missing")
            check(sample(text, "tachyon_exporter_stats_problems") == 0, text)
            check(sample(text, "tachyon_uptime_seconds") > 0, text)
            # Persistence (on in the harness): mode, log, fsync latency histogram, lag,
            # snapshot age once a snapshot was written; memory and TLS sections too.
            check(sample(text, "tachyon_persistence_mode", 'mode="sync"') == 1, text)
            ok = b.ctl("snapshot")
            check(ok.returncode == 0, ok.stderr)
            text = ex.metrics()
            fs = "tachyon_persistence_fsync_duration_seconds"
            check(f"# TYPE {fs} histogram" in text and sample(text, f"{fs}_count") is not None,
                  f"fsync histogram:\n{text}")
            for name in ("tachyon_persistence_log_written_bytes_total",
                         "tachyon_persistence_durable_lag_records",
                         "tachyon_persistence_durable_lag_seconds",
                         "tachyon_persistence_snapshot_age_seconds",
                         "tachyon_message_memory_heap_allocations_total",
                         "tachyon_tls_handshakes_total"):
                check(sample(text, name) is not None, f"{name} missing:\n{text}")
            check(sample(text, "tachyon_persistence_snapshots_total") >= 1, text)
            for w in ("0", "1"):
                check(sample(text, "tachyon_worker_rx_packets_total", f'worker="{w}"') is not None,
                      f"worker {w} rx packets missing:\n{text}")
                check(sample(text, "tachyon_worker_running", f'worker="{w}"') == 1, text)
                for name in ("tachyon_worker_preempted_total",
                             "tachyon_worker_cpu_wait_seconds_total"):
                    check(sample(text, name, f'worker="{w}"') is not None,
                          f"worker {w} {name} missing:\n{text}")
            rx = sum(sample(text, "tachyon_worker_rx_packets_total", f'worker="{w}"')
                     for w in ("0", "1"))
            check(rx >= 3, f"rx packets {rx} after 3 pings")
            echo = sum(sample(text, "tachyon_net_icmp_echo_requests_total", f'worker="{w}"') or 0
                       for w in ("0", "1"))
            check(echo >= 3, f"echo requests {echo}")
            check(sample(text, "tachyon_port_rx_packets_total", 'port="0",name="net_tap0"') >= 3,
                  text)
            check(sample(text, "tachyon_port_link_up", 'port="0",name="net_tap0"') == 1, text)
            check('tachyon_net_dropped_packets_total{worker="0",reason="ip_checksum"}' in text,
                  text)
            # The TCP stack's counters, when the stats reply carries them.
            st = b.stats()
            if "tcp" in st["workers"][0].get("l4", {}):
                for name in ("tachyon_tcp_retransmitted_segments_total",
                             "tachyon_tcp_resets_sent_total", "tachyon_tcp_syncookies_sent_total",
                             "tachyon_tcp_connections"):
                    check(sample(text, name, 'worker="0"') is not None, f"{name} missing")
            check_families(text)
            promtool_check(text)

            # The rest of the HTTP surface.
            status, headers, body = http_get(ex.url + "/")
            check(status == 200 and 'href="/metrics"' in body, (status, body))
            status, _, _ = http_get(ex.url + "/nothing")
            check(status == 404, status)
            req = urllib.request.Request(ex.url + "/metrics", data=b"x", method="POST")
            try:
                urllib.request.urlopen(req, timeout=10)
                check(False, "POST must fail")
            except urllib.error.HTTPError as e:
                check(e.code == 405 and "GET" in e.headers["Allow"], e)
            out = raw_request(ex.port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            check(out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"\r\n\r\n"), out[:200])
            out = raw_request(ex.port, b"\x00\x01garbage\r\n\r\n")
            check(out.startswith(b"HTTP/1.1 400 "), out[:200])
            out = raw_request(ex.port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000)
            check(out.startswith(b"HTTP/1.1 431 "), out[:200])
            out = raw_request(ex.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                              b"GET / HTTP/1.1\r\n\r\n", half_close=True)
            check(out.startswith(b"HTTP/1.1 200 ") and out.count(b"HTTP/1.1") == 1, out[:200])
            # Clients that connect and say nothing, or vanish mid-request, hold only their
            # own slot: scrapes keep working meanwhile.
            idle = [socket.create_connection(("127.0.0.1", ex.port)) for _ in range(5)]
            half = socket.create_connection(("127.0.0.1", ex.port))
            half.sendall(b"GET /metr")
            half.close()
            check(sample(ex.metrics(), "tachyon_up") == 1, "scrape failed with idle clients")
            for s in idle:
                s.close()
            check(ex.proc.poll() is None, "exporter died")
        finally:
            rc = ex.stop()
            log = ex.log_text()  # before the harness removes its temp dir
        check(rc == 0, f"exporter exit code {rc} after SIGTERM:\n{log}")
        for mark in SANITIZER_MARKS:
            check(mark not in log, f"sanitizer report in the exporter's log:\n{log}")


def _mqtt_packet(ptype, body):
    """Fixed header (type, remaining length as a varint) + body."""
    n, rl = len(body), b""
    while True:
        byte, n = n % 128, n // 128
        rl += bytes([byte | (0x80 if n else 0)])
        if not n:
            return bytes([ptype]) + rl + body


def _mqtt_str(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def mqtt_publish(host, count, port=1883, timeout=10):
    """One MQTT 3.1.1 client: CONNECT, @count QoS 0 PUBLISHes, DISCONNECT. Written out here
    (a dozen bytes each) so the test needs no MQTT library."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(_mqtt_packet(0x10, _mqtt_str("MQTT") + bytes([4, 0x02, 0, 60])
                               + _mqtt_str(f"exporter-test-{os.getpid()}")))
        connack = b""
        while len(connack) < 4:
            chunk = s.recv(4 - len(connack))
            check(chunk, "connection closed before CONNACK")
            connack += chunk
        check(connack == b"\x20\x02\x00\x00", f"CONNACK {connack!r}")
        for i in range(count):
            s.sendall(_mqtt_packet(0x30, _mqtt_str("tachyon/exporter/test") + f"m{i}".encode()))
        s.sendall(b"\xe0\x00")
        # DISCONNECT: the broker closes; wait for it so every PUBLISH was read.
        s.settimeout(timeout)
        while s.recv(4096):
            pass


def prom_query(base, query):
    """Instant query through Prometheus' HTTP API: list of (labels, value)."""
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    status, _, body = http_get(url)
    check(status == 200, f"{url}: {status} {body}")
    reply = json.loads(body)
    check(reply["status"] == "success", reply)
    return [(r["metric"], float(r["value"][1])) for r in reply["data"]["result"]]


def wait_for(what, fn, timeout=90, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Prometheus:
    """Debian's prometheus with a private config, data dir and port; stopped by pid."""

    def __init__(self, tmp, target):
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "prom.yml")
        with open(conf, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: tachyon\n"
                    "    static_configs:\n"
                    f"      - targets: ['{target}']\n")
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.proc = None
        for _ in range(3):  # the free port may be taken between the probe and the bind
            self.port = free_port()
            self.log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={conf}",
                 f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=self.log, stderr=subprocess.STDOUT)
            self.url = f"http://127.0.0.1:{self.port}"
            try:
                wait_for("Prometheus ready", self._ready, timeout=60)
                return
            except AssertionError:
                if self.proc.poll() is None:
                    self.stop()
                    raise AssertionError(f"Prometheus not ready:\n{self.log_text()}")
                self.log.close()
        raise AssertionError(f"Prometheus did not start:\n{self.log_text()}")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("exited")
        return http_get(self.url + "/-/ready", timeout=2)[0] == 200

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()


def test_prometheus_scrapes():
    if not (os.access(PROMETHEUS, os.X_OK) and os.access(PROMTOOL, os.X_OK)):
        print(f"SKIP part: {PROMETHEUS} or {PROMTOOL} missing (Debian package prometheus)")
        return
    tmp = tempfile.mkdtemp(prefix="tachyon-exp-prom-")
    ex = prom = None
    b = Broker("expprom")
    try:
        b.start()
        ex = Exporter(b.sock, tmp)
        prom = Prometheus(tmp, f"127.0.0.1:{ex.port}")

        def up_is(v):
            r = prom_query(prom.url, 'up{job="tachyon"}')
            return r if r and r[0][1] == v else None

        wait_for("up == 1 in Prometheus", lambda: up_is(1))
        p = b.ping(5)
        check(p.returncode == 0, p.stdout + p.stderr)
        # "Received messages": the broker's MQTT counter when tachyond has one (then real
        # MQTT publishes), else the packets the workers received (the pings above).
        if "tachyon_mqtt_messages_received_total" in ex.metrics():
            mqtt_publish(b.ip, 5)
            counter = "sum(tachyon_mqtt_messages_received_total)"
        else:
            counter = "sum(tachyon_worker_rx_packets_total)"

        def received():
            r = prom_query(prom.url, counter)
            return r if r and r[0][1] >= 5 else None
        r = wait_for(f"{counter} >= 5 in Prometheus", received)
        print(f"     Prometheus: {counter} = {r[0][1]:g}", flush=True)
        r = prom_query(prom.url, 'tachyon_up{job="tachyon"}')
        check(r and r[0][1] == 1, r)
        # Prometheus parsed every scrape: the target is healthy with no error.
        status, _, body = http_get(prom.url + "/api/v1/targets")
        targets = json.loads(body)["data"]["activeTargets"]
        check(len(targets) == 1 and targets[0]["health"] == "up"
              and targets[0]["lastError"] == "", targets)

        # The broker stops; the exporter stays and says so.
        rc = b.stop()
        check(rc == 0, f"tachyond exit code {rc}")
        b.check_log_clean()
        text = ex.metrics()
        check(sample(text, "tachyon_up") == 0, f"tachyon_up not 0 after stop:\n{text}")
        check(sample(text, "tachyon_exporter_scrape_errors_total") >= 1, text)
        promtool_check(text)
        wait_for("tachyon_up == 0 in Prometheus", lambda: [
            x for x in prom_query(prom.url, 'tachyon_up{job="tachyon"}') if x[1] == 0])
        check(up_is(1), "the exporter target itself must stay up")
        check(ex.proc.poll() is None, "exporter died with the broker")
        check("broker not answering" in ex.log_text(), ex.log_text())
    except BaseException:
        if prom is not None:
            sys.stderr.write(f"--- prometheus log ---\n{prom.log_text()}\n")
        if ex is not None:
            sys.stderr.write(f"--- exporter log ---\n{ex.log_text()}\n")
        sys.stderr.write(f"--- tachyond log ---\n{b.log_text()}\n")
        raise
    finally:
        if prom is not None:
            prom.stop()
        rc = ex.stop() if ex is not None else 0
        b.cleanup()
        log = ex.log_text() if ex is not None else ""
        if not os.environ.get("TACHYON_TEST_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    check(rc == 0, f"exporter exit code {rc}")
    for mark in SANITIZER_MARKS:
        check(mark not in log, f"sanitizer report in the exporter's log:\n{log}")


class FakeBroker:
    """A Unix socket that accepts and then misbehaves: says nothing (reply None), sends
    @reply (bytes), or closes at once ("close")."""

    def __init__(self, path, reply):
        import threading
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.reply = reply
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.reply == "close":
                c.close()
                continue
            self.conns.append(c)
            if self.reply is not None:
                c.sendall(self.reply)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_broker_silent_or_garbage():
    """The management query is bounded: a broker that never answers, or answers nonsense,
    gives tachyon_up 0 within --timeout, and the exporter keeps serving."""
    tmp = tempfile.mkdtemp(prefix="tachyon-exp-fake-")
    try:
        for name, reply in (("silent", None), ("garbage", b"{\"ok\":true}\nthis is not json\n"),
                            ("error", b'{"ok":true}\n{"ok":false,"error":{"code":"failed"}}\n'),
                            ("closes", "close")):
            path = os.path.join(tmp, f"{name}.sock")
            fake = FakeBroker(path, reply)
            ex = Exporter(path, tmp)
            try:
                t0 = time.monotonic()
                text = ex.metrics()
                took = time.monotonic() - t0
                check(sample(text, "tachyon_up") == 0, f"{name}: {text}")
                check(took < 6, f"{name}: scrape took {took:.1f}s with --timeout 2")
                if name == "silent":
                    check(took >= 1.9, f"silent broker: answered after {took:.1f}s, before the timeout")
                promtool_check(text)
                check(ex.proc.poll() is None, f"{name}: exporter died")
            finally:
                rc = ex.stop()
                fake.close()
                log = ex.log_text()
            check(rc == 0, f"{name}: exporter exit code {rc}:\n{log}")
            check("broker not answering" in log, f"{name}: {log}")
            for mark in SANITIZER_MARKS:
                check(mark not in log, f"sanitizer report in the exporter's log:\n{log}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (tap interfaces)")
        sys.exit(77)
    run_tests([
        test_exporter_metrics,
        test_broker_silent_or_garbage,
        test_prometheus_scrapes,
    ])
