// SPDX-License-Identifier: BSD-2-Clause
// The handshake of one connection, over its encrypted socket: buffers and
// framing around the protocol's HandshakeDriver, the responder's
// admission order (DESIGN.md §3.4: authenticate, check the clock window,
// then the replay cache, and only then the DH and the answer), and the
// initiator's one retry (DESIGN.md §3.8). Waiting for CONFIRM, which comes
// as a record, is the down pipe's.
//
// Freed as soon as the handshake is over, so an open connection carries
// none of its buffers.
//
// Thread-safety: loop thread only.
#pragma once

#include "tunnel/endpoint.hpp"
#include "tunnel/env.hpp"
#include "tunnel/protocol.hpp"

#include <array>
#include <memory>

namespace sealpipe::tunnel {

class HandshakeStage {
public:
    // ${driver} speaks for this side; its first message, if it has one to
    // send before hearing the peer, is queued at once.
    HandshakeStage(std::unique_ptr<HandshakeDriver> driver, bool responder);

    // Send what is queued. Progress: all sent. Blocked: the socket is full.
    // Ended: the write failed (see error()).
    Step flush(Endpoint &enc, uint64_t &last_tx_ms);

    // Read the peer's next message and act on it. Progress: the handshake
    // is done (take_session()). Blocked: more bytes are needed, or a reply
    // is queued (has_output(): flush() it, then advance() again). Ended:
    // see failure().
    Step advance(Endpoint &enc, ConnectionEnv &env, uint64_t &last_rx_ms);

    bool has_output() const noexcept { return out_off_ < out_len_; }

    // Why advance() or flush() ended.
    EndReason failure() const noexcept { return failure_; }
    crypto::HandshakeError error() const noexcept { return hs_error_; }
    int err() const noexcept { return err_; }
    int64_t clock_skew_s() const noexcept { return driver_->clock_skew_s(); }
    // Ended before the first byte of the peer's answer: what a -d under a
    // handshake flood, or restarting, does (DESIGN.md §3.8).
    bool closed_before_answer() const noexcept { return in_len_ == 0 && peer_closed_; }

    Session take_session(uint64_t now_s, const proto::RekeyLimits &limits) {
        return driver_->take_session(now_s, limits);
    }
    // Bytes read past the last message: the start of the peer's records.
    std::span<const uint8_t> leftover() const noexcept {
        return {in_.data() + msg_len_, in_len_ - msg_len_};
    }

private:
    Step read_message(Endpoint &enc, uint64_t &last_rx_ms);
    Step closed();
    Step admit_and_answer(ConnectionEnv &env);
    Step end(EndReason why, crypto::HandshakeError e) noexcept {
        failure_ = why;
        hs_error_ = e;
        return Step::Ended;
    }

    std::unique_ptr<HandshakeDriver> driver_;
    bool responder_;
    std::array<uint8_t, HS_MESSAGE_MAX> out_;
    size_t out_len_ = 0, out_off_ = 0;
    std::array<uint8_t, HS_MESSAGE_MAX> in_;
    size_t in_len_ = 0;
    size_t msg_len_ = 0; // the message in in_, once complete
    bool done_ = false;
    bool peer_closed_ = false;
    EndReason failure_ = EndReason::HandshakeFailed;
    crypto::HandshakeError hs_error_ = crypto::HandshakeError::None;
    int err_ = 0;
};

} // namespace sealpipe::tunnel
