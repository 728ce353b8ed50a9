// SPDX-License-Identifier: BSD-2-Clause
// Containers for secret bytes.
//
// SecureBuffer keeps long-lived secrets (key file contents, PSKs) in
// sodium_malloc() memory: guard pages, mlock()ed when the limit allows,
// excluded from core dumps, and wiped by sodium_free().
//
// Key32 holds a short-lived 32-byte key inline (session keys, chaining keys)
// and wipes it on destruction and on move. sodium_malloc() costs three pages
// per call, so it is not used per connection; DESIGN.md §8 states the
// resulting limit: session keys live in ordinary heap memory that is wiped
// as soon as it is released, but may be swapped out while in use.
#pragma once

#include "crypto/sodium.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sealpipe::crypto {

class SecureBuffer {
public:
    SecureBuffer() = default;
    // Allocate ${size} bytes of zeroed guarded memory. Throws std::bad_alloc.
    explicit SecureBuffer(size_t size);
    ~SecureBuffer();
    SecureBuffer(SecureBuffer &&other) noexcept;
    SecureBuffer &operator=(SecureBuffer &&other) noexcept;
    SecureBuffer(const SecureBuffer &) = delete;
    SecureBuffer &operator=(const SecureBuffer &) = delete;

    uint8_t *data() noexcept { return data_; }
    const uint8_t *data() const noexcept { return data_; }
    size_t size() const noexcept { return size_; }
    std::span<uint8_t> span() noexcept { return {data_, size_}; }
    std::span<const uint8_t> span() const noexcept { return {data_, size_}; }
    bool empty() const noexcept { return size_ == 0; }

private:
    uint8_t *data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

// Wipe the bytes of every live SecureBuffer, leaving them allocated. For a
// forked child that must not keep a copy of the keys (sys/remover.hpp's
// helper); the process's own keys are useless afterwards.
void wipe_all_secrets() noexcept;

class Key32 {
public:
    static constexpr size_t SIZE = 32;
    Key32() noexcept { bytes_.fill(0); }
    explicit Key32(std::span<const uint8_t, SIZE> k) noexcept { assign(k); }
    ~Key32() { wipe(bytes_.data(), SIZE); }
    Key32(const Key32 &o) noexcept : bytes_(o.bytes_) {}
    Key32 &operator=(const Key32 &o) noexcept {
        bytes_ = o.bytes_;
        return *this;
    }

    void assign(std::span<const uint8_t, SIZE> k) noexcept {
        for (size_t i = 0; i < SIZE; ++i)
            bytes_[i] = k[i];
    }
    void clear() noexcept { wipe(bytes_.data(), SIZE); }
    uint8_t *data() noexcept { return bytes_.data(); }
    const uint8_t *data() const noexcept { return bytes_.data(); }
    std::span<uint8_t, SIZE> span() noexcept { return std::span<uint8_t, SIZE>(bytes_); }
    std::span<const uint8_t, SIZE> span() const noexcept {
        return std::span<const uint8_t, SIZE>(bytes_);
    }

private:
    std::array<uint8_t, SIZE> bytes_;
};

} // namespace sealpipe::crypto
