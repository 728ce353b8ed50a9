// SPDX-License-Identifier: BSD-2-Clause
// Thin, span-based wrappers for the libsodium helpers used outside crypto/:
// initialisation, randomness, wiping and constant-time comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sealpipe::crypto {

// Initialise libsodium. Must run before any other crypto call and before
// privileges are dropped or the process is chrooted (libsodium may keep
// /dev/urandom open). Throws std::runtime_error on failure. Idempotent.
void init();

// Fill ${out} with random bytes from the operating system CSPRNG.
void random_bytes(std::span<uint8_t> out) noexcept;

// Overwrite ${len} bytes at ${p} with zeros in a way the compiler cannot
// elide (sodium_memzero). Use it on every buffer that held a secret.
void wipe(void *p, size_t len) noexcept;

// Constant-time equality of two equally long byte strings. Returns false if
// the lengths differ (the length itself is not secret).
bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;

// True if OpenSSL's EVP runs AES-256-GCM fast and in constant time on this
// CPU, so that it may be offered (DESIGN.md §4.2): x86-64 with AES-NI and
// PCLMULQDQ, and no $OPENSSL_ia32cap masking CPU features from OpenSSL.
// Elsewhere false: ChaCha20-Poly1305 only. (Defined in cipher_state.cpp,
// beside the EVP code it speaks for.)
bool aes_gcm_available() noexcept;

// Number of X25519 operations (key generation and DH) performed by this
// process so far. A test hook: the unit tests use it to prove that a first
// message without the key is rejected before any DH (DESIGN.md §3.4).
uint64_t x25519_operation_count() noexcept;

} // namespace sealpipe::crypto
