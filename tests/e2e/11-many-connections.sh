#!/bin/bash
# Goal of this test:
# - 1000 connections one after another, then 1000 open at the same time,
#   all through -e and -d, each checked byte for byte;
# - afterwards both daemons hold exactly as many file descriptors as before
#   (no leak), and a further identical burst does not grow -e's RSS again
#   by more than 512 KiB (a leak of 1 KiB per connection would add 1 MiB
#   to every burst);
#   -d's growth, dominated by its replay cache, is reported.
. "$(dirname "$0")/lib.sh"

k=$(key k)
n=$((1000 / SP_SCALE))
tgt="[127.0.0.1]:$(port)"
d="[127.0.0.1]:$(port)"
e="[127.0.0.1]:$(port)"
start_echo echo "$tgt"
start_daemon d -d -s "$d" -t "$tgt" -k "$k" -n 0
start_daemon e -e -s "$e" -t "$d" -k "$k" -n 0
dpid=$(cat "$T/d.pid")
epid=$(cat "$T/e.pid")
base_d=$(fd_count "$dpid")
base_e=$(fd_count "$epid")
rss() { rss_kib "$1"; }
rss_d=$(rss "$dpid")
rss_e=$(rss "$epid")

out=$("$SPTEST" load "$e" --count "$n" --parallel 1 --bytes 2000) || fail "sequential: $out"
pass "sequential: $out"
out=$("$SPTEST" load "$e" --count "$n" --parallel "$n" --bytes 2000 --hold-ms 300) || fail "concurrent: $out"
pass "concurrent: $out"

fds_back() {
    [ "$(fd_count "$dpid")" -eq "$base_d" ] && [ "$(fd_count "$epid")" -eq "$base_e" ]
}
wait_for fds_back
clean_d=$(log_count d "clean")
[ "$clean_d" -eq $((2 * n)) ] || fail "-d logged $clean_d clean ends, expected $((2 * n))"
pass "file descriptors back to baseline (-d $base_d, -e $base_e); $clean_d clean ends"
# Memory: a burst leaves the heap at its high-water mark (malloc keeps
# freed 64 KiB buffers for reuse), so the leak check is a further identical
# burst, which must not grow RSS again. A leak grows RSS in every burst (a
# leak of even 1 KiB per connection adds 1 MiB each time), while the
# high-water mark rises only when a burst happens to reach a higher peak
# than the ones before, which a loaded machine sometimes produces (once
# seen in CI: +664 KiB). So up to three further bursts run, and one that
# adds less than the limit passes; a leak fails all three. -d keeps every
# first message in its replay cache for 10 minutes by design (DESIGN.md
# §3.5, at most 65,536), and its heap grows with the cache in steps
# (rehashing) that make its figure useless for a leak check: it is
# reported only.
after1_d=$(rss "$dpid")
after1_e=$(rss "$epid")
limit=512
[ -n "${SP_SANITIZED:-}${SP_WRAPPED:-}" ] && limit=$((16 * 1024)) # ASan's quarantine, valgrind
growths=""
for burst in 2 3 4; do
    before_e=$(rss "$epid")
    out=$("$SPTEST" load "$e" --count "$n" --parallel "$n" --bytes 2000 --hold-ms 300) ||
        fail "burst $burst: $out"
    wait_for fds_back
    grow_e=$(( $(rss "$epid") - before_e ))
    growths="$growths${growths:+, }$grow_e"
    [ "$grow_e" -lt "$limit" ] && break
done
grow_d=$(( $(rss "$dpid") - after1_d ))
[ "$grow_e" -lt "$limit" ] ||
    fail "-e: RSS grew in each of 3 further identical bursts ($growths KiB; limit $limit KiB): a leak"
pass "RSS: the first burst left -e at +$((after1_e - rss_e)) KiB (the heap's high-water mark), further bursts added $growths KiB; -d, whose replay cache grows by design, added $grow_d KiB (reported, not bounded here: 24-flood and the soak bound it)"
