// SPDX-License-Identifier: BSD-2-Clause
// A second implementation of the record AEAD (DESIGN.md §5.1, §6.3), for
// the tests and the bench only: libsodium's ChaCha20-Poly1305 (IETF) and
// AES-256-GCM, with the Noise nonces and the rekey written out here from
// the specification, not taken from src/crypto/. The tests check that
// crypto::CipherState (OpenSSL's EVP) seals exactly what this seals and
// opens what it seals (tests/unit/test_crypto_cipher_state.cpp); the bench
// compares their speed (bench/tools/hsbench.cpp). It satisfies
// proto::RecordCipher, so whole records can be cross-checked too.
#pragma once

#include "proto/constants.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace sealpipe::reference {

class Aead {
public:
    // Whether libsodium runs ${cipher} on this CPU (AES-256-GCM: AES-NI
    // and PCLMUL).
    static bool available(proto::CipherId cipher) noexcept {
        return cipher != proto::CipherId::Aes256Gcm || crypto_aead_aes256gcm_is_available() == 1;
    }
    // AES-256-GCM only where available().
    Aead(proto::CipherId cipher, std::span<const uint8_t, 32> key) : cipher_(cipher) {
        std::memcpy(key_.data(), key.data(), key_.size());
        load();
    }
    ~Aead() { sodium_memzero(key_.data(), key_.size()); }
    Aead(Aead &&) noexcept = default;
    Aead &operator=(Aead &&) noexcept = default;

    bool seal(std::span<const uint8_t> ad, uint8_t *msg, size_t len) noexcept {
        if (n_ >= proto::NONCE_LIMIT)
            return false;
        const auto nonce = next_nonce();
        unsigned long long clen = 0;
        if (cipher_ == proto::CipherId::Aes256Gcm)
            crypto_aead_aes256gcm_encrypt_afternm(msg, &clen, msg, len, ad.data(), ad.size(),
                                                  nullptr, nonce.data(), aes_.get());
        else
            crypto_aead_chacha20poly1305_ietf_encrypt(msg, &clen, msg, len, ad.data(), ad.size(),
                                                      nullptr, nonce.data(), key_.data());
        ++n_;
        ++under_key_;
        return true;
    }

    bool open(std::span<const uint8_t> ad, uint8_t *ct, size_t ct_len) noexcept {
        if (n_ >= proto::NONCE_LIMIT || ct_len < proto::TAG_LEN)
            return false;
        const auto nonce = next_nonce();
        unsigned long long mlen = 0;
        const int rc =
            cipher_ == proto::CipherId::Aes256Gcm
                ? crypto_aead_aes256gcm_decrypt_afternm(ct, &mlen, nullptr, ct, ct_len, ad.data(),
                                                        ad.size(), nonce.data(), aes_.get())
                : crypto_aead_chacha20poly1305_ietf_decrypt(ct, &mlen, nullptr, ct, ct_len,
                                                            ad.data(), ad.size(), nonce.data(),
                                                            key_.data());
        if (rc != 0)
            return false;
        ++n_;
        ++under_key_;
        return true;
    }

    // DESIGN.md §6.3: the next key is HMAC-SHA256(key, REKEY_LABEL); the
    // counter continues.
    void rekey() noexcept {
        std::array<uint8_t, 32> next{};
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, key_.data(), key_.size());
        crypto_auth_hmacsha256_update(&st,
                                      reinterpret_cast<const uint8_t *>(proto::REKEY_LABEL.data()),
                                      proto::REKEY_LABEL.size());
        crypto_auth_hmacsha256_final(&st, next.data());
        key_ = next;
        sodium_memzero(next.data(), next.size());
        load();
        under_key_ = 0;
    }

    uint64_t records_under_key() const noexcept { return under_key_; }
    void set_counter(uint64_t n) noexcept { n_ = n; }

private:
    // Noise §12.3 (ChaChaPoly): 32 zero bits, then the counter little
    // endian; §12.4 (AESGCM): 32 zero bits, then the counter big endian.
    std::array<uint8_t, 12> next_nonce() const noexcept {
        std::array<uint8_t, 12> nonce{};
        for (int i = 0; i < 8; ++i) {
            const auto byte = static_cast<uint8_t>(n_ >> (8 * i));
            nonce[cipher_ == proto::CipherId::Aes256Gcm ? 11 - i : 4 + i] = byte;
        }
        return nonce;
    }

    void load() {
        if (cipher_ != proto::CipherId::Aes256Gcm)
            return;
        if (!aes_)
            aes_ = std::make_unique<crypto_aead_aes256gcm_state>();
        crypto_aead_aes256gcm_beforenm(aes_.get(), key_.data());
    }

    proto::CipherId cipher_;
    std::array<uint8_t, 32> key_{};
    std::unique_ptr<crypto_aead_aes256gcm_state> aes_;
    uint64_t n_ = 0;
    uint64_t under_key_ = 0;
};

} // namespace sealpipe::reference
