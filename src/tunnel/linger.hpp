// SPDX-License-Identifier: BSD-2-Clause
// The lingering close, for clean ends and for aborts that sent a RESET:
// send what is still sealed, then our FIN, then read and discard until the
// peer closes too (bounded by the connection's phase deadline). Closing at
// once with unread input would make the kernel send an RST, which can
// destroy the CLOSE or RESET the peer has not read yet.
//
// Thread-safety: loop thread only.
#pragma once

#include "tunnel/end_reason.hpp"
#include "tunnel/endpoint.hpp"
#include "tunnel/pipe.hpp"

namespace sealpipe::tunnel {

class Linger {
public:
    // Start lingering; the connection will end with ${why}.
    void start(EndReason why) noexcept {
        reason_ = why;
        fin_sent_ = false;
    }
    // Blocked: waiting for the socket or the peer's FIN. Ended: done (the
    // peer closed, or the socket failed): end with reason().
    Step io(Endpoint &enc, UpPipe &up);
    EndReason reason() const noexcept { return reason_; }

private:
    EndReason reason_ = EndReason::Clean;
    bool fin_sent_ = false;
};

} // namespace sealpipe::tunnel
