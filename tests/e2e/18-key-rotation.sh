#!/bin/bash
# Goal of this test: the documented key rotation, with no downtime.
# - -d reads its keys from a directory (-k DIR); -e uses one key file;
# - step 1: the new key is added to -d's directory, SIGHUP: -d accepts both
#   (clients with the old key and with the new key both work);
# - step 2: the -e side's key file is replaced by the new key, SIGHUP: its
#   new connections use the new key;
# - step 3: the old key is removed from -d's directory, SIGHUP: the old key
#   no longer works, the new one does;
# - a long-lived connection opened before step 1 stays up through all
#   three steps and ends cleanly with every byte;
# - a bad key file on reload keeps the previous keys and the daemon running;
# - each reload logs what changed (fingerprints added and removed).
. "$(dirname "$0")/lib.sh"

old=$(key old.key)
new=$(random_key new.key)
mkdir -m 0700 "$T/keys"
cp "$old" "$T/keys/2026-10.key"
printf 'hello\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt" --rate 20000
start_daemon d -d -s "$d" -t "$tgt" -k "$T/keys"
cp "$old" "$T/e.key"
start_daemon e -e -s "$e" -t "$d" -k "$T/e.key"
dpid=$(cat "$T/d.pid")
epid=$(cat "$T/e.pid")

# A long-lived connection: 160 KB echoed at 20 KB/s, about 8 seconds.
random_file "$T/long" $((160 * 1024))
"$SPTEST" send "$e" "$T/long" "$T/long.out" & long=$!
wait_for accepted_at_least echo 1

probe() { # KEYFILE -> exit status of a one-line round trip through a fresh -e
    local ep="[127.0.0.1]:$(port)"
    "$SEALPIPED" -e -s "$ep" -t "$d" -k "$1" -p "$T/probe.pid" 2>> "$T/probe.log"
    local rc=0
    "$SPTEST" send "$ep" "$T/line" "$T/probe.out" 2>/dev/null || rc=$?
    local pid
    pid=$(cat "$T/probe.pid")
    kill -TERM "$pid"
    wait_gone "$pid"
    [ "$rc" -eq 0 ] && cmp -s "$T/line" "$T/probe.out"
}

probe "$new" && fail "the new key worked before it was added"
# Step 1.
cp "$new" "$T/keys/2026-11.key"
kill -HUP "$dpid"
wait_for log_has d "SIGHUP: reloaded 2 key\(s\).*added: [0-9a-f]{8}; removed: none"
probe "$old" || fail "step 1: old key stopped working"
probe "$new" || fail "step 1: new key does not work"
pass "step 1: -d accepts the old and the new key"

# Step 2.
cat "$new" > "$T/e.key"
kill -HUP "$epid"
wait_for log_has e "SIGHUP: reloaded 1 key\(s\)"
"$SPTEST" send "$e" "$T/line" "$T/s2.out" || fail "step 2: -e with the new key failed"
pass "step 2: -e sends with the new key"

# A bad key file on reload: previous keys kept, daemon alive.
head -c 5 /dev/urandom > "$T/keys/2026-12.key"
chmod 0600 "$T/keys/2026-12.key"
kill -HUP "$dpid"
wait_for log_has d "SIGHUP: keeping the current keys: key file .*2026-12.key is too short"
rm "$T/keys/2026-12.key"
kill -0 "$dpid" || fail "a bad key file on reload killed the daemon"
probe "$new" || fail "after a failed reload the keys were lost"
pass "a bad key file on reload keeps the current keys"

# Step 3.
rm "$T/keys/2026-10.key"
kill -HUP "$dpid"
wait_for log_has d "SIGHUP: reloaded 1 key\(s\).*added: none; removed: [0-9a-f]{8}"
probe "$old" && fail "step 3: the removed key still works"
probe "$new" || fail "step 3: the new key stopped working"
pass "step 3: old key removed"

wait "$long" || fail "the long-lived connection broke during the rotation"
cmp -s "$T/long" "$T/long.out" || fail "the long-lived connection lost bytes"
pass "a connection opened before the rotation survived all three steps"
