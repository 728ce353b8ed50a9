#!/bin/bash
# Goal of this test:
# - --check validates the keys and addresses, prints what would run, and
#   exits 0 without listening (so it can run beside the live daemon, as an
#   ExecStartPre or rc.d configtest);
# - with a bad key or address it exits non-zero with the same message as a
#   real start.
. "$(dirname "$0")/lib.sh"

k=$(key k)
busy="[127.0.0.1]:$(port)"
start_listener busy "$SPTEST" echo "$busy"
"$SEALPIPED" --check -d -s "$busy" -t localhost:5672 -k "$k" -k "$k" -n 10 --heartbeat 15 > "$T/out" \
    || fail "--check failed: $(cat "$T/out")"
grep -q "configuration OK" "$T/out" || fail "no OK line"
grep -q "decrypt (-d)" "$T/out" || fail "mode missing"
grep -Eq "target: +localhost:5672 ->" "$T/out" || fail "target missing"
grep -Eq "key 2: .*fingerprint [0-9a-f]{8}" "$T/out" || fail "key fingerprints missing"
grep -q "heartbeat 15 s" "$T/out" || fail "timers missing"
pass "--check prints the plan without binding"

rc=0
"$SEALPIPED" --check -d -s "$busy" -t localhost:5672 -k "$T/missing" 2> "$T/err" || rc=$?
[ "$rc" -eq 3 ] || fail "--check with a missing key: exit $rc"
rc=0
"$SEALPIPED" --check -d -s nohost -t localhost:5672 -k "$k" 2> "$T/err" || rc=$?
[ "$rc" -eq 4 ] || fail "--check with a bad address: exit $rc"
rc=0
"$SEALPIPED" --check -d -s "$busy" -t localhost:5672 -k "$k" -u nosuchuser_sealpipe 2> "$T/err" || rc=$?
[ "$rc" -eq 5 ] || fail "--check with an unknown -u user: exit $rc, expected 5"
grep -q "no such user 'nosuchuser_sealpipe'" "$T/err" || fail "message: $(cat "$T/err")"
pass "--check fails like a real start (key 3, address 4, user 5)"
