// SPDX-License-Identifier: BSD-2-Clause
// The two directions of an open connection (DESIGN.md §5).
//
//   UpPipe    plaintext socket --read--> seal in place --send--> encrypted
//   DownPipe  encrypted socket --read--> open in place --write--> plaintext
//
// Each moves one pooled buffer at a time: read, transform in place, write.
// It stops reading while its writes block (backpressure), so a connection
// never holds more than one buffer per direction, and none while idle.
//
// The up side batches: one readv(2) fills up to the buffer's record slots,
// the control records that are due (CONFIRM first, then REKEY, PONG, PING)
// are sealed right-aligned in the buffer's head, and the whole batch goes
// out in one send(2). The down side gathers the plaintext of every record
// it decoded into one sendmsg(2).
//
// A pipe never ends the connection itself: a step returns Ended and end()
// says why; the connection decides what follows (end_reason.hpp).
//
// Thread-safety: loop thread only.
#pragma once

#include "proto/constants.hpp"
#include "proto/fields.hpp"
#include "tunnel/buffer_pool.hpp"
#include "tunnel/end_reason.hpp"
#include "tunnel/endpoint.hpp"
#include "tunnel/protocol.hpp"
#include "tunnel/stats.hpp"
#include "tunnel/timers.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <sys/uio.h>
#include <utility>

namespace sealpipe::tunnel {

// Why a pipe ended.
struct PipeEnd {
    EndReason reason = EndReason::ProtocolError;
    int err = 0;
    proto::RecordError record = proto::RecordError::None;
    proto::ResetReason peer_reset = proto::ResetReason::PlaintextReset;
};

class UpPipe {
public:
    UpPipe(BufferPool &pool, Stats &stats) noexcept : buf_(pool), stats_(stats) {}

    // Start sealing with ${sealer} (owned by the connection's Session);
    // with ${confirm_first}, CONFIRM is the first record (the initiator).
    void open(RecordSealer &sealer, const Features &features, bool confirm_first) noexcept;
    bool is_open() const noexcept { return sealer_ != nullptr; }
    // After open(): the CONFIRM record's body (DESIGN.md §5.2), copied.
    void confirm_with(std::span<const uint8_t> body) noexcept;

    // One round: send what is sealed, or read and seal more. Updates
    // ${clk}'s transmit and data times.
    Step pump(Endpoint &plain, Endpoint &enc, OpenClocks &clk);

    void queue_ping() noexcept { ping_due_ = true; }
    // The key's age limit has passed: send a REKEY even with nothing else
    // to send (DESIGN.md §6.2), so an idle direction does not keep its key.
    void queue_rekey() noexcept { rekey_wanted_ = true; }
    // When the key's age limit passes (ms on the now_ms() clock), or
    // NO_DEADLINE without a session or control records.
    uint64_t rekey_at_ms() const noexcept;
    bool ping_queued() const noexcept { return ping_due_; }
    void queue_pong(const uint8_t (&body)[proto::PING_BODY_LEN]) noexcept;

    // Sealed bytes not yet sent.
    bool pending() const noexcept { return start_ < end_; }
    // Plaintext EOF was read and its CLOSE sealed / fully sent.
    bool close_queued() const noexcept { return close_queued_; }
    bool close_sent() const noexcept { return close_sent_; }
    // The plaintext read this round ended with EOF (the half-close clock
    // may start now); cleared by reading it.
    bool take_close_queued_event() noexcept { return std::exchange(close_event_, false); }
    uint64_t bytes() const noexcept { return bytes_; }

    // Seal a RESET with ${code} after whatever is already sealed, so the
    // nonces stay in order. False if the session cannot carry one. Throws
    // std::bad_alloc.
    bool append_reset(proto::ResetReason code);
    // Lingering close: send what is left. Progress: all sent. Blocked:
    // wait for writability. Ended: the peer is gone.
    Step flush_rest(Endpoint &enc);

    const PipeEnd &end() const noexcept { return ending_; }
    // The write to the encrypted socket failed (the peer may have said why
    // in a RESET: DownPipe::salvage()).
    bool write_failed() const noexcept { return write_failed_; }
    void release() noexcept {
        idle();
        start_ = end_ = 0;
    }

private:
    // A burst starts: take the buffer and the expanded key (throws
    // std::bad_alloc); true if the buffer is new. idle(): let both go.
    bool take() {
        const bool fresh = buf_.ensure();
        if (fresh && sealer_ != nullptr)
            sealer_->activate();
        return fresh;
    }
    void idle() noexcept {
        buf_.release();
        if (sealer_ != nullptr)
            sealer_->park();
    }
    Step flush(Endpoint &plain, Endpoint &enc, OpenClocks &clk);
    Step produce(Endpoint &plain, OpenClocks &clk);
    Step read_plaintext(Endpoint &plain, size_t &len, bool &eof_now);
    size_t plan_controls(bool data_follows, uint64_t now_s, bool &rekey) noexcept;
    bool seal_controls(uint8_t *p, bool rekey, uint64_t now_s) noexcept;
    bool seal_data(size_t len, bool eof_now, size_t &end) noexcept;
    Step fail(EndReason why, int err) noexcept {
        ending_.reason = why;
        ending_.err = err;
        return Step::Ended;
    }

    PooledBuffer buf_;
    Stats &stats_;
    RecordSealer *sealer_ = nullptr;
    RecordLayout layout_{};
    Features features_{};
    size_t slots_ = 0;
    size_t start_ = 0, end_ = 0;  // sealed bytes not yet sent
    bool eof_ = false;            // plaintext EOF read
    bool close_queued_ = false;   // CLOSE sealed (or FIN due)
    bool close_sent_ = false;     // CLOSE fully written (or FIN sent)
    bool close_in_batch_ = false; // the pending batch ends with CLOSE
    bool close_event_ = false;
    bool confirm_pending_ = false;
    uint8_t confirm_body_[proto::CONFIRM_BODY_LEN_MAX] = {};
    size_t confirm_len_ = 0;
    bool ping_due_ = false;
    bool rekey_wanted_ = false;
    bool pong_pending_ = false;
    bool write_failed_ = false;
    uint8_t pong_body_[proto::PING_BODY_LEN] = {};
    uint64_t bytes_ = 0;
    PipeEnd ending_;
};

class DownPipe {
public:
    DownPipe(BufferPool &pool, Stats &stats) noexcept : buf_(pool), stats_(stats) {}

    void open(RecordOpener &opener, const Features &features) noexcept;

    // Take ${bytes} as the first bytes read from the encrypted socket (what
    // the handshake read past its last message). Throws std::bad_alloc.
    void preload(std::span<const uint8_t> bytes) {
        if (bytes.empty())
            return;
        if (take())
            len_ = parse_ = 0;
        std::memcpy(buf_.get() + len_, bytes.data(), bytes.size());
        len_ += bytes.size();
        buf_.mark(len_);
    }

    // Queue ${len} raw bytes at ${p} (which must stay valid) for the
    // plaintext socket ahead of any record's plaintext: the PROXY header.
    // Throws std::bad_alloc.
    void prepend(const uint8_t *p, size_t len) {
        if (take())
            len_ = parse_ = 0;
        iov()[0].iov_base = const_cast<uint8_t *>(p);
        iov()[0].iov_len = len;
        iov_n_ = 1;
        iov_i_ = 0;
    }

    // One round: write decoded plaintext, or decode what is buffered, or
    // read more. ${deliver}: the plaintext side is connected (false on -d
    // while waiting for CONFIRM). Updates ${clk}'s receive and data times.
    Step pump(Endpoint &plain, Endpoint &enc, OpenClocks &clk, bool deliver);

    // A CONFIRM was decoded (decoding pauses after it until the next pump).
    bool take_confirm_event() noexcept { return std::exchange(confirm_event_, false); }
    // What the CONFIRM just decoded said (DESIGN.md §5.2): false if its
    // body is malformed; else ${client} is the client's address, if any.
    bool confirm_body(std::optional<proto::ProxyAddress> &client) const noexcept {
        client = confirm_client_;
        return confirm_ok_;
    }
    // A PING was decoded: its body, for the PONG (only the latest is kept).
    bool take_ping_event(uint8_t (&body)[proto::PING_BODY_LEN]) noexcept;
    // EOF or an error on the encrypted socket was just seen; read once.
    bool take_eof_event() noexcept { return std::exchange(eof_event_, false); }
    // Given whether our own close is out, is the EOF seen a truncation?
    // With an authenticated close, anything before both CLOSEs is; with a
    // bare FIN, only a partial record is.
    bool eof_is_truncation(bool our_close_sent) const noexcept;
    // The peer's CLOSE was delivered as shutdown(SHUT_WR); read once.
    bool take_close_delivered_event() noexcept { return std::exchange(delivered_event_, false); }
    bool close_received() const noexcept;
    bool close_delivered() const noexcept { return plain_shut_; }
    // EOF or an error on the encrypted socket (eof_error(): its errno).
    bool eof() const noexcept { return eof_; }
    int eof_error() const noexcept { return eof_err_; }
    bool unparsed() const noexcept { return parse_ < len_; }
    // Plaintext is waiting for the plaintext socket.
    bool blocked() const noexcept { return iov_n_ > iov_i_; }
    uint64_t bytes() const noexcept { return bytes_; }

    // After a failed write to the encrypted socket: read what the peer
    // sent before going, looking for its RESET. Returns PeerReset if it
    // sent one, Truncated otherwise.
    PipeEnd salvage(Endpoint &plain, Endpoint &enc);

    const PipeEnd &end() const noexcept { return ending_; }
    void release() noexcept {
        idle();
        len_ = parse_ = 0;
        iov_n_ = iov_i_ = 0;
    }

private:
    // As UpPipe's.
    bool take() {
        const bool fresh = buf_.ensure();
        if (fresh && opener_ != nullptr)
            opener_->activate();
        return fresh;
    }
    void idle() noexcept {
        buf_.release();
        if (opener_ != nullptr)
            opener_->park();
    }
    Step flush(Endpoint &plain, OpenClocks &clk);
    Step parse(OpenClocks &clk, bool deliver);
    Step read(Endpoint &enc, OpenClocks &clk);
    void housekeeping(Endpoint &plain, Endpoint &enc, bool deliver);
    void compact() noexcept;
    Step fail(const PipeEnd &e) noexcept {
        ending_ = e;
        return Step::Ended;
    }

    PooledBuffer buf_;
    Stats &stats_;
    RecordOpener *opener_ = nullptr;
    Features features_{};
    size_t len_ = 0;   // bytes read into the buffer
    size_t parse_ = 0; // first byte not yet decoded
    // The gather list lives in the pooled buffer (BufferPool::iovecs).
    struct iovec *iov() const noexcept {
        return BufferPool::iovecs(buf_.get());
    }
    int iov_n_ = 0, iov_i_ = 0;
    bool eof_ = false;
    int eof_err_ = 0;
    bool fin_seen_ = false; // bare-FIN protocols: EOF is the peer's close
    bool plain_shut_ = false;
    bool confirm_event_ = false;
    bool confirm_ok_ = false;
    std::optional<proto::ProxyAddress> confirm_client_;
    bool delivered_event_ = false;
    bool eof_event_ = false;
    bool ping_event_ = false;
    bool paused_ = false; // blocked on plaintext writes since the last flush
    // The receiver's key-age clock stops while we ourselves hold the pipe
    // back (paused_): the peer could not get its REKEY through (DESIGN.md
    // §6.2). held_ms_ is the total of the pauses that ended; held_since_ms_
    // when the current one began.
    uint64_t held_ms_ = 0;
    uint64_t held_since_ms_ = 0;
    void pause() noexcept;
    // Monotonic seconds less the time held back: the clock of the opener's
    // key ages.
    uint64_t key_clock_s() const noexcept;
    uint8_t ping_body_[proto::PING_BODY_LEN] = {};
    uint64_t bytes_ = 0;
    PipeEnd ending_;
};

} // namespace sealpipe::tunnel
