// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/buffer_pool.hpp"
#include "crypto/secret.hpp"

#include <cstdlib>
#include <new>

namespace sealpipe::tunnel {

BufferPool::~BufferPool() {
    for (uint8_t *b : free_)
        std::free(b);
}

uint8_t *BufferPool::get() {
    uint8_t *b;
    if (!free_.empty()) {
        b = free_.back();
        free_.pop_back();
    } else {
        b = static_cast<uint8_t *>(std::malloc(SIZE));
        if (b == nullptr)
            throw std::bad_alloc();
    }
    ++in_use_;
    return b;
}

void BufferPool::put(uint8_t *b, size_t dirty) noexcept {
    if (b == nullptr)
        return;
    --in_use_;
    // The data area held plaintext: wipe it before it waits on the free
    // list or goes back to the allocator (SECURITY.md), so that a later
    // heap disclosure or core file cannot show old traffic. The iovec area
    // holds only pointers.
    crypto::wipe(b, dirty < DATA_SIZE ? dirty : DATA_SIZE);
    if (free_.size() < max_free_)
        free_.push_back(b);
    else
        std::free(b);
}

} // namespace sealpipe::tunnel
