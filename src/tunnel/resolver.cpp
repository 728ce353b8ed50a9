// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/resolver.hpp"
#include "util/log.hpp"

#include <chrono>

namespace sealpipe::tunnel {

Resolver::Resolver(net::Address addr, uint64_t interval_ms, Shared<Targets> &out)
    : addr_(std::move(addr)), interval_ms_(interval_ms), out_(out), thread_([this] { run(); }) {}

Resolver::~Resolver() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void Resolver::run() {
    bool failing = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
        if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; }))
            return;
        lock.unlock();
        try {
            auto list = std::make_shared<const Targets>(net::resolve(addr_, false));
            const std::string first = list->front().to_string();
            auto old = out_.get();
            const bool changed =
                !old || old->size() != list->size() || old->front().to_string() != first;
            out_.set(std::move(list));
            if (changed || failing)
                log_info("target %s now resolves to %s", addr_.text.c_str(), first.c_str());
            failing = false;
        } catch (const net::AddressError &e) {
            if (!failing)
                log_warn("%s; keeping the previous addresses", e.what());
            failing = true;
        }
        lock.lock();
    }
}

} // namespace sealpipe::tunnel
