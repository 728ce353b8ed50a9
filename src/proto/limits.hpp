// SPDX-License-Identifier: BSD-2-Clause
// The rekey limits of DESIGN.md §6.2 as the code applies them. A release
// build uses the constants; a build configured with -Dtest_hooks=true (the
// one `make test` runs) may shrink them from the environment, so that the
// tests can reach "after 2^20 records or an hour" in a second:
//   SEALPIPE_TEST_REKEY_RECORDS, SEALPIPE_TEST_REKEY_SECONDS
// Larger values than the constants are ignored: the knob can only make a
// test build rekey sooner.
#pragma once

#include <cstdint>

namespace sealpipe::proto {

struct RekeyLimits {
    uint64_t records; // a sender rekeys after this many records under one key
    uint64_t seconds; // ... or this long
};

const RekeyLimits &rekey_limits() noexcept;

// DESIGN.md §6.2: a receiver refuses a record under a key that has passed
// REKEY_TOLERANCE times either limit: the peer is not rekeying.
inline constexpr uint64_t REKEY_TOLERANCE = 2;

// This binary honours the SEALPIPE_TEST_* variables (sealpiped -v says so).
bool test_hooks_built() noexcept;

} // namespace sealpipe::proto
