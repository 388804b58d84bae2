"""Integration test harness: runs the real tachyond over a net_tap port and talks to it.

Reusable by every numbered test (01-foundation.py, tcp/..., later MQTT tests):

    from harness import Broker, run_tests
    with Broker("foundation") as b:      # starts tachyond, waits until the socket answers
        b.ping(3)                        # kernel -> broker ICMP
        st = b.request("status")         # raw management reply (dict)
        out = b.ctl("status")            # tachyonctl, CompletedProcess
    # leaving the block stops it with SIGTERM, checks exit code 0 and that the tap is gone

Each Broker gets its own tap name, /24 subnet, EAL file prefix, management socket and
persistence directory (in a temp dir; persistence is on, as by default, so every test runs
with it), so tests never collide with a running tachyond or with each other. Whatever
happens (failed assertion, exception, interpreter exit) the broker is killed and its tap
removed: try/finally in __exit__ plus an atexit hook.

Environment: TACHYOND and TACHYONCTL (paths, set by meson), TACHYON_TEST_KEEP=1 keeps the temp
dir. From the sanitizer build dir tachyond runs with LeakSanitizer on (its shutdown frees
everything, DPDK included, via rte_eal_cleanup); any sanitizer report in its log fails the
test (Broker.check_log_clean). Set ASAN_OPTIONS=detect_leaks=0 yourself if a DPDK version
reports its own allocations.
Must run as root with /usr/bin/python3 (needs /dev/net/tun and ip(8)).
"""

import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TACHYOND = os.environ.get("TACHYOND", "tachyond")
TACHYONCTL = os.environ.get("TACHYONCTL", "tachyonctl")

_live = []  # brokers to clean up at exit


def _cleanup_all():
    for b in list(_live):
        b.kill()


atexit.register(_cleanup_all)


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class Broker:
    """One tachyond process with a private tap, subnet, socket and EAL prefix."""

    def __init__(self, name, workers=1, extra=None, memory_mb=256, mbufs=4095, memif=False):
        """memif=True: a net_memif server port (socket self.memif_socket) instead of the
        tap; no kernel side, so clients are DPDK processes such as tachyon-loadgen."""
        self.name = name
        digest = hashlib.sha1(f"{name}-{os.getpid()}".encode()).digest()
        tag = digest.hex()[:6]
        # 10.(100..199).(0..249).0/24: private, unlikely to clash with the embedded default
        # (10.77.0.0/24) or another test of this run.
        self.net = f"10.{100 + digest[0] % 100}.{digest[1] % 250}"
        self.kernel_ip = f"{self.net}.1"
        self.ip = f"{self.net}.2"
        self.tap = f"tt{tag}"                      # interface names are at most 15 chars
        self.tmp = tempfile.mkdtemp(prefix=f"tachyon-{name}-")
        self.sock = os.path.join(self.tmp, "tachyon.sock")
        self.file_prefix = f"tt-{name}-{tag}"
        self.conf = os.path.join(self.tmp, "tachyon.conf")
        self.log_path = os.path.join(self.tmp, "tachyond.log")
        self.proc = None
        self.workers = workers
        self.memif_socket = os.path.join(self.tmp, "memif.sock") if memif else None
        port = [f"memif_socket {self.memif_socket}"] if memif else [
            f"tap_name {self.tap}",
            f"tap_address {self.kernel_ip}",
            f"gateway {self.kernel_ip}",
        ]
        lines = [
            f"workers {workers}",
            f"memory_mb {memory_mb}",
            f"mbufs {mbufs}",
            f"file_prefix {self.file_prefix}",
        ] + port + [
            f"address {self.ip}/24",
            f"mgmt_socket {self.sock}",
            "persistence true",
            f"persistence_location {self.tmp}/store/",
            "log_level info",
        ]
        lines += list(extra or [])
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- lifecycle --------------------------------------------------------------------

    def env(self):
        return dict(os.environ)

    def start(self, timeout=60):
        check(not link_exists(self.tap), f"tap {self.tap} exists before start")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TACHYOND, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env())
        _live.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"tachyond exited with {self.proc.returncode} during "
                                  f"start-up:\n{self.log_text()}")
            try:
                if self.request("status").get("ok"):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise TestFailure(f"tachyond not ready after {timeout}s:\n{self.log_text()}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal tachyond, wait for it, check that the tap is gone. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stacks = self.thread_stacks()
            self.kill()
            raise TestFailure(f"tachyond did not stop within {timeout}s after {sig!r}"
                              + (f"; its threads then:\n{stacks}" if stacks else ""))
        self._forget()
        return rc

    def wait_exit(self, timeout=30):
        rc = self.proc.wait(timeout=timeout)
        self._forget()
        return rc

    def thread_stacks(self):
        """Every thread's stack of the running tachyond (gdb -batch), also appended to its
        log; '' without gdb. For a broker that does not stop: where it is."""
        gdb = shutil.which("gdb")
        if gdb is None or self.proc is None or self.proc.poll() is not None:
            return ""
        try:
            out = subprocess.run([gdb, "-p", str(self.proc.pid), "-batch", "-ex",
                                  "thread apply all bt 30"], capture_output=True, text=True,
                                 timeout=120).stdout
        except (subprocess.TimeoutExpired, OSError):
            return ""
        if getattr(self, "log", None) is not None and not self.log.closed:
            self.log.write(("\n--- thread stacks (gdb) ---\n" + out).encode())
            self.log.flush()
        return out

    def worker_tids(self):
        """The thread ids of the running tachyond's workers (EAL threads rte-worker-N)."""
        tids = []
        task = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task):
            try:
                with open(f"{task}/{tid}/comm") as f:
                    if f.read().startswith("rte-worker-"):
                        tids.append(int(tid))
            except OSError:  # a thread that just ended
                pass
        return tids

    def worker_cpus(self):
        """The CPUs the running tachyond's workers may run on."""
        cpus = set()
        for tid in self.worker_tids():
            try:
                cpus |= os.sched_getaffinity(tid)
            except OSError:
                pass
        return cpus

    def kill(self):
        """Last resort: SIGKILL and remove the tap ourselves."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()
        if link_exists(self.tap):
            subprocess.run(["ip", "link", "del", self.tap], stderr=subprocess.DEVNULL)

    def _forget(self):
        if self in _live:
            _live.remove(self)
        if getattr(self, "log", None) is not None and not self.log.closed:
            self.log.close()

    def cleanup(self):
        self.kill()
        if not os.environ.get("TACHYON_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.proc is not None and self.proc.poll() is None:
                rc = self.stop()
                check(rc == 0, f"tachyond exit code {rc} after SIGTERM:\n{self.log_text()}")
                check(not link_exists(self.tap), f"tap {self.tap} still there after exit")
                self.check_log_clean()
            elif exc_type is not None:
                sys.stderr.write(f"--- tachyond log ({self.log_path}) ---\n{self.log_text()}\n")
        finally:
            self.cleanup()
        return False

    SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer")

    def check_log_clean(self):
        """Fails if the sanitizer build of tachyond reported anything."""
        text = self.log_text()
        for mark in self.SANITIZER_MARKS:
            check(mark not in text, f"sanitizer report in tachyond's log:\n{text}")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # ---- talking to it ----------------------------------------------------------------

    def request(self, cmd, **args):
        """One management request; returns the decoded reply (dict)."""
        req = dict(cmd=cmd, **args)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall((json.dumps(req) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def ctl(self, *args, socket_path=None):
        """Runs tachyonctl against this broker; returns the CompletedProcess."""
        cmd = [TACHYONCTL, "-s", socket_path or self.sock] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    def ping(self, count=3, interval=0.2, timeout=10):
        """Pings the broker from the kernel side; returns ping's CompletedProcess."""
        return subprocess.run(["ping", "-c", str(count), "-i", str(interval), "-W", "2",
                               "-w", str(timeout), self.ip],
                              capture_output=True, text=True)

    def stats(self):
        r = self.request("stats")
        check(r.get("ok"), f"stats failed: {r}")
        return r


def run_tests(tests):
    """Runs test functions in order; prints a line per test; exits 0 only if all pass."""
    failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}", flush=True)
            traceback.print_exc()
    _cleanup_all()
    if failed:
        print(f"{failed} of {len(tests)} failed")
        sys.exit(1)
    print(f"all {len(tests)} passed")
