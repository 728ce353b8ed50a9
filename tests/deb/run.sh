#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# make test-deb: the Debian package, built and installed for real on this
# machine, then purged. Goal of this test:
# - scripts/make-deb builds sealpipe_VERSION_ARCH.deb from a clean copy of
#   the tree, and lintian finds no error and no warning in it;
# - apt-get install ./sealpipe_*.deb installs both programs (a release
#   build: no test knobs), the man pages, the template units where
#   Debian's systemd looks, the sysusers file and the examples (never the
#   public example.key); creates the system user and group sealpipe
#   (nologin, no home) and /etc/sealpipe (0750 root:sealpipe); starts and
#   enables nothing;
# - a key made by the installed sealpiped --keygen in /etc/sealpipe, and a
#   -d/-e pair of the installed daemon run as the sealpipe user, carry
#   1 MiB intact both ways, and so does the installed sealpipe client;
# - systemd-analyze verify accepts the installed unit, Documentation=
#   included (the man page is installed);
# - apt-get purge removes every file of the package, but keeps
#   /etc/sealpipe while it holds the operator's key, and the sealpipe user
#   that owns it; once the key is gone, install and purge again leave no
#   directory, user or group behind.
# usage: tests/deb/run.sh BUILD  (BUILD: a test build, for sptest)
set -euo pipefail
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD}" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: installs a package: needs root"
    exit 77
fi
if dpkg-query -W -f='${Status}' sealpipe 2> /dev/null | grep -q "ok installed"; then
    echo "test-deb: sealpipe is installed on this machine already; remove it first" >&2
    exit 1
fi
export SRCDIR SPTEST=$BUILD/tests/sptest SEALPIPED=/usr/bin/sealpiped SEALPIPE=/usr/bin/sealpipe
unset SP_WRAP
. "$SRCDIR/tests/e2e/lib.sh"
RUN=/run/sealpipe-test-deb

# Whatever happens, nothing of the package stays on this machine.
finish() {
    local rc=$?
    set +e
    for pf in "$RUN"/*.pid; do [ -s "$pf" ] && kill -TERM "$(cat "$pf")" 2> /dev/null; done
    sleep 0.2
    for pf in "$RUN"/*.pid; do [ -s "$pf" ] && kill -KILL "$(cat "$pf")" 2> /dev/null; done
    if dpkg-query -W -f='${Status}' sealpipe 2> /dev/null | grep -q installed; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sealpipe > /dev/null 2>&1
    fi
    rm -f /etc/sealpipe/test.key
    rmdir /etc/sealpipe 2> /dev/null
    getent passwd sealpipe > /dev/null && deluser --system --quiet sealpipe
    getent group sealpipe > /dev/null && delgroup --system --quiet sealpipe
    rm -rf "$RUN"
    (exit "$rc")
    cleanup
}
trap finish EXIT

apt_() {
    DEBIAN_FRONTEND=noninteractive apt-get "$@" -y -qq > "$T/apt.log" 2>&1 \
        || fail "apt-get $*: $(tail -n 20 "$T/apt.log")"
}
# mode_owner PATH: "MODE USER GROUP".
mode_owner() {
    stat -c '%a %U %G' "$1"
}

t0=$SECONDS
deb=$("$SRCDIR/scripts/make-deb" "$SRCDIR/build-deb" | tail -n 1)
case $deb in */sealpipe_*_*.deb) ;; *) fail "make-deb printed no package: $deb" ;; esac
pass "make deb: $(basename "$deb") in $((SECONDS - t0)) s"

lintian --fail-on error,warning "${deb%_*}_$(dpkg-architecture -qDEB_HOST_ARCH).changes" \
    > "$T/lintian.log" 2>&1 || fail "lintian: $(cat "$T/lintian.log")"
if grep -E '^[EW]: ' "$T/lintian.log"; then fail "lintian found errors or warnings"; fi
pass "lintian: no error, no warning"

apt_ install "$deb"
for f in /usr/bin/sealpiped /usr/bin/sealpipe; do
    [ "$(mode_owner "$f")" = "755 root root" ] || fail "$f: $(mode_owner "$f")"
done
for f in /lib/systemd/system/sealpiped@.service /lib/systemd/system/sealpiped@.socket \
    /usr/lib/sysusers.d/sealpipe.conf /usr/share/man/man1/sealpiped.1.gz \
    /usr/share/man/man1/sealpipe.1.gz /usr/share/doc/sealpipe/copyright \
    /usr/share/doc/sealpipe/README.Debian /usr/share/doc/sealpipe/examples/amqp.conf; do
    [ "$(mode_owner "$f")" = "644 root root" ] || fail "$f: $(mode_owner "$f" 2>&1)"
done
dpkg -L sealpipe | grep -q 'example\.key' && fail "the package ships the public example.key"
/usr/bin/sealpiped -v 2>&1 | grep -qi "test build" && fail "the package holds a test build: $(/usr/bin/sealpiped -v 2>&1)"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd sealpipe) || fail "no user sealpipe"
[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] \
    || fail "user sealpipe: $(getent passwd sealpipe)"
[ "$(getent group sealpipe | cut -d: -f3)" = "$gid" ] || fail "group sealpipe is not the user's group"
[ ! -e /nonexistent ] || fail "a home directory was made"
[ "$(mode_owner /etc/sealpipe)" = "750 root sealpipe" ] || fail "/etc/sealpipe: $(mode_owner /etc/sealpipe)"
pgrep -x sealpiped > /dev/null && fail "installing started a sealpiped"
ls /etc/systemd/system/*.wants/sealpiped* 2> /dev/null && fail "installing enabled a unit"
pass "installed: programs, man pages, units, sysusers, examples, user sealpipe, /etc/sealpipe 0750 root:sealpipe; nothing started"

# A pipe, as the package's user, with a key from the package's --keygen.
/usr/bin/sealpiped --keygen /etc/sealpipe/test.key > "$T/keygen.log" 2>&1 \
    || fail "--keygen: $(cat "$T/keygen.log")"
chown sealpipe:sealpipe /etc/sealpipe/test.key
[ "$(mode_owner /etc/sealpipe/test.key)" = "400 sealpipe sealpipe" ] \
    || fail "key: $(mode_owner /etc/sealpipe/test.key)"
install -d -m 0755 "$RUN"
install -d -m 0700 -o sealpipe -g sealpipe "$RUN/pids"
echo_addr="[127.0.0.1]:$(port)"
d_addr="[127.0.0.1]:$(port)"
e_addr="[127.0.0.1]:$(port)"
start_echo echo "$echo_addr"
as_sealpipe() {
    runuser -u sealpipe -- "$@"
}
as_sealpipe /usr/bin/sealpiped -d -s "$d_addr" -t "$echo_addr" -k /etc/sealpipe/test.key \
    -p "$RUN/pids/d.pid" 2>> "$T/d.log" || fail "-d did not start: $(cat "$T/d.log")"
as_sealpipe /usr/bin/sealpiped -e -s "$e_addr" -t "$d_addr" -k /etc/sealpipe/test.key \
    -p "$RUN/pids/e.pid" 2>> "$T/e.log" || fail "-e did not start: $(cat "$T/e.log")"
for p in d e; do
    [ "$(ps -o user= -p "$(cat "$RUN/pids/$p.pid")")" = sealpipe ] || fail "-$p does not run as sealpipe"
done
random_file "$T/in" 1048576
"$SPTEST" send "$e_addr" "$T/in" "$T/out" || fail "send through the pipe failed (exit $?)"
[ "$(sha "$T/out")" = "$(sha "$T/in")" ] || fail "the pipe changed the data"
as_sealpipe /usr/bin/sealpipe -t "$d_addr" -k /etc/sealpipe/test.key < "$T/in" > "$T/out2" 2> "$T/client.log" \
    || fail "sealpipe client: $(cat "$T/client.log")"
[ "$(sha "$T/out2")" = "$(sha "$T/in")" ] || fail "the client's echo differs"
pass "a -d/-e pair and the client, as user sealpipe with a --keygen key: 1 MiB intact both ways"
for p in d e; do
    pid=$(cat "$RUN/pids/$p.pid")
    kill -TERM "$pid"
    wait_gone "$pid"
done

# The installed unit, as systemd would load an instance of it.
d=$T/unit
mkdir "$d"
cp /lib/systemd/system/sealpiped@.service "$d/sealpiped@test.service"
cp /lib/systemd/system/sealpiped@.socket "$d/sealpiped@test.socket"
out=$(cd "$d" && systemd-analyze verify sealpiped@test.service sealpiped@test.socket 2>&1) \
    || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
pass "systemd-analyze verify: the installed units, Documentation=man:sealpiped(1) found"

# Purge with the operator's key in place: it stays, with its user.
apt_ purge sealpipe
for f in $(dpkg -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}'); do
    [ ! -e "$f" ] || fail "purge left $f"
done
[ -f /etc/sealpipe/test.key ] || fail "purge removed the operator's key"
getent passwd sealpipe > /dev/null || fail "purge removed the user that owns the kept key"
pass "purge: every file of the package gone; /etc/sealpipe with the operator's key kept, and its user"

rm /etc/sealpipe/test.key
apt_ install "$deb"
apt_ purge sealpipe
[ ! -e /etc/sealpipe ] || fail "purge left an empty /etc/sealpipe"
getent passwd sealpipe > /dev/null && fail "purge left the user sealpipe"
getent group sealpipe > /dev/null && fail "purge left the group sealpipe"
pass "purge without keys: no directory, user or group left"
