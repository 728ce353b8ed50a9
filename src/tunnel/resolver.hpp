// SPDX-License-Identifier: BSD-2-Clause
// Re-resolves the target (-r) on a background thread, so DNS never blocks
// the event loop. Each success replaces the shared target list; a failure
// keeps the last good list and is logged. spiped's -r, minus its silent
// stop on a timer failure (Tarsnap/tarsnap#713).
#pragma once

#include "net/address.hpp"
#include "tunnel/config.hpp"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace sealpipe::tunnel {

class Resolver {
public:
    // Resolve ${addr} every ${interval_ms} into ${out}.
    Resolver(net::Address addr, uint64_t interval_ms, Shared<Targets> &out);
    ~Resolver(); // stops and joins the thread
    Resolver(const Resolver &) = delete;
    Resolver &operator=(const Resolver &) = delete;

private:
    void run();
    net::Address addr_;
    uint64_t interval_ms_;
    Shared<Targets> &out_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace sealpipe::tunnel
