#!/bin/bash
# Goal of this test (DESIGN.md §3.8):
# - when the -d side's connection is reset before -e has received a byte of
#   msg2 (what -d does to a handshake it evicts under a flood, or what a
#   restarting -d looks like), -e retries once on a new connection and the
#   client's transfer completes, byte for byte, with one target connection;
# - the same when the reset comes after -d has sent msg2 but before -e read
#   any of it: -d never reached its target on the first attempt;
# - a connection that fails twice is not retried again: the client sees a
#   reset, and nothing reaches the target;
# - sealpipe_handshake_retries_total counts the retries.
. "$(dirname "$0")/lib.sh"

k=$(key k)
random_file "$T/in" 300000
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k"

retries() { # NAME -> sealpipe_handshake_retries_total of that -e
    "$SPTEST" http "$T/$1.sock" /metrics | awk '$1 == "sealpipe_handshake_retries_total" {print $2}'
}

# relay_case NAME DIR CONN: -e -> relay (reset at byte 0 of DIR on
# connection CONN, 0 = every one) -> -d.
relay_case() {
    local name=$1 dir=$2 conn=$3
    local r="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
    start_relay "relay_$name" "$r" "$d" --dir "$dir" --rst-at 0 --conn "$conn"
    start_daemon "e_$name" -e -s "$e" -t "$r" -k "$k" --status "$T/e_$name.sock"
    E=$e
}

relay_case first up 1
"$SPTEST" send "$E" "$T/in" "$T/out1" || fail "the retried connection failed"
cmp -s "$T/in" "$T/out1" || fail "the retried connection delivered other bytes"
grep -q "up rst at 0" "$T/relay_first.events" || fail "the relay did not reset the first attempt"
[ "$(grep -c '^conn' "$T/relay_first.events")" -eq 2 ] || fail "expected 2 attempts through the relay"
[ "$(retries e_first)" = 1 ] || fail "retries: $(retries e_first), expected 1"
[ "$(accepted echo)" -eq 1 ] || fail "the target saw $(accepted echo) connections, expected 1"
pass "reset before msg1 arrived at -d: one retry, transfer intact, one target connection"

relay_case after_msg2 down 1
"$SPTEST" send "$E" "$T/in" "$T/out2" || fail "the retried connection failed (reset after msg2)"
cmp -s "$T/in" "$T/out2" || fail "the retried connection delivered other bytes (reset after msg2)"
grep -q "down rst at 0" "$T/relay_after_msg2.events" || fail "the relay did not reset msg2"
[ "$(retries e_after_msg2)" = 1 ] || fail "retries: $(retries e_after_msg2), expected 1"
[ "$(accepted echo)" -eq 2 ] || fail "the target saw $(accepted echo) connections, expected 2"
pass "reset in place of msg2: one retry, transfer intact, -d reached its target once"

relay_case always up 0
rc=0
"$SPTEST" send "$E" "$T/in" "$T/out3" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "two failed attempts: client exit $rc, expected 10 (reset)"
[ ! -s "$T/out3" ] || fail "two failed attempts: the client received data"
[ "$(grep -c '^conn' "$T/relay_always.events")" -eq 2 ] || fail "expected exactly 2 attempts"
[ "$(retries e_always)" = 1 ] || fail "retries: $(retries e_always), expected 1"
wait_for log_has e_always "handshake_failed"
[ "$(accepted echo)" -eq 2 ] || fail "the target saw a connection from a failed handshake"
pass "reset on every attempt: one retry only, then the client sees a reset"
