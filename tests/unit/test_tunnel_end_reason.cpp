// SPDX-License-Identifier: BSD-2-Clause
// The end-reason table: what each reason decides (reset or FIN, RESET to
// the peer and its code, log level), and the text of the log line.
#include <doctest/doctest.h>

#include "tunnel/end_reason.hpp"

#include <cerrno>
#include <set>
#include <string>

using namespace sealpipe;
using namespace sealpipe::tunnel;
using proto::ResetReason;

TEST_SUITE("tunnel::end_reason") {
TEST_CASE("only a clean end closes the plaintext side with a FIN") {
    for (size_t i = 0; i < END_REASON_COUNT; ++i) {
        const auto r = static_cast<EndReason>(i);
        CAPTURE(to_string(r));
        CHECK(policy_of(r).reset_plaintext == (r != EndReason::Clean));
    }
}

TEST_CASE("a broken or dead encrypted side is not told anything") {
    for (EndReason r : {EndReason::Truncated, EndReason::ProtocolError, EndReason::PeerReset,
                        EndReason::HeartbeatTimeout, EndReason::Clean}) {
        CAPTURE(to_string(r));
        CHECK_FALSE(policy_of(r).tell_peer);
    }
    for (EndReason r : {EndReason::ConnectFailed, EndReason::IdleTimeout, EndReason::Shutdown,
                        EndReason::Evicted, EndReason::PlaintextReset}) {
        CAPTURE(to_string(r));
        CHECK(policy_of(r).tell_peer);
    }
}

TEST_CASE("each RESET carries the code the peer will report") {
    CHECK(policy_of(EndReason::ConnectFailed).reset_code == ResetReason::TargetUnreachable);
    CHECK(policy_of(EndReason::ConnectTimeout).reset_code == ResetReason::TargetUnreachable);
    CHECK(policy_of(EndReason::IdleTimeout).reset_code == ResetReason::Timeout);
    CHECK(policy_of(EndReason::HalfCloseTimeout).reset_code == ResetReason::Timeout);
    CHECK(policy_of(EndReason::HandshakeTimeout).reset_code == ResetReason::Timeout);
    CHECK(policy_of(EndReason::Shutdown).reset_code == ResetReason::Shutdown);
    CHECK(policy_of(EndReason::PlaintextReset).reset_code == ResetReason::PlaintextReset);
    CHECK(policy_of(EndReason::Evicted).reset_code == ResetReason::Overload);
    CHECK(policy_of(EndReason::ConnectionLimit).reset_code == ResetReason::Overload);
    CHECK(policy_of(EndReason::ResourceError).reset_code == ResetReason::Overload);
}

TEST_CASE("routine ends log at info, the rest as warnings") {
    // A connection closed before it sent a byte is a port probe or a health
    // check (issue: it used to log as a failed authentication).
    for (size_t i = 0; i < END_REASON_COUNT; ++i) {
        const auto r = static_cast<EndReason>(i);
        const bool routine = r == EndReason::Clean || r == EndReason::PeerReset ||
                             r == EndReason::PlaintextReset || r == EndReason::ClosedEarly;
        CAPTURE(to_string(r));
        CHECK(policy_of(r).level == (routine ? util::LogLevel::Info : util::LogLevel::Warning));
    }
}

TEST_CASE("names are unique snake_case labels") {
    std::set<std::string> seen;
    for (size_t i = 0; i < END_REASON_COUNT; ++i) {
        const std::string n = to_string(static_cast<EndReason>(i));
        CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
        CHECK(seen.insert(n).second);
    }
    CHECK(std::string(to_string(EndReason::Replay)) == "replayed_handshake");
}

TEST_CASE("the log line carries the reason, its detail and the byte counts") {
    EndReport r;
    r.id = 42;
    r.role = Role::Decrypt;
    r.reason = EndReason::ConnectFailed;
    r.err = ECONNREFUSED;
    r.bytes_in = 7;
    r.bytes_out = 9;
    r.duration_ms = 1500;
    CHECK(end_line(r, "[::1]:5000") ==
          "conn 42 [::1]:5000: connect_failed: cannot reach the target: " +
              util::errno_string(ECONNREFUSED) + ", 7 B in, 9 B out, 1.500 s");
    r.role = Role::Encrypt;
    CHECK(detail(r).rfind("cannot reach the -d side: ", 0) == 0);
    r.reason = EndReason::PeerReset;
    r.peer_reset = ResetReason::Shutdown;
    CHECK(detail(r) == "peer aborted: it was stopped");
    r.reason = EndReason::Truncated;
    r.err = 0;
    CHECK(detail(r) == "encrypted connection ended without CLOSE");
    r.reason = EndReason::Clean;
    CHECK(end_line(r, "p") == "conn 42 p: clean, 7 B in, 9 B out, 1.500 s");
}
}
