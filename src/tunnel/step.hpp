// SPDX-License-Identifier: BSD-2-Clause
// The outcome of one step of a stage.
#pragma once

#include <cstdint>

namespace sealpipe::tunnel {

// It moved something (call again), it is waiting for its socket or its
// peer, or it reached the end (the stage says why).
enum class Step : uint8_t { Progress, Blocked, Ended };

} // namespace sealpipe::tunnel
