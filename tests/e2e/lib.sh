#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Shared helpers for the end-to-end tests; every tests/e2e/NN-*.sh sources
# this file. Each test gets a short temporary directory ($T), starts real
# processes on loopback or Unix sockets in it, and cleans up in a trap,
# printing every log if the test failed.
#
# Environment (set by tests/meson.build): SEALPIPED, SEALPIPE, SPTEST,
# SRCDIR, and SP_SCALE (divides data sizes, e.g. under valgrind).
set -euo pipefail

: "${SEALPIPED:?}" "${SPTEST:?}" "${SRCDIR:?}"
SP_SCALE=${SP_SCALE:-1}
# Slower runs (valgrind) widen the upper bounds of timing checks by this
# factor; lower bounds never change (firing early is always a bug).
SP_SLOW=${SP_SLOW:-1}
WAIT_MS=${WAIT_MS:-$((10000 * SP_SLOW))}
# Under valgrind, every sealpiped and sealpipe the tests start is wrapped
# (make valgrind sets SP_WRAP to the valgrind command line).
SP_WRAP=${SP_WRAP:-}

T=$(mktemp -d /tmp/spe.XXXXXX)
BG_PIDS=()
SKIPPED_PARTS=()
DAEMON_PIDFILES=()

if [ -n "$SP_WRAP" ]; then
    mkdir "$T/bin"
    for prog in SEALPIPED SEALPIPE; do
        real=${!prog:-}
        [ -n "$real" ] || continue
        # The binary itself, for a run as another user, who could not
        # write valgrind's log (SEALPIPED_UNWRAPPED, SEALPIPE_UNWRAPPED).
        eval "${prog}_UNWRAPPED=\$real"
        printf '#!/bin/sh\nexec %s %s "$@"\n' "$SP_WRAP" "$real" > "$T/bin/${prog,,}"
        chmod +x "$T/bin/${prog,,}"
        eval "$prog=\$T/bin/\${prog,,}"
    done
    SP_WRAP="" # the wrappers do it now
    SP_WRAPPED=1 # e.g. RSS figures include the wrapper's own memory
fi

# --- What differs between Linux and FreeBSD: the only place e2e scripts
# read /proc or use an option one system's tools lack (lint-e2e-portable
# keeps it so). A test that needs a Linux-only feature calls require_linux.
SP_OS=$(uname -s)

# require_linux WHAT: exit 77 (SKIP) unless this is Linux, which WHAT
# needs (network namespaces, Landlock, seccomp, systemd, /proc/PID/status).
require_linux() {
    [ "$SP_OS" = Linux ] && return 0
    echo "SKIP: needs Linux ($*)"
    exit 77
}

# alive PID: the process exists and is not a zombie. A daemonized
# sealpiped is the child of PID 1, which may take a second or more to reap
# it (kill -0 succeeds on a zombie), and a dead daemon is what we wait for.
alive() {
    local st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# now_ms: milliseconds of the wall clock, from bash itself (no date +%N,
# which FreeBSD's date lacks).
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
}

# file_size FILE: its size in bytes.
file_size() {
    wc -c < "$1" | tr -d ' '
}

# file_mode FILE: its permission bits in octal (e.g. 660).
file_mode() {
    if [ "$SP_OS" = Linux ]; then stat -c %a "$1"; else stat -f %Lp "$1"; fi
}

# proc_args PID: the process's command line (argv, space-separated).
proc_args() {
    ps -ww -o args= -p "$1"
}

# ctx_switches PID: the context switches the process has made (voluntary
# and not, all threads of the main one): how often it woke up.
ctx_switches() {
    if [ "$SP_OS" = Linux ]; then
        awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n}' "/proc/$1/status"
    else
        ps -o nvcsw=,nivcsw= -p "$1" | awk '{print $1 + $2}'
    fi
}

# rss_kib PID: the process's resident set, in KiB.
rss_kib() {
    ps -o rss= -p "$1" | tr -d ' '
}

# strays TEXT: the pids of processes (other than this shell) whose command
# line contains TEXT.
strays() {
    local pid args
    while read -r pid args; do
        { [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ]; } && continue
        case $args in *"$1"*) echo "$pid" ;; esac
    done < <(ps -ax -o pid=,args=)
}

cleanup() {
    local rc=$?
    set +e
    # A test that passed but could not run some part says so with exit 77,
    # which meson reports as SKIP: it never shows green for what it did not
    # test (issue 16).
    if [ "$rc" -eq 0 ] && [ "${#SKIPPED_PARTS[@]}" -gt 0 ]; then
        echo "SKIP: not run here: ${SKIPPED_PARTS[*]}"
        rc=77
    fi
    # Stop daemons with SIGTERM first, so leak checkers (LeakSanitizer,
    # valgrind) run at their exit; kill what is left.
    local pids=() pf p i
    for pf in "${DAEMON_PIDFILES[@]}"; do
        [ -s "$pf" ] && pids+=("$(cat "$pf")")
    done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done # second: abort
    for ((i = 0; i < 100 * SP_SLOW; i++)); do
        local alive=0
        for p in "${pids[@]}"; do alive "$p" && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.05
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${BG_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    wait 2>/dev/null
    # Whatever else this test started: a daemon that detached where the
    # test expected a refusal (as under a mutant) is in no list, but names
    # a file in $T. Every process must end with the test (issue 25 item 7).
    local stray
    stray=$(strays "$T/")
    if [ -n "$stray" ]; then
        echo "cleanup: stopping what this test left running: $(echo $stray)"
        kill -TERM $stray 2>/dev/null
        for ((i = 0; i < 40 * SP_SLOW; i++)); do
            [ -z "$(strays "$T/")" ] && break
            sleep 0.05
        done
        kill -9 $(strays "$T/") 2>/dev/null
    fi
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        echo "=== FAILED ($rc); logs in $T:"
        for f in "$T"/*.log "$T"/*.events; do
            [ -e "$f" ] || continue
            echo "--- $f (warnings and errors, then the last lines)"
            grep -E "warning|error" "$f" | head -n 40
            echo "..."
            tail -n 30 "$f"
        done
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
# meson ends a test that timed out with SIGTERM: exit, so that the cleanup
# above still stops what the test started.
trap 'exit 143' TERM INT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

pass() {
    echo "ok: $*"
}

# skip_part WHY: this part of the test cannot run here. The test goes on
# with the rest, and exits 77 (SKIP) instead of 0 at the end.
skip_part() {
    echo "skip: $*"
    SKIPPED_PARTS+=("$*;")
}

# A private copy of the example key with mode 0600 (git keeps no modes).
key() {
    cp "$SRCDIR/keys-example/example.key" "$T/$1"
    chmod 0600 "$T/$1"
    echo "$T/$1"
}

# A fresh random key (a "wrong" key for the other side).
random_key() {
    head -c 32 /dev/urandom > "$T/$1"
    chmod 0600 "$T/$1"
    echo "$T/$1"
}

# A free port, never one already handed out in this test: two calls before
# anything binds could otherwise get the same one (and a daemon would then
# fail to bind, or a client reach the wrong listener). $(port) runs in a
# subshell, so the list is a file.
port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$("$SPTEST" free-port)
        if ! grep -qx "$p" "$T/.ports" 2>/dev/null; then
            echo "$p" >> "$T/.ports"
            echo "$p"
            return 0
        fi
    done
    fail "no fresh free port after 50 tries"
}

# Data sizes scale down under valgrind.
mb() {
    echo $(( $1 * 1024 * 1024 / SP_SCALE ))
}

random_file() {
    head -c "$2" /dev/urandom > "$1"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# start_bg NAME CMD...: run CMD in the background, output to $T/NAME.log.
start_bg() {
    local name=$1
    shift
    "$@" > "$T/$name.log" 2>&1 &
    BG_PIDS+=($!)
    eval "PID_${name//[^a-zA-Z0-9_]/_}=$!"
}

# start_listener NAME CMD...: start_bg for an sptest server, then wait
# until it prints that it is listening.
start_listener() {
    local name=$1
    start_bg "$@"
    wait_for log_has "$name" "^listening on"
}

# start_daemon NAME ARGS...: start sealpiped daemonized with a pidfile in
# $T. The launcher returns only once the daemon has bound its socket
# (or failed), so no waiting is needed after it.
start_daemon() {
    local name=$1
    shift
    local pf="$T/$name.pid"
    DAEMON_PIDFILES+=("$pf")
    $SP_WRAP "$SEALPIPED" -p "$pf" "$@" 2>> "$T/$name.log" \
        || fail "sealpiped $name did not start (exit $?): $(tail -n 3 "$T/$name.log")"
    [ -s "$pf" ] || fail "no pidfile for $name"
    eval "PID_${name//[^a-zA-Z0-9_]/_}=$(cat "$pf")"
}

# stop_daemon NAME: SIGTERM and wait for the process to exit.
stop_daemon() {
    local pid
    pid=$(cat "$T/$1.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    wait_gone "$pid" 30000
}

# wait_gone PID [MS]: wait for a (non-child) process to exit.
wait_gone() {
    local i
    for ((i = 0; i < ${2:-10000} * SP_SLOW / 20; i++)); do
        alive "$1" || return 0
        sleep 0.02
    done
    fail "process $1 still running"
}

# poll_for CMD...: poll a condition (every 20 ms, up to $WAIT_MS ms);
# returns 1 if it never held, for a caller with its own message.
poll_for() {
    local i
    for ((i = 0; i < WAIT_MS / 20; i++)); do
        "$@" && return 0
        sleep 0.02
    done
    return 1
}

# wait_for CMD...: poll_for, failing the test if the condition never held.
wait_for() {
    poll_for "$@" || fail "timed out waiting for: $*"
}

# log_has NAME PATTERN: the log of NAME matches PATTERN (grep -E).
log_has() {
    grep -Eq -- "$2" "$T/$1.log"
}

log_count() {
    grep -Ec -- "$2" "$T/$1.log" || true
}

# fd_count PID: its open file descriptors.
fd_count() {
    if [ "$SP_OS" = Linux ]; then
        ls "/proc/$1/fd" | wc -l
    else
        procstat -f "$1" | awk 'NR > 1 && $3 ~ /^[0-9]+$/' | wc -l
    fi
}

# An echo server on ADDR logging to $T/NAME.log; waits until it accepts.
start_echo() {
    local name=$1 addr=$2
    shift 2
    : > "$T/$name.events"
    start_listener "$name" "$SPTEST" echo "$addr" --log "$T/$name.events" "$@"
}

# A relay (man in the middle) from LISTEN to TARGET with actions.
start_relay() {
    local name=$1 listen=$2 target=$3
    shift 3
    : > "$T/$name.events"
    start_listener "$name" "$SPTEST" relay "$listen" "$target" --log "$T/$name.events" "$@"
}

# The number of connections the echo server NAME has accepted.
accepted() {
    grep -c '^accept' "$T/$1.events" || true
}

# lines_at_least FILE PATTERN N: at least N lines of FILE match PATTERN
# (grep -E). For wait_for: the count is taken anew on every try.
lines_at_least() {
    [ "$(grep -Ec -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ]
}

# accepted_at_least NAME N: for wait_for.
accepted_at_least() {
    [ "$(accepted "$1")" -ge "$2" ]
}
