#!/bin/bash
# Goal of this test:
# - with --proxy-protocol, -d sends the target a PROXY protocol v2 header
#   with the client address and port as -e saw them, then the data;
# - for an IPv4 client bound to 127.0.0.2 the header says TCP over IPv4,
#   source 127.0.0.2, destination -e's own address and port; for an IPv6
#   client it says TCP over IPv6 with ::1;
# - the data after the header arrives intact;
# - without --proxy-protocol no header is sent;
# - a client with no address to pass on (a Unix-socket -e, the sealpipe
#   client) gets a LOCAL header.
. "$(dirname "$0")/lib.sh"

k=$(key k)
printf 'after the header\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
ep=$(port)
e="[127.0.0.1]:$ep"
start_listener ptarget "$SPTEST" proxy-target "$tgt" "$T/headers"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" --proxy-protocol
start_daemon e -e -s "$e" -t "$d" -k "$k"
"$SPTEST" send "$e" "$T/line" "$T/out" --bind "[127.0.0.2]:0" || fail "send failed"
cmp -s "$T/line" "$T/out" || fail "data after the header differs"
wait_for grep -q . "$T/headers"
grep -Eq "^version 2 command 1 family 0x11 src 127\.0\.0\.2:[0-9]+ dst 127\.0\.0\.1:$ep$" "$T/headers" \
    || fail "IPv4 header: $(cat "$T/headers")"
pass "IPv4: $(cat "$T/headers")"

ep6=$(port)
e6="[::1]:$ep6"
start_daemon e6 -e -s "$e6" -t "$d" -k "$k"
: > "$T/headers"
"$SPTEST" send "$e6" "$T/line" "$T/out6" || fail "IPv6 send failed"
wait_for grep -q . "$T/headers"
grep -Eq "^version 2 command 1 family 0x21 src ::1:[0-9]+ dst ::1:$ep6$" "$T/headers" \
    || fail "IPv6 header: $(cat "$T/headers")"
pass "IPv6: $(cat "$T/headers")"

# Without the flag, the target sees the data first (no header).
d2="[127.0.0.1]:$(port)"
e2="[127.0.0.1]:$(port)"
start_daemon d2 -d -s "$d2" -t "$tgt" -k "$k"
start_daemon e2 -e -s "$e2" -t "$d2" -k "$k"
: > "$T/headers"
"$SPTEST" send "$e2" "$T/line" "$T/out2" 2>/dev/null || true
wait_for grep -q . "$T/headers"
grep -q "no-proxy-header" "$T/headers" || fail "a header was sent without --proxy-protocol"
pass "no header without --proxy-protocol"

# No address to pass on: a client on a Unix-socket -e, and the sealpipe
# client (its plaintext side is a socketpair). The header is then a LOCAL
# one (command 0, family UNSPEC), never a made-up address.
eu="$T/e.sock"
start_daemon eu -e -s "$eu" -t "$d" -k "$k"
: > "$T/headers"
"$SPTEST" send "$eu" "$T/line" "$T/outu" || fail "Unix-socket -e: send failed"
cmp -s "$T/line" "$T/outu" || fail "Unix-socket -e: data after the header differs"
wait_for grep -q . "$T/headers"
grep -Eq "^version 2 command 0 family 0x00 " "$T/headers" || fail "Unix-socket client: $(cat "$T/headers")"
pass "Unix-socket client: LOCAL header ($(cat "$T/headers"))"
: > "$T/headers"
$SP_WRAP "$SEALPIPE" -t "$d" -k "$k" < "$T/line" > "$T/outc" || fail "sealpipe through --proxy-protocol failed"
cmp -s "$T/line" "$T/outc" || fail "sealpipe: data after the header differs"
wait_for grep -q . "$T/headers"
grep -Eq "^version 2 command 0 family 0x00 " "$T/headers" || fail "sealpipe client: $(cat "$T/headers")"
pass "sealpipe client: LOCAL header ($(cat "$T/headers"))"
