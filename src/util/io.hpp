// SPDX-License-Identifier: BSD-2-Clause
// Whole writes to a blocking descriptor.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <unistd.h>

namespace sealpipe::util {

// Write all ${n} bytes at ${p} to ${fd}, after short writes and EINTR.
// False on an error, with its errno in ${err} if given (EIO for a write
// that wrote nothing without saying why).
inline bool write_all(int fd, const void *p, size_t n, int *err = nullptr) noexcept {
    const auto *b = static_cast<const uint8_t *>(p);
    while (n > 0) {
        const ssize_t w = ::write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (err != nullptr)
                *err = w < 0 ? errno : EIO;
            return false;
        }
        b += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

} // namespace sealpipe::util
