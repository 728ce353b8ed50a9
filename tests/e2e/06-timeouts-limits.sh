#!/bin/bash
# Goal of this test:
# - -o: a client that connects to -d and says nothing is cut off after the
#   timeout, with a reset, and logged; an -e whose peer accepts but never
#   answers gives up after -o and resets its client;
# - a peer that refuses: -e resets its client at once;
# - -n: at the limit sealpiped stops accepting (new clients wait in the
#   kernel backlog, no busy loop), logs it once, and serves the waiting
#   client as soon as a connection ends;
# - --idle-timeout aborts a connection with no data; --half-close-timeout
#   aborts a half-closed connection that goes quiet, but not one whose
#   remaining direction still carries data.
. "$(dirname "$0")/lib.sh"

k=$(key k)
printf 'hello\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" -o 1

# -o on -d: a silent client.
start=$(now_ms)
out=$("$SPTEST" replay "$d" /dev/null --wait-ms 5000)
ms=$(( $(now_ms) - start ))
case $out in *"end reset"*) ;; *) fail "silent client: $out" ;; esac
[ "$ms" -ge 900 ] && [ "$ms" -lt $((3000 * SP_SLOW)) ] || fail "silent client cut after $ms ms, expected about 1000"
wait_for log_has d "handshake_timeout"
pass "-o on -d: silent client reset after $ms ms"

# -o on -e: the peer accepts and reads but never answers.
mute="[127.0.0.1]:$(port)"
start_listener mute "$SPTEST" echo "$mute" --sink
e1="[127.0.0.1]:$(port)"
start_daemon e1 -e -s "$e1" -t "$mute" -k "$k" -o 1
start=$(now_ms)
rc=0
"$SPTEST" send "$e1" "$T/line" "$T/o1" --no-half-close 2>/dev/null || rc=$?
ms=$(( $(now_ms) - start ))
[ "$rc" -eq 10 ] || fail "mute peer: client exit $rc, expected 10"
[ "$ms" -ge 900 ] && [ "$ms" -lt $((3000 * SP_SLOW)) ] || fail "mute peer: gave up after $ms ms"
wait_for log_has e1 "handshake_timeout"
pass "-o on -e: mute peer, client reset after $ms ms"

# A refusing peer.
closed="[127.0.0.1]:$(port)"
e2="[127.0.0.1]:$(port)"
start_daemon e2 -e -s "$e2" -t "$closed" -k "$k"
rc=0
"$SPTEST" send "$e2" "$T/line" "$T/o2" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "refused: client exit $rc, expected 10"
wait_for log_has e2 "connect_failed: cannot reach the -d side: Connection refused"
pass "refused peer: client reset"

# -n 2: two held connections, a third waits for one of them to end.
e3="[127.0.0.1]:$(port)"
start_daemon e3 -e -s "$e3" -t "$d" -k "$k" -n 2
"$SPTEST" send "$e3" "$T/line" "$T/h1" --hold-ms 1500 & h1=$!
"$SPTEST" send "$e3" "$T/line" "$T/h2" --hold-ms 1500 & h2=$!
WAIT_MS=$((5000 * SP_SLOW)) wait_for log_has e3 "connection limit reached \(-n 2\)"
start=$(now_ms)
"$SPTEST" send "$e3" "$T/line" "$T/h3" || fail "third client failed"
ms=$(( $(now_ms) - start ))
wait "$h1" "$h2" || fail "held clients failed"
cmp -s "$T/line" "$T/h3" || fail "third client: wrong reply"
[ "$ms" -ge 700 ] || fail "third client was served after $ms ms, before a slot was free"
[ "$(log_count e3 'connection limit reached')" -eq 1 ] || fail "limit logged more than once"
pass "-n 2: third client waited $ms ms for a free slot; logged once"

# --idle-timeout 1: a client that sends a line and then sits there.
e4="[127.0.0.1]:$(port)"
start_daemon e4 -e -s "$e4" -t "$d" -k "$k" --idle-timeout 1
rc=0
"$SPTEST" send "$e4" "$T/line" "$T/o4" --no-half-close --hold-ms 5000 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "idle: client exit $rc, expected 10 (reset)"
cmp -s "$T/line" "$T/o4" || fail "idle: the line did not come back first"
wait_for log_has e4 "idle_timeout"
wait_for log_has d "peer_reset: peer aborted: idle or half-close timeout"
pass "--idle-timeout: aborted and reported to the peer"

# --half-close-timeout 1: the client half-closes, the target lingers silent.
lt="[127.0.0.1]:$(port)"
start_echo linger "$lt" --linger-ms 5000
d5="[127.0.0.1]:$(port)"
e5="[127.0.0.1]:$(port)"
start_daemon d5 -d -s "$d5" -t "$lt" -k "$k"
start_daemon e5 -e -s "$e5" -t "$d5" -k "$k" --half-close-timeout 1
rc=0
"$SPTEST" send "$e5" "$T/line" "$T/o5" 2>/dev/null || rc=$?
[ "$rc" -eq 10 ] || fail "half-close: client exit $rc, expected 10"
wait_for log_has e5 "half_close_timeout"
pass "--half-close-timeout: a silent half-closed connection is aborted"

# ...but data flowing in the open direction keeps extending it: a reply
# that takes 3 s at 100 KB/s passes a 1 s half-close timeout.
slow="[127.0.0.1]:$(port)"
start_echo slow "$slow" --rate 100000
d6="[127.0.0.1]:$(port)"
e6="[127.0.0.1]:$(port)"
start_daemon d6 -d -s "$d6" -t "$slow" -k "$k"
start_daemon e6 -e -s "$e6" -t "$d6" -k "$k" --half-close-timeout 1
random_file "$T/in6" $((300 * 1024)) # unscaled: it must take longer than the timeout
"$SPTEST" send "$e6" "$T/in6" "$T/o6" || fail "slow reply with half-close timeout failed"
cmp -s "$T/in6" "$T/o6" || fail "slow reply differs"
pass "--half-close-timeout is extended while data flows"
