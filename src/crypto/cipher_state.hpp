// SPDX-License-Identifier: BSD-2-Clause
// One direction of transport encryption (DESIGN.md §5, §6): a key, a 64-bit
// counter used as the implicit nonce, one-way rekeying, and a hard stop
// before the counter could wrap. Pure: bytes in, bytes out.
//
// Records are sealed and opened by OpenSSL's EVP implementations of
// AES-256-GCM and ChaCha20-Poly1305 (VAES, AVX-512 and VPCLMULQDQ where the
// CPU has them: about twice libsodium 1.0.18's speed here, see hsbench).
// One implementation: a second one, over libsodium, lives with the tests
// (tests/reference/aead.hpp), which compare every record against it byte
// for byte, and the bench, which compares their speed.
//
// Thread-safety: none; a CipherState belongs to one connection, which
// belongs to one event loop.
#pragma once

#include "crypto/secret.hpp"
#include "proto/constants.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace sealpipe::crypto {

class CipherState {
public:
    // An unusable state; seal() and open() fail until assigned.
    CipherState() noexcept = default;
    // Use ${key} with ${cipher}. The caller must only pass Aes256Gcm if
    // aes_gcm_available(). The key schedule is expanded once per activation
    // (an EVP context, rekeyed in place), not per record.
    CipherState(proto::CipherId cipher, const Key32 &key) noexcept;
    ~CipherState();
    CipherState(const CipherState &) = delete;
    CipherState &operator=(const CipherState &) = delete;
    CipherState(CipherState &&other) noexcept;
    CipherState &operator=(CipherState &&other) noexcept;

    // Encrypt ${len} bytes at ${msg} in place with the current counter and
    // append the tag, so msg[0 .. len + TAG_LEN) is the ciphertext. ${ad} is
    // authenticated. Returns false, writing nothing, if the state is unset
    // or the counter reached NONCE_LIMIT (the connection must end).
    bool seal(std::span<const uint8_t> ad, uint8_t *msg, size_t len) noexcept;

    // Verify and decrypt ${ct_len} bytes (ciphertext plus tag) at ${ct} in
    // place. On success ct[0 .. ct_len - TAG_LEN) holds the plaintext and
    // the counter advances. On failure returns false, zeroes the would-be
    // plaintext and leaves the counter alone.
    bool open(std::span<const uint8_t> ad, uint8_t *ct, size_t ct_len) noexcept;

    // An EVP context holds about 1.2 KiB of expanded key, so it is held
    // only while the direction is active. activate() makes sure
    // it exists (throws std::bad_alloc if it cannot be had); park() frees
    // it (wiped) while the key stays. seal() and open() activate by
    // themselves when needed, failing if they cannot.
    void activate();
    void park() noexcept;
    // True while an EVP context is held.
    bool active() const noexcept { return evp_ != nullptr; }

    // Replace the key with HMAC-SHA256(key, REKEY_LABEL) (DESIGN.md §6.3).
    // The counter continues; the old key is wiped.
    void rekey() noexcept;

    // Records sealed or opened under the current key.
    uint64_t records_under_key() const noexcept { return since_rekey_; }
    bool valid() const noexcept { return valid_; }
    proto::CipherId cipher() const noexcept { return cipher_; }
    uint64_t counter() const noexcept { return n_; }

    // Test hook: jump the counter, to exercise the hard stop without
    // sealing 2^64 records.
    void set_counter_for_tests(uint64_t n) noexcept { n_ = n; }

private:
    void load_key() noexcept;
    bool ensure_evp() noexcept;
    void clear() noexcept;

    bool seal_evp(std::span<const uint8_t> ad, uint8_t *msg, size_t len,
                  const uint8_t *nonce) noexcept;
    bool open_evp(std::span<const uint8_t> ad, uint8_t *ct, size_t pt_len,
                  const uint8_t *nonce) noexcept;

    proto::CipherId cipher_ = proto::CipherId::ChaCha20Poly1305;
    bool valid_ = false;
    uint64_t n_ = 0;
    uint64_t since_rekey_ = 0;
    Key32 key_;
    // The EVP_CIPHER_CTX, kept opaque so that OpenSSL's headers stay
    // inside src/crypto/*.cpp.
    void *evp_ = nullptr;
};

} // namespace sealpipe::crypto
