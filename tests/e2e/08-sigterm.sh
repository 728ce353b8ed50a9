#!/bin/bash
# Goal of this test:
# - SIGTERM closes the listener at once (new clients are refused, and a new
#   instance can bind the same address) while open connections drain to
#   the end with no byte lost; the process then exits and removes its
#   pidfile;
# - a second SIGTERM aborts the open connections (their clients see a reset)
#   and exits at once.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$((2 * 1024 * 1024 / SP_SCALE))
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --rate 1000000
start_daemon d -d -s "$d" -t "$tgt" -k "$k"
start_daemon e -e -s "$e" -t "$d" -k "$k"
epid=$(cat "$T/e.pid")

# A transfer that takes about 2 s.
"$SPTEST" send "$e" "$T/in" "$T/out" & client=$!
wait_for grep -q '^accept' "$T/echo.events"
kill -TERM "$epid"
wait_for log_has e "SIGTERM: stopped accepting"
rc=0
"$SPTEST" send "$e" "$T/in" "$T/refused" 2>/dev/null || rc=$?
[ "$rc" -eq 11 ] || fail "a new client was not refused during the drain (exit $rc)"
# A new instance can take over the address while the old one drains.
start_daemon e_new -e -s "$e" -t "$d" -k "$k"
kill -0 "$epid" || fail "the old instance exited before its connection finished"
wait "$client" || fail "the draining transfer failed"
[ "$(sha "$T/out")" = "$(sha "$T/in")" ] || fail "bytes lost during the drain"
wait_gone "$epid"
[ ! -e "$T/e.pid" ] || fail "pidfile left behind"
log_has e "exiting" || fail "no exit line"
pass "SIGTERM: listener closed at once, drain completed, pidfile removed"

# Second signal: abort.
"$SPTEST" send "$e" "$T/in" "$T/out2" & client=$!
wait_for accepted_at_least echo 2
npid=$(cat "$T/e_new.pid")
kill -TERM "$npid"
wait_for log_has e_new "SIGTERM: stopped accepting"
kill -TERM "$npid"
wait_gone "$npid" 3000
rc=0
wait "$client" || rc=$?
[ "$rc" -eq 10 ] || fail "aborted client exit $rc, expected 10 (reset)"
log_has e_new "SIGTERM again: aborting 1 open connection" || fail "no abort line"
pass "second SIGTERM aborts at once"
