"""10-tcp-echo: the userspace TCP stack against the Linux kernel over the tap port.

tachyond runs with the diagnostic echo service (tcp_echo_port); real kernel sockets are
the clients. Every test checks the echoed bytes exactly and, at the end, that the stack
holds no connection any more (stats: tcp.conns_cur == 0) and that every worker's mbuf pool
is back to the count it had before the test's traffic (stats: mempools[].in_use).

  test_concurrent_echo   many connections at once echoing random data, then half-close
  test_large_transfer    one connection, a large transfer in each direction at once
  test_open_close        open/echo/close cycles
  test_client_rst        a client that resets (SO_LINGER 0)
  test_half_close        the client shuts its write side, still reads the echo and our FIN
  test_vanished_client   the client's address disappears (100% loss): the stack gives up
                         after its retry limit and frees the connection
  test_impaired_*        the echo test through the seeded impairment layer (impair_* keys):
                         5% loss; 10 ms +- 5 ms delay with reordering; 1% duplication;
                         0.1% corruption
  test_rx_pool_exhausted the receive pool runs out while the tap queue fills: the port
                         receives again once mbufs are back

Sizes: a CI variant by default; TACHYON_TCP_FULL=1 runs the issue's full sizes (1,000
connections x 1 MB, 200 MB each way, 10,000 cycles). Must run as root with /usr/bin/python3.
Run: sudo TACHYOND=... TACHYONCTL=... /usr/bin/python3 10-tcp-echo.py [test-name-substring]
"""

import os
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Broker, check, run_tests  # noqa: E402

FULL = os.environ.get("TACHYON_TCP_FULL") == "1"
PORT = 7007
BLOCK = os.urandom(1 << 20)  # the random data; connection i sends it rotated by i


def payload(i, off, n):
    """n bytes of connection i's stream at offset off."""
    out = bytearray()
    start = (off + i * 7919) % len(BLOCK)
    while len(out) < n:
        take = min(n - len(out), len(BLOCK) - start)
        out += BLOCK[start:start + take]
        start = 0
    return bytes(out)


def use_cubic(s):
    """This box's kernel defaults to BBR, whose bandwidth estimate collapses to ~1 kbit/s
    after the burst losses of 1,000 flows into one tap queue and then stays there (the test
    would measure BBR, not our stack); CUBIC recovers. Best effort."""
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
    except OSError:
        pass


def tcp_stats(b):
    s = b.stats()
    tot = {}
    for w in s["workers"]:
        for k, v in w.get("l4", {}).get("tcp", {}).items():
            tot[k] = tot.get(k, 0) + v
    return tot


def pools_in_use(b):
    return [p["in_use"] for p in b.stats().get("mempools", [])]


def wait_conns_zero(b, timeout=30):
    """Waits until no connection is left and the mbuf pools are back to their counts at
    start (segments queued for retransmission, out-of-order data and delayed frames all
    returned); returns the TCP counters."""
    deadline = time.monotonic() + timeout
    st = tcp_stats(b)
    while time.monotonic() < deadline:
        st = tcp_stats(b)
        if st.get("conns_cur", -1) == 0:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"connections left in the stack: {st}")
    # At most the count at start: a frame in flight when the baseline was read (an ARP
    # exchange, a TX burst not yet drained) may have made that count one or two higher.
    def back(pools):
        return len(pools) == len(b.pool_base) and all(
            now <= base for now, base in zip(pools, b.pool_base))
    pools = pools_in_use(b)
    while time.monotonic() < deadline and not back(pools):
        time.sleep(0.2)
        pools = pools_in_use(b)
    check(back(pools), f"mbufs in use per worker {pools}, at start {b.pool_base}: mbufs leaked")
    return st


class EchoBroker(Broker):
    """A Broker that records its workers' mbuf pool use once started, before traffic."""

    def __enter__(self):
        super().__enter__()
        try:
            self.pool_base = pools_in_use(self)
            # Two mbuf pools per worker: 2 KiB (receive) and small (send).
            check(len(self.pool_base) == 2 * self.workers, f"mempools in stats: {self.pool_base}")
        except BaseException:
            self.cleanup()
            raise
        return self


def echo_many(ip, nconns, nbytes, timeout):
    """nconns concurrent echo clients, each sending nbytes then half-closing; every byte
    is checked and every connection must see the server's FIN after the last byte."""
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(nconns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        use_cubic(s)
        s.setblocking(False)
        s.connect_ex((ip, PORT))
        c = {"i": i, "s": s, "sent": 0, "rcvd": 0, "eof": False, "wclosed": False}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = nconns
    deadline = time.monotonic() + timeout
    chunk = 65536
    while left and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            s = c["s"]
            if ev & selectors.EVENT_WRITE and not c["wclosed"]:
                if c["sent"] < nbytes:
                    n = min(chunk, nbytes - c["sent"])
                    try:
                        c["sent"] += s.send(payload(c["i"], c["sent"], n))
                    except (BlockingIOError, InterruptedError):
                        pass
                if c["sent"] == nbytes:
                    s.shutdown(socket.SHUT_WR)
                    c["wclosed"] = True
                    sel.modify(s, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                if not data:
                    check(c["rcvd"] == nbytes,
                          f"conn {c['i']}: EOF after {c['rcvd']} of {nbytes} bytes")
                    sel.unregister(s)
                    s.close()
                    c["eof"] = True
                    left -= 1
                    continue
                want = payload(c["i"], c["rcvd"], len(data))
                check(data == want, f"conn {c['i']}: bytes differ at offset {c['rcvd']}")
                c["rcvd"] += len(data)
    for c in conns:
        if not c["eof"]:
            c["s"].close()
    stuck = [(c["i"], c["sent"], c["rcvd"]) for c in conns if not c["eof"]]
    check(not stuck, f"{len(stuck)} connections did not finish within {timeout}s: {stuck[:5]}")


def broker(name, extra=()):
    return EchoBroker(name, memory_mb=512, mbufs=32767,
                  extra=[f"tcp_echo_port {PORT}", "tcp_time_wait_ms 1000"] + list(extra))


def test_concurrent_echo():
    n, size = (1000, 1 << 20) if FULL else (100, 256 << 10)
    with broker("tcpecho") as b:
        t0 = time.monotonic()
        echo_many(b.ip, n, size, timeout=600 if FULL else 120)
        dt = time.monotonic() - t0
        print(f"  {n} conns x {size} bytes echoed in {dt:.1f}s "
              f"({2 * n * size / dt / 1e6:.1f} MB/s both ways)", flush=True)
        st = wait_conns_zero(b)
        check(st["conns_opened"] >= n, st)
        check(st["cksum_errors"] == 0, st)


def test_large_transfer():
    size = (200 << 20) if FULL else (32 << 20)
    with broker("tcpbig") as b:
        s = socket.socket()
        use_cubic(s)
        s.settimeout(60)
        s.connect((b.ip, PORT))
        err = []

        def reader():
            got = 0
            try:
                while got < size:
                    data = s.recv(1 << 20)
                    if not data:
                        break
                    if data != payload(0, got, len(data)):
                        err.append(f"differs at {got}")
                        return
                    got += len(data)
                if got != size:
                    err.append(f"short: {got}")
            except OSError as e:
                err.append(repr(e))

        th = threading.Thread(target=reader)
        th.start()
        t0 = time.monotonic()
        off = 0
        while off < size:
            n = min(1 << 20, size - off)
            s.sendall(payload(0, off, n))
            off += n
        th.join(timeout=300)
        dt = time.monotonic() - t0
        s.close()
        check(not th.is_alive(), "reader hung")
        check(not err, err)
        print(f"  {size >> 20} MB each way in {dt:.1f}s ({size / dt / 1e6:.1f} MB/s each "
              f"direction)", flush=True)
        wait_conns_zero(b)


def test_open_close():
    n = 10000 if FULL else 1000
    with broker("tcpcycle") as b:
        t0 = time.monotonic()
        for i in range(n):
            s = socket.create_connection((b.ip, PORT), timeout=10)
            msg = struct.pack("!I", i) * 8
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(4096)
                check(d, f"cycle {i}: EOF early")
                got += d
            check(got == msg, f"cycle {i}: wrong echo")
            s.close()
        dt = time.monotonic() - t0
        print(f"  {n} open/echo/close cycles in {dt:.1f}s ({n / dt:.0f}/s)", flush=True)
        st = wait_conns_zero(b)
        check(st["conns_opened"] >= n, st)


def test_client_rst():
    with broker("tcprst") as b:
        before = tcp_stats(b)
        s = socket.create_connection((b.ip, PORT), timeout=10)
        s.sendall(b"x" * 1000)
        check(len(s.recv(4096)) > 0, "no echo")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
        st = wait_conns_zero(b, 10)
        check(st["resets_in"] >= before.get("resets_in", 0) + 1, st)


def test_half_close():
    with broker("tcphalf") as b:
        s = socket.create_connection((b.ip, PORT), timeout=10)
        data = payload(3, 0, 300000)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        check(got == data, f"half-close echo: {len(got)} of {len(data)} bytes, equal="
              f"{got == data[:len(got)]}")
        s.close()
        wait_conns_zero(b, 10)


def test_vanished_client():
    with broker("tcpgone", ["tcp_rto_max_ms 1000", "tcp_max_retries 4"]) as b:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.connect((b.ip, PORT))
        s.setblocking(False)
        sent = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:  # fill both directions: we never read
            try:
                sent += s.send(payload(1, sent, 65536))
            except BlockingIOError:
                if time.monotonic() - t0 > 1:
                    break
                time.sleep(0.05)
        check(sent > 0, "nothing sent")
        # the client vanishes: its address goes, frames to it are dropped by the kernel
        subprocess.run(["ip", "addr", "flush", "dev", b.tap], check=True)
        try:
            st = wait_conns_zero(b, 60)
        finally:
            subprocess.run(["ip", "addr", "add", f"{b.kernel_ip}/24", "dev", b.tap])
            s.close()
        check(st["conns_timed_out"] >= 1, st)


def impaired(name, keys, n=20, size=128 << 10):
    if FULL:
        n, size = 100, 1 << 20
    with broker(name, ["impair_seed 7"] + keys) as b:
        t0 = time.monotonic()
        echo_many(b.ip, n, size, timeout=900 if FULL else 300)
        print(f"  {name}: {n} x {size} bytes in {time.monotonic() - t0:.1f}s", flush=True)
        st = wait_conns_zero(b, 120)
        return st


def test_impaired_loss_5pct():
    st = impaired("tcploss", ["impair_loss 0.05"])
    check(st["retransmits"] > 0, st)


def test_impaired_delay_reorder():
    st = impaired("tcpdelay", ["impair_delay_us 10000", "impair_jitter_us 5000"])
    check(st["ooo_segs"] > 0, f"no reordering seen: {st}")


def test_impaired_dup_1pct():
    impaired("tcpdup", ["impair_dup 0.01"])


def test_impaired_corrupt():
    st = impaired("tcpcorrupt", ["impair_corrupt 0.001"], n=20, size=512 << 10)
    check(st["cksum_errors"] > 0, f"no corrupted segment reached the stack: {st}")


def test_rx_pool_exhausted():
    """The receive pool runs out while the tap's queue fills, then comes back: the port must
    receive again. The impairment layer holds every frame for 0.3 s (up to 4,096 a
    direction), the receive pool has 2,047 mbufs (1,024 in the ring), and the kernel sends
    4,000 datagrams at once: the pool empties, net_tap's reads fail, and the tun queue
    fills. net_tap then waits for the queue fd's signal (F_GETSIG: a real-time signal), which
    the kernel no longer raises (it drops frames to a full queue before signalling), so
    without the worker's kick (loop.rx_kicks) the broker never received anything again,
    ARP and ACKs included."""
    with broker("tcprxpool", ["impair_seed 7", "impair_delay_us 300000",
                              "rx_mbufs 2047"]) as b:
        echo_many(b.ip, 1, 1000, timeout=60)  # ARP resolved, the path works
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = 0
        for _ in range(4000):
            try:
                u.sendto(b"x" * 64, (b.ip, 9))
                sent += 1
            except OSError:  # the qdisc full: that is the point
                pass
        u.close()
        time.sleep(1.5)  # the held frames go back to the pool
        echo_many(b.ip, 4, 4000, timeout=60)
        loop = b.stats()["totals"]["loop"]
        print(f"  {sent} datagrams sent; rx_kicks {loop['rx_kicks']}", flush=True)
        check(loop["rx_kicks"] >= 1, f"the pool never ran out, the test proves nothing: {loop}")
        wait_conns_zero(b, 60)


TESTS = [test_concurrent_echo, test_large_transfer, test_open_close, test_client_rst,
         test_half_close, test_vanished_client, test_impaired_loss_5pct,
         test_impaired_delay_reorder, test_impaired_dup_1pct, test_impaired_corrupt,
         test_rx_pool_exhausted]

if __name__ == "__main__":
    only = sys.argv[1] if len(sys.argv) > 1 else None
    run_tests([t for t in TESTS if only is None or only in t.__name__])
