// SPDX-License-Identifier: BSD-2-Clause
// The replay cache (DESIGN.md §3.5): exact, bounded in age and size, and
// safe against a "now" older than its newest entry, which happens when
// another worker thread stamps an entry between our clock read and the
// lock, or when the wall clock steps back (issue 25 item 6).
#include <doctest/doctest.h>

#include "tunnel/replay_cache.hpp"

using sealpipe::tunnel::ReplayCache;

namespace {
std::array<uint8_t, 32> token(uint8_t v) {
    std::array<uint8_t, 32> t{};
    t.fill(v);
    return t;
}
} // namespace

TEST_SUITE("tunnel::replay_cache") {
TEST_CASE("a token seen before is a replay until it is older than the window") {
    ReplayCache c(1000, 100);
    CHECK(c.insert(token(1), 10'000));
    CHECK_FALSE(c.insert(token(1), 10'999));
    CHECK(c.insert(token(2), 11'000)); // token 1 is 1000 ms old: it goes
    CHECK(c.insert(token(1), 11'000));
}

TEST_CASE("an older now evicts nothing: no unsigned wrap") {
    ReplayCache c(1000, 100);
    CHECK(c.insert(token(1), 50'000));
    // Another thread's earlier clock reading, or the clock stepped back.
    CHECK(c.insert(token(2), 49'000));
    CHECK_FALSE(c.insert(token(1), 49'500));
    CHECK(c.size() == 2);
}

TEST_CASE("the size bound evicts the oldest first") {
    ReplayCache c(1'000'000, 3);
    for (uint8_t i = 1; i <= 4; ++i)
        CHECK(c.insert(token(i), 1000 + i));
    CHECK(c.size() == 3);
    CHECK(c.insert(token(1), 2000)); // the oldest went
    CHECK_FALSE(c.insert(token(4), 2000));
}
}
