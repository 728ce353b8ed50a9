#!/bin/bash
# Goal of this test:
# - a stale Unix socket file (left by a killed process) is removed at start;
# - a socket that a running process listens on is never removed: start-up
#   fails with exit 4 and says so; a path that is not a socket is refused;
# - --socket-mode sets the socket's permissions exactly;
# - the socket file is removed when sealpiped exits.
. "$(dirname "$0")/lib.sh"

k=$(key k)
tgt="[127.0.0.1]:$(port)"
start_echo echo "$tgt"

# A stale socket: bound by a process that was then killed.
start_listener old "$SPTEST" echo "$T/s.sock"
kill -9 "$PID_old"
wait_gone "$PID_old"
[ -S "$T/s.sock" ] || fail "no stale socket to test with"
start_daemon d -d -s "$T/s.sock" -t "$tgt" -k "$k" --socket-mode 0660
log_has d "removed stale socket $T/s.sock" || fail "stale socket not reported"
[ "$(file_mode "$T/s.sock")" = "660" ] || fail "mode is $(file_mode "$T/s.sock"), expected 660"
pass "stale socket replaced; --socket-mode 0660 applied"

# In use: refuse, and leave it alone.
rc=0
"$SEALPIPED" -d -s "$T/s.sock" -t "$tgt" -k "$k" -p "$T/d2.pid" 2> "$T/d2.log" || rc=$?
[ "$rc" -eq 4 ] || fail "socket in use: exit $rc, expected 4"
log_has d2 "is in use by a running process" || fail "no 'in use' message"
[ -S "$T/s.sock" ] || fail "the live socket was removed"
pass "a live socket is not taken over"

# Not a socket: refuse.
echo data > "$T/file.sock"
rc=0
"$SEALPIPED" -d -s "$T/file.sock" -t "$tgt" -k "$k" -p "$T/d3.pid" 2> "$T/d3.log" || rc=$?
[ "$rc" -eq 4 ] || fail "regular file: exit $rc, expected 4"
log_has d3 "exists and is not a socket" || fail "no 'not a socket' message"
[ "$(cat "$T/file.sock")" = data ] || fail "the file was touched"
pass "a regular file at the path is left alone"

stop_daemon d
[ ! -e "$T/s.sock" ] || fail "socket file left behind at exit"
pass "socket removed at exit"
