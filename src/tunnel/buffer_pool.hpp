// SPDX-License-Identifier: BSD-2-Clause
// Fixed-size I/O buffers, taken only while a direction has bytes in flight
// and returned as soon as it is idle, so an idle connection holds none.
// A small free list avoids a malloc per burst.
//
// Layout of a buffer (DESIGN.md §5.1):
//   [ HEAD: control records | SLOTS x RECORD_MAX: data records | TAIL | iovecs ]
//   \________________________ DATA_SIZE _______________________/
// On the sealing side, control records are sealed right-aligned into HEAD so
// that the whole batch is one contiguous send(2). On the opening side the
// data area holds records as read, and the iovec area the gather list of
// their plaintext for one sendmsg(2): it is needed only while bytes are in
// flight, so an idle connection does not carry it.
//
// Thread-safety: none; one pool per event loop.
#pragma once

#include "proto/constants.hpp"
#include "proto/fields.hpp"

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>
#include <utility>
#include <vector>

namespace sealpipe::tunnel {

class BufferPool {
public:
    // The most control records one batch carries before its data: CONFIRM
    // with its largest body (an IPv6 client address), REKEY, PONG and PING:
    // 59 + 19 + 27 + 27 = 132 bytes.
    static constexpr size_t CONTROL_MAX = proto::RECORD_OVERHEAD + proto::CONFIRM_BODY_LEN_MAX +
                                          proto::RECORD_OVERHEAD +
                                          2 * (proto::RECORD_OVERHEAD + proto::PING_BODY_LEN);
    static constexpr size_t HEAD = (CONTROL_MAX + 15) / 16 * 16; // 144
    static constexpr size_t SLOTS = 4;
    static constexpr size_t TAIL = 64; // CLOSE and RESET after the data
    static_assert(HEAD >= CONTROL_MAX, "HEAD holds every control record of one batch");
    static_assert(TAIL >= 2 * proto::RECORD_OVERHEAD + 1, "TAIL holds CLOSE and RESET");
    static constexpr size_t DATA_SIZE = HEAD + SLOTS * proto::RECORD_MAX + TAIL;
    static constexpr size_t MAX_IOV = 64;
    static constexpr size_t IOV_OFFSET =
        (DATA_SIZE + alignof(struct iovec) - 1) / alignof(struct iovec) * alignof(struct iovec);
    static constexpr size_t SIZE = IOV_OFFSET + MAX_IOV * sizeof(struct iovec);

    // The iovec area of ${buf}.
    static struct iovec *iovecs(uint8_t *buf) noexcept {
        return reinterpret_cast<struct iovec *>(buf + IOV_OFFSET);
    }

    explicit BufferPool(size_t max_free = 64) : max_free_(max_free) {}
    ~BufferPool();
    BufferPool(const BufferPool &) = delete;
    BufferPool &operator=(const BufferPool &) = delete;

    // A buffer of SIZE bytes. Throws std::bad_alloc.
    uint8_t *get();
    // Give ${buf} back (nullptr is a no-op), wiping its first ${dirty}
    // bytes: the part that held plaintext or ciphertext. Only that part:
    // touching all of it would make every page of a buffer resident that a
    // small exchange never used.
    void put(uint8_t *buf, size_t dirty = DATA_SIZE) noexcept;

    size_t in_use() const noexcept { return in_use_; }

private:
    std::vector<uint8_t *> free_;
    size_t max_free_;
    size_t in_use_ = 0;
};

// One buffer from a pool, or none: taken with ensure(), given back when
// destroyed or release()d. Move-only.
class PooledBuffer {
public:
    explicit PooledBuffer(BufferPool &pool) noexcept : pool_(&pool) {}
    PooledBuffer(PooledBuffer &&o) noexcept
        : pool_(o.pool_), buf_(std::exchange(o.buf_, nullptr)) {}
    PooledBuffer &operator=(PooledBuffer &&) = delete;
    PooledBuffer(const PooledBuffer &) = delete;
    PooledBuffer &operator=(const PooledBuffer &) = delete;
    ~PooledBuffer() { release(); }

    // Take a buffer if none is held. Returns true if it is a new one (its
    // contents are then undefined). Throws std::bad_alloc.
    bool ensure() {
        if (buf_ != nullptr)
            return false;
        buf_ = pool_->get();
        return true;
    }
    void release() noexcept { pool_->put(std::exchange(buf_, nullptr), std::exchange(dirty_, 0)); }
    // Bytes [0, ${end}) of the buffer now hold data: wiped on release().
    void mark(size_t end) noexcept { dirty_ = end > dirty_ ? end : dirty_; }
    uint8_t *get() const noexcept { return buf_; }
    explicit operator bool() const noexcept { return buf_ != nullptr; }

private:
    BufferPool *pool_;
    uint8_t *buf_ = nullptr;
    size_t dirty_ = 0;
};

} // namespace sealpipe::tunnel
