// SPDX-License-Identifier: BSD-2-Clause
// Monotonic time in milliseconds, cheap enough to read on every I/O event
// (CLOCK_MONOTONIC_COARSE through the vDSO, a few ms of resolution).
#pragma once

#include <cstdint>
#include <ctime>
#include <sys/time.h>

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

// A relative timeout for evtimer_add(3) from microseconds / milliseconds.
inline struct timeval timeval_us(uint64_t us) noexcept {
    struct timeval tv {};
    tv.tv_sec = static_cast<time_t>(us / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
    return tv;
}
inline struct timeval timeval_ms(uint64_t ms) noexcept {
    return timeval_us(ms * 1000);
}

} // namespace sealpipe::util
