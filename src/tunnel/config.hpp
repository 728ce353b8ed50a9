// SPDX-License-Identifier: BSD-2-Clause
// Run-time configuration of the tunnel engine, filled from the command line
// by the programs and read by every connection.
#pragma once

#include "crypto/handshake.hpp"
#include "crypto/keyfile.hpp"
#include "net/address.hpp"
#include "tunnel/end_reason.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sealpipe::tunnel {

class WireProtocol;

// Implementation limits: not part of the protocol (those are in
// proto/constants.hpp), and not settable from the command line.
namespace limits {
// Read-transform-write rounds in one wake-up before a connection yields to
// the others (about 1 MiB per direction).
inline constexpr int PUMP_ROUNDS = 16;
// Connections accepted per listener wake-up.
inline constexpr int ACCEPT_BATCH = 64;
// Out of descriptors: how soon to try accept(2) again.
inline constexpr uint64_t FD_EXHAUSTED_RETRY_MS = 250;
// With --threads, a worker paused at -n looks again this often: the slot
// may be freed on another thread.
inline constexpr uint64_t LIMIT_RECHECK_MS = 100;
// The lingering close after an abort that sent RESET waits at most this
// long (and at most the drain timeout).
inline constexpr uint64_t ABORT_LINGER_MAX_MS = 2000;
// Lines about unauthenticated peers: a burst of 10 per 10 s.
inline constexpr unsigned AUTH_LOG_BURST = 10;
inline constexpr uint64_t AUTH_LOG_INTERVAL_MS = 10000;
// Other repeated warnings (connection limit, descriptors): one per 10 s.
inline constexpr uint64_t WARNING_INTERVAL_MS = 10000;
// Records read after a failed write, looking for the peer's RESET.
inline constexpr int SALVAGE_READS = 8;
// Idle pooled buffers kept per worker.
inline constexpr size_t POOL_FREE_MAX = 64;
} // namespace limits

struct TunnelConfig {
    Role role = Role::Encrypt;
    // -n: established connections (SIZE_MAX = unlimited).
    size_t max_connections = 100;
    // Connections still in their handshake (-d: before msg1 authenticated;
    // -e: before the tunnel is up). When full, -d drops the oldest.
    size_t max_handshakes = 1024;
    uint64_t connect_timeout_ms = 5000;      // -o
    uint64_t handshake_timeout_ms = 5000;    // -o
    uint64_t idle_timeout_ms = 0;            // --idle-timeout, 0 = off
    uint64_t half_close_timeout_ms = 300000; // --half-close-timeout, 0 = off
    uint64_t drain_timeout_ms = 5000;        // lingering close after both CLOSEs
    uint16_t heartbeat_s = 30;               // --heartbeat, 0 = off
    bool keepalive = true;                   // !-j
    bool proxy_protocol = false;             // --proxy-protocol (-d)
    const WireProtocol *protocol = nullptr;  // nullptr: sealpipe_protocol()
    proto::RekeyLimits rekey;                // DESIGN.md §6.2 (shorter: test knobs, app/)
    crypto::HandshakeOptions handshake;      // fs policy and ciphers
    std::optional<net::SockAddr> bind;       // -b
};

// The keys in use: replaced as a whole on SIGHUP, so a connection holds the
// set it started with (shared_ptr) and reloads never touch it.
struct KeySet {
    std::vector<crypto::Psk> keys;
    std::vector<const crypto::Psk *> pointers() const {
        std::vector<const crypto::Psk *> v;
        for (const auto &k : keys)
            v.push_back(&k);
        return v;
    }
};

using Targets = std::vector<net::SockAddr>;

// A value replaced as a whole while other threads read snapshots of it.
template <typename T> class Shared {
public:
    std::shared_ptr<const T> get() const {
        std::lock_guard<std::mutex> lock(mu_);
        return value_;
    }
    void set(std::shared_ptr<const T> v) {
        std::lock_guard<std::mutex> lock(mu_);
        value_ = std::move(v);
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const T> value_;
};

} // namespace sealpipe::tunnel
