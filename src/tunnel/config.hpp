// SPDX-License-Identifier: BSD-2-Clause
// Run-time configuration of the tunnel engine, filled from the command line
// by the programs and read by every connection.
#pragma once

#include "crypto/handshake.hpp"
#include "crypto/keyfile.hpp"
#include "net/address.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sealpipe::tunnel {

// -e: plaintext in, encrypted out (the Noise initiator).
// -d: encrypted in, plaintext out (the Noise responder).
enum class Role : uint8_t { Encrypt, Decrypt };

struct TunnelConfig {
    Role role = Role::Encrypt;
    // -n: established connections (SIZE_MAX = unlimited).
    size_t max_connections = 100;
    // Connections still in their handshake (-d: before msg1 authenticated;
    // -e: before the tunnel is up). When full, -d drops the oldest.
    size_t max_handshakes = 1024;
    uint64_t connect_timeout_ms = 5000;    // -o
    uint64_t handshake_timeout_ms = 5000;  // -o
    uint64_t idle_timeout_ms = 0;          // --idle-timeout, 0 = off
    uint64_t half_close_timeout_ms = 300000; // --half-close-timeout, 0 = off
    uint64_t drain_timeout_ms = 5000;      // lingering close after both CLOSEs
    uint16_t heartbeat_s = 30;             // --heartbeat, 0 = off
    bool keepalive = true;                 // !-j
    bool proxy_protocol = false;           // --proxy-protocol (-d)
    crypto::HandshakeOptions handshake;    // fs policy and ciphers
    std::optional<net::SockAddr> bind;     // -b
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
