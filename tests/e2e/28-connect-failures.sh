#!/bin/bash
# Goal of this test: every way a connect can fail ends promptly, with one
# clear line and the documented status, on the client and on the daemon;
# nothing waits forever and SIGTERM always ends the client.
# - sealpipe to a Unix socket path that does not exist (ENOENT), to a
#   socket file nobody listens on (ECONNREFUSED), to a socket in a
#   directory it may not enter (EACCES, as an unprivileged user), to a
#   closed TCP port (ECONNREFUSED), to an address with no route
#   (ENETUNREACH, in a network namespace of its own, which has no route),
#   and to a Unix path too long for sockaddr_un (exit 4): each
#   exits 1 (or 4) within the deadline with "cannot connect to ADDR: WHY";
# - a target that accepts and says nothing ends at -o (exit 8);
# - sealpiped -e and -d log each failure as connect_failed with the reason,
#   and the client of -e gets a reset, not a clean end;
# - a sealpipe whose connection failed before its loop started does not
#   hang: it exits at once (it used to wait forever, ignoring SIGTERM).
. "$(dirname "$0")/lib.sh"
require_linux "a private network namespace (unshare -n)"
: "${SEALPIPE:?}"

k=$(key k)
DEADLINE=$((10 * SP_SLOW))

# client EXIT PATTERN ARGS...: sealpipe must exit EXIT within the deadline
# with one line matching PATTERN.
client() {
    local want=$1 pattern=$2
    shift 2
    local rc=0
    timeout -s KILL "$DEADLINE" "$SEALPIPE" "$@" < /dev/null > "$T/o" 2> "$T/e" || rc=$?
    [ "$rc" -ne 137 ] || fail "sealpipe $* still running after $DEADLINE s"
    [ "$rc" -eq "$want" ] || fail "sealpipe $*: exit $rc, expected $want ($(cat "$T/e"))"
    [ "$(wc -l < "$T/e")" -eq 1 ] || fail "sealpipe $*: expected one line: $(cat "$T/e")"
    grep -Eq -- "$pattern" "$T/e" || fail "sealpipe $*: '$(cat "$T/e")' lacks /$pattern/"
    pass "exit $want: $(cat "$T/e")"
}

client 1 "^sealpipe: cannot connect to $T/no-such.sock: No such file or directory$" \
    -t "$T/no-such.sock" -k "$k"

# A socket file whose listener is gone.
"$SPTEST" echo "$T/dead.sock" > "$T/dead.log" 2>&1 &
dead=$!
wait_for test -S "$T/dead.sock"
kill -KILL "$dead"
wait "$dead" 2>/dev/null || true
client 1 "cannot connect to $T/dead.sock: Connection refused" -t "$T/dead.sock" -k "$k"

closed="[127.0.0.1]:$(port)"
client 1 "cannot connect to \[127.0.0.1\]:[0-9]+: Connection refused" -t "$closed" -k "$k"
# No route at all: in a network namespace of its own, which has none (the
# machine's own routes could lead a SYN off the machine).
command -v unshare > /dev/null || { echo "no unshare: cannot run here" >&2; exit 77; }
rc=0
timeout -s KILL "$DEADLINE" unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    "$SEALPIPE" -t "[2001:db8::1]:9" -k "$k" -o 2 < /dev/null > "$T/o" 2> "$T/e" || rc=$?
[ "$rc" -eq 1 ] || fail "no route: exit $rc ($(cat "$T/e"))"
grep -Eq "cannot connect to \[2001:db8::1\]:9: (Network is unreachable|No route to host)" "$T/e" ||
    fail "no route: $(cat "$T/e")"
pass "exit 1: $(cat "$T/e")"
long="/tmp/$(printf 'x%.0s' $(seq 1 120))/s.sock"
client 4 "is too long" -t "$long" -k "$k"

mute="[127.0.0.1]:$(port)"
start_listener mute "$SPTEST" echo "$mute" --sink
client 8 "timed out after 1 s in the handshake" -t "$mute" -k "$k" -o 1

# EACCES needs a user that permissions apply to (root passes every check).
if id nobody > /dev/null 2>&1 && command -v setpriv > /dev/null; then
    mkdir -m 0700 "$T/locked"
    start_listener locked "$SPTEST" echo "$T/locked/s.sock"
    mkdir -m 0755 "$T/nk"
    install -m 0400 -o nobody "$k" "$T/nk/k"
    chmod 0711 "$T"
    rc=0
    # Not under valgrind: nobody could not write its log (the other cases are).
    timeout -s KILL "$DEADLINE" setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "${SEALPIPE_UNWRAPPED:-$SEALPIPE}" -t "$T/locked/s.sock" -k "$T/nk/k" \
        < /dev/null > "$T/o" 2> "$T/e" || rc=$?
    [ "$rc" -eq 1 ] || fail "EACCES: exit $rc ($(cat "$T/e"))"
    grep -q "cannot connect to $T/locked/s.sock: Permission denied" "$T/e" ||
        fail "EACCES: $(cat "$T/e")"
    pass "exit 1: $(cat "$T/e")"
else
    echo "no 'nobody' user or setpriv: the EACCES case cannot run here" >&2
    exit 77
fi

# The daemons: -e to a missing -d side, -d to a missing target.
e="[127.0.0.1]:$(port)"
start_daemon e -e -s "$e" -t "$T/no-such.sock" -k "$k"
rc=0
timeout -s KILL "$DEADLINE" "$SPTEST" send "$e" /dev/null "$T/send.out" > "$T/send.log" 2>&1 || rc=$?
[ "$rc" -ne 137 ] || fail "a client of -e waited forever"
wait_for log_has e "connect_failed: cannot reach the -d side: No such file or directory"
pass "-e: $(grep -m1 connect_failed "$T/e.log")"

d="[127.0.0.1]:$(port)"
start_daemon d -d -s "$d" -t "$T/no-such-target.sock" -k "$k"
client 7 "reset by the sealpiped -d: its target is unreachable" -t "$d" -k "$k"
wait_for log_has d "connect_failed: cannot reach the target: No such file or directory"
pass "-d: $(grep -m1 connect_failed "$T/d.log")"
