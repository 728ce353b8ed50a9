#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Check that a program's --help and its man page list the same options.
#
# usage: check-options.sh PROGRAM PAGE [PROGRAM PAGE ...]
#
# For each pair, every option that `PROGRAM --help` prints (--long, -x, and
# the letters of a bracketed cluster such as [-DFj]) must appear in PAGE as
# an mdoc .Fl token (`Fl -heartbeat`, `Fl k`, or a cluster `Fl DFj`), and
# every option PAGE marks with .Fl must appear in --help. Each missing option
# is printed; the exit status is 1 if any is missing, 0 otherwise.
# Run by `meson test --suite lint` (test man-options, see man/meson.build).

set -eu
set -f # option names are never globs

if [ $# -eq 0 ] || [ $(($# % 2)) -ne 0 ]; then
    echo "usage: $0 PROGRAM PAGE [PROGRAM PAGE ...]" >&2
    exit 2
fi

# Options mentioned anywhere in the --help text. A dash inside a word
# (re-resolve, aes-256-gcm) does not start an option.
# shellcheck disable=SC2016 # an awk program: its $0 is awk's, not the shell's
help_awk='
{
    line = $0
    while (match(line, /--?[A-Za-z][A-Za-z0-9-]*/)) {
        tok = substr(line, RSTART, RLENGTH)
        before = RSTART > 1 ? substr(line, RSTART - 1, 1) : ""
        after = substr(line, RSTART + RLENGTH, 1)
        line = substr(line, RSTART + RLENGTH)
        if (before ~ /[A-Za-z0-9_-]/)
            continue
        if (substr(tok, 1, 2) == "--" || length(tok) == 2)
            print tok
        else if (before == "[" && after == "]" && tok ~ /^-[A-Za-z]+$/)
            for (i = 2; i <= length(tok); i++)
                print "-" substr(tok, i, 1)
    }
}'

# Options the page marks with the mdoc macro Fl, on macro lines only (not in
# literal examples). The word after Fl is the flag without its first dash;
# a word of letters other than a macro name (Ar, Ns) is a cluster like DFj.
# shellcheck disable=SC2016 # an awk program: its $i are awk's fields
man_awk='
/^\.\\"/ { next }
/^[.\047]/ {
    for (i = 1; i < NF; i++) {
        if ($i != "Fl" && !(i == 1 && $i == ".Fl"))
            continue
        w = $(i + 1)
        if (w ~ /^-[A-Za-z][A-Za-z0-9-]*$/ || w ~ /^[A-Za-z0-9]$/)
            print "-" w
        else if (w ~ /^[A-Za-z]+$/ && w !~ /^[A-Z][a-z]$/)
            for (j = 1; j <= length(w); j++)
                print "-" substr(w, j, 1)
    }
}'

# missing_from LIST SET: the lines of LIST that are not lines of SET.
missing_from() {
    printf '%s\n' "$2" | awk -v list="$1" '
        { have[$0] = 1 }
        END {
            n = split(list, l, "\n")
            for (i = 1; i <= n; i++)
                if (l[i] != "" && !(l[i] in have))
                    print l[i]
        }'
}

status=0
while [ $# -gt 0 ]; do
    prog=$1
    page=$2
    shift 2
    name=$(basename "$prog")

    if ! help=$("$prog" --help); then
        echo "$name --help failed" >&2
        status=1
        continue
    fi
    if [ ! -r "$page" ]; then
        echo "cannot read $page" >&2
        status=1
        continue
    fi

    help_opts=$(printf '%s\n' "$help" | awk "$help_awk" | sort -u)
    man_opts=$(awk "$man_awk" "$page" | sort -u)
    if [ -z "$help_opts" ]; then
        echo "$name --help printed no options" >&2
        status=1
        continue
    fi

    for opt in $(missing_from "$help_opts" "$man_opts"); do
        echo "$page: missing $opt (printed by $name --help)"
        status=1
    done
    for opt in $(missing_from "$man_opts" "$help_opts"); do
        echo "$name --help: missing $opt (documented in $page)"
        status=1
    done
done
exit "$status"
