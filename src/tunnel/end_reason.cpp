// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/end_reason.hpp"

#include <array>
#include <cstdio>

namespace sealpipe::tunnel {

namespace {

using proto::ResetReason;
using util::LogLevel;

struct Row {
    EndReason reason;
    const char *name;
    EndPolicy policy;
};

// One row per reason, in enum order (checked below).
constexpr bool RST = true, FIN = false;    // the plaintext side
constexpr bool TELL = true, QUIET = false; // a RESET to the peer
constexpr LogLevel INFO = LogLevel::Info, WARN = LogLevel::Warning;

// clang-format off
constexpr std::array<Row, END_REASON_COUNT> TABLE = {{
//   reason                         name                  plaintext  peer   RESET code                        level
    {EndReason::Clean,            "clean",              {FIN, QUIET, ResetReason::PlaintextReset,    INFO}},
    {EndReason::ConnectFailed,    "connect_failed",     {RST, TELL,  ResetReason::TargetUnreachable, WARN}},
    {EndReason::ConnectTimeout,   "connect_timeout",    {RST, TELL,  ResetReason::TargetUnreachable, WARN}},
    {EndReason::HandshakeFailed,  "handshake_failed",   {RST, TELL,  ResetReason::ProtocolError,     WARN}},
    {EndReason::ClosedEarly,      "closed_before_handshake", {RST, QUIET, ResetReason::ProtocolError, INFO}},
    {EndReason::HandshakeTimeout, "handshake_timeout",  {RST, TELL,  ResetReason::Timeout,           WARN}},
    {EndReason::Replay,           "replayed_handshake", {RST, TELL,  ResetReason::ProtocolError,     WARN}},
    {EndReason::Truncated,        "truncated",          {RST, QUIET, ResetReason::ProtocolError,     WARN}},
    {EndReason::PeerReset,        "peer_reset",         {RST, QUIET, ResetReason::PlaintextReset,    INFO}},
    {EndReason::PlaintextReset,   "plaintext_reset",    {RST, TELL,  ResetReason::PlaintextReset,    INFO}},
    {EndReason::ProtocolError,    "protocol_error",     {RST, QUIET, ResetReason::ProtocolError,     WARN}},
    {EndReason::HeartbeatTimeout, "heartbeat_timeout",  {RST, QUIET, ResetReason::HeartbeatTimeout,  WARN}},
    {EndReason::IdleTimeout,      "idle_timeout",       {RST, TELL,  ResetReason::Timeout,           WARN}},
    {EndReason::HalfCloseTimeout, "half_close_timeout", {RST, TELL,  ResetReason::Timeout,           WARN}},
    {EndReason::Evicted,          "evicted",            {RST, TELL,  ResetReason::Overload,          WARN}},
    {EndReason::ConnectionLimit,  "connection_limit",   {RST, TELL,  ResetReason::Overload,          WARN}},
    {EndReason::Shutdown,         "shutdown",           {RST, TELL,  ResetReason::Shutdown,          WARN}},
    {EndReason::ResourceError,    "resource_error",     {RST, TELL,  ResetReason::Overload,          WARN}},
}};
// clang-format on

constexpr bool table_in_enum_order() {
    for (size_t i = 0; i < TABLE.size(); ++i)
        if (static_cast<size_t>(TABLE[i].reason) != i)
            return false;
    return true;
}
static_assert(table_in_enum_order(), "TABLE must list every EndReason in enum order");

std::string with_errno(std::string text, int err) {
    if (err != 0)
        text += " (" + util::errno_string(err) + ")";
    return text;
}

} // namespace

const char *to_string(EndReason r) noexcept {
    const auto i = static_cast<size_t>(r);
    return i < TABLE.size() ? TABLE[i].name : "unknown";
}

const EndPolicy &policy_of(EndReason r) noexcept {
    const auto i = static_cast<size_t>(r);
    return TABLE[i < TABLE.size() ? i : static_cast<size_t>(EndReason::ProtocolError)].policy;
}

const char *reset_reason_text(ResetReason r) noexcept {
    switch (r) {
    case ResetReason::PlaintextReset: return "its plaintext side was reset";
    case ResetReason::TargetUnreachable: return "its target is unreachable";
    case ResetReason::Timeout: return "idle or half-close timeout";
    case ResetReason::ProtocolError: return "protocol error";
    case ResetReason::Shutdown: return "it was stopped";
    case ResetReason::Overload: return "overload";
    case ResetReason::HeartbeatTimeout:
        return "heartbeat timeout (it heard nothing from this side)";
    }
    return "unknown reason";
}

std::string detail(const EndReport &r) {
    switch (r.reason) {
    case EndReason::HandshakeFailed:
        if (r.handshake_error == crypto::HandshakeError::ClockSkew) {
            // DESIGN.md §3.5: say by how much, so the operator can tell a
            // clock that drifted from a replay.
            const int64_t s = r.clock_skew_s;
            const unsigned long long mag =
                static_cast<unsigned long long>(s < 0 ? -(s + 1) + 1 : s);
            return "clock skew: the peer's clock is " + std::to_string(mag) + " s " +
                   (s < 0 ? "behind" : "ahead of") +
                   " this one's, outside --clock-window (or a replayed handshake)";
        }
        if (r.handshake_error == crypto::HandshakeError::PeerClosed && r.role == Role::Encrypt)
            return with_errno("the -d side closed without answering: wrong key, or clock skew? "
                              "(the two clocks must agree within its --clock-window) Or it "
                              "had seen this first message already ('replayed_handshake' in "
                              "its log): something on the path delivered it first",
                              r.err);
        return with_errno(crypto::to_string(r.handshake_error),
                          r.handshake_error == crypto::HandshakeError::PeerClosed ? r.err : 0);
    case EndReason::Replay:
        // DESIGN.md §3.5: what is known. The peer may be an attacker with a
        // recording, or the real client whose message something on the
        // path delivered first (that client then fails, told so above).
        return "this first message was seen before: a recorded handshake replayed, or a "
               "client's own message that something on the path delivered first";
    case EndReason::ProtocolError:
        return r.record_error != proto::RecordError::None ? proto::to_string(r.record_error)
                                                          : "protocol error";
    case EndReason::PeerReset:
        return std::string("peer aborted: ") + reset_reason_text(r.peer_reset);
    case EndReason::ConnectFailed:
        return (r.role == Role::Encrypt ? "cannot reach the -d side: "
                                        : "cannot reach the target: ") +
               util::errno_string(r.err != 0 ? r.err : EHOSTUNREACH);
    case EndReason::Truncated: return with_errno("encrypted connection ended without CLOSE", r.err);
    case EndReason::PlaintextReset:
        return with_errno(
            r.role == Role::Encrypt ? "client connection reset" : "target connection reset", r.err);
    case EndReason::ResourceError: return r.err != 0 ? util::errno_string(r.err) : "out of memory";
    default: return "";
    }
}

std::string end_line(const EndReport &r, const std::string &peer) {
    const std::string d = detail(r);
    char tail[128];
    std::snprintf(tail, sizeof tail, ", %llu B in, %llu B out, %.3f s",
                  static_cast<unsigned long long>(r.bytes_in),
                  static_cast<unsigned long long>(r.bytes_out),
                  static_cast<double>(r.duration_ms) / 1000.0);
    return "conn " + std::to_string(r.id) + " " + peer + ": " + to_string(r.reason) +
           (d.empty() ? "" : ": " + d) + tail;
}

void log_end(const EndReport &r, const std::string &peer, AuthLogGate &gate, uint64_t now_ms) {
    const LogLevel level = policy_of(r.reason).level;
    if (!util::log_enabled(level))
        return;
    if (!r.authenticated || r.reason == EndReason::Replay) {
        uint64_t suppressed = 0;
        if (!gate.allow_auth_log(now_ms, suppressed))
            return;
        if (suppressed > 0)
            util::log_msg(level, "%llu more unauthenticated connection failures not logged",
                          static_cast<unsigned long long>(suppressed));
    }
    util::log_msg(level, "%s", end_line(r, peer).c_str());
}

} // namespace sealpipe::tunnel
