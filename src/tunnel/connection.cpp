// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/connection.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <new>

namespace sealpipe::tunnel {

// ---------------------------------------------------------------------------
// Life cycle
// ---------------------------------------------------------------------------

Connection::Connection(ConnectionEnv &env, uint64_t id, net::UniqueFd accepted, std::string peer,
                       SlotLease slot)
    : env_(env), id_(id), role_(env.cfg.role),
      state_(role_ == Role::Encrypt ? State::ConnectPeer : State::Handshake),
      peer_(std::move(peer)), slot_(std::move(slot)), up_(env.pool, env.stats),
      down_(env.pool, env.stats), started_ms_(util::now_ms()), started_us_(util::now_us()) {
    (role_ == Role::Encrypt ? plain_ : enc_).fd = std::move(accepted);
    timer_.timer(env_.base, &Connection::on_timer, this);
    report_.id = id_;
    report_.role = role_;
    env_.stats.connections_total.fetch_add(1, std::memory_order_relaxed);
    env_.stats.connections_open.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() = default;

// Keep the connection alive across a call that may end it; the owner reaps
// it when the outermost guarded call returns (finish() never deletes).
template <typename Fn> void Connection::guarded(void *arg, Fn fn) noexcept {
    auto *c = static_cast<Connection *>(arg);
    ++c->depth_;
    try {
        fn(*c);
    } catch (const std::bad_alloc &) {
        c->fail(EndReason::ResourceError);
    }
    if (--c->depth_ == 0 && c->state_ == State::Done)
        c->env_.owner.reap(*c);
}

void Connection::start() {
    guarded(this, [](Connection &c) {
        if (c.role_ == Role::Encrypt)
            c.enter_connect_peer(false);
        else
            c.enter_handshake();
    });
}

void Connection::abort(EndReason why, bool linger) {
    guarded(this, [why, linger](Connection &c) {
        c.fail(why);
        if (c.state_ == State::Draining && !linger)
            c.finish(c.linger_.reason());
    });
}

void Connection::evict() noexcept {
    abort(EndReason::Evicted);
}

void Connection::resume() {
    guarded(this, [](Connection &c) {
        if (c.state_ == State::Open || c.state_ == State::AwaitConfirm)
            c.pump();
    });
}

// ---------------------------------------------------------------------------
// libevent entry points
// ---------------------------------------------------------------------------

void Connection::on_plain_event(evutil_socket_t, short what, void *arg) noexcept {
    guarded(arg, [what](Connection &c) {
        c.plain_.note(what);
        if (c.state_ == State::ConnectTarget)
            c.connect_ready(c.plain_);
        else if (c.state_ == State::Open)
            c.pump();
    });
}

void Connection::on_enc_event(evutil_socket_t, short what, void *arg) noexcept {
    guarded(arg, [what](Connection &c) {
        c.enc_.note(what);
        switch (c.state_) {
        case State::ConnectPeer: c.connect_ready(c.enc_); break;
        case State::Handshake: c.handshake_io(); break;
        case State::AwaitConfirm:
            if (c.hs_)
                c.handshake_io(); // the answer is still going out
            else
                c.pump();
            break;
        case State::Open: c.pump(); break;
        case State::Draining: c.drain_io(); break;
        case State::ConnectTarget:
        case State::Done: break;
        }
    });
}

void Connection::on_timer(evutil_socket_t, short, void *arg) noexcept {
    guarded(arg, [](Connection &c) { c.timer_fired(); });
}

// ---------------------------------------------------------------------------
// States
// ---------------------------------------------------------------------------

// -e: connect to the -d side. A retry (DESIGN.md §3.8) keeps the -o
// deadline the first attempt had and the same target list.
void Connection::enter_connect_peer(bool retry) {
    state_ = State::ConnectPeer;
    Step s;
    if (retry) {
        s = connector_.restart(enc_);
    } else {
        set_phase_deadline(env_.cfg.connect_timeout_ms);
        s = connector_.start(env_.targets.get(), env_.cfg, enc_, enc_watch());
    }
    if (s == Step::Ended)
        connect_failed();
}

void Connection::enter_handshake() {
    state_ = State::Handshake;
    set_phase_deadline(env_.cfg.handshake_timeout_ms);
    std::shared_ptr<const KeySet> keys = env_.keys.get();
    crypto::HandshakeOptions opts = env_.cfg.handshake;
    opts.heartbeat_seconds = env_.cfg.heartbeat_s;
    opts.unix_time_s = util::unix_time_s(); // DESIGN.md §3.5
    if (role_ == Role::Encrypt) {
        if (!keys || keys->keys.empty()) {
            fail(EndReason::HandshakeFailed);
            return;
        }
        hs_ =
            std::make_unique<HandshakeStage>(env_.protocol.initiator(std::move(keys), opts), false);
    } else {
        hs_ =
            std::make_unique<HandshakeStage>(env_.protocol.responder(std::move(keys), opts), true);
        enc_.watch(enc_watch());
        enc_.readable = true;
    }
    handshake_io();
}

// -d: the peer authenticated and its answer is queued; the -o deadline
// from accept still runs.
void Connection::enter_await_confirm() {
    state_ = State::AwaitConfirm;
    env_.owner.await_confirm(*this);
    handshake_io();
}

// -d: the peer has proved the key: by its CONFIRM (DESIGN.md §3.6), or,
// in a protocol without one, by completing the handshake. Only now does it
// leave the handshake pool for one of the -n slots, so that peers which
// never confirm (replayed msg1s) cannot fill -n and lock real ones out.
void Connection::confirmed() {
    if (session_.features.confirm && !down_.confirm_body(session_.proxy)) {
        fail(EndReason::ProtocolError);
        return;
    }
    confirmed_ = true;
    hs_lease_.release();
    slot_ = env_.owner.lease_slot();
    if (!slot_) {
        fail(EndReason::ConnectionLimit);
        return;
    }
    enter_connect_target();
}

// -d: DESIGN.md §3.6: only now does the target see a connection.
void Connection::enter_connect_target() {
    env_.stats.record_handshake(util::now_us() - started_us_);
    state_ = State::ConnectTarget;
    set_phase_deadline(env_.cfg.connect_timeout_ms);
    if (connector_.start(env_.targets.get(), env_.cfg, plain_, plain_watch()) == Step::Ended)
        connect_failed();
}

void Connection::enter_open() {
    state_ = State::Open;
    if (role_ == Role::Encrypt) {
        // The tunnel is up: CONFIRM goes first (DESIGN.md §3.6), with
        // whatever plaintext the client has already sent.
        plain_.watch(plain_watch());
        plain_.readable = plain_.writable = true;
    } else {
        plain_.readable = true;
        if (env_.cfg.proxy_protocol) { // the header goes before any data (DESIGN.md §4.3)
            if (!session_.features.client_address)
                session_.proxy = net::proxy_address_of(enc_.get());
            down_.prepend(proxy_hdr_, proto::encode_proxy_v2(session_.proxy, proxy_hdr_));
        }
    }
    clk_.last_rx_ms = clk_.last_tx_ms = clk_.last_data_ms = util::now_ms();
    rearm_timer();
    log_debug("conn %llu %s: open, %s, %s", static_cast<unsigned long long>(id_), peer_.c_str(),
              session_.transport != nullptr ? session_.transport
                                            : proto::cipher_name(session_.cipher),
              session_.forward_secret ? "forward secret" : "no forward secrecy (-f)");
    pump();
}

void Connection::enter_draining(EndReason why, uint64_t timeout_ms) {
    state_ = State::Draining;
    linger_.start(why);
    set_phase_deadline(timeout_ms);
    drain_io();
}

void Connection::finish(EndReason why) {
    if (state_ == State::Done)
        return;
    state_ = State::Done;
    report_.reason = why;
    report_.authenticated = role_ == Role::Encrypt || confirmed_;
    report_.bytes_in = up_.bytes();
    report_.bytes_out = down_.bytes();
    const uint64_t now = util::now_ms();
    report_.duration_ms = now - started_ms_;
    plain_.close(false);
    enc_.close(false);
    timer_.reset();
    up_.release();
    down_.release();
    hs_.reset();
    env_.owner.cancel_defer(*this);
    hs_lease_.release();
    slot_.reset();
    env_.stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
    env_.stats.ended[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    log_end(report_, peer_, env_.owner, now);
    env_.owner.ended(*this, report_);
}

// ---------------------------------------------------------------------------
// Open: both pipes (DESIGN.md §5)
// ---------------------------------------------------------------------------

void Connection::pump() {
    for (int round = 0; round < limits::PUMP_ROUNDS; ++round) {
        bool progress = false;
        if (state_ == State::Open || state_ == State::AwaitConfirm) {
            const Step s = down_.pump(plain_, enc_, clk_, state_ == State::Open);
            if (s == Step::Ended) {
                down_failed();
                return;
            }
            progress = s == Step::Progress;
            if (!after_down())
                return;
        }
        if (state_ == State::Open) {
            const Step s = up_.pump(plain_, enc_, clk_);
            if (s == Step::Ended) {
                up_failed();
                return;
            }
            progress = progress || s == Step::Progress;
            if (!after_up())
                return;
        }
        if (!progress) {
            env_.owner.cancel_defer(*this);
            return;
        }
    }
    env_.owner.defer(*this);
}

// React to what the down pipe saw. False once the connection is ending.
bool Connection::after_down() {
    uint8_t ping[proto::PING_BODY_LEN];
    if (down_.take_ping_event(ping))
        up_.queue_pong(ping);
    if (down_.take_confirm_event()) {
        confirmed();
        return !ended();
    }
    if (down_.take_close_delivered_event() && !up_.close_queued()) {
        clk_.half_close_start_ms = util::now_ms();
        rearm_timer(); // the half-close timeout may be the nearest deadline
    }
    if (down_.take_eof_event() && down_.eof_is_truncation(up_.close_sent())) {
        // DESIGN.md §5.4: only after both CLOSEs is this the normal end.
        report_.err = down_.eof_error();
        fail(EndReason::Truncated);
        return false;
    }
    check_clean_end();
    return !ended();
}

bool Connection::after_up() {
    if (timer_waits_for_tx_ && !up_.pending())
        rearm_timer();
    if (up_.take_close_queued_event() && !down_.close_received()) {
        clk_.half_close_start_ms = util::now_ms();
        rearm_timer();
    }
    check_clean_end();
    return !ended();
}

void Connection::up_failed() {
    const PipeEnd &e = up_.end();
    report_.err = e.err;
    if (!up_.write_failed()) {
        fail(e.reason);
        return;
    }
    // The peer has gone. It may have said why (a RESET) before going, so
    // read what is already here before calling it truncation.
    const PipeEnd salvaged = down_.salvage(plain_, enc_);
    report_.peer_reset = salvaged.peer_reset;
    fail(salvaged.reason);
}

void Connection::down_failed() {
    const PipeEnd &e = down_.end();
    report_.err = e.err;
    report_.record_error = e.record;
    report_.peer_reset = e.peer_reset;
    fail(e.reason);
}

// Both directions closed and delivered: the clean end.
void Connection::check_clean_end() {
    if (state_ != State::Open || !up_.close_sent() || !down_.close_received() ||
        !down_.close_delivered() || down_.blocked())
        return;
    plain_.close(false);
    down_.release();
    if (down_.eof())
        finish(EndReason::Clean);
    else
        enter_draining(EndReason::Clean, env_.cfg.drain_timeout_ms);
}

void Connection::drain_io() {
    if (linger_.io(enc_, up_) == Step::Ended)
        finish(linger_.reason());
}

// End with ${why}, as its policy says (end_reason.hpp): the plaintext side
// learns of it at once, as a reset; a peer with a session gets a RESET
// after whatever is already sealed and a lingering close; a peer that has
// not proved the key (on -d: no CONFIRM yet) always gets the same silent
// reset (DESIGN.md §3.7), whatever the reason: timeout, eviction or stop.
void Connection::fail(EndReason why) {
    if (ended())
        return;
    const EndPolicy &p = policy_of(why);
    if (plain_.open())
        plain_.close(p.reset_plaintext);
    const bool have_session = up_.is_open() && (role_ == Role::Encrypt || confirmed_) &&
                              (state_ == State::Open || state_ == State::ConnectTarget);
    if (p.tell_peer && have_session && enc_.open()) {
        try {
            if (up_.append_reset(p.reset_code)) {
                down_.release();
                enter_draining(why,
                               std::min(env_.cfg.drain_timeout_ms, limits::ABORT_LINGER_MAX_MS));
                return;
            }
        } catch (const std::bad_alloc &) {
        }
    }
    if (enc_.open())
        enc_.close(!have_session);
    finish(why);
}

// ---------------------------------------------------------------------------
// Timers (timers.hpp, DESIGN.md §7)
// ---------------------------------------------------------------------------

const OpenClocks &Connection::clocks() noexcept {
    clk_.rx_paused = down_.blocked() && !plain_.writable;
    clk_.tx_blocked = up_.pending();
    clk_.rekey_at_ms = up_.rekey_at_ms();
    return clk_;
}

void Connection::set_phase_deadline(uint64_t ms_from_now) {
    phase_deadline_ms_ = util::now_ms() + ms_from_now;
    rearm_timer();
}

void Connection::rearm_timer() {
    if (state_ == State::Done)
        return;
    const uint64_t deadline =
        state_ == State::Open ? open_deadline(clocks(), policy_) : phase_deadline_ms_;
    // Deadlines left out while the encrypted send is blocked come back
    // when it drains (after_up()).
    timer_waits_for_tx_ = state_ == State::Open && clk_.tx_blocked;
    if (deadline == NO_DEADLINE)
        timer_.disarm();
    else
        timer_.arm_ms(wait_for(util::now_ms(), deadline));
}

void Connection::timer_fired() {
    const uint64_t now = util::now_ms();
    if (state_ != State::Open) {
        if (!phase_expired(now, phase_deadline_ms_)) {
            rearm_timer();
            return;
        }
        switch (state_) {
        case State::ConnectPeer:
        case State::ConnectTarget:
            report_.err = ETIMEDOUT;
            fail(EndReason::ConnectTimeout);
            return;
        case State::Handshake:
        case State::AwaitConfirm: fail(EndReason::HandshakeTimeout); return;
        case State::Draining: finish(linger_.reason()); return;
        case State::Open:
        case State::Done: return;
        }
    }
    const OpenVerdict v = open_verdict(now, clocks(), policy_);
    if (v.expired) {
        fail(*v.expired);
        return;
    }
    if (v.send_rekey) {
        up_.queue_rekey(); // sealed with whatever goes next, or on its own
        if (!v.send_ping && !up_.pending()) {
            pump();
            if (state_ != State::Open)
                return;
        }
    }
    if (v.send_ping && !up_.pending()) {
        up_.queue_ping();
        pump();
        if (state_ != State::Open)
            return;
        if (up_.ping_queued()) // could not be sent yet; count from now
            clk_.last_tx_ms = now;
    }
    rearm_timer();
}

} // namespace sealpipe::tunnel
