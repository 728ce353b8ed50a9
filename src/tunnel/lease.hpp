// SPDX-License-Identifier: BSD-2-Clause
// The two kinds of slot a connection can hold (DESIGN.md §8), as RAII
// leases, so that a slot can neither leak nor be given back twice.
//
//  - Slots / SlotLease: the -n limit on established connections, shared by
//    every worker of the process. -e takes one before accept(2); -d only
//    once the peer has authenticated.
//  - HandshakePool / HandshakeLease: one worker's connections that are
//    still in their handshake, oldest first. When the pool is full, the
//    oldest member is evicted to make room, so silent or slow peers can
//    never lock out real ones.
#pragma once

#include "tunnel/list.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace sealpipe::tunnel {

// The -n counter. Thread-safe.
class Slots {
public:
    explicit Slots(size_t limit = SIZE_MAX) noexcept : limit_(limit) {}
    void set_limit(size_t limit) noexcept { limit_ = limit; }
    size_t in_use() const noexcept { return used_.load(std::memory_order_relaxed); }
    bool full() const noexcept { return in_use() >= limit_; }

private:
    friend class SlotLease;
    // The check and the increment are one atomic step: with --threads, a
    // load followed by fetch_add let two workers both take the last slot.
    bool try_take() noexcept {
        size_t cur = used_.load(std::memory_order_relaxed);
        do {
            if (cur >= limit_)
                return false;
        } while (!used_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
        return true;
    }
    void give_back() noexcept { used_.fetch_sub(1, std::memory_order_relaxed); }

    size_t limit_;
    std::atomic<size_t> used_{0};
};

// One -n slot, or none. Move-only; given back when destroyed or reset().
class SlotLease {
public:
    SlotLease() = default;
    // A lease on one of ${slots}'s slots, or an empty lease if all are taken.
    static SlotLease take(Slots &slots) noexcept {
        SlotLease l;
        if (slots.try_take())
            l.slots_ = &slots;
        return l;
    }
    SlotLease(SlotLease &&o) noexcept : slots_(std::exchange(o.slots_, nullptr)) {}
    SlotLease &operator=(SlotLease &&o) noexcept {
        if (this != &o) {
            reset();
            slots_ = std::exchange(o.slots_, nullptr);
        }
        return *this;
    }
    SlotLease(const SlotLease &) = delete;
    SlotLease &operator=(const SlotLease &) = delete;
    ~SlotLease() { reset(); }

    explicit operator bool() const noexcept { return slots_ != nullptr; }
    void reset() noexcept {
        if (slots_ != nullptr)
            std::exchange(slots_, nullptr)->give_back();
    }

private:
    Slots *slots_ = nullptr;
};

// Something the handshake pool may evict.
class Evictable {
public:
    virtual void evict() noexcept = 0;

protected:
    ~Evictable() = default;
};

class HandshakePool;

// Membership in a HandshakePool. Lives inside its owner (it holds the
// list hook), so it is neither copied nor moved; leaves the pool when
// destroyed or release()d, at most once.
class HandshakeLease {
public:
    HandshakeLease() = default;
    HandshakeLease(const HandshakeLease &) = delete;
    HandshakeLease &operator=(const HandshakeLease &) = delete;
    ~HandshakeLease() { release(); }

    bool held() const noexcept { return pool_ != nullptr; }
    inline void release() noexcept;

private:
    friend class HandshakePool;
    ListHook hook_;
    HandshakePool *pool_ = nullptr;
    Evictable *owner_ = nullptr;
};

// One worker's handshakes, oldest first. Loop thread only, except the
// gauge, which is an atomic shared with the metrics.
class HandshakePool {
public:
    HandshakePool(size_t capacity, std::atomic<uint64_t> &gauge) noexcept
        : capacity_(capacity > 0 ? capacity : 1), gauge_(gauge) {}
    HandshakePool(const HandshakePool &) = delete;
    HandshakePool &operator=(const HandshakePool &) = delete;
    ~HandshakePool() {
        members_.for_each([](HandshakeLease *l) { l->release(); });
    }

    size_t size() const noexcept { return members_.size(); }

    // Add ${owner} through its ${lease}. With ${evict}, first evict the
    // oldest members while the pool is full (-d; on -e the pool only
    // counts, as -n bounds it). Returns the number evicted.
    size_t join(HandshakeLease &lease, Evictable &owner, bool evict) noexcept {
        size_t evicted = 0;
        while (evict && members_.size() >= capacity_ && !members_.empty()) {
            // Out of the pool first: evict() may delete the owner, lease
            // and all.
            HandshakeLease *oldest = members_.front();
            Evictable *victim = oldest->owner_;
            oldest->release();
            victim->evict();
            ++evicted;
        }
        lease.release();
        lease.pool_ = this;
        lease.owner_ = &owner;
        members_.push_back(&lease);
        gauge_.fetch_add(1, std::memory_order_relaxed);
        return evicted;
    }

private:
    friend class HandshakeLease;
    void leave(HandshakeLease &lease) noexcept {
        members_.remove(&lease);
        gauge_.fetch_sub(1, std::memory_order_relaxed);
    }

    size_t capacity_;
    std::atomic<uint64_t> &gauge_;
    IntrusiveList<HandshakeLease, &HandshakeLease::hook_> members_;
};

inline void HandshakeLease::release() noexcept {
    if (pool_ != nullptr) {
        HandshakePool *p = std::exchange(pool_, nullptr);
        p->leave(*this);
        owner_ = nullptr;
    }
}

} // namespace sealpipe::tunnel
