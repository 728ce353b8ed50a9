#!/bin/bash
# Goal of this test:
# - --threads 2: several event loops share one listener; 4 parallel bulk
#   streams and 500 short connections all arrive intact, and both loops
#   served some of them (sealpipe_worker_connections_total), on -e and -d;
# - the -n limit holds across threads (no more than N established);
# - SIGTERM drains connections on every thread, then exits.
. "$(dirname "$0")/lib.sh"

k=$(key k)
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" --threads 2 -n 0 --status "$T/d.sock"
start_daemon e -e -s "$e" -t "$d" -k "$k" --threads 2 -n 0 --status "$T/e.sock"
size=$(mb 16)
for i in 1 2 3 4; do
    random_file "$T/in$i" "$size"
    "$SPTEST" send "$e" "$T/in$i" "$T/out$i" & pids[$i]=$!
done
for i in 1 2 3 4; do
    wait "${pids[$i]}" || fail "stream $i failed"
    cmp -s "$T/in$i" "$T/out$i" || fail "stream $i differs"
done
pass "4 parallel streams of $size bytes through 2 threads each"
out=$("$SPTEST" load "$e" --count $((500 / SP_SCALE)) --parallel 50 --bytes 1000) || fail "load: $out"
pass "short connections: $out"
# Each event loop really served connections: the per-worker counters.
for side in d e; do
    "$SPTEST" http "$T/$side.sock" /metrics > "$T/$side.metrics" || fail "$side: no metrics"
    w0=$(awk '$1 == "sealpipe_worker_connections_total{worker=\"0\"}" {print $2}' "$T/$side.metrics")
    w1=$(awk '$1 == "sealpipe_worker_connections_total{worker=\"1\"}" {print $2}' "$T/$side.metrics")
    [ -n "$w0" ] && [ -n "$w1" ] || fail "$side: no per-worker counters: $(grep worker "$T/$side.metrics")"
    [ "$w0" -gt 0 ] && [ "$w1" -gt 0 ] || fail "-$side --threads 2: connections per worker $w0 and $w1; one loop did all the work"
    grep -q 'worker="2"' "$T/$side.metrics" && fail "$side: a third worker with --threads 2"
    pass "-$side: worker 0 started $w0 connections, worker 1 $w1"
done

# -n 3 across 2 threads: 6 held clients, never more than 3 at the target.
e3="[127.0.0.1]:$(port)"
start_daemon e3 -e -s "$e3" -t "$d" -k "$k" --threads 2 -n 3
printf 'x\n' > "$T/x"
: > "$T/echo.events"
for i in 1 2 3 4 5 6; do
    "$SPTEST" send "$e3" "$T/x" "$T/h$i" --hold-ms 1000 & h[$i]=$!
done
for i in 1 2 3 4 5 6; do wait "${h[$i]}" || fail "held client $i failed"; done
# Replay the events: the number of open connections at the target.
max=$(awk '/^accept/ {n++; if (n > m) m = n} /^eof/ {n--} END {print m}' "$T/echo.events")
[ "$max" -le 3 ] || fail "$max connections at once with -n 3"
pass "-n 3 holds across 2 threads (at most $max at once)"

# --max-handshakes 10 across 2 threads: a silent flood never holds more
# than 10 handshakes at once (each thread keeps 5), real clients still pass.
d10="[127.0.0.1]:$(port)"
start_daemon d10 -d -s "$d10" -t "$tgt" -k "$k" --threads 2 --max-handshakes 10 -n 0 \
    --status "$T/d10.sock"
start_bg flood "$SPTEST" flood "$d10" --conns 100 --mode silent --seconds 4
hs_max=0
in_progress() {
    "$SPTEST" http "$T/d10.sock" /metrics | awk '/^sealpipe_handshakes_in_progress / {print $2}'
}
flooding() { [ "$(in_progress)" -ge 4 ]; }
wait_for flooding
while kill -0 "$PID_flood" 2>/dev/null; do
    n=$(in_progress)
    [ "$n" -gt "$hs_max" ] && hs_max=$n
    [ "$n" -le 10 ] || fail "$n handshakes in progress with --max-handshakes 10"
done
wait "$PID_flood" || fail "flood failed"
ok() { "$SPTEST" send "$e10" "$T/x" "$T/x10"; }
e10="[127.0.0.1]:$(port)"
start_daemon e10 -e -s "$e10" -t "$d10" -k "$k"
ok || fail "-d with 2 threads does not serve after the flood"
pass "--max-handshakes 10 holds across 2 threads (at most $hs_max at once)"

"$SPTEST" send "$e" "$T/in1" "$T/drain" & c=$!
wait_for accepted_at_least echo 8
stop_daemon e
wait "$c" || fail "drain with threads lost the connection"
cmp -s "$T/in1" "$T/drain" || fail "drain with threads: bytes differ"
log_has e ": exiting$" || fail "no clean exit line"
pass "SIGTERM drains all threads"
