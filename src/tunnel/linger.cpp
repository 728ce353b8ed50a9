// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/linger.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

Step Linger::io(Endpoint &enc, UpPipe &up) {
    const Step s = up.flush_rest(enc);
    if (s != Step::Progress)
        return s;
    if (!fin_sent_) {
        ::shutdown(enc.get(), SHUT_WR);
        fin_sent_ = true;
    }
    uint8_t scratch[4096];
    while (true) {
        const ssize_t n = ::read(enc.get(), scratch, sizeof scratch);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n < 0 && would_block(errno))
            return Step::Blocked;
        return Step::Ended; // EOF or error: the peer is done too
    }
}

} // namespace sealpipe::tunnel
