// SPDX-License-Identifier: BSD-2-Clause
// The set of recently seen msg1 ephemerals (DESIGN.md §3.5): an exact set
// (no false positives) bounded in age and in size, oldest evicted first.
// Entries live as long as a msg1 stays inside the clock window: twice the
// window, since a Timestamp may be that far ahead of our clock or behind.
// They age on the wall clock, the one the window is judged on: a clock
// stepped back keeps them longer (the window reopens for old msg1s, and so
// must the cache), one stepped forward drops only what the window refuses.
//
// Thread-safety: all methods lock; shared by the worker threads of -d.
#pragma once

#include "proto/constants.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_set>

namespace sealpipe::tunnel {

class ReplayCache {
public:
    static constexpr uint64_t WINDOW_MS = 2 * 1000 * uint64_t{proto::CLOCK_WINDOW_DEFAULT_S};
    static constexpr size_t MAX_ENTRIES = 65536;

    explicit ReplayCache(uint64_t window_ms = WINDOW_MS, size_t max_entries = MAX_ENTRIES)
        : window_ms_(window_ms), max_entries_(max_entries) {}
    // Before the first insert: the age at which entries expire.
    void set_window_ms(uint64_t ms) noexcept { window_ms_ = ms; }

    // Insert ${e} at ${now_ms}, wall-clock milliseconds (util::unix_time_ms;
    // it may be older than an entry another thread stamped meanwhile).
    // Returns false if it was already present (a replay).
    bool insert(const std::array<uint8_t, 32> &e, uint64_t now_ms);
    size_t size() const;

private:
    struct Hash {
        size_t operator()(const std::array<uint8_t, 32> &k) const noexcept {
            // The values are uniformly random: any 8 bytes are a good hash.
            size_t h;
            static_assert(sizeof h <= 32);
            __builtin_memcpy(&h, k.data(), sizeof h);
            return h;
        }
    };
    void expire(uint64_t now_ms);

    mutable std::mutex mu_;
    uint64_t window_ms_;
    size_t max_entries_;
    std::unordered_set<std::array<uint8_t, 32>, Hash> set_;
    std::deque<std::pair<uint64_t, std::array<uint8_t, 32>>> order_;
};

} // namespace sealpipe::tunnel
