// SPDX-License-Identifier: BSD-2-Clause
// The portable fallback of sys/sandbox.hpp, for systems without Landlock
// and seccomp. On FreeBSD it turns on no new privileges
// (procctl PROC_NO_NEW_PRIVS_CTL, FreeBSD 14 and later); nothing confines
// files, the network or system calls, and the report says so in one line
// (--sandbox=auto logs it, --sandbox=on refuses to run). Capsicum would be
// this system's confinement; DESIGN.md §13 says why it needs a privileged
// helper first.
#include "sys/sandbox.hpp"

#if defined(__FreeBSD__)
#include <sys/procctl.h>
#include <unistd.h>
#endif

namespace sealpipe::sys {

namespace {

// No new privileges, where the system has it: true if applied.
bool no_new_privs() {
#if defined(__FreeBSD__)
    int enable = PROC_NO_NEW_PRIVS_ENABLE;
    return ::procctl(P_PID, ::getpid(), PROC_NO_NEW_PRIVS_CTL, &enable) == 0;
#else
    return false;
#endif
}

} // namespace

std::string SandboxReport::describe() const {
    return no_new_privs ? "no new privileges" : "nothing";
}

bool sandbox_limits_removal(SandboxMode) noexcept {
    return false; // no new privileges takes nothing from the file system
}

SandboxReport apply_sandbox(const SandboxPolicy &, SandboxMode mode) {
    SandboxReport report;
    if (mode == SandboxMode::Off) {
        report.missing.emplace_back("every layer (--sandbox=off)");
        return report;
    }
    if (mode == SandboxMode::On)
        throw SandboxError("sandbox: --sandbox=on, but no confinement layer exists on this "
                           "system (DESIGN.md §13); use --sandbox=auto");
    report.no_new_privs = no_new_privs();
    report.missing.emplace_back("file, network and system-call confinement (no such layer "
                                "exists on this system yet: DESIGN.md §13)");
    return report;
}

std::string sandbox_canary(const std::string &) {
    return "";
}

} // namespace sealpipe::sys
