#!/usr/bin/env python3
# @file gen_corpus.py
# Writes the seed corpus of fuzz_auth.c into tests/lib/auth/corpus/ (run from anywhere; the
# output is committed). First byte of each seed: 'P' password file, 'A' ACL file, 'M' topic /
# client id / username lines checked against the target's fixed ACL.
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# Made with Debian's mosquitto_passwd 2.0.11 (alice/secret with $7$, bob/pw6 with $6$).
ALICE7 = ("alice:$7$101$osYnyXQ0hZgzA8AY$SrRkb49W1XJJgVa3HGhfpJNd08J2kU37uyM+r461XBgDb4Ky"
          "O7FvN7Gp+GNFSOELIn3BouAzDKa4g5NfSrxtfQ==\n")
BOB6 = ("bob:$6$9OOqMrnS5K0bSHnE$3nVhWi/UYSZ9fqEGTOXksOiotG1RgD6SkUMwIBsBkBAfrbjyywsEMs7K7FVt"
        "GuGrMEwGfwFU+7P+q5Rm8nVxFw==\n")
ARGON = ("dave:$argon2id$v=19$m=1024,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
         "7bHMr2E6l0z7a5oFq2yC1ZpL2m3pJv9r9u0tQm4q1kE\n")

SEEDS = {
    "passwd-mosquitto": "P# made by mosquitto_passwd\n" + ALICE7 + "\n" + BOB6,
    "passwd-crlf": "P" + ALICE7.replace("\n", "\r\n") + "  " + BOB6,
    "passwd-plain": "Palice:secret\n",
    "passwd-bad-b64": "Pa:$7$101$osYnyXQ0h!gzA8AY$AAAA\n",
    "passwd-dup": "P" + ALICE7 + ALICE7,
    "passwd-argon2": "P" + ARGON,
    "passwd-empty-fields": "Pa:$7$$$\nb:$6$$\n:\n",
    "acl-full": "A" + "\n".join([
        "# anonymous",
        "topic read public/#",
        "topic deny public/secret",
        "topic read $SYS/#",
        "pattern readwrite devices/%c/#",
        "pattern write sensor/%u/data",
        "pattern deny devices/%c/locked",
        "user alice",
        "topic readwrite alice/#",
        "  topic deny alice/private/#",
        "topic write $SYS/broker/connection/+/state",
        "topic readwrite has space/x",
        "user bob",
        "topic read #",
        "user solo",
        "topic read",
        ""]),
    "acl-errors": "Atopic sometimes a/b\n",
    "acl-bad-filter": "Atopic read a/#/b\n",
    "acl-user-first-line": "Aalice\nuser alice\ntopic a/+/b\n",
    "acl-pattern-mixed": "Adevices/c\npattern read d/%c%u/x\npattern read %u/%c/#\n",
    "match-anon": "Mpublic/a\nc1\n\n",
    "match-alice": "Ma/x/b/c\nc1\nalice\n",
    "match-share": "M$share/g/public/#\nc1\n\n",
    "match-sys": "M$SYS/broker/uptime\nc1\nalice\n",
    "match-pattern": "Mdevices/c+1/x\nc+1\n\n",
    "match-user-pattern": "Mu/bob/1/x\nc\nbob\n",
}

os.makedirs(OUT, exist_ok=True)
for name, text in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(text.encode())
print(f"wrote {len(SEEDS)} seeds to {OUT}")
