// SPDX-License-Identifier: BSD-2-Clause
// Self-confinement after start-up (SECURITY.md "Sandbox"): once the
// listener is bound, the keys are read and privileges are dropped, the
// process gives up what a tunnel never needs again.
//
// Three layers, each applied where the system has it:
//  - no new privileges (Linux PR_SET_NO_NEW_PRIVS): execve can never gain
//    privileges again (set-uid binaries, file capabilities);
//  - Landlock: files become read-only and only the paths the policy names
//    stay readable (key files and directories for reloads, the resolver's
//    files); no removal (a helper removes our own files:
//    sys/remover.hpp); with network
//    rules (Linux >= 6.7), TCP connect only to the named ports;
//  - a seccomp-bpf allow-list of the system calls the event loop, the
//    workers, the resolver and logging make. Any other call is trapped: the
//    process logs "sandbox: forbidden system call N" and dies of SIGSYS.
//
// Linux has all three (sandbox_linux.cpp). Elsewhere (sandbox_other.cpp)
// FreeBSD gets no new privileges (procctl) and nothing else, and the report
// says so; --sandbox=on refuses there. Call it before starting any thread:
// Landlock confines the calling thread and the threads it starts later.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sealpipe::sys {

enum class SandboxMode {
    Auto, // apply what the system supports, log what is active (default)
    On,   // refuse to run unless every layer is applied
    Off,  // apply nothing (debugging, valgrind), with a warning
};

// Parse "auto", "on" or "off". Throws std::invalid_argument.
SandboxMode parse_sandbox_mode(const std::string &text);

// What stays allowed after confinement.
struct SandboxPolicy {
    // Files and directories that stay readable, with everything beneath a
    // directory: the key files themselves (never their directories) and the
    // key directories. Symlinks are followed: the policy covers both the
    // path and where it leads. Missing paths are skipped.
    std::vector<std::string> read_paths;
    // Directories in which files may be removed: the removal helper's
    // policy only (sys/remover.hpp), Landlock granting removal per
    // directory, not per file. Empty for the daemon and the client, whose
    // unlink then fails (EPERM).
    std::vector<std::string> remove_dirs;
    // TCP ports that connect(2) may reach (the target's, 53 for DNS).
    std::vector<uint16_t> connect_ports;
    // TCP ports that bind(2) may take after start-up: -b's source port
    // (0: an ephemeral one) for outgoing connections.
    std::vector<uint16_t> bind_ports;
    // Abstract Unix sockets outside the sandbox stay reachable (an
    // abstract $NOTIFY_SOCKET); otherwise Landlock scopes them out.
    bool abstract_unix = false;
    // --syslog: the trap handler's line goes to syslog as well as stderr.
    bool syslog = false;
    // Program name for the trap handler's line.
    std::string progname = "sealpiped";
};

// What was applied, for the one log line and --sandbox=on.
struct SandboxReport {
    bool no_new_privs = false;
    int landlock_abi = 0; // 0: no Landlock
    bool landlock_fs = false;
    bool landlock_net = false;
    bool seccomp = false;
    std::vector<std::string> missing; // one phrase per layer not applied
    // "no new privileges, Landlock ABI 6 (files, TCP ports), seccomp
    // allow-list"
    std::string describe() const;
    bool complete() const { return missing.empty(); }
};

// Thrown by apply_sandbox() when --sandbox=on cannot be honoured, or a
// layer failed half-way (a process that is not what it claims to be must
// not run). what() is one line for the operator.
class SandboxError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Apply the layers for ${mode} (Off: nothing). Throws SandboxError if
// mode is On and a layer is missing, or a layer's set-up failed after an
// earlier layer was applied.
SandboxReport apply_sandbox(const SandboxPolicy &policy, SandboxMode mode);

// Whether apply_sandbox(..., ${mode}) takes the right to remove files
// away, so that the daemon needs its removal helper (sys/remover.hpp):
// Linux unless Off; nowhere else.
bool sandbox_limits_removal(SandboxMode mode) noexcept;

// Test builds only (SEALPIPE_TEST_HOOKS): attempt the forbidden action
// ${what} ("open" /etc/shadow, "open:PATH", "remove:PATH", "exec" /bin/sh, "connect:PORT" on
// 127.0.0.1, "ptrace" the parent) and return what happened, for
// tests/e2e/34-sandbox.sh. In a confined process "exec" and "ptrace" do
// not return. Returns "" for an unknown ${what}, or in a release build.
std::string sandbox_canary(const std::string &what);

} // namespace sealpipe::sys
