// SPDX-License-Identifier: BSD-2-Clause
// The timeout rules of DESIGN.md §7, as pure functions: no sockets, no
// waiting. Each case sets the clocks, asks for the verdict just before and
// just at the moment a rule fires, and checks the next deadline.
#include <doctest/doctest.h>

#include "proto/constants.hpp"
#include "tunnel/timers.hpp"

using namespace sealpipe;
using namespace sealpipe::tunnel;

namespace {

constexpr uint64_t T0 = 1'000'000; // an arbitrary monotonic start
constexpr uint64_t HB = 30'000;    // --heartbeat 30

OpenClocks fresh() {
    OpenClocks c;
    c.last_rx_ms = c.last_tx_ms = c.last_data_ms = T0;
    return c;
}

TimerPolicy heartbeat_only() {
    TimerPolicy p;
    p.heartbeat_ms = HB;
    return p;
}

} // namespace

TEST_SUITE("tunnel::timers") {
TEST_CASE("a REKEY is due at the send key's age limit, even with heartbeats off and no data") {
    // Issue 12 item 6: the hourly rekey used to wait for something to send.
    OpenClocks c = fresh();
    const TimerPolicy none; // --heartbeat 0, no idle or half-close timeout
    CHECK(open_deadline(c, none) == NO_DEADLINE);
    c.rekey_at_ms = T0 + 3'600'000;
    CHECK(open_deadline(c, none) == T0 + 3'600'000);
    CHECK_FALSE(open_verdict(T0 + 3'599'999, c, none).send_rekey);
    const OpenVerdict v = open_verdict(T0 + 3'600'000, c, none);
    CHECK(v.send_rekey);
    CHECK_FALSE(v.expired);
    // With heartbeats, the nearer of the two deadlines.
    c.rekey_at_ms = T0 + 10;
    CHECK(open_deadline(c, heartbeat_only()) == T0 + 10);
}

TEST_CASE("a PING is due one interval after the last thing sent, not before") {
    OpenClocks c = fresh();
    c.last_rx_ms = T0 + HB; // the peer keeps talking: only our side is quiet
    const TimerPolicy p = heartbeat_only();
    CHECK_FALSE(open_verdict(T0 + HB - 1, c, p).send_ping);
    const OpenVerdict v = open_verdict(T0 + HB, c, p);
    CHECK(v.send_ping);
    CHECK_FALSE(v.expired);
    CHECK(open_deadline(c, p) == T0 + HB);
}

TEST_CASE("the peer is dead after exactly four silent intervals") {
    REQUIRE(proto::HEARTBEAT_DEAD_AFTER == 4);
    OpenClocks c = fresh();
    const TimerPolicy p = heartbeat_only();
    c.last_tx_ms = T0 + 4 * HB; // we keep pinging; nothing comes back
    CHECK_FALSE(open_verdict(T0 + 4 * HB - 1, c, p).expired);
    CHECK_FALSE(open_verdict(T0 + 3 * HB, c, p).expired);
    const OpenVerdict v = open_verdict(T0 + 4 * HB, c, p);
    REQUIRE(v.expired);
    CHECK(*v.expired == EndReason::HeartbeatTimeout);
    CHECK_FALSE(v.send_ping);
    CHECK(open_deadline(c, p) == T0 + 4 * HB);
}

TEST_CASE("silence does not count while we ourselves stopped reading") {
    OpenClocks c = fresh();
    c.last_tx_ms = T0 + 10 * HB;
    c.rx_paused = true; // the plaintext side is not reading: backpressure
    const TimerPolicy p = heartbeat_only();
    CHECK_FALSE(open_verdict(T0 + 10 * HB, c, p).expired);
    CHECK(open_deadline(c, p) == T0 + 11 * HB); // only the next PING
}

TEST_CASE("a blocked encrypted send holds PING and REKEY back instead of firing") {
    // Issue 25 item 2: with the send blocked, a due PING or REKEY could only
    // queue; a deadline in the past made the loop wake every millisecond.
    OpenClocks c = fresh();
    const TimerPolicy p = heartbeat_only();
    c.rekey_at_ms = T0 + HB / 2;
    c.tx_blocked = true;
    // Only the dead-peer rule is left: four intervals after the last read.
    CHECK(open_deadline(c, p) == T0 + proto::HEARTBEAT_DEAD_AFTER * HB);
    const OpenVerdict v = open_verdict(T0 + 2 * HB, c, p);
    CHECK_FALSE(v.send_ping);
    CHECK_FALSE(v.send_rekey);
    CHECK_FALSE(v.expired);
    // Writable again: both are due at once.
    c.tx_blocked = false;
    CHECK(open_deadline(c, p) == T0 + HB / 2);
    CHECK(open_verdict(T0 + 2 * HB, c, p).send_ping);
    CHECK(open_verdict(T0 + 2 * HB, c, p).send_rekey);
    // Both directions held: nothing is due, the timer waits for the socket.
    c.tx_blocked = c.rx_paused = true;
    CHECK(open_deadline(c, p) == NO_DEADLINE);
}

TEST_CASE("heartbeat 0 turns both the PING and the dead-peer rule off") {
    const OpenClocks c = fresh();
    const TimerPolicy p; // all zero
    const OpenVerdict v = open_verdict(T0 + 1000 * HB, c, p);
    CHECK_FALSE(v.expired);
    CHECK_FALSE(v.send_ping);
    CHECK(open_deadline(c, p) == NO_DEADLINE);
}

TEST_CASE("idle: no DATA either way for --idle-timeout ends the connection") {
    OpenClocks c = fresh();
    TimerPolicy p;
    p.idle_ms = 60'000;
    c.last_rx_ms = c.last_tx_ms = T0 + 59'000; // PINGs do not count as data
    CHECK_FALSE(open_verdict(T0 + 59'999, c, p).expired);
    const OpenVerdict v = open_verdict(T0 + 60'000, c, p);
    REQUIRE(v.expired);
    CHECK(*v.expired == EndReason::IdleTimeout);
    CHECK(open_deadline(c, p) == T0 + 60'000);
}

TEST_CASE("half-close: counts from the later of the first CLOSE and the last DATA") {
    OpenClocks c = fresh();
    TimerPolicy p;
    p.half_close_ms = 300'000;
    CHECK(open_deadline(c, p) == NO_DEADLINE); // nothing closed yet
    CHECK_FALSE(open_verdict(T0 + 10 * p.half_close_ms, c, p).expired);
    c.half_close_start_ms = T0 + 1000;
    CHECK(open_deadline(c, p) == T0 + 1000 + 300'000);
    // Data still moving in the open direction keeps it alive.
    c.last_data_ms = T0 + 200'000;
    CHECK_FALSE(open_verdict(T0 + 301'000, c, p).expired);
    CHECK(open_deadline(c, p) == T0 + 500'000);
    const OpenVerdict v = open_verdict(T0 + 500'000, c, p);
    REQUIRE(v.expired);
    CHECK(*v.expired == EndReason::HalfCloseTimeout);
}

TEST_CASE("a dead peer is reported before idle and half-close") {
    OpenClocks c = fresh();
    c.half_close_start_ms = T0;
    TimerPolicy p = heartbeat_only();
    p.idle_ms = 1000;
    p.half_close_ms = 1000;
    const OpenVerdict v = open_verdict(T0 + 4 * HB, c, p);
    REQUIRE(v.expired);
    CHECK(*v.expired == EndReason::HeartbeatTimeout);
    CHECK(open_deadline(c, p) == T0 + 1000); // the nearest rule wins
}

TEST_CASE("the handshake and connect deadlines are phase deadlines") {
    const uint64_t deadline = T0 + 5000; // -o 5
    CHECK_FALSE(phase_expired(deadline - 1, deadline));
    CHECK(phase_expired(deadline, deadline));
    CHECK(phase_expired(deadline + 1, deadline));
}

TEST_CASE("the loop wakes a little after a deadline, never before") {
    CHECK(wait_for(T0, T0 + 100) == 100 + TIMER_SLACK_MS);
    CHECK(wait_for(T0 + 100, T0 + 100) == 1);
    CHECK(wait_for(T0 + 200, T0 + 100) == 1);
}
}
