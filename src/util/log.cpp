// SPDX-License-Identifier: BSD-2-Clause
#include "util/log.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

namespace sealpipe::util {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::atomic<bool> g_syslog{false};
bool g_timestamps = true;
const char *g_progname = "sealpipe";

int syslog_priority(LogLevel l) {
    switch (l) {
    case LogLevel::Error: return LOG_ERR;
    case LogLevel::Warning: return LOG_WARNING;
    case LogLevel::Info: return LOG_INFO;
    case LogLevel::Debug: return LOG_DEBUG;
    }
    return LOG_INFO;
}

const char *level_prefix(LogLevel l) {
    switch (l) {
    case LogLevel::Error: return "error: ";
    case LogLevel::Warning: return "warning: ";
    default: return "";
    }
}
} // namespace

void log_init(const char *progname, LogLevel level, bool use_syslog) {
    g_progname = progname;
    g_level = static_cast<int>(level);
    // systemd's journal timestamps every line itself.
    g_timestamps = std::getenv("JOURNAL_STREAM") == nullptr;
    if (use_syslog && !g_syslog)
        ::openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    g_syslog = use_syslog;
}

LogLevel log_level() {
    return static_cast<LogLevel>(g_level.load());
}

bool log_enabled(LogLevel level) {
    return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void log_vmsg(LogLevel level, const char *fmt, va_list ap) {
    const int saved_errno = errno;
    char msg[1024];
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    if (g_syslog) {
        ::syslog(syslog_priority(level), "%s%s", level_prefix(level), msg);
    } else {
        char line[1200];
        int n = 0;
        if (g_timestamps) {
            struct timeval tv {};
            ::gettimeofday(&tv, nullptr);
            struct tm tm {};
            ::gmtime_r(&tv.tv_sec, &tm);
            n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(tv.tv_usec / 1000));
        }
        n += std::snprintf(line + n, sizeof line - static_cast<size_t>(n), "%s[%d]: %s%s\n",
                           g_progname, static_cast<int>(::getpid()), level_prefix(level), msg);
        if (n > static_cast<int>(sizeof line))
            n = sizeof line;
        // One write per line keeps lines whole when several threads log.
        [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, line, static_cast<size_t>(n));
    }
    errno = saved_errno;
}

void log_msg(LogLevel level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

bool RateLimiter::allow(uint64_t now_ms, uint64_t &suppressed_out) {
    suppressed_out = 0;
    if (now_ms - window_start_ >= interval_ms_) {
        window_start_ = now_ms;
        used_ = 0;
    }
    if (used_ < burst_) {
        ++used_;
        suppressed_out = suppressed_;
        suppressed_ = 0;
        return true;
    }
    ++suppressed_;
    return false;
}

namespace {

// strerror_r comes in two shapes: POSIX's (FreeBSD, musl) returns 0 and
// fills buf; GNU's (glibc with _GNU_SOURCE, which g++ always defines)
// returns a pointer that may or may not be buf. Overloading on the return
// type takes whichever the C library declares, with no #ifdef.
[[maybe_unused]] const char *strerror_text(int rc, const char *buf) {
    return rc == 0 ? buf : "unknown error";
}
[[maybe_unused]] const char *strerror_text(const char *text, const char *) {
    return text;
}

} // namespace

std::string errno_string(int err) {
    char buf[128] = "";
    return strerror_text(::strerror_r(err, buf, sizeof buf), buf);
}

} // namespace sealpipe::util
