#!/usr/bin/python3
"""Writes the seed corpus of fuzz_tcp (tests/lib/tcp/corpus/): one file per scenario, in the
record format described in fuzz_tcp.c. Run from anywhere: ./gen_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def opts(mss=None, ws=None, sackok=False, ts=None, sack=()):
    o = b''
    if mss is not None:
        o += struct.pack('!BBH', 2, 4, mss)
    if ws is not None:
        o += struct.pack('!BBBB', 1, 3, 3, ws)
    if sackok:
        o += bytes([1, 1, 4, 2])
    if ts is not None:
        o += struct.pack('!BBBBII', 1, 1, 8, 10, ts[0], ts[1])
    if sack:
        o += bytes([1, 1, 5, 2 + 8 * len(sack)])
        for a, b in sack:
            o += struct.pack('!II', a, b)
    while len(o) % 4:
        o += b'\0'
    return o


def seg(sport, dport, seq, ack, flags, win=1000, o=b'', data=b''):
    hl = 20 + len(o)
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, (hl // 4) << 4, flags, win, 0,
                       0) + o + data


def rec(s, ctl=0):
    return struct.pack('!BH', ctl, len(s)) + s


REL = 2  # seq/ack relative to the established connection


def main():
    os.makedirs(OUT, exist_ok=True)
    ts = opts(ts=(10, 0))
    seeds = {
        'syn_new': rec(seg(40001, 7, 5000, 0, SYN, o=opts(1460, 7, True, (5, 0)))),
        'syn_flood_cookie': b''.join(
            rec(seg(41000 + i, 7, 7000 + i, 0, SYN, o=opts(1460, 7, True, (5, 0))))
            for i in range(4)),
        'data_inorder': rec(seg(40000, 7, 0, 0, ACK | PSH, o=ts, data=b'hello world'), REL),
        'data_ooo_then_fill': rec(seg(40000, 7, 100, 0, ACK, o=ts, data=b'B' * 100), REL) +
        rec(seg(40000, 7, 0, 0, ACK, o=ts, data=b'A' * 150), REL | 0x10),
        'overlap_dup': b''.join(
            rec(seg(40000, 7, s, 0, ACK, o=ts, data=bytes(range(s % 256, s % 256 + 40))), REL)
            for s in (40, 20, 0, 10, 60, 0)),
        'fin': rec(seg(40000, 7, 0, 0, ACK | FIN, o=ts, data=b'bye'), REL | 0x20),
        'rst_exact': rec(seg(40000, 7, 0, 0, RST), REL),
        'rst_in_window': rec(seg(40000, 7, 500, 0, RST), REL),
        'syn_on_established': rec(seg(40000, 7, 12345, 0, SYN, o=opts(1460)), 0),
        'ack_sack_blocks': rec(seg(40000, 7, 0, 0, ACK, o=ts, data=b'x' * 300), REL) +
        rec(seg(40000, 7, 300, 0, ACK, o=opts(ts=(11, 0), sack=((1, 100), (200, 300)))), REL),
        'zero_window': rec(seg(40000, 7, 0, 0, ACK, win=0, o=ts, data=b'probe me'), REL | 0x30),
        'bad_options': rec(seg(40000, 7, 0, 0, ACK, o=bytes([2, 0, 0, 0])), REL) +
        rec(seg(40000, 7, 0, 0, ACK, o=bytes([8, 40, 0, 0])), REL),
        'truncated': rec(b'\x9c\x40\x00\x07\x00\x00'),
        'bad_cksum': rec(seg(40000, 7, 0, 0, ACK, data=b'zz'), REL | 1),
        'synack_active': rec(seg(1883, 5555, 9000, 0, SYN | ACK, o=opts(1460, 3, True, (4, 1)))),
        'stranger': rec(seg(40009, 9, 1, 2, ACK)),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
