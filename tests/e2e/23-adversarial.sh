#!/bin/bash
# Goal of this test: a man in the middle between -e and -d (sptest relay)
# attacks one connection at a time, in either direction:
# - drops, duplicates or reorders a record, injects 64 bytes of garbage, or
#   resets both connections (RST) mid-stream;
# - every time the connection is aborted and the client sees a reset, never
#   a clean end; no corrupted, replayed or out-of-order byte reaches the
#   target or the client (what each received is a prefix of the real data);
# - the side that detected it logs one clear line for that connection;
# - stalling the -e to -d direction is detected by heartbeats on -d;
# - a recorded session replayed later to -d never opens a connection to
#   the target: at once it is refused by the replay cache, and after a
#   restart (empty cache) by key confirmation;
# - the daemons keep serving other connections throughout.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$((2 * 1024 * 1024 / SP_SCALE))
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
mkdir "$T/saved"
start_echo echo "$tgt" --save "$T/saved"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" --heartbeat 1
e_ok="[127.0.0.1]:$(port)"
start_daemon eok -e -s "$e_ok" -t "$d" -k "$k"

is_prefix() {
    local n
    n=$(file_size "$1")
    [ "$n" -le "$size" ] && cmp -s "$1" <(head -c "$n" "$T/in")
}
check_saved() {
    local f
    for f in "$T"/saved/conn-*; do
        [ -e "$f" ] || continue
        is_prefix "$f" || fail "$1: the target received a corrupted or replayed byte ($f)"
    done
}
still_serving() {
    "$SPTEST" send "$e_ok" "$T/in" "$T/ok.out" || fail "$1: the daemons stopped serving"
    cmp -s "$T/in" "$T/ok.out" || fail "$1: a normal connection was damaged"
}

# name | relay arguments | daemon that detects it | its log line
cases=(
    "drop-up|--dir up --drop-record 2|d|protocol_error: record authentication failed"
    "dup-up|--dir up --dup-record 2|d|protocol_error: record authentication failed"
    "reorder-up|--dir up --swap-record 2|d|protocol_error: record authentication failed"
    "drop-down|--dir down --drop-record 1|e|protocol_error: record authentication failed"
    "dup-down|--dir down --dup-record 1|e|protocol_error: record authentication failed"
    "reorder-down|--dir down --swap-record 1|e|protocol_error: record authentication failed"
    "garbage-up|--dir up --garbage-at 50000|d|protocol_error: record (authentication failed|length out of range)"
    "garbage-down|--dir down --garbage-at 50000|e|protocol_error: record (authentication failed|length out of range)"
    "rst-up|--dir up --rst-at 50000|e|truncated: encrypted connection ended without CLOSE"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name args who pattern <<< "$c"
    r="[127.0.0.1]:$(port)"
    e="[127.0.0.1]:$(port)"
    # shellcheck disable=SC2086 # $args is a list of relay options
    start_relay "relay_$name" "$r" "$d" $args
    start_daemon "e_$name" -e -s "$e" -t "$r" -k "$k" --heartbeat 1
    log=$([ "$who" = d ] && echo d || echo "e_$name")
    before=$(log_count "$log" "$pattern")
    rc=0
    "$SPTEST" send "$e" "$T/in" "$T/out_$name" 2>/dev/null || rc=$?
    [ "$rc" -eq 10 ] || fail "$name: client exit $rc, expected 10 (a reset)"
    is_prefix "$T/out_$name" || fail "$name: the client received a corrupted byte"
    check_saved "$name"
    [ -s "$T/relay_$name.events" ] && grep -Eq "dropped|duplicated|swapped|injected|rst at" "$T/relay_$name.events" \
        || fail "$name: the relay did not act: $(cat "$T/relay_$name.events")"
    wait_for lines_at_least "$T/$log.log" "$pattern" $((before + 1))
    [ "$(log_count "$log" "$pattern")" -eq $((before + 1)) ] || fail "$name: more than one line logged"
    still_serving "$name"
    pass "$name: aborted, nothing bad delivered, one line on -$who: $(grep -E -- "$pattern" "$T/$log.log" | tail -1 | sed 's/.*: conn/conn/')"
done

# A stall from -e to -d after the handshake: -d hears nothing (its own
# heartbeat PINGs to -e still get through) and declares -e dead.
r="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_relay relay_stall "$r" "$d" --dir up --stall-at 200
start_daemon e_stall -e -s "$e" -t "$r" -k "$k" --heartbeat 1
rc=0
"$SPTEST" send "$e" "$T/in" "$T/out_stall" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "stall-up: client exit $rc, expected 10"
wait_for log_has d "heartbeat_timeout"
check_saved stall
still_serving stall
pass "stall-up: -d declared the silent peer dead (heartbeat_timeout), client reset"

# Replay: record a whole session from -e to -d, then send it to -d again.
r="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_relay relay_rec "$r" "$d" --record "$T/session.bin"
start_daemon e_rec -e -s "$e" -t "$r" -k "$k"
"$SPTEST" send "$e" "$T/in" "$T/out_rec" || fail "recorded session failed"
wait_for test -s "$T/session.bin"
before=$(accepted echo)
out=$("$SPTEST" replay "$d" "$T/session.bin" --wait-ms 2000)
[ "$(accepted echo)" -eq "$before" ] || fail "replayed session reached the target"
case $out in *"received 0 "*) ;; *) fail "replay got an answer: $out" ;; esac
wait_for log_has d "replayed_handshake"
pass "replayed session, same -d: refused by the replay cache; target untouched ($out)"

# After a restart the cache is empty: key confirmation stops it.
stop_daemon d
start_daemon d2 -d -s "$d" -t "$tgt" -k "$k"
out=$("$SPTEST" replay "$d" "$T/session.bin" --wait-ms 2000)
[ "$(accepted echo)" -eq "$before" ] || fail "replayed session reached the target after a restart"
wait_for log_has d2 "protocol_error: record authentication failed"
pass "replayed session after a restart: msg2 sent, CONFIRM fails, target untouched ($out)"
