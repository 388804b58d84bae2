#!/usr/bin/python3
"""11-malformed: raw bytes a broker must refuse.

Each case is sent on a connected 3.1.1 and a connected 5.0 connection. The broker must close
only that connection: 3.1.1 silently (4.8.0-1 / 3.1.1 4.8), 5.0 with a DISCONNECT carrying the
spec's reason code first where one is given (4.13.1: 0x81 Malformed Packet, 0x82 Protocol
Error, ...). A bystander client connected before stays connected and keeps receiving.

Reason codes: `v5` lists the codes accepted from every broker (where the spec leaves room, or
where Mosquitto 2.0.11 picks a defensible one); `strict` (used except against mosquitto)
narrows it to the code the spec names, and `None` in v5 means Mosquitto closes without a
DISCONNECT, which strict targets may not do.
"""

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)

MAL, PROTO = 0x81, 0x82


def bystander(t):
    topic = t.topic("bystander")
    b = t.client(version=4)
    b.subscribe([(topic, 1)])
    return b, topic


def bystander_ok(t, b, topic, what):
    pub = t.client(version=5)
    pub.publish(topic, b"still here", qos=1)
    p = b.expect_publish(topic, b"still here", timeout=5)
    check(p.payload == b"still here", f"after {what}: bystander got {p!r}")


def run_case(t, name, build, v5, strict, versions=(4, 5), suback_ok=None):
    """build(version) -> bytes sent after CONNACK. v5/strict: allowed DISCONNECT reasons
    (tuple) or None (close without DISCONNECT allowed). suback_ok: codes of a SUBACK
    that are an acceptable answer instead of a close (v5 0x8F for a bad filter)."""
    b, btopic = bystander(t)
    for v in versions:
        c = t.client(version=v)
        c.send(build(v))
        if suback_ok is not None and v == 5:
            try:
                p = c.recv(5)
            except mw.Closed:
                raise bt.Failure(f"{name} v5: closed without DISCONNECT")
            if p.type == mw.SUBACK:
                check(all(x in suback_ok for x in p.codes),
                      f"{name} v5: SUBACK {p.codes}, expected one of {suback_ok} or a close")
                check(c.is_open(), f"{name}: connection dead after SUBACK")
                continue
            check(p.type == mw.DISCONNECT, f"{name} v5: expected DISCONNECT or SUBACK, got {p!r}")
            allowed = strict if t.strict else v5
            check(allowed is None or p.rc in allowed,
                  f"{name} v5: DISCONNECT {mw.rc_name(p.rc)}, expected one of "
                  f"{[mw.rc_name(r) for r in allowed]}")
            c.expect_closed(5, disconnect=False)
            continue
        if v == 5:
            allowed = strict if t.strict else v5
            c.expect_closed(5, disconnect=allowed)
        else:
            c.expect_closed(5, disconnect=False)
    bystander_ok(t, b, btopic, name)


CASES = []


def case(name, v5, strict="same", versions=(4, 5), tachyon_only=None, suback_ok=None):
    def deco(build):
        CASES.append((name, build, v5, v5 if strict == "same" else strict, versions,
                      tachyon_only, suback_ok))
        return build
    return deco


def pub_raw(flags, body):
    return mw.packet(mw.PUBLISH, flags, body)


def props_if(v, raw=b"\x00"):
    return raw if v == 5 else b""


# ---- PUBLISH ------------------------------------------------------------------------------

@case("publish_qos3", (MAL,))
def _(v):
    return pub_raw(0x06, mw.enc_str("a/b") + b"\x00\x01" + props_if(v) + b"x")


@case("publish_wildcard_plus", (MAL, PROTO, 0x90))
def _(v):
    return mw.publish("a/+/b", b"x", version=v)


@case("publish_wildcard_hash", (MAL, PROTO, 0x90))
def _(v):
    return mw.publish("a/#", b"x", version=v)


@case("publish_packet_id_0_qos1", (MAL, PROTO))
def _(v):
    return mw.publish("a/b", b"x", qos=1, pid=0, version=v)


@case("publish_packet_id_0_qos2", (MAL, PROTO))
def _(v):
    return mw.publish("a/b", b"x", qos=2, pid=0, version=v)


@case("publish_topic_invalid_utf8", (MAL,))
def _(v):
    return mw.publish(b"a/\xff\xfe", b"x", version=v)


@case("publish_topic_overlong_utf8", (MAL,))
def _(v):
    return mw.publish(b"a/\xc0\xaf", b"x", version=v)


@case("publish_topic_surrogate", (MAL,))
def _(v):
    return mw.publish(b"a/\xed\xa0\x80", b"x", version=v)


@case("publish_topic_nul", (MAL,))
def _(v):
    return mw.publish(b"a/\x00b", b"x", version=v)


@case("publish_topic_length_past_end", (MAL,))
def _(v):
    return pub_raw(0x00, b"\x00\x40a/b")


@case("publish_empty_topic_no_alias", (MAL, PROTO), strict=(PROTO,))
def _(v):
    return mw.publish("", b"x", version=v)


@case("publish_property_not_allowed", (MAL, PROTO), versions=(5,))
def _(v):
    return mw.publish("a/b", b"x", version=5, props={"session_expiry": 5})


@case("publish_property_duplicated", None, strict=(PROTO,), versions=(5,))
def _(v):
    return mw.publish("a/b", b"x", version=5,
                      props=[("content_type", "a"), ("content_type", "b")])


@case("publish_property_length_past_end", (MAL,), versions=(5,))
def _(v):
    return pub_raw(0x00, mw.enc_str("a/b") + b"\x20\x03\x00\x01a")


@case("publish_dup_on_qos0", (MAL,),
      tachyon_only="Mosquitto 2.0.11 accepts DUP=1 on QoS 0 (3.3.1-2 forbids it)")
def _(v):
    return mw.publish("a/b", b"x", qos=0, dup=True, version=v)


# ---- acks ---------------------------------------------------------------------------------

@case("pubrel_wrong_flags", None, strict=(MAL,))
def _(v):
    return mw.pubrel(1, version=v, flags=0x00)


@case("puback_wrong_flags", (MAL,),
      tachyon_only="Mosquitto 2.0.11 does not check PUBACK's reserved flags (2.1.3-1)")
def _(v):
    return mw.packet(mw.PUBACK, 0x01, b"\x00\x01")


@case("pingreq_with_body", (MAL,),
      tachyon_only="Mosquitto 2.0.11 answers a PINGREQ with remaining length 1")
def _(v):
    return b"\xc0\x01\x00"


# ---- SUBSCRIBE / UNSUBSCRIBE --------------------------------------------------------------

@case("subscribe_wrong_flags", (MAL,))
def _(v):
    return mw.subscribe(1, ["a/b"], v, flags=0x00)


@case("subscribe_without_payload", (MAL, PROTO), strict=(PROTO,))
def _(v):
    return mw.packet(mw.SUBSCRIBE, 0x02, b"\x00\x01" + props_if(v))


@case("subscribe_packet_id_0", (MAL, PROTO))
def _(v):
    return mw.subscribe(0, ["a/b"], v)


@case("subscribe_qos3", (MAL, PROTO), strict=(PROTO,))
def _(v):
    return mw.subscribe(1, [("a/b", 3)], v)


@case("subscribe_reserved_option_bits", (MAL,))
def _(v):
    return mw.subscribe(1, [("a/b", 0xC0)], v)


@case("subscribe_retain_handling_3", (MAL, PROTO), strict=(PROTO,), versions=(5,))
def _(v):
    return mw.subscribe(1, [("a/b", 0x30)], v)


@case("subscribe_filter_hash_not_last", (MAL, PROTO, 0x8F), suback_ok=(0x8F,))
def _(v):
    return mw.subscribe(1, [("a/#/b", 0)], v)


@case("subscribe_filter_plus_in_level", (MAL, PROTO, 0x8F), suback_ok=(0x8F,))
def _(v):
    return mw.subscribe(1, [("a/b+/c", 0)], v)


@case("subscribe_filter_invalid_utf8", (MAL,))
def _(v):
    return mw.subscribe(1, [(b"a/\xff", 0)], v)


@case("unsubscribe_without_payload", (MAL, PROTO), strict=(PROTO,))
def _(v):
    return mw.packet(mw.UNSUBSCRIBE, 0x02, b"\x00\x01" + props_if(v))


@case("unsubscribe_wrong_flags", (MAL,))
def _(v):
    return mw.unsubscribe(1, ["a/b"], v, flags=0x00)


# ---- framing ------------------------------------------------------------------------------

@case("reserved_packet_type_0", (MAL, PROTO))
def _(v):
    return b"\x00\x00"


@case("reserved_packet_type_15_in_v311", None, versions=(4,))
def _(v):
    return b"\xf0\x00"


@case("remaining_length_5_bytes", None, strict=(MAL,))
def _(v):
    return b"\x30\xff\xff\xff\xff\x01"


@case("connack_from_client", None, strict=(PROTO,))
def _(v):
    return mw.connack(0, False, 4)


@case("suback_from_client", (MAL, PROTO), strict=(PROTO,),
      tachyon_only="Mosquitto 2.0.11 ignores a SUBACK sent by a client")
def _(v):
    return mw.suback(1, [0], v)


def _make(name, build, v5, strict, versions, suback_ok):
    def fn(t):
        run_case(t, name, build, v5, strict, versions, suback_ok)
    fn.__name__ = name
    return fn


for (_name, _build, _v5, _strict, _versions, _tonly, _sok) in CASES:
    T.check(tachyon_only=_tonly)(_make(_name, _build, _v5, _strict, _versions, _sok))


@T.check()
def connect_client_id_invalid_utf8(t):
    b, topic = bystander(t)
    for v in (4, 5):
        c = t.conn(v)
        c.send(mw.connect(b"id\xff", v))
        try:
            a = c.recv(5)
        except mw.Closed:
            continue
        check(a.type == mw.CONNACK and a.rc != 0,
              f"v{v}: client id with invalid UTF-8: expected close or refusal, got {a!r}")
        c.expect_closed()
    bystander_ok(t, b, topic, "invalid client id")


@T.check()
def truncated_packet_then_close_is_harmless(t):
    b, topic = bystander(t)
    for v in (4, 5):
        c = t.client(version=v)
        c.send(mw.publish("a/b", b"x" * 100, version=v)[:20])
        c.close()
    bystander_ok(t, b, topic, "truncated packets")


@T.check()
def garbage_before_connect(t):
    b, topic = bystander(t)
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x10\xff\xff\xff\xff\xff",
                 b"\x10\x00", bytes(range(256))):
        c = t.conn(4)
        c.send(junk)
        try:
            a = c.recv(5)
            check(a.type == mw.CONNACK and a.rc != 0, f"junk {junk[:16]!r}: got {a!r}")
            c.expect_closed()
        except mw.Closed:
            pass
    bystander_ok(t, b, topic, "garbage before CONNECT")


@T.check()
def split_packets_byte_by_byte(t):
    # Not malformed: a valid stream in 1-byte segments must work (incremental decoding).
    import time
    topic = t.topic()
    c = t.conn(5)
    data = (mw.connect(t.cid(), 5, props={"session_expiry": 0}) +
            mw.subscribe(1, [(topic, 1)], 5) + mw.publish(topic, b"pieces", 1, pid=2, version=5))
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(0.002)
    c.expect_connack(0)
    c.expect(mw.SUBACK)
    c.expect(mw.PUBACK)
    c.expect_publish(topic, b"pieces")


if __name__ == "__main__":
    T.main()
