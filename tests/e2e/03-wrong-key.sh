#!/bin/bash
# Goal of this test:
# - with different keys on the two ends, the handshake fails;
# - not one byte reaches the target, and the target sees no connection at
#   all (sealpiped -d connects only after key confirmation);
# - the client sees a reset, never a clean end of stream;
# - the -d side logs the failure, sends nothing back (silent), and keeps
#   serving clients that have the right key.
. "$(dirname "$0")/lib.sh"

right=$(key right)
wrong=$(random_key wrong)
printf 'secret request\n' > "$T/in"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e_bad="[127.0.0.1]:$(port)"
e_good="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$right"
start_daemon ebad -e -s "$e_bad" -t "$d" -k "$wrong"
start_daemon egood -e -s "$e_good" -t "$d" -k "$right"

for i in 1 2 3; do
    rc=0
    "$SPTEST" send "$e_bad" "$T/in" "$T/out_$i" 2>/dev/null || rc=$?
    [ "$rc" -eq 10 ] || fail "wrong key: client exit $rc, expected 10 (reset)"
    [ ! -s "$T/out_$i" ] || fail "wrong key: the client received data"
done
wait_for log_has d "handshake_failed: authentication failed"
wait_for log_has ebad "handshake_failed"
[ "$(accepted echo)" -eq 0 ] || fail "the target saw $(accepted echo) connection(s) with a wrong key"

# Nothing at all comes back to a raw client with garbage: read until EOF.
printf 'GET / HTTP/1.0\r\n\r\n' > "$T/http"
rc=0
"$SPTEST" send "$d" "$T/http" "$T/raw_out" 2>/dev/null || rc=$?
[ ! -s "$T/raw_out" ] || fail "-d answered an unauthenticated client"
[ "$rc" -eq 10 ] || fail "-d ended a bad handshake with exit $rc, expected a reset (10)"

# The right key still works, and only now does the target see a connection.
"$SPTEST" send "$e_good" "$T/in" "$T/out_good" || fail "right key failed"
cmp -s "$T/in" "$T/out_good" || fail "right key: reply differs"
[ "$(accepted echo)" -eq 1 ] || fail "target saw $(accepted echo) connections, expected 1"
pass "wrong key rejected silently; target untouched; right key works"
