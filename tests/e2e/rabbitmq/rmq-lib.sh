#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Throwaway RabbitMQ nodes for tests/e2e/rabbitmq/run and .../netns, sourced
# after tests/e2e/lib.sh (which provides $T, fail, pass, wait_for).
#
# A node lives entirely in one directory: its configuration (rabbitmq.conf,
# enabled_plugins, written by the caller), its database, its logs and its
# own $HOME (for the Erlang cookie). It talks to a private epmd on a port
# of its own, started here in the foreground so that its pid is known.
# Nothing from /etc/rabbitmq is read. The node runs as the calling user
# through /usr/lib/rabbitmq/bin (Debian's /usr/sbin wrappers switch to the
# rabbitmq user and its /var/lib/rabbitmq).
#
# Every process started here inherits SPTEST_RMQ_MARK (set by the caller to
# a value unique to the run), which is how rmq_leftovers finds any process
# of this run still alive, including the ones beam.smp starts in their own
# sessions (erl_child_setup, inet_gethost, the disk monitor's sh).

# The RMQ_* variables set here are read by the scripts that source this.
# shellcheck disable=SC2034
RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}
RMQ_EXTRA_ENV=()
: "${SPTEST_RMQ_MARK:?set SPTEST_RMQ_MARK before sourcing rmq-lib.sh}"
export SPTEST_RMQ_MARK

# rmq_env DIR NODENAME EPMD_PORT CTL_PORT: set the array RMQ_ENV to the
# environment (env(1) arguments) of the node in DIR and of the CLI tools
# that talk to it. CTL_PORT is the distribution port of the CLI tools
# (their default, 35672-35682, is shared by every run on the host). The
# caller may add RABBITMQ_NODE_PORT and RABBITMQ_DIST_PORT to RMQ_EXTRA_ENV
# (RabbitMQ 3.10 checks NODE_PORT + 20000 as the distribution port unless
# RABBITMQ_DIST_PORT is set, even when rabbitmq.conf sets the port range).
rmq_env() {
    RMQ_ENV=(
        "HOME=$1/home"
        "RABBITMQ_NODENAME=$2"
        "RABBITMQ_MNESIA_BASE=$1/mnesia"
        "RABBITMQ_LOG_BASE=$1/log"
        "RABBITMQ_CONFIG_FILE=$1/rabbitmq.conf"
        "RABBITMQ_ADVANCED_CONFIG_FILE=$1/advanced.config"
        "RABBITMQ_ENABLED_PLUGINS_FILE=$1/enabled_plugins"
        "RABBITMQ_CONF_ENV_FILE=$1/rabbitmq-env.conf"
        "RABBITMQ_PID_FILE=$1/rabbitmq.pid"
        "ERL_EPMD_PORT=$3"
        "ERL_CRASH_DUMP=$1/erl_crash.dump"
        "ERL_EPMD_ADDRESS=127.0.0.1,::1"
        "RABBITMQ_CTL_DIST_PORT_MIN=$4"
        "RABBITMQ_CTL_DIST_PORT_MAX=$4"
        # The CLI tools are Erlang nodes too: without this their
        # distribution port listens on every address while they run.
        "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
        "${RMQ_EXTRA_ENV[@]}"
    )
}

# rmq_ctl TOOL ARGS...: run rabbitmqctl or rabbitmq-diagnostics against the
# current node (the last one started or rmq_load'ed), inside its network
# namespace if any.
rmq_ctl() {
    local tool=$1
    shift
    $RMQ_WRAP env "${RMQ_ENV[@]}" "$RMQ_BIN/$tool" -q -n "$RMQ_NODE" "$@"
}

# rmq_start DIR NODENAME EPMD_PORT CTL_PORT TIMEOUT ADDR...: rmq_launch,
# then rmq_wait_up.
rmq_start() {
    rmq_launch "$1" "$2" "$3" "$4"
    shift 4
    rmq_wait_up "$@"
}

# rmq_launch DIR NODENAME EPMD_PORT CTL_PORT: start epmd and the node in DIR
# (with $RMQ_WRAP in front, e.g. "ip netns exec NS") and return at once.
# The node becomes the current one: RMQ_NODE, RMQ_DIR, RMQ_ENV,
# RMQ_EPMD_PID, RMQ_SERVER_PID.
rmq_launch() {
    local dir=$1 node=$2 epmd_port=$3 ctl_port=$4 i
    RMQ_DIR=$dir
    RMQ_NODE=$node
    RMQ_BEAM_PID=
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    chmod 0700 "$dir/home"
    rmq_env "$dir" "$node" "$epmd_port" "$ctl_port"
    RMQ_T0=$(date +%s.%N)
    # Our own epmd, in the foreground (no -daemon): its pid is $!. The
    # node finds it on ERL_EPMD_PORT and does not start another one.
    $RMQ_WRAP env "${RMQ_ENV[@]}" epmd -port "$epmd_port" > "$dir/epmd.log" 2>&1 &
    RMQ_EPMD_PID=$!
    for ((i = 0; i < 250; i++)); do
        kill -0 "$RMQ_EPMD_PID" 2> /dev/null \
            || fail "epmd on port $epmd_port exited: $(tr -d '\0' < "$dir/epmd.log")"
        $RMQ_WRAP bash -c "exec 3<>/dev/tcp/127.0.0.1/$epmd_port" 2> /dev/null && break
        sleep 0.02
    done
    # Listening, and still ours (not another epmd that had the port).
    sleep 0.1
    kill -0 "$RMQ_EPMD_PID" 2> /dev/null || fail "epmd on port $epmd_port exited: $(tr -d '\0' < "$dir/epmd.log")"
    # setsid: the node's script and beam.smp get a process group of
    # their own, away from the test's terminal and its signals.
    $RMQ_WRAP env "${RMQ_ENV[@]}" setsid "$RMQ_BIN/rabbitmq-server" > "$dir/server.out" 2>&1 &
    RMQ_SERVER_PID=$!
}

# rmq_wait_up TIMEOUT ADDR...: wait until every ADDR (host:port, for bash's
# /dev/tcp, e.g. ::1:5672) of the current node accepts connections, for at
# most TIMEOUT seconds. Sets RMQ_BEAM_PID and RMQ_START_SECONDS.
rmq_wait_up() {
    local timeout=$1 i a probe=""
    shift
    for a in "$@"; do
        probe+="exec 3<>/dev/tcp/${a%:*}/${a##*:} && exec 3>&- && "
    done
    probe+=":"
    for ((i = 0; i < timeout * 5; i++)); do
        if ! kill -0 "$RMQ_SERVER_PID" 2> /dev/null; then
            tail -n 30 "$RMQ_DIR/server.out" >&2
            fail "RabbitMQ node $RMQ_NODE exited during start-up (see $RMQ_DIR/server.out)"
        fi
        if $RMQ_WRAP bash -c "$probe" 2> /dev/null; then
            RMQ_BEAM_PID=$(pgrep -P "$RMQ_SERVER_PID" beam.smp || true)
            [ -n "$RMQ_BEAM_PID" ] || fail "no beam.smp under the rabbitmq-server script $RMQ_SERVER_PID"
            RMQ_START_SECONDS=$(awk -v a="$RMQ_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            return 0
        fi
        sleep 0.2
    done
    tail -n 30 "$RMQ_DIR/server.out" >&2
    fail "RabbitMQ node $RMQ_NODE not listening on $* after ${timeout} s"
}

# rmq_save NAME / rmq_load NAME: keep several nodes (cluster): save the
# current node's state under NAME, or make NAME's node the current one.
RMQ_HANDLES=""
RMQ_VARS="RMQ_NODE RMQ_DIR RMQ_WRAP RMQ_T0 RMQ_EPMD_PID RMQ_SERVER_PID RMQ_BEAM_PID RMQ_START_SECONDS RMQ_STOP_SECONDS"
rmq_save() {
    local v
    for v in $RMQ_VARS; do
        eval "RMQH_${1}_$v=\${$v-}"
    done
    eval "RMQH_${1}_ENV=(\"\${RMQ_ENV[@]}\")"
    case " $RMQ_HANDLES " in *" $1 "*) ;; *) RMQ_HANDLES+=" $1" ;; esac
}
rmq_load() {
    local v
    for v in $RMQ_VARS; do
        eval "$v=\${RMQH_${1}_$v-}"
    done
    eval "RMQ_ENV=(\"\${RMQH_${1}_ENV[@]}\")"
}

# rmq_stop_all: rmq_stop every saved node, and the current one.
rmq_stop_all() {
    local h
    rmq_stop
    for h in $RMQ_HANDLES; do
        rmq_load "$h"
        rmq_stop
        rmq_save "$h"
    done
}

# rmq_stop: stop the current node (SIGTERM to beam.smp, which shuts
# RabbitMQ down cleanly; SIGKILL after 20 s), then its epmd. Safe to call
# twice. Sets RMQ_STOP_SECONDS.
rmq_stop() {
    local t0 i
    [ -n "${RMQ_SERVER_PID:-}" ] || return 0
    t0=$(date +%s.%N)
    if [ -n "${RMQ_BEAM_PID:-}" ] && kill -TERM "$RMQ_BEAM_PID" 2> /dev/null; then
        for ((i = 0; i < 200; i++)); do
            kill -0 "$RMQ_BEAM_PID" 2> /dev/null || break
            sleep 0.1
        done
        if kill -0 "$RMQ_BEAM_PID" 2> /dev/null; then
            echo "note: $RMQ_NODE did not stop within 20 s of SIGTERM; killing it"
            kill -KILL "$RMQ_BEAM_PID" 2> /dev/null || true
        fi
    fi
    kill -TERM "$RMQ_SERVER_PID" 2> /dev/null || true
    wait "$RMQ_SERVER_PID" 2> /dev/null || true
    if [ -n "${RMQ_EPMD_PID:-}" ]; then
        kill -TERM "$RMQ_EPMD_PID" 2> /dev/null || true
        wait "$RMQ_EPMD_PID" 2> /dev/null || true
    fi
    RMQ_SERVER_PID=
    RMQ_BEAM_PID=
    RMQ_EPMD_PID=
    RMQ_STOP_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# proc_dead PID: the process has exited: gone, or a zombie. A daemonized
# sealpiped's parent is init, which may take a while to reap it, and
# kill -0 succeeds on a zombie.
proc_dead() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null) || return 0
    [ -z "$st" ] || [ "$st" = Z ]
}

# pipe_stop NAME: SIGTERM the sealpiped of lib.sh's start_daemon NAME and
# wait until it has exited.
pipe_stop() {
    local pid
    pid=$(cat "$T/$1.pid" 2> /dev/null) || return 0
    kill -TERM "$pid" 2> /dev/null || return 0
    WAIT_MS=30000 wait_for proc_dead "$pid"
}

# rmq_leftovers: print the pid and command line of every process that
# carries SPTEST_RMQ_MARK in its environment (started by this run, directly
# or not) or has $T in its command line, except this shell (or subshell)
# and its ancestors. The commands of the search itself have ended before
# the list is read.
rmq_leftovers() {
    local p cmd skip=" " a=$BASHPID
    while [ -n "$a" ] && [ "$a" != 0 ]; do
        skip+="$a "
        a=$(awk '/^PPid:/ {print $2}' "/proc/$a/status" 2> /dev/null)
    done
    for p in $( (grep -lsaF -- "SPTEST_RMQ_MARK=$SPTEST_RMQ_MARK" /proc/[0-9]*/environ | cut -d/ -f3
        pgrep -f -- "$T") 2> /dev/null | sort -un); do
        case $skip in *" $p "*) continue ;; esac
        cmd=$( (tr '\0' ' ' < "/proc/$p/cmdline") 2> /dev/null | cut -c1-200) || cmd=
        # Empty: gone, or a zombie.
        if [ -n "$cmd" ]; then
            echo "$p $cmd"
        fi
    done
    return 0
}

# rmq_kill_leftovers: end every process rmq_leftovers lists: SIGTERM first,
# so that a netns or cluster part still running deletes its namespaces in
# its own trap (and a node shuts down), then, after at most 40 s, SIGKILL.
rmq_kill_leftovers() {
    local p i alive pids
    pids=$(rmq_leftovers | cut -d' ' -f1)
    [ -n "$pids" ] || return 0
    for p in $pids; do
        kill -TERM "$p" 2> /dev/null
    done
    for ((i = 0; i < 400; i++)); do
        alive=0
        for p in $pids; do
            proc_dead "$p" || alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in $(rmq_leftovers | cut -d' ' -f1); do
        kill -KILL "$p" 2> /dev/null
    done
    return 0
}
