#!/bin/bash
# Goal of this test: the flags no other test pins, end to end.
# - --cipher: both ends on aes-256-gcm (where the CPU has it) or
#   chacha20-poly1305 log that cipher; chacha20-poly1305 against
#   aes-256-gcm has no common cipher and fails, delivering nothing; with
#   $OPENSSL_ia32cap set AES-256-GCM is neither offered nor accepted;
# - -f on -e gives a session without forward secrecy, logged as such; -g
#   on -d refuses that -e (the policy conflict is logged) and the target
#   sees nothing;
# - -n 1 on -d: two clients at once, never more than one at the target,
#   and the second is served once the first ends;
# - -j: without it the encrypted socket has TCP keep-alive on, with it off
#   (ss shows the keepalive timer);
# - -q logs no per-connection line, --verbose logs the "open" line too;
# - a fractional -o 0.5 against a target that accepts and says nothing
#   ends the handshake after 0.5 s, not 5;
# - -R: the plan says the target is not re-resolved; without it, that it is.
. "$(dirname "$0")/lib.sh"
require_linux "ss's keep-alive timers, /proc/cpuinfo"

k=$(key k)
printf 'options\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
start_echo echo "$tgt"

# roundtrip ADDR: one line through ADDR comes back.
roundtrip() {
    rm -f "$T/out"
    "$SPTEST" send "$1" "$T/line" "$T/out" 2>/dev/null && cmp -s "$T/line" "$T/out"
}

# --cipher.
ciphers=(chacha20-poly1305)
grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo && ciphers+=(aes-256-gcm)
for c in "${ciphers[@]}"; do
    d="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
    start_daemon "d_$c" -d -s "$d" -t "$tgt" -k "$k" --cipher "$c" --verbose
    start_daemon "e_$c" -e -s "$e" -t "$d" -k "$k" --cipher "$c" --verbose
    roundtrip "$e" || fail "--cipher $c on both ends failed"
    wait_for log_has "e_$c" ": open, $c, forward secret"
    pass "--cipher $c on both ends: the session uses $c"
done
# The mismatch.
if [ "${#ciphers[@]}" -eq 2 ]; then
    d="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
    start_daemon d_aes -d -s "$d" -t "$tgt" -k "$k" --cipher aes-256-gcm
    start_daemon e_cha -e -s "$e" -t "$d" -k "$k" --cipher chacha20-poly1305
    before=$(accepted echo)
    roundtrip "$e" && fail "chacha20-poly1305 against aes-256-gcm delivered data"
    wait_for log_has d_aes "no common cipher"
    [ "$(accepted echo)" -eq "$before" ] || fail "a failed cipher agreement reached the target"
    pass "--cipher chacha20-poly1305 against aes-256-gcm: no common cipher, nothing delivered"
fi
# Whether AES-256-GCM is offered follows OpenSSL, which does the work
# (DESIGN.md §4.2): $OPENSSL_ia32cap may mask AES-NI from it, so with the
# variable set auto offers ChaCha20-Poly1305 only and --cipher aes-256-gcm
# is a usage error. (The same plan without it is the control.)
if [ "${#ciphers[@]}" -eq 2 ]; then
    plan() { "$SEALPIPED" --check -e -s "[127.0.0.1]:$(port)" -t "$tgt" -k "$k" "$@"; }
    plan | grep -q "ciphers aes-256-gcm chacha20-poly1305$" || fail "the control: $(plan 2>&1)"
    OPENSSL_ia32cap='~0x200000200000000' plan | grep -q "ciphers chacha20-poly1305$" \
        || fail "OPENSSL_ia32cap set, auto still offers AES-GCM: $(OPENSSL_ia32cap=0 plan 2>&1)"
    rc=0
    OPENSSL_ia32cap='~0x200000200000000' plan --cipher aes-256-gcm > /dev/null 2> "$T/ia32.err" || rc=$?
    [ "$rc" -eq 2 ] && grep -q 'OPENSSL_ia32cap' "$T/ia32.err" \
        || fail "OPENSSL_ia32cap set, --cipher aes-256-gcm: exit $rc, $(cat "$T/ia32.err")"
    pass "with \$OPENSSL_ia32cap set, AES-256-GCM is not offered, and --cipher aes-256-gcm is refused"
fi

# -f and -g.
d="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
start_daemon d_fs -d -s "$d" -t "$tgt" -k "$k" --verbose
start_daemon e_f -e -s "$e" -t "$d" -k "$k" -f --verbose
roundtrip "$e" || fail "-f failed"
wait_for log_has e_f ": open, .*, no forward secrecy \(-f\)"
wait_for log_has d_fs ": open, .*, no forward secrecy \(-f\)"
pass "-f: the session is logged as not forward secret on both ends"
# A default-policy end that got no forward secrecy says so at the default
# level (issue 12 item 10), rate-limited, and counts it; the -f end chose
# it and only counts.
e4="[127.0.0.1]:$(port)" d4="[127.0.0.1]:$(port)"
start_daemon d4 -d -s "$d4" -t "$tgt" -k "$k" -f --status "$T/d4.sock"
start_daemon e4 -e -s "$e4" -t "$d4" -k "$k" --status "$T/e4.sock"
roundtrip "$e4" || fail "default -e against -f -d failed"
roundtrip "$e4" || fail "default -e against -f -d failed"
wait_for log_has e4 "warning: conn [0-9]+ .*: no forward secrecy: the peer runs with -f"
[ "$(log_count e4 "no forward secrecy: the peer runs with -f")" -eq 1 ] || fail "the warning is not rate-limited"
nofs() { "$SPTEST" http "$1" /metrics | awk '$1 == "sealpipe_sessions_without_forward_secrecy_total" {print $2}'; }
[ "$(nofs "$T/e4.sock")" = 2 ] || fail "-e counted $(nofs "$T/e4.sock") sessions without forward secrecy, expected 2"
[ "$(nofs "$T/d4.sock")" = 2 ] || fail "-d counted $(nofs "$T/d4.sock"), expected 2"
! log_has d4 "no forward secrecy: the peer" || fail "the -f end warned about its own choice"
pass "a default -e against a -f -d: one warning for two sessions, both counted on both ends"
dg="[127.0.0.1]:$(port)" eg="[127.0.0.1]:$(port)"
start_daemon d_g -d -s "$dg" -t "$tgt" -k "$k" -g
start_daemon e_fg -e -s "$eg" -t "$dg" -k "$k" -f
before=$(accepted echo)
roundtrip "$eg" && fail "-g accepted a -f peer"
wait_for log_has d_g "forward secrecy policy conflict"
[ "$(accepted echo)" -eq "$before" ] || fail "-g: the refused -f peer reached the target"
pass "-g on -d refuses a -f -e; the target sees nothing"

# -n 1 on -d: the second client waits for the first.
slow="[127.0.0.1]:$(port)"
start_echo slow "$slow"
dn="[127.0.0.1]:$(port)" en="[127.0.0.1]:$(port)"
start_daemon d_n -d -s "$dn" -t "$slow" -k "$k" -n 1
start_daemon e_n -e -s "$en" -t "$dn" -k "$k"
"$SPTEST" send "$en" "$T/line" "$T/n1" --hold-ms 1000 & c1=$!
wait_for accepted_at_least slow 1
"$SPTEST" send "$en" "$T/line" "$T/n2" & c2=$!
wait "$c1" || fail "-n 1: the first client failed"
wait "$c2" || fail "-n 1: the second client failed"
cmp -s "$T/line" "$T/n2" || fail "-n 1: the second client's reply differs"
max=$(awk '/^accept/ {n++; if (n > m) m = n} /^eof/ {n--} END {print m}' "$T/slow.events")
[ "$max" -eq 1 ] || fail "-n 1 on -d: $max connections at the target at once"
wait_for log_has d_n "connection limit reached \(-n 1\)"
pass "-n 1 on -d: one at a time at the target; the second was served after the first"

# -j: TCP keep-alive on the encrypted connection, or not.
keepalive_on() { # PORT: the established connection to PORT has a keepalive timer
    ss -tnoH state established "dport = :$1" | grep -q "timer:(keepalive"
}
for j in "" -j; do
    dj="[127.0.0.1]:$(port)" ej="[127.0.0.1]:$(port)"
    dport=${dj##*:}
    start_daemon "d_j$j" -d -s "$dj" -t "$tgt" -k "$k"
    start_daemon "e_j$j" -e -s "$ej" -t "$dj" -k "$k" $j
    before=$(accepted echo)
    "$SPTEST" send "$ej" "$T/line" "$T/j" --hold-ms 5000 & cj=$!
    wait_for accepted_at_least echo $((before + 1))
    if [ -z "$j" ]; then
        keepalive_on "$dport" || fail "no keep-alive timer without -j: $(ss -tnoH state established "dport = :$dport")"
    else
        keepalive_on "$dport" && fail "-j: keep-alive still on: $(ss -tnoH state established "dport = :$dport")"
    fi
    kill "$cj" 2>/dev/null || true
    wait "$cj" 2>/dev/null || true
done
pass "-j turns TCP keep-alive off on the encrypted connection; it is on otherwise"

# -q and --verbose.
dq="[127.0.0.1]:$(port)" eq="[127.0.0.1]:$(port)" ev="[127.0.0.1]:$(port)"
start_daemon d_q -d -s "$dq" -t "$tgt" -k "$k" -q
start_daemon e_q -e -s "$eq" -t "$dq" -k "$k" -q
start_daemon e_v -e -s "$ev" -t "$dq" -k "$k" --verbose
roundtrip "$eq" || fail "-q: failed"
roundtrip "$ev" || fail "--verbose: failed"
wait_for log_has e_v ": clean, "
log_has e_v ": open, " || fail "--verbose logged no open line"
log_has e_q ": clean, " && fail "-q logged a connection line: $(cat "$T/e_q.log")"
log_has d_q ": clean, " && fail "-d -q logged a connection line"
pass "-q: no connection lines; --verbose: the open line too"

# A fractional -o against a target that accepts and says nothing.
silent="[127.0.0.1]:$(port)"
start_bg silent_l "$SPTEST" echo "$silent" --sink
"$SPTEST" wait "$silent" > /dev/null
eo="[127.0.0.1]:$(port)"
start_daemon e_o -e -s "$eo" -t "$silent" -k "$k" -o 0.5
t0=$(now_ms)
rc=0
"$SPTEST" send "$eo" "$T/line" "$T/o" --no-half-close --hold-ms 10000 2>/dev/null || rc=$?
ms=$(( $(now_ms) - t0 ))
[ "$rc" -ne 0 ] || fail "-o 0.5: a silent peer gave a clean end"
[ "$ms" -ge 450 ] && [ "$ms" -lt $((1500 * SP_SLOW)) ] || fail "-o 0.5: the handshake ended after $ms ms"
wait_for log_has e_o "handshake_timeout"
pass "-o 0.5: a silent peer's handshake ends after $ms ms"

# -R.
plan=$("$SEALPIPED" --check -F -e -s "[127.0.0.1]:$(port)" -t "localhost:${tgt##*:}" -k "$k")
grep -q "re-resolved every 60 s" <<< "$plan" || fail "no re-resolution in the plan without -R: $plan"
plan=$("$SEALPIPED" --check -F -e -s "[127.0.0.1]:$(port)" -t "localhost:${tgt##*:}" -k "$k" -R)
grep -q "re-resolved" <<< "$plan" && fail "-R: the plan still re-resolves: $plan"
pass "-R: the target is not re-resolved; without it, every 60 s"
