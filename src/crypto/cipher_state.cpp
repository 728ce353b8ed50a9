// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/cipher_state.hpp"
#include "crypto/internal.hpp"

#include <sodium.h>

#include <cstring>
#include <utility>

namespace sealpipe::crypto {

static_assert(sizeof(crypto_aead_aes256gcm_state) == 512);
static_assert(alignof(crypto_aead_aes256gcm_state) <= 16);

namespace {
crypto_aead_aes256gcm_state *aes(unsigned char *p) {
    return reinterpret_cast<crypto_aead_aes256gcm_state *>(p);
}
} // namespace

CipherState::CipherState(proto::CipherId cipher, const Key32 &key) noexcept
    : cipher_(cipher), valid_(true), key_(key) {
    load_key();
}

CipherState::~CipherState() {
    clear();
}

CipherState::CipherState(CipherState &&other) noexcept {
    *this = std::move(other);
}

CipherState &CipherState::operator=(CipherState &&other) noexcept {
    if (this != &other) {
        clear();
        cipher_ = other.cipher_;
        valid_ = other.valid_;
        n_ = other.n_;
        since_rekey_ = other.since_rekey_;
        key_ = other.key_;
        if (valid_)
            load_key();
        other.clear();
    }
    return *this;
}

void CipherState::load_key() noexcept {
    if (cipher_ == proto::CipherId::Aes256Gcm)
        crypto_aead_aes256gcm_beforenm(aes(aes_state_), key_.data());
}

void CipherState::clear() noexcept {
    if (valid_ && cipher_ == proto::CipherId::Aes256Gcm)
        sodium_memzero(aes_state_, sizeof aes_state_);
    key_.clear();
    valid_ = false;
    n_ = 0;
    since_rekey_ = 0;
}

bool CipherState::seal(std::span<const uint8_t> ad, uint8_t *msg, size_t len) noexcept {
    if (!valid_ || n_ >= proto::NONCE_LIMIT)
        return false;
    uint8_t nonce[12];
    detail::noise_nonce(cipher_, n_, nonce);
    unsigned long long clen = 0;
    if (cipher_ == proto::CipherId::Aes256Gcm) {
        crypto_aead_aes256gcm_encrypt_afternm(msg, &clen, msg, len, ad.data(), ad.size(), nullptr,
                                              nonce, aes(aes_state_));
    } else {
        crypto_aead_chacha20poly1305_ietf_encrypt(msg, &clen, msg, len, ad.data(), ad.size(),
                                                  nullptr, nonce, key_.data());
    }
    ++n_;
    ++since_rekey_;
    return true;
}

bool CipherState::open(std::span<const uint8_t> ad, uint8_t *ct, size_t ct_len) noexcept {
    if (!valid_ || n_ >= proto::NONCE_LIMIT || ct_len < proto::TAG_LEN)
        return false;
    uint8_t nonce[12];
    detail::noise_nonce(cipher_, n_, nonce);
    unsigned long long mlen = 0;
    int rc;
    if (cipher_ == proto::CipherId::Aes256Gcm) {
        rc = crypto_aead_aes256gcm_decrypt_afternm(ct, &mlen, nullptr, ct, ct_len, ad.data(),
                                                   ad.size(), nonce, aes(aes_state_));
    } else {
        rc = crypto_aead_chacha20poly1305_ietf_decrypt(ct, &mlen, nullptr, ct, ct_len, ad.data(),
                                                       ad.size(), nonce, key_.data());
    }
    if (rc != 0) {
        sodium_memzero(ct, ct_len - proto::TAG_LEN);
        return false;
    }
    ++n_;
    ++since_rekey_;
    return true;
}

void CipherState::rekey() noexcept {
    if (!valid_)
        return;
    Key32 next;
    const auto *label = reinterpret_cast<const uint8_t *>(proto::REKEY_LABEL.data());
    detail::hmac_sha256(detail::Bytes(key_.span()),
                        {detail::Bytes(label, proto::REKEY_LABEL.size())}, next.span());
    key_ = next;
    load_key();
    since_rekey_ = 0;
}

} // namespace sealpipe::crypto
