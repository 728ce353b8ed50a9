// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/handshake_stage.hpp"
#include "util/clock.hpp"

#include <algorithm>
#include <cstring>

#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

HandshakeStage::HandshakeStage(std::unique_ptr<HandshakeDriver> driver, bool responder)
    : driver_(std::move(driver)), responder_(responder) {
    out_len_ = driver_->start(out_);
}

Step HandshakeStage::flush(Endpoint &enc, uint64_t &last_tx_ms) {
    const Step s = send_pending(enc, out_.data(), out_off_, out_len_, last_tx_ms, err_);
    if (s != Step::Ended)
        return s;
    peer_closed_ = true;
    return end(EndReason::HandshakeFailed, crypto::HandshakeError::None);
}

// Read one message, in one read(2) when it has all arrived: an honest peer
// sends nothing more until it has our answer, and what a dishonest one
// sends past the message is kept for the records (leftover()).
Step HandshakeStage::read_message(Endpoint &enc, uint64_t &last_rx_ms) {
    while (true) {
        const size_t want = driver_->message_size({in_.data(), in_len_});
        if (want == 0 || want > in_.size())
            return end(EndReason::HandshakeFailed, crypto::HandshakeError::Malformed);
        if (in_len_ >= want && want > proto::HS_LENGTH_LEN) {
            msg_len_ = want;
            return Step::Progress;
        }
        if (!enc.readable)
            return Step::Blocked;
        const ssize_t n = ::read(enc.get(), in_.data() + in_len_, in_.size() - in_len_);
        if (n < 0) {
            if (would_block(errno)) {
                enc.readable = false;
                return Step::Blocked;
            }
            if (errno == EINTR)
                continue;
            err_ = errno;
            return closed();
        }
        if (n == 0) {
            err_ = 0;
            return closed();
        }
        in_len_ += static_cast<size_t>(n);
        last_rx_ms = util::now_ms();
    }
}

// The peer closed (or reset) the connection mid-handshake. For the
// initiator this is what a wrong key looks like: the responder stays
// silent and closes. A responder's peer that sent nothing at all is a port
// probe or a health check, not an attack, and is named so (DESIGN.md §3.7).
Step HandshakeStage::closed() {
    peer_closed_ = true;
    if (in_len_ == 0 && responder_)
        return end(EndReason::ClosedEarly, crypto::HandshakeError::PeerClosed);
    return end(EndReason::HandshakeFailed, crypto::HandshakeError::PeerClosed);
}

Step HandshakeStage::advance(Endpoint &enc, ConnectionEnv &env, uint64_t &last_rx_ms) {
    while (!done_) {
        const Step s = read_message(enc, last_rx_ms);
        if (s != Step::Progress)
            return s;
        size_t reply = 0;
        switch (driver_->receive({in_.data(), msg_len_}, out_, reply)) {
        case HsStep::Done: done_ = true; break;
        case HsStep::Authenticated: return admit_and_answer(env);
        case HsStep::NeedMore:
            // The next message may have arrived with this one: it is read
            // from in_ on the next round, which must not wait for the
            // socket (an edge-triggered event will not come again).
            in_len_ -= msg_len_;
            std::memmove(in_.data(), in_.data() + msg_len_, in_len_);
            msg_len_ = 0;
            if (reply > 0) {
                out_len_ = reply; // the caller flushes it (has_output())
                out_off_ = 0;
                return Step::Blocked;
            }
            break;
        case HsStep::Failed: return end(EndReason::HandshakeFailed, driver_->error());
        }
    }
    return Step::Progress;
}

// DESIGN.md §3.4: no X25519 before these checks pass. The -n slot is not
// among them: a peer holds one only once its CONFIRM has proved the key
// (the connection takes it then), so replayed msg1s cannot fill -n.
Step HandshakeStage::admit_and_answer(ConnectionEnv &env) {
    if (const auto t = driver_->replay_token()) {
        std::array<uint8_t, 32> token;
        std::copy(t->begin(), t->end(), token.begin());
        if (!env.replay.insert(token, util::unix_time_ms()))
            return end(EndReason::Replay, crypto::HandshakeError::None);
    }
    size_t written = 0;
    if (driver_->answer(out_, written) != HsStep::Done)
        return end(EndReason::HandshakeFailed, driver_->error());
    out_len_ = written;
    out_off_ = 0;
    done_ = true;
    return Step::Progress;
}

} // namespace sealpipe::tunnel
