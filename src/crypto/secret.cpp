// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/secret.hpp"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace sealpipe::crypto {

namespace {

// Every live SecureBuffer's bytes, for wipe_all_secrets(). Long-lived
// secrets only (a few per key): not on any per-connection path.
struct Registry {
    std::mutex mu;
    std::vector<std::pair<uint8_t *, size_t>> live;
};

// Never destroyed: buffers in static objects outlive static destruction.
Registry &registry() {
    static Registry *r = new Registry;
    return *r;
}

void enrol(uint8_t *p, size_t n) {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.live.emplace_back(p, n);
}

void release(uint8_t *p) noexcept {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::erase_if(r.live, [p](const auto &e) { return e.first == p; });
    sodium_free(p); // wipes before unmapping
}

} // namespace

void wipe_all_secrets() noexcept {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const auto &[p, n] : r.live)
        sodium_memzero(p, n);
}

SecureBuffer::SecureBuffer(size_t size) {
    if (size == 0)
        return;
    void *p = sodium_malloc(size);
    if (p == nullptr)
        throw std::bad_alloc();
    sodium_memzero(p, size);
    data_ = static_cast<uint8_t *>(p);
    size_ = capacity_ = size;
    try {
        enrol(data_, size_);
    } catch (...) {
        sodium_free(p);
        throw;
    }
}

SecureBuffer::~SecureBuffer() {
    if (data_ != nullptr)
        release(data_);
}

SecureBuffer::SecureBuffer(SecureBuffer &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecureBuffer &SecureBuffer::operator=(SecureBuffer &&other) noexcept {
    if (this != &other) {
        if (data_ != nullptr)
            release(data_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

} // namespace sealpipe::crypto
