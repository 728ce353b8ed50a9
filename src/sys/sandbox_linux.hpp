// SPDX-License-Identifier: BSD-2-Clause
// The layers of the Linux sandbox (sys/sandbox.hpp), one file each:
// sandbox_landlock_linux.cpp and, with no new privileges and the order in
// which they are applied, sandbox_linux.cpp (seccomp). Only those files
// include this.
#pragma once

#include "sys/sandbox.hpp"

namespace sealpipe::sys {

// Landlock: read-only access to ${policy}'s paths and the resolver's
// files, removal in its remove_dirs (the removal helper's only), TCP
// connect and bind to its ports, signals and abstract sockets scoped.
// Records in ${report} what was applied, and what is missing. Throws
// SandboxError if a rule cannot be added after the ruleset exists.
void apply_landlock(const SandboxPolicy &policy, SandboxReport &report);

} // namespace sealpipe::sys
