#!/bin/bash
# Goal of this test: the handshake is exactly Noise NNpsk0, and DESIGN.md is
# enough to write a second implementation (issue 12 item 7). A peer built
# on the flynn/noise Go library (Debian's golang-github-flynn-noise-dev),
# with payloads and records written from DESIGN.md alone
# (tests/interop/noise_peer.go), talks to the real daemons:
# - as the initiator, to sealpiped -d in front of an echo target: 1 MB goes
#   through and comes back intact, then CLOSE both ways (a clean end on -d);
# - as the responder, behind sealpiped -e: a client's 1 MB is echoed back
#   intact through it, CLOSE both ways, and -e's CONFIRM carried the
#   client's address;
# - with a wrong key, neither side gets anywhere: -d stays silent to the Go
#   initiator, and -e reports a failed handshake.
. "$(dirname "$0")/lib.sh"

GOPATH_DEBIAN=/usr/share/gocode
if ! command -v go > /dev/null || [ ! -d "$GOPATH_DEBIAN/src/github.com/flynn/noise" ]; then
    echo "SKIP: needs golang-go and golang-github-flynn-noise-dev (scripts/install-deps test)"
    exit 77
fi
peer="$T/noise_peer"
(cd "$SRCDIR/tests/interop" &&
    GO111MODULE=off GOPATH="$GOPATH_DEBIAN" GOCACHE="$T/gocache" \
        go build -o "$peer" noise_peer.go) > "$T/go-build.log" 2>&1 ||
    fail "cannot build the Go peer: $(tail -5 "$T/go-build.log")"

# 127.0.0.1:PORT (Go) as [127.0.0.1]:PORT (sealpipe, sptest).
br() { echo "[${1%:*}]:${1##*:}"; }
k=$(key k)
wrong=$(random_key wrong)
random_file "$T/data" "$(mb 1)"

# 1. Go initiator -> sealpiped -d -> echo.
tgt="127.0.0.1:$(port)"
d="127.0.0.1:$(port)"
start_echo echo "$(br "$tgt")"
start_daemon d -d -s "$(br "$d")" -t "$(br "$tgt")" -k "$k"
timeout $((30 * SP_SLOW)) "$peer" -role initiator -addr "$d" -key "$k" -in "$T/data" -out "$T/back1" \
    > "$T/peer1.log" 2>&1 || fail "Go initiator: $(cat "$T/peer1.log")"
cmp -s "$T/data" "$T/back1" || fail "Go initiator: the echo differs ($(sha "$T/back1"))"
wait_for log_has d ": clean"
pass "flynn/noise initiator -> sealpiped -d: $(sha "$T/data" | cut -c1-16)... both ways, $(cat "$T/peer1.log")"

# 2. client -> sealpiped -e -> Go responder (echo).
g="127.0.0.1:$(port)"
e="127.0.0.1:$(port)"
start_listener goresp "$peer" -role responder -addr "$g" -key "$k" -out "$T/got2"
start_daemon e -e -s "$(br "$e")" -t "$(br "$g")" -k "$k"
"$SPTEST" send "$(br "$e")" "$T/data" "$T/back2" || fail "client through -e to the Go responder failed"
cmp -s "$T/data" "$T/back2" || fail "through the Go responder: the echo differs"
cmp -s "$T/data" "$T/got2" || fail "the Go responder received other bytes"
wait_for log_has goresp "clean end"
wait_for log_has e ": clean"
grep -q "client address in CONFIRM: 127.0.0.1:" "$T/goresp.log" || fail "-e's CONFIRM did not carry the client address"
pass "sealpiped -e -> flynn/noise responder: echoed intact, CLOSE both ways, client address in CONFIRM"

# 3. Wrong keys.
rc=0
timeout $((30 * SP_SLOW)) "$peer" -role initiator -addr "$d" -key "$wrong" -in "$T/data" -out "$T/x" \
    > "$T/peer3.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a Go initiator with the wrong key got through"
grep -q "no msg2" "$T/peer3.log" || fail "-d answered a wrong key: $(cat "$T/peer3.log")"
g2="127.0.0.1:$(port)"
e2="127.0.0.1:$(port)"
start_listener goresp2 "$peer" -role responder -addr "$g2" -key "$wrong" -out "$T/x2"
start_daemon e2 -e -s "$(br "$e2")" -t "$(br "$g2")" -k "$k"
printf 'x\n' > "$T/line"
rc=0
"$SPTEST" send "$(br "$e2")" "$T/line" "$T/x3" 2> /dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "-e got through to a Go responder with the wrong key"
wait_for log_has goresp2 "msg1 does not authenticate"
pass "wrong keys: -d silent to the Go initiator; the Go responder refuses -e's msg1"
