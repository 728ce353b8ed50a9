#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Goal of this test:
# - the ExecStartPre= and ExecStart= lines of sealpiped@.service, expanded
#   the way systemd expands them with an example environment file
#   (/etc/sealpipe/NAME.conf) and a key directory (${KEYS}), form command
#   lines that the real sealpiped accepts: ExecStartPre= as it is (it
#   already has --check), ExecStart= with --check added and -F removed, so
#   that nothing binds or stays running;
# - the two lines carry the same arguments (apart from --check), so the
#   pre-start check validates what will run.
#
# Usage: check-execstart.sh UNIT KEY ENVFILE...
# UNIT is the unit configured with this build's bindir; KEY is copied,
# mode 0600, into a temporary key directory (mode 0700) that stands in for
# /etc/sealpipe/NAME.keys, the unit's ${KEYS}.
#
# What systemd does that this emulates (systemd.service(5), "Command
# lines"): "${NAME}" inside a word is replaced by the value, which stays one
# word; "$NAME" as a word of its own is replaced by the value split at
# whitespace (nothing if empty). Environment files (systemd.exec(5)): KEY=
# VALUE lines, "#" or ";" comments, whitespace around the value dropped,
# one pair of enclosing double or single quotes removed. Quoting inside
# the unit's command lines, backslash escapes and line continuations are
# not handled; the script fails if it meets them rather than guess.
#
# The workstation examples name broker.example.net, which does not resolve
# (and --check resolves -t): the host of a TARGET that does not resolve is
# replaced by localhost, with a note, and everything else is kept.
set -euo pipefail

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ $# -ge 3 ] || fail "usage: $0 UNIT KEY ENVFILE..."
unit=$1
key=$2
shift 2

T=$(mktemp -d /tmp/spx.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -m 0700 "$T/keys"
cp "$key" "$T/keys/example.key"
chmod 0600 "$T/keys/example.key"

# unit_line KEY: the value of the one KEY= line of the [Service] section.
unit_line() {
    local n
    n=$(grep -c "^$1=" "$unit" || true)
    [ "$n" -eq 1 ] || fail "$unit: expected one $1= line, found $n"
    grep "^$1=" "$unit" | cut -d= -f2-
}

# read_env FILE: fill the associative array ENV from a systemd
# environment file.
declare -A ENV
read_env() {
    local line k v
    ENV=()
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line#"${line%%[![:space:]]*}"}
        case "$line" in
        '' | '#'* | ';'*) continue ;;
        esac
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || fail "$1: not KEY=VALUE: $line"
        k=${BASH_REMATCH[1]}
        v=${BASH_REMATCH[2]}
        v=${v#"${v%%[![:space:]]*}"}
        v=${v%"${v##*[![:space:]]}"}
        [[ $v == *\\* ]] && fail "$1: backslashes are not handled by this check: $line"
        if [[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]]; then
            v=${BASH_REMATCH[1]}
        fi
        ENV[$k]=$v
    done < "$1"
}

# expand LINE: set the array WORDS to the command line after systemd's
# variable expansion.
expand() {
    local w name value rest out
    local -a raw
    WORDS=()
    [[ $1 == *[\"\'\\]* ]] && fail "quoting in the unit's command line is not handled: $1"
    read -ra raw <<< "$1"
    for w in "${raw[@]}"; do
        if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
            value=${ENV[${BASH_REMATCH[1]}]-}
            # shellcheck disable=SC2206 # split at whitespace, as systemd
            local -a split=($value)
            WORDS+=("${split[@]}")
            continue
        fi
        out=
        rest=$w
        while [[ $rest =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ ]]; do
            name=${BASH_REMATCH[2]}
            out+=${BASH_REMATCH[1]}${ENV[$name]-}
            rest=${BASH_REMATCH[3]}
        done
        [[ $rest == *\$* ]] && fail "unhandled \$ in word '$w'"
        WORDS+=("$out$rest")
    done
}

grep -qx 'Environment=KEYS=/etc/sealpipe/%i.keys' "$unit" \
    || fail "$unit: expected Environment=KEYS=/etc/sealpipe/%i.keys"
pre_line=$(unit_line ExecStartPre)
start_line=$(unit_line ExecStart)
set -f # the expanded words hold [addresses], which are glob patterns

for envfile in "$@"; do
    name=$(basename "$envfile" .conf)
    read_env "$envfile"
    case "${ENV[MODE]-}" in
    -e | -d) ;;
    *) fail "$envfile: MODE must be -e or -d, not '${ENV[MODE]-}'" ;;
    esac
    for v in SOURCE TARGET; do
        [ -n "${ENV[$v]-}" ] || fail "$envfile: $v is not set"
    done
    host=${ENV[TARGET]%:*}
    if [[ $host != \[* && $host != /* ]] && ! getent hosts "$host" > /dev/null; then
        echo "note: $name: $host does not resolve here; checking with localhost instead"
        ENV[TARGET]=localhost:${ENV[TARGET]##*:}
    fi
    ENV[KEYS]=$T/keys
    # The unit's Environment= defaults, unless the file sets them.
    while IFS= read -r line; do
        k=${line#Environment=}
        k=${k%%=*}
        [ "$k" = KEYS ] || [ -n "${ENV[$k]+set}" ] || ENV[$k]=${line#Environment=*=}
    done < <(grep '^Environment=' "$unit")

    expand "$pre_line"
    pre=("${WORDS[@]}")
    expand "$start_line"
    start=("${WORDS[@]}")

    [ -x "${start[0]}" ] || fail "ExecStart binary ${start[0]} is not executable"
    [ "${start[1]}" = -F ] || fail "ExecStart must run sealpiped in the foreground (-F first)"
    [ "${pre[1]}" = --check ] || fail "ExecStartPre must be sealpiped --check"
    [ "${pre[*]:0:1} ${pre[*]:2}" = "${start[*]}" ] \
        || fail "ExecStartPre and ExecStart differ beyond --check:
  pre:   ${pre[*]}
  start: ${start[*]}"

    # ExecStartPre as it is.
    "${pre[@]}" > "$T/pre.out" 2>&1 || fail "$name: ExecStartPre failed (exit $?): ${pre[*]}
$(cat "$T/pre.out")"
    grep -q "configuration OK" "$T/pre.out" || fail "$name: no 'configuration OK': $(cat "$T/pre.out")"

    # ExecStart with --check and without -F.
    check=("${start[0]}" --check)
    for w in "${start[@]:1}"; do
        [ "$w" = -F ] || check+=("$w")
    done
    "${check[@]}" > "$T/start.out" 2>&1 || fail "$name: ExecStart rejected (exit $?): ${check[*]}
$(cat "$T/start.out")"
    case "${ENV[MODE]}" in
    -e) want="encrypt (-e)" ;;
    -d) want="decrypt (-d)" ;;
    esac
    grep -qF "$want" "$T/start.out" || fail "$name: mode '$want' not in the plan: $(cat "$T/start.out")"
    grep -qF "listen:      ${ENV[SOURCE]}" "$T/start.out" \
        || fail "$name: source ${ENV[SOURCE]} not in the plan: $(cat "$T/start.out")"
    echo "ok: $name: ${check[*]}"
done
