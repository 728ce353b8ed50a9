#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Nothing a test run started is still running (issue 25 item 7): make test
# runs this last (meson priority), make mutants after every test run.
# A process counts if its command line contains one of the TEXTs (the
# tests' temporary directories, /tmp/spe.*, and this build's binaries).
# Leftovers are named, stopped, and fail the check.
#
# usage: leftovers.sh TEXT...   |   leftovers.sh --self-test
set -u

find_them() { # find_them TEXT...: "pid command" of each match
    ps -ax -o pid=,args= | while read -r pid args; do
        [ "$pid" = "$$" ] && continue
        case $args in *leftovers.sh*) continue ;; esac
        for t in "$@"; do
            case $args in *"$t"*) echo "$pid $args"; break ;; esac
        done
    done
}

if [ "${1-}" = --self-test ]; then
    marker=/tmp/spe.leftovers-selftest-$$
    # Its output goes nowhere, so that a sleep outliving it holds no pipe
    # of the test runner's open.
    sh -c 'while :; do sleep 1; done' "$marker" > /dev/null 2>&1 &
    child=$!
    out=$(sh "$0" "$marker" 2>&1)
    rc=$?
    kill -9 "$child" 2>/dev/null
    if [ "$rc" -eq 1 ] && echo "$out" | grep -q "$marker"; then
        echo "leftovers: self-test ok (a process left running is found)"
        exit 0
    fi
    echo "leftovers: self-test: a process left running was not found (exit $rc): $out"
    exit 1
fi

left=$(find_them "$@")
[ -z "$left" ] && { echo "leftovers: nothing left running"; exit 0; }
echo "leftovers: still running after the tests:"
echo "$left"
echo "$left" | while read -r pid _; do kill -TERM "$pid" 2>/dev/null; done
sleep 1
echo "$left" | while read -r pid _; do kill -9 "$pid" 2>/dev/null; done
exit 1
