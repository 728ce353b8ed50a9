// SPDX-License-Identifier: BSD-2-Clause
// Why a connection ended, what that decides, and the one line it logs.
//
//   EndReason --(policy_of)--> EndPolicy: reset the plaintext side? tell the
//                              peer with a RESET, and which code? log level
//   EndReport --(detail)-----> the text after the reason in the log line
//             --(log_end)----> the rate-limited log line (log_end_line)
//
// Every connection ends with exactly one EndReason (DESIGN.md §8), and the
// reset-or-FIN decision is derived from it here, in one table, rather than
// at each place that ends a connection.
#pragma once

#include "crypto/handshake.hpp"
#include "proto/constants.hpp"
#include "proto/record.hpp"
#include "util/log.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace sealpipe::tunnel {

// -e: plaintext in, encrypted out (the Noise initiator).
// -d: encrypted in, plaintext out (the Noise responder).
enum class Role : uint8_t { Encrypt, Decrypt };

// Exactly one reason per connection, logged once when it ends.
enum class EndReason : uint8_t {
    Clean,            // both directions closed with CLOSE
    ConnectFailed,    // peer (-e) or target (-d) refused or unreachable
    ConnectTimeout,   // -o expired while connecting
    HandshakeFailed,  // bad key, tampering, garbage, policy conflict
    ClosedEarly,      // -d: the peer closed before sending a byte (a probe)
    HandshakeTimeout, // -o expired during the handshake
    Replay,           // msg1 seen before (DESIGN.md §3.5)
    Truncated,        // encrypted side ended without both CLOSEs
    PeerReset,        // the peer sent RESET
    PlaintextReset,   // our plaintext side was reset or failed
    ProtocolError,    // a record failed to authenticate or broke the rules
    HeartbeatTimeout, // nothing from the peer for 4 heartbeat intervals
    IdleTimeout,      // --idle-timeout
    HalfCloseTimeout, // --half-close-timeout
    Evicted,          // handshake slots full, oldest handshake dropped
    ConnectionLimit,  // -n reached when the handshake completed
    Shutdown,         // aborted by a second SIGTERM/SIGINT
    ResourceError,    // out of file descriptors or memory
    Count_
};
inline constexpr size_t END_REASON_COUNT = static_cast<size_t>(EndReason::Count_);

// Short snake_case name, used in logs and as the Prometheus label.
const char *to_string(EndReason r) noexcept;

// What an end reason decides (DESIGN.md §3.7, §5.4, §8).
struct EndPolicy {
    // Anything but Clean resets the plaintext socket (RST, not FIN), so the
    // application never takes a cut stream for a complete one.
    bool reset_plaintext;
    // Send the peer an encrypted RESET when a session exists. False where
    // the encrypted side is already broken (truncation, a bad record, the
    // peer's own RESET) or presumed dead (heartbeat timeout).
    bool tell_peer;
    // The RESET's code, when tell_peer.
    proto::ResetReason reset_code;
    // Info for ends that are routine (clean, the peer's or the application's
    // reset); Warning for the rest.
    util::LogLevel level;
};

// The policy for ${r}: one row of a constant table.
const EndPolicy &policy_of(EndReason r) noexcept;

// A short description of a RESET code, as the peer's reason for aborting.
const char *reset_reason_text(proto::ResetReason r) noexcept;

// Everything known about a connection's end: the log line and the client's
// exit status are both made from this, never from each other's text.
struct EndReport {
    uint64_t id = 0;
    Role role = Role::Encrypt;
    EndReason reason = EndReason::Clean;
    crypto::HandshakeError handshake_error = crypto::HandshakeError::None;
    proto::RecordError record_error = proto::RecordError::None;
    proto::ResetReason peer_reset = proto::ResetReason::PlaintextReset; // PeerReset only
    int err = 0;                // the errno behind the end, if any
    bool authenticated = false; // the peer proved the key (or we are -e)
    int64_t clock_skew_s = 0;   // ClockSkew: the peer's clock minus ours
    uint64_t bytes_in = 0;      // plaintext read from our plaintext side
    uint64_t bytes_out = 0;     // plaintext written to it
    uint64_t duration_ms = 0;
};

// The detail after the reason in the log line ("" if none), e.g.
// "cannot reach the target: Connection refused".
std::string detail(const EndReport &r);

// The log line for ${r}, without the level: "conn ID PEER: REASON[: DETAIL],
// N B in, N B out, S s".
std::string end_line(const EndReport &r, const std::string &peer);

// Admits log lines about unauthenticated peers (a rate limiter).
class AuthLogGate {
public:
    // True if a line may be logged now; ${suppressed} receives how many were
    // dropped since the last one allowed.
    virtual bool allow_auth_log(uint64_t now_ms, uint64_t &suppressed) = 0;

protected:
    ~AuthLogGate() = default;
};

// Log ${r} for the connection to ${peer}. Lines about peers that never
// authenticated (and replays) pass ${gate} first, so a flood cannot fill
// the log; everything else is one line per connection.
void log_end(const EndReport &r, const std::string &peer, AuthLogGate &gate, uint64_t now_ms);

} // namespace sealpipe::tunnel
