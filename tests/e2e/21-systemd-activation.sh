#!/bin/bash
# Goal of this test (systemd integration, without systemd: the test plays
# the service manager):
# - socket activation: the listener is passed as fd 3 with LISTEN_FDS=1
#   and LISTEN_PID=<pid>; sealpiped serves on it without binding -s itself;
# - sd_notify on $NOTIFY_SOCKET: READY=1 once serving; on SIGHUP,
#   RELOADING=1 with MONOTONIC_USEC, then READY=1 (Type=notify-reload);
#   WATCHDOG=1 about every half of WATCHDOG_USEC; STOPPING=1 on SIGTERM;
# - a passed Unix socket is served, and its file is left in place at exit
#   (it belongs to the service manager).
. "$(dirname "$0")/lib.sh"
require_linux "systemd socket activation and sd_notify"

k=$(key k)
printf 'activated\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k"

e="[127.0.0.1]:$(port)"
start_listener notify "$SPTEST" notify-wait "$T/notify.sock" --want STOPPING=1 --timeout-ms 30000
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 \
    "$SPTEST" activate "$e" -- "$SEALPIPED" -F -e -s "$e" -t "$d" -k "$k" > "$T/act.log" 2>&1 &
act=$!
BG_PIDS+=("$act")
wait_for log_has notify "READY=1"
log_has act "socket from the service manager" || fail "did not use the passed socket"
"$SPTEST" send "$e" "$T/line" "$T/out" || fail "the activated socket does not serve"
cmp -s "$T/line" "$T/out" || fail "reply differs"
pass "socket activation: served on fd 3; READY=1 sent"

kill -HUP "$act"
wait_for log_has notify "RELOADING=1"
grep -A1 "RELOADING=1" "$T/notify.log" | grep -Eq "^MONOTONIC_USEC=[0-9]+$" || fail "RELOADING without MONOTONIC_USEC"
wait_for lines_at_least "$T/notify.log" '^READY=1' 2
pass "SIGHUP: RELOADING=1 + MONOTONIC_USEC, then READY=1"

# The interval, not just the count: half of WATCHDOG_USEC (200 ms). Five
# more pings must take at least 5 x 150 ms (not a flood of messages) and
# less than 5 x 400 ms (each inside the watchdog's timeout), x SP_SLOW.
wait_for lines_at_least "$T/notify.log" '^WATCHDOG=1' 3
n0=$(grep -c '^WATCHDOG=1' "$T/notify.log")
t0=$(now_ms)
wait_for lines_at_least "$T/notify.log" '^WATCHDOG=1' $((n0 + 5))
ms=$(( $(now_ms) - t0 ))
[ "$ms" -ge 750 ] && [ "$ms" -lt $((2000 * SP_SLOW)) ] \
    || fail "5 WATCHDOG=1 took $ms ms, expected about 1000 (every 200 ms with WATCHDOG_USEC=400000)"
pass "WATCHDOG=1 every $((ms / 5)) ms on average (WATCHDOG_USEC=400000: every 200 ms)"

kill -TERM "$act"
wait "$act" || fail "exit status $? after SIGTERM"
wait_for log_has notify "STOPPING=1"
pass "STOPPING=1 on SIGTERM; clean exit"

# A Unix socket passed by the service manager (sealpiped@.socket's default
# is /run/sealpipe/NAME.sock): sealpiped serves on it, and at exit leaves
# the file alone, because it belongs to the service manager, which keeps
# it open across restarts of the service.
u="$T/act.sock"
"$SPTEST" activate "$u" -- "$SEALPIPED" -F -e -s "$u" -t "$d" -k "$k" > "$T/act2.log" 2>&1 &
act2=$!
BG_PIDS+=("$act2")
wait_for log_has act2 "socket from the service manager"
"$SPTEST" send "$u" "$T/line" "$T/out2" || fail "the activated Unix socket does not serve"
cmp -s "$T/line" "$T/out2" || fail "reply differs (Unix socket)"
kill -TERM "$act2"
wait "$act2" || fail "exit status $? after SIGTERM (Unix socket)"
[ -S "$u" ] || fail "sealpiped removed $u, the service manager's socket file"
pass "socket activation on a Unix socket: served; the socket file is left to the service manager"
