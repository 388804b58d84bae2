"""60-tachyonctl: every operations subcommand of tachyonctl against a running tachyond with
real MQTT clients connected (raw-socket clients from tests/broker/mqtt_wire.py over the tap).

Checked: clients / client / sessions / subscriptions list the connected clients (filters
and paging); kick really disconnects (MQTT 5: DISCONNECT 0x98 and the will is published;
3.1.1: a plain close); an offline persistent session shows in sessions with its expiry;
retained list / get / clear; publish reaches a subscriber; config get / set (an invalid
value is refused with exit code 1 and changes nothing; a changed message_size_limit takes
effect at once); reload applies a limit edited in the file and reports a key that needs a
restart; log level; per-QoS counters and the latency histogram in stats; --help on every
subcommand, usage errors and no connection exit 2; the socket is 0600, or 0660 owned by
mgmt_group when that is set.
Run: sudo TACHYOND=... TACHYONCTL=... /usr/bin/python3 60-tachyonctl.py
"""

import json
import os
import stat
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "broker"))
from harness import Broker, check, run_tests  # noqa: E402
import mqtt_wire as mw  # noqa: E402

SUBCOMMANDS = ["status", "stats", "clients", "client", "kick", "sessions", "subscriptions",
               "retained", "publish", "config", "reload", "log", "shutdown", "help"]


def ctl_json(b, *args):
    out = b.ctl("--json", *args)
    check(out.returncode == 0, f"tachyonctl {' '.join(args)} failed ({out.returncode}): "
                               f"{out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def ctl_ok(b, *args):
    out = b.ctl(*args)
    check(out.returncode == 0, f"tachyonctl {' '.join(args)} failed ({out.returncode}): "
                               f"{out.stdout}{out.stderr}")
    return out.stdout


def wait_for(pred, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_help_and_usage():
    with Broker("ctlhelp") as b:
        for sc in SUBCOMMANDS:
            out = b.ctl(sc, "--help")
            check(out.returncode == 0 and "Usage: tachyonctl" in out.stdout,
                  f"{sc} --help: {out.returncode} {out.stdout}{out.stderr}")
        for bad in (["client"], ["kick", "a", "b"], ["retained", "get"], ["publish"],
                    ["config", "set", "x"], ["clients", "--state", "maybe"],
                    ["clients", "--bogus"], ["nosuchcommand"]):
            out = b.ctl(*bad)
            check(out.returncode == 2, f"{bad}: exit {out.returncode}, want 2 "
                                       f"({out.stderr})")
        out = b.ctl("status", socket_path=os.path.join(b.tmp, "nope.sock"))
        check(out.returncode == 2, f"no connection: exit {out.returncode}")
        mode = stat.S_IMODE(os.stat(b.sock).st_mode)
        check(mode == 0o600, f"socket mode {oct(mode)}, want 0600")
        help_cmds = {c["name"] for c in b.request("help")["commands"]}
        for sc in SUBCOMMANDS:
            check(sc in help_cmds, f"broker has no '{sc}' command: {help_cmds}")


def test_socket_group():
    """mgmt_group: the socket becomes 0660, owned by that group (root stays the owner)."""
    import grp
    try:
        gid = grp.getgrnam("adm").gr_gid
    except KeyError:
        print("SKIP part: no group 'adm' on this machine")
        return
    with Broker("ctlgrp", extra=["mgmt_group adm"]) as b:
        st = os.stat(b.sock)
        check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid,
              f"socket mode {oct(stat.S_IMODE(st.st_mode))} gid {st.st_gid}, want 0660 {gid}")
        ctl_ok(b, "status")


def test_clients_kick_sessions():
    with Broker("ctlcli", workers=2) as b:
        # A v5 client with a will, a 3.1.1 persistent client, a watcher of the will topic.
        watch = mw.Conn(b.ip, 1883, version=4, name="watch")
        watch.connect("watcher")
        watch.subscribe([("will/#", {"qos": 0})])
        v5 = mw.Conn(b.ip, 1883, version=5, name="v5")
        v5.connect("ops-v5", will=mw.Will("will/ops-v5", b"gone"),
                   props={"session_expiry": 300})
        v5.subscribe([("cmd/+/in", {"qos": 1})])
        v3 = mw.Conn(b.ip, 1883, version=4, name="v3")
        v3.connect("ops-v3", clean=False)
        v3.subscribe([("data/#", {"qos": 0})])

        r = ctl_json(b, "clients")
        ids = {c["client_id"]: c for c in r["clients"]}
        for cid in ("ops-v5", "ops-v3", "watcher"):
            check(cid in ids, f"{cid} missing from clients: {r}")
        c5 = ids["ops-v5"]
        check(c5["protocol_version"] == 5 and c5["online"] and c5["keep_alive"] == 60, c5)
        check(c5["address"].startswith(b.kernel_ip + ":"), c5)
        check(c5["bytes_in"] > 0 and c5["bytes_out"] > 0 and "connected_since" in c5, c5)
        check(ids["ops-v3"]["protocol_version"] == 4, ids["ops-v3"])
        text = ctl_ok(b, "clients")
        check("ops-v5" in text and "ops-v3" in text and "5.0" in text, text)
        # filters and paging
        r = ctl_json(b, "clients", "--prefix", "ops-")
        check(sorted(c["client_id"] for c in r["clients"]) == ["ops-v3", "ops-v5"], r)
        r = ctl_json(b, "clients", "--protocol", "5")
        check([c["client_id"] for c in r["clients"]] == ["ops-v5"], r)
        r = ctl_json(b, "clients", "--limit", "1", "--offset", "1")
        check(r["total"] == 3 and len(r["clients"]) == 1
              and r["clients"][0]["client_id"] == "ops-v5", r)
        w = ids["ops-v5"]["worker"]
        r = ctl_json(b, "clients", "--worker", str(w))
        check(all(c["worker"] == w for c in r["clients"]) and
              "ops-v5" in [c["client_id"] for c in r["clients"]], r)

        # one client's detail
        r = ctl_json(b, "client", "ops-v5")
        check(r["client"]["subscription_list"][0]["filter"] == "cmd/+/in", r)
        check(r["client"]["subscription_list"][0]["qos"] == 1, r)
        text = ctl_ok(b, "client", "ops-v5")
        check("cmd/+/in" in text, text)
        out = b.ctl("client", "nobody")
        check(out.returncode == 1 and "not_found" in out.stderr, out.stderr)

        # subscriptions by client and by filter
        r = ctl_json(b, "subscriptions", "--client", "ops-v3")
        check([(s["client_id"], s["filter"]) for s in r["subscriptions"]] ==
              [("ops-v3", "data/#")], r)
        r = ctl_json(b, "subscriptions", "--filter", "will/#")
        check([s["client_id"] for s in r["subscriptions"]] == ["watcher"], r)
        check("data/#" in ctl_ok(b, "subscriptions"), "subscriptions table")

        # kick: MQTT 5 gets DISCONNECT 0x98 and its will goes out; 3.1.1 is closed
        out = ctl_ok(b, "kick", "ops-v5")
        check("disconnected" in out, out)
        v5.expect_closed(disconnect=mw.RC["ADMIN_ACTION"])
        watch.expect_publish("will/ops-v5", b"gone")
        ctl_ok(b, "kick", "ops-v3")
        v3.expect_closed(disconnect=False)
        out = b.ctl("kick", "nobody")
        check(out.returncode == 1 and "not_found" in out.stderr, out.stderr)
        out = b.ctl("kick", "ops-v3")   # its session stays, offline
        check(out.returncode == 1 and "not_connected" in out.stderr, out.stderr)

        # sessions: the two persistent sessions are offline, with their expiry
        r = wait_for(lambda: (lambda x: x if sum(not s["online"] for s in x["sessions"]) == 2
                              else None)(ctl_json(b, "sessions")), what="offline sessions")
        ss = {s["client_id"]: s for s in r["sessions"]}
        check(not ss["ops-v5"]["online"] and 0 < ss["ops-v5"]["expires_in_s"] <= 300, ss)
        check(not ss["ops-v3"]["online"] and ss["ops-v3"]["expires_in_s"] is None, ss)
        check(ss["watcher"]["online"], ss)
        r = ctl_json(b, "sessions", "--state", "offline")
        check(sorted(s["client_id"] for s in r["sessions"]) == ["ops-v3", "ops-v5"], r)
        text = ctl_ok(b, "sessions")
        check("offline" in text and "expires in" in text and "never expires" in text, text)
        r = ctl_json(b, "clients")
        check([c["client_id"] for c in r["clients"]] == ["watcher"], r)
        watch.close()


def test_retained_publish_stats():
    with Broker("ctlret", workers=2) as b:
        sub = mw.Conn(b.ip, 1883, version=5, name="sub")
        sub.connect("sub")
        sub.subscribe([("inj/#", {"qos": 1})])
        pub = mw.Conn(b.ip, 1883, version=4, name="pub")
        pub.connect("pub")
        pub.publish("keep/a", b"retained-a", qos=1, retain=True)
        pub.publish("keep/b", b"retained-b", qos=0, retain=True)
        pub.publish("x/q2", b"two", qos=2)

        r = wait_for(lambda: (lambda x: x if x["total"] >= 2 else None)(
            ctl_json(b, "retained", "list", "keep/#")), what="retained messages")
        check([m["topic"] for m in r["retained"]] == ["keep/a", "keep/b"], r)
        check("keep/a" in ctl_ok(b, "retained", "list"), "retained list table")
        r = ctl_json(b, "retained", "get", "keep/a")
        check(r["retained"]["payload"] == "retained-a" and r["retained"]["qos"] == 1, r)
        check("retained-a" in ctl_ok(b, "retained", "get", "keep/a"), "retained get text")
        ctl_ok(b, "retained", "clear", "keep/a")
        out = b.ctl("retained", "get", "keep/a")
        check(out.returncode == 1 and "not_found" in out.stderr, out.stderr)
        r = ctl_json(b, "retained", "list", "keep/#")
        check([m["topic"] for m in r["retained"]] == ["keep/b"], r)
        # A new subscriber gets only what is left.
        late = mw.Conn(b.ip, 1883, version=4, name="late")
        late.connect("late")
        late.subscribe([("keep/#", {"qos": 0})])
        late.expect_publish("keep/b", b"retained-b")
        late.expect_nothing(0.5)

        # publish as the broker reaches a subscriber (and may be retained)
        out = ctl_ok(b, "publish", "inj/one", "from-ctl", "--qos", "1")
        check("published" in out, out)
        sub.expect_publish("inj/one", b"from-ctl", qos=1)
        ctl_ok(b, "publish", "inj/kept", "sticky", "--retain")
        sub.expect_publish("inj/kept", b"sticky")
        r = ctl_json(b, "retained", "get", "inj/kept")
        check(r["retained"]["payload"] == "sticky", r)
        out = b.ctl("publish", "bad/#", "x")
        check(out.returncode == 1, f"wildcard publish: {out.returncode} {out.stderr}")

        # stats: per-QoS counters, the latency histogram, ring depths
        st = ctl_json(b, "stats")
        mq = st["mqtt"]
        check(mq["msgs_received"]["qos1"] >= 1 and mq["msgs_received"]["qos2"] >= 1
              and mq["msgs_received"]["qos0"] >= 1, mq["msgs_received"])
        check(mq["msgs_sent"]["qos1"] >= 1, mq["msgs_sent"])
        h = mq["latency_histogram"]
        check(h["unit"] == "ns" and h["count"] >= 2 and h["buckets"][-1] == ["+Inf", h["count"]],
              h)
        check(len(st["rings"]) == 2 and st["rings"][0]["capacity"] > 0, st["rings"])
        for c in (sub, pub, late):
            c.close()


def test_config_reload_log():
    with Broker("ctlcfg", extra=["message_size_limit 0"]) as b:
        sub = mw.Conn(b.ip, 1883, version=4, name="sub")
        sub.connect("sub")
        sub.subscribe([("lim/#", {"qos": 0})])
        pub = mw.Conn(b.ip, 1883, version=4, name="pub")
        pub.connect("pub")

        r = ctl_json(b, "config", "get", "max_keepalive")
        check(r["setting"]["value"] == "65535" and r["setting"]["runtime"]
              and r["setting"]["live"], r)
        r = ctl_json(b, "config", "get")
        keys = {s["key"] for s in r["settings"]}
        check({"message_size_limit", "mbufs", "log_level"} <= keys, keys)
        check("message_size_limit" in ctl_ok(b, "config", "get"), "config table")

        # refused: out of range, not a number, not changeable at run time, unknown
        for args, code in ((["max_keepalive", "70000"], "invalid_value"),
                           (["message_size_limit", "lots"], "invalid_value"),
                           (["mbufs", "8191"], "restart_required"),
                           (["no_such_key", "1"], "unknown_key")):
            out = b.ctl("config", "set", *args)
            check(out.returncode == 1 and code in out.stderr,
                  f"config set {args}: {out.returncode} {out.stderr}")
        r = ctl_json(b, "config", "get", "max_keepalive")
        check(r["setting"]["value"] == "65535", f"refused set changed the value: {r}")
        r = ctl_json(b, "config", "get", "mbufs")
        check(r["setting"]["value"] == "4095", r)

        # a limit that takes effect at once
        pub.publish("lim/a", b"x" * 50)
        sub.expect_publish("lim/a", b"x" * 50)
        ctl_ok(b, "config", "set", "message_size_limit", "10")
        check(ctl_json(b, "config", "get", "message_size_limit")["setting"]["value"] == "10",
              "message_size_limit not 10")
        pub.publish("lim/b", b"y" * 50)
        pub.publish("lim/c", b"small")
        sub.expect_publish("lim/c", b"small")   # lim/b (50 bytes > 10) was dropped
        check("message_size_limit changed from '0' to '10'" in b.log_text(), b.log_text())

        # reload: the edited file's limit is applied, a start-up key is reported
        with open(b.conf) as f:
            text = f.read()
        text = text.replace("message_size_limit 0", "message_size_limit 100")
        text = text.replace("mbufs 4095", "mbufs 8191")
        with open(b.conf, "w") as f:
            f.write(text)
        r = ctl_json(b, "reload")
        check({"key": "message_size_limit", "old": "10", "new": "100", "live": True}
              in r["applied"], r)
        check("mbufs" in r["restart_required"], r)
        check(ctl_json(b, "config", "get", "mbufs")["setting"]["value"] == "4095", "mbufs")
        pub.publish("lim/d", b"z" * 50)
        pub.publish("lim/e", b"w" * 150)
        pub.publish("lim/f", b"end")
        sub.expect_publish("lim/d", b"z" * 50)
        sub.expect_publish("lim/f", b"end")     # lim/e (150 > 100) was dropped
        text = ctl_ok(b, "reload")
        check("needs a restart" in text and "mbufs" in text, text)
        # a file that does not load changes nothing
        with open(b.conf, "a") as f:
            f.write("max_keepalive banana\n")
        out = b.ctl("reload")
        check(out.returncode == 1 and "invalid_config" in out.stderr, out.stderr)
        check(ctl_json(b, "config", "get", "max_keepalive")["setting"]["value"] == "65535",
              "bad reload changed max_keepalive")

        # log level
        check("log level info" in ctl_ok(b, "log"), "log")
        ctl_ok(b, "log", "debug")
        check(ctl_json(b, "status")["log_level"] == "debug", "log level not debug")
        out = b.ctl("log", "loud")
        check(out.returncode == 1, out.stderr)
        ctl_ok(b, "log", "info")
        for c in (sub, pub):
            c.close()


def test_allow_anonymous_live():
    # allow_anonymous is live: the workers' security tables are published again, so the
    # next CONNECT is judged by the new value; a client already in stays.
    with Broker("ctlanon") as b:
        inside = mw.Conn(b.ip, 1883, version=4, name="inside")
        inside.connect("inside")
        ctl_ok(b, "config", "set", "allow_anonymous", "false")
        check(ctl_json(b, "config", "get", "allow_anonymous")["setting"]["live"], "not live")
        c4 = mw.Conn(b.ip, 1883, version=4, name="anon4")
        c4.connect("anon4", rc=5)              # 3.1.1: not authorized
        c5 = mw.Conn(b.ip, 1883, version=5, name="anon5")
        c5.connect("anon5", rc=0x87)           # 5.0: Not authorized
        check(inside.is_open(), "the client inside was dropped")
        ctl_ok(b, "config", "set", "allow_anonymous", "true")
        again = mw.Conn(b.ip, 1883, version=4, name="anon-again")
        again.connect("anon-again")
        for c in (inside, again):
            c.close()


def test_shutdown():
    with Broker("ctlstop") as b:
        out = ctl_ok(b, "shutdown")
        check("shutting down" in out, out)
        check(b.wait_exit(30) == 0, "exit code after shutdown")


if __name__ == "__main__":
    run_tests([test_help_and_usage, test_socket_group, test_clients_kick_sessions, test_retained_publish_stats,
               test_config_reload_log, test_allow_anonymous_live, test_shutdown])
