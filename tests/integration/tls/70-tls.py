"""70-tls: TLS listeners on the userspace TCP stack, against real TLS clients.

Certificates come from Debian's `openssl` (a CA, a server certificate whose SAN is the
broker's address, client certificates, a second CA nobody trusts); the expired client
certificate is made with python3-cryptography (openssl x509 cannot back-date). tachyond
runs three listeners: 1883 plain, 8883 TLS (client certificate optional), 8884 TLS with
require_certificate and use_identity_as_username.

  test_mosquitto_tls_v311_v5      mosquitto_pub/sub --cafile over 8883, MQTT 3.1.1 and 5
  test_unknown_ca_refused         a client trusting another CA does not connect
  test_client_cert_required       8884: no certificate -> refused; a good one -> in
  test_expired_client_cert        8884: an expired certificate -> refused
  test_identity_is_username       8884: the CONNECT's username is replaced by the CN
  test_tls12_and_tls13            both versions negotiate; large payloads both ways
  test_minimum_version            a tls_version tlsv1.3 listener (8885) refuses TLS 1.2
  test_plaintext_on_tls_port      an MQTT CONNECT in clear on 8883: closed, counted, and
                                  the broker serves the next client
  test_churn                      many TLS connections opening and closing at once
  test_reload_certificate         tachyonctl tls-reload: new connections see the new
                                  certificate, an open one keeps working
  test_tls_impaired               TLS through the impairment layer (loss, reordering)
  test_exporter_tls_metrics       tachyon-exporter shows the tls metrics; promtool accepts them
  test_stop_clean                 SIGTERM: exit 0, no sanitizer report, every SSL freed
Run: sudo TACHYOND=... TACHYONCTL=... /usr/bin/python3 70-tls.py [test-name-substring]
"""

import datetime
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Broker, check, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tachyon-tls-")


def sh(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)
    check(r.returncode == 0, f"{' '.join(args)}: {r.stderr}")
    return r


def path(name):
    return os.path.join(TMP, name)


def make_ca(name):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", path(f"{name}.key"), "-out", path(f"{name}.pem"), "-days", "30",
       "-subj", f"/CN={name}")


def make_cert(name, ca, cn, san=None):
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", path(f"{name}.key"), "-out", path(f"{name}.csr"), "-subj", f"/CN={cn}")
    ext = path(f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:{san}\n" if san else "basicConstraints=CA:FALSE\n")
    sh("openssl", "x509", "-req", "-in", path(f"{name}.csr"), "-CA", path(f"{ca}.pem"),
       "-CAkey", path(f"{ca}.key"), "-CAcreateserial", "-out", path(f"{name}.pem"),
       "-days", "30", "-extfile", ext)


def make_expired(name, ca, cn):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    with open(path(f"{ca}.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(path(f"{ca}.pem"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    with open(path(f"{name}.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(path(f"{name}.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


_broker = None


def broker():
    """One broker for the file (certificates made for its address before it starts)."""
    global _broker
    if _broker is None:
        # 8884 also has a password file (without alice) and an ACL that lets alice use
        # alice/# only: the certificate's CN must be the username, and needs no password.
        with open(path("passwd"), "w") as f:
            f.write("")
        subprocess.run(["mosquitto_passwd", "-b", path("passwd"), "carol", "carol-pw"],
                       check=True, capture_output=True)
        with open(path("acl"), "w") as f:
            f.write("user alice\ntopic readwrite alice/#\ntopic readwrite req/#\n")
        b = Broker("tls", workers=int(os.environ.get("TLS_WORKERS", "1")), extra=[
            "per_listener_settings true",
            "listener 1883",
            "allow_anonymous true",
            "listener 8883",
            "allow_anonymous true",
            f"cafile {path('ca.pem')}",
            f"certfile {path('server.pem')}",
            f"keyfile {path('server.key')}",
            "listener 8884",
            f"cafile {path('ca.pem')}",
            f"certfile {path('server.pem')}",
            f"keyfile {path('server.key')}",
            "require_certificate true",
            "use_identity_as_username true",
            "allow_anonymous false",
            f"password_file {path('passwd')}",
            f"acl_file {path('acl')}",
            "listener 8885",
            "allow_anonymous true",
            f"certfile {path('server.pem')}",
            f"keyfile {path('server.key')}",
            "tls_version tlsv1.3",
        ])
        make_ca("ca")
        make_ca("otherca")
        make_cert("server", "ca", "tachyon-test", san=b.ip)
        make_cert("alice", "ca", "alice")
        make_cert("mallory", "otherca", "mallory")
        make_expired("old", "ca", "old")
        b.start()
        _broker = b
    return _broker


def mosq(tool, *args, timeout=15):
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=timeout)


def sub_pub(port, topic, version, extra_sub=(), extra_pub=(), msg="hello"):
    """mosquitto_sub waits for one message, mosquitto_pub sends it; both over TLS."""
    b = broker()
    common = ["-h", b.ip, "-p", str(port), "--cafile", path("ca.pem"), "-V", version]
    sub = subprocess.Popen(["mosquitto_sub", *common, *extra_sub, "-t", topic, "-C", "1",
                            "-W", "10", "-q", "1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    pub = mosq("mosquitto_pub", *common, *extra_pub, "-t", topic, "-m", msg, "-q", "1")
    out, err = sub.communicate(timeout=15)
    return pub, sub.returncode, out, err


def test_mosquitto_tls_v311_v5():
    for v in ("mqttv311", "mqttv5"):
        pub, rc, out, err = sub_pub(8883, f"tls/{v}", v, msg=f"over tls {v}")
        check(pub.returncode == 0, f"{v}: mosquitto_pub failed: {pub.stderr}")
        check(rc == 0 and out.strip() == f"over tls {v}",
              f"{v}: mosquitto_sub got {out!r} (rc {rc}, {err})")


def test_unknown_ca_refused():
    b = broker()
    r = mosq("mosquitto_pub", "-h", b.ip, "-p", "8883", "--cafile", path("otherca.pem"),
             "-t", "x", "-m", "y")
    check(r.returncode != 0, "a client trusting another CA connected")
    check("certificate verify failed" in r.stderr or "TLS" in r.stderr or
          "Error" in r.stderr, f"unexpected error text: {r.stderr!r}")


def test_client_cert_required():
    b = broker()
    base = ["-h", b.ip, "-p", "8884", "--cafile", path("ca.pem"), "-t", "req", "-m", "m"]
    f0 = b.stats()["tls"]["handshake_failures"]
    r = mosq("mosquitto_pub", *base)
    check(r.returncode != 0, "8884 (require_certificate) let a client without one in")
    r = mosq("mosquitto_pub", *base, "--cert", path("mallory.pem"), "--key",
             path("mallory.key"))
    check(r.returncode != 0, "8884 let a certificate from an untrusted CA in")
    f1 = b.stats()["tls"]["handshake_failures"]
    check(f1 >= f0 + 2, f"two refused handshakes, handshake_failures {f0} -> {f1}")
    for v in ("mqttv311", "mqttv5"):
        pub, rc, out, err = sub_pub(8884, f"req/{v}", v,
                                    extra_sub=("--cert", path("alice.pem"), "--key",
                                               path("alice.key")),
                                    extra_pub=("--cert", path("alice.pem"), "--key",
                                               path("alice.key")), msg="with cert")
        check(pub.returncode == 0, f"{v}: a good client certificate was refused: {pub.stderr}")
        check(rc == 0 and out.strip() == "with cert", f"{v}: sub got {out!r} ({err})")


def test_expired_client_cert():
    b = broker()
    f0 = b.stats()["tls"]["handshake_failures"]
    r = mosq("mosquitto_pub", "-h", b.ip, "-p", "8884", "--cafile", path("ca.pem"),
             "--cert", path("old.pem"), "--key", path("old.key"), "-t", "x", "-m", "y")
    check(r.returncode != 0, "an expired client certificate was accepted")
    check(b.stats()["tls"]["handshake_failures"] > f0, "the expired certificate's refusal "
                                                      "was not counted by the broker")
    check("expired" in b.log_text(), "no log line names the expired certificate")


def tls_connect(port, version=None, cert=None, timeout=10):
    b = broker()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(path("ca.pem"))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(path(f"{cert}.pem"), path(f"{cert}.key"))
    raw = socket.create_connection((b.ip, port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=b.ip)


def mqtt_str(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(s)) + s


def remaining(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def packet(ptype, body):
    return bytes([ptype]) + remaining(len(body)) + body


def connect_pkt(cid, username=None, password=None, version=4):
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
    body = mqtt_str("MQTT") + bytes([version, flags]) + struct.pack("!H", 30)
    if version == 5:
        body += b"\x00"
    body += mqtt_str(cid)
    if username:
        body += mqtt_str(username)
    if password:
        body += mqtt_str(password)
    return packet(0x10, body)


def read_packet(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            c = s.recv(n - len(buf))
            if not c:
                raise EOFError("closed")
            buf += c
        return buf
    first = exact(1)[0]
    mult, n = 1, 0
    while True:
        d = exact(1)[0]
        n += (d & 127) * mult
        mult *= 128
        if not d & 128:
            break
    return first, exact(n)


def test_identity_is_username():
    # 8884 has a password file without alice and an ACL granting alice alice/# only. A
    # client with alice's certificate that claims to be carol (with carol's password, even)
    # gets in as alice: alice/# is granted, carol's and anyone else's topics are not.
    for claim in (("carol", "carol-pw"), (None, None)):
        s = tls_connect(8884, cert="alice")
        s.sendall(connect_pkt(f"id-{claim[0]}", username=claim[0], password=claim[1]))
        t, body = read_packet(s)
        check(t == 0x20 and body[1] == 0, f"CONNACK over 8884 claiming {claim[0]}: "
                                          f"{t:#x} {body!r}")
        s.sendall(packet(0x82, struct.pack("!H", 7) + mqtt_str("alice/x") + b"\x01" +
                         mqtt_str("carol/x") + b"\x01"))
        t, body = read_packet(s)
        check(t == 0x90 and body[2:] == b"\x01\x80",
              f"SUBACK as the certificate's alice: {body[2:]!r} (want granted, refused)")
        s.close()


def test_tls12_and_tls13():
    topic = "tls/big"
    for ver in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        sub = tls_connect(8883, ver)
        check(sub.version() in ("TLSv1.2", "TLSv1.3"), f"negotiated {sub.version()}")
        sub.sendall(connect_pkt(f"sub-{ver.name}"))
        check(read_packet(sub)[0] == 0x20, "no CONNACK")
        sub.sendall(packet(0x82, struct.pack("!H", 1) + mqtt_str(topic) + b"\x00"))
        check(read_packet(sub)[0] == 0x90, "no SUBACK")
        pub = tls_connect(8883, ver)
        pub.sendall(connect_pkt(f"pub-{ver.name}"))
        check(read_packet(pub)[0] == 0x20, "no CONNACK")
        payload = os.urandom(200000)
        pub.sendall(packet(0x30, mqtt_str(topic) + payload))
        t, body = read_packet(sub)
        check(t == 0x30 and body[2 + len(topic):] == payload,
              f"{ver.name}: 200 kB payload changed on the way ({len(body)} bytes)")
        sub.close()
        pub.close()


def test_minimum_version():
    # 8885 has tls_version tlsv1.3: a TLS 1.2 client is refused, a TLS 1.3 one gets in.
    try:
        s = tls_connect(8885, ssl.TLSVersion.TLSv1_2)
        s.close()
        check(False, "a TLS 1.2 client got through a tls_version tlsv1.3 listener")
    except (ssl.SSLError, ConnectionResetError, OSError) as e:
        check("version" in str(e).lower() or isinstance(e, ssl.SSLError),
              f"unexpected error for TLS 1.2 on a 1.3 listener: {e!r}")
    s = tls_connect(8885, ssl.TLSVersion.TLSv1_3)
    check(s.version() == "TLSv1.3", f"negotiated {s.version()}")
    s.sendall(connect_pkt("v13"))
    check(read_packet(s)[0] == 0x20, "no CONNACK over TLS 1.3")
    s.close()


def test_plaintext_on_tls_port():
    b = broker()
    before = b.stats()["tls"]["handshake_failures"]
    s = socket.create_connection((b.ip, 8883), timeout=10)
    s.sendall(connect_pkt("cleartext"))
    s.settimeout(10)
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    check(not data.startswith(b"\x20"), f"a cleartext CONNECT on a TLS port was answered: "
                                        f"{data!r}")
    s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and b.stats()["tls"]["handshake_failures"] <= before:
        time.sleep(0.1)
    check(b.stats()["tls"]["handshake_failures"] > before, "handshake failure not counted")
    test_mosquitto_tls_v311_v5()  # and the next clients are served


def test_churn():
    n, rounds = 40, 3
    errors = []

    def one(i):
        try:
            for r in range(rounds):
                s = tls_connect(8883)
                s.sendall(connect_pkt(f"churn-{i}-{r}"))
                t, _ = read_packet(s)
                if t != 0x20:
                    errors.append(f"{i}/{r}: {t:#x}")
                s.sendall(b"\xe0\x00")  # DISCONNECT
                s.close()
        except Exception as e:  # noqa: BLE001
            errors.append(f"{i}: {e!r}")
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(not errors, f"{len(errors)} churn failures: {errors[:5]}")
    b = broker()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b.stats()["tls"]["connections"] != 0:
        time.sleep(0.2)
    check(b.stats()["tls"]["connections"] == 0,
          f"TLS sessions left after churn: {b.stats()['tls']}")


def test_reload_certificate():
    b = broker()
    old = tls_connect(8883)
    old.sendall(connect_pkt("before-reload"))
    check(read_packet(old)[0] == 0x20, "no CONNACK before reload")
    first = old.getpeercert()
    # A new server certificate (new CN) in the same files, then reload.
    make_cert("server2", "ca", "tachyon-reloaded", san=b.ip)
    shutil.copy(path("server2.pem"), path("server.pem"))
    shutil.copy(path("server2.key"), path("server.key"))
    r = b.ctl("tls-reload")
    check(r.returncode == 0, f"tachyonctl tls-reload: {r.returncode} {r.stdout} {r.stderr}")
    new = tls_connect(8883)
    cn = dict(x[0] for x in new.getpeercert()["subject"])["commonName"]
    check(cn == "tachyon-reloaded", f"after reload the server still shows {cn!r}")
    check(dict(x[0] for x in first["subject"])["commonName"] == "tachyon-test", "first cert")
    old.sendall(b"\xc0\x00")  # PINGREQ on the connection opened before the reload
    check(read_packet(old)[0] == 0xd0, "the old connection stopped working after reload")
    old.close()
    new.close()
    # A broken key: refused, exit code 1, the listener keeps its certificate.
    with open(path("server.key"), "w") as f:
        f.write("not a key\n")
    r = b.ctl("tls-reload")
    check(r.returncode == 1, f"tls-reload with a broken key: exit {r.returncode}")
    s = tls_connect(8883)
    s.close()
    shutil.copy(path("server2.key"), path("server.key"))


def test_tls_impaired():
    # A second broker whose frames go through the seeded impairment layer.
    b = Broker("tlsimp", extra=["impair_seed 11", "impair_loss 0.03",
                                "impair_delay_us 3000", "impair_jitter_us 2000",
                                "allow_anonymous true",
                                "listener 8883", f"certfile {path('server.pem')}",
                                f"keyfile {path('server.key')}"])
    with b:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(path("ca.pem"))
        ctx.check_hostname = False
        for i in range(5):
            s = ctx.wrap_socket(socket.create_connection((b.ip, 8883), timeout=30))
            s.settimeout(30)
            s.sendall(connect_pkt(f"imp-{i}"))
            t, body = read_packet(s)
            check(t == 0x20 and body[1] == 0, f"CONNACK through impairment: {t:#x} {body!r}")
            s.sendall(packet(0x82, struct.pack("!H", 1) + mqtt_str(f"imp/{i}") + b"\x00"))
            check(read_packet(s)[0] == 0x90, "no SUBACK")
            payload = os.urandom(100000)
            s.sendall(packet(0x30, mqtt_str(f"imp/{i}") + payload))
            t, body = read_packet(s)
            check(t == 0x30 and body.endswith(payload), "payload changed through impairment")
            s.close()


def test_exporter_tls_metrics():
    # The exporter maps the tls section to Prometheus names that promtool accepts.
    exe = os.environ.get("TACHYON_EXPORTER")
    if not exe or not shutil.which("promtool"):
        print("  (skipped: no TACHYON_EXPORTER or promtool)")
        return
    b = broker()
    r = subprocess.run([exe, "--once", "--socket", b.sock], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, f"tachyon-exporter --once: {r.returncode} {r.stderr}")
    text = r.stdout
    for name in ("tachyon_tls_handshakes_total", "tachyon_tls_handshake_failures_total",
                 "tachyon_tls_connections", "tachyon_message_memory_objects_in_use"):
        check(f"\n{name}" in text, f"{name} missing from the exporter's output")
    hs = [ln for ln in text.splitlines() if ln.startswith("tachyon_tls_handshakes_total ")]
    check(hs and float(hs[0].split()[1]) > 0, f"no TLS handshakes counted: {hs}")
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 0, f"promtool check metrics: {p.stdout} {p.stderr}")


def test_stop_clean():
    global _broker
    b, _broker = broker(), None
    rc = b.stop()
    check(rc == 0, f"tachyond exit code {rc} after SIGTERM")
    b.check_log_clean()
    b.cleanup()


def main():
    sel = sys.argv[1] if len(sys.argv) > 1 else ""
    tests = [t for name, t in sorted(globals().items(), key=lambda kv: 0)
             if name.startswith("test_") and sel in name]
    order = ["test_mosquitto_tls_v311_v5", "test_unknown_ca_refused",
             "test_client_cert_required", "test_expired_client_cert",
             "test_identity_is_username", "test_tls12_and_tls13", "test_minimum_version",
             "test_plaintext_on_tls_port", "test_churn", "test_reload_certificate",
             "test_tls_impaired", "test_exporter_tls_metrics", "test_stop_clean"]
    tests.sort(key=lambda t: order.index(t.__name__))
    try:
        run_tests(tests)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
