// SPDX-License-Identifier: BSD-2-Clause
// Primitives shared by the files of src/crypto/: HMAC and HKDF over
// SHA-256, the Noise AEAD nonce encodings, and X25519. Bytes in, bytes out;
// no I/O, no logging. Outside src/crypto/ only the code that checks them
// includes this (tests/unit's vector tests, tests/fuzz, bench/tools/
// hsbench): no program code, which tests/lint/layering.sh enforces.
#pragma once

#include "proto/constants.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace sealpipe::crypto::detail {

using Bytes = std::span<const uint8_t>;
using Out32 = std::span<uint8_t, 32>;

// Fetch the record AEADs from OpenSSL and finish its lazy set-up (called by
// crypto::init()). Throws std::runtime_error.
void init_record_aead();

// Increment the process-wide X25519 operation counter (test hook).
void count_x25519() noexcept;

// HMAC-SHA256 of the concatenation of ${parts} under ${key} (any length).
void hmac_sha256(Bytes key, std::initializer_list<Bytes> parts, Out32 out) noexcept;

// SHA-256 of the concatenation of ${parts}.
void sha256(std::initializer_list<Bytes> parts, Out32 out) noexcept;

// Noise HKDF (Noise rev 34 §4.3) with two or three outputs. ${out3} may be
// empty. Outputs may not alias the inputs.
void hkdf(Bytes chaining_key, Bytes ikm, Out32 out1, Out32 out2,
          std::span<uint8_t> out3 = {}) noexcept;

// One AEAD operation with a Noise nonce: ChaChaPoly encodes the counter as
// 32 zero bits || little-endian u64, AESGCM as 32 zero bits || big-endian u64
// (Noise §12.3, §12.4). ${out} must hold in.size() + TAG_LEN bytes for seal
// and in.size() - TAG_LEN for open; in-place operation (out == in) is
// allowed. open() returns false if the tag does not verify, and then leaves
// ${out} zeroed.
void aead_seal(proto::CipherId cipher, const uint8_t *key, uint64_t n, Bytes ad, Bytes in,
               uint8_t *out) noexcept;
bool aead_open(proto::CipherId cipher, const uint8_t *key, uint64_t n, Bytes ad, Bytes in,
               uint8_t *out) noexcept;

// The 12-byte nonce for ${cipher} and counter ${n}.
void noise_nonce(proto::CipherId cipher, uint64_t n, uint8_t out[12]) noexcept;

// X25519: derive the public key of ${priv}; compute DH(${priv}, ${pub}).
// dh() returns false if the result is all zeros (a small-order peer key,
// Noise §14), in which case ${out} is zeroed.
void x25519_public(std::span<const uint8_t, 32> priv, Out32 pub) noexcept;
bool x25519_dh(std::span<const uint8_t, 32> priv, std::span<const uint8_t, 32> pub,
               Out32 out) noexcept;

} // namespace sealpipe::crypto::detail
