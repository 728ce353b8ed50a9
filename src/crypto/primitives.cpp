// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/internal.hpp"

#include <sodium.h>

#include <cstring>

namespace sealpipe::crypto::detail {

static_assert(crypto_auth_hmacsha256_BYTES == 32);
static_assert(crypto_hash_sha256_BYTES == 32);
static_assert(crypto_scalarmult_BYTES == 32 && crypto_scalarmult_SCALARBYTES == 32);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == proto::TAG_LEN);
static_assert(crypto_aead_aes256gcm_ABYTES == proto::TAG_LEN);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
static_assert(crypto_aead_aes256gcm_NPUBBYTES == 12);

namespace {
// libsodium's functions declare their pointers non-null even for a length
// of 0 (an empty key file, under --protocol spiped, is an empty span).
const unsigned char *nonnull(Bytes b) noexcept {
    static const unsigned char none = 0;
    return b.empty() ? &none : b.data();
}
} // namespace

void hmac_sha256(Bytes key, std::initializer_list<Bytes> parts, Out32 out) noexcept {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, nonnull(key), key.size());
    for (Bytes p : parts)
        crypto_auth_hmacsha256_update(&st, nonnull(p), p.size());
    crypto_auth_hmacsha256_final(&st, out.data());
    sodium_memzero(&st, sizeof st);
}

void sha256(std::initializer_list<Bytes> parts, Out32 out) noexcept {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (Bytes p : parts)
        crypto_hash_sha256_update(&st, nonnull(p), p.size());
    crypto_hash_sha256_final(&st, out.data());
    sodium_memzero(&st, sizeof st);
}

void hkdf(Bytes chaining_key, Bytes ikm, Out32 out1, Out32 out2, std::span<uint8_t> out3) noexcept {
    uint8_t temp[32];
    hmac_sha256(chaining_key, {ikm}, Out32(temp));
    // The outputs are all HMACs under temp: key the HMAC state once and copy
    // it for each output (the key schedule is half of an HMAC's work).
    crypto_auth_hmacsha256_state keyed, st;
    crypto_auth_hmacsha256_init(&keyed, temp, sizeof temp);
    sodium_memzero(temp, sizeof temp);
    const uint8_t one = 0x01, two = 0x02, three = 0x03;
    st = keyed;
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, out1.data());
    st = keyed;
    crypto_auth_hmacsha256_update(&st, out1.data(), out1.size());
    crypto_auth_hmacsha256_update(&st, &two, 1);
    crypto_auth_hmacsha256_final(&st, out2.data());
    if (out3.size() == 32) {
        st = keyed;
        crypto_auth_hmacsha256_update(&st, out2.data(), out2.size());
        crypto_auth_hmacsha256_update(&st, &three, 1);
        crypto_auth_hmacsha256_final(&st, out3.data());
    }
    sodium_memzero(&keyed, sizeof keyed);
    sodium_memzero(&st, sizeof st);
}

void noise_nonce(proto::CipherId cipher, uint64_t n, uint8_t out[12]) noexcept {
    std::memset(out, 0, 4);
    for (int i = 0; i < 8; ++i) {
        const auto byte = static_cast<uint8_t>(n >> (8 * i));
        if (cipher == proto::CipherId::ChaCha20Poly1305)
            out[4 + i] = byte; // little-endian
        else
            out[11 - i] = byte; // big-endian
    }
}

void aead_seal(proto::CipherId cipher, const uint8_t *key, uint64_t n, Bytes ad, Bytes in,
               uint8_t *out) noexcept {
    uint8_t nonce[12];
    noise_nonce(cipher, n, nonce);
    unsigned long long clen = 0;
    if (cipher == proto::CipherId::ChaCha20Poly1305) {
        crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in.data(), in.size(), ad.data(),
                                                  ad.size(), nullptr, nonce, key);
    } else {
        crypto_aead_aes256gcm_encrypt(out, &clen, in.data(), in.size(), ad.data(), ad.size(),
                                      nullptr, nonce, key);
    }
}

bool aead_open(proto::CipherId cipher, const uint8_t *key, uint64_t n, Bytes ad, Bytes in,
               uint8_t *out) noexcept {
    if (in.size() < proto::TAG_LEN)
        return false;
    uint8_t nonce[12];
    noise_nonce(cipher, n, nonce);
    unsigned long long mlen = 0;
    int rc;
    if (cipher == proto::CipherId::ChaCha20Poly1305) {
        rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, nullptr, in.data(), in.size(),
                                                       ad.data(), ad.size(), nonce, key);
    } else {
        rc = crypto_aead_aes256gcm_decrypt(out, &mlen, nullptr, in.data(), in.size(), ad.data(),
                                           ad.size(), nonce, key);
    }
    if (rc != 0) {
        sodium_memzero(out, in.size() - proto::TAG_LEN);
        return false;
    }
    return true;
}

void x25519_public(std::span<const uint8_t, 32> priv, Out32 pub) noexcept {
    count_x25519();
    crypto_scalarmult_base(pub.data(), priv.data());
}

bool x25519_dh(std::span<const uint8_t, 32> priv, std::span<const uint8_t, 32> pub,
               Out32 out) noexcept {
    count_x25519();
    // crypto_scalarmult() returns -1 when the result is the all-zero point,
    // i.e. the peer sent a small-order key. Check explicitly as well, so the
    // property holds whatever the libsodium version does.
    if (crypto_scalarmult(out.data(), priv.data(), pub.data()) != 0 ||
        sodium_is_zero(out.data(), out.size())) {
        sodium_memzero(out.data(), out.size());
        return false;
    }
    return true;
}

} // namespace sealpipe::crypto::detail
