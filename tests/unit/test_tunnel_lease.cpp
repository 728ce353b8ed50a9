// SPDX-License-Identifier: BSD-2-Clause
// The -n slot lease and the handshake pool (DESIGN.md §8): a slot is given
// back exactly once, whatever path the lease takes, and a full pool evicts
// its oldest member, never the newcomer.
#include <doctest/doctest.h>

#include "tunnel/lease.hpp"

#include <memory>
#include <thread>
#include <vector>

using namespace sealpipe::tunnel;

namespace {

struct Member final : Evictable {
    HandshakeLease lease;
    int evicted = 0;
    void evict() noexcept override { ++evicted; }
};

} // namespace

TEST_SUITE("tunnel::lease") {
TEST_CASE("a slot lease takes one slot and gives it back once") {
    Slots s(2);
    {
        SlotLease a = SlotLease::take(s);
        SlotLease b = SlotLease::take(s);
        CHECK(a);
        CHECK(b);
        CHECK(s.full());
        SlotLease c = SlotLease::take(s);
        CHECK_FALSE(c); // at the limit: an empty lease
        CHECK(s.in_use() == 2);
        a.reset();
        a.reset(); // a second release is a no-op
        CHECK(s.in_use() == 1);
        SlotLease moved = std::move(b);
        CHECK_FALSE(b);
        CHECK(s.in_use() == 1);
        b = std::move(moved); // move back and forth: still one slot
        CHECK(s.in_use() == 1);
    }
    CHECK(s.in_use() == 0); // destroyed leases gave their slots back
}

TEST_CASE("assigning over a held lease gives the old slot back") {
    Slots s(3);
    SlotLease a = SlotLease::take(s);
    SlotLease b = SlotLease::take(s);
    a = std::move(b);
    CHECK(s.in_use() == 1);
}

TEST_CASE("threads racing for the last slots never overshoot the limit") {
    Slots s(100);
    std::vector<std::thread> threads;
    std::vector<std::vector<SlotLease>> got(4);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) {
                SlotLease l = SlotLease::take(s);
                if (l)
                    got[static_cast<size_t>(t)].push_back(std::move(l));
            }
        });
    for (auto &t : threads)
        t.join();
    size_t held = 0;
    for (auto &g : got)
        held += g.size();
    CHECK(held == 100);
    CHECK(s.in_use() == 100);
    got.clear();
    CHECK(s.in_use() == 0);
}

TEST_CASE("a full handshake pool evicts its oldest member") {
    std::atomic<uint64_t> gauge{0};
    HandshakePool pool(2, gauge);
    auto a = std::make_unique<Member>();
    auto b = std::make_unique<Member>();
    auto c = std::make_unique<Member>();
    CHECK(pool.join(a->lease, *a, true) == 0);
    CHECK(pool.join(b->lease, *b, true) == 0);
    CHECK(gauge == 2);
    CHECK(pool.join(c->lease, *c, true) == 1);
    CHECK(a->evicted == 1); // the oldest
    CHECK(b->evicted == 0);
    CHECK(c->evicted == 0); // never the newcomer
    CHECK_FALSE(a->lease.held());
    CHECK(pool.size() == 2);
    CHECK(gauge == 2);
}

TEST_CASE("without eviction the pool only counts") {
    std::atomic<uint64_t> gauge{0};
    HandshakePool pool(1, gauge);
    Member a, b;
    pool.join(a.lease, a, false);
    pool.join(b.lease, b, false);
    CHECK(a.evicted == 0);
    CHECK(pool.size() == 2);
}

TEST_CASE("a lease leaves the pool once, when released or destroyed") {
    std::atomic<uint64_t> gauge{0};
    HandshakePool pool(4, gauge);
    {
        Member a;
        pool.join(a.lease, a, true);
        Member b;
        pool.join(b.lease, b, true);
        b.lease.release();
        b.lease.release();
        CHECK(gauge == 1);
        CHECK(pool.size() == 1);
    }
    CHECK(gauge == 0);
    CHECK(pool.size() == 0);
}

TEST_CASE("an owner that deletes itself when evicted is safe") {
    std::atomic<uint64_t> gauge{0};
    HandshakePool pool(1, gauge);
    struct SelfDeleting final : Evictable {
        HandshakeLease lease;
        void evict() noexcept override { delete this; }
    };
    auto *victim = new SelfDeleting;
    pool.join(victim->lease, *victim, true);
    Member next;
    CHECK(pool.join(next.lease, next, true) == 1);
    CHECK(pool.size() == 1);
    CHECK(gauge == 1);
}
}
