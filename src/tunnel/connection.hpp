// SPDX-License-Identifier: BSD-2-Clause
// One tunnelled stream, from accept to its single end reason: its states
// and the transitions between them. The work of each state is done by a
// stage of its own (ARCHITECTURE.md has the map):
//
//   -e (Role::Encrypt, initiator)            -d (Role::Decrypt, responder)
//   accepted plaintext client                accepted encrypted peer
//   ConnectPeer   connector.hpp              Handshake     handshake_stage.hpp
//   Handshake     handshake_stage.hpp        AwaitConfirm  pipe.hpp (CONFIRM)
//                 queue CONFIRM              ConnectTarget connector.hpp
//   Open          pipe.hpp, both ways        Open          pipe.hpp, both ways
//   Draining      linger.hpp                 Draining      linger.hpp
//   Done          end_reason.hpp: one log line and an EndReport
//
// Each state is entered in exactly one enter_*() function. Timers are the
// pure rules of timers.hpp; end decisions come from the table in
// end_reason.hpp. Work per wake-up is bounded (limits::PUMP_ROUNDS);
// leftover work is deferred to the owner's ready queue so one busy stream
// cannot starve the others.
//
// Thread-safety: a Connection belongs to one Worker and is only touched
// from that worker's event-loop thread.
#pragma once

#include "net/socket.hpp"
#include "proto/proxy_v2.hpp"
#include "tunnel/connector.hpp"
#include "tunnel/endpoint.hpp"
#include "tunnel/env.hpp"
#include "tunnel/event.hpp"
#include "tunnel/handshake_stage.hpp"
#include "tunnel/lease.hpp"
#include "tunnel/linger.hpp"
#include "tunnel/list.hpp"
#include "tunnel/pipe.hpp"
#include "tunnel/timers.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace sealpipe::tunnel {

class Connection final : public Evictable {
public:
    enum class State : uint8_t {
        ConnectPeer,   // -e: connecting to the -d side
        Handshake,     // handshake messages in flight
        AwaitConfirm,  // -d: answer sent, waiting for CONFIRM
        ConnectTarget, // -d: confirmed, connecting to the target
        Open,          // both directions running
        Draining,      // final CLOSE or RESET sent; waiting for the peer's FIN
        Done,
    };

    // Take over ${accepted}, the socket the worker accepted (plaintext on
    // -e, encrypted on -d). ${peer} is its printable address. ${slot} is
    // the -n slot taken for it (-e); -d leases one once the peer has
    // authenticated.
    Connection(ConnectionEnv &env, uint64_t id, net::UniqueFd accepted, std::string peer,
               SlotLease slot);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Start the state machine. May end the connection at once (the owner's
    // reap() has then run: the caller must not touch it afterwards).
    void start();
    // End the connection from outside (eviction, forced shutdown, the
    // client's closed stdout): resets the plaintext side and sends a RESET.
    // With ${linger} the RESET is flushed and the peer given up to 2 s to
    // read it (the lingering close); without, it gets one try and the
    // connection ends at once.
    void abort(EndReason why, bool linger = false);
    // The handshake pool evicts this connection (the oldest handshake).
    void evict() noexcept override;
    // Run deferred work (called by the owner's ready queue).
    void resume();

    uint64_t id() const noexcept { return id_; }
    // Its membership of the owner's handshake pool.
    HandshakeLease &handshake_lease() noexcept { return hs_lease_; }

    // Intrusive list membership (owned by the Worker).
    ListHook all_hook;
    ListHook ready_hook;

private:
    // libevent trampolines (noexcept: nothing may unwind through libevent).
    static void on_plain_event(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_enc_event(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_timer(evutil_socket_t fd, short what, void *arg) noexcept;
    template <typename Fn> static void guarded(void *arg, Fn fn) noexcept;

    // The states, each entered in one place.
    void enter_connect_peer(bool retry);
    void enter_handshake();
    void enter_await_confirm();
    void confirmed();
    void note_no_forward_secrecy();
    void enter_connect_target();
    void enter_open();
    void enter_draining(EndReason why, uint64_t timeout_ms);
    void finish(EndReason why);

    // What happens in them.
    void connect_ready(Endpoint &out);
    void connect_failed();
    void handshake_io();
    void handshake_failed();
    bool retry_once(const char *what);
    void answer_sent();
    void open_session();
    void pump();
    bool after_down();
    bool after_up();
    void up_failed();
    void down_failed();
    void check_clean_end();
    void drain_io();
    void fail(EndReason why);

    // Timers (timers.hpp).
    void set_phase_deadline(uint64_t ms_from_now);
    void rearm_timer();
    void timer_fired();
    const OpenClocks &clocks() noexcept;

    Watch plain_watch() noexcept { return {env_.base, &Connection::on_plain_event, this}; }
    Watch enc_watch() noexcept { return {env_.base, &Connection::on_enc_event, this}; }
    bool ended() const noexcept { return state_ == State::Done || state_ == State::Draining; }

    ConnectionEnv &env_;
    const uint64_t id_;
    const Role role_;
    State state_;
    int depth_ = 0; // nesting of guarded calls; the owner reaps at 0
    std::string peer_;

    Endpoint plain_;
    Endpoint enc_;
    Event timer_;
    SlotLease slot_;
    HandshakeLease hs_lease_;
    bool confirmed_ = false; // -d: the peer has proved the key (confirmed())

    Connector connector_;
    std::unique_ptr<HandshakeStage> hs_;
    // -e: a -d that closes before the first byte of its answer gets one
    // more handshake on a new connection (DESIGN.md §3.8).
    uint8_t retries_left_ = 1;
    Session session_;
    UpPipe up_;
    DownPipe down_;
    Linger linger_;
    // -d --proxy-protocol: the header for the target, sent before any data.
    uint8_t proxy_hdr_[proto::PROXY_V2_HEADER_MAX] = {};

    TimerPolicy policy_;
    OpenClocks clk_;
    bool timer_waits_for_tx_ = false; // rearm_timer() once the encrypted send drains
    uint64_t phase_deadline_ms_ = 0;
    uint64_t started_ms_;
    uint64_t started_us_;
    EndReport report_;
};

} // namespace sealpipe::tunnel
