#!/bin/bash
# Goal of this test:
# - a relay flips one bit at a chosen offset, in either direction: in the
#   handshake messages, in the CONFIRM record, in the first data record and
#   deep in the stream;
# - every time, the connection is aborted (the client sees a reset) and no
#   corrupted byte is delivered: what the target received and what the
#   client received are both prefixes of the real data;
# - a flip in msg1 never lets the target see a connection. -d drops msg1
#   silently, so -e retries once on a new connection (DESIGN.md §3.8); the
#   relay flips msg1 on every connection in those cases, and -e gives up
#   after exactly two attempts.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$((3 * 1024 * 1024 / SP_SCALE))
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
mkdir "$T/saved"
start_echo echo "$tgt" --save "$T/saved"
start_daemon d -d -s "$d" -t "$tgt" -k "$k"

is_prefix() { # FILE: is FILE a prefix of $T/in?
    local n
    n=$(file_size "$1")
    [ "$n" -le "$size" ] && cmp -s "$1" <(head -c "$n" "$T/in")
}

# (direction, offset, what is hit)
cases=(
    "up 10 msg1-ephemeral"
    "up 60 msg1-payload"
    "down 20 msg2"
    "up 90 confirm-record"
    "up 120 first-data-record"
    "up $((size / 2)) deep-upstream"
    "down $((size / 2)) deep-downstream"
)
for c in "${cases[@]}"; do
    read -r dir at what <<< "$c"
    r="[127.0.0.1]:$(port)"
    e="[127.0.0.1]:$(port)"
    before=$(accepted echo)
    conn=1
    case $what in msg1-*) conn=0 ;; esac # every attempt, not only the first
    start_relay "relay_$what" "$r" "$d" --dir "$dir" --flip-at "$at" --conn "$conn"
    start_daemon "e_$what" -e -s "$e" -t "$r" -k "$k"
    rc=0
    "$SPTEST" send "$e" "$T/in" "$T/out_$what" 2>/dev/null || rc=$?
    [ "$rc" -eq 10 ] || fail "$what: client exit $rc, expected 10 (reset)"
    grep -q "flipped byte $at" "$T/relay_$what.events" || fail "$what: relay did not flip"
    is_prefix "$T/out_$what" || fail "$what: the client received a corrupted byte"
    for f in "$T"/saved/conn-*; do
        [ -e "$f" ] || continue
        is_prefix "$f" || fail "$what: the target received a corrupted byte ($f)"
    done
    case $what in msg1-*)
        [ "$(accepted echo)" -eq "$before" ] || fail "$what: the target saw a connection"
        attempts=$(grep -c '^conn' "$T/relay_$what.events")
        [ "$attempts" -eq 2 ] || fail "$what: $attempts attempts, expected 2 (one retry)" ;;
    esac
    pass "$what ($dir byte $at): aborted, nothing corrupted delivered"
done
wait_for log_has d "record authentication failed"
