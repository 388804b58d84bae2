#!/usr/bin/python3
"""01-connect: CONNECT / CONNACK for MQTT 3.1, 3.1.1 and 5.0.

Protocol names and levels, the reserved flag, empty client ids (3.1.1 3.1.3-8, 5.0 assigned
client identifier), session present, keep alive enforcement at 1.5x (3.1.1 3.1.2-24, 5.0
3.1.2.10), server keep alive (5.0 3.2.2.3.14, from max_keepalive), a second CONNECT is a
protocol violation (3.1.0-2). (AUTH: see 07-mqtt5.)
Run: tests/broker/01-connect.py [--mosquitto | --host H --port P | --tachyond PATH]
"""

import time

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


@T.check()
def connack_v31(t):
    c = t.conn(version=3)
    a = c.connect(t.cid())
    check(a.raw == b"\x20\x02\x00\x00", f"MQTT 3.1 CONNACK must be 20 02 00 00, got {a.raw.hex()}")
    check(c.is_open(), "connection not usable after CONNACK (PINGREQ unanswered)")


@T.check()
def connack_v311(t):
    c = t.conn(version=4)
    a = c.connect(t.cid(), session_present=False)
    check(a.raw == b"\x20\x02\x00\x00", f"3.1.1 CONNACK must be 20 02 00 00, got {a.raw.hex()}")
    check(c.is_open(), "connection not usable after CONNACK (PINGREQ unanswered)")


@T.check()
def connack_v5_properties(t):
    c = t.conn(version=5)
    a = c.connect(t.cid(), session_present=False)
    p = a.props
    check(a.raw[0] == 0x20, f"CONNACK fixed header {a.raw.hex()}")
    check("assigned_client_id" not in p, f"assigned id for a client that gave one: {p}")
    if "receive_maximum" in p:
        check(p.get("receive_maximum") > 0, f"receive maximum 0 is a protocol error: {p}")
    if "maximum_qos" in p:
        check(p.get("maximum_qos") in (0, 1), f"maximum qos must be 0 or 1 if present: {p}")
    for k in ("retain_available", "wildcard_sub_available", "sub_id_available",
              "shared_sub_available"):
        if k in p:
            check(p.get(k) in (0, 1), f"{k} must be 0 or 1: {p}")
    check(c.is_open(), "connection not usable after CONNACK")


@T.check()
def v5_disconnect_normal(t):
    c = t.client(version=5)
    c.send(mw.disconnect(0, 5))
    c.expect_closed(5, disconnect=False)


@T.check()
def username_password_anonymous_allowed(t):
    c = t.conn(version=4)
    c.connect(t.cid(), username="someone", password=b"secret")
    c5 = t.conn(version=5)
    c5.connect(t.cid(), username="someone", password=b"secret")


@T.check()
def empty_client_id_v311_clean_accepted(t):
    c = t.conn(version=4)
    c.connect("", clean=True)
    check(c.is_open(), "no PINGRESP after accepting an empty client id")


@T.check()
def empty_client_id_v311_persistent_rejected(t):
    # 3.1.1 3.1.3-8: zero-byte id with CleanSession 0 -> CONNACK 0x02, then close.
    c = t.conn(version=4)
    c.send(mw.connect("", 4, clean=False))
    c.expect_connack(0x02)
    c.expect_closed()


@T.check()
def empty_client_id_v31_rejected(t):
    # MQTT 3.1: the client id is 1..23 characters; an empty one is "identifier rejected".
    c = t.conn(version=3)
    c.send(mw.connect("", 3, clean=True))
    c.expect_connack(0x02)
    c.expect_closed()


@T.check()
def empty_client_id_v5_assigned(t):
    ids = []
    for _ in range(2):
        c = t.conn(version=5)
        a = c.connect("")
        aid = a.props.get("assigned_client_id")
        check(aid, f"v5 CONNACK for an empty client id lacks Assigned Client Identifier: {a!r}")
        ids.append(aid)
        check(c.is_open(), "connection not usable")
    check(ids[0] != ids[1], f"two connections got the same assigned client id {ids[0]!r}")


@T.check()
def long_client_id_accepted(t):
    # Servers MAY accept ids longer than 23 characters; Mosquitto and Tachyon do.
    cid = (t.cid() + "-" + "x" * 200)[:200]
    c = t.conn(version=4)
    c.connect(cid)
    check(c.is_open(), "no PINGRESP")


@T.check()
def bad_protocol_level(t):
    # 3.1.1 3.1.2-2: unsupported level -> CONNACK 0x01 and close; a 5.0 server MAY answer
    # 0x84 (in 5.0 form) instead.
    for level in (6, 2, 0x83):
        c = t.conn(version=5)  # decodes both the 3.1.1 and the 5.0 CONNACK form
        c.send(mw.connect(t.cid(), version=level, proto_name="MQTT"))
        a = c.expect(mw.CONNACK)
        check(a.rc in (0x01, 0x84), f"level {level}: expected CONNACK 0x01 or 0x84, got {a!r}")
        c.expect_closed()


@T.check()
def mqisdp_with_level_4_refused(t):
    c = t.conn(version=5)
    c.send(mw.connect(t.cid(), version=4, proto_name="MQIsdp"))
    try:
        a = c.recv(5)
    except mw.Closed:
        return  # closing at once is also allowed
    check(a.type == mw.CONNACK and a.rc in (0x01, 0x84),
          f"MQIsdp with level 4: expected CONNACK 0x01/0x84 or close, got {a!r}")
    c.expect_closed()


@T.check()
def bad_protocol_name_closed(t):
    # 3.1.1 3.1.2-1 / 5.0 3.1.2.1: a wrong name -> the server MAY disconnect; it must not
    # accept the connection as MQTT.
    for version in (4, 5):
        c = t.conn(version=version)
        c.send(mw.connect(t.cid(), version=version, proto_name="MQTX"))
        try:
            a = c.recv(5)
        except mw.Closed:
            continue
        check(a.type == mw.CONNACK and a.rc != 0,
              f"v{version} wrong protocol name: expected close or refusal, got {a!r}")
        c.expect_closed()


@T.check()
def reserved_connect_flag_closed(t):
    # 3.1.1 3.1.2-3 / 5.0 3.1.2.3: reserved bit 0 set -> malformed, close (v5 MAY CONNACK 0x81).
    for version in (4, 5):
        c = t.conn(version=version)
        c.send(mw.connect(t.cid(), version=version, flags=0x03))
        try:
            a = c.recv(5)
        except mw.Closed:
            continue
        check(a.type == mw.CONNACK and a.rc in (0x81, 0x82),
              f"v{version} reserved flag: expected close (or CONNACK 0x81), got {a!r}")
        c.expect_closed()


@T.check()
def will_qos_without_will_flag_closed(t):
    # 3.1.1 3.1.2-13: Will Flag 0 -> Will QoS must be 0. Will QoS 3 is malformed too.
    for flags in (0x0A, 0x12, 0x26 | 0x18):  # will qos 1 no will; will qos 2; will qos 3
        c = t.conn(version=4)
        c.send(mw.connect(t.cid(), version=4, flags=flags))
        c.expect_closed(5, disconnect=False)


@T.check()
def password_without_username_v311_closed(t):
    # 3.1.1 3.1.2-22: password flag 1 with user name flag 0 is a protocol violation.
    c = t.conn(version=4)
    c.send(mw.connect(t.cid(), version=4, password=b"pw"))
    c.expect_closed(5, disconnect=False)


@T.check()
def password_without_username_v5_accepted(t):
    # 5.0 allows a password without a user name (3.1.2.9).
    c = t.conn(version=5)
    c.connect(t.cid(), password=b"pw")


@T.check()
def first_packet_not_connect_closed(t):
    for data in (mw.pingreq(), mw.publish("a/b", b"x"), mw.subscribe(1, ["a"])):
        c = t.conn(version=4)
        c.send(data)
        c.expect_closed(5, disconnect=False)


@T.check()
def second_connect_closed(t):
    # 3.1.1 3.1.0-2 / 5.0 3.1.0-2: a second CONNECT is a protocol violation.
    c = t.client(version=4)
    c.send(mw.connect(t.cid(), 4))
    c.expect_closed(5, disconnect=False)
    c5 = t.client(version=5)
    c5.send(mw.connect(t.cid(), 5))
    c5.expect_closed(5, disconnect=None)
    # A DISCONNECT, if any, must say Protocol Error (checked in tachyon_only below).


@T.check(tachyon_only="Mosquitto closes without a DISCONNECT; 5.0 4.13.1 says send 0x82 first")
def second_connect_v5_disconnect_0x82(t):
    c5 = t.client(version=5)
    c5.send(mw.connect(t.cid(), 5))
    c5.expect_closed(5, disconnect=mw.RC["PROTOCOL_ERROR"])


@T.check()
def session_present_v311(t):
    cid = t.cid()
    c = t.conn(4)
    c.connect(cid, clean=True, session_present=False)
    c.disconnect()
    c = t.conn(4)
    c.connect(cid, clean=False, session_present=False)     # no session existed
    c.subscribe(t.topic())
    c.disconnect()
    c = t.conn(4)
    c.connect(cid, clean=False, session_present=True)      # kept
    c.disconnect()
    c = t.conn(4)
    c.connect(cid, clean=True, session_present=False)      # discarded
    c.disconnect()
    c = t.conn(4)
    c.connect(cid, clean=False, session_present=False)     # gone after the clean one
    c.disconnect()
    c = t.conn(4)
    c.connect(cid, clean=True)


@T.check()
def session_present_v5(t):
    cid = t.cid()
    c = t.conn(5)
    c.connect(cid, clean=True, props={"session_expiry": 60}, session_present=False)
    c.disconnect()
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 60}, session_present=True)
    c.disconnect()
    c = t.conn(5)
    # session expiry 0 (absent): the session ends when this connection closes
    c.connect(cid, clean=False, session_present=True)
    c.disconnect()
    time.sleep(0.3)
    c = t.conn(5)
    c.connect(cid, clean=False, session_present=False)
    c.disconnect()


# Mosquitto 2.0 checks keep alives on a coarse timer (about every 5 s), so the portable
# checks allow that much slack; the tachyon_only ones hold the server to 1.5x (+0.5 s).
MOSQ_KEEPALIVE_SLACK = 6.5


def _close_times(t, keepalive, slack):
    conns = [t.client(version=4, keepalive=keepalive), t.client(version=5, keepalive=keepalive)]
    t0 = time.monotonic()
    deadline = t0 + keepalive * 1.5 + slack
    times = []
    for c in conns:
        d = c.expect_closed(max(0.1, deadline - time.monotonic()))
        times.append(time.monotonic() - t0)
        if d is not None:
            check(d.rc == mw.RC["KEEP_ALIVE_TIMEOUT"], f"DISCONNECT reason on keep alive: {d!r}")
    for v, dt in zip((4, 5), times):
        check(dt >= keepalive - 0.2,
              f"v{v}: closed after {dt:.1f}s, before the {keepalive}s keep alive even elapsed")
    return times


@T.check()
def keepalive_enforced(t):
    # 3.1.1 3.1.2-24 / 5.0 3.1.2.10: no packet within 1.5x keep alive -> the server closes.
    _close_times(t, 2, MOSQ_KEEPALIVE_SLACK)


@T.check(tachyon_only="Mosquitto 2.0 checks keep alives only every ~5 s (closes after 6-12 s "
                      "for keep alive 2..5), not at 1.5x")
def keepalive_enforced_at_1_5x(t):
    _close_times(t, 2, 0.5)


@T.check()
def keepalive_pings_keep_it_open(t):
    c = t.client(version=4, keepalive=2)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        time.sleep(1.0)
        check(c.is_open(3), f"closed after {time.monotonic() - t0:.1f}s despite PINGREQ every 1s")


@T.check()
def keepalive_other_traffic_counts(t):
    c = t.client(version=4, keepalive=2)
    topic = t.topic()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4.5:
        time.sleep(1.0)
        c.publish(topic, b"x", qos=0)
    check(c.is_open(3), "closed although the client published every second")


@T.check()
def keepalive_zero_not_enforced(t):
    c = t.client(version=4, keepalive=0)
    c.expect_nothing(3.5)
    check(c.is_open(), "keep alive 0 must never time out")


@T.check(config=["max_keepalive 10"])
def server_keep_alive_v5(t):
    # 5.0 3.2.2.3.14: the server's Server Keep Alive replaces the client's value.
    c = t.conn(5)
    a = c.connect(t.cid(), keepalive=60)
    check(a.props.get("server_keep_alive") == 10,
          f"keepalive 60 with max_keepalive 10: expected Server Keep Alive 10, got {a!r}")
    c = t.conn(5)
    a = c.connect(t.cid(), keepalive=5)
    check(a.props.get("server_keep_alive") in (None, 5),
          f"keepalive 5 under a cap of 10 must stay 5, got {a!r}")
    c = t.conn(5)
    a = c.connect(t.cid(), keepalive=0)
    check(a.props.get("server_keep_alive") == 10,
          f"keepalive 0 with max_keepalive 10: expected Server Keep Alive 10, got {a!r}")


@T.check(config=["max_keepalive 10"])
def server_keep_alive_enforced(t):
    # The client asked for 60 s; the server said 10 s: silence is cut after 15 s, not 90 s.
    # (Mosquitto refuses max_keepalive below 10.)
    c = t.conn(5)
    a = c.connect(t.cid(), keepalive=60)
    check(a.props.get("server_keep_alive") == 10, f"expected Server Keep Alive 10, got {a!r}")
    t0 = time.monotonic()
    c.expect_closed(10 * 1.5 + MOSQ_KEEPALIVE_SLACK)
    dt = time.monotonic() - t0
    check(dt >= 9.8, f"closed after {dt:.1f}s, before the server keep alive (10s) elapsed")


@T.check()
def connect_then_disconnect_repeatedly(t):
    cid = t.cid()
    for i in range(20):
        c = t.conn(4 if i % 2 else 5)
        c.connect(cid)
        c.disconnect()


if __name__ == "__main__":
    T.main()
