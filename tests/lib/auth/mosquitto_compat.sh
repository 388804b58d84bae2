#!/usr/bin/env bash
# @file mosquitto_compat.sh
# Cross-checks lib/auth against Debian's mosquitto broker (2.0):
#  1. a password file written by lib/auth (auth_tool) is accepted by mosquitto: the right
#     password connects, a wrong one, an unknown user and no credentials are refused;
#  2. an ACL file saved by lib/auth loads in mosquitto, and for a few publish/subscribe cases
#     mosquitto delivers exactly what auth_acl_check() allows.
# Usage: mosquitto_compat.sh <path to auth_tool>. Exits 77 (meson: skipped) without mosquitto.
# Everything lives in a temporary directory that is removed, and the broker killed, on exit.
set -euo pipefail

TOOL=$1
for b in /usr/sbin/mosquitto mosquitto_pub mosquitto_sub ss; do
	command -v "$b" >/dev/null || { echo "SKIP: $b not installed"; exit 77; }
done

dir=$(mktemp -d /tmp/tachyon-auth-compat.XXXXXX)
broker=""
cleanup() {
	if [ -n "$broker" ]; then kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
# Debian's mosquitto drops root for user `mosquitto`: it must be able to read our files.
chmod 755 "$dir"

fail=0
check() { # check <description> <expected exit status> <command...>
	local what=$1 want=$2
	shift 2
	local got=0
	"$@" >/dev/null 2>&1 || got=$?
	if { [ "$want" = 0 ] && [ "$got" != 0 ]; } || { [ "$want" != 0 ] && [ "$got" = 0 ]; }; then
		echo "FAIL: $what (exit $got, want $want)"
		fail=1
	else
		echo "ok: $what"
	fi
}

# --- files written by lib/auth ---
"$TOOL" passwd-set "$dir/pw" alice 'al1ce pass'
"$TOOL" passwd-set "$dir/pw" bob 'bob-pass'
"$TOOL" passwd-set "$dir/pw" tmp 'x'
"$TOOL" passwd-set "$dir/pw" bob 'bob-pass-2'
"$TOOL" passwd-delete "$dir/pw" tmp
chmod 644 "$dir/pw"

cat > "$dir/acl.src" <<'EOF'
user alice
topic readwrite alice/#
topic deny alice/secret
user bob
topic read alice/#
topic read open/+
pattern write open/%u
pattern write open/x-%u-y
EOF
"$TOOL" acl-copy "$dir/acl.src" "$dir/acl"
chmod 644 "$dir/acl"

pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 "$@"; }
# Start the broker on a random port that looks free; if another process takes the port in the
# meantime, mosquitto exits and we try another one.
start_broker() {
	port=$((20000 + RANDOM % 40000))
	if ss -ltn 2>/dev/null | grep -q ":$port "; then return 1; fi
	printf '%s\n' "listener $port 127.0.0.1" "password_file $dir/pw" "acl_file $dir/acl" \
		"allow_anonymous false" "persistence false" "log_dest stderr" > "$dir/mosquitto.conf"
	/usr/sbin/mosquitto -c "$dir/mosquitto.conf" 2>"$dir/broker.log" &
	broker=$!
	for _ in $(seq 50); do
		pub -u alice -P 'al1ce pass' -t alice/up -m up >/dev/null 2>&1 && return 0
		if ! kill -0 "$broker" 2>/dev/null; then
			wait "$broker" 2>/dev/null || true
			broker=""
			return 1
		fi
		sleep 0.1
	done
	kill "$broker" 2>/dev/null || true
	wait "$broker" 2>/dev/null || true
	broker=""
	return 1
}
started=0
for _ in 1 2 3 4 5; do
	if start_broker; then started=1; break; fi
done
if [ "$started" != 1 ]; then
	echo "mosquitto did not start:"
	cat "$dir/broker.log"
	exit 1
fi

# --- 1. the password file ---
check "alice, right password" 0 pub -u alice -P 'al1ce pass' -t alice/x -m 1
check "alice, wrong password" 1 pub -u alice -P 'al1ce pas' -t alice/x -m 1
check "bob, changed password" 0 pub -u bob -P 'bob-pass-2' -t x -m 1
check "bob, old password" 1 pub -u bob -P 'bob-pass' -t x -m 1
check "deleted user" 1 pub -u tmp -P 'x' -t x -m 1
check "unknown user" 1 pub -u carol -P 'x' -t x -m 1
check "no credentials" 1 pub -t x -m 1
check "lib/auth verifies alice" 0 "$TOOL" passwd-verify "$dir/pw" alice 'al1ce pass'
check "lib/auth refuses bob's old password" 1 "$TOOL" passwd-verify "$dir/pw" bob 'bob-pass'

# --- 2. the ACL: what bob receives from alice, per mosquitto and per lib/auth ---
# bob subscribes to alice/# and open/#; alice publishes to each topic, then a marker. Every
# message mosquitto delivers must be allowed by lib/auth and every allowed one delivered.
mosquitto_sub -h 127.0.0.1 -p "$port" -u bob -P 'bob-pass-2' -q 1 -v -W 10 \
	-t 'alice/#' -t 'open/#' > "$dir/got" 2>/dev/null &
sub=$!
sleep 0.5
topics=(alice/a alice/secret alice/b/c open/alice open/x/y open/x-alice-y open/x-bob-y)
for t in "${topics[@]}"; do
	pub -u alice -P 'al1ce pass' -t "$t" -m "$t" >/dev/null 2>&1 || true
done
pub -u alice -P 'al1ce pass' -t alice/zz-end -m end
for _ in $(seq 50); do grep -q '^alice/zz-end' "$dir/got" && break; sleep 0.1; done
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true

for t in "${topics[@]}"; do
	ours=deny
	if "$TOOL" acl-check "$dir/acl" alice-cid alice "$t" write >/dev/null &&
	   "$TOOL" acl-check "$dir/acl" bob-cid bob "$t" read >/dev/null; then
		ours=allow
	fi
	theirs=deny
	grep -qx "$t $t" "$dir/got" && theirs=allow
	if [ "$ours" = "$theirs" ]; then
		echo "ok: $t: delivered=$theirs, lib/auth=$ours"
	else
		echo "FAIL: $t: mosquitto delivered=$theirs, lib/auth says $ours"
		fail=1
	fi
done
grep -q '^alice/zz-end end$' "$dir/got" || { echo "FAIL: marker not received"; fail=1; }

if [ "$fail" != 0 ]; then
	echo "--- broker log ---"
	cat "$dir/broker.log"
	exit 1
fi
echo "mosquitto_compat: all checks passed"
