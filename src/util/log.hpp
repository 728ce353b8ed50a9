// SPDX-License-Identifier: BSD-2-Clause
// Logging: one line per message to stderr or syslog, printf-checked.
// Messages start lower-case and carry no trailing period; a connection's
// lines start with "conn N" and the peer address. Never log key material.
//
// Thread-safety: all functions may be called from any thread; each line is
// written with a single write(2) or syslog(3) call.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>

namespace sealpipe::util {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

// Set the program name, the threshold and the destination. Lines above
// ${level} are dropped. With ${syslog} the lines go to syslog(3) with
// facility LOG_DAEMON; otherwise to stderr, prefixed with an ISO-8601 UTC
// timestamp unless stderr is the systemd journal (which adds its own).
void log_init(const char *progname, LogLevel level, bool syslog);
LogLevel log_level();
bool log_enabled(LogLevel level);

[[gnu::format(printf, 2, 3)]] void log_msg(LogLevel level, const char *fmt, ...);
[[gnu::format(printf, 2, 0)]] void log_vmsg(LogLevel level, const char *fmt, va_list ap);

#define SP_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if (::sealpipe::util::log_enabled(level))                                                  \
            ::sealpipe::util::log_msg(level, __VA_ARGS__);                                         \
    } while (0)
#define log_error(...) SP_LOG(::sealpipe::util::LogLevel::Error, __VA_ARGS__)
#define log_warn(...) SP_LOG(::sealpipe::util::LogLevel::Warning, __VA_ARGS__)
#define log_info(...) SP_LOG(::sealpipe::util::LogLevel::Info, __VA_ARGS__)
#define log_debug(...) SP_LOG(::sealpipe::util::LogLevel::Debug, __VA_ARGS__)

// Lets through at most ${burst} events per ${interval_ms}; counts the rest,
// so a flood of failed handshakes produces a few lines and one summary
// ("N more suppressed") instead of filling the disk. Not thread-safe: use
// one per event loop.
class RateLimiter {
public:
    RateLimiter(unsigned burst, uint64_t interval_ms) : burst_(burst), interval_ms_(interval_ms) {}
    // True if this event may be logged. ${suppressed_out} receives how many
    // events were dropped since the last allowed one (to report them).
    bool allow(uint64_t now_ms, uint64_t &suppressed_out);
    // Events dropped since the last allowed one; resets the count. For a
    // summary when the burst is over (no further event would report it).
    uint64_t take_suppressed() noexcept {
        const uint64_t n = suppressed_;
        suppressed_ = 0;
        return n;
    }
    uint64_t interval_ms() const noexcept { return interval_ms_; }

private:
    unsigned burst_;
    uint64_t interval_ms_;
    uint64_t window_start_ = 0;
    unsigned used_ = 0;
    uint64_t suppressed_ = 0;
};

// strerror(3) as a std::string, thread-safe.
std::string errno_string(int err);

} // namespace sealpipe::util
