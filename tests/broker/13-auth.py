#!/usr/bin/python3
"""13-auth: usernames and passwords (password_file made by Debian's mosquitto_passwd), anonymous
access, ACLs (acl_file with user sections and %c / %u patterns) on PUBLISH, SUBSCRIBE and
delivery, wills, the failed-login rate limit, and run-time changes through tachyonctl
(user add / passwd / delete, acl reload / add / list). MQTT 3.1.1 and 5, with mqtt_wire,
paho and mosquitto_pub / mosquitto_sub (-u / -P).

Reason codes are what docs/security.md states: a wrong username or password gets CONNACK 0x86
(MQTT 5) / return code 4 (3.1.1); a refused anonymous client 0x87 / 5. Debian's mosquitto 2.0.11
answers 0x87 / 5 to both, so the checks that look at the code are tachyon_only.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brokertest as bt  # noqa: E402
import mqtt_wire as mw  # noqa: E402

T = bt.Suite(__file__)

# ---- fixtures: files made before any broker starts (config lines name them) ----------------

TMP = tempfile.mkdtemp(prefix="bt-auth-")
atexit.register(shutil.rmtree, TMP, True)

USERS = {"alice": "secret", "bob": "hunter2", "carol": "c4r0l", "ops": "0ps-pw"}

ACL = """\
# made by tests/broker/13-auth.py
pattern readwrite dev/%c/#
pattern write up/%u/#
pattern read down/%u/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret
topic read bob/public

user bob
topic readwrite bob/#

user carol
topic write shared/#

user ops
topic read #
"""


def make_passwd(path):
    first = True
    for u, p in USERS.items():
        cmd = ["mosquitto_passwd", "-b", path, u, p]
        if first:
            cmd.insert(1, "-c")
            first = False
        subprocess.run(cmd, check=True, capture_output=True)


def make_files(tag):
    pw = os.path.join(TMP, f"passwd-{tag}")
    acl = os.path.join(TMP, f"acl-{tag}")
    make_passwd(pw)
    with open(acl, "w") as f:
        f.write(ACL)
    return pw, acl


PW_MAIN, ACL_MAIN = make_files("main")
PW_CTL, ACL_CTL = make_files("ctl")
PW_RL, _ = make_files("rl")

MAIN = ["allow_anonymous false", f"password_file {PW_MAIN}", f"acl_file {ACL_MAIN}",
        "auth_fail_burst 1000"]
CTL = ["allow_anonymous false", f"password_file {PW_CTL}", f"acl_file {ACL_CTL}",
       "auth_fail_burst 1000"]
RL = ["allow_anonymous false", f"password_file {PW_RL}", "auth_fail_burst 2",
      "auth_fail_interval 60"]

TACHYON = "tachyond's own config keys and reason codes (docs/security.md)"
BAD_USER_PASS = {4: 4, 5: 0x86}
NOT_AUTHORIZED = {4: 5, 5: 0x87}
VERSIONS = (4, 5)
VNAME = {4: "mqttv311", 5: "mqttv5"}


def login(t, user, version=4, cid=None, rc=0, password=None, **kw):
    """A wire client logged in as `user` (its password from USERS unless given)."""
    c = t.conn(version)
    c.connect(cid or t.cid(user), username=user,
              password=(password if password is not None else USERS[user]).encode(), rc=rc,
              **kw)
    return c


def mqtt_stats(t):
    return t.target.b.stats()["mqtt"]


def delta(before, after, key):
    return after[key] - before[key]


def mosq_pub_rc(t, user, password, version, topic="x/y", extra=()):
    cmd = [bt.MOSQUITTO_PUB, "-h", t.host, "-p", str(t.port), "-t", topic, "-m", "m",
           "-V", VNAME[version], "-i", t.cid("mp")]
    if user is not None:
        cmd += ["-u", user, "-P", password]
    cmd += list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=15)


def ctl(t, *args, stdin=None):
    b = t.target.b
    cmd = [os.environ["TACHYONCTL"], "-s", b.sock] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, input=stdin)


# ---- CONNECT --------------------------------------------------------------------------------

@T.check(config=MAIN, tachyon_only=TACHYON)
def login_right_password(t):
    before = mqtt_stats(t)
    for v in VERSIONS:
        login(t, "alice", v).disconnect()
        # The same login again: answered from the verified-login cache.
        login(t, "alice", v).disconnect()
        p = mosq_pub_rc(t, "bob", USERS["bob"], v, topic="bob/x")
        bt.check(p.returncode == 0, f"mosquitto_pub -V {VNAME[v]} -u bob: {p.stderr}")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "auth_cache_hits") >= 2,
             f"repeat logins were not served by the cache: {after}")


@T.check(config=MAIN, tachyon_only=TACHYON)
def login_paho(t):
    import paho.mqtt.client as pm
    for v, proto in ((4, pm.MQTTv311), (5, pm.MQTTv5)):
        got = {}
        for pw, key in ((USERS["carol"], "ok"), ("nope", "bad")):
            c = pm.Client(client_id=t.cid("paho"), protocol=proto)
            c.username_pw_set("carol", pw)
            done = []
            c.on_connect = lambda cl, u, f, rc, props=None: done.append(
                rc if isinstance(rc, int) else rc.value)
            c.connect(t.host, t.port, 30)
            c.loop_start()
            deadline = time.monotonic() + 10
            while not done and time.monotonic() < deadline:
                time.sleep(0.05)
            c.disconnect()
            c.loop_stop()
            bt.check(done, f"paho v{v}: no CONNACK")
            got[key] = done[0]
        bt.check(got["ok"] == 0, f"paho v{v} right password: CONNACK {got['ok']}")
        bt.check(got["bad"] == BAD_USER_PASS[v],
                 f"paho v{v} wrong password: CONNACK {got['bad']}, expected "
                 f"{BAD_USER_PASS[v]}")


@T.check(config=MAIN, tachyon_only=TACHYON)
def login_wrong_password(t):
    before = mqtt_stats(t)
    for v in VERSIONS:
        c = login(t, "alice", v, password="wrong", rc=BAD_USER_PASS[v])
        c.expect_closed()
        # No password at all for a user that has one.
        c = t.conn(v)
        c.connect(t.cid(), username="alice", rc=BAD_USER_PASS[v])
        p = mosq_pub_rc(t, "alice", "wrong", v)
        bt.check(p.returncode != 0, f"mosquitto_pub -V {VNAME[v]} with a wrong password "
                                    f"succeeded")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "auth_bad_password") == 6,
             f"auth_bad_password counted {delta(before, after, 'auth_bad_password')}, "
             f"expected 6")
    bt.check("login refused from" in t.target.log_text(), "no log line for a refused login")


@T.check(config=MAIN, tachyon_only=TACHYON)
def login_unknown_user(t):
    before = mqtt_stats(t)
    for v in VERSIONS:
        c = t.conn(v)
        c.connect(t.cid(), username="mallory", password=b"secret", rc=BAD_USER_PASS[v])
        c.expect_closed()
        p = mosq_pub_rc(t, "mallory", "secret", v)
        bt.check(p.returncode != 0, "mosquitto_pub as an unknown user succeeded")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "auth_unknown_user") == 4,
             f"auth_unknown_user: {delta(before, after, 'auth_unknown_user')}, expected 4")


@T.check(config=MAIN, tachyon_only=TACHYON)
def anonymous_refused(t):
    before = mqtt_stats(t)
    for v in VERSIONS:
        c = t.conn(v)
        c.connect(t.cid(), rc=NOT_AUTHORIZED[v])
        c.expect_closed()
        p = mosq_pub_rc(t, None, None, v)
        bt.check(p.returncode != 0, "anonymous mosquitto_pub succeeded")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "auth_anon_refused") == 4,
             f"auth_anon_refused: {delta(before, after, 'auth_anon_refused')}, expected 4")


# ---- ACLs -----------------------------------------------------------------------------------

@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_publish(t):
    ops = login(t, "ops", 5)
    ops.subscribe([("#", 1)])
    before = mqtt_stats(t)
    # MQTT 5: QoS 1 and 2 refused with 0x87; QoS 0 dropped silently; the connection lives.
    a5 = login(t, "alice", 5)
    bt.check(a5.publish("bob/x", b"no", qos=1).rc == 0x87, "v5 QoS 1 to bob/x: not 0x87")
    bt.check(a5.publish("bob/x", b"no", qos=2).rc == 0x87, "v5 QoS 2 to bob/x: not 0x87")
    a5.publish("bob/x", b"no", qos=0)
    bt.check(a5.publish("alice/x", b"yes5", qos=1).rc == 0, "v5 publish to alice/x refused")
    # 3.1.1: acknowledged as usual (Mosquitto does the same), but not passed on.
    a4 = login(t, "alice", 4)
    bt.check(a4.publish("bob/x", b"no", qos=1).rc == 0, "3.1.1 PUBACK carries a code")
    a4.publish("bob/x", b"no", qos=2)      # full QoS 2 flow completes
    a4.publish("bob/x", b"no", qos=0)
    a4.publish("alice/y", b"yes4", qos=1)
    got = sorted((p.topic, p.payload) for p in ops.collect(timeout=1.0))
    bt.check(got == [("alice/x", b"yes5"), ("alice/y", b"yes4")],
             f"ops saw {got}, expected only alice's own topics")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "acl_denied_publish") == 6,
             f"acl_denied_publish: {delta(before, after, 'acl_denied_publish')}, expected 6")


@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_subscribe(t):
    before = mqtt_stats(t)
    for v, fail in ((5, 0x87), (4, 0x80)):
        a = login(t, "alice", v)
        # carol/#: no read rule of alice's shares a topic with it; shared/secret: a deny
        # covers it all. (bob/# would be accepted: `topic read bob/public` lies inside.)
        s = a.subscribe([("carol/#", 1), ("shared/#", 1), ("shared/secret", 0),
                         ("alice/#", 2)], check=False)
        bt.check(s.codes == [fail, 1, fail, 2], f"v{v} SUBACK codes {s.codes}, expected "
                                                 f"[{fail:#x}, 1, {fail:#x}, 2]")
        bt.check(a.is_open(), f"v{v}: connection closed after a refused filter")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "acl_denied_subscribe") == 4,
             f"acl_denied_subscribe: {delta(before, after, 'acl_denied_subscribe')}")


@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_read_filters_delivery(t):
    carol = login(t, "carol", 5)
    # Retained messages are filtered too.
    carol.publish("shared/secret", b"r-secret", qos=1, retain=True)
    carol.publish("shared/news", b"r-news", qos=1, retain=True)
    try:
        before = mqtt_stats(t)
        a = login(t, "alice", 4)
        a.subscribe([("shared/#", 1)])
        got = [(p.topic, p.payload) for p in a.collect(timeout=1.0)]
        bt.check(got == [("shared/news", b"r-news")], f"retained to alice: {got}")
        carol.publish("shared/secret", b"live-secret", qos=1)
        carol.publish("shared/x", b"live-x", qos=1)
        got = [(p.topic, p.payload) for p in a.collect(timeout=1.0)]
        bt.check(got == [("shared/x", b"live-x")], f"live to alice: {got}")
        after = mqtt_stats(t)
        bt.check(delta(before, after, "acl_denied_read") == 2,
                 f"acl_denied_read: {delta(before, after, 'acl_denied_read')}, expected 2")
    finally:
        carol.publish("shared/secret", b"", qos=1, retain=True)
        carol.publish("shared/news", b"", qos=1, retain=True)
        t.retained.clear()   # cleared above (the runner's anonymous client may not)


@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_patterns_client_id_and_username(t):
    ops = login(t, "ops", 4)
    ops.subscribe([("#", 0)])
    b = login(t, "bob", 5, cid="dev1")
    ok = [("dev/dev1/t", b"1"), ("up/bob/t", b"2")]
    denied = [("dev/dev2/t", b"3"), ("up/alice/t", b"4"), ("down/bob/t", b"5")]
    for topic, pl in ok:
        bt.check(b.publish(topic, pl, qos=1).rc == 0, f"bob as dev1: {topic} refused")
    for topic, pl in denied:
        bt.check(b.publish(topic, pl, qos=1).rc == 0x87, f"bob as dev1: {topic} allowed")
    got = sorted((p.topic, p.payload) for p in ops.collect(timeout=1.0))
    bt.check(got == sorted(ok), f"ops saw {got}, expected {sorted(ok)}")
    # %u on read: bob may subscribe to down/bob/# but not down/alice/#.
    s = b.subscribe([("down/bob/#", 0), ("down/alice/#", 0), ("dev/dev1/#", 0),
                     ("dev/dev2/#", 0)], check=False)
    bt.check(s.codes == [0, 0x87, 0, 0x87], f"pattern SUBACK codes {s.codes}")


@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_mosquitto_clients(t):
    for v in VERSIONS:
        sub = t.mosq_sub("shared/#", 1, qos=1, version=v,
                         extra=["-u", "alice", "-P", USERS["alice"]])
        for topic in ("shared/secret", "shared/ok"):
            p = mosq_pub_rc(t, "carol", USERS["carol"], v, topic=topic, extra=["-q", "1"])
            bt.check(p.returncode == 0, f"mosquitto_pub as carol to {topic}: {p.stderr}")
        lines = sub.wait()
        bt.check(lines == ["shared/ok m"], f"mosquitto_sub -V {VNAME[v]} as alice got {lines}")
        # A refused subscription: the client sees the failure code in its SUBACK.
        sub = t.mosq_sub("carol/#", 1, version=v, extra=["-u", "alice", "-P", USERS["alice"]],
                         timeout=3)
        sub.wait()   # -W 3: it ends by itself (or at once, all requests being denied)
        dbg = "".join(sub.debug)
        code = "135" if v == 5 else "128"
        bt.check(code in dbg, f"mosquitto_sub -V {VNAME[v]} carol/#: SUBACK without {code}: "
                              f"{dbg}")


@T.check(config=MAIN, tachyon_only=TACHYON)
def acl_will_checked_at_publish(t):
    ops = login(t, "ops", 4)
    ops.subscribe([("#", 0)])
    before = mqtt_stats(t)
    for topic in ("bob/will", "alice/will"):
        a = login(t, "alice", 4, will=mw.Will(topic, b"gone"))
        a.close()    # no DISCONNECT: the will goes
    got = [(p.topic, p.payload) for p in ops.collect(timeout=1.5)]
    bt.check(got == [("alice/will", b"gone")], f"wills seen: {got}")
    after = mqtt_stats(t)
    bt.check(delta(before, after, "acl_denied_will") == 1,
             f"acl_denied_will: {delta(before, after, 'acl_denied_will')}")


# ---- per listener ---------------------------------------------------------------------------

PER_LISTENER = ["per_listener_settings true",
                "listener 1883", f"password_file {PW_MAIN}", "allow_anonymous false",
                "listener 1884", "allow_anonymous true"]


@T.check(config=PER_LISTENER, tachyon_only=TACHYON)
def per_listener_anonymous_and_passwords(t):
    def conn(port, v):
        c = mw.Conn(t.host, port, v, 5, name=f"port{port}(v{v})")
        t.conns.append(c)
        return c
    for v in VERSIONS:
        # 1883: passwords checked, anonymous refused.
        conn(1883, v).connect(t.cid(), rc=NOT_AUTHORIZED[v])
        conn(1883, v).connect(t.cid(), username="alice", password=b"x", rc=BAD_USER_PASS[v])
        conn(1883, v).connect(t.cid(), username="alice", password=b"secret")
        # 1884: anonymous allowed; no password_file there, so usernames are not checked
        # (Mosquitto's rule).
        conn(1884, v).connect(t.cid())
        conn(1884, v).connect(t.cid(), username="alice", password=b"anything")
    p = mosq_pub_rc(t, None, None, 5, extra=["-p", "1884"])
    bt.check(p.returncode == 0, f"anonymous mosquitto_pub on 1884: {p.stderr}")


# ---- the rate limit of failed logins --------------------------------------------------------

@T.check(config=RL, tachyon_only=TACHYON)
def failed_logins_rate_limited(t):
    # burst 2 per worker: each worker lets 2 wrong guesses from our address through, then
    # blocks it. Guess until 6 answers in a row are 0x9F: by then every worker the kernel
    # spreads our connections over has blocked us (the limiter is per worker).
    codes = []
    while len(codes) < 40 and codes[-6:] != [0x9F] * 6:
        c = t.conn(5)
        codes.append(c.connect(t.cid(), username="alice", password=b"guess", rc=None).rc)
        c.close()
    bt.check(codes[-6:] == [0x9F] * 6, f"never rate limited: {codes}")
    bt.check(codes[:2] == [0x86, 0x86], f"first failures not 0x86: {codes}")
    bt.check(codes.count(0x86) <= 2 * t.workers, f"more than burst per worker: {codes}")
    # While blocked, the right password does not help either (MQTT 5: 0x9F, 3.1.1: 5).
    seen = set()
    for _ in range(3):
        for v in VERSIONS:
            c = t.conn(v)
            seen.add((v, c.connect(t.cid(), username="alice", password=b"secret",
                                   rc=None).rc))
            c.close()
    bt.check(seen == {(5, 0x9F), (4, 5)}, f"right password while blocked: {seen}")
    st = mqtt_stats(t)
    bt.check(st["auth_rate_limited"] >= 2 and st["auth_blocks"] >= 1, f"counters: {st}")
    bt.check("blocked for" in t.target.log_text(), "no log line for the blocked address")


# ---- run-time changes through tachyonctl ----------------------------------------------------

@T.check(config=CTL, tachyon_only=TACHYON)
def ctl_user_add_passwd_delete(t):
    c = t.conn(5)
    c.connect(t.cid(), username="dave", password=b"pw1", rc=0x86)
    r = ctl(t, "user", "add", "dave", "-p", "pw1")
    bt.check(r.returncode == 0, f"tachyonctl user add: {r.returncode} {r.stderr}")
    with open(PW_CTL) as f:
        bt.check(any(line.startswith("dave:$7$") for line in f), "dave not in the file")
    login(t, "dave", 5, password="pw1").disconnect()
    p = mosq_pub_rc(t, "dave", "pw1", 4, topic="dev/x/y")
    bt.check(p.returncode == 0, f"mosquitto_pub as dave: {p.stderr}")
    # Adding again is an error (exit code 1: the broker said no).
    r = ctl(t, "user", "add", "dave", "-p", "other")
    bt.check(r.returncode == 1, f"second user add: exit {r.returncode}")
    # A new password from stdin; the cached old one must stop working at once.
    login(t, "dave", 4, password="pw1").disconnect()
    r = ctl(t, "user", "passwd", "dave", stdin="pw2\n")
    bt.check(r.returncode == 0, f"tachyonctl user passwd: {r.stderr}")
    login(t, "dave", 4, password="pw1", rc=4)
    login(t, "dave", 4, password="pw2").disconnect()
    # Debian's mosquitto_passwd still reads what we wrote (and we read what it writes).
    subprocess.run(["mosquitto_passwd", "-b", PW_CTL, "erin", "e-pw"], check=True)
    r = ctl(t, "user", "reload")
    bt.check(r.returncode == 0, f"user reload: {r.stderr}")
    login(t, "erin", 5, password="e-pw").disconnect()
    r = ctl(t, "user", "list")
    bt.check("dave" in r.stdout.split() and "erin" in r.stdout.split(), f"list: {r.stdout}")
    r = ctl(t, "user", "delete", "dave")
    bt.check(r.returncode == 0, f"tachyonctl user delete: {r.stderr}")
    login(t, "dave", 5, password="pw2", rc=0x86)
    with open(PW_CTL) as f:
        bt.check(not any(line.startswith("dave:") for line in f), "dave still in the file")


@T.check(config=CTL, tachyon_only=TACHYON)
def ctl_acl_reload_and_add(t):
    a = login(t, "alice", 5)
    bt.check(a.publish("extra/x", b"1", qos=1).rc == 0x87, "extra/x allowed before reload")
    with open(ACL_CTL, "a") as f:
        f.write("\nuser alice\ntopic write extra/#\n")
    r = ctl(t, "acl", "reload")
    bt.check(r.returncode == 0, f"tachyonctl acl reload: {r.returncode} {r.stderr}")
    # The connection that was already there gets the new rules too.
    bt.check(a.publish("extra/x", b"2", qos=1).rc == 0, "extra/x refused after reload")
    s = a.subscribe([("more/#", 0)], check=False)
    bt.check(s.codes == [0x87], f"more/# before acl add: {s.codes}")
    r = ctl(t, "acl", "add", "--user", "alice", "read", "more/#")
    bt.check(r.returncode == 0, f"tachyonctl acl add: {r.stderr}")
    s = a.subscribe([("more/#", 0)], check=False)
    bt.check(s.codes == [0], f"more/# after acl add: {s.codes}")
    r = ctl(t, "acl", "list")
    bt.check("topic read more/#" in r.stdout, f"acl list: {r.stdout}")
    r = ctl(t, "acl", "remove", "--user", "alice", "read", "more/#")
    bt.check(r.returncode == 0, f"tachyonctl acl remove: {r.stderr}")
    s = a.subscribe([("more/#", 0)], check=False)
    bt.check(s.codes == [0x87], f"more/# after acl remove: {s.codes}")
    # A broken file is refused and the rules in force stay.
    with open(ACL_CTL, "a") as f:
        f.write("nonsense line\n")
    r = ctl(t, "acl", "reload")
    bt.check(r.returncode == 1, f"reload of a broken file: exit {r.returncode}")
    bt.check(a.publish("extra/x", b"3", qos=1).rc == 0, "rules lost after a failed reload")


if __name__ == "__main__":
    T.main()
