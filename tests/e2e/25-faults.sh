#!/bin/bash
# Goal of this test: faults around the tunnel.
# - the target is down: the client is reset at once, sealpipe exits 7 and
#   says the target is unreachable; -d logs connect_failed;
# - the target stops reading while 200 MB are pushed: backpressure holds
#   both daemons' memory bounded (RSS sampled throughout), and everything
#   arrives once it reads again;
# - the peer is killed with kill -9 mid-transfer (either daemon): the other
#   daemon sees truncation and resets its plaintext side; nothing hangs;
# - the descriptor limit is hit (ulimit -n 40): the daemon keeps running,
#   logs it, and serves again once descriptors are free.
. "$(dirname "$0")/lib.sh"
: "${SEALPIPE:?}"

k=$(key k)
printf 'ping\n' > "$T/line"

# Target down.
closed="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_daemon d -d -s "$d" -t "$closed" -k "$k"
start_daemon e -e -s "$e" -t "$d" -k "$k"
rc=0
"$SPTEST" send "$e" "$T/line" "$T/o1" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "target down: client exit $rc, expected 10 (reset)"
wait_for log_has d "connect_failed: cannot reach the target: Connection refused"
wait_for log_has e "peer_reset: peer aborted: its target is unreachable"
rc=0
"$SEALPIPE" -t "$d" -k "$k" < "$T/line" > /dev/null 2> "$T/client.err" || rc=$?
[ "$rc" -eq 7 ] || fail "sealpipe with the target down: exit $rc"
grep -q "reset by the sealpiped -d: its target is unreachable" "$T/client.err" || fail "message: $(cat "$T/client.err")"
pass "target down: reset, logged on both sides, sealpipe exit 7 '$(cat "$T/client.err")'"

# A target that stops reading for 6 s while we push 200 MB.
slow="[127.0.0.1]:$(port)"
d2="[127.0.0.1]:$(port)"
e2="[127.0.0.1]:$(port)"
start_echo stall "$slow" --sink --stall-ms $((6000 * SP_SLOW))
start_daemon d2 -d -s "$d2" -t "$slow" -k "$k"
start_daemon e2 -e -s "$e2" -t "$d2" -k "$k"
rss() { rss_kib "$1"; }
d2pid=$(cat "$T/d2.pid"); e2pid=$(cat "$T/e2.pid")
base=$(( $(rss "$d2pid") + $(rss "$e2pid") ))
random_file "$T/big" "$(mb 200)"
"$SPTEST" send "$e2" "$T/big" "$T/o2" & c=$!
peak=$base
while kill -0 "$c" 2>/dev/null; do
    now=$(( $(rss "$d2pid") + $(rss "$e2pid") ))
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.05
done
wait "$c" || fail "the transfer to a slow target failed"
grep -q "^stall" "$T/stall.events" || fail "the target never stalled"
wait_for grep -Eq "^eof [0-9]+ $(mb 200) clean" "$T/stall.events"
growth=$(( peak - base ))
# Each direction holds at most one 64 KiB buffer; allow generous slack for
# the pool and libc, but nowhere near the 200 MB pushed. ASan keeps freed
# memory in quarantine, and valgrind's RSS includes its shadow memory (6.8
# MiB was seen there, too close to 8 MiB), so under either the figure is
# looser but still far below 200 MB.
limit=8192
[ -n "${SP_SANITIZED:-}${SP_WRAPPED:-}" ] && limit=65536
[ "$growth" -lt "$limit" ] || fail "RSS grew by $growth KiB with a stalled target: backpressure is not bounding memory"
pass "stalled target: 200 MB delivered after the stall; RSS of both daemons grew by $growth KiB at most"

# kill -9 of -d in the middle of a transfer.
tgt="[127.0.0.1]:$(port)"
d3="[127.0.0.1]:$(port)"
e3="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --rate $(( $(mb 8) / 2 )) # about 2 s per transfer
start_daemon d3 -d -s "$d3" -t "$tgt" -k "$k"
start_daemon e3 -e -s "$e3" -t "$d3" -k "$k"
random_file "$T/mid" "$(mb 8)"
"$SPTEST" send "$e3" "$T/mid" "$T/o3" 2>/dev/null & c=$!
wait_for accepted_at_least echo 1
kill -9 "$(cat "$T/d3.pid")"
rc=0
wait "$c" || rc=$?
[ "$rc" -eq 10 ] || fail "kill -9 of -d: client exit $rc, expected 10 (reset)"
wait_for log_has e3 "truncated: encrypted connection ended without CLOSE"
pass "kill -9 of -d mid-transfer: -e saw truncation, the client a reset"

# kill -9 of -e in the middle of a transfer: the target sees a reset.
start_daemon d4 -d -s "$d3" -t "$tgt" -k "$k"
e4="[127.0.0.1]:$(port)"
start_daemon e4 -e -s "$e4" -t "$d3" -k "$k"
: > "$T/echo.events"
"$SPTEST" send "$e4" "$T/mid" "$T/o4" 2>/dev/null & c=$!
wait_for accepted_at_least echo 1
kill -9 "$(cat "$T/e4.pid")"
wait "$c" || true
wait_for log_has d4 "truncated: encrypted connection ended without CLOSE"
wait_for grep -Eq "^(eof [0-9]+ [0-9]+ Connection reset by peer|write-failed)" "$T/echo.events"
grep -Eq "^eof [0-9]+ [0-9]+ clean" "$T/echo.events" && fail "the target saw a clean EOF after -e died"
pass "kill -9 of -e mid-transfer: -d saw truncation, the target a reset"

# The descriptor limit.
tgt5="[127.0.0.1]:$(port)"
start_echo echo5 "$tgt5"
d5="[127.0.0.1]:$(port)"
start_daemon d5 -d -s "$d5" -t "$tgt5" -k "$k" -n 0
e5="[127.0.0.1]:$(port)"
(ulimit -n 40 && exec "$SEALPIPED" -e -s "$e5" -t "$d5" -k "$k" -n 0 -p "$T/e5.pid") 2>> "$T/e5.log" \
    || fail "could not start -e with ulimit -n 40"
DAEMON_PIDFILES+=("$T/e5.pid")
e5pid=$(cat "$T/e5.pid")
# 40 clients at once, each held 500 ms: more than 40 descriptors' worth.
"$SPTEST" load "$e5" --count 40 --parallel 40 --bytes 100 --hold-ms 500 > "$T/load5.out" 2>&1 || true
wait_for log_has e5 "cannot accept connections: Too many open files|resource_error"
kill -0 "$e5pid" || fail "-e died when it ran out of descriptors"
# Recovery: once the burst is over, connections work again.
"$SPTEST" send "$e5" "$T/line" "$T/o5" || fail "-e did not recover after running out of descriptors"
cmp -s "$T/line" "$T/o5" || fail "after recovery: reply differs"
pass "ulimit -n 40: $(cat "$T/load5.out"); logged, still running, serving again"
