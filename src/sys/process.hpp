// SPDX-License-Identifier: BSD-2-Clause
// Keep the process's memory, which holds keys, out of core dumps and away
// from other processes of the same user: no core file (RLIMIT_CORE 0) and,
// where the system has it, not dumpable (Linux PR_SET_DUMPABLE, FreeBSD
// PROC_TRACE_CTL), which also refuses ptrace and /proc/PID/mem to anyone
// but root. Portable fallback: the resource limit alone.
#pragma once

#include <string>

namespace sealpipe::sys {

// Apply both; call at start-up and again after dropping privileges (a
// change of user makes a Linux process dumpable again). Returns "" or a
// description of what could not be done, for one warning.
std::string protect_memory() noexcept;

// Lock the process's memory, as it is touched, so that session keys (and
// the AEADs' expanded keys, in OpenSSL's heap) never reach swap: Linux
// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), which faults nothing in
// ahead of use; FreeBSD mlockall(MCL_CURRENT | MCL_FUTURE). Only as root (CAP_IPC_LOCK: no limit applies) or where
// RLIMIT_MEMLOCK is unlimited: under a finite limit, future allocations
// past it would fail. Call after daemonizing and dropping privileges.
// Returns "" or why the memory is not locked, for one warning.
std::string lock_memory() noexcept;

// How an operator raises the locked-memory limit on this system (the
// service manager's setting and the shell's), for lock_memory's warning.
std::string lock_memory_advice();

} // namespace sealpipe::sys
