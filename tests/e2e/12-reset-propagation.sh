#!/bin/bash
# Goal of this test:
# - the target resets its connection mid-stream: -d sends RESET, and -e
#   resets its client, which sees a reset, never a clean EOF;
# - the client resets its connection: -e sends RESET, and the target sees a
#   reset, never a clean EOF;
# - both sides log what happened, naming the side that reset.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$(mb 2)
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --reset-after $((size / 4))
start_daemon d -d -s "$d" -t "$tgt" -k "$k"
start_daemon e -e -s "$e" -t "$d" -k "$k"
rc=0
"$SPTEST" send "$e" "$T/in" "$T/o1" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "target reset: client exit $rc, expected 10"
wait_for log_has d "plaintext_reset: target connection reset"
wait_for log_has e "peer_reset: peer aborted: its plaintext side was reset"
pass "target reset reaches the client as a reset"

tgt2="[127.0.0.1]:$(port)"
d2="[127.0.0.1]:$(port)"
e2="[127.0.0.1]:$(port)"
start_echo sink "$tgt2" --sink
start_daemon d2 -d -s "$d2" -t "$tgt2" -k "$k"
start_daemon e2 -e -s "$e2" -t "$d2" -k "$k"
"$SPTEST" send "$e2" "$T/in" "$T/o2" --reset-after $((size / 2)) || fail "resetting client failed"
wait_for grep -Eq "^eof [0-9]+ [0-9]+ Connection reset by peer" "$T/sink.events"
grep -Eq "^eof [0-9]+ [0-9]+ clean" "$T/sink.events" && fail "the target saw a clean EOF"
wait_for log_has e2 "plaintext_reset: client connection reset"
wait_for log_has d2 "peer_reset: peer aborted: its plaintext side was reset"
pass "client reset reaches the target as a reset"
