// SPDX-License-Identifier: BSD-2-Clause
// The Noise SymmetricState (Noise rev 34 §5.2) over SHA-256, with the
// handshake AEAD chosen at construction. sealpipe always uses ChaChaPoly
// (DESIGN.md §3); AESGCM is accepted so that the unit tests can replay the
// published cacophony vectors for both ciphers.
#pragma once

#include "crypto/secret.hpp"
#include "proto/constants.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace sealpipe::crypto {

class SymmetricState {
public:
    // InitializeSymmetric(${protocol_name}) with handshake cipher ${cipher}.
    SymmetricState(std::string_view protocol_name, proto::CipherId cipher) noexcept;

    void mix_hash(std::span<const uint8_t> data) noexcept;
    void mix_key(std::span<const uint8_t> ikm) noexcept;
    void mix_key_and_hash(std::span<const uint8_t> ikm) noexcept;

    // EncryptAndHash: writes plaintext.size() (+ TAG_LEN once a key is set)
    // bytes to ${out} and returns that count. ${out} may equal plaintext.
    size_t encrypt_and_hash(std::span<const uint8_t> plaintext, uint8_t *out) noexcept;
    // DecryptAndHash: returns false if the tag fails. ${out} receives
    // ciphertext.size() (- TAG_LEN once a key is set) bytes.
    bool decrypt_and_hash(std::span<const uint8_t> ciphertext, uint8_t *out) noexcept;

    // Split(): the initiator-to-responder and responder-to-initiator keys.
    void split(Key32 &k1, Key32 &k2) const noexcept;

    std::span<const uint8_t, 32> handshake_hash() const noexcept { return h_.span(); }
    bool has_key() const noexcept { return has_key_; }

    // The state as bytes (ck || h || k, SNAPSHOT_LEN), and back: lets the
    // state after MixKeyAndHash(psk), which depends only on the key, be
    // computed once per key and kept in guarded memory (DESIGN.md §3.4).
    // Only for states that have a key and a nonce of 0.
    static constexpr size_t SNAPSHOT_LEN = 96;
    void snapshot(std::span<uint8_t, SNAPSHOT_LEN> out) const noexcept;
    static SymmetricState restore(std::span<const uint8_t, SNAPSHOT_LEN> in,
                                  proto::CipherId cipher) noexcept;

private:
    // An empty state, for restore() to fill.
    explicit SymmetricState(proto::CipherId cipher) noexcept : cipher_(cipher) {}

    proto::CipherId cipher_;
    Key32 ck_;
    Key32 h_;
    Key32 k_;
    bool has_key_ = false;
    uint64_t n_ = 0;
};

} // namespace sealpipe::crypto
