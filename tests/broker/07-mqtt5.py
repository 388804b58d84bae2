#!/usr/bin/python3
"""07-mqtt5: MQTT 5.0 features.

PUBLISH properties passed through unaltered (3.3.2.3: user properties in order, response
topic, correlation data, payload format indicator, content type); message expiry reduced by
the time waited and expired messages dropped (3.3.2.3.3); topic aliases from client to
server (3.3.2.3.4: alias use, 0x94 for alias 0 or above the maximum, protocol error for an
unknown alias) and from server to client (only within the client's Topic Alias Maximum);
subscription identifiers (3.8.2.1.2); No Local (3.8.3.1); the client's Maximum Packet Size
(3.1.2.11.4: larger messages are not sent to it); UNSUBACK reason codes; AUTH without an
authentication method.
"""

import time

import brokertest as bt
import mqtt_wire as mw
from brokertest import check

T = bt.Suite(__file__)


def sub5(t, topic, opts=None, props=None, connect_props=None):
    c = t.client(version=5, props=connect_props)
    o = {"qos": 1}
    o.update(opts or {})
    c.subscribe([(topic, o)], props=props)
    return c


@T.check()
def publish_properties_passed_through(t):
    topic = t.topic()
    sub = sub5(t, topic)
    pub = t.client(version=5)
    ups = [("a", "1"), ("b", "2"), ("a", "3"), ("ü", "ß")]
    props = {"payload_format": 1, "content_type": "text/plain; charset=utf-8",
             "response_topic": topic + "/reply", "correlation_data": b"\x00\xffcorr",
             "user_property": ups}
    for q in (0, 1, 2):
        pub.publish(topic, f"hello {q}".encode(), qos=q, props=props)
        p = sub.expect_publish(topic, f"hello {q}".encode())
        for k in ("payload_format", "content_type", "response_topic", "correlation_data"):
            check(p.props.get(k) == props[k],
                  f"QoS {q}: {k} = {p.props.get(k)!r}, published {props[k]!r}: {p!r}")
        check(p.props.getall("user_property") == ups,
              f"QoS {q}: user properties {p.props.getall('user_property')}, published {ups} "
              f"(order must be kept, 3.3.2.3.7)")


@T.check()
def v5_to_v311_subscriber(t):
    topic = t.topic()
    old = t.client(version=4)
    old.subscribe([(topic, 1)])
    pub = t.client(version=5)
    pub.publish(topic, b"plain", qos=1, props={"user_property": [("k", "v")],
                                              "content_type": "x"})
    p = old.expect_publish(topic, b"plain")
    check(p.qos == 1, f"{p!r}")


@T.check()
def no_properties_added(t):
    topic = t.topic()
    sub = sub5(t, topic)
    t.client(version=5).publish(topic, b"bare", qos=1)
    p = sub.expect_publish(topic, b"bare")
    check(not [k for k, _ in p.props if k != "topic_alias"],
          f"broker added properties to a bare PUBLISH: {p.props}")


@T.check()
def message_expiry_reduced(t):
    # 3.3.2.3.3: the forwarded Message Expiry Interval is the received value minus the
    # time the message waited in the server.
    cid, topic = t.cid(), t.topic()
    c = t.conn(5)
    c.connect(cid, props={"session_expiry": 60})
    c.subscribe([(topic, 1)])
    c.disconnect()
    t.client(version=5).publish(topic, b"ttl", qos=1, props={"message_expiry": 20})
    time.sleep(2.2)
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 60}, session_present=True)
    p = c.expect_publish(topic, b"ttl")
    e = p.props.get("message_expiry")
    check(e is not None and e <= 18, f"expiry 20 after 2.2s offline: forwarded {e!r}, "
                                     f"expected <= 18 ({p!r})")
    c.disconnect()
    t.client(version=5, client_id=cid).disconnect()


@T.check()
def message_expiry_live_passed(t):
    topic = t.topic()
    sub = sub5(t, topic)
    t.client(version=5).publish(topic, b"ttl", qos=1, props={"message_expiry": 100})
    p = sub.expect_publish(topic, b"ttl")
    e = p.props.get("message_expiry")
    check(e is not None and 98 <= e <= 100, f"live delivery: message expiry {e!r}, sent 100")


@T.check()
def expired_message_dropped(t):
    cid, topic = t.cid(), t.topic()
    c = t.conn(5)
    c.connect(cid, props={"session_expiry": 60})
    c.subscribe([(topic, 1)])
    c.disconnect()
    pub = t.client(version=5)
    pub.publish(topic, b"short", qos=1, props={"message_expiry": 1})
    pub.publish(topic, b"long", qos=1, props={"message_expiry": 60})
    time.sleep(2.5)
    c = t.conn(5)
    c.connect(cid, clean=False, props={"session_expiry": 60}, session_present=True)
    got = [p.payload for p in c.collect(1.0)]
    check(got == [b"long"], f"after 2.5s offline expected only the unexpired message, got {got}")
    c.disconnect()
    t.client(version=5, client_id=cid).disconnect()


@T.check()
def expired_retained_dropped(t):
    topic = t.topic()
    pub = t.client(version=5)
    pub.publish(topic, b"fleeting", qos=1, retain=True, props={"message_expiry": 1})
    time.sleep(2.5)
    sub = sub5(t, topic)
    sub.expect_nothing(0.7, "an expired retained message")


@T.check()
def topic_alias_client_to_server(t):
    topic = t.topic()
    sub = sub5(t, topic)
    pub = t.conn(5)
    a = pub.connect(t.cid())
    tam = a.props.get("topic_alias_maximum", 0)
    if tam < 1:
        raise bt.Skip(f"the broker allows no topic aliases (Topic Alias Maximum {tam})")
    pub.publish(topic, b"set", qos=1, props={"topic_alias": 1})
    pub.publish("", b"use", qos=1, props={"topic_alias": 1})
    pub.publish("", b"use0", qos=0, props={"topic_alias": 1})
    for want in (b"set", b"use", b"use0"):
        p = sub.expect_publish(topic, want)
        check(p.topic == topic, f"alias not resolved: {p!r}")
    # Re-map the alias to another topic.
    topic2 = t.topic()
    sub2 = sub5(t, topic2)
    pub.publish(topic2, b"remap", qos=1, props={"topic_alias": 1})
    pub.publish("", b"use2", qos=1, props={"topic_alias": 1})
    sub2.expect_publish(topic2, b"remap")
    sub2.expect_publish(topic2, b"use2")
    sub.expect_nothing(0.3)


@T.check()
def topic_alias_zero_invalid(t):
    c = t.client(version=5)
    c.send(mw.publish(t.topic(), b"x", 0, version=5, props={"topic_alias": 0}))
    # 3.3.2-8: alias 0 is not permitted. Spec text does not pin the code: Mosquitto says
    # 0x81, 0x94 (Topic Alias invalid) and 0x82 are as good.
    c.expect_closed(5, disconnect=(0x81, 0x82, 0x94))


@T.check(config=["max_topic_alias 3"])
def topic_alias_above_maximum(t):
    c = t.conn(5)
    a = c.connect(t.cid())
    check(a.props.get("topic_alias_maximum") == 3, f"max_topic_alias 3: CONNACK {a!r}")
    c.publish(t.topic(), b"ok", props={"topic_alias": 3})
    check(c.is_open(), "alias 3 of 3 refused")
    c.send(mw.publish(t.topic(), b"x", 0, version=5, props={"topic_alias": 4}))
    c.expect_closed(5, disconnect=mw.RC["TOPIC_ALIAS_INVALID"])


@T.check(config=["max_topic_alias 0"])
def topic_alias_not_allowed(t):
    c = t.conn(5)
    a = c.connect(t.cid())
    check(a.props.get("topic_alias_maximum", 0) == 0, f"max_topic_alias 0: CONNACK {a!r}")
    c.send(mw.publish(t.topic(), b"x", 0, version=5, props={"topic_alias": 1}))
    c.expect_closed(5, disconnect=mw.RC["TOPIC_ALIAS_INVALID"])


@T.check()
def topic_alias_unknown_is_protocol_error(t):
    c = t.client(version=5)
    c.send(mw.publish("", b"x", 0, version=5, props={"topic_alias": 2}))
    c.expect_closed(5, disconnect=mw.RC["PROTOCOL_ERROR"])


@T.check()
def topic_alias_server_to_client_within_limit(t):
    # The server MAY use aliases; if it does, never above the client's maximum, and every
    # PUBLISH must resolve to the right topic.
    topics = [t.topic() for _ in range(6)]
    sub = t.conn(5)
    sub.connect(t.cid(), props={"topic_alias_maximum": 2})
    sub.subscribe([(tp, 1) for tp in topics])
    pub = t.client(version=5)
    aliases = {}
    for rnd in range(3):
        for tp in topics:
            pub.publish(tp, f"{rnd}".encode(), qos=1)
            p = sub.expect_publish(None, f"{rnd}".encode())
            a = p.props.get("topic_alias")
            if a is not None:
                check(1 <= a <= 2, f"server used alias {a} with Topic Alias Maximum 2: {p!r}")
                if p.topic:
                    aliases[a] = p.topic
                check(a in aliases, f"server used alias {a} before setting it: {p!r}")
                got = p.topic or aliases[a]
            else:
                got = p.topic
            check(got == tp, f"PUBLISH for {tp} resolved to {got!r}: {p!r}")
    # without a maximum the server must not send aliases (3.3.2.3.4)
    plain = t.client(version=5)
    plain.subscribe([(topics[0], 1)])
    for i in range(3):
        pub.publish(topics[0], b"p", qos=1)
        p = plain.expect_publish(topics[0], b"p")
        check("topic_alias" not in p.props, f"alias sent to a client that allows none: {p!r}")


@T.check(tachyon_only="the server MAY use topic aliases (3.3.2.3.4); Mosquitto 2.0.11 never "
                      "does, Tachyon is meant to on repeated topics")
def topic_alias_server_uses_aliases(t):
    topic = t.topic()
    sub = t.conn(5)
    sub.connect(t.cid(), props={"topic_alias_maximum": 4})
    sub.subscribe([(topic, 1)])
    pub = t.client(version=5)
    seen = []
    for i in range(5):
        pub.publish(topic, str(i).encode(), qos=1)
        seen.append(sub.expect_publish(None, str(i).encode()))
    check(any(p.topic == "" and p.props.get("topic_alias") for p in seen),
          f"no PUBLISH used a topic alias: {seen}")


@T.check()
def subscription_identifier(t):
    topic = t.topic()
    sub = t.client(version=5)
    sub.subscribe([(topic, 1)], props={"subscription_id": 7})
    pub = t.client(version=5)
    pub.publish(topic, b"id", qos=1)
    p = sub.expect_publish(topic, b"id")
    check(p.props.getall("subscription_id") == [7], f"expected subscription id 7: {p!r}")
    # a second, overlapping subscription with another id
    sub.subscribe([(topic.rsplit("/", 1)[0] + "/+", 1)], props={"subscription_id": 300})
    pub.publish(topic, b"two", qos=1)
    ids = []
    for p in [sub.expect_publish(topic, b"two")] + sub.collect(0.7):
        ids += p.props.getall("subscription_id")
    check(sorted(ids) == [7, 300], f"overlapping subscriptions 7 and 300: ids {ids}")
    # a subscription without an identifier: none in the delivery (one level deeper, so the
    # "<base>/+" subscription above does not match it)
    topic3 = t.topic() + "/deeper"
    sub.subscribe([(topic3, 1)])
    pub.publish(topic3, b"none", qos=1)
    p = sub.expect_publish(topic3, b"none")
    check(not p.props.getall("subscription_id"), f"no id was given: {p!r}")


@T.check()
def subscription_identifier_retained(t):
    topic = t.topic()
    t.client(version=5).publish(topic, b"r", qos=1, retain=True)
    sub = t.client(version=5)
    sub.subscribe([(topic, 1)], props={"subscription_id": 42})
    p = sub.expect_publish(topic, b"r")
    check(p.props.getall("subscription_id") == [42], f"retained delivery: {p!r}")


@T.check()
def subscription_identifier_zero_is_protocol_error(t):
    c = t.client(version=5)
    c.send(mw.subscribe(1, [(t.topic(), 0)], 5, {"subscription_id": 0}))
    # 3.8.2.1.2: "a Protocol Error"; Mosquitto answers 0x81 (accepted unless strict).
    c.expect_closed(5, disconnect=(0x82,) if t.strict else (0x81, 0x82))


@T.check()
def no_local(t):
    topic = t.topic()
    c = t.client(version=5)
    c.subscribe([(topic, {"qos": 1, "nl": True})])
    other = sub5(t, topic)
    c.publish(topic, b"mine", qos=1)
    other.expect_publish(topic, b"mine")
    c.expect_nothing(0.7, "own message with No Local")
    t.client(version=5).publish(topic, b"theirs", qos=1)
    c.expect_publish(topic, b"theirs")


@T.check()
def local_without_no_local(t):
    topic = t.topic()
    c = t.client(version=5)
    c.subscribe([(topic, {"qos": 1, "nl": False})])
    c.publish(topic, b"echo", qos=1)
    c.expect_publish(topic, b"echo")


@T.check()
def client_maximum_packet_size(t):
    # 3.1.2.11.4 / 3.1.2-25: the server must not send packets larger than the client's max;
    # such a message is discarded for that client (others still get it).
    topic = t.topic()
    small = t.conn(5)
    small.connect(t.cid(), props={"maximum_packet_size": 128})
    small.subscribe([(topic, 1)])
    big = sub5(t, topic)
    pub = t.client(version=5)
    pub.publish(topic, b"x" * 400, qos=1)
    pub.publish(topic, b"fits", qos=1)
    big.expect_publish(topic, b"x" * 400)
    big.expect_publish(topic, b"fits")
    p = small.expect_publish(topic)
    check(p.payload == b"fits", f"client max packet size 128: got a {len(p.raw)}-byte packet")
    check(small.is_open(), "the small client was disconnected")


@T.check()
def unsuback_reason_codes(t):
    c = t.client(version=5)
    topic = t.topic()
    c.subscribe([(topic, 1)])
    u = c.unsubscribe([topic, t.topic()])
    check(u.codes == [0x00, 0x11], f"UNSUBACK codes {u.codes}, expected [0x00, 0x11]")


@T.check()
def suback_reason_codes_v5(t):
    c = t.client(version=5)
    s = c.subscribe([(t.topic(), 0), (t.topic(), 1), (t.topic(), 2)])
    check(s.codes == [0, 1, 2], f"SUBACK {s.codes}")


@T.check()
def auth_method_unsupported(t):
    # 4.12: an Authentication Method the server does not support -> CONNACK 0x8C (Bad
    # authentication method) or 0x87, then close.
    c = t.conn(5)
    c.send(mw.connect(t.cid(), 5, props={"auth_method": "SCRAM-SHA-1", "auth_data": b"x"}))
    a = c.expect(mw.CONNACK)
    check(a.rc in (0x8C, 0x87), f"unsupported auth method: expected CONNACK 0x8C, got {a!r}")
    c.expect_closed()


@T.check()
def auth_packet_without_method(t):
    # 3.15 / 4.12: AUTH on a connection whose CONNECT had no method: protocol error.
    c = t.client(version=5)
    c.send(mw.auth(0x18, {"auth_method": "SCRAM-SHA-1"}))
    # Mosquitto closes without DISCONNECT; strict targets must say 0x82 first (4.13.1).
    c.expect_closed(5, disconnect=mw.RC["PROTOCOL_ERROR"] if t.strict else None)


@T.check()
def client_disconnect_reason_codes(t):
    # A client DISCONNECT with any valid reason closes quietly; 0x04 sends the will
    # (05-will); an unknown reason code is malformed.
    for rc in (0x00, 0x80, 0x83):
        c = t.client(version=5)
        c.send(mw.disconnect(rc, 5, {"reason_string": "bye"}))
        c.expect_closed(5, disconnect=False)


@T.check()
def request_problem_information_zero(t):
    # 3.1.2.11.7: with Request Problem Information 0, no Reason String / User Property
    # on CONNACK... and errors are still reported by reason code.
    c = t.conn(5)
    a = c.connect(t.cid(), props={"request_problem_info": 0})
    check("reason_string" not in a.props, f"{a!r}")
    u = c.unsubscribe([t.topic()])
    check(u.codes == [0x11] and "reason_string" not in u.props, f"{u!r}")


@T.check()
def server_shutdown_disconnect(t):
    # 4.13 / 3.14.2.1: a server going down MAY tell v5 clients DISCONNECT 0x8B (Server
    # shutting down); 3.1.1 clients just see the close. (The runner starts a fresh broker
    # for the next check.)
    c5 = t.client(version=5)
    c4 = t.client(version=4)
    t.stop_broker()
    d = c5.expect_closed(10, disconnect=mw.RC["SERVER_SHUTTING_DOWN"] if t.strict else None)
    check(d is None or d.rc == mw.RC["SERVER_SHUTTING_DOWN"], f"DISCONNECT on shutdown: {d!r}")
    c4.expect_closed(10, disconnect=False)


if __name__ == "__main__":
    T.main()
