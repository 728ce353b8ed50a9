#!/bin/bash
# Goal of this test: hostile clients against -d, and real ones at the same
# time.
# - three floods run for several seconds against -d: 1500 connections that
#   send nothing, 500 that send random bytes, and 500 that send one byte
#   per second, each replaced as soon as -d drops it;
# - meanwhile real clients, through -e, make 300 connections (echo checked
#   byte for byte): all of them complete, none waits for the -o timeout (a
#   handshake -d evicted before its msg1 arrived is retried once by -e);
# - handshake slots are capped (--max-handshakes 200 here): -d evicts the
#   oldest, keeps its descriptors bounded, never lets an unauthenticated
#   connection reach the target, and logs the failures rate-limited;
# - afterwards -d is back to its idle state and still serves.
. "$(dirname "$0")/lib.sh"

k=$(key k)
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
hs=200
d_started=$(date +%s)
start_daemon d -d -s "$d" -t "$tgt" -k "$k" --max-handshakes "$hs" -n 0 --status "$T/st.sock"
start_daemon e -e -s "$e" -t "$d" -k "$k" -n 0 --status "$T/e-st.sock"
dpid=$(cat "$T/d.pid")
base_fds=$(fd_count "$dpid")
secs=$((8 / (SP_SCALE > 1 ? 2 : 1)))

start_bg flood_silent "$SPTEST" flood "$d" --conns $((1500 / SP_SCALE)) --mode silent --seconds "$secs"
start_bg flood_garbage "$SPTEST" flood "$d" --conns $((500 / SP_SCALE)) --mode garbage --seconds "$secs"
start_bg flood_slow "$SPTEST" flood "$d" --conns $((500 / SP_SCALE)) --mode slow --seconds "$secs"
# Let the floods fill the handshake slots first.
evicting() { log_has d "evicted|handshake_timeout|handshake_failed"; }
wait_for evicting

# Real clients while the floods run; sample -d's descriptors meanwhile.
max_fds=0
"$SPTEST" load "$e" --count $((300 / SP_SCALE)) --parallel 4 --bytes 2000 > "$T/load.out" 2>&1 & load=$!
while kill -0 "$load" 2>/dev/null; do
    n=$(fd_count "$dpid" 2>/dev/null || echo 0)
    [ "$n" -gt "$max_fds" ] && max_fds=$n
    sleep 0.05
done
wait "$load" || fail "real clients failed during the flood: $(cat "$T/load.out")"
# A real handshake evicted before its msg1 arrived is retried by -e
# (DESIGN.md §3.8); how many were is reported, not asserted: it depends on
# how far the flood gets ahead of -e on this machine.
retried=$("$SPTEST" http "$T/e-st.sock" /metrics | awk '$1 == "sealpipe_handshake_retries_total" {print $2}')
pass "during the flood: $(cat "$T/load.out") real connections ($retried handshakes retried); -d peaked at $max_fds descriptors"
# $hs handshake slots, the real connections (2 fds each) and a few more.
[ "$max_fds" -lt $((base_fds + hs + 2 * 8 + 20)) ] || fail "-d used $max_fds descriptors; handshakes are not capped"
for f in silent garbage slow; do
    pid_var="PID_flood_$f"
    wait "${!pid_var}" || fail "flood $f failed"
    pass "flood $f: $(tail -1 "$T/flood_$f.log")"
done

# Only the real connections reached the target.
[ "$(accepted echo)" -eq $((300 / SP_SCALE)) ] || fail "the target saw $(accepted echo) connections, expected $((300 / SP_SCALE))"
# Rate-limited: far fewer lines than failed connections.
failures=$("$SPTEST" http "$T/st.sock" /metrics | awk '/^sealpipe_connections_ended_total\{reason="(evicted|handshake_failed|handshake_timeout)"\}/ {s += $2} END {print s}')
lines=$(log_count d "evicted|handshake_failed|handshake_timeout")
[ "$failures" -gt 100 ] || fail "only $failures unauthenticated connections failed: was there a flood?"
# The pool was full and really evicted (a grep for "evicted" in the log
# could match nothing and still pass the wait above).
# Under valgrind (SP_SCALE) the flood is smaller than the pool, and a
# smaller pool evicts the slow real clients too: there the eviction is
# reported, and checked by the normal and ASan runs.
evicted=$("$SPTEST" http "$T/st.sock" /metrics | awk '$1 == "sealpipe_connections_ended_total{reason=\"evicted\"}" {print $2}')
[ "${evicted:-0}" -gt 0 ] || [ "$SP_SCALE" -gt 1 ] || fail "no handshake was evicted: the pool never filled"
# SECURITY.md: a burst of 10 lines per 10 s window, then one summary.
windows=$(( ($(date +%s) - d_started) / 10 + 1 ))
[ "$lines" -le $((10 * windows)) ] || fail "$lines log lines for $failures failures in $windows 10-s window(s): more than 10 per window"
wait_for log_has d "more unauthenticated connection failures not logged"
pass "the target saw only the real connections; $failures failures ($evicted evicted), $lines log lines in $windows window(s)"

idle() { [ "$(fd_count "$dpid")" -le "$base_fds" ]; }
wait_for idle
printf 'after\n' > "$T/after"
"$SPTEST" send "$e" "$T/after" "$T/after.out" || fail "-d does not serve after the flood"
pass "-d back to $base_fds descriptors and serving"
