#!/bin/bash
# Goal of this test: each direction rekeys on schedule, idle or not, and a
# receiver refuses a peer that lets a key outlive the limits (issue 12
# item 6, issue 16: the connection-level rekey trigger). The limits are an
# hour and 2^20 records; a test build (make test: -Dtest_hooks=true) lets
# SEALPIPE_TEST_REKEY_SECONDS and SEALPIPE_TEST_REKEY_RECORDS shrink them,
# for the process they are given to, which also tolerates its peer's keys
# for only twice as long (DESIGN.md §6.2).
# - time, both ends at 1 s, heartbeats off: a connection that sends one
#   line and then stays idle for 3.5 s rekeys every second each way, and
#   still ends cleanly with the echo intact;
# - time, only -d at 1 s: -e keeps its key (an hour), so -d refuses its
#   CLOSE 5 s later (past 2 s): protocol_error, "kept a key past its rekey
#   limit", and the client sees a reset, not a clean end;
# - records, both at 16: 1 MB (64 full records) rekeys at least 4 times
#   each way, intact;
# - records, only -d at 16: -d refuses -e past 32 records under one key;
# - backpressure longer than the limit (issue 25 item 1): both ends at 2 s,
#   a target that stops reading for 8 s while 8 MB wait: -d holds the
#   pipe back, so -e cannot send its REKEY, and -d's key-age clock stops
#   while -d itself is not reading; every byte arrives, no protocol_error.
. "$(dirname "$0")/lib.sh"

if ! "${SEALPIPED_UNWRAPPED:-$SEALPIPED}" -v | grep -q "test build"; then
    echo "SKIP: not a test build (meson setup -Dtest_hooks=true; make test does)"
    exit 77
fi
k=$(key k)
tgt="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
metric() { "$SPTEST" http "$1" /metrics | awk -v m="$2" '$1 == m {print $2}'; }
sent() { metric "$1" 'sealpipe_rekeys_total{direction="sent"}'; }
received() { metric "$1" 'sealpipe_rekeys_total{direction="received"}'; }
printf 'one line\n' > "$T/line"

# pair NAME ENV_E ENV_D ARGS...: an -e and a -d (with --status) whose
# environments get ENV_E and ENV_D (VAR=VALUE or "").
pair() {
    local name=$1 env_e=$2 env_d=$3
    shift 3
    local d e
    d="[127.0.0.1]:$(port)" e="[127.0.0.1]:$(port)"
    SP_WRAP="env $env_d $SP_WRAP" start_daemon "d_$name" -d -s "$d" -t "$tgt" -k "$k" \
        --status "$T/d_$name.sock" "$@"
    SP_WRAP="env $env_e $SP_WRAP" start_daemon "e_$name" -e -s "$e" -t "$d" -k "$k" \
        --status "$T/e_$name.sock" "$@"
    eval "E_$name=\$e"
}

# 1. Idle connections rekey on time.
pair idle SEALPIPE_TEST_REKEY_SECONDS=1 SEALPIPE_TEST_REKEY_SECONDS=1 --heartbeat 0
"$SPTEST" send "$E_idle" "$T/line" "$T/o1" --hold-ms 3500 || fail "idle: the connection failed"
cmp -s "$T/line" "$T/o1" || fail "idle: the echo differs"
wait_for log_has e_idle ": clean"
[ "$(sent "$T/e_idle.sock")" -ge 2 ] || fail "-e rekeyed $(sent "$T/e_idle.sock") times in 3.5 idle seconds, expected 2 or more"
[ "$(sent "$T/d_idle.sock")" -ge 2 ] || fail "-d rekeyed $(sent "$T/d_idle.sock") times in 3.5 idle seconds"
[ "$(received "$T/d_idle.sock")" -eq "$(sent "$T/e_idle.sock")" ] || fail "-d received $(received "$T/d_idle.sock") REKEYs of -e's $(sent "$T/e_idle.sock")"
pass "idle with 1-s keys: $(sent "$T/e_idle.sock") rekeys up, $(sent "$T/d_idle.sock") down, then a clean end"

# 2. A peer that keeps its key too long is refused.
pair stale "" SEALPIPE_TEST_REKEY_SECONDS=1 --heartbeat 0
rc=0
# (5 s: the key's age at -d counts from the end of the handshake, which
# valgrind slows down, and is compared in whole seconds.)
"$SPTEST" send "$E_stale" "$T/line" "$T/o2" --hold-ms 5000 2> /dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "a peer that kept its key for 5 s ended cleanly against a 1-s receiver"
wait_for log_has d_stale "protocol_error: the peer kept a key past its rekey limit"
pass "a 1-s receiver refuses a peer whose key is 5 s old (client exit $rc)"

# 3. Rekeying by record count.
size=$((1024 * 1024)) # not scaled down under valgrind: 64 records are needed
random_file "$T/big" "$size"
pair many SEALPIPE_TEST_REKEY_RECORDS=16 SEALPIPE_TEST_REKEY_RECORDS=16
"$SPTEST" send "$E_many" "$T/big" "$T/o3" || fail "records: the transfer failed"
cmp -s "$T/big" "$T/o3" || fail "records: the data differs"
min=$(( size / 16384 / 16 - 1 ))
[ "$(sent "$T/e_many.sock")" -ge "$min" ] || fail "-e rekeyed $(sent "$T/e_many.sock") times for $size bytes at 16 records a key, expected $min or more"
[ "$(sent "$T/d_many.sock")" -ge "$min" ] || fail "-d rekeyed $(sent "$T/d_many.sock") times"
pass "16 records a key: $(sent "$T/e_many.sock") rekeys up, $(sent "$T/d_many.sock") down, $size bytes intact"

# 4. ...and a receiver that counts.
pair count "" SEALPIPE_TEST_REKEY_RECORDS=16
rc=0
"$SPTEST" send "$E_count" "$T/big" "$T/o4" 2> /dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "-d took 64 records under one key with a limit of 16"
wait_for log_has d_count "protocol_error: the peer kept a key past its rekey limit"
pass "a receiver at 16 records a key refuses a peer past 32 under one key (client exit $rc)"

# 5. A target that stops reading for longer than the rekey limit: the
# connection survives and every byte arrives.
tgt_slow="[127.0.0.1]:$(port)"
start_echo echo_slow "$tgt_slow" --stall-ms 8000
tgt_saved=$tgt
tgt=$tgt_slow
pair held SEALPIPE_TEST_REKEY_SECONDS=2 SEALPIPE_TEST_REKEY_SECONDS=2 --heartbeat 1
tgt=$tgt_saved
random_file "$T/held_in" $((8 * 1024 * 1024))
"$SPTEST" send "$E_held" "$T/held_in" "$T/o5" || fail "held: the transfer failed (exit $?): $(tail -n 3 "$T/d_held.log")"
cmp -s "$T/held_in" "$T/o5" || fail "held: the data differs"
grep -q "stall" "$T/echo_slow.events" || fail "held: the target never stalled"
log_has d_held "protocol_error" && fail "held: $(grep protocol_error "$T/d_held.log")"
pass "a target that stops reading for 8 s with 2-s keys: 8 MB intact, -d's key clock held"
