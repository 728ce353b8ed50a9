// SPDX-License-Identifier: BSD-2-Clause
// The timeout rules of DESIGN.md §7 as pure functions from clocks and policy
// to the next deadline and to what has expired. No sockets, no event loop,
// no clock reads: the connection passes "now" in, so the unit tests can
// check every rule without waiting.
//
//   before Open (connect, handshake, CONFIRM) and while Draining:
//       one phase deadline (-o, or the drain timeout)
//   Open:
//       heartbeat   send PING after an interval with nothing sent (not
//                   while our encrypted send is blocked: it waits)
//       dead peer   nothing received for HEARTBEAT_DEAD_AFTER intervals,
//                   not counted while we ourselves stopped reading
//                   (backpressure from the plaintext side)
//       idle        no DATA either way for --idle-timeout
//       half-close  one direction closed and no DATA for
//                   --half-close-timeout
//       rekey       the send key's age limit (REKEY_AFTER_SECONDS), even
//                   when idle (not while our encrypted send is blocked)
//
// All times are milliseconds on the monotonic clock; 0 in a policy field
// turns that rule off.
#pragma once

#include "tunnel/end_reason.hpp"

#include <cstdint>
#include <optional>

namespace sealpipe::tunnel {

inline constexpr uint64_t NO_DEADLINE = UINT64_MAX;

struct TimerPolicy {
    uint64_t heartbeat_ms = 0;  // effective interval agreed in the handshake
    uint64_t idle_ms = 0;       // --idle-timeout
    uint64_t half_close_ms = 0; // --half-close-timeout
};

// What an open connection's timers look at.
struct OpenClocks {
    uint64_t last_rx_ms = 0;          // anything read from the encrypted side
    uint64_t last_tx_ms = 0;          // anything written to it
    uint64_t last_data_ms = 0;        // DATA moved either way
    uint64_t half_close_start_ms = 0; // first CLOSE sent or delivered; 0 = none
    bool rx_paused = false;           // we stopped reading (plaintext blocked)
    // Our encrypted send waits for the socket: a PING or REKEY could only
    // queue behind it, so their deadlines wait for writability instead of
    // firing (and re-firing) now.
    bool tx_blocked = false;
    uint64_t rekey_at_ms = NO_DEADLINE; // our send key reaches its age limit
};

// The earliest moment at which one of the Open rules needs a look, or
// NO_DEADLINE if none applies.
uint64_t open_deadline(const OpenClocks &c, const TimerPolicy &p) noexcept;

// What the Open rules say at ${now}.
struct OpenVerdict {
    // The connection must end for this reason (the first to apply of dead
    // peer, idle, half-close).
    std::optional<EndReason> expired;
    // A PING is due (only when nothing expired).
    bool send_ping = false;
    // Our send key has reached its age limit: a REKEY is due, whether or
    // not anything else is sent (DESIGN.md §6.2; only when nothing expired).
    bool send_rekey = false;
};
OpenVerdict open_verdict(uint64_t now, const OpenClocks &c, const TimerPolicy &p) noexcept;

// A phase deadline (connect, handshake, CONFIRM, drain) has passed.
inline bool phase_expired(uint64_t now, uint64_t deadline) noexcept {
    return now >= deadline;
}

// How long to wait for ${deadline}: the event loop's clock and ours tick a
// few ms apart (CLOCK_MONOTONIC_COARSE), so wake a little late rather than
// early and find nothing expired.
inline constexpr uint64_t TIMER_SLACK_MS = 5;
inline uint64_t wait_for(uint64_t now, uint64_t deadline) noexcept {
    return deadline > now ? deadline - now + TIMER_SLACK_MS : 1;
}

} // namespace sealpipe::tunnel
