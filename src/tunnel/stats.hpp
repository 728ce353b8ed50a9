// SPDX-License-Identifier: BSD-2-Clause
// The counters behind the logs and metrics.
// Counters are atomics so that worker threads can update them without a
// lock; they are read only for reporting.
#pragma once

#include "tunnel/end_reason.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sealpipe::tunnel {

// Upper bounds (in microseconds) of the handshake latency histogram.
inline constexpr std::array<uint64_t, 10> HANDSHAKE_BUCKETS_US = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000, 5000000};

struct Stats {
    std::atomic<uint64_t> connections_total{0};
    std::atomic<uint64_t> connections_open{0};
    std::atomic<uint64_t> handshakes_in_progress{0};
    std::array<std::atomic<uint64_t>, END_REASON_COUNT> ended{};
    std::atomic<uint64_t> bytes_in{0};  // plaintext read from the plaintext sockets
    std::atomic<uint64_t> bytes_out{0}; // plaintext written to them
    std::array<std::atomic<uint64_t>, HANDSHAKE_BUCKETS_US.size() + 1> handshake_buckets{};
    std::atomic<uint64_t> handshake_us_sum{0};
    std::atomic<uint64_t> handshake_count{0};
    std::atomic<uint64_t> ciphers_chacha{0};
    std::atomic<uint64_t> ciphers_aes{0};
    std::atomic<uint64_t> ciphers_spiped{0};    // --protocol spiped sessions
    std::atomic<uint64_t> sessions_no_fs{0};    // sessions without forward secrecy
    std::atomic<uint64_t> rekeys_sent{0};       // REKEY records sealed (DESIGN.md §6)
    std::atomic<uint64_t> rekeys_received{0};   // ... and opened
    std::atomic<uint64_t> handshake_retries{0}; // -e: DESIGN.md §3.8
    // Connections started by each worker (--threads: at most 64).
    static constexpr size_t MAX_WORKERS = 64;
    std::array<std::atomic<uint64_t>, MAX_WORKERS> worker_connections{};

    void record_handshake(uint64_t us) noexcept {
        size_t i = 0;
        while (i < HANDSHAKE_BUCKETS_US.size() && us > HANDSHAKE_BUCKETS_US[i])
            ++i;
        handshake_buckets[i].fetch_add(1, std::memory_order_relaxed);
        handshake_us_sum.fetch_add(us, std::memory_order_relaxed);
        handshake_count.fetch_add(1, std::memory_order_relaxed);
    }
};

} // namespace sealpipe::tunnel
