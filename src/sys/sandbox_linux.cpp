// SPDX-License-Identifier: BSD-2-Clause
// The Linux sandbox: PR_SET_NO_NEW_PRIVS, Landlock (its own file,
// sandbox_landlock_linux.cpp) and a libseccomp allow-list (sys/sandbox.hpp,
// SECURITY.md "Sandbox").
#include "sys/sandbox_linux.hpp"
#include "util/log.hpp"

#include "config.h"

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

namespace sealpipe::sys {

namespace {

// The trap handler's line, formatted without allocating: a SIGSYS handler
// may only call async-signal-safe functions.
char g_progname[32] = "sealpiped";
int g_syslog_fd = -1;

void put(char *buf, size_t &len, size_t cap, const char *s) {
    while (*s != '\0' && len < cap)
        buf[len++] = *s++;
}

void put_number(char *buf, size_t &len, size_t cap, unsigned long v) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0 && len < cap)
        buf[len++] = digits[--n];
}

extern "C" void on_sigsys(int, siginfo_t *info, void *) {
    const int saved = errno;
    char msg[256];
    size_t len = 0;
    const size_t cap = sizeof msg;
    put(msg, len, cap, g_progname);
    put(msg, len, cap, ": sandbox: forbidden system call ");
    put_number(msg, len, cap, static_cast<unsigned long>(info->si_syscall));
    put(msg, len, cap, " (resolve with: scmp_sys_resolver ");
    put_number(msg, len, cap, static_cast<unsigned long>(info->si_syscall));
    put(msg, len, cap, "); a bug or an attack: exiting\n");
    (void)!::write(STDERR_FILENO, msg, len);
    if (g_syslog_fd >= 0) {
        // A raw syslog datagram, <LOG_DAEMON|LOG_CRIT>, without the
        // trailing newline.
        char line[sizeof msg + 4] = "<26>";
        std::memcpy(line + 4, msg, len - 1);
        (void)::send(g_syslog_fd, line, len + 3, MSG_DONTWAIT);
    }
    // Die of the signal itself, as SECCOMP_RET_KILL_PROCESS would, once
    // the line is out: SIGSYS is blocked in its handler, so the raise is
    // delivered on return.
    ::signal(SIGSYS, SIG_DFL);
    ::raise(SIGSYS);
    errno = saved;
}

void install_trap_handler(const SandboxPolicy &policy) {
    std::strncpy(g_progname, policy.progname.c_str(), sizeof g_progname - 1);
    if (policy.syslog) {
        g_syslog_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strncpy(sun.sun_path, "/dev/log", sizeof sun.sun_path - 1);
        if (g_syslog_fd >= 0 &&
            ::connect(g_syslog_fd, reinterpret_cast<sockaddr *>(&sun), sizeof sun) != 0) {
            ::close(g_syslog_fd);
            g_syslog_fd = -1;
        }
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSYS, &sa, nullptr);
}

// The system calls a confined sealpiped or sealpipe makes: the event loop
// and its workers (epoll, sockets, timers, threads), memory (malloc, and
// libsodium's locked allocations for reloaded keys), key reloads (open,
// read, stat, directory listing), the resolver thread (glibc's DNS client,
// netlink for AI_ADDRCONFIG), logging (stderr, /dev/log), sd_notify, and
// reaping the removal helper (sys/remover.hpp) at exit.
const char *const ALLOWED[] = {
    // files and descriptors
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "close",
    "fstat",
    "newfstatat",
    "stat",
    "lstat",
    "statx",
    "lseek",
    "getdents64",
    "readlink",
    "readlinkat",
    "access",
    "faccessat",
    "faccessat2",
    "dup",
    "wait4",
    // sockets (open, openat, fcntl, mmap, mprotect, socket, clone, ioctl,
    // kill and tgkill are added with argument checks: apply_seccomp)
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    // the event loop
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "pipe",
    "pipe2",
    "eventfd",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    // memory
    "munmap",
    "mremap",
    "brk",
    "madvise",
    "mlock",
    "mlock2",
    "munlock",
    // threads and signals
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "sigaltstack",
    "restart_syscall",
    "sched_yield",
    "sched_getaffinity",
    "gettid",
    "getpid",
    // time, identity, randomness, limits
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getrandom",
    "uname",
    "sysinfo",
    "getrlimit",
};

// One argument comparison. (libseccomp's SCMP_A* macros are C compound
// literals, which clang refuses in C++ with -Werror.)
scmp_arg_cmp arg_is(unsigned arg, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
    scmp_arg_cmp c{};
    c.arg = arg;
    c.op = op;
    c.datum_a = a;
    c.datum_b = b;
    return c;
}

void add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n = 0,
         const scmp_arg_cmp *args = nullptr) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return; // not a system call on this architecture
    const int rc = seccomp_rule_add_array(ctx, action, nr, n, args);
    if (rc != 0)
        throw SandboxError(std::string("sandbox: seccomp rule for ") + name + ": " +
                           util::errno_string(-rc));
}

// Files and memory after start-up (issue 25 item 5), for where Landlock is
// missing or old: opens are read-only and create nothing; fcntl only the
// commands libevent and glibc use (no F_SETOWN/F_SETSIG: with O_ASYNC
// they would signal other processes, around the kill(self) rule); no
// mapping becomes executable (nothing the daemon uses loads code after
// start-up: OpenSSL's providers, the NSS modules of a name resolved at
// start are loaded by then). Refused with EPERM, where Landlock would say
// EACCES, so that a test can tell which layer refused.
void add_file_rules(scmp_filter_ctx ctx) {
    const scmp_datum_t readonly_mask = O_ACCMODE | O_CREAT | O_TRUNC;
    const scmp_arg_cmp open_ro = arg_is(1, SCMP_CMP_MASKED_EQ, readonly_mask, O_RDONLY);
    const scmp_arg_cmp openat_ro = arg_is(2, SCMP_CMP_MASKED_EQ, readonly_mask, O_RDONLY);
    add(ctx, SCMP_ACT_ALLOW, "open", 1, &open_ro);
    add(ctx, SCMP_ACT_ALLOW, "openat", 1, &openat_ro);
    for (scmp_datum_t bit : {scmp_datum_t{O_WRONLY}, scmp_datum_t{O_RDWR}, scmp_datum_t{O_CREAT},
                             scmp_datum_t{O_TRUNC}}) {
        const scmp_arg_cmp o = arg_is(1, SCMP_CMP_MASKED_EQ, bit, bit);
        const scmp_arg_cmp oat = arg_is(2, SCMP_CMP_MASKED_EQ, bit, bit);
        add(ctx, SCMP_ACT_ERRNO(EPERM), "open", 1, &o);
        add(ctx, SCMP_ACT_ERRNO(EPERM), "openat", 1, &oat);
    }
    for (int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC}) {
        const scmp_arg_cmp c = arg_is(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd));
        add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, &c);
    }
    const scmp_arg_cmp no_exec = arg_is(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
    const scmp_arg_cmp exec = arg_is(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
    for (const char *name : {"mmap", "mprotect"}) {
        add(ctx, SCMP_ACT_ALLOW, name, 1, &no_exec);
        add(ctx, SCMP_ACT_ERRNO(EPERM), name, 1, &exec);
    }
}

void apply_seccomp(const SandboxPolicy &policy, SandboxReport &report) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (ctx == nullptr)
        throw SandboxError("sandbox: seccomp_init failed");
    try {
        // We set no-new-privileges ourselves, and want to see it missing.
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        for (const char *name : ALLOWED)
            add(ctx, SCMP_ACT_ALLOW, name);
        const scmp_datum_t pid = static_cast<scmp_datum_t>(::getpid());
        // Threads only: a clone without CLONE_THREAD is a fork. clone3's
        // flags are in memory, out of the filter's reach: ENOSYS makes
        // glibc fall back to clone.
        const scmp_arg_cmp thread = arg_is(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
        add(ctx, SCMP_ACT_ALLOW, "clone", 1, &thread);
        add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");
        // Signals to ourselves only (raise, abort).
        const scmp_arg_cmp self = arg_is(0, SCMP_CMP_EQ, pid);
        add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &self);
        add(ctx, SCMP_ACT_ALLOW, "kill", 1, &self);
        // Reading limits, never raising them.
        const scmp_arg_cmp no_new_limit = arg_is(2, SCMP_CMP_EQ, 0);
        add(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &no_new_limit);
        // The socket families a tunnel uses: TCP and Unix; netlink only as
        // NETLINK_ROUTE, which glibc's AI_ADDRCONFIG reads. Any other traps.
        for (int family : {AF_UNIX, AF_INET, AF_INET6}) {
            const scmp_arg_cmp fam = arg_is(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(family));
            add(ctx, SCMP_ACT_ALLOW, "socket", 1, &fam);
        }
        const scmp_arg_cmp route[] = {arg_is(0, SCMP_CMP_EQ, AF_NETLINK),
                                      arg_is(2, SCMP_CMP_EQ, NETLINK_ROUTE)};
        add(ctx, SCMP_ACT_ALLOW, "socket", 2, route);
        add_file_rules(ctx);
        // Removal: only the removal helper's policy names directories
        // (sys/remover.hpp); anyone else's unlink fails with EPERM.
        for (const char *name : {"unlink", "unlinkat"})
            add(ctx, policy.remove_dirs.empty() ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW, name);
        // ioctl: what libevent and stdio ask (bytes readable, non-blocking,
        // "is this a terminal"); nothing that reaches a device.
        for (unsigned long req : {FIONREAD, FIONBIO, TCGETS}) {
            const scmp_arg_cmp r = arg_is(1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(req));
            add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &r);
        }
        install_trap_handler(policy);
        const int rc = seccomp_load(ctx);
        if (rc != 0)
            throw SandboxError("sandbox: the seccomp filter was not loaded: " +
                               util::errno_string(-rc));
    } catch (...) {
        seccomp_release(ctx);
        throw;
    }
    seccomp_release(ctx);
    report.seccomp = true;
}

} // namespace

std::string SandboxReport::describe() const {
    std::string s;
    auto add_part = [&s](const std::string &part) { s += (s.empty() ? "" : ", ") + part; };
    if (no_new_privs)
        add_part("no new privileges");
    if (landlock_fs)
        add_part("Landlock ABI " + std::to_string(landlock_abi) +
                 (landlock_net ? " (files, TCP ports)" : " (files)"));
    if (seccomp)
        add_part("seccomp allow-list");
    return s.empty() ? "nothing" : s;
}

bool sandbox_limits_removal(SandboxMode mode) noexcept {
    return mode != SandboxMode::Off;
}

SandboxReport apply_sandbox(const SandboxPolicy &policy, SandboxMode mode) {
    SandboxReport report;
    if (mode == SandboxMode::Off) {
        report.missing.emplace_back("every layer (--sandbox=off)");
        return report;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw SandboxError("sandbox: PR_SET_NO_NEW_PRIVS: " + util::errno_string(errno));
    report.no_new_privs = true;
    apply_landlock(policy, report);
    if (mode == SandboxMode::On && !report.complete())
        throw SandboxError("sandbox: --sandbox=on, but this kernel lacks " + report.missing[0] +
                           "; use --sandbox=auto to run with what it has");
    apply_seccomp(policy, report);
    return report;
}

} // namespace sealpipe::sys
