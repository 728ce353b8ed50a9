// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/noise.hpp"
#include "crypto/internal.hpp"

#include <cstring>

namespace sealpipe::crypto {

using detail::Bytes;
using detail::Out32;

SymmetricState::SymmetricState(std::string_view protocol_name, proto::CipherId cipher) noexcept
    : cipher_(cipher) {
    // Noise §5.2 InitializeSymmetric: h = name padded with zeros to HASHLEN,
    // or HASH(name) if it is longer; ck = h; no key yet.
    Bytes name(reinterpret_cast<const uint8_t *>(protocol_name.data()), protocol_name.size());
    if (name.size() <= 32) {
        uint8_t padded[32] = {};
        std::memcpy(padded, name.data(), name.size());
        h_.assign(std::span<const uint8_t, 32>(padded));
    } else {
        detail::sha256({name}, h_.span());
    }
    ck_ = h_;
}

void SymmetricState::mix_hash(std::span<const uint8_t> data) noexcept {
    // h = HASH(h || data)
    uint8_t digest[32];
    detail::sha256({Bytes(h_.span()), data}, Out32(digest));
    h_.assign(std::span<const uint8_t, 32>(digest));
    wipe(digest, sizeof digest);
}

void SymmetricState::mix_key(std::span<const uint8_t> ikm) noexcept {
    // ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k)
    Key32 ck, k;
    detail::hkdf(Bytes(ck_.span()), ikm, ck.span(), k.span());
    ck_ = ck;
    k_ = k;
    has_key_ = true;
    n_ = 0;
}

void SymmetricState::mix_key_and_hash(std::span<const uint8_t> ikm) noexcept {
    // ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h); InitializeKey(temp_k)
    Key32 ck, th, k;
    detail::hkdf(Bytes(ck_.span()), ikm, ck.span(), th.span(), k.span());
    ck_ = ck;
    mix_hash(Bytes(th.span()));
    k_ = k;
    has_key_ = true;
    n_ = 0;
}

size_t SymmetricState::encrypt_and_hash(std::span<const uint8_t> plaintext, uint8_t *out) noexcept {
    size_t len = plaintext.size();
    if (has_key_) {
        detail::aead_seal(cipher_, k_.data(), n_++, Bytes(h_.span()), plaintext, out);
        len += proto::TAG_LEN;
    } else if (out != plaintext.data()) {
        std::memmove(out, plaintext.data(), len);
    }
    mix_hash(Bytes(out, len));
    return len;
}

bool SymmetricState::decrypt_and_hash(std::span<const uint8_t> ciphertext, uint8_t *out) noexcept {
    // The transcript hash covers the ciphertext. Check the tag first and
    // hash only on success, so that a rejected message costs one AEAD open
    // and no hashing of its body (DESIGN.md §3.4); only an in-place
    // decryption, which overwrites the ciphertext, must hash it first.
    const uint8_t *ct = ciphertext.data();
    const auto a = reinterpret_cast<uintptr_t>(ct), b = reinterpret_cast<uintptr_t>(out);
    const bool in_place = b < a + ciphertext.size() && a < b + ciphertext.size();
    uint8_t next_h[32];
    if (!has_key_ || in_place)
        detail::sha256({Bytes(h_.span()), ciphertext}, Out32(next_h));
    if (has_key_) {
        if (!detail::aead_open(cipher_, k_.data(), n_, Bytes(h_.span()), ciphertext, out)) {
            wipe(next_h, sizeof next_h);
            return false;
        }
        ++n_;
        if (!in_place)
            detail::sha256({Bytes(h_.span()), ciphertext}, Out32(next_h));
    } else if (out != ct) {
        std::memmove(out, ct, ciphertext.size());
    }
    h_.assign(std::span<const uint8_t, 32>(next_h));
    wipe(next_h, sizeof next_h);
    return true;
}

void SymmetricState::snapshot(std::span<uint8_t, SNAPSHOT_LEN> out) const noexcept {
    std::memcpy(out.data(), ck_.data(), 32);
    std::memcpy(out.data() + 32, h_.data(), 32);
    std::memcpy(out.data() + 64, k_.data(), 32);
}

SymmetricState SymmetricState::restore(std::span<const uint8_t, SNAPSHOT_LEN> in,
                                       proto::CipherId cipher) noexcept {
    SymmetricState ss(cipher);
    ss.ck_.assign(std::span<const uint8_t, 32>(in.data(), 32));
    ss.h_.assign(std::span<const uint8_t, 32>(in.data() + 32, 32));
    ss.k_.assign(std::span<const uint8_t, 32>(in.data() + 64, 32));
    ss.has_key_ = true;
    ss.n_ = 0;
    return ss;
}

void SymmetricState::split(Key32 &k1, Key32 &k2) const noexcept {
    detail::hkdf(Bytes(ck_.span()), Bytes(), k1.span(), k2.span());
}

} // namespace sealpipe::crypto
