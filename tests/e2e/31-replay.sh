#!/bin/bash
# Goal of this test: recorded handshakes cannot lock real clients out, and
# cost -d nothing once they are older than --clock-window (issue 12 item 2).
# - An eavesdropper records the first message (msg1) of 12 real
#   connections.
# - Replayed to the same -d at once: each is refused by the replay cache
#   (replayed_handshake), silently: not one byte comes back.
# - -d restarts with -n 2 (its replay cache is empty, the recordings are
#   still inside the window): the replays authenticate, get a msg2, and are
#   held open, a few at a time, without end. Real clients all get through
#   meanwhile, because a peer that has not sent CONFIRM never holds one of
#   the -n slots. Each replay ends at -o as a silent reset: msg2 and nothing
#   more, no RESET record (DESIGN.md §3.7).
# - -d restarts with --clock-window 1 once the recordings are older than
#   that: each replay is refused before any Diffie-Hellman work (no msg2
#   comes back) with one log line saying how far behind its clock is, and
#   the failures are rate-limited.
# - An -e whose clock is 300 s ahead (faketime) fails with "clock skew?",
#   and -d says by how much.
# - A port probe (connect, send nothing, close) is logged as
#   closed_before_handshake, not as a failed authentication (item 11).
. "$(dirname "$0")/lib.sh"

k=$(key k)
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
r="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
N=12
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" --status "$T/d.sock"
start_relay rec "$r" "$d" --dir up --conn 0 --record "$T/rec-%N"
start_daemon e -e -s "$e" -t "$r" -k "$k"
"$SPTEST" load "$e" --count "$N" --parallel 1 --bytes 1000 > "$T/load0.out" 2>&1 ||
    fail "recording: $(cat "$T/load0.out")"
recorded=$(date +%s)
# Keep msg1 alone (u16 length || body): a replay holds its connection open
# as long as -d lets an unconfirmed peer wait.
for i in $(seq 1 "$N"); do
    [ -s "$T/rec-$i" ] || fail "connection $i was not recorded"
    len=$(od -An -tu1 -N2 "$T/rec-$i" | awk '{print $1 * 256 + $2 + 2}')
    head -c "$len" "$T/rec-$i" > "$T/msg1-$i"
done
stop_daemon e
metric() { "$SPTEST" http "$T/d.sock" /metrics | awk -v m="$1" '$1 == m {print $2}'; }
reason() { metric "sealpipe_connections_ended_total{reason=\"$1\"}"; }
before=$(accepted echo)

# 1. The same process: the replay cache refuses each one, silently.
for i in 1 2 3; do
    out=$("$SPTEST" replay "$d" "$T/msg1-$i" --wait-ms $((3000 * SP_SLOW)))
    case "$out" in
    *"received 0 end "[er]*) ;;
    *) fail "replay $i to the recording -d: $out (expected no answer)" ;;
    esac
done
wait_for log_has d "replayed_handshake: this first message was seen before: a recorded handshake replayed, or a client's own message that something on the path delivered first"
pass "replayed at once: refused by the replay cache, nothing sent back, and -d says what it knows"

# 2. A restarted -d with -n 2, replays held open without end.
stop_daemon d
o=$((2 * SP_SLOW))
start_daemon d -d -s "$d" -t "$tgt" -k "$k" -n 2 -o "$o" --status "$T/d.sock"
replayer() { # one loop of replays, forever; each holds its connection until -d ends it
    local i
    while :; do
        for i in $(seq "$1" 3 "$N"); do
            "$SPTEST" replay "$d" "$T/msg1-$i" --wait-ms $((10000 * SP_SLOW)) >> "$T/replays.out"
        done
    done
}
start_bg replay_a replayer 1
start_bg replay_b replayer 2
start_bg replay_c replayer 3
held() { [ "$(metric sealpipe_handshakes_in_progress)" -ge 2 ]; }
wait_for held
e2="[127.0.0.1]:$(port)"
start_daemon e2 -e -s "$e2" -t "$d" -k "$k" -n 0
"$SPTEST" load "$e2" --count 20 --parallel 2 --bytes 2000 > "$T/load1.out" 2>&1 ||
    fail "real clients locked out by replayed handshakes: $(cat "$T/load1.out")"
[ "$(accepted echo)" -eq $((before + 20)) ] ||
    fail "the target saw $(($(accepted echo) - before)) connections, expected the 20 real ones"
wait_for lines_at_least "$T/replays.out" "^sent" 3
kill "$PID_replay_a" "$PID_replay_b" "$PID_replay_c" 2>/dev/null
# Each replay got msg2 (67 bytes) and then a silent reset at -o: never an
# encrypted RESET (which would be 20 more bytes).
msg2=67
bad=$(awk -v m="$msg2" '$1 == "sent" && !($4 == m && $6 == "reset")' "$T/replays.out" | head -3)
[ -z "$bad" ] || fail "a replay was answered with more than msg2 and a reset: $bad"
[ "$(reason handshake_timeout)" -ge 3 ] || fail "the replays did not end at -o: $(reason handshake_timeout) handshake timeouts"
pass "-n 2 with replays held open: $(cat "$T/load1.out") real connections; replays got msg2, then a silent reset at -o"

# 3. Outside the window: refused before any DH, one line each, rate-limited.
stop_daemon d
start_daemon d -d -s "$d" -t "$tgt" -k "$k" -n 2 --clock-window 1 --status "$T/d.sock"
stale() { [ $(($(date +%s) - recorded)) -ge 3 ]; }
wait_for stale
for i in $(seq 1 "$N"); do
    out=$("$SPTEST" replay "$d" "$T/msg1-$i" --wait-ms $((3000 * SP_SLOW)))
    case "$out" in
    *"received 0 end "[er]*) ;;
    *) fail "stale replay $i: $out (expected no answer: no DH, no msg2)" ;;
    esac
done
wait_for log_has d "handshake_failed: clock skew: the peer's clock is [0-9]+ s behind this one's"
lines=$(log_count d "clock skew")
[ "$lines" -le 10 ] || fail "$lines clock-skew lines for $N replays: not rate-limited"
[ "$(metric sealpipe_replay_cache_entries)" = 0 ] || fail "a stale msg1 entered the replay cache"
pass "older than --clock-window: $N replays refused without an answer, $lines log lines"

# 4. A peer whose clock is wrong, against a fresh -d (the last one's log
# is rate-limited by now) with the default window of 120 s.
stop_daemon d
start_daemon d -d -s "$d" -t "$tgt" -k "$k"
# libfaketime, preloaded directly (the faketime wrapper waits for a child
# that daemonizes); the monotonic clock is left alone.
fake=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2> /dev/null | head -1)
if [ -n "$fake" ]; then
    e3="[127.0.0.1]:$(port)"
    # (ASan wants its runtime first among the libraries: let it be second.)
    SP_WRAP="env LD_PRELOAD=$fake FAKETIME=+300s FAKETIME_DONT_FAKE_MONOTONIC=1
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 $SP_WRAP" \
        start_daemon e3 -e -s "$e3" -t "$d" -k "$k"
    rc=0
    "$SPTEST" send "$e3" "$T/msg1-1" "$T/skew.out" 2> /dev/null || rc=$?
    [ "$rc" -ne 0 ] || fail "a client behind an -e 300 s ahead got through"
    wait_for log_has e3 "handshake_failed: the -d side closed without answering: wrong key, or clock skew\?.*Or it had seen this first message already ..replayed_handshake. in its log"
    wait_for log_has d "clock skew: the peer's clock is (29[0-9]|30[0-9]) s ahead of this one's"
    pass "an -e 300 s ahead: '$(grep -o 'clock skew: the peer.s clock is [0-9]* s ahead' "$T/d.log" | head -1)' on -d, 'clock skew?' on -e"
else
    skip_part "libfaketime is not installed (scripts/install-deps test)"
fi

# 5. A port probe is not an attack.
"$SPTEST" replay "$d" /dev/null --wait-ms 100 > /dev/null
wait_for log_has d "closed_before_handshake"
! grep -E "closed_before_handshake" "$T/d.log" | grep -q "warning:" || fail "a port probe is logged as a warning"
pass "a port probe: $(grep -o 'closed_before_handshake.*' "$T/d.log" | head -1)"
