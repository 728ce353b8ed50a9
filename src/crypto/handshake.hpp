// SPDX-License-Identifier: BSD-2-Clause
// The sealpipe handshake (DESIGN.md §3, §4) as a pure byte-level state
// machine: exactly Noise NNpsk0 over X25519 with SHA-256 and ChaChaPoly,
// plus its no-DH variant for spiped's -f (message 2 without the ee token).
// No sockets, no event loop, no logging: messages in, messages and
// CipherStates out.
//
//   initiator (-e, sealpipe)                 responder (-d)
//   Initiator::write_message1()  --msg1-->   Responder::read_message1()
//                                            Responder::write_message2()
//   Initiator::read_message2()   <--msg2--
//
// Thread-safety: none; each object belongs to one connection.
#pragma once

#include "crypto/cipher_state.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/noise.hpp"
#include "proto/constants.hpp"
#include "proto/proxy_v2.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace sealpipe::crypto {

// The original client connection as seen by the -e side (DESIGN.md §4.3),
// carried in the CONFIRM body for the PROXY protocol.
using ProxyInfo = proto::ProxyAddress;

// What one side wants from the handshake.
struct HandshakeOptions {
    proto::FsPolicy fs_policy = proto::FsPolicy::Prefer;
    // Transport ciphers this side accepts, as a cipher_bit() mask. Leave 0
    // for the default: ChaCha20-Poly1305, plus AES-256-GCM if the CPU has it.
    // The initiator always offers ChaCha20-Poly1305 (DESIGN.md §4.2) but
    // fails the handshake if the responder picks a cipher not in this set.
    uint8_t ciphers = 0;
    // This side's heartbeat interval in seconds (0 = off). DESIGN.md §7.
    uint16_t heartbeat_seconds = 0;
    // This side's clock, in seconds since the Unix epoch: the initiator's
    // Timestamp, the responder's reference (DESIGN.md §3.5).
    uint64_t unix_time_s = 0;
    // Responder: the largest |Timestamp - unix_time_s| accepted.
    uint32_t clock_window_s = proto::CLOCK_WINDOW_DEFAULT_S;
    // Test hook: use these 32 bytes instead of fresh randomness for the
    // ephemeral (the X25519 private key, or the e value itself in the
    // no-forward-secrecy mode). Used only by the known-answer tests.
    std::optional<std::array<uint8_t, 32>> fixed_ephemeral_for_tests;
};

// Everything a finished handshake produces.
struct HandshakeResult {
    CipherState send;
    CipherState recv;
    proto::CipherId cipher = proto::CipherId::ChaCha20Poly1305;
    bool forward_secret = false;
    uint16_t heartbeat_seconds = 0; // effective interval (DESIGN.md §7)
    size_t key_index = 0;           // responder: which PSK matched
    std::array<uint8_t, 32> handshake_hash{};
};

enum class HandshakeError {
    None,
    Malformed,      // wrong length or framing
    AuthFailed,     // AEAD tag failed: wrong key, tampering or garbage
    BadPayload,     // authenticated, but the payload is not understood
    PolicyConflict, // -f on one side and -g on the other
    NoCommonCipher,
    WeakPublicKey, // X25519 gave the all-zero output
    ClockSkew,     // authenticated, but the Timestamp is outside the window
    PeerClosed,    // the peer closed or reset the connection mid-handshake
    WrongState,    // API misuse
};

// A short lower-case description of ${e}, for logs.
const char *to_string(HandshakeError e) noexcept;

// The default cipher mask for this machine (see HandshakeOptions::ciphers).
uint8_t default_cipher_mask() noexcept;

class Initiator {
public:
    // Uses ${psk}'s precomputed state; ${psk} need not outlive the Initiator.
    Initiator(const Psk &psk, HandshakeOptions opts);

    // Write msg1, length prefix included, into ${out} (at least
    // HS_LENGTH_LEN + HS_BODY_MAX bytes). Returns the number of bytes.
    size_t write_message1(std::span<uint8_t> out);

    // Process the body of msg2 (length prefix removed). On success fills
    // ${result} and returns None; the initiator then sends CONFIRM.
    HandshakeError read_message2(std::span<const uint8_t> body, HandshakeResult &result);

private:
    HandshakeOptions opts_;
    uint8_t offer_ = 0; // what msg1 offers: the accepted set plus ChaCha20
    SymmetricState ss_;
    Key32 e_priv_;
    std::array<uint8_t, 32> e_pub_{};
    bool wrote_ = false;
    bool done_ = false;
};

class Responder {
public:
    // ${psks} are tried in order (DESIGN.md §3.4); they must outlive the
    // Responder. At most MAX_KEYS.
    static constexpr size_t MAX_KEYS = 8;
    Responder(std::vector<const Psk *> psks, HandshakeOptions opts);

    // Process the body of msg1. Tries each key: the cost of a rejection is
    // a few HMACs and one small AEAD open per key, and never an X25519
    // operation. Returns None if one key authenticated the message.
    HandshakeError read_message1(std::span<const uint8_t> body);

    // The initiator's ephemeral value, available after read_message1()
    // succeeded; used by the replay cache (DESIGN.md §3.5).
    const std::array<uint8_t, 32> &initiator_ephemeral() const noexcept { return re_; }

    // After ClockSkew (or any later result): the peer's Timestamp minus
    // this side's clock, in seconds.
    int64_t clock_skew_s() const noexcept;

    // Write msg2, length prefix included, into ${out} (at least
    // HS_LENGTH_LEN + HS_BODY_MAX bytes), and finish: on None, ${written} is
    // the message length and ${result} is complete.
    HandshakeError write_message2(std::span<uint8_t> out, size_t &written, HandshakeResult &result);

private:
    HandshakeOptions opts_;
    std::vector<const Psk *> psks_;
    std::optional<SymmetricState> ss_;
    std::array<uint8_t, 32> re_{};
    size_t key_index_ = 0;
    proto::HandshakeMode mode_ = proto::HandshakeMode::ForwardSecret;
    proto::CipherId cipher_ = proto::CipherId::ChaCha20Poly1305;
    uint16_t peer_heartbeat_ = 0;
    uint64_t peer_time_ = 0;
    bool read_ = false;
    bool done_ = false;
};

} // namespace sealpipe::crypto
