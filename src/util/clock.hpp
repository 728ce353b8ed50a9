// SPDX-License-Identifier: BSD-2-Clause
// Monotonic time in milliseconds, cheap enough to read on every I/O event
// (CLOCK_MONOTONIC_COARSE through the vDSO, a few ms of resolution), and
// the one use of the wall clock.
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

// Wall-clock time in seconds since the Unix epoch: only for the handshake's
// Timestamp (DESIGN.md §3.5), never for timeouts.
inline uint64_t unix_time_s() noexcept {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec > 0 ? static_cast<uint64_t>(ts.tv_sec) : 0;
}

// The same wall clock in milliseconds: the replay cache ages its entries on
// it, the clock the Timestamp window is judged on (DESIGN.md §3.5).
inline uint64_t unix_time_ms() noexcept {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec > 0 ? static_cast<uint64_t>(ts.tv_sec) * 1000 +
                               static_cast<uint64_t>(ts.tv_nsec) / 1000000
                         : 0;
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
