#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# make test-kube: the sealpipe image as Kubernetes sidecars, under a real
# engine (podman kube play; Kubernetes itself cannot run here).
# - builds the image (make image) and an echo-server image for the target;
# - plays tests/kube/pods.yaml.in: a "broker" pod (echo target + sealpiped
#   -d) and a "client" pod (sealpiped -e), non-root, read-only root,
#   no capabilities, --sandbox on, keys from a directory laid out as the
#   kubelet lays out a Secret volume (1777 root, ..data, 0440 root:65532);
# - runs traffic through the sidecars, every byte checksummed;
# - rotates the key by replaying the kubelet's ..data swap with a
#   connection open: both sidecars reload without a signal, the open
#   connection ends with every byte, new connections use the new key;
# - checks the probes' endpoint (/health, /metrics) and the sidecar's RSS
#   under load (VmHWM, reported);
# - SIGTERM: /health turns 503, the open connection finishes, exit 0;
# - tears everything down (also on failure).
# The target is an echo server, not RabbitMQ: imaging a broker from
# Debian's packages does not fit CI's time (docs/kubernetes.md).
# usage: tests/kube/run.sh TEST_BUILD_DIR RELEASE_BUILD_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh TEST_BUILD_DIR RELEASE_BUILD_DIR}" && pwd)
release=$(cd "${2:?usage: run.sh TEST_BUILD_DIR RELEASE_BUILD_DIR}" && pwd)
SPTEST=$build/tests/sptest
export CONTAINERS_CONF=$top/tests/kube/containers.conf

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: test-kube plays pods with rootful podman: run it as root"
    exit 77
fi
command -v podman > /dev/null || { echo "test-kube: podman is missing (scripts/install-deps kube)" >&2; exit 1; }

T=$(mktemp -d /tmp/sealpipe-kube.XXXXXX)
yaml=$T/pods.yaml
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }
cleanup() {
    local rc=$?
    set +e
    if [ "$rc" -ne 0 ]; then
        for c in sealpipe-kube-broker-sealpiped sealpipe-kube-client-sealpiped sealpipe-kube-broker-target; do
            echo "--- podman logs $c"
            podman logs "$c" 2>&1 | tail -n 30
        done
    fi
    [ -f "$yaml" ] && podman kube down "$yaml" > /dev/null 2>&1
    exec 3>&- 4>&- 2>/dev/null
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

wait_for() { # poll a condition every 100 ms for up to 30 s
    local i
    for ((i = 0; i < 300; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out waiting for: $*"
}
port() { "$SPTEST" free-port; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# 1. Images.
t0=$SECONDS
"$top/deploy/image/build" sealpipe:test "$release/src/sealpiped" "$release/src/sealpipe"
"$top/deploy/image/build" --containerfile "$top/tests/kube/Containerfile.echo" sealpipe-echo:test "$SPTEST"
image_size=$(podman image inspect --format '{{.Size}}' sealpipe:test)
pass "images built in $((SECONDS - t0)) s; sealpipe:test is $image_size bytes"

# 2. A Secret volume, as the kubelet writes it: the root 1777, one
# generation directory, ..data, and a link per key; the key 0440 root:65532
# (defaultMode 0440 with fsGroup 65532).
keys=$T/keys
generation() { # NAME KEYFILE
    mkdir -m 0755 "$keys/$1"
    cp "$2" "$keys/$1/sealpipe.key"
    chown 0:65532 "$keys/$1/sealpipe.key"
    chmod 0440 "$keys/$1/sealpipe.key"
}
mkdir -m 1777 "$keys"
head -c 32 /dev/urandom > "$T/old.key"
head -c 32 /dev/urandom > "$T/new.key"
generation ..2026_12_05_01_00_00.1 "$T/old.key"
ln -s ..2026_12_05_01_00_00.1 "$keys/..data"
ln -s ..data/sealpipe.key "$keys/sealpipe.key"

# 3. Play the pods.
TARGET_PORT=$(port) D_PORT=$(port) D_STATUS=$(port) E_PORT=$(port) E_STATUS=$(port)
sed -e "s|@TARGET_PORT@|$TARGET_PORT|g; s|@D_PORT@|$D_PORT|g; s|@D_STATUS@|$D_STATUS|g" \
    -e "s|@E_PORT@|$E_PORT|g; s|@E_STATUS@|$E_STATUS|g; s|@KEY_DIR@|$keys|g" \
    "$top/tests/kube/pods.yaml.in" > "$yaml"
podman kube down "$yaml" > /dev/null 2>&1 || true
podman kube play "$yaml" > "$T/play.log" || fail "kube play: $(cat "$T/play.log")"
health() { "$SPTEST" http "[127.0.0.1]:$1" /health 2> /dev/null | tr '\n' ' '; }
healthy() { case $(health "$1") in "200 ok: sealpiped"*) ;; *) return 1 ;; esac; }
wait_for healthy "$D_STATUS"
wait_for healthy "$E_STATUS"
# (Captured whole, then grepped: under pipefail, "podman logs | grep -q"
# fails whenever grep's early exit gives podman a SIGPIPE.)
logs() { podman logs "sealpipe-kube-$1-sealpiped" 2>&1; }
logs_have() { grep -q -- "$2" <<< "$(logs "$1")"; }
for side in broker client; do
    logs_have $side "sandbox: no new privileges, Landlock ABI [0-9]* (files, TCP ports), seccomp allow-list" \
        || fail "$side: not confined: $(logs $side | grep sandbox)"
    logs_have $side "checking the key files for changes every 1 s" || fail "$side: no --key-poll"
done
pass "both pods ready (/health 200), confined, polling the Secret"

# 4. Traffic, checksummed, and the sidecar's RSS under it.
head -c 4000000 /dev/urandom > "$T/in"
"$SPTEST" send "[127.0.0.1]:$E_PORT" "$T/in" "$T/out" || fail "send through the sidecars failed"
[ "$(sha "$T/in")" = "$(sha "$T/out")" ] || fail "the data came back different"
out=$("$SPTEST" load "[127.0.0.1]:$E_PORT" --count 200 --parallel 8 --bytes 200000)
[ "$out" = "ok 200 failed 0" ] || fail "load: $out"
dpid=$(podman inspect --format '{{.State.Pid}}' sealpipe-kube-broker-sealpiped)
rss_kib=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$dpid/status")
pass "4 MB and 200 x 200 kB (8 at a time) through the sidecars intact; -d sidecar peak RSS ${rss_kib} KiB"

# 5. Rotation with a connection open: the kubelet's swap, replayed.
mkfifo "$T/long.fifo"
head -c 65536 /dev/urandom > "$T/long.in"
"$SPTEST" send "[127.0.0.1]:$E_PORT" "$T/long.fifo" "$T/long.out" & long=$!
exec 3> "$T/long.fifo"
head -c 32768 "$T/long.in" >&3
echoed() { [ "$(stat -c %s "$T/long.out" 2> /dev/null || echo 0)" -ge 16384 ]; }
wait_for echoed
generation ..2026_12_05_02_00_00.2 "$T/new.key"
ln -s ..2026_12_05_02_00_00.2 "$keys/..data_tmp"
mv -T "$keys/..data_tmp" "$keys/..data"
rm -rf "$keys/..2026_12_05_01_00_00.1"
reloaded() { logs_have "$1" "key files changed: reloaded 1 key(s).*removed: [0-9a-f]"; }
wait_for reloaded broker
wait_for reloaded client
tail -c 32768 "$T/long.in" >&3
exec 3>&-
wait "$long" || fail "the connection open across the rotation broke"
cmp -s "$T/long.in" "$T/long.out" || fail "the connection open across the rotation lost bytes"
out=$("$SPTEST" load "[127.0.0.1]:$E_PORT" --count 20 --parallel 4 --bytes 100000)
[ "$out" = "ok 20 failed 0" ] || fail "after the rotation: $out"
grep -q '^sealpipe_keys 1$' <<< "$("$SPTEST" http "[127.0.0.1]:$D_STATUS" /metrics)" \
    || fail "/metrics after the rotation: $("$SPTEST" http "[127.0.0.1]:$D_STATUS" /metrics | grep keys)"
pass "the Secret swapped under both sidecars: reloaded without a signal, the open connection intact, new connections through"

# 6. SIGTERM: the kubelet's stop. /health says 503 (not ready) while an
# open connection drains, which then ends with every byte, and exit 0.
mkfifo "$T/drain.fifo"
"$SPTEST" send "[127.0.0.1]:$E_PORT" "$T/drain.fifo" "$T/drain.out" & drain=$!
exec 4> "$T/drain.fifo"
printf 'before SIGTERM\n' >&4
drained_started() { [ -s "$T/drain.out" ]; }
wait_for drained_started
podman kill --signal TERM sealpipe-kube-broker-sealpiped > /dev/null
stopping() { case $(health "$D_STATUS") in "503 stopping: sealpiped"*) ;; *) return 1 ;; esac; }
wait_for stopping
printf 'after SIGTERM\n' >&4
exec 4>&-
wait "$drain" || fail "the connection open at SIGTERM broke"
[ "$(cat "$T/drain.out")" = "$(printf 'before SIGTERM\nafter SIGTERM')" ] || fail "drain: $(cat "$T/drain.out")"
exited() { [ "$(podman inspect --format '{{.State.Status}}' sealpipe-kube-broker-sealpiped)" = exited ]; }
wait_for exited
code=$(podman inspect --format '{{.State.ExitCode}}' sealpipe-kube-broker-sealpiped)
[ "$code" = 0 ] || fail "the -d sidecar exited $code after SIGTERM"
pass "SIGTERM: /health 503 while draining, the open connection finished, exit 0"

podman kube down "$yaml" > /dev/null
rm -f "$yaml"
pass "torn down; test-kube took $SECONDS s"
