// SPDX-License-Identifier: BSD-2-Clause
// The portable fallback of sys/sandbox.hpp: no layer is applied, and the
// report says so (--sandbox=auto logs it, --sandbox=on refuses to run). A
// FreeBSD port would confine itself here with Capsicum.
#include "sys/sandbox.hpp"

namespace sealpipe::sys {

std::string SandboxReport::describe() const {
    return "nothing";
}

SandboxReport apply_sandbox(const SandboxPolicy &, SandboxMode mode) {
    SandboxReport report;
    report.missing.emplace_back(mode == SandboxMode::Off
                                    ? "every layer (--sandbox=off)"
                                    : "every layer (no sandbox is implemented on this system)");
    if (mode == SandboxMode::On)
        throw SandboxError("sandbox: --sandbox=on, but no sandbox is implemented on this "
                           "system; use --sandbox=auto");
    return report;
}

std::string sandbox_canary(const std::string &) {
    return "";
}

} // namespace sealpipe::sys
