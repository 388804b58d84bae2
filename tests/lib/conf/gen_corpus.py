#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_conf (tests/lib/conf/corpus/): small config texts that
reach every kind of key, section rule and error path, and the libFuzzer dictionary
fuzz_conf.dict (every key name of lib/conf/conf_keys.c). Run from anywhere:
    python3 tests/lib/conf/gen_corpus.py
The files are committed; rerun after adding keys or rules. Fuzz with (clang -Dfuzz=true):
    build-fuzz/tests/lib/conf/fuzz_conf -dict=tests/lib/conf/fuzz_conf.dict \
        -max_len=2048 <a copy of tests/lib/conf/corpus>"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

SEEDS = {
    "empty": b"",
    "comments": b"# comment\n\n   # indented\r\n\t\n",
    "typed": b"max_keepalive 60\npersistence false\nimpair_loss 0.25\ntap_address 10.77.0.1\n"
             b"log_level debug\npersistence_mode async\ncores 0-1,3\n",
    "strings": b"password_file /etc/p#1\neal_args --a --b=c\nciphers HIGH:!aNULL\n",
    "address": b"address 10.77.0.9/25\ngateway 10.77.0.1\npci_device 0000:01:00.0\n",
    "listeners": b"listener 1883\nmax_connections 10\nlistener 8883 10.77.0.2\ncertfile /c\n"
                 b"keyfile /k\ncafile /ca\nrequire_certificate true\n"
                 b"use_identity_as_username true\ntls_version tlsv1.3\nmax_topic_alias 0\n",
    "per_listener": b"per_listener_settings true\nallow_anonymous true\nlistener 1883\n"
                    b"allow_anonymous false\npassword_file /p\nacl_file /a\n"
                    b"allow_zero_length_clientid false\nlistener 1884\n",
    "port": b"port 1884\nbind_address 10.77.0.2\ncertfile /c\nkeyfile /k\nlistener 8883\n",
    "mosquitto_log": b"log_type error\nlog_type information\nlog_dest stderr\n"
                     b"max_inflight_messages 0\nmax_packet_size 20\n",
    "err_unknown": b"max_keepaliv 60\n",
    "err_unsupported": b"bridge_cafile /x\nconnection b\n",
    "err_range": b"max_keepalive 70000\n",
    "err_extra": b"workers 2 3\n",
    "err_listener": b"listener 1883\nlistener 1883\n",
    "err_touched": b"cafile /ca\nlistener 8883\n",
    "err_validate": b"listener 8883\ncertfile /c\n",
    "err_nul": b"workers 1\x00\n",
    "crlf_noeol": b"sys_interval 5\r\nmax_keepalive 10",
    "include_bad": b"include_dir /nonexistent-tachyon-dir\n",
}

# The two full files of the unit tests are seeds too.
for name in ("all_keys.conf", "mosquitto.conf"):
    with open(os.path.join(HERE, "data", name), "rb") as f:
        SEEDS[name.replace(".conf", "")] = f.read()

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(SEEDS), OUT))

keys_c = os.path.join(HERE, "..", "..", "..", "lib", "conf", "conf_keys.c")
with open(keys_c) as f:
    names = re.findall(r'CONF__(?:INFO|NO)\("([^"]+)"', f.read())
with open(os.path.join(HERE, "fuzz_conf.dict"), "w") as f:
    f.write("# libFuzzer dictionary of fuzz_conf: written by gen_corpus.py\n")
    for n in names + ["true", "false", "listener 8883", "\\x0a", "#"]:
        f.write('"%s"\n' % n)
print("wrote %d dictionary entries" % (len(names) + 5))
