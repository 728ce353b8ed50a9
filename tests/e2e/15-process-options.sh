#!/bin/bash
# Goal of this test:
# - -u user:group drops privileges after the key (readable only by root)
#   was read and the socket bound: the daemon runs as nobody:nogroup and
#   still serves;
# - -b binds outgoing connections to a local address: the -d side sees the
#   client as coming from 127.0.0.2;
# - --syslog works with -F too (spiped ignores it there): lines reach
#   /dev/log. That part needs a private mount namespace for its own
#   /dev/log and is skipped, saying so, where unshare(1) is not allowed.
. "$(dirname "$0")/lib.sh"

k=$(key k)
chmod 0400 "$k" # root only: proves the key is read before the drop
printf 'hi\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"

if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null; then
    start_daemon d -d -s "$d" -t "$tgt" -k "$k" -u nobody:nogroup
    pid=$(cat "$T/d.pid")
    grep -Eq "^Uid:\s+65534\s+65534\s+65534\s+65534" "/proc/$pid/status" || fail "uid not dropped: $(grep Uid "/proc/$pid/status")"
    grep -Eq "^Gid:\s+65534\s+65534\s+65534\s+65534" "/proc/$pid/status" || fail "gid not dropped"
    groups=$(awk '/^Groups:/ {print $2}' "/proc/$pid/status")
    [ -z "$groups" ] || [ "$groups" = 65534 ] || fail "supplementary groups kept: $groups"
    pass "-u nobody:nogroup: running as 65534:65534"
else
    start_daemon d -d -s "$d" -t "$tgt" -k "$k"
    skip_part "-u needs root and a 'nobody' user"
fi

start_daemon e -e -s "$e" -t "$d" -k "$k" -b 127.0.0.2
"$SPTEST" send "$e" "$T/line" "$T/out" || fail "send through -u and -b failed"
cmp -s "$T/line" "$T/out" || fail "reply differs"
wait_for log_has d "conn [0-9]+ \[127\.0\.0\.2\]:[0-9]+: clean"
pass "-b 127.0.0.2: -d sees the client at 127.0.0.2; the unprivileged -d serves"

# --syslog with -F, in a private mount namespace with our own /dev/log.
if ! unshare -m true 2>/dev/null; then
    skip_part "--syslog check needs unshare -m (mount namespaces); not allowed here"
    exit 0
fi
cat > "$T/syslog.sh" <<INNER
set -e
mkdir -p "$T/olddev"
mount --bind /dev "$T/olddev"
mount -t tmpfs tmpfs /dev
for f in null zero urandom random; do touch /dev/\$f; mount --bind "$T/olddev/\$f" /dev/\$f; done
"$SPTEST" notify-wait /dev/log --want "listening on" --timeout-ms 10000 > "$T/syslog.msgs" &
w=\$!
for i in \$(seq 1 200); do [ -S /dev/log ] && break; sleep 0.02; done
"$SEALPIPED" -F --syslog -d -s "[127.0.0.1]:$(port)" -t "$tgt" -k "$k" 2> "$T/fg.stderr" &
s=\$!
wait \$w
kill -TERM \$s
wait \$s
INNER
unshare -m bash "$T/syslog.sh" || fail "syslog run failed: $(cat "$T/fg.stderr" 2>/dev/null)"
grep -Eq "^<30>.*sealpiped\[[0-9]+\]: sealpiped .*listening on" "$T/syslog.msgs" \
    || fail "no daemon.info line on /dev/log: $(cat "$T/syslog.msgs")"
grep -q "listening on" "$T/fg.stderr" && fail "--syslog -F still logged to stderr"
pass "--syslog works with -F (LOG_DAEMON, level info)"
