#!/bin/bash
# Goal of this test (sealpipe, the stdin/stdout client):
# - a round trip through sealpiped -d with a half-close: stdin's EOF
#   reaches the target while the slower reply keeps streaming to stdout;
#   exit status 0 and identical bytes;
# - each failure has its documented exit status and one clear line:
#   1 could not connect, 2 usage, 3 key file, 4 address, 6 handshake
#   failed ("wrong key or not a sealpiped -d"), 7 truncated, 8 timeout,
#   9 stdout closed early ("| head"), which aborts the far end with a reset;
# - -k - reads the key from stdin;
# - it works as an ssh ProxyCommand against a real sshd (skipped, saying
#   so, if openssh-server is not installed).
. "$(dirname "$0")/lib.sh"
: "${SEALPIPE:?}"

k=$(key k)
wrong=$(random_key wrong)
random_file "$T/in" $((300 * 1024 / SP_SCALE))
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --rate 200000
start_daemon d -d -s "$d" -t "$tgt" -k "$k"

"$SEALPIPE" -t "$d" -k "$k" < "$T/in" > "$T/out" 2> "$T/err" || fail "round trip: exit $?: $(cat "$T/err")"
cmp -s "$T/in" "$T/out" || fail "round trip: bytes differ"
[ ! -s "$T/err" ] || fail "round trip printed: $(cat "$T/err")"
wait_for grep -Eq "^eof [0-9]+ [0-9]+ clean" "$T/echo.events"
pass "round trip with half-close: exit 0, identical"

# Key from stdin: stdin then carries nothing else (immediate CLOSE).
"$SEALPIPE" -t "$d" -k - < "$k" > "$T/out2" || fail "-k -: exit $?"
[ ! -s "$T/out2" ] || fail "-k -: unexpected output"
pass "-k - reads the key from stdin"

expect() { # EXIT PATTERN ARGS... (stdin from $T/in unless STDIN is set)
    local want=$1 pattern=$2
    shift 2
    local rc=0
    "$SEALPIPE" "$@" < "${STDIN:-$T/in}" > "$T/o" 2> "$T/e" || rc=$?
    [ "$rc" -eq "$want" ] || fail "sealpipe $*: exit $rc, expected $want ($(cat "$T/e"))"
    [ "$(wc -l < "$T/e")" -eq 1 ] || fail "sealpipe $*: expected one line: $(cat "$T/e")"
    grep -Eq -- "$pattern" "$T/e" || fail "sealpipe $*: '$(cat "$T/e")' lacks /$pattern/"
    pass "exit $want: $(cat "$T/e")"
}
closed="[127.0.0.1]:$(port)"
expect 1 "cannot connect to .*Connection refused" -t "$closed" -k "$k"
expect 2 "-t <target address> is required" -k "$k"
expect 3 "key file /dev/null is not a regular file \\(a character device\\)" -t "$d" -k /dev/null
expect 4 "cannot resolve 'nonexistent.invalid:1'" -t nonexistent.invalid:1 -k "$k"
expect 6 "handshake failed: .* closed without answering: wrong key or not a sealpiped -d, or clock skew\?" -t "$d" -k "$wrong"
[ "$(accepted echo)" -eq 2 ] || fail "the wrong key reached the target"

mute="[127.0.0.1]:$(port)"
start_listener mute "$SPTEST" echo "$mute" --sink
expect 8 "timed out after 1 s in the handshake" -t "$mute" -k "$k" -o 1

r="[127.0.0.1]:$(port)"
start_relay relay "$r" "$d" --dir down --fin-at 2000
expect 7 "cut without an authenticated close \(truncated\)" -t "$r" -k "$k"

# Standard output closed early: "| head -c 10".
random_file "$T/big" $((8 * 1024 * 1024)) # unscaled: more than the socket buffers hold
fast="[127.0.0.1]:$(port)"
d2="[127.0.0.1]:$(port)"
start_echo fast "$fast"
start_daemon d2 -d -s "$d2" -t "$fast" -k "$k"
set +o pipefail
"$SEALPIPE" -t "$d2" -k "$k" < "$T/big" 2> "$T/e9" | head -c 10 > /dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" -eq 9 ] || fail "| head: exit $rc, expected 9 ($(cat "$T/e9"))"
grep -q "standard output was closed" "$T/e9" || fail "| head: message: $(cat "$T/e9")"
wait_for log_has d2 "peer_reset: peer aborted: its plaintext side was reset"
pass "| head: exit 9, the far end is reset"

# Signals: SIGTERM half-closes; the far end then closes too -> exit 0.
mkfifo "$T/fifo"
exec 7<>"$T/fifo" # keeps the writer side open: stdin never ends by itself
"$SEALPIPE" -t "$d2" -k "$k" < "$T/fifo" > "$T/o10" 2> "$T/e10" & c=$!
wait_for accepted_at_least fast 2
kill -TERM "$c"
rc=0; wait "$c" || rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM with a cooperative far end: exit $rc ($(cat "$T/e10"))"
pass "SIGTERM: half-close, the far end closes, exit 0"
# ...and when the far end never closes, abort after the 2 s grace: 143.
lt="[127.0.0.1]:$(port)"
d4="[127.0.0.1]:$(port)"
start_echo linger "$lt" --linger-ms 30000
start_daemon d4 -d -s "$d4" -t "$lt" -k "$k"
"$SEALPIPE" -t "$d4" -k "$k" < "$T/fifo" > "$T/o11" 2> "$T/e11" & c=$!
wait_for accepted_at_least linger 1
start=$(now_ms)
kill -TERM "$c"
rc=0; wait "$c" || rc=$?
ms=$(( $(now_ms) - start ))
exec 7>&-
[ "$rc" -eq 143 ] || fail "SIGTERM with a far end that stays open: exit $rc, expected 143"
grep -q "interrupted by SIGTERM" "$T/e11" || fail "no 'interrupted' message: $(cat "$T/e11")"
[ "$ms" -ge 1800 ] && [ "$ms" -lt $((5000 * SP_SLOW)) ] || fail "aborted after $ms ms, expected the 2 s grace"
pass "SIGTERM: far end stays open, aborted after $ms ms, exit 143"

# ssh -o ProxyCommand with a real sshd behind sealpiped -d.
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null; then
    skip_part "ssh ProxyCommand check needs openssh-server and openssh-client"
    exit 0
fi
mkdir -p /run/sshd 2>/dev/null || true
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
cp "$T/id.pub" "$T/authorized_keys"
sp=$(port)
cat > "$T/sshd_config" <<CFG
ListenAddress 127.0.0.1:$sp
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
CFG
start_bg sshd "$SSHD" -D -e -f "$T/sshd_config"
"$SPTEST" wait "[127.0.0.1]:$sp"
d3="[127.0.0.1]:$(port)"
start_daemon d3 -d -s "$d3" -t "[127.0.0.1]:$sp" -k "$k"
user=$(id -un)
out=$(ssh -F /dev/null -i "$T/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o ProxyCommand="$SEALPIPE -t $d3 -k $k" "$user@sealpipe-test" 'echo through-sealpipe; sha256sum' < "$T/in") \
    || fail "ssh through sealpipe failed (exit $?)"
[ "$(echo "$out" | head -1)" = through-sealpipe ] || fail "ssh output: $out"
[ "$(echo "$out" | tail -1 | cut -d' ' -f1)" = "$(sha "$T/in")" ] || fail "ssh: stdin arrived damaged"
wait_for log_has d3 "clean"
pass "ssh -o ProxyCommand='sealpipe ...' works"
