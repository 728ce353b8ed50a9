// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/stats.hpp"

namespace sealpipe::tunnel {

const char *to_string(EndReason r) noexcept {
    switch (r) {
    case EndReason::Clean: return "clean";
    case EndReason::ConnectFailed: return "connect_failed";
    case EndReason::ConnectTimeout: return "connect_timeout";
    case EndReason::HandshakeFailed: return "handshake_failed";
    case EndReason::HandshakeTimeout: return "handshake_timeout";
    case EndReason::Replay: return "replayed_handshake";
    case EndReason::Truncated: return "truncated";
    case EndReason::PeerReset: return "peer_reset";
    case EndReason::PlaintextReset: return "plaintext_reset";
    case EndReason::ProtocolError: return "protocol_error";
    case EndReason::HeartbeatTimeout: return "heartbeat_timeout";
    case EndReason::IdleTimeout: return "idle_timeout";
    case EndReason::HalfCloseTimeout: return "half_close_timeout";
    case EndReason::Evicted: return "evicted";
    case EndReason::ConnectionLimit: return "connection_limit";
    case EndReason::Shutdown: return "shutdown";
    case EndReason::ResourceError: return "resource_error";
    case EndReason::Count_: break;
    }
    return "unknown";
}

} // namespace sealpipe::tunnel
