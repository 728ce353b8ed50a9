#!/bin/bash
# Goal of this test:
# - client -> sealpiped -e -> sealpiped -d -> echo server works over TCP on
#   127.0.0.1, over IPv6 [::1], and over Unix sockets;
# - 50 MB go each way at the same time (the echo streams back while the
#   client is still sending) and arrive bit for bit (sha256);
# - both daemons log one "clean" line for the connection.
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$(mb 50)
random_file "$T/in" "$size"
want=$(sha "$T/in")

run_case() {
    local name=$1 e_src=$2 d_src=$3 tgt=$4
    start_echo "echo_$name" "$tgt"
    start_daemon "d_$name" -d -s "$d_src" -t "$tgt" -k "$k"
    start_daemon "e_$name" -e -s "$e_src" -t "$d_src" -k "$k"
    "$SPTEST" send "$e_src" "$T/in" "$T/out_$name" || fail "$name: send failed (exit $?)"
    [ "$(sha "$T/out_$name")" = "$want" ] || fail "$name: echoed data differs"
    wait_for log_has "e_$name" "clean, $size B in, $size B out"
    wait_for log_has "d_$name" "clean, $size B in, $size B out"
    stop_daemon "e_$name"
    stop_daemon "d_$name"
    pass "$name: $size bytes each way"
}

run_case tcp "[127.0.0.1]:$(port)" "[127.0.0.1]:$(port)" "[127.0.0.1]:$(port)"
run_case ipv6 "[::1]:$(port)" "[::1]:$(port)" "[::1]:$(port)"
run_case unix "$T/e.sock" "$T/d.sock" "$T/t.sock"
