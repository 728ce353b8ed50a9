// SPDX-License-Identifier: BSD-2-Clause
#include "sys/process.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <sys/resource.h>

#include <sys/mman.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__FreeBSD__)
#include <sys/procctl.h>
#include <unistd.h>
#endif

namespace sealpipe::sys {

std::string protect_memory() noexcept {
    std::string failed;
    struct rlimit none {};
    if (::setrlimit(RLIMIT_CORE, &none) != 0)
        failed += "core dumps stay possible (setrlimit: " + util::errno_string(errno) + ")";
#if defined(__linux__)
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        failed += std::string(failed.empty() ? "" : "; ") +
                  "the process stays dumpable (prctl: " + util::errno_string(errno) + ")";
#elif defined(__FreeBSD__)
    int disable = PROC_TRACE_CTL_DISABLE;
    if (::procctl(P_PID, ::getpid(), PROC_TRACE_CTL, &disable) != 0)
        failed += std::string(failed.empty() ? "" : "; ") + "the process stays traceable " +
                  "(procctl: " + util::errno_string(errno) + ")";
#endif
    return failed;
}

std::string lock_memory() noexcept {
    struct rlimit lim {};
    if (::getrlimit(RLIMIT_MEMLOCK, &lim) != 0)
        return "getrlimit: " + util::errno_string(errno);
    // Root keeps CAP_IPC_LOCK (unless a container took it away: mlockall
    // then fails and says so), which no limit applies to; after -u the
    // limit applies, and only an unlimited one is safe.
    if (lim.rlim_cur != RLIM_INFINITY && ::geteuid() != 0)
        return "the locked-memory limit is " + std::to_string(lim.rlim_cur / 1024) +
               " KiB, not unlimited";
#if defined(__linux__) && defined(MCL_ONFAULT)
    if (::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0)
        return "mlockall: " + util::errno_string(errno);
    return "";
#elif defined(__FreeBSD__)
    // No MCL_ONFAULT: what is mapped now is wired at once (a small daemon:
    // a few MiB), the rest as it is mapped. In a jail, allow.mlock.
    if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        return "mlockall: " + util::errno_string(errno);
    return "";
#else
    return "locking memory as it is touched is not supported here";
#endif
}

std::string lock_memory_advice() {
#if defined(__FreeBSD__)
    return "rc.conf: sealpiped_limits=\"-l unlimited\"; in a jail, also allow.mlock; shell: "
           "limits -l unlimited";
#else
    return "systemd: LimitMEMLOCK=infinity, as the shipped unit does; shell: ulimit -l unlimited";
#endif
}

} // namespace sealpipe::sys
