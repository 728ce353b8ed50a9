#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Check that the man pages state the defaults of src/app/defaults.hpp, the
# one table the option parsers and --help use.
#
# usage: check-defaults.sh DEFAULTS_HPP PAGE [PAGE ...]
#
# For every row X(NAME, "--option", value) of the table (and --cipher's
# "auto", --protocol's "sealpipe" and --sandbox's "auto"), each PAGE that has an ".It Fl -option" item must say, in that
# item, "default is VALUE" or "default, VALUE" (mdoc macros such as .Cm are
# read as their words). A page without the option is not checked for it.
# Each mismatch is printed; the exit status is 1 if any, 0 otherwise.

set -eu
table=${1:?usage: check-defaults.sh DEFAULTS_HPP PAGE [PAGE ...]}
shift
rows=$(sed -n 's/^ *X([A-Z_]*, "\(--[a-z-]*\)", \([0-9.]*\)).*/\1 \2/p' "$table")
cipher=$(sed -n 's/^inline constexpr const char \*CIPHER = "\([a-z0-9-]*\)";.*/\1/p' "$table")
protocol=$(sed -n 's/^inline constexpr const char \*PROTOCOL = "\([a-z0-9-]*\)";.*/\1/p' "$table")
sandbox=$(sed -n 's/^inline constexpr const char \*SANDBOX = "\([a-z0-9-]*\)";.*/\1/p' "$table")
rows="$rows
--cipher $cipher
--protocol $protocol
--sandbox $sandbox"
[ "$(printf '%s\n' "$rows" | wc -l)" -ge 10 ] || { echo "check-defaults: cannot read $table" >&2; exit 1; }

status=0
for page in "$@"; do
    printf '%s\n' "$rows" | while read -r opt value; do
        # The item's text: from its .It line to the next .It, macros read as words.
        item=$(awk -v opt="$opt" '
            /^\.It / { inside = 0; for (i = 2; i <= NF; i++) if ($i == "Fl" && "-" $(i + 1) == opt) inside = 1; next }
            /^\.(El|Sh)/ { inside = 0 }
            inside { line = $0; sub(/^\.[A-Z][a-z] /, "", line); printf "%s ", line }' "$page" |
            sed 's/ ,/,/g; s/  */ /g')
        [ -n "$item" ] || continue
        if ! printf '%s\n' "$item" | grep -Eq "[Dd]efault( is|,) $value([^0-9A-Za-z]|\$)"; then
            echo "$page: $opt: the page does not say its default is $value" >&2
            exit 1
        fi
    done || status=1
done
exit $status
