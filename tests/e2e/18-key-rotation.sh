#!/bin/bash
# Goal of this test: the documented key rotation, with no downtime.
# - -d reads its keys from a directory (-k DIR); -e uses one key file;
# - step 1: the new key is added to -d's directory, SIGHUP: -d accepts both
#   (clients with the old key and with the new key both work);
# - step 2: the -e side's key file is replaced by the new key, SIGHUP: its
#   new connections use the new key;
# - step 3: the old key is removed from -d's directory, SIGHUP: the old key
#   no longer works, the new one does;
# - after step 3 the reloaded -e connects (it uses the new key: -d accepts
#   nothing else by then);
# - a long-lived connection opened before step 1 carries data both ways
#   after every step and ends cleanly with every byte;
# - a bad key file on reload keeps the previous keys and the daemon running;
# - a -d with -k - (the key on standard input) keeps that key across
#   reloads;
# - each reload logs what changed (fingerprints added and removed);
# - -k DIR on a Kubernetes Secret volume (..data layout, 1777 root): the
#   kubelet's swap of ..data is noticed by --key-poll without a signal,
#   the new key works, the old one no longer does, and a connection opened
#   before the swap ends with every byte.
. "$(dirname "$0")/lib.sh"

old=$(key old.key)
new=$(random_key new.key)
mkdir -m 0700 "$T/keys"
cp "$old" "$T/keys/2026-10.key"
printf 'hello\n' > "$T/line"
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$T/keys"
cp "$old" "$T/e.key"
start_daemon e -e -s "$e" -t "$d" -k "$T/e.key"
dpid=$(cat "$T/d.pid")
epid=$(cat "$T/e.pid")

# A long-lived connection, fed through a FIFO: it stays open until the
# test closes the FIFO, however slow the machine, and feed() proves at
# each step that it is still open and still carrying data both ways.
mkfifo "$T/long.fifo"
: > "$T/long"
"$SPTEST" send "$e" "$T/long.fifo" "$T/long.out" & long=$!
exec 3> "$T/long.fifo"
sent=0
echoed_at_least() { [ "$(file_size "$T/long.out" 2>/dev/null || echo 0)" -ge "$1" ]; }
feed() { # WHEN: 32 KB more through the long-lived connection, echoed back
    head -c 32768 /dev/urandom | tee -a "$T/long" >&3
    sent=$((sent + 32768))
    kill -0 "$long" 2>/dev/null || fail "$1: the long-lived connection has ended"
    # sptest writes its output through stdio: up to 8 KiB may be buffered.
    wait_for echoed_at_least $((sent - 8192))
}
feed "before step 1"
wait_for accepted_at_least echo 1

probe() { # KEYFILE -> exit status of a one-line round trip through a fresh -e
    local ep="[127.0.0.1]:$(port)"
    # 3>&-: the daemon must not hold the long-lived connection's FIFO open.
    "$SEALPIPED" -e -s "$ep" -t "$d" -k "$1" -p "$T/probe.pid" 2>> "$T/probe.log" 3>&-
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
feed "after step 1"
pass "step 1: -d accepts the old and the new key"

# Step 2.
cat "$new" > "$T/e.key"
kill -HUP "$epid"
wait_for log_has e "SIGHUP: reloaded 1 key\(s\)"
"$SPTEST" send "$e" "$T/line" "$T/s2.out" || fail "step 2: -e with the new key failed"
feed "after step 2"
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
# The reloaded -e, now that -d accepts only the new key: a -e that kept its
# old key would fail here.
"$SPTEST" send "$e" "$T/line" "$T/s3.out" || fail "step 3: the reloaded -e does not use the new key"
cmp -s "$T/line" "$T/s3.out" || fail "step 3: the reply through the reloaded -e differs"
feed "after step 3"
pass "step 3: old key removed; the reloaded -e connects with the new key"

exec 3>&- # end of the long-lived connection's input: it half-closes
wait "$long" || fail "the long-lived connection broke during the rotation"
cmp -s "$T/long" "$T/long.out" || fail "the long-lived connection lost bytes"
pass "a connection opened before the rotation carried data after every step and ended cleanly ($sent bytes)"

# -k - (the key on standard input): a reload keeps the key as it was
# read. It used to re-derive it from the derived key, so after one SIGHUP
# every peer failed as a wrong key.
ds="[127.0.0.1]:$(port)"
start_daemon ds -d -s "$ds" -t "$tgt" -k - < "$new"
es="[127.0.0.1]:$(port)"
start_daemon es -e -s "$es" -t "$ds" -k "$new"
for i in 1 2; do
    kill -HUP "$(cat "$T/ds.pid")"
    wait_for lines_at_least "$T/ds.log" "SIGHUP: reloaded 1 key" "$i"
    "$SPTEST" send "$es" "$T/line" "$T/ks.out" || fail "-k -: the peer is refused after SIGHUP $i"
done
pass "-k -: the key read from standard input survives two reloads"

# A Kubernetes Secret volume (-k DIR with the kubelet's ..data layout): the
# rotation happens without a signal. The kubelet's swap is replayed: a new
# generation directory, a new ..data link renamed over the old one. With
# --key-poll the daemon notices, reloads, and a connection opened before
# the swap carries on.
vol="$T/secret"
mkdir -m 1777 "$vol"
mkdir -m 0755 "$vol/..gen1"
cp "$old" "$vol/..gen1/sealpipe.key" && chmod 0400 "$vol/..gen1/sealpipe.key"
ln -s ..gen1 "$vol/..data"
ln -s ..data/sealpipe.key "$vol/sealpipe.key"
dk="[127.0.0.1]:$(port)"
start_daemon dk -d -s "$dk" -t "$tgt" -k "$vol" --key-poll 0.2
log_has dk "checking the key files for changes every 0.2 s" || fail "--key-poll is not on"
ek="[127.0.0.1]:$(port)"
start_daemon ek -e -s "$ek" -t "$dk" -k "$old"
mkfifo "$T/k8s.fifo"
random_file "$T/k8s.in" 65536
"$SPTEST" send "$ek" "$T/k8s.fifo" "$T/k8s.out" & k8s=$!
exec 5> "$T/k8s.fifo"
head -c 32768 "$T/k8s.in" >&5
k8s_echoed() { [ "$(file_size "$T/k8s.out" 2>/dev/null || echo 0)" -ge 16384 ]; }
wait_for k8s_echoed # the connection is open, through its handshake with the old key
mkdir -m 0755 "$vol/..gen2"
cp "$new" "$vol/..gen2/sealpipe.key" && chmod 0400 "$vol/..gen2/sealpipe.key"
ln -s ..gen2 "$vol/..data_tmp"
mv -T "$vol/..data_tmp" "$vol/..data"
rm -rf "$vol/..gen1"
wait_for log_has dk "key files changed: reloaded 1 key\(s\).*added: [0-9a-f]{8}; removed: [0-9a-f]{8}"
tail -c 32768 "$T/k8s.in" >&5
exec 5>&-
wait "$k8s" || fail "Secret swap: the connection opened before it broke"
cmp -s "$T/k8s.in" "$T/k8s.out" || fail "Secret swap: the open connection lost bytes"
eprobe="[127.0.0.1]:$(port)"
start_daemon eprobe -e -s "$eprobe" -t "$dk" -k "$new"
"$SPTEST" send "$eprobe" "$T/line" "$T/k8s2.out" || fail "Secret swap: the new key is refused"
"$SPTEST" send "$ek" "$T/line" "$T/k8s3.out" 2>/dev/null && fail "Secret swap: the old key still works"
pass "a swapped Kubernetes Secret is reloaded without a signal; the open connection is kept"
