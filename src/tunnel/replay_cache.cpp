// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/replay_cache.hpp"

namespace sealpipe::tunnel {

// An entry older than the window goes; one stamped after ${now_ms} (the
// wall clock stepped back, or another thread read it later and inserted
// first) is young, never "very old" through an unsigned wrap.
void ReplayCache::expire(uint64_t now_ms) {
    while (!order_.empty() &&
           ((now_ms >= order_.front().first && now_ms - order_.front().first >= window_ms_) ||
            order_.size() > max_entries_)) {
        set_.erase(order_.front().second);
        order_.pop_front();
    }
}

bool ReplayCache::insert(const std::array<uint8_t, 32> &e, uint64_t now_ms) {
    std::lock_guard<std::mutex> lock(mu_);
    expire(now_ms);
    if (!set_.insert(e).second)
        return false;
    order_.emplace_back(now_ms, e);
    if (order_.size() > max_entries_)
        expire(now_ms);
    return true;
}

size_t ReplayCache::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return set_.size();
}

} // namespace sealpipe::tunnel
