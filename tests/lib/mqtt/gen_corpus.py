#!/usr/bin/env python3
"""Write the seed corpus of fuzz_mqtt (tests/lib/mqtt/corpus/).

Each file is: one byte choosing the session level (low 2 bits: 0 = before CONNECT,
1 = 3.1, 2 = 3.1.1, 3 = 5.0; bit 2: a 64-byte packet size limit), one byte choosing the
piece size of the split run, then a stream of MQTT packets. The packets are the hand-written
vectors of test_vectors.c, plus a few invalid ones so the error paths are seeds too.
Run: python3 tests/lib/mqtt/gen_corpus.py (rewrites the directory's .bin files).
"""
import os

NONE, V31, V311, V5 = 0, 1, 2, 3

SEEDS = {
    "connect_v31": (NONE, "10 0f 00 06 4d 51 49 73 64 70 03 02 00 3c 00 01 61"),
    "connect_v311": (NONE, "10 1d 00 04 4d 51 54 54 04 ee 00 3c 00 01 63 00 03 77 2f 74"
                           " 00 03 62 79 65 00 01 75 00 01 70"),
    "connect_v5": (NONE, "10 27 00 04 4d 51 54 54 05 86 00 3c 08 11 00 00 00 0a 21 00 14"
                         " 00 01 63 07 01 01 18 00 00 00 05 00 01 74 00 01 78 00 01 75"),
    "connect_v5_then_publish": (NONE, "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 61"
                                      " 30 07 00 00 03 23 00 01 7a e0 00"),
    "connack_v311": (V311, "20 02 01 00"),
    "connack_v5": (V5, "20 08 00 00 05 22 00 0a 24 01"),
    "publish_v311": (V311, "30 07 00 03 61 2f 62 68 69 3b 09 00 03 61 2f 62 00 07 68 69"),
    "publish_v5_props": (V5, "34 28 00 01 74 00 01 21 01 01 02 00 00 00 3c 03 00 01 6a"
                             " 08 00 01 72 09 00 02 01 02 0b ac 02 23 00 05 26 00 01 6b"
                             " 00 01 76 78"),
    "publish_v5_subids": (V5, "30 0a 00 01 74 06 0b 01 0b 02 0b 7f"),
    "acks_v311": (V311, "40 02 00 01 50 02 00 02 62 02 00 02 70 02 00 02"),
    "acks_v5": (V5, "40 03 00 01 10 50 09 00 01 80 05 1f 00 02 6e 6f 62 03 00 02 92"),
    "subscribe_v311": (V311, "82 0e 00 01 00 03 61 2f 23 01 00 03 2b 2f 62 02"),
    "subscribe_v5": (V5, "82 19 00 02 09 0b 07 26 00 01 6b 00 01 76 00 0a 24 73 68 61 72"
                         " 65 2f 67 2f 74 29"),
    "suback": (V5, "90 09 00 01 04 1f 00 01 78 00 a2"),
    "unsubscribe": (V311, "a2 07 00 03 00 03 61 2f 62 b0 02 00 03"),
    "unsuback_v5": (V5, "b0 05 00 03 00 00 11"),
    "ping_disconnect": (V311, "c0 00 d0 00 e0 00"),
    "disconnect_v5": (V5, "e0 07 00 05 11 00 00 00 00"),
    "auth_v5": (V5, "f0 0e 18 0c 15 00 05 53 43 52 41 4d 16 00 01 aa"),
    "bad_utf8": (V311, "30 05 00 03 61 c0 af"),
    "bad_flags": (V5, "60 02 00 01"),
    "bad_dup_prop": (V5, "30 0a 00 01 74 06 23 00 01 23 00 02"),
    "bad_five_byte_length": (V311, "30 ff ff ff ff 7f"),
    "too_large": (V311 | 4, "30 e8 07 00 01 74"),
    "bad_share": (V5, "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 74 04"),
}


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(here, exist_ok=True)
    for f in os.listdir(here):
        if f.endswith(".bin"):
            os.remove(os.path.join(here, f))
    for i, (name, (sel, hexs)) in enumerate(sorted(SEEDS.items())):
        data = bytes([sel, i % 17]) + bytes.fromhex(hexs)
        with open(os.path.join(here, name + ".bin"), "wb") as fh:
            fh.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), here))


if __name__ == "__main__":
    main()
