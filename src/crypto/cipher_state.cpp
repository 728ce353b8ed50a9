// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/cipher_state.hpp"
#include "crypto/internal.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sealpipe::crypto {

namespace {
EVP_CIPHER_CTX *evp(void *p) {
    return static_cast<EVP_CIPHER_CTX *>(p);
}
// The two ciphers, fetched from the default provider once (detail::
// init_record_aead), so no record pays for an implicit fetch.
EVP_CIPHER *g_ciphers[2] = {nullptr, nullptr};

const EVP_CIPHER *evp_cipher(proto::CipherId c) {
    return g_ciphers[c == proto::CipherId::Aes256Gcm ? 1 : 0];
}
constexpr int ENCRYPT = 1, DECRYPT = 0, NONCE_LEN = 12;

// Idle EVP contexts of this thread, by cipher, for reuse. Freeing them
// instead left 1.2 KiB holes between live connections (about 1 KiB of RSS
// per idle connection); a context taken from here only needs its key. A
// context is wiped before it is kept: re-keyed with zeros, which replaces
// the expanded key, the GHASH key and the counter block.
struct EvpFreeList {
    static constexpr size_t MAX = 256; // per cipher and thread: about 300 KiB at most
    std::vector<EVP_CIPHER_CTX *> idle[2];
    ~EvpFreeList() {
        for (auto &v : idle)
            for (EVP_CIPHER_CTX *c : v)
                EVP_CIPHER_CTX_free(c);
    }
};
thread_local EvpFreeList evp_free;

std::vector<EVP_CIPHER_CTX *> &idle_list(proto::CipherId c) {
    return evp_free.idle[c == proto::CipherId::Aes256Gcm ? 1 : 0];
}

// A context for ${c} keyed with ${key}, or nullptr if none can be had.
EVP_CIPHER_CTX *take_context(proto::CipherId c, const uint8_t *key) noexcept {
    auto &idle = idle_list(c);
    EVP_CIPHER_CTX *ctx = nullptr;
    if (!idle.empty()) {
        ctx = idle.back();
        idle.pop_back();
    } else {
        ctx = EVP_CIPHER_CTX_new();
        if (ctx == nullptr ||
            EVP_CipherInit_ex(ctx, evp_cipher(c), nullptr, nullptr, nullptr, ENCRYPT) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, nullptr) != 1) {
            EVP_CIPHER_CTX_free(ctx);
            return nullptr;
        }
    }
    if (EVP_CipherInit_ex(ctx, nullptr, nullptr, key, nullptr, ENCRYPT) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

void give_back_context(proto::CipherId c, EVP_CIPHER_CTX *ctx) noexcept {
    if (ctx == nullptr)
        return;
    static const uint8_t zeros[32] = {};
    auto &idle = idle_list(c);
    bool kept = false;
    if (idle.size() < EvpFreeList::MAX &&
        EVP_CipherInit_ex(ctx, nullptr, nullptr, zeros, zeros, ENCRYPT) == 1) {
        try {
            idle.push_back(ctx);
            kept = true;
        } catch (const std::bad_alloc &) {
        }
    }
    if (!kept)
        EVP_CIPHER_CTX_free(ctx); // wipes (OPENSSL_clear_free)
}
} // namespace

bool aes_gcm_available() noexcept {
#if defined(__x86_64__)
    // The same CPUID bits OpenSSL dispatches on (AES-NI: leaf 1 ECX bit 25;
    // PCLMULQDQ: bit 1), unless the operator masks them from it.
    static const bool fast = __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
                             std::getenv("OPENSSL_ia32cap") == nullptr;
    return fast;
#else
    return false;
#endif
}

namespace detail {

// OpenSSL loads its providers and configuration on first use: here, at
// start-up, and not in the first connection (before privileges are dropped,
// and without a latency spike or a one-time allocation of about a megabyte
// in the middle of serving).
void init_record_aead() {
    const char *names[2] = {"ChaCha20-Poly1305", "AES-256-GCM"};
    for (int i = 0; i < 2; ++i) {
        if (g_ciphers[i] == nullptr)
            g_ciphers[i] = EVP_CIPHER_fetch(nullptr, names[i], nullptr);
        if (g_ciphers[i] == nullptr)
            throw std::runtime_error(std::string("OpenSSL has no ") + names[i] +
                                     " (is the default provider available?)");
    }
    // One context of each, made and freed, finishes OpenSSL's lazy set-up.
    for (proto::CipherId c : proto::ALL_CIPHERS) {
        static const uint8_t zeros[32] = {};
        EVP_CIPHER_CTX *ctx = take_context(c, zeros);
        if (ctx == nullptr)
            throw std::runtime_error("cannot set up OpenSSL's AEAD contexts");
        EVP_CIPHER_CTX_free(ctx);
    }
}

} // namespace detail

CipherState::CipherState(proto::CipherId cipher, const Key32 &key) noexcept
    : cipher_(cipher), valid_(true), key_(key) {}

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
        // The expanded key moves with it.
        evp_ = std::exchange(other.evp_, nullptr);
        other.clear();
    }
    return *this;
}

// Expand ${key_} into the EVP context if it is active (otherwise
// activation does it).
void CipherState::load_key() noexcept {
    if (evp_ != nullptr &&
        EVP_CipherInit_ex(evp(evp_), nullptr, nullptr, key_.data(), nullptr, ENCRYPT) != 1)
        park(); // the next seal or open tries again
}

bool CipherState::ensure_evp() noexcept {
    if (evp_ != nullptr)
        return true;
    if (!valid_)
        return false;
    evp_ = take_context(cipher_, key_.data());
    return evp_ != nullptr;
}

void CipherState::activate() {
    if (valid_ && !ensure_evp())
        throw std::bad_alloc();
}

void CipherState::park() noexcept {
    give_back_context(cipher_, evp(std::exchange(evp_, nullptr)));
}

void CipherState::clear() noexcept {
    park();
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
    if (!ensure_evp() || !seal_evp(ad, msg, len, nonce))
        return false;
    ++n_;
    ++since_rekey_;
    return true;
}

bool CipherState::open(std::span<const uint8_t> ad, uint8_t *ct, size_t ct_len) noexcept {
    if (!valid_ || n_ >= proto::NONCE_LIMIT || ct_len < proto::TAG_LEN)
        return false;
    uint8_t nonce[12];
    detail::noise_nonce(cipher_, n_, nonce);
    if (!ensure_evp() || !open_evp(ad, ct, ct_len - proto::TAG_LEN, nonce)) {
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
