// SPDX-License-Identifier: BSD-2-Clause
// What sealpiped and sealpipe keep after start-up (sys/sandbox.hpp): the
// policy each program's configuration implies, and applying it with one
// log line. SECURITY.md "Sandbox" lists what each layer refuses.
#pragma once

#include "net/address.hpp"
#include "sys/sandbox.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sealpipe::app {

// What the running daemon still touches.
struct ConfineInputs {
    std::vector<std::string> key_paths; // absolute; files or directories
    std::vector<net::SockAddr> targets; // resolved now (their ports stay)
    bool target_is_name = false;        // re-resolved later: DNS over TCP (53)
    std::optional<net::SockAddr> bind;  // -b
    bool syslog = false;
};

// The policy for ${in}: the key paths (a key file itself, never its
// directory; a key directory with everything beneath, a Kubernetes
// Secret's ..data among it, and where its *.key symlinks lead), the
// target's TCP ports. No removal: the daemon's own files are removed by
// its helper (sys/remover.hpp).
sys::SandboxPolicy confine_policy(const ConfineInputs &in, const char *progname);

// Apply ${policy} in mode ${mode} ("auto", "on", "off") and log what is
// active (auto: once, at info; anything missing: a warning). Returns ""
// or, if the process must not run, one line saying why.
std::string confine(const sys::SandboxPolicy &policy, const std::string &mode);

} // namespace sealpipe::app
