// SPDX-License-Identifier: BSD-2-Clause
// Monotonic time in milliseconds, cheap enough to read on every I/O event
// (CLOCK_MONOTONIC_COARSE through the vDSO, a few ms of resolution).
#pragma once

#include <cstdint>
#include <ctime>

namespace sealpipe::util {

inline uint64_t now_ms() noexcept {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Precise monotonic time in microseconds (handshake latency, PING bodies).
inline uint64_t now_us() noexcept {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

} // namespace sealpipe::util
