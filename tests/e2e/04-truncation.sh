#!/bin/bash
# Goal of this test:
# - a man in the middle that forwards bytes and then sends a FIN in the
#   middle of the stream (no CLOSE record) truncates the connection;
# - the plaintext side that was being fed sees a reset, never a clean EOF:
#   the client (when -d's replies are cut) and the target (when -e's data
#   is cut);
# - both daemons log the truncation and keep serving new connections.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$(mb 4)
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k"

run_case() {
    local name=$1 dir=$2
    local r="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
    start_relay "relay_$name" "$r" "$d" --dir "$dir" --fin-at $((size / 2))
    start_daemon "e_$name" -e -s "$e" -t "$r" -k "$k"
    local rc=0
    "$SPTEST" send "$e" "$T/in" "$T/out_$name" 2>/dev/null || rc=$?
    [ "$rc" -eq 10 ] || fail "$name: client exit $rc, expected 10 (a reset, not a clean end)"
    [ "$(file_size "$T/out_$name")" -lt "$size" ] || fail "$name: the whole reply arrived?"
    cmp -s "$T/out_$name" <(head -c "$(file_size "$T/out_$name")" "$T/in") \
        || fail "$name: the partial reply is not a prefix of the data"
    grep -q "fin at $((size / 2))" "$T/relay_$name.events" || fail "$name: the relay did not truncate"
}

run_case down down
wait_for log_has e_down "truncated: encrypted connection ended without CLOSE"
pass "FIN from -d's side mid-stream: -e resets its client"

: > "$T/echo.events" # only this case's connection from here on
run_case up up
wait_for log_has d "truncated: encrypted connection ended without CLOSE"
# The target saw a reset (on read, or on its echo write), never a clean EOF.
wait_for grep -Eq "^(eof [0-9]+ [0-9]+ Connection reset by peer|write-failed)" "$T/echo.events"
grep -Eq "^eof [0-9]+ [0-9]+ clean" "$T/echo.events" && fail "the target saw a clean EOF"
pass "FIN from -e's side mid-stream: -d resets the target"

# Still serving.
e="[127.0.0.1]:$(port)"
start_daemon e_ok -e -s "$e" -t "$d" -k "$k"
"$SPTEST" send "$e" "$T/in" "$T/out_ok" || fail "no longer serving"
cmp -s "$T/in" "$T/out_ok" || fail "data differs after the attacks"
pass "daemons still serve"
