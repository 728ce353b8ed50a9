#!/bin/bash
# Goal of this test:
# - a daemonized sealpiped writes its pid to -p FILE before its launcher
#   returns, and removes the file when it exits;
# - without -p the pidfile is <source>.pid in the working directory, as in
#   spiped;
# - with -F no pidfile is written unless -p is given.
. "$(dirname "$0")/lib.sh"

k=$(key k)
tgt="[127.0.0.1]:$(port)"

src="[127.0.0.1]:$(port)"
$SP_WRAP "$SEALPIPED" -d -s "$src" -t "$tgt" -k "$k" -p "$T/x.pid" 2> "$T/p1.log"
pid=$(cat "$T/x.pid")
# The command line, not /proc/PID/exe: under valgrind the binary is valgrind.
proc_args "$pid" | grep -qF -- "sealpiped -d -s $src" \
    || fail "pidfile does not name the running sealpiped: $(proc_args "$pid")"
kill -TERM "$pid"
wait_gone "$pid"
[ ! -e "$T/x.pid" ] || fail "-p pidfile not removed at exit"
pass "-p FILE written and removed"

src2="[127.0.0.1]:$(port)"
(cd "$T" && $SP_WRAP "$SEALPIPED" -d -s "$src2" -t "$tgt" -k "$k" 2> "$T/p2.log")
[ -s "$T/$src2.pid" ] || fail "default pidfile '$src2.pid' not in the working directory"
pid=$(cat "$T/$src2.pid")
kill -TERM "$pid"
wait_gone "$pid"
[ ! -e "$T/$src2.pid" ] || fail "default pidfile not removed"
pass "default pidfile <source>.pid"

src3="[127.0.0.1]:$(port)"
(cd "$T" && exec $SP_WRAP "$SEALPIPED" -F -d -s "$src3" -t "$tgt" -k "$k" 2> "$T/p3.log") & fg=$!
wait_for log_has p3 "listening on"
[ ! -e "$T/$src3.pid" ] || fail "-F wrote a pidfile without -p"
kill -TERM "$fg"
wait "$fg" || fail "-F: exit status $? after SIGTERM, expected 0"
pass "-F writes no pidfile by default and exits 0 on SIGTERM"
