#!/bin/bash
# Goal of this test:
# - the client sends everything and half-closes at once; the echo server
#   is far slower than the sender (rate-limited), so most of the reply is
#   still to come when the client's EOF arrives;
# - the EOF travels as an authenticated CLOSE and reaches the target as a
#   shutdown(SHUT_WR), while the other direction keeps streaming until the
#   server closes it: every byte of the reply arrives, then a clean EOF;
# - the same works for a client that never half-closes its side but reads
#   to the end (the server's close alone ends that direction).
. "$(dirname "$0")/lib.sh"

k=$(key k)
size=$((256 * 1024 / SP_SCALE))
random_file "$T/in" "$size"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
# 200 KB/s: the reply takes over a second, the send a few milliseconds.
start_echo echo "$tgt" --rate 200000
start_daemon d -d -s "$d" -t "$tgt" -k "$k"
start_daemon e -e -s "$e" -t "$d" -k "$k"

start=$(now_ms)
"$SPTEST" send "$e" "$T/in" "$T/out" || fail "send failed (exit $?)"
elapsed_ms=$(( $(now_ms) - start ))
[ "$(sha "$T/out")" = "$(sha "$T/in")" ] || fail "reply differs after half-close"
# The server saw a clean EOF (the CLOSE), after all the data.
wait_for grep -Eq "^eof [0-9]+ $size clean" "$T/echo.events"
min_ms=$(( size * 1000 / 200000 * 8 / 10 )) # the echo's rate bounds the reply's duration
[ "$elapsed_ms" -ge "$min_ms" ] || fail "reply came too fast ($elapsed_ms ms < $min_ms): was the server really slower?"
wait_for log_has e "clean, $size B in, $size B out"
pass "half-close with a slow echo: $size bytes back after EOF ($elapsed_ms ms)"

# The target closes first: it half-closes once it has echoed everything,
# while the client has not half-closed (--no-half-close). The client must
# get every byte and then the end of stream with its own side still open.
ft="[127.0.0.1]:$(port)"
start_echo finecho "$ft" --fin-after "$size"
d2="[127.0.0.1]:$(port)"
e2="[127.0.0.1]:$(port)"
start_daemon d2 -d -s "$d2" -t "$ft" -k "$k"
start_daemon e2 -e -s "$e2" -t "$d2" -k "$k"
"$SPTEST" send "$e2" "$T/in" "$T/out2" --no-half-close --hold-ms 20000 || fail "target-first send failed"
[ "$(sha "$T/out2")" = "$(sha "$T/in")" ] || fail "reply differs (the target closed first)"
grep -q "^fin 1 $size" "$T/finecho.events" || fail "the target did not half-close first"
wait_for log_has e2 ": clean, "
pass "the target closes first, the client never half-closes: every byte, then the end of stream"
