// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/pipe.hpp"
#include "tunnel/config.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

using proto::RecordType;

namespace {
constexpr size_t HEAD = BufferPool::HEAD;
constexpr size_t MAX_SLOTS = 64;
} // namespace

// ---------------------------------------------------------------------------
// Up: plaintext -> records
// ---------------------------------------------------------------------------

void UpPipe::open(RecordSealer &sealer, const Features &features, bool confirm_first) noexcept {
    sealer_ = &sealer;
    layout_ = sealer.layout();
    features_ = features;
    slots_ = std::min(MAX_SLOTS, (BufferPool::DATA_SIZE - HEAD - BufferPool::TAIL) / layout_.slot);
    confirm_pending_ = confirm_first && features.confirm;
    confirm_len_ = 0;
}

void UpPipe::confirm_with(std::span<const uint8_t> body) noexcept {
    confirm_len_ = std::min(body.size(), sizeof confirm_body_);
    std::memcpy(confirm_body_, body.data(), confirm_len_);
}

uint64_t UpPipe::rekey_at_ms() const noexcept {
    if (sealer_ == nullptr || !features_.control_records)
        return NO_DEADLINE;
    const uint64_t s = sealer_->rekey_at_s();
    return s >= NO_DEADLINE / 1000 ? NO_DEADLINE : s * 1000;
}

void UpPipe::queue_pong(const uint8_t (&body)[proto::PING_BODY_LEN]) noexcept {
    std::memcpy(pong_body_, body, sizeof pong_body_);
    pong_pending_ = true; // only the latest is kept
}

Step UpPipe::pump(Endpoint &plain, Endpoint &enc, OpenClocks &clk) {
    if (start_ < end_ || close_in_batch_)
        return flush(plain, enc, clk);
    return produce(plain, clk);
}

Step UpPipe::flush(Endpoint &plain, Endpoint &enc, OpenClocks &clk) {
    int err = 0;
    const Step s = send_pending(enc, buf_.get(), start_, end_, clk.last_tx_ms, err);
    if (s == Step::Blocked)
        return s;
    if (s == Step::Ended) {
        write_failed_ = true;
        return fail(EndReason::Truncated, err);
    }
    start_ = end_ = 0;
    if (close_in_batch_) {
        close_in_batch_ = false;
        close_sent_ = true;
        // Without an authenticated close, end of stream is our FIN.
        if (!features_.authenticated_close)
            ::shutdown(enc.get(), SHUT_WR);
    }
    if (!plain.readable || eof_)
        idle();
    return Step::Progress;
}

// Read plaintext straight into the record slots (one readv). Sets
// ${len} and ${eof_now}; Ended if the plaintext socket failed.
Step UpPipe::read_plaintext(Endpoint &plain, size_t &len, bool &eof_now) {
    len = 0;
    eof_now = false;
    struct iovec iv[MAX_SLOTS];
    for (size_t i = 0; i < slots_; ++i) {
        iv[i].iov_base = buf_.get() + HEAD + i * layout_.slot + layout_.body_offset;
        iv[i].iov_len = layout_.body_max;
    }
    const ssize_t n = ::readv(plain.get(), iv, static_cast<int>(slots_));
    if (n < 0) {
        if (would_block(errno))
            plain.readable = false;
        else if (errno != EINTR)
            return fail(EndReason::PlaintextReset, errno);
    } else if (n == 0) {
        eof_ = true;
        eof_now = true;
    } else {
        len = static_cast<size_t>(n);
        // readv filled whole slots, then part of the last one.
        const size_t full = (len - 1) / layout_.body_max;
        buf_.mark(HEAD + full * layout_.slot + layout_.body_offset +
                  (len - full * layout_.body_max));
    }
    return Step::Progress;
}

// The control records due now, as flags; their total wire size.
size_t UpPipe::plan_controls(bool data_follows, uint64_t now_s, bool &rekey) noexcept {
    const bool ctl = features_.control_records;
    rekey = ctl &&
            (data_follows || confirm_pending_ || pong_pending_ || ping_due_ || rekey_wanted_) &&
            sealer_->rekey_due(now_s);
    rekey_wanted_ = false;
    pong_pending_ = pong_pending_ && ctl;
    ping_due_ = ping_due_ && ctl;
    const size_t ping_record = layout_.overhead + proto::PING_BODY_LEN;
    return (confirm_pending_ ? layout_.overhead + confirm_len_ : 0) +
           (rekey ? layout_.overhead : 0) + (pong_pending_ ? ping_record : 0) +
           (ping_due_ ? ping_record : 0);
}

// Seal the planned control records at ${p}, in this order: CONFIRM (must
// be first), REKEY (applies to all that follows), PONG, PING. False at
// the nonce limit.
bool UpPipe::seal_controls(uint8_t *p, bool rekey, uint64_t now_s) noexcept {
    bool ok = true;
    auto put = [&](size_t n) {
        ok = ok && n != 0;
        p += n;
    };
    if (confirm_pending_) {
        std::memcpy(p + layout_.body_offset, confirm_body_, confirm_len_);
        put(sealer_->seal(RecordType::Confirm, p, confirm_len_));
        confirm_pending_ = false;
    }
    if (rekey && ok) {
        put(sealer_->seal_rekey(p, now_s));
        stats_.rekeys_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (pong_pending_ && ok) {
        std::memcpy(p + layout_.body_offset, pong_body_, proto::PING_BODY_LEN);
        put(sealer_->seal(RecordType::Pong, p, proto::PING_BODY_LEN));
        pong_pending_ = false;
    }
    if (ping_due_ && ok) {
        const uint64_t t = util::now_us();
        for (size_t i = 0; i < proto::PING_BODY_LEN; ++i)
            p[layout_.body_offset + i] = static_cast<uint8_t>(t >> (56 - 8 * i));
        put(sealer_->seal(RecordType::Ping, p, proto::PING_BODY_LEN));
        ping_due_ = false;
    }
    return ok;
}

// Seal ${len} bytes of data in place, then the CLOSE if ${eof_now}. Full
// slots are exactly one record long, so the records are contiguous; only
// the last one can be shorter. Sets ${end} past the last record; false at
// the nonce limit.
bool UpPipe::seal_data(size_t len, bool eof_now, size_t &end) noexcept {
    uint8_t *const buf = buf_.get();
    size_t off = HEAD;
    while (len > 0) {
        const size_t chunk = std::min(len, layout_.body_max);
        const size_t n = sealer_->seal(RecordType::Data, buf + off, chunk);
        if (n == 0)
            return false;
        off += n;
        len -= chunk;
    }
    if (eof_now) {
        // DESIGN.md §5.4: plaintext EOF becomes an authenticated CLOSE (or,
        // for a protocol without one, a FIN once the data before it is out).
        if (features_.authenticated_close) {
            const size_t n = sealer_->seal(RecordType::Close, buf + off, 0);
            if (n == 0)
                return false;
            off += n;
        }
        close_queued_ = true;
        close_in_batch_ = true;
        close_event_ = true;
    }
    end = off;
    return true;
}

Step UpPipe::produce(Endpoint &plain, OpenClocks &clk) {
    const bool can_read = plain.readable && !eof_;
    if (!can_read && !confirm_pending_ && !pong_pending_ && !ping_due_ && !rekey_wanted_) {
        idle();
        return Step::Blocked;
    }
    if (take())
        start_ = end_ = 0;
    size_t len = 0;
    bool eof_now = false;
    if (can_read && read_plaintext(plain, len, eof_now) == Step::Ended)
        return Step::Ended;

    const uint64_t now = util::now_ms();
    bool rekey = false;
    const size_t ctl = plan_controls(len > 0 || eof_now, now / 1000, rekey);
    if (ctl == 0 && len == 0 && !eof_now) {
        if (!plain.readable)
            idle();
        return Step::Blocked;
    }
    size_t end = HEAD;
    if (!seal_controls(buf_.get() + HEAD - ctl, rekey, now / 1000) ||
        !seal_data(len, eof_now, end)) {
        // DESIGN.md §6.1: the nonce limit. Unreachable in practice.
        log_error("nonce limit reached");
        return fail(EndReason::ProtocolError, 0);
    }
    start_ = HEAD - ctl;
    end_ = end;
    buf_.mark(end_);
    if (len > 0) {
        bytes_ += len;
        stats_.bytes_in.fetch_add(len, std::memory_order_relaxed);
        clk.last_data_ms = now;
    }
    return Step::Progress;
}

bool UpPipe::append_reset(proto::ResetReason code) {
    if (sealer_ == nullptr || !features_.authenticated_close)
        return false;
    if (take() || start_ == end_)
        start_ = end_ = HEAD;
    const size_t need = layout_.overhead + 1;
    if (end_ + need <= BufferPool::DATA_SIZE) {
        buf_.get()[end_ + layout_.body_offset] = static_cast<uint8_t>(code);
        end_ += sealer_->seal(RecordType::Reset, buf_.get() + end_, 1);
        buf_.mark(end_);
    }
    return true;
}

Step UpPipe::flush_rest(Endpoint &enc) {
    while (start_ < end_) {
        const ssize_t n = ::send(enc.get(), buf_.get() + start_, end_ - start_, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && would_block(errno))
            return Step::Blocked; // wait for EV_WRITE
        if (n <= 0)
            return Step::Ended;
        start_ += static_cast<size_t>(n);
    }
    release();
    return Step::Progress;
}

// ---------------------------------------------------------------------------
// Down: records -> plaintext
// ---------------------------------------------------------------------------

void DownPipe::open(RecordOpener &opener, const Features &features) noexcept {
    opener_ = &opener;
    features_ = features;
}

bool DownPipe::close_received() const noexcept {
    if (!features_.authenticated_close)
        return fin_seen_ && !unparsed();
    return opener_ != nullptr && opener_->close_received();
}

bool DownPipe::eof_is_truncation(bool our_close_sent) const noexcept {
    if (!features_.authenticated_close)
        return unparsed();
    return !(close_received() && our_close_sent) || unparsed();
}

bool DownPipe::take_ping_event(uint8_t (&body)[proto::PING_BODY_LEN]) noexcept {
    if (!ping_event_)
        return false;
    ping_event_ = false;
    std::memcpy(body, ping_body_, sizeof ping_body_);
    return true;
}

Step DownPipe::pump(Endpoint &plain, Endpoint &enc, OpenClocks &clk, bool deliver) {
    if (iov_n_ > iov_i_) {
        const Step s = flush(plain, clk);
        if (s == Step::Progress)
            housekeeping(plain, enc, deliver);
        return s;
    }
    if (parse_ < len_) {
        const Step s = parse(clk, deliver);
        if (s == Step::Ended || confirm_event_)
            return s;
        if (iov_n_ == 0)
            housekeeping(plain, enc, deliver);
        if (s == Step::Progress)
            return s;
    }
    const Step s = read(enc, clk);
    // A bare FIN (no CLOSE record to decode) is delivered here.
    if (eof_ && iov_n_ == 0 && parse_ == len_)
        housekeeping(plain, enc, deliver);
    return s;
}

Step DownPipe::flush(Endpoint &plain, OpenClocks &clk) {
    while (iov_i_ < iov_n_) {
        if (!plain.writable) {
            pause();
            return Step::Blocked;
        }
        struct msghdr m {};
        m.msg_iov = iov() + iov_i_;
        // msg_iovlen is a size_t on Linux and an int on FreeBSD (POSIX).
        m.msg_iovlen = static_cast<decltype(m.msg_iovlen)>(iov_n_ - iov_i_);
        const ssize_t n = ::sendmsg(plain.get(), &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (would_block(errno)) {
                plain.writable = false;
                pause();
                return Step::Blocked;
            }
            if (errno == EINTR)
                continue;
            return fail({EndReason::PlaintextReset, errno});
        }
        size_t left = static_cast<size_t>(n);
        bytes_ += left;
        stats_.bytes_out.fetch_add(left, std::memory_order_relaxed);
        while (left > 0 && iov_i_ < iov_n_) {
            struct iovec &v = iov()[iov_i_];
            if (left >= v.iov_len) {
                left -= v.iov_len;
                ++iov_i_;
            } else {
                v.iov_base = static_cast<uint8_t *>(v.iov_base) + left;
                v.iov_len -= left;
                left = 0;
            }
        }
    }
    iov_n_ = iov_i_ = 0;
    if (paused_) {
        // We were not reading while blocked; give the peer a fresh window
        // before judging it dead (DESIGN.md §7.1), and stop counting the
        // pause in its key's age (§6.2).
        const uint64_t now = util::now_ms();
        clk.last_rx_ms = now;
        held_ms_ += now - held_since_ms_;
        paused_ = false;
    }
    return Step::Progress;
}

void DownPipe::pause() noexcept {
    if (!paused_)
        held_since_ms_ = util::now_ms();
    paused_ = true;
}

uint64_t DownPipe::key_clock_s() const noexcept {
    const uint64_t now = util::now_ms();
    const uint64_t held = held_ms_ + (paused_ ? now - held_since_ms_ : 0);
    return (now - held) / 1000;
}

Step DownPipe::parse(OpenClocks &clk, bool deliver) {
    bool progressed = false;
    while (parse_ < len_ && iov_n_ < static_cast<int>(BufferPool::MAX_IOV)) {
        proto::Record rec;
        proto::RecordError err = proto::RecordError::None;
        const proto::DecodeStatus st =
            opener_->next(buf_.get() + parse_, len_ - parse_, rec, err, key_clock_s());
        if (st == proto::DecodeStatus::NeedMore)
            break;
        if (st == proto::DecodeStatus::Invalid)
            return fail({EndReason::ProtocolError, 0, err});
        parse_ += rec.wire_len;
        progressed = true;
        switch (rec.type) {
        case RecordType::Confirm:
            confirm_ok_ = proto::parse_confirm_body({rec.body, rec.body_len}, confirm_client_);
            confirm_event_ = true;
            return Step::Progress; // decoding resumes once the target is connected
        case RecordType::Data:
            if (!deliver)
                return fail({EndReason::ProtocolError, 0, proto::RecordError::BadOrder});
            iov()[iov_n_].iov_base = rec.body;
            iov()[iov_n_].iov_len = rec.body_len;
            ++iov_n_;
            clk.last_data_ms = util::now_ms();
            break;
        case RecordType::Close: break; // delivered after the data before it
        case RecordType::Reset:
            return fail({EndReason::PeerReset, 0, proto::RecordError::None,
                         static_cast<proto::ResetReason>(rec.body[0])});
        case RecordType::Ping:
            std::memcpy(ping_body_, rec.body, proto::PING_BODY_LEN);
            ping_event_ = true;
            break;
        case RecordType::Pong: break;
        case RecordType::Rekey:
            stats_.rekeys_received.fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    return progressed ? Step::Progress : Step::Blocked;
}

Step DownPipe::read(Endpoint &enc, OpenClocks &clk) {
    if (!enc.readable || eof_)
        return Step::Blocked;
    if (take())
        len_ = parse_ = 0;
    const ssize_t n = ::read(enc.get(), buf_.get() + len_, BufferPool::DATA_SIZE - len_);
    if (n < 0) {
        if (would_block(errno)) {
            enc.readable = false;
            if (len_ == 0)
                idle();
            return Step::Blocked;
        }
        if (errno == EINTR)
            return Step::Progress;
        eof_err_ = errno;
    }
    if (n <= 0) {
        eof_ = true;
        eof_event_ = true;
        fin_seen_ = n == 0;
        return Step::Progress;
    }
    len_ += static_cast<size_t>(n);
    buf_.mark(len_);
    clk.last_rx_ms = util::now_ms();
    return Step::Progress;
}

// After all decoded plaintext is written: deliver a received close as
// shutdown(SHUT_WR), and compact or release the buffer.
void DownPipe::housekeeping(Endpoint &plain, Endpoint &enc, bool deliver) {
    if (deliver && close_received() && !plain_shut_) {
        ::shutdown(plain.get(), SHUT_WR);
        plain_shut_ = true;
        delivered_event_ = true;
    }
    if (!buf_)
        return;
    if (parse_ == len_) {
        parse_ = len_ = 0;
        if (!enc.readable || eof_)
            idle();
    } else if (parse_ > 0) {
        compact();
    }
}

void DownPipe::compact() noexcept {
    std::memmove(buf_.get(), buf_.get() + parse_, len_ - parse_);
    len_ -= parse_;
    parse_ = 0;
}

PipeEnd DownPipe::salvage(Endpoint &plain, Endpoint &enc) {
    plain.writable = false; // deliver nothing more; just look for RESET
    for (int i = 0; i < limits::SALVAGE_READS; ++i) {
        if (parse_ < len_ && opener_ != nullptr) {
            proto::Record rec;
            proto::RecordError err = proto::RecordError::None;
            if (opener_->next(buf_.get() + parse_, len_ - parse_, rec, err, key_clock_s()) ==
                proto::DecodeStatus::Record) {
                parse_ += rec.wire_len;
                if (rec.type == RecordType::Reset)
                    return {EndReason::PeerReset, 0, proto::RecordError::None,
                            static_cast<proto::ResetReason>(rec.body[0])};
                continue;
            }
        }
        if (!enc.readable || eof_)
            break;
        if (buf_ && parse_ > 0)
            compact();
        if (take())
            len_ = parse_ = 0;
        const ssize_t n = ::read(enc.get(), buf_.get() + len_, BufferPool::DATA_SIZE - len_);
        if (n <= 0)
            break;
        len_ += static_cast<size_t>(n);
        buf_.mark(len_);
    }
    return {EndReason::Truncated};
}

} // namespace sealpipe::tunnel
