// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/connection.hpp"
#include "tunnel/worker.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <event2/event.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

using proto::RecordType;
using proto::ResetReason;
using proto::RECORD_BODY_MAX;
using proto::RECORD_BODY_OFFSET;
using proto::RECORD_MAX;
using proto::RECORD_OVERHEAD;

namespace {

// How many read-transform-write rounds one wake-up may do before the
// connection yields to the others (about 1 MiB per direction).
constexpr int MAX_ROUNDS = 16;

constexpr size_t PING_RECORD = RECORD_OVERHEAD + proto::PING_BODY_LEN;

// Keep a Connection alive across a call that may end it; delete it when
// the outermost guarded call returns (DESIGN: finish() never deletes).
struct Guard {
    Connection *c;
    Worker &w;
    int &depth;
    Guard(Connection *conn, Worker &worker, int &d) : c(conn), w(worker), depth(d) { ++depth; }
    ~Guard() {
        if (--depth == 0 && c->state() == Connection::State::Done)
            w.connection_finished(c);
    }
};

const char *reset_reason_text(ResetReason r) {
    switch (r) {
    case ResetReason::PlaintextReset: return "its plaintext side was reset";
    case ResetReason::TargetUnreachable: return "its target is unreachable";
    case ResetReason::Timeout: return "idle or half-close timeout";
    case ResetReason::ProtocolError: return "protocol error";
    case ResetReason::Shutdown: return "it was stopped";
    case ResetReason::Overload: return "overload";
    case ResetReason::HeartbeatTimeout: return "heartbeat timeout (it heard nothing from this side)";
    }
    return "unknown reason";
}

const char *cipher_name(proto::CipherId c) {
    return c == proto::CipherId::Aes256Gcm ? "aes-256-gcm" : "chacha20-poly1305";
}

bool would_block(int err) {
    return err == EAGAIN || err == EWOULDBLOCK;
}

// Fill ${pi} from the plaintext client socket (PROXY protocol, DESIGN.md §4.3).
std::optional<crypto::ProxyInfo> proxy_info_of(int fd) {
    sockaddr_storage peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &pl) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&local), &ll) != 0)
        return std::nullopt;
    crypto::ProxyInfo pi;
    if (peer.ss_family == AF_INET && local.ss_family == AF_INET) {
        const auto *p = reinterpret_cast<const sockaddr_in *>(&peer);
        const auto *l = reinterpret_cast<const sockaddr_in *>(&local);
        pi.family = crypto::ProxyInfo::Family::Inet4;
        std::memcpy(pi.src_addr.data(), &p->sin_addr, 4);
        std::memcpy(pi.dst_addr.data(), &l->sin_addr, 4);
        pi.src_port = ntohs(p->sin_port);
        pi.dst_port = ntohs(l->sin_port);
    } else if (peer.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
        const auto *p = reinterpret_cast<const sockaddr_in6 *>(&peer);
        const auto *l = reinterpret_cast<const sockaddr_in6 *>(&local);
        pi.family = crypto::ProxyInfo::Family::Inet6;
        std::memcpy(pi.src_addr.data(), &p->sin6_addr, 16);
        std::memcpy(pi.dst_addr.data(), &l->sin6_addr, 16);
        pi.src_port = ntohs(p->sin6_port);
        pi.dst_port = ntohs(l->sin6_port);
    } else {
        pi.family = crypto::ProxyInfo::Family::Unknown;
    }
    return pi;
}

// A PROXY protocol v2 header (haproxy's proxy-protocol.txt, section 2.2)
// for ${pi}: TCP over IPv4 or IPv6, or LOCAL when the client's address is
// unknown (a Unix-socket client of -e). Returns its length.
size_t proxy_v2_header(const std::optional<crypto::ProxyInfo> &pi, uint8_t *out) {
    static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    std::memcpy(out, sig, sizeof sig);
    size_t alen = 0;
    if (!pi || pi->family == crypto::ProxyInfo::Family::Unknown) {
        out[12] = 0x20; // version 2, LOCAL
        out[13] = 0x00; // unspecified
    } else {
        out[12] = 0x21; // version 2, PROXY
        const bool v4 = pi->family == crypto::ProxyInfo::Family::Inet4;
        out[13] = v4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
        alen = v4 ? 4 : 16;
        std::memcpy(out + 16, pi->src_addr.data(), alen);
        std::memcpy(out + 16 + alen, pi->dst_addr.data(), alen);
        uint8_t *ports = out + 16 + 2 * alen;
        ports[0] = static_cast<uint8_t>(pi->src_port >> 8);
        ports[1] = static_cast<uint8_t>(pi->src_port);
        ports[2] = static_cast<uint8_t>(pi->dst_port >> 8);
        ports[3] = static_cast<uint8_t>(pi->dst_port);
    }
    const size_t body = alen == 0 ? 0 : 2 * alen + 4;
    out[14] = static_cast<uint8_t>(body >> 8);
    out[15] = static_cast<uint8_t>(body);
    return 16 + body;
}

} // namespace

struct Connection::HandshakeIo {
    std::optional<crypto::Initiator> ini;
    std::optional<crypto::Responder> res;
    uint8_t out[proto::HS_LENGTH_LEN + proto::HS_BODY_MAX];
    size_t out_len = 0, out_off = 0;
    uint8_t in[proto::HS_LENGTH_LEN + proto::HS_BODY_MAX];
    size_t in_len = 0;
    bool got_message = false;
};

// ---------------------------------------------------------------------------
// Life cycle
// ---------------------------------------------------------------------------

Connection::Connection(Worker &worker, uint64_t id, net::UniqueFd accepted, std::string peer)
    : w_(worker), id_(id), role_(worker.cfg().role),
      state_(role_ == Role::Encrypt ? State::ConnectPeer : State::Handshake),
      peer_(std::move(peer)), started_ms_(util::now_ms()), started_us_(util::now_us()) {
    if (role_ == Role::Encrypt)
        plain_fd_ = accepted.release();
    else
        enc_fd_ = accepted.release();
    evtimer_assign(&timer_ev_, w_.base(), &Connection::on_timer, this);
    timer_set_ = true;
    w_.ctx().stats.connections_total.fetch_add(1, std::memory_order_relaxed);
    w_.ctx().stats.connections_open.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() {
    if (plain_ev_set_)
        event_del(&plain_ev_);
    if (enc_ev_set_)
        event_del(&enc_ev_);
    if (timer_set_)
        event_del(&timer_ev_);
    if (plain_fd_ >= 0)
        ::close(plain_fd_);
    if (enc_fd_ >= 0)
        ::close(enc_fd_);
    release_buffers();
}

void Connection::register_fd(struct event &ev, int fd, event_callback_fn cb) {
    event_assign(&ev, w_.base(), fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET, cb, this);
    event_add(&ev, nullptr);
}

void Connection::close_socket(int &fd, struct event &ev, bool &ev_set, bool reset) noexcept {
    if (ev_set) {
        event_del(&ev);
        ev_set = false;
    }
    if (fd < 0)
        return;
    if (reset)
        net::close_with_reset(fd);
    else
        ::close(fd);
    fd = -1;
}

void Connection::start() {
    Guard g(this, w_, depth_);
    try {
        if (role_ == Role::Encrypt) {
            set_phase_deadline(w_.cfg().connect_timeout_ms);
            targets_ = w_.ctx().targets.get();
            begin_connect();
        } else {
            set_phase_deadline(w_.cfg().handshake_timeout_ms);
            keys_ = w_.ctx().keys.get();
            hs_ = std::make_unique<HandshakeIo>();
            crypto::HandshakeOptions opts = w_.cfg().handshake;
            opts.heartbeat_seconds = w_.cfg().heartbeat_s;
            hs_->res.emplace(keys_->pointers(), opts);
            register_fd(enc_ev_, enc_fd_, &Connection::on_enc_event);
            enc_ev_set_ = true;
            enc_readable_ = true;
            handshake_io(EV_READ);
        }
    } catch (const std::bad_alloc &) {
        fail(EndReason::ResourceError, ResetReason::Overload);
    }
}

void Connection::abort(EndReason why, bool linger) {
    Guard g(this, w_, depth_);
    const ResetReason reason = why == EndReason::Shutdown         ? ResetReason::Shutdown
                               : why == EndReason::PlaintextReset ? ResetReason::PlaintextReset
                                                                  : ResetReason::Overload;
    fail(why, reason);
    if (state_ == State::Draining && !linger)
        finish(draining_reason_);
}

void Connection::resume() {
    Guard g(this, w_, depth_);
    if (state_ == State::Open || state_ == State::AwaitConfirm) {
        try {
            pump();
        } catch (const std::bad_alloc &) {
            fail(EndReason::ResourceError, ResetReason::Overload);
        }
    }
}

// ---------------------------------------------------------------------------
// libevent entry points
// ---------------------------------------------------------------------------

void Connection::on_plain_event(evutil_socket_t, short what, void *arg) noexcept {
    auto *c = static_cast<Connection *>(arg);
    Guard g(c, c->w_, c->depth_);
    try {
        if (what & EV_READ)
            c->plain_readable_ = true;
        if (what & EV_WRITE)
            c->plain_writable_ = true;
        if (c->state_ == State::ConnectTarget)
            c->connect_ready();
        else if (c->state_ == State::Open)
            c->pump();
    } catch (const std::bad_alloc &) {
        c->fail(EndReason::ResourceError, ResetReason::Overload);
    }
}

void Connection::on_enc_event(evutil_socket_t, short what, void *arg) noexcept {
    auto *c = static_cast<Connection *>(arg);
    Guard g(c, c->w_, c->depth_);
    try {
        if (what & EV_READ)
            c->enc_readable_ = true;
        if (what & EV_WRITE)
            c->enc_writable_ = true;
        switch (c->state_) {
        case State::ConnectPeer: c->connect_ready(); break;
        case State::Handshake: c->handshake_io(what); break;
        case State::AwaitConfirm:
            if (c->hs_ && !c->handshake_flush())
                break;
            c->pump();
            break;
        case State::Open: c->pump(); break;
        case State::Draining: c->drain_io(); break;
        case State::ConnectTarget:
        case State::Done: break;
        }
    } catch (const std::bad_alloc &) {
        c->fail(EndReason::ResourceError, ResetReason::Overload);
    }
}

void Connection::on_timer(evutil_socket_t, short, void *arg) noexcept {
    auto *c = static_cast<Connection *>(arg);
    Guard g(c, c->w_, c->depth_);
    try {
        c->timer_fired();
    } catch (const std::bad_alloc &) {
        c->fail(EndReason::ResourceError, ResetReason::Overload);
    }
}

// ---------------------------------------------------------------------------
// Connecting: -e connects to the -d side, -d to its target
// ---------------------------------------------------------------------------

void Connection::begin_connect() {
    target_index_ = 0;
    last_connect_errno_ = 0;
    if (!targets_ || targets_->empty()) {
        last_connect_errno_ = EHOSTUNREACH;
        fail(EndReason::ConnectFailed, ResetReason::TargetUnreachable);
        return;
    }
    try_next_address();
}

void Connection::try_next_address() {
    const bool outbound_enc = role_ == Role::Encrypt;
    while (target_index_ < targets_->size()) {
        const net::SockAddr &addr = (*targets_)[target_index_++];
        const net::SockAddr *bind =
            w_.cfg().bind && w_.cfg().bind->family() == addr.family() ? &*w_.cfg().bind : nullptr;
        int err = 0;
        int fd = net::connect_start(addr, bind, err);
        if (fd < 0) {
            last_connect_errno_ = err;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                end_errno_ = err;
                fail(EndReason::ResourceError, ResetReason::Overload);
                return;
            }
            continue;
        }
        net::set_stream_options(fd, w_.cfg().keepalive);
        if (outbound_enc) {
            enc_fd_ = fd;
            register_fd(enc_ev_, fd, &Connection::on_enc_event);
            enc_ev_set_ = true;
        } else {
            plain_fd_ = fd;
            register_fd(plain_ev_, fd, &Connection::on_plain_event);
            plain_ev_set_ = true;
        }
        return;
    }
    end_errno_ = last_connect_errno_;
    fail(EndReason::ConnectFailed, ResetReason::TargetUnreachable);
}

void Connection::connect_ready() {
    const bool outbound_enc = role_ == Role::Encrypt;
    const int fd = outbound_enc ? enc_fd_ : plain_fd_;
    if (fd < 0)
        return;
    const bool writable = outbound_enc ? enc_writable_ : plain_writable_;
    int err = net::socket_error(fd);
    if (err == 0 && !writable)
        return; // not finished yet
    if (err != 0) {
        last_connect_errno_ = err;
        if (outbound_enc) {
            close_socket(enc_fd_, enc_ev_, enc_ev_set_, false);
            enc_readable_ = enc_writable_ = false;
        } else {
            close_socket(plain_fd_, plain_ev_, plain_ev_set_, false);
            plain_readable_ = plain_writable_ = false;
        }
        try_next_address();
        return;
    }
    connected();
}

void Connection::connected() {
    const uint64_t now = util::now_ms();
    if (role_ == Role::Encrypt) {
        // Connected to the -d side: send msg1.
        state_ = State::Handshake;
        set_phase_deadline(w_.cfg().handshake_timeout_ms);
        keys_ = w_.ctx().keys.get();
        if (!keys_ || keys_->keys.empty()) {
            fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
            return;
        }
        hs_ = std::make_unique<HandshakeIo>();
        crypto::HandshakeOptions opts = w_.cfg().handshake;
        opts.heartbeat_seconds = w_.cfg().heartbeat_s;
        opts.proxy = proxy_info_of(plain_fd_);
        hs_->ini.emplace(keys_->keys.front(), opts);
        hs_->out_len = hs_->ini->write_message1(hs_->out);
        handshake_io(EV_WRITE);
        return;
    }
    // -d: the target answered; the tunnel is open.
    state_ = State::Open;
    plain_readable_ = true;
    if (w_.cfg().proxy_protocol) {
        // The header goes out before any data (DESIGN.md §4.3).
        iov_[0].iov_base = proxy_hdr_;
        iov_[0].iov_len = proxy_v2_header(proxy_, proxy_hdr_);
        iov_n_ = 1;
        iov_i_ = 0;
    }
    last_rx_ms_ = last_tx_ms_ = last_data_ms_ = now;
    rearm_timer();
    log_debug("conn %llu %s: open, %s, %s", static_cast<unsigned long long>(id_), peer_.c_str(),
              cipher_name(cipher_), forward_secret_ ? "forward secret" : "no forward secrecy (-f)");
    pump();
}

// ---------------------------------------------------------------------------
// Handshake (DESIGN.md §3)
// ---------------------------------------------------------------------------

bool Connection::handshake_flush() {
    while (hs_ && hs_->out_off < hs_->out_len) {
        if (!enc_writable_)
            return false;
        ssize_t n = ::send(enc_fd_, hs_->out + hs_->out_off, hs_->out_len - hs_->out_off,
                           MSG_NOSIGNAL);
        if (n < 0) {
            if (would_block(errno)) {
                enc_writable_ = false;
                return false;
            }
            if (errno == EINTR)
                continue;
            end_errno_ = errno;
            if (retry_handshake())
                return false;
            fail(role_ == Role::Encrypt ? EndReason::HandshakeFailed : EndReason::Truncated,
                 ResetReason::ProtocolError);
            return false;
        }
        hs_->out_off += static_cast<size_t>(n);
        last_tx_ms_ = util::now_ms();
    }
    if (hs_ && state_ == State::AwaitConfirm) {
        hs_.reset(); // msg2 is out; the handshake buffers are no longer needed
        keys_.reset();
    }
    return true;
}

// Read exactly one handshake message into hs_->in. Returns true once it is
// complete; false if more bytes are needed (or the connection failed).
bool Connection::handshake_read(size_t &body_len) {
    const size_t min_body =
        role_ == Role::Encrypt ? proto::MSG2_BODY_MIN : proto::MSG1_BODY_MIN;
    while (true) {
        size_t want = proto::HS_LENGTH_LEN;
        if (hs_->in_len >= proto::HS_LENGTH_LEN) {
            body_len = static_cast<size_t>(hs_->in[0]) << 8 | hs_->in[1];
            if (body_len < min_body || body_len > proto::HS_BODY_MAX) {
                hs_error_ = crypto::HandshakeError::Malformed;
                fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
                return false;
            }
            want = proto::HS_LENGTH_LEN + body_len;
        }
        if (hs_->in_len == want && want > proto::HS_LENGTH_LEN)
            return true;
        if (!enc_readable_)
            return false;
        ssize_t n = ::read(enc_fd_, hs_->in + hs_->in_len, want - hs_->in_len);
        if (n < 0) {
            if (would_block(errno)) {
                enc_readable_ = false;
                return false;
            }
            if (errno == EINTR)
                continue;
            end_errno_ = errno;
            if (retry_handshake())
                return false;
            hs_error_ = crypto::HandshakeError::AuthFailed;
            fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
            return false;
        }
        if (n == 0) {
            if (retry_handshake())
                return false;
            // The peer closed mid-handshake. For the initiator this is what
            // a wrong key looks like: the responder stays silent and closes.
            hs_error_ = crypto::HandshakeError::AuthFailed;
            end_errno_ = 0;
            fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
            return false;
        }
        hs_->in_len += static_cast<size_t>(n);
        last_rx_ms_ = util::now_ms();
    }
}

// -e only: the -d side closed or reset the connection before sending a
// single byte of msg2. That is what a wrong key looks like, but also what a
// -d under a handshake flood does to a handshake it evicted before msg1
// arrived, or a -d that was restarting (DESIGN.md §3.8). Nothing has been
// read from the plaintext client yet and the -d has not connected to its
// target, so a second handshake on a new connection, with a new ephemeral
// key, can deliver nothing twice. One retry, within the -o deadline the
// handshake already has; a second failure is reported as usual.
bool Connection::retry_handshake() {
    if (role_ != Role::Encrypt || state_ != State::Handshake || !hs_ || hs_->in_len != 0 ||
        handshake_retries_left_ == 0)
        return false;
    --handshake_retries_left_;
    const int err = end_errno_;
    close_socket(enc_fd_, enc_ev_, enc_ev_set_, true);
    enc_readable_ = enc_writable_ = false;
    hs_.reset();
    keys_.reset();
    end_errno_ = 0;
    state_ = State::ConnectPeer;
    w_.ctx().stats.handshake_retries.fetch_add(1, std::memory_order_relaxed);
    log_debug("conn %llu %s: the peer closed before answering the handshake (%s); retrying once",
              static_cast<unsigned long long>(id_), peer_.c_str(),
              err != 0 ? util::errno_string(err).c_str() : "end of stream");
    if (!targets_)
        targets_ = w_.ctx().targets.get();
    begin_connect();
    return true;
}

void Connection::handshake_io(short) {
    if (!hs_ || !handshake_flush() || state_ != State::Handshake)
        return;
    size_t body_len = 0;
    if (!handshake_read(body_len))
        return;
    if (role_ == Role::Encrypt)
        initiator_got_msg2();
    else
        responder_got_msg1();
}

void Connection::start_open_directions(crypto::HandshakeResult &r) {
    const uint64_t now = util::now_ms();
    writer_ = proto::RecordWriter(std::move(r.send), now / 1000);
    reader_ = proto::RecordReader(std::move(r.recv), role_ == Role::Decrypt);
    cipher_ = r.cipher;
    forward_secret_ = r.forward_secret;
    heartbeat_ms_ = static_cast<uint64_t>(r.heartbeat_seconds) * 1000;
    auto &st = w_.ctx().stats;
    (cipher_ == proto::CipherId::Aes256Gcm ? st.ciphers_aes : st.ciphers_chacha)
        .fetch_add(1, std::memory_order_relaxed);
}

void Connection::initiator_got_msg2() {
    crypto::HandshakeResult result;
    hs_error_ = hs_->ini->read_message2(
        std::span<const uint8_t>(hs_->in + proto::HS_LENGTH_LEN, hs_->in_len - proto::HS_LENGTH_LEN),
        result);
    if (hs_error_ != crypto::HandshakeError::None) {
        fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
        return;
    }
    start_open_directions(result);
    hs_.reset();
    keys_.reset();
    w_.ctx().stats.record_handshake(util::now_us() - started_us_);
    w_.handshake_done(this);

    // The tunnel is up: CONFIRM goes first (DESIGN.md §3.6), with whatever
    // plaintext the client has already sent.
    state_ = State::Open;
    confirm_pending_ = true;
    register_fd(plain_ev_, plain_fd_, &Connection::on_plain_event);
    plain_ev_set_ = true;
    plain_readable_ = plain_writable_ = true;
    last_rx_ms_ = last_tx_ms_ = last_data_ms_ = util::now_ms();
    rearm_timer();
    log_debug("conn %llu %s: open, %s, %s", static_cast<unsigned long long>(id_), peer_.c_str(),
              cipher_name(cipher_), forward_secret_ ? "forward secret" : "no forward secrecy (-f)");
    pump();
}

void Connection::responder_got_msg1() {
    // DESIGN.md §3.4: authenticate (no X25519 so far), then the replay
    // cache, then the -n limit, and only then the DH and msg2.
    hs_error_ = hs_->res->read_message1(
        std::span<const uint8_t>(hs_->in + proto::HS_LENGTH_LEN, hs_->in_len - proto::HS_LENGTH_LEN));
    if (hs_error_ != crypto::HandshakeError::None) {
        fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
        return;
    }
    if (!w_.ctx().replay.insert(hs_->res->initiator_ephemeral(), util::now_ms())) {
        fail(EndReason::Replay, ResetReason::ProtocolError);
        return;
    }
    if (!w_.connection_authenticated(this)) {
        fail(EndReason::ConnectionLimit, ResetReason::Overload);
        return;
    }
    w_.handshake_done(this);
    crypto::HandshakeResult result;
    size_t written = 0;
    hs_error_ = hs_->res->write_message2(hs_->out, written, result);
    if (hs_error_ != crypto::HandshakeError::None) {
        fail(EndReason::HandshakeFailed, ResetReason::ProtocolError);
        return;
    }
    hs_->out_len = written;
    hs_->out_off = 0;
    proxy_ = result.proxy;
    start_open_directions(result);
    state_ = State::AwaitConfirm; // the -o deadline from accept still runs
    if (!handshake_flush())
        return;
    pump(); // CONFIRM may already be here
}

void Connection::confirmed() {
    // DESIGN.md §3.6: only now does the target see a connection.
    w_.ctx().stats.record_handshake(util::now_us() - started_us_);
    state_ = State::ConnectTarget;
    set_phase_deadline(w_.cfg().connect_timeout_ms);
    targets_ = w_.ctx().targets.get();
    begin_connect();
}

// ---------------------------------------------------------------------------
// Data path (DESIGN.md §5)
// ---------------------------------------------------------------------------

void Connection::pump() {
    for (int round = 0; round < MAX_ROUNDS; ++round) {
        bool progress = pump_down();
        if (state_ == State::Done || state_ == State::Draining)
            return;
        progress = pump_up() || progress;
        if (state_ == State::Done || state_ == State::Draining)
            return;
        if (!progress) {
            w_.cancel_defer(this);
            return;
        }
    }
    w_.defer(this);
}

bool Connection::pump_up() {
    if (state_ != State::Open)
        return false;
    if (up_start_ < up_end_)
        return flush_up();
    return produce_up();
}

bool Connection::flush_up() {
    while (up_start_ < up_end_) {
        if (!enc_writable_)
            return false;
        ssize_t n = ::send(enc_fd_, up_buf_ + up_start_, up_end_ - up_start_, MSG_NOSIGNAL);
        if (n < 0) {
            if (would_block(errno)) {
                enc_writable_ = false;
                return false;
            }
            if (errno == EINTR)
                continue;
            end_errno_ = errno;
            enc_write_failed_ = true;
            salvage_after_write_error();
            return true;
        }
        up_start_ += static_cast<size_t>(n);
        last_tx_ms_ = util::now_ms();
    }
    up_start_ = up_end_ = 0;
    if (close_in_batch_) {
        close_in_batch_ = false;
        close_sent_ = true;
        maybe_finish_clean();
        if (state_ != State::Open)
            return true;
    }
    if (!plain_readable_ || up_eof_) {
        w_.pool().put(up_buf_);
        up_buf_ = nullptr;
    }
    return true;
}

bool Connection::produce_up() {
    const bool can_read = plain_readable_ && !up_eof_;
    if (!can_read && !confirm_pending_ && !pong_pending_ && !ping_due_) {
        if (up_buf_ != nullptr) {
            w_.pool().put(up_buf_);
            up_buf_ = nullptr;
        }
        return false;
    }
    ensure_up_buffer();
    uint8_t *const buf = up_buf_;
    constexpr size_t HEAD = BufferPool::HEAD;

    // 1. Read plaintext straight into the record slots (one readv).
    size_t data_len = 0;
    bool eof_now = false;
    if (can_read) {
        struct iovec iv[BufferPool::SLOTS];
        for (size_t i = 0; i < BufferPool::SLOTS; ++i) {
            iv[i].iov_base = buf + HEAD + i * RECORD_MAX + RECORD_BODY_OFFSET;
            iv[i].iov_len = RECORD_BODY_MAX;
        }
        ssize_t n = ::readv(plain_fd_, iv, BufferPool::SLOTS);
        if (n < 0) {
            if (would_block(errno)) {
                plain_readable_ = false;
            } else if (errno != EINTR) {
                end_errno_ = errno;
                fail(EndReason::PlaintextReset, ResetReason::PlaintextReset);
                return true;
            }
        } else if (n == 0) {
            up_eof_ = true;
            eof_now = true;
        } else {
            data_len = static_cast<size_t>(n);
        }
    }

    // 2. Control records, right-aligned in HEAD, in this order: CONFIRM
    // (must be first), REKEY (applies to all that follows), PONG, PING.
    const uint64_t now = util::now_ms();
    const bool rekey = (data_len > 0 || eof_now || confirm_pending_ || pong_pending_ || ping_due_) &&
                       writer_.rekey_due(now / 1000);
    size_t ctl = 0;
    if (confirm_pending_)
        ctl += RECORD_OVERHEAD;
    if (rekey)
        ctl += RECORD_OVERHEAD;
    if (pong_pending_)
        ctl += PING_RECORD;
    if (ping_due_)
        ctl += PING_RECORD;
    if (ctl == 0 && data_len == 0 && !eof_now) {
        if (!plain_readable_) {
            w_.pool().put(up_buf_);
            up_buf_ = nullptr;
        }
        return false;
    }

    uint8_t *p = buf + HEAD - ctl;
    bool ok = true;
    if (confirm_pending_) {
        size_t n = writer_.seal(RecordType::Confirm, p, 0);
        ok = ok && n != 0;
        p += n;
        confirm_pending_ = false;
    }
    if (rekey && ok) {
        size_t n = writer_.seal_rekey(p, now / 1000);
        ok = n != 0;
        p += n;
    }
    if (pong_pending_ && ok) {
        std::memcpy(p + RECORD_BODY_OFFSET, pong_body_, proto::PING_BODY_LEN);
        size_t n = writer_.seal(RecordType::Pong, p, proto::PING_BODY_LEN);
        ok = n != 0;
        p += n;
        pong_pending_ = false;
    }
    if (ping_due_ && ok) {
        const uint64_t t = util::now_us();
        for (size_t i = 0; i < proto::PING_BODY_LEN; ++i)
            p[RECORD_BODY_OFFSET + i] = static_cast<uint8_t>(t >> (56 - 8 * i));
        size_t n = writer_.seal(RecordType::Ping, p, proto::PING_BODY_LEN);
        ok = n != 0;
        p += n;
        ping_due_ = false;
    }

    // 3. Seal the data in place. Full slots are exactly RECORD_MAX long, so
    // the records are contiguous; only the last one can be shorter.
    size_t off = HEAD;
    size_t left = data_len;
    while (left > 0 && ok) {
        const size_t chunk = std::min(left, RECORD_BODY_MAX);
        size_t n = writer_.seal(RecordType::Data, buf + off, chunk);
        ok = n != 0;
        off += n;
        left -= chunk;
    }
    if (eof_now && ok) {
        // DESIGN.md §5.4: plaintext EOF becomes an authenticated CLOSE.
        size_t n = writer_.seal(RecordType::Close, buf + off, 0);
        ok = n != 0;
        off += n;
        close_queued_ = true;
        close_in_batch_ = true;
        if (!reader_.close_received()) {
            half_close_start_ms_ = now;
            rearm_timer(); // the half-close timeout may be the nearest deadline
        }
    }
    if (!ok) {
        // DESIGN.md §6.1: the nonce limit. Unreachable in practice.
        log_error("conn %llu %s: nonce limit reached", static_cast<unsigned long long>(id_),
                  peer_.c_str());
        fail(EndReason::ProtocolError, ResetReason::ProtocolError);
        return true;
    }
    up_start_ = HEAD - ctl;
    up_end_ = off;
    if (data_len > 0) {
        bytes_in_ += data_len;
        w_.ctx().stats.bytes_in.fetch_add(data_len, std::memory_order_relaxed);
        last_data_ms_ = now;
    }
    return true;
}

bool Connection::down_blocked() const noexcept {
    return iov_n_ > iov_i_ && !plain_writable_;
}

bool Connection::pump_down() {
    if (state_ != State::Open && state_ != State::AwaitConfirm)
        return false;
    if (iov_n_ > iov_i_)
        return flush_down();
    if (down_parse_ < down_end_ && parse_down())
        return true;
    if (state_ != State::Open && state_ != State::AwaitConfirm)
        return true;
    return read_down();
}

bool Connection::flush_down() {
    while (iov_i_ < iov_n_) {
        if (!plain_writable_) {
            if (rx_paused_since_ms_ == 0)
                rx_paused_since_ms_ = util::now_ms();
            return false;
        }
        struct msghdr m {};
        m.msg_iov = iov_ + iov_i_;
        m.msg_iovlen = static_cast<size_t>(iov_n_ - iov_i_);
        ssize_t n = ::sendmsg(plain_fd_, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (would_block(errno)) {
                plain_writable_ = false;
                if (rx_paused_since_ms_ == 0)
                    rx_paused_since_ms_ = util::now_ms();
                return false;
            }
            if (errno == EINTR)
                continue;
            end_errno_ = errno;
            fail(EndReason::PlaintextReset, ResetReason::PlaintextReset);
            return true;
        }
        size_t left = static_cast<size_t>(n);
        bytes_out_ += left;
        w_.ctx().stats.bytes_out.fetch_add(left, std::memory_order_relaxed);
        while (left > 0 && iov_i_ < iov_n_) {
            if (left >= iov_[iov_i_].iov_len) {
                left -= iov_[iov_i_].iov_len;
                ++iov_i_;
            } else {
                iov_[iov_i_].iov_base = static_cast<uint8_t *>(iov_[iov_i_].iov_base) + left;
                iov_[iov_i_].iov_len -= left;
                left = 0;
            }
        }
    }
    iov_n_ = iov_i_ = 0;
    if (rx_paused_since_ms_ != 0) {
        // We were not reading while blocked; give the peer a fresh window
        // before judging it dead (DESIGN.md §7.1).
        last_rx_ms_ = util::now_ms();
        rx_paused_since_ms_ = 0;
    }
    down_housekeeping();
    return true;
}

// After all parsed plaintext is written: deliver a received CLOSE as
// shutdown(SHUT_WR), and compact or release the buffer.
void Connection::down_housekeeping() {
    if (reader_.close_received() && !plain_shut_ && state_ == State::Open) {
        ::shutdown(plain_fd_, SHUT_WR);
        plain_shut_ = true;
        if (!close_queued_) {
            half_close_start_ms_ = util::now_ms();
            rearm_timer();
        }
        maybe_finish_clean();
        if (state_ != State::Open)
            return;
    }
    if (down_buf_ == nullptr)
        return;
    if (down_parse_ == down_end_) {
        down_parse_ = down_end_ = 0;
        if (!enc_readable_ || enc_eof_) {
            w_.pool().put(down_buf_);
            down_buf_ = nullptr;
        }
    } else if (down_parse_ > 0) {
        std::memmove(down_buf_, down_buf_ + down_parse_, down_end_ - down_parse_);
        down_end_ -= down_parse_;
        down_parse_ = 0;
    }
}

bool Connection::parse_down() {
    bool progressed = false;
    while (down_parse_ < down_end_ && iov_n_ < MAX_IOV &&
           (state_ == State::Open || state_ == State::AwaitConfirm)) {
        proto::Record rec;
        proto::RecordError err = proto::RecordError::None;
        const proto::DecodeStatus st =
            reader_.next(down_buf_ + down_parse_, down_end_ - down_parse_, rec, err);
        if (st == proto::DecodeStatus::NeedMore)
            break;
        if (st == proto::DecodeStatus::Invalid) {
            record_error_ = err;
            fail(EndReason::ProtocolError, ResetReason::ProtocolError);
            return true;
        }
        down_parse_ += rec.wire_len;
        progressed = true;
        switch (rec.type) {
        case RecordType::Confirm:
            confirmed();
            return true; // parsing resumes once the target is connected
        case RecordType::Data:
            if (state_ != State::Open) {
                record_error_ = proto::RecordError::BadOrder;
                fail(EndReason::ProtocolError, ResetReason::ProtocolError);
                return true;
            }
            iov_[iov_n_].iov_base = rec.body;
            iov_[iov_n_].iov_len = rec.body_len;
            ++iov_n_;
            last_data_ms_ = util::now_ms();
            break;
        case RecordType::Close: break; // delivered after the data before it
        case RecordType::Reset:
            peer_reset_reason_ = static_cast<ResetReason>(rec.body[0]);
            fail(EndReason::PeerReset, ResetReason::PlaintextReset);
            return true;
        case RecordType::Ping:
            std::memcpy(pong_body_, rec.body, proto::PING_BODY_LEN);
            pong_pending_ = true; // only the latest is kept
            break;
        case RecordType::Pong:
        case RecordType::Rekey: break;
        }
    }
    if (iov_n_ == 0)
        down_housekeeping();
    return progressed;
}

bool Connection::read_down() {
    if (!enc_readable_ || enc_eof_)
        return false;
    ensure_down_buffer();
    const size_t space = BufferPool::SIZE - down_end_;
    ssize_t n = ::read(enc_fd_, down_buf_ + down_end_, space);
    if (n < 0) {
        if (would_block(errno)) {
            enc_readable_ = false;
            if (down_end_ == 0) {
                w_.pool().put(down_buf_);
                down_buf_ = nullptr;
            }
            return false;
        }
        if (errno == EINTR)
            return true;
        end_errno_ = errno;
        enc_eof_ = true;
        enc_closed();
        return true;
    }
    if (n == 0) {
        enc_eof_ = true;
        enc_closed();
        return true;
    }
    down_end_ += static_cast<size_t>(n);
    last_rx_ms_ = util::now_ms();
    return true;
}

// EOF or an error on the encrypted socket while Open or AwaitConfirm.
void Connection::enc_closed() {
    // DESIGN.md §5.4: only after both CLOSEs is this the normal end; any
    // earlier is truncation, and the plaintext side must see a reset.
    if (!(reader_.close_received() && close_sent_) || down_parse_ < down_end_) {
        fail(EndReason::Truncated, ResetReason::ProtocolError);
        return;
    }
    if (iov_n_ > iov_i_)
        return; // deliver what is left; maybe_finish_clean() runs after
    maybe_finish_clean();
}

// Our write to the encrypted socket failed: the peer has gone. It may have
// said why (a RESET) before going, so read what is already here before
// calling it truncation.
void Connection::salvage_after_write_error() {
    plain_writable_ = false; // deliver nothing more; just look for RESET
    for (int i = 0; i < 8 && state_ != State::Done; ++i) {
        if (down_parse_ < down_end_) {
            proto::Record rec;
            proto::RecordError err = proto::RecordError::None;
            if (reader_.next(down_buf_ + down_parse_, down_end_ - down_parse_, rec, err) ==
                proto::DecodeStatus::Record) {
                down_parse_ += rec.wire_len;
                if (rec.type == RecordType::Reset) {
                    peer_reset_reason_ = static_cast<ResetReason>(rec.body[0]);
                    fail(EndReason::PeerReset, ResetReason::PlaintextReset);
                    return;
                }
                continue;
            }
        }
        if (!enc_readable_ || enc_eof_)
            break;
        if (down_buf_ != nullptr && down_parse_ > 0) {
            std::memmove(down_buf_, down_buf_ + down_parse_, down_end_ - down_parse_);
            down_end_ -= down_parse_;
            down_parse_ = 0;
        }
        ensure_down_buffer();
        ssize_t n = ::read(enc_fd_, down_buf_ + down_end_, BufferPool::SIZE - down_end_);
        if (n <= 0)
            break;
        down_end_ += static_cast<size_t>(n);
    }
    if (state_ != State::Done)
        fail(EndReason::Truncated, ResetReason::ProtocolError);
}

void Connection::maybe_finish_clean() {
    if (state_ != State::Open || !close_sent_ || !reader_.close_received() || !plain_shut_ ||
        iov_n_ > iov_i_)
        return;
    // Both directions are closed and delivered.
    close_socket(plain_fd_, plain_ev_, plain_ev_set_, false);
    w_.pool().put(down_buf_);
    down_buf_ = nullptr;
    if (enc_eof_) {
        finish(EndReason::Clean);
        return;
    }
    start_draining(EndReason::Clean, w_.cfg().drain_timeout_ms);
}

// Lingering close, for clean ends and for aborts that sent a RESET: send
// what is pending, then our FIN, then discard input until the peer closes
// (bounded). Closing at once with unread input would make the kernel send
// an RST, which can destroy the CLOSE or RESET the peer has not read yet.
void Connection::start_draining(EndReason why, uint64_t timeout_ms) {
    state_ = State::Draining;
    draining_reason_ = why;
    drain_shut_ = false;
    set_phase_deadline(timeout_ms);
    drain_io();
}

void Connection::drain_io() {
    while (up_start_ < up_end_) {
        ssize_t n = ::send(enc_fd_, up_buf_ + up_start_, up_end_ - up_start_, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && would_block(errno))
            return; // wait for EV_WRITE
        if (n <= 0) {
            finish(draining_reason_);
            return;
        }
        up_start_ += static_cast<size_t>(n);
    }
    w_.pool().put(up_buf_);
    up_buf_ = nullptr;
    up_start_ = up_end_ = 0;
    if (!drain_shut_) {
        ::shutdown(enc_fd_, SHUT_WR);
        drain_shut_ = true;
    }
    uint8_t scratch[4096];
    while (true) {
        ssize_t n = ::read(enc_fd_, scratch, sizeof scratch);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && would_block(errno))
            return;
        finish(draining_reason_); // EOF or error: the peer is done too
        return;
    }
}

// ---------------------------------------------------------------------------
// Ends
// ---------------------------------------------------------------------------

void Connection::fail(EndReason why, ResetReason reason) {
    if (state_ == State::Done || state_ == State::Draining)
        return;
    // The plaintext side learns of the abort at once, as a reset.
    if (plain_fd_ >= 0)
        close_socket(plain_fd_, plain_ev_, plain_ev_set_, true);
    // Tell the peer with a RESET if there is a session and the encrypted
    // socket still works (not after a truncation, a protocol error or the
    // peer's own RESET, and not to a peer presumed dead). The RESET goes
    // after whatever is already sealed, so the nonces stay in order.
    const bool have_session = writer_.cipher_state().valid() &&
                              (state_ == State::Open || state_ == State::ConnectTarget ||
                               state_ == State::AwaitConfirm);
    const bool tell_peer = have_session && enc_fd_ >= 0 && why != EndReason::PeerReset &&
                           why != EndReason::Truncated && why != EndReason::ProtocolError &&
                           why != EndReason::HeartbeatTimeout;
    if (tell_peer) {
        try {
            ensure_up_buffer();
            if (up_start_ == up_end_)
                up_start_ = up_end_ = BufferPool::HEAD;
            if (up_end_ + RECORD_OVERHEAD + 1 <= BufferPool::SIZE) {
                up_buf_[up_end_ + RECORD_BODY_OFFSET] = static_cast<uint8_t>(reason);
                up_end_ += writer_.seal(RecordType::Reset, up_buf_ + up_end_, 1);
            }
            w_.pool().put(down_buf_);
            down_buf_ = nullptr;
            iov_n_ = iov_i_ = 0;
            start_draining(why, std::min<uint64_t>(w_.cfg().drain_timeout_ms, 2000));
            return;
        } catch (const std::bad_alloc &) {
        }
    }
    // An unauthenticated peer always gets the same reset (DESIGN.md §3.7).
    if (enc_fd_ >= 0)
        close_socket(enc_fd_, enc_ev_, enc_ev_set_, !have_session);
    finish(why);
}

void Connection::finish(EndReason why) {
    if (state_ == State::Done)
        return;
    const State was = state_;
    state_ = State::Done;
    end_ = why;
    close_socket(plain_fd_, plain_ev_, plain_ev_set_, false);
    close_socket(enc_fd_, enc_ev_, enc_ev_set_, false);
    if (timer_set_)
        event_del(&timer_ev_);
    release_buffers();
    hs_.reset();
    keys_.reset();
    w_.cancel_defer(this);
    w_.handshake_done(this);
    if (counted_established_) {
        w_.ctx().release_slot();
        counted_established_ = false;
    }
    auto &st = w_.ctx().stats;
    st.connections_open.fetch_sub(1, std::memory_order_relaxed);
    st.ended[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    (void)was;
    log_end();
    if (w_.on_connection_end)
        w_.on_connection_end(*this);
}

std::string Connection::end_detail() const {
    if (!end_)
        return "";
    std::string detail;
    switch (*end_) {
    case EndReason::HandshakeFailed: detail = crypto::to_string(hs_error_); break;
    case EndReason::ProtocolError:
        detail = record_error_ != proto::RecordError::None ? proto::to_string(record_error_)
                                                           : "protocol error";
        break;
    case EndReason::PeerReset:
        detail = std::string("peer aborted: ") + reset_reason_text(peer_reset_reason_);
        break;
    case EndReason::ConnectFailed:
        detail = (role_ == Role::Encrypt ? "cannot reach the -d side: " : "cannot reach the target: ") +
                 util::errno_string(end_errno_ != 0 ? end_errno_ : EHOSTUNREACH);
        break;
    case EndReason::Truncated:
        detail = "encrypted connection ended without CLOSE";
        if (end_errno_ != 0)
            detail += " (" + util::errno_string(end_errno_) + ")";
        break;
    case EndReason::PlaintextReset:
        detail = role_ == Role::Encrypt ? "client connection reset" : "target connection reset";
        if (end_errno_ != 0)
            detail += " (" + util::errno_string(end_errno_) + ")";
        break;
    case EndReason::ResourceError:
        detail = end_errno_ != 0 ? util::errno_string(end_errno_) : "out of memory";
        break;
    default: break;
    }
    return detail;
}

void Connection::log_end() {
    const uint64_t now = util::now_ms();
    const double secs = static_cast<double>(now - started_ms_) / 1000.0;
    const EndReason why = *end_;
    const std::string detail = end_detail();

    // Lines about peers that never authenticated are rate-limited (a flood
    // must not fill the log); everything else is one line per connection.
    const bool unauthenticated = role_ == Role::Decrypt && !writer_.cipher_state().valid() &&
                                 !counted_established_;
    util::LogLevel level = util::LogLevel::Info;
    if (why != EndReason::Clean && why != EndReason::PeerReset && why != EndReason::PlaintextReset)
        level = util::LogLevel::Warning;
    if (unauthenticated || why == EndReason::Replay) {
        uint64_t suppressed = 0;
        if (!util::log_enabled(level) || !w_.allow_auth_log(now, suppressed))
            return;
        if (suppressed > 0)
            util::log_msg(level, "%llu more unauthenticated connection failures not logged",
                          static_cast<unsigned long long>(suppressed));
    }
    if (!util::log_enabled(level))
        return;
    util::log_msg(level, "conn %llu %s: %s%s%s, %llu B in, %llu B out, %.3f s",
                  static_cast<unsigned long long>(id_), peer_.c_str(), to_string(why),
                  detail.empty() ? "" : ": ", detail.c_str(),
                  static_cast<unsigned long long>(bytes_in_),
                  static_cast<unsigned long long>(bytes_out_), secs);
}

// ---------------------------------------------------------------------------
// Timers (DESIGN.md §7)
// ---------------------------------------------------------------------------

void Connection::set_phase_deadline(uint64_t ms_from_now) {
    phase_deadline_ms_ = util::now_ms() + ms_from_now;
    rearm_timer();
}

void Connection::rearm_timer() {
    if (state_ == State::Done)
        return;
    const uint64_t now = util::now_ms();
    uint64_t deadline = UINT64_MAX;
    if (state_ == State::Open) {
        const auto &cfg = w_.cfg();
        if (heartbeat_ms_ > 0) {
            deadline = std::min(deadline, last_tx_ms_ + heartbeat_ms_);
            if (!down_blocked())
                deadline = std::min(deadline, last_rx_ms_ + proto::HEARTBEAT_DEAD_AFTER * heartbeat_ms_);
        }
        if (cfg.idle_timeout_ms > 0)
            deadline = std::min(deadline, last_data_ms_ + cfg.idle_timeout_ms);
        if (cfg.half_close_timeout_ms > 0 && half_close_start_ms_ != 0)
            deadline = std::min(deadline, std::max(half_close_start_ms_, last_data_ms_) +
                                              cfg.half_close_timeout_ms);
    } else {
        deadline = phase_deadline_ms_;
    }
    if (deadline == UINT64_MAX) {
        event_del(&timer_ev_);
        return;
    }
    // COARSE clock ticks are a few ms: wake a little late rather than early.
    const uint64_t wait = deadline > now ? deadline - now + 5 : 1;
    const auto tv = util::timeval_ms(wait);
    evtimer_add(&timer_ev_, &tv);
}

void Connection::timer_fired() {
    const uint64_t now = util::now_ms();
    switch (state_) {
    case State::ConnectPeer:
    case State::ConnectTarget:
        if (now >= phase_deadline_ms_) {
            end_errno_ = ETIMEDOUT;
            fail(EndReason::ConnectTimeout, ResetReason::TargetUnreachable);
            return;
        }
        break;
    case State::Handshake:
    case State::AwaitConfirm:
        if (now >= phase_deadline_ms_) {
            fail(EndReason::HandshakeTimeout, ResetReason::Timeout);
            return;
        }
        break;
    case State::Draining:
        if (now >= phase_deadline_ms_) {
            finish(draining_reason_);
            return;
        }
        break;
    case State::Open: {
        const auto &cfg = w_.cfg();
        if (heartbeat_ms_ > 0) {
            if (!down_blocked() && now - last_rx_ms_ >= proto::HEARTBEAT_DEAD_AFTER * heartbeat_ms_) {
                fail(EndReason::HeartbeatTimeout, ResetReason::HeartbeatTimeout);
                return;
            }
            if (now - last_tx_ms_ >= heartbeat_ms_ && up_start_ == up_end_) {
                ping_due_ = true;
                pump();
                if (state_ != State::Open)
                    return;
                if (ping_due_) // could not be sent yet; count from now
                    last_tx_ms_ = now;
            }
        }
        if (cfg.idle_timeout_ms > 0 && now - last_data_ms_ >= cfg.idle_timeout_ms) {
            fail(EndReason::IdleTimeout, ResetReason::Timeout);
            return;
        }
        if (cfg.half_close_timeout_ms > 0 && half_close_start_ms_ != 0 &&
            now - std::max(half_close_start_ms_, last_data_ms_) >= cfg.half_close_timeout_ms) {
            fail(EndReason::HalfCloseTimeout, ResetReason::Timeout);
            return;
        }
        break;
    }
    case State::Done: return;
    }
    rearm_timer();
}

// ---------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------

void Connection::ensure_up_buffer() {
    if (up_buf_ == nullptr) {
        up_buf_ = w_.pool().get();
        up_start_ = up_end_ = 0;
    }
}

void Connection::ensure_down_buffer() {
    if (down_buf_ == nullptr) {
        down_buf_ = w_.pool().get();
        down_end_ = down_parse_ = 0;
    }
}

void Connection::release_buffers() noexcept {
    w_.pool().put(up_buf_);
    up_buf_ = nullptr;
    w_.pool().put(down_buf_);
    down_buf_ = nullptr;
    iov_n_ = iov_i_ = 0;
}

} // namespace sealpipe::tunnel
