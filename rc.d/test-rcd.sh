#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Goal of this test: the FreeBSD rc.d script rc.d/sealpiped.in, run under
# dash with the rc.subr stub rc.d/test/rc.subr, manages the seed RabbitMQ
# deployment's two decrypt pipes (RMQ, RMQADMIN) in front of two echo
# servers, each with its own key; a sealpiped -e started by hand pushes
# data through each pipe. It checks that:
# - with sealpiped_enable=NO, start does nothing (like the real rc.subr);
# - start runs one daemon per pipe, writes both pidfiles, both pipes carry
#   data; a second start skips the running pipes;
# - status prints one line per pipe and exits 0 while both run;
# - configtest runs sealpiped --check with the same arguments (flags, the
#   -u uid:gid composed from sealpiped_uid/_gid, the pipe's protocol) and
#   fails with a bad key path, an unknown user or an unknown protocol;
# - reload sends SIGHUP: each daemon logs "SIGHUP: reloaded" and keeps
#   serving; "reload RMQ" reaches RMQ only;
# - a pipe name as second argument acts on that pipe only (stop, start,
#   status), and an unknown name is an error;
# - after one daemon is killed, status exits non-zero and names it; stop
#   reports it, still stops the other, and removes both pidfiles;
# - stop with open connections waits sealpiped_stop_timeout, then aborts
#   them with the second SIGTERM;
# - an invalid mode is an error naming the variable, and start goes on with
#   the other pipe (as does a pipe whose key is missing);
# - restart gives new daemons.
#
# What the stub cannot show (FreeBSD itself is not here): the real
# rc.subr's /etc/defaults/rc.conf and rc.conf.d chain, service(8),
# rc.shutdown ordering (KEYWORD: shutdown) and rcorder (REQUIRE:),
# FreeBSD's ps(1) and pwait(1) behind check_pidfile and wait_for_pids,
# syslog copies of warnings, the %%PREFIX%% substitution by the ports
# framework, FreeBSD's sh(1) instead of dash, and -u: switching users
# needs root and an unprivileged account, and the test may run as any
# user, so sealpiped_uid is empty here; the -u argument itself is checked
# through configtest's plan ("as USER:GROUP"), and the switch is covered by
# tests/e2e/15-process-options.sh.
: "${SRCDIR:?}"
# This test is about the rc.d script, which checks that each pidfile's
# process is sealpiped; under make valgrind that process would be valgrind.
# Memory checking of sealpiped is the other tests' job: run it unwrapped.
unset SP_WRAP
. "$SRCDIR/tests/e2e/lib.sh"

# The script as the port would install it, but with the stub for
# /etc/rc.subr and a prefix whose bin/sealpiped is this build's daemon (a
# symlink: check_pidfile matches argv[0] against the configured path).
mkdir -p "$T/prefix/bin" "$T/run"
ln -s "$(readlink -f "$SEALPIPED")" "$T/prefix/bin/sealpiped"
RC=$T/sealpiped
sed -e "s|%%PREFIX%%|$T/prefix|g" \
    -e "s|^\. /etc/rc\.subr\$|. $SRCDIR/rc.d/test/rc.subr|" \
    "$SRCDIR/rc.d/sealpiped.in" > "$RC"
grep -qF ". $SRCDIR/rc.d/test/rc.subr" "$RC" || fail "could not point the script at the stub"
grep -q "%%PREFIX%%" "$RC" && fail "%%PREFIX%% left in the script"
export RC_CONF=$T/rc.conf

PF_RMQ=$T/run/sealpiped_RMQ.pid
PF_ADM=$T/run/sealpiped_RMQADMIN.pid
# Killed by lib.sh's cleanup if the test fails.
DAEMON_PIDFILES+=("$PF_RMQ" "$PF_ADM")

k_rmq=$(key rmq.key)
k_adm=$(random_key rmqadmin.key)
echo_rmq="[127.0.0.1]:$(port)"
echo_adm="[127.0.0.1]:$(port)"
d_rmq="[127.0.0.1]:$(port)"
d_adm="[127.0.0.1]:$(port)"
e_rmq="[127.0.0.1]:$(port)"
e_adm="[127.0.0.1]:$(port)"

# write_conf: rc.conf from the settings ENABLE, RMQ_MODE, RMQ_KEY,
# SP_UID, SP_GID, STOP_TIMEOUT (defaults: a working configuration).
write_conf() {
    cat > "$RC_CONF" <<EOF
sealpiped_enable="${ENABLE:-YES}"
sealpiped_pipes="RMQ RMQADMIN"
sealpiped_pipe_RMQ_mode="${RMQ_MODE:-decrypt}"
sealpiped_pipe_RMQ_source="$d_rmq"
sealpiped_pipe_RMQ_target="$echo_rmq"
sealpiped_pipe_RMQ_key="${RMQ_KEY:-$k_rmq}"
sealpiped_pipe_RMQ_flags="-n 50 --heartbeat 15"
sealpiped_pipe_RMQADMIN_mode="server"
sealpiped_pipe_RMQADMIN_source="$d_adm"
sealpiped_pipe_RMQADMIN_target="$echo_adm"
sealpiped_pipe_RMQADMIN_key="$k_adm"
sealpiped_pipe_RMQADMIN_protocol="${ADM_PROTOCOL:-}"
sealpiped_uid="${SP_UID-}"
sealpiped_gid="${SP_GID-}"
sealpiped_piddir="$T/run"
sealpiped_stop_timeout="${STOP_TIMEOUT:-30}"
EOF
}

# rc NAME ARGS...: run the script under dash, stdout and stderr appended to
# $T/NAME.log; the daemons that "start" launches keep logging there.
rc() {
    local name=$1
    shift
    dash "$RC" "$@" >> "$T/$name.log" 2>&1
}

# rc_status NAME ARGS...: the exit status of rc, for set -e.
rc_status() {
    local s=0
    rc "$@" || s=$?
    echo "$s"
}

running() {
    kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1") != Z* ]] \
        && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q "sealpiped" # not /proc/PID/exe: valgrind
}

gone_now() {
    ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1") == Z* ]]
}
# gone PID: the process has exited, or does within 5 s. The daemon removes
# its pidfile (which is what stop waits for) a moment before it exits.
gone() {
    WAIT_MS=5000 poll_for gone_now "$1"
}

pids_of_pipes() {
    pid_rmq=$(cat "$PF_RMQ")
    pid_adm=$(cat "$PF_ADM")
}

# through NAME ENC_SRC: push 64 KiB through a pipe and compare the echo.
through() {
    "$SPTEST" send "$2" "$T/in" "$T/out_$1" || fail "$1: send failed (exit $?)"
    [ "$(sha "$T/out_$1")" = "$(sha "$T/in")" ] || fail "$1: echoed data differs"
}

random_file "$T/in" 65536
start_echo echo_rmq "$echo_rmq"
start_echo echo_adm "$echo_adm"

# Disabled: like the real rc.subr, start says so, does nothing, exits 0.
ENABLE=NO write_conf
[ "$(rc_status disabled start)" -eq 0 ] || fail "start with sealpiped_enable=NO failed"
grep -q "Cannot 'start' sealpiped. Set sealpiped_enable to YES" "$T/disabled.log" \
    || fail "no 'Cannot start' message: $(cat "$T/disabled.log")"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "a disabled start started a pipe"
pass "sealpiped_enable=NO: start does nothing"

write_conf
[ "$(rc_status start1 start)" -eq 0 ] || fail "start failed: $(cat "$T/start1.log")"
[ -s "$PF_RMQ" ] && [ -s "$PF_ADM" ] || fail "pidfiles missing: $(ls "$T/run")"
pids_of_pipes
running "$pid_rmq" && running "$pid_adm" || fail "pidfiles do not name running sealpipeds"
grep -q "Starting sealpiped pipe RMQADMIN" "$T/start1.log" || fail "no start message"
pass "start: one daemon per pipe, pidfiles written"

start_daemon e_rmq -e -s "$e_rmq" -t "$d_rmq" -k "$k_rmq"
start_daemon e_adm -e -s "$e_adm" -t "$d_adm" -k "$k_adm"
through rmq "$e_rmq"
through adm "$e_adm"
pass "both pipes carry data, each with its own key"

[ "$(rc_status start2 start)" -eq 0 ] || fail "second start failed: $(cat "$T/start2.log")"
grep -q "sealpiped pipe RMQ already running as pid $pid_rmq" "$T/start2.log" \
    || fail "second start did not skip RMQ: $(cat "$T/start2.log")"
[ "$(cat "$PF_RMQ")" = "$pid_rmq" ] && [ "$(cat "$PF_ADM")" = "$pid_adm" ] \
    || fail "second start replaced a daemon"
pass "start skips pipes already running"

[ "$(rc_status status1 status)" -eq 0 ] || fail "status non-zero while both run: $(cat "$T/status1.log")"
grep -qx "sealpiped pipe RMQ is running as pid $pid_rmq." "$T/status1.log" \
    && grep -qx "sealpiped pipe RMQADMIN is running as pid $pid_adm." "$T/status1.log" \
    || fail "status lines: $(cat "$T/status1.log")"
pass "status: one line per pipe, exit 0"

# configtest: --check with the same arguments as start.
[ "$(rc_status check1 configtest)" -eq 0 ] || fail "configtest failed: $(cat "$T/check1.log")"
[ "$(grep -c "configuration OK" "$T/check1.log")" -eq 2 ] || fail "configtest: $(cat "$T/check1.log")"
grep -Eq "limits: +-n 50," "$T/check1.log" && grep -q "heartbeat 15 s" "$T/check1.log" \
    || fail "configtest did not pass the flags: $(cat "$T/check1.log")"
grep -Eq "process: +daemon$" "$T/check1.log" || fail "-u given with an empty sealpiped_uid"
# The -u argument, checked through the plan (no user switch happens).
SP_UID=$(id -un) SP_GID=$(id -gn) write_conf
[ "$(rc_status check2 configtest)" -eq 0 ] || fail "configtest with uid/gid failed: $(cat "$T/check2.log")"
grep -Eq "process: +daemon, as $(id -un):$(id -gn)$" "$T/check2.log" \
    || fail "no -u uid:gid: $(cat "$T/check2.log")"
SP_UID=$(id -un) SP_GID="" write_conf
rc check3 configtest || fail "configtest with an empty gid failed"
grep -Eq "process: +daemon, as $(id -un)$" "$T/check3.log" || fail "empty gid: $(cat "$T/check3.log")"
SP_UID=no_such_user_x SP_GID="" write_conf
[ "$(rc_status check4 configtest)" -ne 0 ] || fail "configtest accepted an unknown user"
grep -q "sealpiped_uid: no such user" "$T/check4.log" || fail "unknown user: $(cat "$T/check4.log")"
ADM_PROTOCOL=spiped write_conf
rc check5 configtest || fail "configtest with protocol spiped failed: $(cat "$T/check5.log")"
[ "$(grep -Ec "protocol: +spiped 1.6" "$T/check5.log")" -eq 1 ] \
    || fail "sealpiped_pipe_RMQADMIN_protocol=spiped did not reach that pipe alone: $(cat "$T/check5.log")"
ADM_PROTOCOL=tls write_conf
[ "$(rc_status check6 configtest)" -ne 0 ] || fail "configtest accepted protocol tls"
grep -q "invalid value for sealpiped_pipe_RMQADMIN_protocol" "$T/check6.log" \
    || fail "bad protocol: $(cat "$T/check6.log")"
write_conf
pass "configtest: sealpiped --check with the pipes' flags, -u uid:gid and the protocol"

# reload: SIGHUP; each daemon re-reads its key and logs it.
[ "$(rc_status reload1 reload)" -eq 0 ] || fail "reload failed: $(cat "$T/reload1.log")"
hups() { cat "$T"/*.log | grep -c "sealpiped\[$1\]: SIGHUP: reloaded" || true; }
hups_are() { [ "$(hups "$1")" -eq "$2" ]; }
WAIT_MS=5000 wait_for hups_are "$pid_rmq" 1
WAIT_MS=5000 wait_for hups_are "$pid_adm" 1
[ "$(rc_status reload2 reload RMQ)" -eq 0 ] || fail "reload RMQ failed"
WAIT_MS=5000 wait_for hups_are "$pid_rmq" 2
sleep 0.2
[ "$(hups "$pid_adm")" -eq 1 ] || fail "reload RMQ reached RMQADMIN"
running "$pid_rmq" && running "$pid_adm" || fail "a daemon died on SIGHUP"
through rmq "$e_rmq"
through adm "$e_adm"
pass "reload: both daemons re-read their keys and keep serving; 'reload RMQ' reaches RMQ only"

# One pipe at a time.
[ "$(rc_status stop1 stop RMQADMIN)" -eq 0 ] || fail "stop RMQADMIN failed: $(cat "$T/stop1.log")"
gone "$pid_adm" || fail "RMQADMIN still running"
[ ! -e "$PF_ADM" ] || fail "RMQADMIN pidfile left"
running "$pid_rmq" || fail "stop RMQADMIN stopped RMQ"
[ "$(rc_status status2 status)" -ne 0 ] || fail "status 0 with RMQADMIN stopped"
[ "$(rc_status status3 status RMQ)" -eq 0 ] || fail "status RMQ non-zero"
[ "$(rc_status unknown status NOPE)" -ne 0 ] || fail "status of an unknown pipe exited 0"
grep -q 'no pipe "NOPE" in sealpiped_pipes' "$T/unknown.log" || fail "unknown pipe: $(cat "$T/unknown.log")"
[ "$(rc_status start3 start RMQADMIN)" -eq 0 ] || fail "start RMQADMIN failed: $(cat "$T/start3.log")"
grep -q "RMQ already" "$T/start3.log" && fail "start RMQADMIN looked at RMQ"
pids_of_pipes
running "$pid_adm" || fail "RMQADMIN not restarted"
through adm "$e_adm"
pass "a pipe name as argument: stop, status and start act on that pipe only"

# One daemon dies; status and stop.
kill -KILL "$pid_adm"
WAIT_MS=5000 wait_for gone "$pid_adm"
[ -e "$PF_ADM" ] || fail "the killed daemon's pidfile should still be there"
[ "$(rc_status status4 status)" -ne 0 ] || fail "status 0 after RMQADMIN was killed"
grep -qx "sealpiped pipe RMQADMIN is not running." "$T/status4.log" \
    && grep -qx "sealpiped pipe RMQ is running as pid $pid_rmq." "$T/status4.log" \
    || fail "status after kill: $(cat "$T/status4.log")"
t0=$SECONDS
[ "$(rc_status stop2 stop)" -ne 0 ] || fail "stop exited 0 though RMQADMIN was not running"
grep -q "sealpiped pipe RMQADMIN not running? (removed the stale $PF_ADM)" "$T/stop2.log" \
    || fail "stop: $(cat "$T/stop2.log")"
grep -q "Stopping sealpiped pipe RMQ\." "$T/stop2.log" || fail "stop skipped RMQ: $(cat "$T/stop2.log")"
gone "$pid_rmq" || fail "stop left RMQ running"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "stop left pidfiles: $(ls "$T/run")"
[ $((SECONDS - t0)) -lt 10 ] || fail "stop took $((SECONDS - t0)) s"
pass "status non-zero after a kill; stop still stops the other pipe and removes both pidfiles"

# stop with an open connection: after sealpiped_stop_timeout the second
# SIGTERM aborts it.
STOP_TIMEOUT=1 write_conf
rc start4 start || fail "start failed: $(cat "$T/start4.log")"
pids_of_pipes
head -c 1000 /dev/urandom > "$T/small"
n=$(accepted echo_rmq)
"$SPTEST" send "$e_rmq" "$T/small" "$T/held" --hold-ms 60000 2> "$T/held.log" & held=$!
BG_PIDS+=("$held")
WAIT_MS=5000 wait_for accepted_at_least echo_rmq $((n + 1))
t0=$SECONDS
[ "$(rc_status stop3 stop)" -eq 0 ] || fail "stop failed: $(cat "$T/stop3.log")"
grep -q "sealpiped pipe RMQ still has open connections after 1 s; aborting them" "$T/stop3.log" \
    || fail "no abort after the timeout: $(cat "$T/stop3.log")"
grep -q "RMQADMIN still has" "$T/stop3.log" && fail "RMQADMIN had no connection to abort"
gone "$pid_rmq" && gone "$pid_adm" || fail "stop left a daemon running"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "pidfiles left: $(ls "$T/run")"
[ $((SECONDS - t0)) -lt 10 ] || fail "stop with a timeout of 1 s took $((SECONDS - t0)) s"
s=0
wait "$held" || s=$?
[ "$s" -eq 10 ] || fail "the held connection ended with $s, expected 10 (reset)"
pass "stop: open connections get sealpiped_stop_timeout, then are aborted"

# An invalid mode: an error naming the variable; the other pipe starts.
RMQ_MODE=sideways write_conf
[ "$(rc_status badmode start)" -ne 0 ] || fail "start with an invalid mode exited 0"
grep -q 'sealpiped_pipe_RMQ_mode: "sideways"' "$T/badmode.log" || fail "badmode: $(cat "$T/badmode.log")"
[ ! -e "$PF_RMQ" ] || fail "RMQ started with an invalid mode"
[ -s "$PF_ADM" ] || fail "start stopped at the bad pipe; RMQADMIN not started"
[ "$(rc_status badmode_check configtest)" -ne 0 ] || fail "configtest accepted an invalid mode"
grep -q 'sealpiped_pipe_RMQ_mode' "$T/badmode_check.log" || fail "configtest: $(cat "$T/badmode_check.log")"
rc stop4 stop RMQADMIN || fail "stop RMQADMIN failed"
pass "invalid mode: error naming sealpiped_pipe_RMQ_mode; the other pipe still starts"

# A missing key: configtest and start fail for that pipe only.
RMQ_KEY=$T/missing.key write_conf
[ "$(rc_status badkey_check configtest)" -ne 0 ] || fail "configtest with a missing key exited 0"
grep -q "$T/missing.key" "$T/badkey_check.log" || fail "configtest: $(cat "$T/badkey_check.log")"
grep -q "configuration OK" "$T/badkey_check.log" || fail "configtest skipped RMQADMIN"
[ "$(rc_status badkey start)" -ne 0 ] || fail "start with a missing key exited 0"
grep -q "sealpiped pipe RMQ failed to start (exit status 3)" "$T/badkey.log" \
    || fail "start with a missing key: $(cat "$T/badkey.log")"
[ ! -e "$PF_RMQ" ] && [ -s "$PF_ADM" ] || fail "start with a missing key: wrong pipes running"
rc stop5 stop RMQADMIN || fail "stop RMQADMIN failed"
pass "bad key path: configtest and start fail for that pipe, the other starts"

# restart (rc.subr's default: stop, then start) gives new daemons.
write_conf
rc start5 start || fail "start failed"
pids_of_pipes
old_rmq=$pid_rmq
old_adm=$pid_adm
rc restart restart || fail "restart failed: $(cat "$T/restart.log")"
pids_of_pipes
[ "$pid_rmq" != "$old_rmq" ] && [ "$pid_adm" != "$old_adm" ] || fail "restart kept the old daemons"
gone "$old_rmq" && gone "$old_adm" || fail "restart left the old daemons"
through rmq "$e_rmq"
rc stop6 stop || fail "final stop failed: $(cat "$T/stop6.log")"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "final stop left pidfiles"
pass "restart"
