// SPDX-License-Identifier: BSD-2-Clause
// What every system's sandbox shares (sys/sandbox.hpp); the layers are in
// sandbox_linux.cpp, and sandbox_other.cpp is the portable fallback.
#include "sys/sandbox.hpp"

namespace sealpipe::sys {

SandboxMode parse_sandbox_mode(const std::string &text) {
    if (text == "auto")
        return SandboxMode::Auto;
    if (text == "on")
        return SandboxMode::On;
    if (text == "off")
        return SandboxMode::Off;
    throw std::invalid_argument("--sandbox " + text + ": expected auto, on or off");
}

} // namespace sealpipe::sys
