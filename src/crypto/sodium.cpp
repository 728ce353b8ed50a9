// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/sodium.hpp"
#include "crypto/internal.hpp"
#include "crypto/spiped.hpp"

#include <sodium.h>

#include <atomic>
#include <stdexcept>

namespace sealpipe::crypto {

namespace {
std::atomic<uint64_t> g_x25519_ops{0};
}

void init() {
    if (sodium_init() < 0)
        throw std::runtime_error("cannot initialise libsodium");
    detail::init_record_aead();
    spiped::init_spiped();
}

void random_bytes(std::span<uint8_t> out) noexcept {
    randombytes_buf(out.data(), out.size());
}

void wipe(void *p, size_t len) noexcept {
    sodium_memzero(p, len);
}

bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    if (a.size() != b.size())
        return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

uint64_t x25519_operation_count() noexcept {
    return g_x25519_ops.load(std::memory_order_relaxed);
}

namespace detail {
void count_x25519() noexcept {
    g_x25519_ops.fetch_add(1, std::memory_order_relaxed);
}
} // namespace detail

} // namespace sealpipe::crypto
