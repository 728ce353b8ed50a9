#!/bin/bash
# Goal of this test:
# - SIGTERM closes the listener at once (new clients are refused, and a new
#   instance can bind the same address) while open connections drain to
#   the end with no byte lost; the process then exits and removes its
#   pidfile;
# - a second SIGTERM aborts the open connections (their clients see a reset)
#   and exits at once, saying so;
# - SIGINT does the same as SIGTERM, first and second.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$((2 * 1024 * 1024 / SP_SCALE))
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --rate $((size / 2)) # about 2 s per transfer at any scale
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
# The clean exit's line exactly: "exiting after aborting connections" is
# the other one.
log_has e ": exiting$" || fail "no clean exit line: $(tail -n 2 "$T/e.log")"
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
log_has e_new ": exiting after aborting connections$" || fail "no abort exit line"
pass "second SIGTERM aborts at once"

# SIGINT (Ctrl-C with -F) does the same: the first drains, the second aborts.
e4="[127.0.0.1]:$(port)"
start_daemon e4 -e -s "$e4" -t "$d" -k "$k"
e4pid=$(cat "$T/e4.pid")
"$SPTEST" send "$e4" "$T/in" "$T/out4" & client=$!
wait_for accepted_at_least echo 3
kill -INT "$e4pid"
wait_for log_has e4 "SIGINT: stopped accepting"
alive "$e4pid" || fail "the first SIGINT ended the process with a connection open"
kill -INT "$e4pid"
wait_gone "$e4pid" 3000
rc=0
wait "$client" || rc=$?
[ "$rc" -eq 10 ] || fail "SIGINT abort: client exit $rc, expected 10 (reset)"
log_has e4 "SIGINT again: aborting 1 open connection" || fail "no SIGINT abort line: $(tail -n 3 "$T/e4.log")"
pass "SIGINT: the first drains, the second aborts"

# --drain-timeout: connections still open after it are aborted (reset),
# and the process exits 0 (the limit was asked for).
e3="[127.0.0.1]:$(port)"
start_daemon e3 -e -s "$e3" -t "$d" -k "$k" --drain-timeout 1
"$SPTEST" send "$e3" "$T/in" "$T/out3" & client=$!
wait_for accepted_at_least echo 4
e3pid=$(cat "$T/e3.pid")
start=$(now_ms)
kill -TERM "$e3pid"
rc=0
wait "$client" || rc=$?
ms=$(( $(now_ms) - start ))
[ "$rc" -eq 10 ] || fail "drain timeout: client exit $rc, expected 10 (reset)"
[ "$ms" -ge 900 ] && [ "$ms" -lt $((3000 * SP_SLOW)) ] || fail "aborted after $ms ms, expected about 1000"
wait_gone "$e3pid" 5000
wait_for log_has e3 "drain timeout \(1 s\) reached: aborting 1 open connection"
log_has e3 "exiting$" || fail "a drain timeout should exit normally"
pass "--drain-timeout 1: the transfer still open after 1 s is reset ($ms ms)"
