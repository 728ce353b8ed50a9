// SPDX-License-Identifier: BSD-2-Clause
// The rekey limits of DESIGN.md §6.2, as values the record layer is given
// (RecordWriter, RecordReader): the constants, unless a test build's knobs
// shortened them (app/defaults.cpp reads SEALPIPE_TEST_REKEY_RECORDS and
// SEALPIPE_TEST_REKEY_SECONDS, and only there). proto/ reads no
// environment.
#pragma once

#include "proto/constants.hpp"

#include <cstdint>

namespace sealpipe::proto {

struct RekeyLimits {
    uint64_t records = REKEY_AFTER_RECORDS; // a sender rekeys after this many records
    uint64_t seconds = REKEY_AFTER_SECONDS; // ... or this long under one key
};

// DESIGN.md §6.2: a receiver refuses a record under a key that has passed
// REKEY_TOLERANCE times either limit: the peer is not rekeying.
inline constexpr uint64_t REKEY_TOLERANCE = 2;

} // namespace sealpipe::proto
