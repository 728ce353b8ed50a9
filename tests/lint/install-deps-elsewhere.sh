#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# scripts/install-deps on a system without apt says what to install instead
# of failing obscurely: on FreeBSD the pkg(8) names that pkg info -e does
# not find (exit 1), nothing when all are there (exit 0); elsewhere the
# Debian names. Run with a PATH that has no dpkg-query, and stand-ins for
# uname(1) and pkg(8).
# usage: install-deps-elsewhere.sh SRCDIR
set -eu
src=${1:?usage: install-deps-elsewhere.sh SRCDIR}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir "$d/bin"
for t in sh sed tr sort cat id grep; do ln -s "$(command -v "$t")" "$d/bin/"; done
printf '#!/bin/sh\necho FreeBSD\n' > "$d/bin/uname"
# pkg info -e NAME: installed if NAME is in $d/installed.
printf '#!/bin/sh\ngrep -qx "$3" %s/installed\n' "$d" > "$d/bin/pkg"
chmod +x "$d/bin/uname" "$d/bin/pkg"
echo meson > "$d/installed"
fail() { echo "install-deps-elsewhere: $*"; exit 1; }

s=0
out=$(PATH=$d/bin sh "$src/scripts/install-deps" test 2>&1) || s=$?
[ "$s" -eq 1 ] || fail "FreeBSD, packages missing: exit $s, expected 1"
case $out in
*"pkg install gmake bash ninja pkgconf libsodium libevent cli11 doctest python3"*) ;;
*) fail "FreeBSD: $out" ;;
esac
case $out in *meson*) fail "FreeBSD: names meson, which is installed: $out" ;; esac

printf '%s\n' gmake bash meson ninja pkgconf libsodium libevent cli11 doctest > "$d/installed"
PATH=$d/bin sh "$src/scripts/install-deps" build > "$d/out" 2>&1 || fail "FreeBSD, all installed: $(cat "$d/out")"

rm "$d/bin/uname"
printf '#!/bin/sh\necho Linux\n' > "$d/bin/uname"
chmod +x "$d/bin/uname"
s=0
out=$(PATH=$d/bin sh "$src/scripts/install-deps" build 2>&1) || s=$?
[ "$s" -eq 1 ] || fail "not Debian: exit $s, expected 1"
case $out in *"not Debian"*libsodium-dev*) ;; *) fail "not Debian: $out" ;; esac
echo "install-deps-elsewhere: FreeBSD and other systems are told what to install"
