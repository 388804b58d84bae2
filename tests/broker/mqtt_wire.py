"""mqtt_wire: a raw-socket MQTT 3.1 / 3.1.1 / 5.0 client codec for black-box broker tests.

No paho here: every byte the tests send is built by these functions, so a test can send a
well-formed packet, a slightly wrong one, or arbitrary bytes, and read back exactly one
packet at a time with a timeout. Sits between the test files (tests/broker/NN-*.py) and a
TCP socket to the broker under test (Debian's mosquitto or tachyond over its tap port).

    c = Conn(host, port, version=5)
    c.connect("client-1", props={"session_expiry": 60})     # sends CONNECT, expects CONNACK 0
    c.subscribe([("a/b", {"qos": 1, "nl": True})])           # returns the SUBACK packet
    c.publish("a/b", b"x", qos=1)                            # full QoS 1 flow, returns PUBACK
    p = c.expect("PUBLISH")                                  # one packet or a WireError
    c.send(b"\\x30\\xff")                                     # anything at all
    c.expect_closed()

Versions are protocol levels: 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1), 5 (5.0).
Encoders are plain functions returning bytes; `decode(buf, version)` turns one complete
packet back into a Packet. The self-test (mqtt_wire_selftest.py) checks both against the
byte examples of the specifications.
"""

import socket
import struct
import time

# ---- packet types ----------------------------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = \
    8, 9, 10, 11, 12, 13, 14, 15

TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}
TYPE_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}

# ---- MQTT 5 reason codes used by the tests (spec 2.4) ---------------------------------------

RC = dict(
    SUCCESS=0x00, GRANTED_QOS1=0x01, GRANTED_QOS2=0x02, DISCONNECT_WITH_WILL=0x04,
    NO_MATCHING_SUBSCRIBERS=0x10, NO_SUBSCRIPTION_EXISTED=0x11, CONTINUE_AUTH=0x18,
    UNSPECIFIED=0x80, MALFORMED=0x81, PROTOCOL_ERROR=0x82, IMPL_SPECIFIC=0x83,
    UNSUPPORTED_PROTOCOL_VERSION=0x84, CLIENT_ID_NOT_VALID=0x85, BAD_USER_PASS=0x86,
    NOT_AUTHORIZED=0x87, SERVER_UNAVAILABLE=0x88, SERVER_BUSY=0x89, BANNED=0x8A,
    SERVER_SHUTTING_DOWN=0x8B, BAD_AUTH_METHOD=0x8C, KEEP_ALIVE_TIMEOUT=0x8D,
    SESSION_TAKEN_OVER=0x8E, TOPIC_FILTER_INVALID=0x8F, TOPIC_NAME_INVALID=0x90,
    PACKET_ID_IN_USE=0x91, PACKET_ID_NOT_FOUND=0x92, RECEIVE_MAX_EXCEEDED=0x93,
    TOPIC_ALIAS_INVALID=0x94, PACKET_TOO_LARGE=0x95, MESSAGE_RATE_TOO_HIGH=0x96,
    QUOTA_EXCEEDED=0x97, ADMIN_ACTION=0x98, PAYLOAD_FORMAT_INVALID=0x99,
    RETAIN_NOT_SUPPORTED=0x9A, QOS_NOT_SUPPORTED=0x9B, USE_ANOTHER_SERVER=0x9C,
    SERVER_MOVED=0x9D, SHARED_SUB_NOT_SUPPORTED=0x9E, CONNECTION_RATE_EXCEEDED=0x9F,
    MAX_CONNECT_TIME=0xA0, SUB_IDS_NOT_SUPPORTED=0xA1, WILDCARD_SUBS_NOT_SUPPORTED=0xA2,
)
RC_NAMES = {v: k for k, v in RC.items() if k not in ("GRANTED_QOS1", "GRANTED_QOS2")}

# MQTT 3.1 / 3.1.1 CONNACK return codes
CONNACK_V3 = {0: "accepted", 1: "unacceptable protocol version", 2: "identifier rejected",
              3: "server unavailable", 4: "bad user name or password", 5: "not authorized"}

# ---- MQTT 5 properties (spec 2.2.2.2): id -> (name, kind) ------------------------------------

PROPS = {
    0x01: ("payload_format", "byte"), 0x02: ("message_expiry", "u32"),
    0x03: ("content_type", "str"), 0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"), 0x0B: ("subscription_id", "varint"),
    0x11: ("session_expiry", "u32"), 0x12: ("assigned_client_id", "str"),
    0x13: ("server_keep_alive", "u16"), 0x15: ("auth_method", "str"),
    0x16: ("auth_data", "bin"), 0x17: ("request_problem_info", "byte"),
    0x18: ("will_delay", "u32"), 0x19: ("request_response_info", "byte"),
    0x1A: ("response_info", "str"), 0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"), 0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"), 0x23: ("topic_alias", "u16"),
    0x24: ("maximum_qos", "byte"), 0x25: ("retain_available", "byte"),
    0x26: ("user_property", "pair"), 0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_sub_available", "byte"), 0x29: ("sub_id_available", "byte"),
    0x2A: ("shared_sub_available", "byte"),
}
PROP_IDS = {name: pid for pid, (name, _) in PROPS.items()}


class WireError(AssertionError):
    """A protocol expectation failed (wrong packet, timeout, malformed reply)."""


class Closed(WireError):
    """The peer closed the connection (EOF or reset) while we waited for a packet."""


class Timeout(WireError):
    """No complete packet within the timeout."""


# ---- primitive encoders ---------------------------------------------------------------------

def enc_varint(n):
    """Variable Byte Integer (spec 1.5.5 / 2.2.3): 7 bits a byte, high bit = more follows."""
    if n < 0 or n > 268435455:
        raise ValueError(f"varint out of range: {n}")
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def dec_varint(buf, pos=0):
    """Returns (value, new_pos). Raises ValueError on more than 4 bytes or truncation."""
    mult, val = 1, 0
    for i in range(4):
        if pos + i >= len(buf):
            raise ValueError("truncated variable byte integer")
        b = buf[pos + i]
        val += (b & 0x7F) * mult
        if not b & 0x80:
            return val, pos + i + 1
        mult *= 128
    raise ValueError("variable byte integer longer than 4 bytes")


def enc_u16(n):
    return struct.pack("!H", n)


def enc_u32(n):
    return struct.pack("!I", n)


def enc_bin(b):
    """Binary Data: two-byte length then the bytes."""
    if isinstance(b, str):
        b = b.encode()
    return enc_u16(len(b)) + bytes(b)


def enc_str(s):
    """UTF-8 Encoded String. bytes are sent as they are (so tests can send invalid UTF-8)."""
    return enc_bin(s.encode("utf-8") if isinstance(s, str) else s)


def fixed_header(ptype, flags, remaining):
    return bytes([(ptype << 4) | (flags & 0x0F)]) + enc_varint(remaining)


def packet(ptype, flags, body):
    return fixed_header(ptype, flags, len(body)) + body


# ---- properties -----------------------------------------------------------------------------

def _prop_items(props):
    """Accepts None, a dict {name|id: value} (value may be a list for repeatable properties;
    user_property takes a list of (k, v) pairs) or a list of (name|id, value) pairs."""
    if not props:
        return []
    items = props.items() if isinstance(props, dict) else props
    out = []
    for key, val in items:
        pid = PROP_IDS[key] if isinstance(key, str) else key
        kind = PROPS[pid][1] if pid in PROPS else None
        if kind == "pair" and isinstance(val, (list, tuple)) and val and \
                isinstance(val[0], (list, tuple)):
            out += [(pid, v) for v in val]
        elif kind == "varint" and isinstance(val, (list, tuple)):
            out += [(pid, v) for v in val]
        else:
            out.append((pid, val))
    return out


def enc_props(props):
    """Property Length + properties. Unknown ids need raw bytes as the value."""
    body = bytearray()
    for pid, val in _prop_items(props):
        body += enc_varint(pid)
        kind = PROPS.get(pid, (None, "raw"))[1]
        if kind == "byte":
            body.append(val)
        elif kind == "u16":
            body += enc_u16(val)
        elif kind == "u32":
            body += enc_u32(val)
        elif kind == "varint":
            body += enc_varint(val)
        elif kind == "str":
            body += enc_str(val)
        elif kind == "bin":
            body += enc_bin(val)
        elif kind == "pair":
            body += enc_str(val[0]) + enc_str(val[1])
        else:
            body += bytes(val)
    return enc_varint(len(body)) + bytes(body)


class Props(list):
    """Decoded properties: a list of (name, value) in wire order, with lookups."""

    def get(self, name, default=None):
        for k, v in self:
            if k == name:
                return v
        return default

    def getall(self, name):
        return [v for k, v in self if k == name]

    def __contains__(self, name):
        return any(k == name for k, _ in self)

    def __repr__(self):
        return "{" + ", ".join(f"{k}={v!r}" for k, v in self) + "}"


def dec_props(buf, pos):
    plen, pos = dec_varint(buf, pos)
    end = pos + plen
    if end > len(buf):
        raise ValueError("properties run past the packet")
    out = Props()
    while pos < end:
        pid, pos = dec_varint(buf, pos)
        if pid not in PROPS:
            raise ValueError(f"unknown property id 0x{pid:02x}")
        name, kind = PROPS[pid]
        if kind == "byte":
            val, pos = buf[pos], pos + 1
        elif kind == "u16":
            val, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        elif kind == "u32":
            val, pos = struct.unpack_from("!I", buf, pos)[0], pos + 4
        elif kind == "varint":
            val, pos = dec_varint(buf, pos)
        elif kind in ("str", "bin"):
            val, pos = dec_bin(buf, pos)
            if kind == "str":
                val = val.decode("utf-8")
        else:
            k, pos = dec_bin(buf, pos)
            v, pos = dec_bin(buf, pos)
            val = (k.decode(), v.decode())
        out.append((name, val))
    if pos != end:
        raise ValueError("property overran the property length")
    return out, end


def dec_bin(buf, pos):
    if pos + 2 > len(buf):
        raise ValueError("truncated length prefix")
    n = struct.unpack_from("!H", buf, pos)[0]
    if pos + 2 + n > len(buf):
        raise ValueError("string/binary runs past the packet")
    return bytes(buf[pos + 2:pos + 2 + n]), pos + 2 + n


# ---- packet encoders ------------------------------------------------------------------------

class Will:
    def __init__(self, topic, payload=b"", qos=0, retain=False, props=None):
        self.topic, self.payload, self.qos, self.retain, self.props = \
            topic, payload, qos, retain, props


def connect(client_id="", version=4, clean=True, keepalive=60, will=None, username=None,
            password=None, props=None, proto_name=None, flags=None):
    """CONNECT. `flags` overrides the computed Connect Flags byte (for malformed tests);
    `proto_name` overrides "MQTT"/"MQIsdp"."""
    if proto_name is None:
        proto_name = "MQIsdp" if version == 3 else "MQTT"
    f = 0
    if clean:
        f |= 0x02
    if will is not None:
        f |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    if password is not None:
        f |= 0x40
    if username is not None:
        f |= 0x80
    if flags is not None:
        f = flags
    body = enc_str(proto_name) + bytes([version, f]) + enc_u16(keepalive)
    if version == 5:
        body += enc_props(props)
    body += enc_str(client_id)
    if will is not None:
        if version == 5:
            body += enc_props(will.props)
        body += enc_str(will.topic) + enc_bin(will.payload)
    if username is not None:
        body += enc_str(username)
    if password is not None:
        body += enc_bin(password)
    return packet(CONNECT, 0, body)


def connack(rc=0, session_present=False, version=4, props=None):
    body = bytes([1 if session_present else 0, rc])
    if version == 5:
        body += enc_props(props)
    return packet(CONNACK, 0, body)


def publish(topic, payload=b"", qos=0, retain=False, pid=None, dup=False, version=4,
            props=None):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = enc_str(topic)
    if qos > 0:
        body += enc_u16(pid if pid is not None else 1)
    if version == 5:
        body += enc_props(props)
    return packet(PUBLISH, flags, body + payload)


def _ack(ptype, flags, pid, rc, version, props):
    body = enc_u16(pid)
    if version == 5 and (rc or props):
        body += bytes([rc])
        if props:
            body += enc_props(props)
    return packet(ptype, flags, body)


def puback(pid, rc=0, version=4, props=None):
    return _ack(PUBACK, 0, pid, rc, version, props)


def pubrec(pid, rc=0, version=4, props=None):
    return _ack(PUBREC, 0, pid, rc, version, props)


def pubrel(pid, rc=0, version=4, props=None, flags=0x02):
    return _ack(PUBREL, flags, pid, rc, version, props)


def pubcomp(pid, rc=0, version=4, props=None):
    return _ack(PUBCOMP, 0, pid, rc, version, props)


def sub_options(opts):
    """An int (the byte as it is) or a dict qos/nl/rap/rh (spec 3.8.3.1)."""
    if isinstance(opts, int):
        return opts
    return (opts.get("qos", 0) | (0x04 if opts.get("nl") else 0) |
            (0x08 if opts.get("rap") else 0) | (opts.get("rh", 0) << 4))


def subscribe(pid, topics, version=4, props=None, flags=0x02):
    """topics: list of (filter, options) with options an int or a dict; or plain strings."""
    body = enc_u16(pid)
    if version == 5:
        body += enc_props(props)
    for t in topics:
        if isinstance(t, (str, bytes)):
            t = (t, 0)
        body += enc_str(t[0]) + bytes([sub_options(t[1])])
    return packet(SUBSCRIBE, flags, body)


def suback(pid, codes, version=4, props=None):
    body = enc_u16(pid)
    if version == 5:
        body += enc_props(props)
    return packet(SUBACK, 0, body + bytes(codes))


def unsubscribe(pid, topics, version=4, props=None, flags=0x02):
    body = enc_u16(pid)
    if version == 5:
        body += enc_props(props)
    for t in topics:
        body += enc_str(t)
    return packet(UNSUBSCRIBE, flags, body)


def unsuback(pid, codes=(), version=4, props=None):
    body = enc_u16(pid)
    if version == 5:
        body += enc_props(props) + bytes(codes)
    return packet(UNSUBACK, 0, body)


def pingreq():
    return b"\xc0\x00"


def pingresp():
    return b"\xd0\x00"


def disconnect(rc=0, version=4, props=None):
    if version == 5 and (rc or props):
        body = bytes([rc]) + (enc_props(props) if props else b"")
        return packet(DISCONNECT, 0, body)
    return b"\xe0\x00"


def auth(rc=0x18, props=None):
    if rc == 0 and not props:
        return b"\xf0\x00"
    return packet(AUTH, 0, bytes([rc]) + enc_props(props))


# ---- decoding -------------------------------------------------------------------------------

class Packet:
    """One decoded packet. Always: type, name, flags, raw. Then per type:
    CONNECT: proto_name, version, connect_flags, clean, keepalive, props, client_id, will,
             username, password
    CONNACK: session_present, rc, props        PUBLISH: topic, payload, qos, retain, dup, pid, props
    PUBACK/PUBREC/PUBREL/PUBCOMP: pid, rc, props     SUBSCRIBE: pid, props, topics [(f, opts)]
    SUBACK/UNSUBACK: pid, props, codes        UNSUBSCRIBE: pid, props, topics
    DISCONNECT/AUTH: rc, props                PINGREQ/PINGRESP: nothing more"""

    def __init__(self, ptype, flags, raw):
        self.type, self.flags, self.raw = ptype, flags, raw
        self.name = TYPE_NAMES.get(ptype, f"TYPE{ptype}")
        self.props = Props()
        self.rc = 0

    def __repr__(self):
        skip = ("type", "flags", "raw", "name")
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()
                           if k not in skip and not (k == "props" and not v))
        return f"<{self.name} {fields}>"


def decode(buf, version=4):
    """Decodes exactly one complete packet (fixed header included). Raises ValueError."""
    buf = bytes(buf)
    if len(buf) < 2:
        raise ValueError("packet shorter than 2 bytes")
    ptype, flags = buf[0] >> 4, buf[0] & 0x0F
    rl, pos = dec_varint(buf, 1)
    if pos + rl != len(buf):
        raise ValueError(f"remaining length {rl} but {len(buf) - pos} bytes follow")
    p = Packet(ptype, flags, buf)
    end = len(buf)
    v5 = version == 5
    if ptype == CONNECT:
        name, pos = dec_bin(buf, pos)
        p.proto_name = name.decode(errors="replace")
        p.version, p.connect_flags = buf[pos], buf[pos + 1]
        p.keepalive = struct.unpack_from("!H", buf, pos + 2)[0]
        pos += 4
        v5 = p.version == 5
        p.clean = bool(p.connect_flags & 0x02)
        if v5:
            p.props, pos = dec_props(buf, pos)
        cid, pos = dec_bin(buf, pos)
        p.client_id = cid.decode()
        p.will = None
        if p.connect_flags & 0x04:
            wprops = Props()
            if v5:
                wprops, pos = dec_props(buf, pos)
            wt, pos = dec_bin(buf, pos)
            wp, pos = dec_bin(buf, pos)
            p.will = Will(wt.decode(), wp, (p.connect_flags >> 3) & 3,
                          bool(p.connect_flags & 0x20), wprops)
        p.username = p.password = None
        if p.connect_flags & 0x80:
            u, pos = dec_bin(buf, pos)
            p.username = u.decode()
        if p.connect_flags & 0x40:
            p.password, pos = dec_bin(buf, pos)
    elif ptype == CONNACK:
        p.session_present = bool(buf[pos] & 1)
        p.ack_flags, p.rc = buf[pos], buf[pos + 1]
        pos += 2
        if v5 and pos < end:
            p.props, pos = dec_props(buf, pos)
    elif ptype == PUBLISH:
        p.qos, p.retain, p.dup = (flags >> 1) & 3, bool(flags & 1), bool(flags & 8)
        t, pos = dec_bin(buf, pos)
        p.topic = t.decode("utf-8")
        p.pid = None
        if p.qos:
            p.pid, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        if v5:
            p.props, pos = dec_props(buf, pos)
        p.payload = buf[pos:]
        pos = end
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.pid, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        if v5 and pos < end:
            p.rc, pos = buf[pos], pos + 1
            if pos < end:
                p.props, pos = dec_props(buf, pos)
    elif ptype in (SUBSCRIBE, UNSUBSCRIBE):
        p.pid, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        if v5:
            p.props, pos = dec_props(buf, pos)
        p.topics = []
        while pos < end:
            t, pos = dec_bin(buf, pos)
            if ptype == SUBSCRIBE:
                p.topics.append((t.decode(), buf[pos]))
                pos += 1
            else:
                p.topics.append(t.decode())
    elif ptype in (SUBACK, UNSUBACK):
        p.pid, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        if v5:
            p.props, pos = dec_props(buf, pos)
        p.codes = list(buf[pos:])
        pos = end
    elif ptype in (DISCONNECT, AUTH):
        if v5 and pos < end:
            p.rc, pos = buf[pos], pos + 1
            if pos < end:
                p.props, pos = dec_props(buf, pos)
    elif ptype in (PINGREQ, PINGRESP):
        pass
    else:
        raise ValueError(f"packet type {ptype} is reserved")
    if pos != end:
        raise ValueError(f"{p.name}: {end - pos} trailing bytes")
    return p


def split_packet(buf):
    """If buf starts with a complete packet, returns its length; else None."""
    if len(buf) < 2:
        return None
    try:
        rl, pos = dec_varint(buf, 1)
    except ValueError as e:
        if "truncated" in str(e):
            return None
        raise
    return pos + rl if len(buf) >= pos + rl else None


def rc_name(rc):
    return f"0x{rc:02X} {RC_NAMES.get(rc, '?')}"


# ---- a connection ---------------------------------------------------------------------------

class Conn:
    """One TCP connection to the broker speaking `version` (3, 4 or 5).

    recv() returns exactly one packet, or raises Timeout / Closed. PUBLISH packets that
    arrive while the test waits for another type are kept in `pending` and handed out by
    the next expect("PUBLISH"), so a test may interleave its own acks with deliveries."""

    def __init__(self, host, port, version=4, timeout=5.0, name=None):
        self.host, self.port, self.version, self.timeout = host, port, version, timeout
        self.name = name or f"conn@{port}"
        self.buf = b""
        self.pending = []
        self.next_pid = 1
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.closed = False

    # raw I/O
    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def abort(self):
        """Closes with a TCP RST (SO_LINGER 0): an abnormal loss without DISCONNECT."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def pid(self):
        p = self.next_pid
        self.next_pid = self.next_pid % 65535 + 1
        return p

    def recv(self, timeout=None):
        """One packet (Packet), or Timeout / Closed."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            try:
                n = split_packet(self.buf)
            except ValueError as e:
                raise WireError(f"{self.name}: undecodable bytes from broker: {e}: "
                                f"{self.buf[:64].hex()}")
            if n:
                raw, self.buf = self.buf[:n], self.buf[n:]
                try:
                    return decode(raw, self.version)
                except (ValueError, IndexError, struct.error, UnicodeDecodeError) as e:
                    raise WireError(f"{self.name}: malformed packet from broker: {e}: "
                                    f"{raw[:64].hex()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"{self.name}: no packet within {timeout:.1f}s")
            if self.closed:
                raise Closed(f"{self.name}: connection already closed by us")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise Timeout(f"{self.name}: no packet within {timeout:.1f}s")
            except (ConnectionResetError, BrokenPipeError) as e:
                raise Closed(f"{self.name}: connection reset ({e})")
            if not data:
                raise Closed(f"{self.name}: connection closed by broker")
            self.buf += data

    def expect(self, ptype, timeout=None):
        """The next packet of type ptype (name or number). PUBLISHes are stashed while
        waiting for something else; any other type is a WireError."""
        if isinstance(ptype, str):
            ptype = TYPE_BY_NAME[ptype]
        if ptype == PUBLISH and self.pending:
            return self.pending.pop(0)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            try:
                p = self.recv(left)
            except Timeout:
                raise Timeout(f"{self.name}: expected {TYPE_NAMES[ptype]}, got nothing "
                              f"within {timeout:.1f}s")
            except Closed as e:
                raise Closed(f"expected {TYPE_NAMES[ptype]}, but {e}")
            if p.type == ptype:
                return p
            if p.type == PUBLISH:
                self.pending.append(p)
                continue
            raise WireError(f"{self.name}: expected {TYPE_NAMES[ptype]}, got {p!r}")

    def expect_publish(self, topic=None, payload=None, qos=None, timeout=None, ack=True):
        p = self.expect(PUBLISH, timeout)
        if topic is not None and p.topic != topic:
            raise WireError(f"{self.name}: expected PUBLISH on {topic!r}, got {p!r}")
        if payload is not None:
            if isinstance(payload, str):
                payload = payload.encode()
            if p.payload != payload:
                raise WireError(f"{self.name}: expected payload {payload!r}, got {p!r}")
        if qos is not None and p.qos != qos:
            raise WireError(f"{self.name}: expected QoS {qos}, got {p!r}")
        if ack:
            self.ack(p)
        return p

    def ack(self, p):
        """Acknowledges a received PUBLISH (QoS 1: PUBACK; QoS 2: PUBREC..PUBREL..PUBCOMP)."""
        if p.qos == 1:
            self.send(puback(p.pid, version=self.version))
        elif p.qos == 2:
            self.send(pubrec(p.pid, version=self.version))
            rel = self.expect(PUBREL)
            if rel.pid != p.pid:
                raise WireError(f"{self.name}: PUBREL for {rel.pid}, expected {p.pid}")
            self.send(pubcomp(p.pid, version=self.version))

    def expect_connack(self, rc=0, session_present=None, timeout=None):
        p = self.expect(CONNACK, timeout)
        if rc is not None and p.rc != rc:
            raise WireError(f"{self.name}: expected CONNACK rc 0x{rc:02X}, got {p!r}")
        if session_present is not None and p.session_present != session_present:
            raise WireError(f"{self.name}: expected CONNACK session_present="
                            f"{session_present}, got {p!r}")
        return p

    def expect_disconnect(self, reason=None, timeout=None):
        """v5: a DISCONNECT (with `reason`, an int or a collection of allowed ints), then
        the broker closes."""
        p = self.expect(DISCONNECT, timeout)
        allowed = (reason,) if isinstance(reason, int) else reason
        if allowed is not None and p.rc not in allowed:
            raise WireError(f"{self.name}: expected DISCONNECT "
                            f"{' or '.join(rc_name(r) for r in allowed)}, got {rc_name(p.rc)} "
                            f"{p!r}")
        return p

    def expect_closed(self, timeout=None, disconnect=None):
        """The broker closes the connection within timeout. disconnect: None = a v5
        DISCONNECT before the close is allowed (any reason); an int/collection = required
        with one of those reasons; False = must close without any packet.
        Returns the DISCONNECT packet seen, or None."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            left = deadline - time.monotonic()
            try:
                p = self.recv(max(0.0, left))
            except Closed:
                break
            except Timeout:
                raise Timeout(f"{self.name}: expected the broker to close the connection "
                              f"within {timeout:.1f}s, it stayed open"
                              + (f" (after {seen!r})" if seen else ""))
            if p.type == DISCONNECT and disconnect is not False and self.version == 5 \
                    and seen is None:
                seen = p
                continue
            if p.type == PUBLISH:
                self.pending.append(p)
                continue
            raise WireError(f"{self.name}: expected the connection to close, got {p!r}")
        if disconnect not in (None, False):
            allowed = (disconnect,) if isinstance(disconnect, int) else disconnect
            if seen is None:
                raise WireError(f"{self.name}: broker closed without the DISCONNECT "
                                f"{' or '.join(rc_name(r) for r in allowed)} it should send")
            if seen.rc not in allowed:
                raise WireError(f"{self.name}: expected DISCONNECT "
                                f"{' or '.join(rc_name(r) for r in allowed)} before close, got "
                                f"{rc_name(seen.rc)} {seen!r}")
        self.closed = True
        return seen

    def expect_nothing(self, timeout=1.0, what="any packet"):
        if self.pending:
            raise WireError(f"{self.name}: expected no {what}, got {self.pending[0]!r}")
        try:
            p = self.recv(timeout)
        except Timeout:
            return
        except Closed as e:
            raise WireError(f"expected the connection to stay quiet and open, but {e}")
        raise WireError(f"{self.name}: expected no {what} within {timeout:.1f}s, got {p!r}")

    def is_open(self, timeout=3.0):
        """PINGREQ / PINGRESP round trip; True if the connection still works."""
        try:
            self.send(pingreq())
            self.expect(PINGRESP, timeout)
            return True
        except (WireError, OSError):
            return False

    # whole flows
    def connect(self, client_id="", clean=True, keepalive=60, will=None, username=None,
                password=None, props=None, rc=0, session_present=None, timeout=None):
        self.send(connect(client_id, self.version, clean, keepalive, will, username,
                          password, props))
        return self.expect_connack(rc, session_present, timeout)

    def publish(self, topic, payload=b"", qos=0, retain=False, props=None, pid=None,
                dup=False, wait=True):
        """Sends a PUBLISH; with wait and QoS>0 completes the flow and returns the last ack
        (PUBACK or PUBCOMP). Returns the packet id used."""
        if qos and pid is None:
            pid = self.pid()
        self.send(publish(topic, payload, qos, retain, pid, dup, self.version, props))
        if not qos or not wait:
            return pid
        if qos == 1:
            a = self.expect(PUBACK)
            if a.pid != pid:
                raise WireError(f"{self.name}: PUBACK for {a.pid}, expected {pid}")
            return a
        r = self.expect(PUBREC)
        if r.pid != pid:
            raise WireError(f"{self.name}: PUBREC for {r.pid}, expected {pid}")
        if r.rc >= 0x80:
            return r
        self.send(pubrel(pid, version=self.version))
        c = self.expect(PUBCOMP)
        if c.pid != pid:
            raise WireError(f"{self.name}: PUBCOMP for {c.pid}, expected {pid}")
        return c

    def subscribe(self, topics, props=None, pid=None, check=True):
        """topics: a filter string, or a list of filters / (filter, options). With check,
        every code must be a grant (< 0x80). Returns the SUBACK."""
        if isinstance(topics, str):
            topics = [(topics, 0)]
        pid = pid or self.pid()
        self.send(subscribe(pid, topics, self.version, props))
        s = self.expect(SUBACK)
        if s.pid != pid:
            raise WireError(f"{self.name}: SUBACK for {s.pid}, expected {pid}")
        if check and any(c >= 0x80 for c in s.codes):
            raise WireError(f"{self.name}: subscription refused: {s!r} for {topics}")
        return s

    def unsubscribe(self, topics, props=None):
        if isinstance(topics, str):
            topics = [topics]
        pid = self.pid()
        self.send(unsubscribe(pid, topics, self.version, props))
        u = self.expect(UNSUBACK)
        if u.pid != pid:
            raise WireError(f"{self.name}: UNSUBACK for {u.pid}, expected {pid}")
        return u

    def disconnect(self, rc=0, props=None):
        try:
            self.send(disconnect(rc, self.version, props))
        except OSError:
            pass
        self.close()

    def collect(self, timeout=1.0, ack=True, total=None):
        """All PUBLISHes arriving until `timeout` of quiet (or `total` seconds in all, if
        given); acknowledges them unless ack=False."""
        out = list(self.pending)
        self.pending = []
        for p in out:
            if ack:
                self.ack(p)
        end = None if total is None else time.monotonic() + total
        while True:
            wait = timeout
            if end is not None:
                wait = min(wait, end - time.monotonic())
                if wait <= 0:
                    return out
            try:
                p = self.expect(PUBLISH, wait)
            except Timeout:
                return out
            if ack:
                self.ack(p)
            out.append(p)
