// SPDX-License-Identifier: BSD-2-Clause
// Strict parsing of command-line values: the whole string must be a valid
// number in range, or the function throws std::invalid_argument with a
// message that quotes the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sealpipe::util {

// A decimal unsigned integer in [${min}, ${max}].
uint64_t parse_uint(std::string_view s, uint64_t min, uint64_t max);
// A non-negative decimal number of seconds, fractions allowed ("0.5"),
// at most ${max}.
double parse_seconds(std::string_view s, double max);
// An octal file mode such as "0660" or "660", at most 07777.
unsigned parse_mode(std::string_view s);

} // namespace sealpipe::util
