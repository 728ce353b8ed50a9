#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The end-to-end scripts would run on FreeBSD (issue 24): what differs
# between the systems lives in tests/e2e/lib.sh's helpers (now_ms,
# file_size, file_mode, proc_args, rss_kib, fd_count, alive), and a script
# that needs a Linux-only feature says so with require_linux (or, before
# lib.sh, a "needs Linux" skip), which exits 77 elsewhere.
#
# usage: e2e-portable.sh DIR...   (each DIR's *.sh but lib.sh)
#        e2e-portable.sh --self-test
# Fails, naming file and line, on:
# - GNU-only forms anywhere: stat -c, date +...%N, sed -i, grep -P;
# - Linux-only ones (/proc/, ss, unshare, ip netns/link, runuser,
#   sysctl net.*, systemd-*) in a script without require_linux.
set -eu

gnu='stat -c|date \+[^ ]*%N|sed -i|grep -[a-zA-Z]*P'
linux='/proc/|(^|[ ;(|])ss -|unshare |ip (netns|link)|runuser |sysctl .*net\.|systemd-'

check() { # check FILE: print its problems, one line each
    body=$(sed 's/^[[:space:]]*#.*//; s/[[:space:]]#[[:space:]].*//' "$1")
    printf '%s\n' "$body" | grep -nE -- "$gnu" | sed "s|^|$1:|; s|\$|  <- GNU-only: use lib.sh's helper|" || true
    if ! grep -qE 'require_linux|needs Linux' "$1"; then
        printf '%s\n' "$body" | grep -nE -- "$linux" |
            sed "s|^|$1:|; s|\$|  <- Linux-only: use lib.sh's helper, or require_linux|" || true
    fi
}

if [ "${1-}" = --self-test ]; then
    d=$(mktemp -d)
    trap 'rm -rf "$d"' EXIT
    status=0
    for bad in 'n=$(stat -c %s f)' 't=$(date +%s%N)' 'sed -i s/a/b/ f' 'grep -oP x f' \
        'cat /proc/$pid/status' 'ss -tn' 'unshare -n true' 'ip netns add x' \
        'runuser -u nobody true' 'sysctl -w net.ipv6.bindv6only=1'; do
        printf '#!/bin/bash\n%s\n' "$bad" > "$d/t.sh"
        if [ -z "$(check "$d/t.sh")" ]; then
            echo "self-test: not caught: $bad"
            status=1
        fi
    done
    for good in '# a comment about /proc/ and stat -c' 'n=$(file_size f)' \
        'require_linux x; cat /proc/1/status'; do
        printf '#!/bin/bash\n%s\n' "$good" > "$d/t.sh"
        if [ -n "$(check "$d/t.sh")" ]; then
            echo "self-test: wrongly caught: $good"
            status=1
        fi
    done
    [ "$status" -eq 0 ] && echo "e2e-portable: self-test ok (10 forms caught, 3 allowed)"
    exit "$status"
fi

problems=
for dir in "$@"; do
    for f in "$dir"/*.sh; do
        [ "${f##*/}" = lib.sh ] && continue
        out=$(check "$f")
        [ -z "$out" ] || problems="$problems$out
"
    done
done
if [ -n "$problems" ]; then
    printf '%s' "$problems"
    echo "e2e-portable: Linux- or GNU-only forms outside tests/e2e/lib.sh (see its helpers)"
    exit 1
fi
echo "e2e-portable: every script is portable or says require_linux"
