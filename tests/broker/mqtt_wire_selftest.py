#!/usr/bin/python3
"""mqtt_wire_selftest: the test suite's own codec against the specifications' byte examples.

No network. Checks tests/broker/mqtt_wire.py's encoders and decoders against the examples
printed in MQTT 3.1.1 and 5.0 (Variable Byte Integer table, UTF-8 string example, CONNECT
variable header examples, PUBLISH / SUBSCRIBE / SUBACK / UNSUBSCRIBE examples, fixed-size
packets), then round-trips every packet type through encode -> decode.
Registered in meson as a 'unit' test (broker-wire-selftest). Exit 0 pass, 1 fail.
"""

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_wire as mw  # noqa: E402

H = bytes.fromhex
failures = []


def eq(got, want, what):
    if got != want:
        failures.append(f"{what}: got {got.hex() if isinstance(got, bytes) else got!r}, "
                        f"want {want.hex() if isinstance(want, bytes) else want!r}")


def raises(fn, what):
    try:
        fn()
    except (ValueError, IndexError):
        return
    failures.append(f"{what}: no error raised")


def test_varint():
    # 3.1.1 2.2.3 table 2.4 / 5.0 1.5.5 table 1-1: the bounds of each length
    table = [(0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"),
             (2097151, "ffff7f"), (2097152, "80808001"), (268435455, "ffffff7f"),
             (321, "c102")]
    for n, hx in table:
        eq(mw.enc_varint(n), H(hx), f"enc_varint({n})")
        eq(mw.dec_varint(H(hx)), (n, len(H(hx))), f"dec_varint({hx})")
    raises(lambda: mw.dec_varint(H("ffffffff01")), "5-byte varint")
    raises(lambda: mw.dec_varint(H("ff")), "truncated varint")
    raises(lambda: mw.enc_varint(268435456), "varint too large")


def test_utf8_string():
    # 3.1.1 1.5.3 figure 1.3 / 5.0 1.5.4: "A" U+2A6D4 -> 00 05 41 F0 AA 9B 94
    eq(mw.enc_str("A\U0002A6D4"), H("000541f0aa9b94"), "UTF-8 string example")
    eq(mw.dec_bin(H("000541f0aa9b94"), 0), (H("41f0aa9b94"), 7), "dec string")


def test_connect_v311_example():
    # 3.1.1 3.1.2.10 figure 3.6: protocol name, level 4, flags CE, keep alive 10
    pkt = mw.connect("c", 4, clean=True, keepalive=10, will=mw.Will("w", b"p", qos=1),
                     username="u", password=b"pw")
    rl, pos = mw.dec_varint(pkt, 1)
    eq(pkt[0:1], H("10"), "CONNECT fixed header type")
    eq(pkt[pos:pos + 10], H("00044d5154540 4ce000a".replace(" ", "")), "3.1.1 CONNECT var header")
    p = mw.decode(pkt, 4)
    eq((p.proto_name, p.version, p.connect_flags, p.keepalive, p.client_id),
       ("MQTT", 4, 0xCE, 10, "c"), "decode 3.1.1 CONNECT")
    eq((p.will.topic, p.will.payload, p.will.qos, p.username, p.password),
       ("w", b"p", 1, "u", b"pw"), "decode 3.1.1 CONNECT payload")
    # payload order: client id, will topic, will message, user name, password (3.1.3)
    eq(pkt[pos + 10:], mw.enc_str("c") + mw.enc_str("w") + mw.enc_bin(b"p") +
       mw.enc_str("u") + mw.enc_bin(b"pw"), "3.1.1 CONNECT payload bytes")


def test_connect_v31():
    pkt = mw.connect("c", 3, keepalive=10)
    eq(pkt[2:12], H("00064d5149736470") + H("03") + H("02"), "3.1 CONNECT MQIsdp level 3")


def test_connect_v5_example():
    # 5.0 3.1.2.11 figure 3-6: ... 05 CE 00 0A, properties length 5, session expiry 10
    pkt = mw.connect("c", 5, clean=True, keepalive=10, will=mw.Will("w", b"p", qos=1),
                     username="u", password=b"pw", props={"session_expiry": 10})
    rl, pos = mw.dec_varint(pkt, 1)
    eq(pkt[pos:pos + 16], H("00044d51545405ce000a051100" + "00000a"), "5.0 CONNECT var header")
    p = mw.decode(pkt, 5)
    eq(p.props.get("session_expiry"), 10, "decode session expiry")
    eq((p.client_id, p.will.topic, p.username), ("c", "w", "u"), "decode 5.0 CONNECT")


def test_publish_example():
    # 3.1.1 3.3.2.3 figure 3.11: topic "a/b", packet id 10 -> 00 03 61 2F 62 00 0A
    pkt = mw.publish("a/b", b"", qos=1, pid=10)
    eq(pkt, H("3207") + H("0003612f62000a"), "3.1.1 PUBLISH QoS 1 example")
    pkt = mw.publish("a/b", b"hi", qos=2, retain=True, dup=True, pid=10)
    eq(pkt[0], 0x3D, "PUBLISH flags DUP|QoS2|RETAIN")
    p = mw.decode(pkt, 4)
    eq((p.topic, p.payload, p.qos, p.retain, p.dup, p.pid), ("a/b", b"hi", 2, True, True, 10),
       "decode PUBLISH")
    # 5.0: properties between packet id and payload
    pkt = mw.publish("a/b", b"x", qos=0, version=5, props={"payload_format": 1,
                     "user_property": [("k", "v")], "subscription_id": [1, 300]})
    eq(pkt, H("3015") + H("0003612f62") + H("0e") + H("0101") + H("2600016b000176") +
       H("0b01") + H("0bac02") + b"x", "5.0 PUBLISH with properties")
    p = mw.decode(pkt, 5)
    eq((p.props.get("payload_format"), p.props.getall("user_property"),
        p.props.getall("subscription_id"), p.payload),
       (1, [("k", "v")], [1, 300], b"x"), "decode 5.0 PUBLISH properties")
    eq(mw.enc_props({"payload_format": 1, "user_property": [("k", "v")]}),
       H("09") + H("0101") + H("2600016b000176"), "property bytes")


def test_subscribe_example():
    # 3.1.1 3.8.3 figure 3.22: "a/b" QoS 1, "c/d" QoS 2
    pkt = mw.subscribe(10, [("a/b", 1), ("c/d", 2)])
    eq(pkt, H("820e000a") + H("0003612f6201") + H("0003632f6402"), "3.1.1 SUBSCRIBE example")
    # 5.0 3.8.3.1 options byte: QoS 1, No Local, Retain As Published, Retain Handling 2
    eq(mw.sub_options({"qos": 1, "nl": True, "rap": True, "rh": 2}), 0x2D, "options byte")
    pkt = mw.subscribe(10, [("a/b", {"qos": 1, "nl": True})], 5, {"subscription_id": 5})
    eq(pkt, H("820b000a") + H("020b05") + H("0003612f6205"), "5.0 SUBSCRIBE")
    p = mw.decode(pkt, 5)
    eq((p.pid, p.topics, p.props.get("subscription_id")), (10, [("a/b", 5)], 5), "decode SUB")


def test_suback_example():
    # 3.1.1 3.9.3 figure 3.26: Success QoS 0, Success QoS 2, Failure -> 00 02 80
    pkt = H("9005000a000280")
    p = mw.decode(pkt, 4)
    eq((p.pid, p.codes), (10, [0, 2, 0x80]), "decode 3.1.1 SUBACK example")
    eq(mw.suback(10, [0, 2, 0x80]), pkt, "encode SUBACK")
    p = mw.decode(mw.suback(10, [1, 0x8F], 5, {"reason_string": "no"}), 5)
    eq((p.codes, p.props.get("reason_string")), ([1, 0x8F], "no"), "5.0 SUBACK")


def test_unsubscribe_example():
    # 3.1.1 3.10.3 figure 3.30: "a/b", "c/d"
    pkt = mw.unsubscribe(10, ["a/b", "c/d"])
    eq(pkt, H("a20c000a") + H("0003612f62") + H("0003632f64"), "3.1.1 UNSUBSCRIBE example")
    p = mw.decode(mw.unsuback(10, [0, 0x11], 5), 5)
    eq((p.pid, p.codes), (10, [0, 0x11]), "5.0 UNSUBACK")
    eq(mw.unsuback(10), H("b002000a"), "3.1.1 UNSUBACK")


def test_fixed_packets():
    eq(mw.pingreq(), H("c000"), "PINGREQ")
    eq(mw.pingresp(), H("d000"), "PINGRESP")
    eq(mw.disconnect(), H("e000"), "DISCONNECT")
    eq(mw.disconnect(0x04, 5), H("e00104"), "5.0 DISCONNECT 0x04")
    eq(mw.connack(0, False), H("20020000"), "CONNACK accepted")
    eq(mw.connack(0, True, 5), H("2003010000"), "5.0 CONNACK session present, no props")
    eq(mw.puback(10), H("4002000a"), "PUBACK")
    eq(mw.pubrec(10), H("5002000a"), "PUBREC")
    eq(mw.pubrel(10), H("6202000a"), "PUBREL flags 0010")
    eq(mw.pubcomp(10), H("7002000a"), "PUBCOMP")
    eq(mw.puback(10, 0x10, 5), H("4003000a10"), "5.0 PUBACK 0x10")
    eq(mw.auth(0x18, {"auth_method": "X"}), H("f00618041500015" + "8"), "AUTH")


def test_decode_replies():
    p = mw.decode(H("2003000000"), 5)  # CONNACK, property length 0
    eq((p.session_present, p.rc, list(p.props)), (False, 0, []), "5.0 CONNACK")
    p = mw.decode(H("200a0000") + H("07") + H("12000461626364"), 5)
    eq(p.props.get("assigned_client_id"), "abcd", "assigned client id")
    p = mw.decode(H("e0028e00"), 5)
    eq(p.rc, 0x8E, "DISCONNECT 0x8E")
    p = mw.decode(H("e000"), 5)
    eq(p.rc, 0, "DISCONNECT without reason = 0")
    p = mw.decode(H("4002000a"), 5)
    eq((p.pid, p.rc), (10, 0), "5.0 PUBACK short form")
    raises(lambda: mw.decode(H("4003000a"), 4), "remaining length mismatch")
    raises(lambda: mw.decode(H("3005000561"), 4), "string past the end")
    raises(lambda: mw.decode(H("30060003612f6205"), 5), "properties past the end")
    eq(mw.split_packet(H("3080")), None, "split: incomplete varint")
    eq(mw.split_packet(H("30020000ff")), 4, "split: one packet")


def test_roundtrip():
    for v in (3, 4, 5):
        pk = [mw.connect("id", v), mw.publish("t", b"x", 1, pid=3, version=v),
              mw.puback(3, version=v), mw.pubrec(3, version=v), mw.pubrel(3, version=v),
              mw.pubcomp(3, version=v), mw.subscribe(4, ["a/#"], v), mw.suback(4, [0], v),
              mw.unsubscribe(5, ["a/#"], v), mw.unsuback(5, [0] if v == 5 else (), v),
              mw.pingreq(), mw.pingresp(), mw.disconnect(version=v), mw.connack(0, False, v)]
        for raw in pk:
            p = mw.decode(raw, v)
            eq(p.raw, raw, f"v{v} {p.name} round trip")


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for t in tests:
        try:
            t()
        except Exception:
            failures.append(f"{t.__name__}: {traceback.format_exc()}")
    for f in failures:
        print("FAIL", f)
    print(f"mqtt_wire self-test: {len(tests)} groups, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
