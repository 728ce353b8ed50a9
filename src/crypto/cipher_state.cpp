// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/cipher_state.hpp"
#include "crypto/internal.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <cstring>
#include <utility>

namespace sealpipe::crypto {

static_assert(sizeof(crypto_aead_aes256gcm_state) == 512);
static_assert(alignof(crypto_aead_aes256gcm_state) <= 16);

namespace {
crypto_aead_aes256gcm_state *aes(unsigned char *p) {
    return reinterpret_cast<crypto_aead_aes256gcm_state *>(p);
}
EVP_CIPHER_CTX *evp(void *p) {
    return static_cast<EVP_CIPHER_CTX *>(p);
}
const EVP_CIPHER *evp_cipher(proto::CipherId c) {
    return c == proto::CipherId::Aes256Gcm ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
}
constexpr int ENCRYPT = 1, DECRYPT = 0, NONCE_LEN = 12;
} // namespace

CipherState::CipherState(proto::CipherId cipher, const Key32 &key, Backend backend) noexcept
    : cipher_(cipher), backend_(backend), valid_(true), key_(key) {
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
        backend_ = other.backend_;
        valid_ = other.valid_;
        n_ = other.n_;
        since_rekey_ = other.since_rekey_;
        key_ = other.key_;
        // The expanded key moves with it.
        evp_ = std::exchange(other.evp_, nullptr);
        aes_state_ = std::exchange(other.aes_state_, nullptr);
        other.clear();
    }
    return *this;
}

// Expand ${key_} into the backend's state; on failure the state is invalid.
void CipherState::load_key() noexcept {
    if (backend_ == Backend::Evp) {
        if (evp_ == nullptr) {
            evp_ = EVP_CIPHER_CTX_new();
            if (evp_ == nullptr ||
                EVP_CipherInit_ex(evp(evp_), evp_cipher(cipher_), nullptr, nullptr, nullptr,
                                  ENCRYPT) != 1 ||
                EVP_CIPHER_CTX_ctrl(evp(evp_), EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, nullptr) != 1) {
                clear();
                return;
            }
        }
        if (EVP_CipherInit_ex(evp(evp_), nullptr, nullptr, key_.data(), nullptr, ENCRYPT) != 1)
            clear();
        return;
    }
    if (cipher_ == proto::CipherId::Aes256Gcm) {
        if (aes_state_ == nullptr)
            aes_state_ =
                static_cast<unsigned char *>(sodium_malloc(sizeof(crypto_aead_aes256gcm_state)));
        if (aes_state_ == nullptr) {
            clear();
            return;
        }
        crypto_aead_aes256gcm_beforenm(aes(aes_state_), key_.data());
    }
}

void CipherState::clear() noexcept {
    // EVP_CIPHER_CTX_free wipes the key schedule (OPENSSL_clear_free);
    // sodium_free wipes the libsodium one.
    EVP_CIPHER_CTX_free(evp(std::exchange(evp_, nullptr)));
    sodium_free(std::exchange(aes_state_, nullptr));
    key_.clear();
    valid_ = false;
    n_ = 0;
    since_rekey_ = 0;
}

bool CipherState::seal_evp(std::span<const uint8_t> ad, uint8_t *msg, size_t len,
                           const uint8_t *nonce) noexcept {
    EVP_CIPHER_CTX *c = evp(evp_);
    int out = 0;
    if (len > INT_MAX || ad.size() > INT_MAX ||
        EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, ENCRYPT) != 1)
        return false;
    if (!ad.empty() &&
        EVP_CipherUpdate(c, nullptr, &out, ad.data(), static_cast<int>(ad.size())) != 1)
        return false;
    if (len > 0 && EVP_CipherUpdate(c, msg, &out, msg, static_cast<int>(len)) != 1)
        return false;
    return EVP_CipherFinal_ex(c, msg + len, &out) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, proto::TAG_LEN, msg + len) == 1;
}

// EVP decrypts and authenticates in one pass: the plaintext it wrote in
// place is wiped by the caller if the tag does not verify.
bool CipherState::open_evp(std::span<const uint8_t> ad, uint8_t *ct, size_t pt_len,
                           const uint8_t *nonce) noexcept {
    EVP_CIPHER_CTX *c = evp(evp_);
    int out = 0;
    if (pt_len > INT_MAX || ad.size() > INT_MAX ||
        EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, DECRYPT) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, proto::TAG_LEN, ct + pt_len) != 1)
        return false;
    if (!ad.empty() &&
        EVP_CipherUpdate(c, nullptr, &out, ad.data(), static_cast<int>(ad.size())) != 1)
        return false;
    if (pt_len > 0 && EVP_CipherUpdate(c, ct, &out, ct, static_cast<int>(pt_len)) != 1)
        return false;
    return EVP_CipherFinal_ex(c, ct + pt_len, &out) == 1;
}

bool CipherState::seal(std::span<const uint8_t> ad, uint8_t *msg, size_t len) noexcept {
    if (!valid_ || n_ >= proto::NONCE_LIMIT)
        return false;
    uint8_t nonce[12];
    detail::noise_nonce(cipher_, n_, nonce);
    unsigned long long clen = 0;
    if (backend_ == Backend::Evp) {
        if (!seal_evp(ad, msg, len, nonce))
            return false;
    } else if (cipher_ == proto::CipherId::Aes256Gcm) {
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
    if (backend_ == Backend::Evp) {
        rc = open_evp(ad, ct, ct_len - proto::TAG_LEN, nonce) ? 0 : -1;
    } else if (cipher_ == proto::CipherId::Aes256Gcm) {
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
