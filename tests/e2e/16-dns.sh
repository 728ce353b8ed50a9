#!/bin/bash
# Goal of this test (run in a private mount namespace with its own
# /etc/hosts, which the test edits; skipped where unshare is not allowed):
# - -r: when the target's name moves to another address, new connections
#   follow within the re-resolution interval, without blocking the event
#   loop and without disturbing connections already open;
# - a failed lookup keeps the last good addresses;
# - -D: started while the names do not resolve yet, sealpiped daemonizes at
#   once, retries every second, and starts serving once they do.
. "$(dirname "$0")/lib.sh"
require_linux "mount namespaces (a private /etc/hosts)"

if [ -z "${SP_IN_NS:-}" ]; then
    if ! unshare -m true 2>/dev/null; then
        echo "needs unshare -m (a private /etc/hosts); not allowed here" >&2
        exit 77
    fi
    # Run this same script again inside a new mount namespace.
    export SP_IN_NS=1
    exec unshare -m bash "$0"
fi
cp /etc/hosts "$T/hosts"
mount --bind "$T/hosts" /etc/hosts
set_host() { # NAME ADDRESS: rewrite in place (same inode, seen through the bind mount)
    { grep -v " $1\$" "$T/hosts"; echo "$2 $1"; } > "$T/hosts.new"
    cat "$T/hosts.new" > "$T/hosts"
}

k=$(key k)
printf 'which\n' > "$T/line"
p1=$(port)
# Two targets on different loopback addresses, same port.
start_echo one "[127.0.0.1]:$p1"
start_echo two "[127.0.0.3]:$p1"
set_host sp-target.test 127.0.0.1
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_daemon d -d -s "$d" -t "sp-target.test:$p1" -k "$k" -r 1
start_daemon e -e -s "$e" -t "$d" -k "$k"

"$SPTEST" send "$e" "$T/line" "$T/o1" || fail "first connection failed"
[ "$(accepted one)" -eq 1 ] && [ "$(accepted two)" -eq 0 ] || fail "first connection went to the wrong target"
"$SPTEST" send "$e" "$T/line" "$T/held" --hold-ms 3000 & held=$!
# The held connection must have reached the old address before the name
# moves (under valgrind it can take longer than the re-resolution).
wait_for accepted_at_least one 2

set_host sp-target.test 127.0.0.3
wait_for log_has d "target sp-target.test:$p1 now resolves to \[127.0.0.3\]"
"$SPTEST" send "$e" "$T/line" "$T/o2" || fail "connection after the move failed"
[ "$(accepted two)" -eq 1 ] || fail "new connections did not follow the name"
wait "$held" || fail "the connection open during the change was disturbed"
cmp -s "$T/line" "$T/held" || fail "held connection: reply differs"
pass "-r 1: new connections follow the name; open ones are untouched"

# A failed lookup keeps the last good address.
{ grep -v " sp-target.test\$" "$T/hosts"; } > "$T/hosts.new"; cat "$T/hosts.new" > "$T/hosts"
wait_for log_has d "cannot resolve 'sp-target.test:$p1'.*keeping the previous addresses"
"$SPTEST" send "$e" "$T/line" "$T/o3" || fail "connection during a failed lookup failed"
[ "$(accepted two)" -eq 2 ] || fail "the last good address was not kept"
pass "a failed lookup keeps the last good address"

# -D: names that do not resolve yet.
d2="sp-d.test:$(port)"
dp=${d2##*:}
start=$(now_ms)
"$SEALPIPED" -D -d -s "$d2" -t "sp-later.test:$p1" -k "$k" -p "$T/d2.pid" 2>> "$T/d2.log" \
    || fail "-D launcher failed"
ms=$(( $(now_ms) - start ))
[ "$ms" -lt $((1000 * SP_SLOW)) ] || fail "-D launcher waited $ms ms; it should return at once"
DAEMON_PIDFILES+=("$T/d2.pid")
wait_for log_has d2 "retrying every second \(-D\)"
set_host sp-d.test 127.0.0.1
set_host sp-later.test 127.0.0.3
wait_for log_has d2 "listening on \[127.0.0.1\]:$dp"
e2="[127.0.0.1]:$(port)"
start_daemon e2 -e -s "$e2" -t "[127.0.0.1]:$dp" -k "$k"
"$SPTEST" send "$e2" "$T/line" "$T/o4" || fail "-D daemon does not serve"
pass "-D: daemonized at once, served once the names resolved"
