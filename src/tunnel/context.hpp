// SPDX-License-Identifier: BSD-2-Clause
// State shared by all workers of a process: configuration, keys, targets,
// the replay cache, the counters and the -n slots. Free of libevent, so the
// programs in app/ can fill it in.
//
// Thread-safety: every member is immutable after start-up, atomic, or
// internally locked.
#pragma once

#include "tunnel/config.hpp"
#include "tunnel/lease.hpp"
#include "tunnel/replay_cache.hpp"
#include "tunnel/stats.hpp"

#include <atomic>
#include <cstdint>

namespace sealpipe::tunnel {

struct Context {
    TunnelConfig cfg;
    Shared<Targets> targets;
    Shared<KeySet> keys;
    ReplayCache replay;
    Stats stats;
    Slots slots; // -n, limit set from cfg.max_connections by the Server
    std::atomic<uint64_t> next_id{1};
    // The number of workers (--threads).
    unsigned workers = 1;

    // More than one worker share the listener: a worker paused at the -n
    // limit must look again by itself, as the connection that frees a slot
    // may end on another thread.
    bool multi_worker() const noexcept { return workers > 1; }
    // Each worker keeps its own handshake pool, so each gets
    // max_handshakes / workers slots and the process never holds more.
    size_t handshake_slots_per_worker() const noexcept {
        const size_t share = cfg.max_handshakes / (workers == 0 ? 1 : workers);
        return share > 0 ? share : 1;
    }
};

} // namespace sealpipe::tunnel
