#!/bin/bash
# Goal of this test:
# - every kind of bad input gets exactly one line on stderr that names the
#   problem, and the documented exit status: 2 usage, 3 key file,
#   4 address, 5 system set-up (also when daemonizing: the launcher reports
#   the daemon's real failure, unlike spiped);
# - -v and --help succeed and print to stdout.
. "$(dirname "$0")/lib.sh"

k=$(key k)
head -c 12 /dev/urandom > "$T/short"; chmod 0600 "$T/short"
cp "$k" "$T/open.key"; chmod 0644 "$T/open.key"
mkdir "$T/dir"
busy="[127.0.0.1]:$(port)"
start_listener busy "$SPTEST" echo "$busy"
ok_t="[127.0.0.1]:1"
free() { echo "[127.0.0.1]:$(port)"; }

check() { # EXIT PATTERN ARGS...
    local want=$1 pattern=$2
    shift 2
    local rc=0
    $SP_WRAP "$SEALPIPED" "$@" > "$T/stdout" 2> "$T/stderr" || rc=$?
    if [ -n "$SP_WRAP" ]; then
        # valgrind adds its own lines; keep ours.
        grep -v '^==' "$T/stderr" > "$T/stderr.ours" || true
        mv "$T/stderr.ours" "$T/stderr"
    fi
    [ "$rc" -eq "$want" ] || fail "sealpiped $*: exit $rc, expected $want: $(cat "$T/stderr")"
    [ "$(wc -l < "$T/stderr")" -eq 1 ] || fail "sealpiped $*: expected one line, got: $(cat "$T/stderr")"
    grep -Eq -- "$pattern" "$T/stderr" || fail "sealpiped $*: message '$(cat "$T/stderr")' lacks /$pattern/"
    pass "exit $want: $(cat "$T/stderr")"
}

# Usage (2)
check 2 "one of -e \(encrypt\) or -d \(decrypt\) is required"
check 2 "not expected: -x" -x
check 2 "-e and -d exclude each other" -e -d -s "$(free)" -t "$ok_t" -k "$k"
check 2 "-s <source address> is required" -e -t "$ok_t" -k "$k"
check 2 "-t <target address> is required" -e -s "$(free)" -k "$k"
check 2 "-k <key file> is required" -e -s "$(free)" -t "$ok_t"
check 2 "-f and -g exclude each other" -e -s "$(free)" -t "$ok_t" -k "$k" -f -g
check 2 "-r and -R exclude each other" -e -s "$(free)" -t "$ok_t" -k "$k" -r 10 -R
check 2 "-n: 'abc' is not a whole number" -e -s "$(free)" -t "$ok_t" -k "$k" -n abc
check 2 "-o: '1x' is not a number of seconds" -e -s "$(free)" -t "$ok_t" -k "$k" -o 1x
check 2 "--heartbeat: '70000' is out of range" -e -s "$(free)" -t "$ok_t" -k "$k" --heartbeat 70000
check 2 "--cipher 'rot13'" -e -s "$(free)" -t "$ok_t" -k "$k" --cipher rot13
check 2 "--socket-mode applies only to a Unix socket" -e -s "$(free)" -t "$ok_t" -k "$k" --socket-mode 0660
check 2 "--proxy-protocol applies to -d" -e -s "$(free)" -t "$ok_t" -k "$k" --proxy-protocol
check 2 "--source given more than once" -e -s "$(free)" -s "$(free)" -t "$ok_t" -k "$k"
check 2 "--key needs a value" -e -s "$(free)" -t "$ok_t" -k
# Key file (3)
check 3 "cannot open key file $T/none: No such file or directory" -e -s "$(free)" -t "$ok_t" -k "$T/none"
check 3 "too short \(12 bytes.*dd if=/dev/urandom of=$T/short bs=32 count=1" -e -s "$(free)" -t "$ok_t" -k "$T/short"
check 3 "mode 0644.*chmod 0400 $T/open.key.*--insecure-key-permissions" -e -s "$(free)" -t "$ok_t" -k "$T/open.key"
check 3 "key directory $T/dir holds no \*.key file" -e -s "$(free)" -t "$ok_t" -k "$T/dir"
mkdir "$T/gw"; cp "$k" "$T/gw/a.key"; chmod 0770 "$T/gw"
check 3 "key directory $T/gw is writable by group or others \(mode 0770\).*chmod go-w" -e -s "$(free)" -t "$ok_t" -k "$T/gw"
# -k FILE: its directory gets the same check as -k DIR (issue 12 item 9).
check 3 "the directory of key file $T/gw/a.key \($T/gw\) is writable by group or others \(mode 0770\)" -e -s "$(free)" -t "$ok_t" -k "$T/gw/a.key"
mkfifo -m 0600 "$T/fifo"
check 3 "key file $T/fifo is not a regular file \(a FIFO\).*-k -" -e -s "$(free)" -t "$ok_t" -k "$T/fifo"
if [ "$(id -u)" -eq 0 ]; then
    cp "$k" "$T/theirs.key"; chown 4242 "$T/theirs.key"
    check 3 "key file $T/theirs.key belongs to another user \(uid 4242\)" -e -s "$(free)" -t "$ok_t" -k "$T/theirs.key"
fi

# Address (4)
check 4 "address 'foo' has no port" -e -s foo -t "$ok_t" -k "$k"
check 4 "Unix socket paths must be absolute" -e -s relative.sock -t "$ok_t" -k "$k"
check 4 "invalid port in '\[127.0.0.1\]:99999'" -e -s "[127.0.0.1]:99999" -t "$ok_t" -k "$k"
check 4 "invalid IPv4 address '1.2.3'" -e -s "[1.2.3]:80" -t "$ok_t" -k "$k"
check 4 "invalid IPv6 address" -e -s "[::g]:80" -t "$ok_t" -k "$k"
check 4 "cannot resolve 'nonexistent.invalid:80'" -e -s "$(free)" -t nonexistent.invalid:80 -k "$k"
check 4 "cannot listen on $(printf '%s' "$busy" | sed 's/[][]/\\&/g'): Address already in use \(is another instance running\?\)" -e -s "$busy" -t "$ok_t" -k "$k"
check 4 "Unix socket path .* is too long" -e -s "/tmp/$(printf 'x%.0s' $(seq 120))" -t "$ok_t" -k "$k"
# System set-up (5), reported through the daemonizing launcher.
check 5 "no such user 'nosuchuser_sealpipe'" -e -s "$(free)" -t "$ok_t" -k "$k" -u nosuchuser_sealpipe -p "$T/u.pid"
[ ! -e "$T/u.pid" ] || fail "a failed start left its pidfile behind"
check 5 "cannot write pidfile $T/no/such/dir.pid" -e -s "$(free)" -t "$ok_t" -k "$k" -p "$T/no/such/dir.pid"

# Success paths print to stdout.
$SP_WRAP "$SEALPIPED" -v > "$T/v" 2>/dev/null || fail "-v failed"
grep -Eq '^sealpiped [0-9]+\.[0-9]+\.[0-9]+( \(test build: honours SEALPIPE_TEST_\*\))?$' "$T/v" || fail "-v printed: $(cat "$T/v")"
$SP_WRAP "$SEALPIPED" --help > "$T/h" 2>/dev/null || fail "--help failed"
grep -q '^usage: sealpiped {-e | -d} -s <source> -t <target> -k <key file>' "$T/h" || fail "--help text"
pass "-v and --help"
