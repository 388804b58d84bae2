"""Shared by the kill -9 tests (14-durability, 15-durable-state): the broker settings they
run with, waiting for MQTT after a (re)start, and persistent-session connections over the
raw wire client (mqtt_wire)."""

import contextlib
import socket
import sys
import time

import harness
import mqtt_wire as mw

CONF = ["persistence true", "persistence_mode sync", "autosave_interval 0"]
V5_KEEP = {"session_expiry": 3600}


def wait_mqtt(b, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((b.ip, 1883), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise harness.TestFailure(f"no MQTT on {b.ip}:1883 after {timeout}s:\n{b.log_text()}")


@contextlib.contextmanager
def running(name, workers, extra=CONF):
    """A tachyond (not started yet: the body starts it, see start()); when the body fails,
    the tail of its log goes to stderr; in every case it is stopped and its tap and store
    are removed."""
    b = harness.Broker(name, workers=workers, extra=extra)
    try:
        yield b
    except BaseException:
        sys.stderr.write(f"--- tachyond log ---\n{b.log_text()[-6000:]}\n")
        raise
    finally:
        b.cleanup()


def stop_clean(b):
    """SIGTERM: tachyond must exit 0 (its final drain and snapshot done)."""
    rc = b.stop()
    harness.check(rc == 0, f"exit code {rc} after SIGTERM:\n{b.log_text()}")


def start(b):
    b.start()
    wait_mqtt(b)


def restart_after_kill(b):
    b.kill()  # SIGKILL, then the tap is removed; the store stays
    start(b)


def conn(b, version, timeout=5.0):
    return mw.Conn(b.ip, 1883, version, timeout)


def persistent(b, cid, version, session_present=None, will=None):
    c = conn(b, version)
    c.connect(cid, clean=False, props=V5_KEEP if version == 5 else None,
              session_present=session_present, will=will)
    return c
