"""01-foundation: the runtime end to end over a net_tap port.

tachyond starts with a private tap and subnet; the kernel pings it (ARP resolved, echo
replies); tachyonctl status/stats answer (readable and --json) and the counters moved;
SIGTERM, SIGINT and the `shutdown` command all stop it with exit code 0 and remove the tap;
a second tachyond on the same socket refuses; a bad core list fails with a reason.
Run: sudo TACHYOND=... TACHYONCTL=... /usr/bin/python3 01-foundation.py
"""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TACHYOND, Broker, check, link_exists, run_tests  # noqa: E402


def test_ping_status_stats():
    with Broker("found") as b:
        p = b.ping(3)
        check(p.returncode == 0 and "3 received" in p.stdout, f"ping failed:\n{p.stdout}{p.stderr}")

        st = b.request("status")
        check(st["ok"] is True, st)
        check(st["addresses"]["ip"] == b.ip, st["addresses"])
        check(st["addresses"]["kernel_ip"] == b.kernel_ip, st["addresses"])
        check(len(st["workers"]) == 1 and st["workers"][0]["running"], st["workers"])
        port = st["ports"][0]
        check(port["kind"] == "tap" and port["tap"] == b.tap and port["link_up"], port)

        # ARP resolved on the kernel side: its neighbour entry holds our port's MAC.
        neigh = subprocess.run(["ip", "neigh", "show", b.ip, "dev", b.tap],
                               capture_output=True, text=True).stdout.lower()
        check(port["mac"].lower() in neigh, f"kernel neighbour entry: {neigh!r}")

        # tachyonctl, readable
        out = b.ctl("status")
        check(out.returncode == 0, out.stderr)
        for want in ("version", st["version"], f"{b.ip}/24", b.tap, "workers"):
            check(want in out.stdout, f"{want!r} missing from status:\n{out.stdout}")
        # tachyonctl --json prints the raw reply line
        out = b.ctl("--json", "status")
        check(out.returncode == 0, out.stderr)
        j = json.loads(out.stdout)
        check(j["ok"] is True and j["addresses"]["ip"] == b.ip, j)

        s = b.stats()
        net = s["workers"][0]["net"]
        check(net["icmp_rx_echo"] >= 3 and net["icmp_tx_echo_reply"] >= 3, net)
        check(net["arp_rx_request"] >= 1 and net["arp_tx_reply"] >= 1, net)
        check(net["rx_frames"] >= 4 and net["tx_frames"] >= 4, net)
        check(s["totals"]["net"]["icmp_rx_echo"] == net["icmp_rx_echo"], s["totals"])
        check(s["ports"][0]["ipackets"] >= 4 and s["ports"][0]["opackets"] >= 4, s["ports"])
        out = b.ctl("stats")
        check(out.returncode == 0 and "icmp_rx_echo" in out.stdout, out.stdout + out.stderr)

        # More pings move the counters again.
        b.ping(2, interval=0.2)
        net2 = b.stats()["workers"][0]["net"]
        check(net2["icmp_rx_echo"] >= net["icmp_rx_echo"] + 2, (net, net2))
    # leaving the block: SIGTERM, exit code 0, tap gone (checked by the harness)


def test_protocol_errors():
    with Broker("proto") as b:
        r = b.request("no-such-command")
        check(r["ok"] is False and r["error"]["code"] == "unknown_command", r)
        # Not JSON at all: an error reply, and the connection keeps working.
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(b.sock)
            s.sendall(b"this is not json\n{\"cmd\":\"status\"}\n")
            f = s.makefile("rb")
            first = json.loads(f.readline())
            second = json.loads(f.readline())
        check(first["ok"] is False and first["error"]["code"] == "bad_request", first)
        check(second["ok"] is True, second)
        h = b.request("help")
        names = [c["name"] for c in h["commands"]]
        check({"status", "stats", "shutdown"} <= set(names), names)

        # tachyonctl exit codes: 2 for usage errors and for no connection.
        check(b.ctl("frobnicate").returncode == 2, "unknown command must exit 2")
        out = b.ctl("status", socket_path=os.path.join(b.tmp, "nothing-here.sock"))
        check(out.returncode == 2 and "cannot connect" in out.stderr, out.stderr)
        check(b.ctl("status", "--help").returncode == 0, "status --help")


def test_second_instance_refused():
    with Broker("first") as a:
        other = Broker("second")
        try:
            # Same management socket, everything else different.
            with open(other.conf, "a") as f:
                f.write(f"mgmt_socket {a.sock}\n")
            p = subprocess.run([TACHYOND, "-c", other.conf], capture_output=True, text=True,
                               timeout=60, env=other.env())
            check(p.returncode != 0, "second tachyond must refuse to start")
            check("already running" in p.stderr and a.sock in p.stderr,
                  f"unclear message: {p.stderr}")
            check(not link_exists(other.tap), "the refused tachyond created its tap")
        finally:
            other.cleanup()
        # The first one is unharmed.
        check(a.request("status")["ok"], "first tachyond stopped answering")
        check(a.ping(1).returncode == 0, "first tachyond stopped answering pings")


def test_bad_core_list():
    b = Broker("cores")
    try:
        # A CPU this box lacks, too few lcores for main + worker, and bad syntax.
        for cores, why in (("127", "not available"), ("0", "need"), ("1-0", "not a core list")):
            p = subprocess.run([TACHYOND, "-c", b.conf, "--set", f"cores={cores}"],
                               capture_output=True, text=True, timeout=60, env=b.env())
            check(p.returncode != 0, f"cores={cores} must fail")
            check("cores" in p.stderr and why in p.stderr, f"cores={cores}: {p.stderr}")
            check(not link_exists(b.tap), f"tap left behind after cores={cores}")
    finally:
        b.cleanup()


def test_shutdown_command_and_sigint():
    b = Broker("shut").start()
    try:
        out = b.ctl("shutdown")
        check(out.returncode == 0 and "shutting down" in out.stdout, out.stdout + out.stderr)
        rc = b.wait_exit(30)
        check(rc == 0, f"exit code {rc} after shutdown")
        check(not link_exists(b.tap), "tap still there after shutdown")
        check(not os.path.exists(b.sock), "socket file left behind")
        b.check_log_clean()
    finally:
        b.cleanup()

    b = Broker("sigint").start()
    try:
        rc = b.stop(signal.SIGINT)
        check(rc == 0, f"exit code {rc} after SIGINT")
        check(not link_exists(b.tap), "tap still there after SIGINT")
        b.check_log_clean()
    finally:
        b.cleanup()


def test_two_workers():
    # Two workers, one tap queue each (lcores share the 2 CPUs of a small box).
    with Broker("multi", workers=2) as b:
        st = b.request("status")
        check(len(st["workers"]) == 2 and all(w["running"] for w in st["workers"]), st)
        check(st["ports"][0]["queues"] == 2, st["ports"])
        p = b.ping(3)
        check(p.returncode == 0 and "3 received" in p.stdout, p.stdout)
        s = b.stats()
        check(s["totals"]["net"]["icmp_rx_echo"] >= 3, s["totals"])


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (tap interfaces)")
        sys.exit(77)
    run_tests([
        test_ping_status_stats,
        test_protocol_errors,
        test_second_instance_refused,
        test_bad_core_list,
        test_shutdown_command_and_sigint,
        test_two_workers,
    ])
