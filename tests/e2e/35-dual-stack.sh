#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Goal of this test: a listener on "[::]:P" takes IPv4 connections as well,
# whatever the system's default (IPV6_V6ONLY is set off explicitly: Linux
# defaults to dual-stack, FreeBSD to IPv6 only). It runs in a private
# network namespace whose default is IPv6 only (net.ipv6.bindv6only=1,
# FreeBSD's behaviour), and checks that:
# - sealpiped -d -s '[::]:P' carries data from an -e that reaches it at
#   127.0.0.1:P and from one that reaches it at [::1]:P;
# - --status '[::]:Q' answers /health at 127.0.0.1:Q.
: "${SRCDIR:?}"
if [ -z "${SP_DUAL_STACK_NS:-}" ]; then
    [ "$(uname -s)" = Linux ] || { echo "SKIP: needs Linux (namespaces)"; exit 77; }
    if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2> /dev/null; then
        echo "SKIP: needs root and unshare -n (a private network namespace)"
        exit 77
    fi
    SP_DUAL_STACK_NS=1 exec unshare -n bash "$0" "$@"
fi
. "$SRCDIR/tests/e2e/lib.sh"

ip link set lo up
sysctl -qw net.ipv6.bindv6only=1 || fail "cannot make IPv6 sockets IPv6-only by default here"
k=$(key x.key)
echo_addr="[127.0.0.1]:$(port)"
dport=$(port)
sport=$(port)
start_echo echo "$echo_addr"
start_daemon d -d -s "[::]:$dport" -t "$echo_addr" -k "$k" --status "[::]:$sport" --status-unsafe
e4="[127.0.0.1]:$(port)"
e6="[127.0.0.1]:$(port)"
start_daemon e4 -e -s "$e4" -t "[127.0.0.1]:$dport" -k "$k"
start_daemon e6 -e -s "$e6" -t "[::1]:$dport" -k "$k"
random_file "$T/in" 100000
for via in "$e4" "$e6"; do
    "$SPTEST" send "$via" "$T/in" "$T/out" || fail "through $via: send failed (exit $?)"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ] || fail "through $via: data differs"
done
pass "-s '[::]:P' takes IPv4 and IPv6 where IPv6 sockets are IPv6-only by default"

out=$("$SPTEST" http "[127.0.0.1]:$sport" /health 2>&1) \
    || fail "--status '[::]:Q' did not answer over IPv4: $out"
case $out in "200"*) ;; *) fail "health over IPv4: $out" ;; esac
pass "--status '[::]:Q' answers over IPv4 too"
