// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/timers.hpp"
#include "proto/constants.hpp"

#include <algorithm>

namespace sealpipe::tunnel {

namespace {

uint64_t dead_after_ms(const TimerPolicy &p) noexcept {
    return proto::HEARTBEAT_DEAD_AFTER * p.heartbeat_ms;
}

// The half-close timeout counts from the later of the first CLOSE and the
// last DATA: a half-closed stream that still moves data in the open
// direction is alive.
uint64_t half_close_from(const OpenClocks &c) noexcept {
    return std::max(c.half_close_start_ms, c.last_data_ms);
}

} // namespace

uint64_t open_deadline(const OpenClocks &c, const TimerPolicy &p) noexcept {
    uint64_t deadline = NO_DEADLINE;
    if (p.heartbeat_ms > 0) {
        if (!c.tx_blocked)
            deadline = std::min(deadline, c.last_tx_ms + p.heartbeat_ms);
        if (!c.rx_paused)
            deadline = std::min(deadline, c.last_rx_ms + dead_after_ms(p));
    }
    if (p.idle_ms > 0)
        deadline = std::min(deadline, c.last_data_ms + p.idle_ms);
    if (p.half_close_ms > 0 && c.half_close_start_ms != 0)
        deadline = std::min(deadline, half_close_from(c) + p.half_close_ms);
    return c.tx_blocked ? deadline : std::min(deadline, c.rekey_at_ms);
}

OpenVerdict open_verdict(uint64_t now, const OpenClocks &c, const TimerPolicy &p) noexcept {
    OpenVerdict v;
    if (p.heartbeat_ms > 0 && !c.rx_paused && now - c.last_rx_ms >= dead_after_ms(p))
        v.expired = EndReason::HeartbeatTimeout;
    else if (p.idle_ms > 0 && now - c.last_data_ms >= p.idle_ms)
        v.expired = EndReason::IdleTimeout;
    else if (p.half_close_ms > 0 && c.half_close_start_ms != 0 &&
             now - half_close_from(c) >= p.half_close_ms)
        v.expired = EndReason::HalfCloseTimeout;
    else if (p.heartbeat_ms > 0 && !c.tx_blocked && now - c.last_tx_ms >= p.heartbeat_ms)
        v.send_ping = true;
    if (!v.expired && !c.tx_blocked && now >= c.rekey_at_ms)
        v.send_rekey = true;
    return v;
}

} // namespace sealpipe::tunnel
