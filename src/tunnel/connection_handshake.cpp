// SPDX-License-Identifier: BSD-2-Clause
// Connection, continued: connecting and the handshake (DESIGN.md §3), from
// the first connect to an open session. The states that lead here and the
// open pipes are in connection.cpp.
#include "tunnel/connection.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <cerrno>

namespace sealpipe::tunnel {

void Connection::connect_ready(Endpoint &out) {
    switch (connector_.ready(out)) {
    case Step::Blocked: return;
    case Step::Ended: connect_failed(); return;
    case Step::Progress:
        if (role_ == Role::Encrypt)
            enter_handshake();
        else
            enter_open();
        return;
    }
}

void Connection::connect_failed() {
    report_.err = connector_.error();
    // A -d that reset the connection it had accepted, before a byte of
    // msg1 (its handshake pool evicted it under a flood): DESIGN.md §3.8's
    // case too, seen at the connect when the reset came first.
    if (report_.err == ECONNRESET && retry_once("reset the connection before the handshake"))
        return;
    fail(connector_.reason());
}

// -e, DESIGN.md §3.8: nothing has been read from the plaintext client and
// the -d has not connected to its target, so a second handshake on a new
// connection, with a new ephemeral key, can deliver nothing twice. One
// retry, within the same -o deadline. False when it was used already.
bool Connection::retry_once(const char *what) {
    if (role_ != Role::Encrypt || retries_left_ == 0)
        return false;
    --retries_left_;
    const int err = report_.err;
    enc_.close(true);
    hs_.reset();
    report_.err = 0;
    report_.handshake_error = crypto::HandshakeError::None;
    env_.stats.handshake_retries.fetch_add(1, std::memory_order_relaxed);
    log_debug("conn %llu %s: the peer %s (%s); retrying once", static_cast<unsigned long long>(id_),
              peer_.c_str(), what, err != 0 ? util::errno_string(err).c_str() : "end of stream");
    enter_connect_peer(true);
    return true;
}

void Connection::handshake_io() {
    if (!hs_)
        return;
    Step s;
    do {
        s = hs_->flush(enc_, clk_.last_tx_ms);
        if (s == Step::Blocked)
            return;
        if (s == Step::Ended) {
            handshake_failed();
            return;
        }
        if (state_ == State::AwaitConfirm) {
            answer_sent();
            return;
        }
        s = hs_->advance(enc_, env_, clk_.last_rx_ms);
        if (s == Step::Ended) {
            handshake_failed();
            return;
        }
    } while (s == Step::Blocked && hs_->has_output()); // a reply to send first
    if (s == Step::Blocked)
        return;
    session_ = hs_->take_session(util::now_ms() / 1000, env_.cfg.rekey);
    open_session();
    down_.preload(hs_->leftover());
    if (role_ == Role::Decrypt) {
        enter_await_confirm(); // still in the handshake pool (confirmed())
        return;
    }
    hs_lease_.release(); // the handshake is over: free its slot in the pool
    hs_.reset();
    env_.stats.record_handshake(util::now_us() - started_us_);
    enter_open();
}

void Connection::handshake_failed() {
    report_.handshake_error = hs_->error();
    report_.err = hs_->err();
    report_.clock_skew_s = hs_->clock_skew_s();
    if (hs_->closed_before_answer() && retry_once("closed before answering the handshake"))
        return;
    // -d: the answer could not be written: the peer cut the connection.
    fail(state_ == State::AwaitConfirm ? EndReason::Truncated : hs_->failure());
}

// -d: the answer is out; its buffers are no longer needed.
void Connection::answer_sent() {
    hs_.reset();
    if (session_.features.confirm)
        pump(); // CONFIRM may already be here
    else
        confirmed();
}

void Connection::open_session() {
    up_.open(*session_.sealer, session_.features, role_ == Role::Encrypt);
    if (role_ == Role::Encrypt && session_.features.client_address) {
        // The client's address rides in CONFIRM, under the session keys, so
        // it is as forward secret as the data (DESIGN.md §4.3).
        uint8_t body[proto::CONFIRM_BODY_LEN_MAX];
        up_.confirm_with(
            {body, proto::encode_confirm_body(net::proxy_address_of(plain_.get()), body)});
    }
    down_.open(*session_.opener, session_.features);
    if (session_.features.control_records)
        policy_.heartbeat_ms = static_cast<uint64_t>(session_.heartbeat_s) * 1000;
    policy_.idle_ms = env_.cfg.idle_timeout_ms;
    policy_.half_close_ms = env_.cfg.half_close_timeout_ms;
    auto &st = env_.stats;
    (session_.transport != nullptr                   ? st.ciphers_spiped
     : session_.cipher == proto::CipherId::Aes256Gcm ? st.ciphers_aes
                                                     : st.ciphers_chacha)
        .fetch_add(1, std::memory_order_relaxed);
    if (!session_.forward_secret)
        note_no_forward_secrecy();
}

// A session without forward secrecy is counted; when it was the peer's
// choice (its -f) and not ours, it is also said, at the default level and
// rate-limited: a default-policy side must not give up forward secrecy
// silently. -g refuses such peers.
void Connection::note_no_forward_secrecy() {
    env_.stats.sessions_no_fs.fetch_add(1, std::memory_order_relaxed);
    if (env_.cfg.handshake.fs_policy == proto::FsPolicy::Refuse)
        return;
    uint64_t suppressed = 0;
    if (!env_.owner.allow_session_warning(util::now_ms(), suppressed))
        return;
    log_warn("conn %llu %s: no forward secrecy: the peer runs with -f, so a later theft of the "
             "key file decrypts this session (-g refuses such peers)%s",
             static_cast<unsigned long long>(id_), peer_.c_str(),
             suppressed > 0 ? (" [" + std::to_string(suppressed) + " more not logged]").c_str()
                            : "");
}

} // namespace sealpipe::tunnel
