#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Goal of this test: the FreeBSD rc.d script rc.d/sealpiped.in, installed
# as the port installs it (/usr/local/etc/rc.d/sealpiped), works under
# FreeBSD's own rc.subr, /etc/defaults/rc.conf and service(8)
# (../shared/freebsd/, run under dash as /bin/sh, in a private mount
# namespace whose /etc and /usr are overlays, so nothing of this machine
# changes; the FreeBSD-only programs they call are the stand-ins of
# rc.d/test/freebsd-shims.sh). It manages the seed RabbitMQ deployment's
# two decrypt pipes (RMQ, RMQADMIN) in front of two echo servers, each
# with its own key, and a sealpiped -e started by hand pushes data through
# each. It checks, all through "service sealpiped ...":
# - service -e lists it only when sealpiped_enable=YES (name= and rcvar=
#   where service(8) greps for them);
# - with sealpiped_enable=NO, start prints rc.subr's "Cannot 'start'" and
#   starts nothing; onestart and onestop work;
# - start runs one daemon per pipe under limits -C daemon with
#   sealpiped_limits (the daemon's locked-memory limit is what
#   sealpiped_limits says: 4 MiB, as this machine's hard limit forbids
#   the "-l unlimited" that docs/freebsd.md recommends), writes both pidfiles, both pipes carry data;
#   with both running, start is refused as rc.subr refuses any running
#   service; with one running, start starts only the other;
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
# - stop with sealpiped_enable=NO stops the running pipes;
# - an invalid mode is an error naming the variable (also in syslog, as
#   rc.subr's warn copies it there), and start goes on with the other pipe
#   (as does a pipe whose key is missing);
# - restart gives new daemons; service -R restarts an enabled service;
# - the pipes set in /etc/rc.conf.d/sealpiped instead of /etc/rc.conf;
# - boot and shutdown as /etc/rc and /etc/rc.shutdown run the script
#   (run_rc_script with faststart and faststop, autoboot=yes): both pipes
#   start, and "Starting" is printed only with rc_startmsgs=YES
#   (startmsg); faststop stops both.
#
# What this cannot show (FreeBSD itself is not here): FreeBSD's sh(1)
# instead of dash, rcorder's ordering (REQUIRE:), login.conf classes, the
# %%PREFIX%% substitution by the ports framework (sed stands in), and -u
# to the port's "sealpipe" user (sealpiped_uid is empty here; the -u
# argument is checked through configtest's plan, and the switch is covered
# by tests/e2e/15-process-options.sh).
: "${SRCDIR:?}"
# This test is about the rc.d script, which checks that each pidfile's
# process is sealpiped; under make valgrind that process would be valgrind.
# Memory checking of sealpiped is the other tests' job: run it unwrapped.
unset SP_WRAP
FREEBSD=${SEALPIPE_FREEBSD_REF:-$SRCDIR/../shared/freebsd}

# Run the whole test in a private mount namespace (root only).
if [ -z "${SP_RCD_NAMESPACE:-}" ]; then
    [ "$(uname -s)" = Linux ] || { echo "SKIP: needs Linux (namespaces)"; exit 77; }
    for f in rc.subr service.sh defaults-rc.conf; do
        [ -f "$FREEBSD/$f" ] || { echo "SKIP: no $FREEBSD/$f (FreeBSD's rc files)"; exit 77; }
    done
    command -v dash > /dev/null || { echo "SKIP: no dash to stand in for FreeBSD's sh"; exit 77; }
    if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2> /dev/null; then
        echo "SKIP: needs root and unshare -m (a private mount namespace)"
        exit 77
    fi
    SP_RCD_NAMESPACE=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$SRCDIR/tests/e2e/lib.sh"

# FreeBSD's files where FreeBSD has them, on overlays of /etc and /usr.
mkdir -p "$T/real" "$T/ov/etc/up" "$T/ov/etc/work" "$T/ov/usr/up" "$T/ov/usr/work" "$T/run"
cp /usr/bin/ps /usr/bin/env "$T/real/"
for d in etc usr; do
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ov/$d/up,workdir=$T/ov/$d/work" "/$d" \
        || { echo "SKIP: cannot mount an overlay on /$d"; exit 77; }
done
install -m 0444 "$FREEBSD/rc.subr" /etc/rc.subr
install -D -m 0444 "$FREEBSD/defaults-rc.conf" /etc/defaults/rc.conf
install -m 0555 "$FREEBSD/service.sh" /usr/sbin/service
rm -rf /etc/rc.conf.d /etc/rc.d
mkdir -p /etc/rc.d /usr/local/etc/rc.d /usr/local/bin
bash "$SRCDIR/rc.d/test/freebsd-shims.sh" / "$T" "$T/real"
: > "$T/syslog"
# The script as the port installs it; bin/sealpiped is this build's daemon
# (a symlink: check_pidfile matches argv[0] against the configured path).
ln -sf "$(readlink -f "$SEALPIPED")" /usr/local/bin/sealpiped
sed -e "s|%%PREFIX%%|/usr/local|g" "$SRCDIR/rc.d/sealpiped.in" > /usr/local/etc/rc.d/sealpiped
chmod 0555 /usr/local/etc/rc.d/sealpiped
grep -q "%%PREFIX%%" /usr/local/etc/rc.d/sealpiped && fail "%%PREFIX%% left in the script"

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

# write_conf [FILE]: rc.conf (or FILE) from the settings ENABLE, RMQ_MODE,
# RMQ_KEY, SP_UID, SP_GID, STOP_TIMEOUT, ADM_PROTOCOL, STARTMSGS
# (defaults: a working configuration).
write_conf() {
    local file=${1:-/etc/rc.conf}
    rm -f /etc/rc.conf /etc/rc.conf.d/sealpiped
    mkdir -p "${file%/*}"
    cat > "$file" <<EOF2
rc_startmsgs="${STARTMSGS:-YES}"
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
sealpiped_limits="-l 4m"
EOF2
}

# rc NAME ARGS...: "service sealpiped ARGS", stdout and stderr appended to
# $T/NAME.log; the daemons that "start" launches keep logging there.
rc() {
    local name=$1
    shift
    /usr/sbin/service sealpiped "$@" >> "$T/$name.log" 2>&1 < /dev/null
}

# rc_status NAME ARGS...: the exit status of rc, for set -e.
rc_status() {
    local s=0
    rc "$@" || s=$?
    echo "$s"
}

# as_rc NAME HOW ARG: the script run as /etc/rc (HOW=boot: autoboot=yes,
# faststart) or /etc/rc.shutdown (HOW=shutdown: faststop) run it, with
# rc.subr's run_rc_script, for every script rcorder picks.
as_rc() {
    local name=$1 how=$2
    dash -c '
        . /etc/rc.subr
        load_rc_config
        if [ "$1" = boot ]; then
            autoboot=yes
            files=$(rcorder -s nostart /etc/rc.d/* /usr/local/etc/rc.d/* 2>/dev/null)
            for f in $files; do run_rc_script "$f" faststart; done
        else
            files=$(rcorder -k shutdown /etc/rc.d/* /usr/local/etc/rc.d/* 2>/dev/null)
            for f in $(reverse_list $files); do run_rc_script "$f" faststop; done
        fi' as_rc "$how" >> "$T/$name.log" 2>&1 < /dev/null
}

running() {
    alive "$1" && proc_args "$1" | grep -q "sealpiped"
}

gone_now() {
    ! alive "$1"
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

# service -e: enabled services only, found by service(8)'s grep.
ENABLE=NO write_conf
/usr/sbin/service -e > "$T/enabled_no.log" 2>&1 || fail "service -e failed: $(cat "$T/enabled_no.log")"
grep -q sealpiped "$T/enabled_no.log" && fail "service -e lists a disabled sealpiped"
# Disabled: like any rc.d service, start says so, does nothing, exits 0.
[ "$(rc_status disabled start)" -eq 0 ] || fail "start with sealpiped_enable=NO failed"
grep -q "Cannot 'start' sealpiped. Set sealpiped_enable to YES" "$T/disabled.log" \
    || fail "no 'Cannot start' message: $(cat "$T/disabled.log")"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "a disabled start started a pipe"
pass "sealpiped_enable=NO: service -e leaves it out, start does nothing"

[ "$(rc_status onestart onestart)" -eq 0 ] || fail "onestart failed: $(cat "$T/onestart.log")"
pids_of_pipes
running "$pid_rmq" && running "$pid_adm" || fail "onestart did not start both pipes"
[ "$(rc_status onestatus onestatus)" -eq 0 ] || fail "onestatus: $(cat "$T/onestatus.log")"
# stop of a disabled service whose pipes run: they stop (rc.subr sees the
# service running through the pidfile of a running pipe).
[ "$(rc_status stop_disabled stop)" -eq 0 ] || fail "stop while disabled: $(cat "$T/stop_disabled.log")"
grep -q "Cannot 'stop'" "$T/stop_disabled.log" && fail "stop while disabled refused: $(cat "$T/stop_disabled.log")"
gone "$pid_rmq" && gone "$pid_adm" || fail "stop while disabled left a pipe running"
[ "$(rc_status onestart2 onestart RMQ)" -eq 0 ] || fail "onestart RMQ failed"
pid_rmq=$(cat "$PF_RMQ")
[ "$(rc_status onestop onestop RMQ)" -eq 0 ] || fail "onestop failed: $(cat "$T/onestop.log")"
gone "$pid_rmq" || fail "onestop left RMQ running"
pass "disabled: onestart, onestatus and onestop work, and stop stops running pipes"

write_conf
/usr/sbin/service -e > "$T/enabled.log" 2>&1 || fail "service -e failed"
grep -qx /usr/local/etc/rc.d/sealpiped "$T/enabled.log" || fail "service -e: $(cat "$T/enabled.log")"
[ "$(rc_status start1 start)" -eq 0 ] || fail "start failed: $(cat "$T/start1.log")"
[ -s "$PF_RMQ" ] && [ -s "$PF_ADM" ] || fail "pidfiles missing: $(ls "$T/run")"
pids_of_pipes
running "$pid_rmq" && running "$pid_adm" || fail "pidfiles do not name running sealpipeds"
grep -q "Starting sealpiped pipe RMQADMIN" "$T/start1.log" || fail "no start message"
grep -qF "limits -C daemon -l 4m /usr/local/bin/sealpiped -d -s $d_rmq " "$T/limits.log" \
    || fail "not started under limits -C daemon \$sealpiped_limits: $(cat "$T/limits.log")"
grep -Eq "^Max locked memory +4194304 " "/proc/$pid_rmq/limits" \
    || fail "sealpiped_limits not applied: $(grep locked "/proc/$pid_rmq/limits")"
pass "service -e lists it; start: one daemon per pipe under limits -C daemon and sealpiped_limits"

start_daemon e_rmq -e -s "$e_rmq" -t "$d_rmq" -k "$k_rmq"
start_daemon e_adm -e -s "$e_adm" -t "$d_adm" -k "$k_adm"
through rmq "$e_rmq"
through adm "$e_adm"
pass "both pipes carry data, each with its own key"

# A user's own sealpiped (e_rmq, e_adm) is not mistaken for the service.
[ "$(rc_status start2 start)" -eq 1 ] || fail "second start did not refuse: $(cat "$T/start2.log")"
grep -qF "sealpiped already running?  (pid=$pid_rmq)." "$T/start2.log" \
    || fail "second start: $(cat "$T/start2.log")"
[ "$(cat "$PF_RMQ")" = "$pid_rmq" ] && [ "$(cat "$PF_ADM")" = "$pid_adm" ] \
    || fail "second start replaced a daemon"
pass "start with every pipe running: refused as rc.subr refuses a running service"

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
SP_UID=nobody SP_GID=nogroup write_conf
[ "$(rc_status check2 configtest)" -eq 0 ] || fail "configtest with uid/gid failed: $(cat "$T/check2.log")"
grep -Eq "process: +daemon, as nobody:nogroup$" "$T/check2.log" \
    || fail "no -u uid:gid: $(cat "$T/check2.log")"
SP_UID=nobody SP_GID="" write_conf
rc check3 configtest || fail "configtest with an empty gid failed"
grep -Eq "process: +daemon, as nobody$" "$T/check3.log" || fail "empty gid: $(cat "$T/check3.log")"
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
# start with RMQ running starts RMQADMIN only.
[ "$(rc_status start3 start)" -eq 0 ] || fail "start with RMQ running failed: $(cat "$T/start3.log")"
grep -q "sealpiped pipe RMQ already running as pid $pid_rmq" "$T/start3.log" \
    || fail "start did not skip RMQ: $(cat "$T/start3.log")"
pids_of_pipes
running "$pid_adm" || fail "RMQADMIN not restarted"
through adm "$e_adm"
pass "a pipe name as argument: stop, status act on that pipe only; start starts the pipe not running"

# One daemon dies; status and stop.
kill -KILL "$pid_adm"
WAIT_MS=5000 wait_for gone_now "$pid_adm"
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

# An invalid mode: an error naming the variable, copied to syslog as
# rc.subr's warn does; the other pipe starts.
RMQ_MODE=sideways write_conf
[ "$(rc_status badmode start)" -ne 0 ] || fail "start with an invalid mode exited 0"
grep -q 'sealpiped_pipe_RMQ_mode: "sideways"' "$T/badmode.log" || fail "badmode: $(cat "$T/badmode.log")"
grep -q 'WARNING: invalid value for sealpiped_pipe_RMQ_mode' "$T/syslog" \
    || fail "the warning did not reach syslog: $(cat "$T/syslog")"
[ ! -e "$PF_RMQ" ] || fail "RMQ started with an invalid mode"
[ -s "$PF_ADM" ] || fail "start stopped at the bad pipe; RMQADMIN not started"
[ "$(rc_status badmode_check configtest)" -ne 0 ] || fail "configtest accepted an invalid mode"
grep -q 'sealpiped_pipe_RMQ_mode' "$T/badmode_check.log" || fail "configtest: $(cat "$T/badmode_check.log")"
rc stop4 stop RMQADMIN || fail "stop RMQADMIN failed"
pass "invalid mode: error naming sealpiped_pipe_RMQ_mode (and in syslog); the other pipe still starts"

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

# restart (rc.subr's: stop, then start) and service -R give new daemons;
# the configuration from /etc/rc.conf.d/sealpiped this time.
write_conf /etc/rc.conf.d/sealpiped
rc start5 start || fail "start from rc.conf.d failed: $(cat "$T/start5.log")"
pids_of_pipes
old_rmq=$pid_rmq
old_adm=$pid_adm
rc restart restart || fail "restart failed: $(cat "$T/restart.log")"
pids_of_pipes
[ "$pid_rmq" != "$old_rmq" ] && [ "$pid_adm" != "$old_adm" ] || fail "restart kept the old daemons"
gone "$old_rmq" && gone "$old_adm" || fail "restart left the old daemons"
through rmq "$e_rmq"
old_rmq=$pid_rmq
/usr/sbin/service -R > "$T/restart_all.log" 2>&1 || fail "service -R failed: $(cat "$T/restart_all.log")"
pids_of_pipes
[ "$pid_rmq" != "$old_rmq" ] && gone "$old_rmq" || fail "service -R did not restart RMQ: $(cat "$T/restart_all.log")"
through adm "$e_adm"
rc stop6 stop || fail "stop failed: $(cat "$T/stop6.log")"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "stop left pidfiles"
pass "restart and service -R, with the pipes in /etc/rc.conf.d/sealpiped"

# Boot and shutdown, as /etc/rc and /etc/rc.shutdown run the script.
STARTMSGS=NO write_conf
as_rc boot_quiet boot || fail "boot failed: $(cat "$T/boot_quiet.log")"
pids_of_pipes
running "$pid_rmq" && running "$pid_adm" || fail "boot did not start both pipes"
grep -q "Starting" "$T/boot_quiet.log" && fail "rc_startmsgs=NO, but: $(cat "$T/boot_quiet.log")"
through rmq "$e_rmq"
as_rc shutdown1 shutdown || fail "shutdown failed: $(cat "$T/shutdown1.log")"
gone "$pid_rmq" && gone "$pid_adm" || fail "faststop left a pipe running"
[ ! -e "$PF_RMQ" ] && [ ! -e "$PF_ADM" ] || fail "faststop left pidfiles"
write_conf
as_rc boot_msgs boot || fail "boot failed: $(cat "$T/boot_msgs.log")"
grep -q "Starting sealpiped pipe RMQ\." "$T/boot_msgs.log" || fail "rc_startmsgs=YES: $(cat "$T/boot_msgs.log")"
pids_of_pipes
as_rc shutdown2 shutdown || fail "shutdown failed"
gone "$pid_rmq" && gone "$pid_adm" || fail "faststop left a pipe running"
pass "boot (faststart: quiet with rc_startmsgs=NO) and shutdown (faststop)"
