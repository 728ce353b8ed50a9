// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/secret.hpp"

#include <sodium.h>

#include <new>
#include <utility>

namespace sealpipe::crypto {

SecureBuffer::SecureBuffer(size_t size) {
    if (size == 0)
        return;
    void *p = sodium_malloc(size);
    if (p == nullptr)
        throw std::bad_alloc();
    sodium_memzero(p, size);
    data_ = static_cast<uint8_t *>(p);
    size_ = capacity_ = size;
}

SecureBuffer::~SecureBuffer() {
    if (data_ != nullptr)
        sodium_free(data_); // wipes before unmapping
}

SecureBuffer::SecureBuffer(SecureBuffer &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecureBuffer &SecureBuffer::operator=(SecureBuffer &&other) noexcept {
    if (this != &other) {
        if (data_ != nullptr)
            sodium_free(data_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

} // namespace sealpipe::crypto
