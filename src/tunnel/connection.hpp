// SPDX-License-Identifier: BSD-2-Clause
// One tunnelled stream, from accept to its single end reason.
//
//   -e (Role::Encrypt, initiator)            -d (Role::Decrypt, responder)
//   accepted plaintext client                accepted encrypted peer
//   ConnectPeer   connect to the -d          Handshake     read msg1, send msg2
//   Handshake     send msg1, read msg2       AwaitConfirm  read CONFIRM
//                 queue CONFIRM              ConnectTarget connect to the target
//   Open          two directions             Open          two directions
//   Draining      lingering close            Draining      lingering close
//
// In Open, the "up" direction reads plaintext and seals records onto the
// encrypted socket; the "down" direction reads records and writes their
// plaintext. Each direction moves one buffer at a time: read, transform in
// place, write; it stops reading while its writes block (backpressure), so
// a connection never holds more than one buffer per direction. Buffers come
// from the worker's pool only while bytes are in flight.
//
// Sockets are registered edge-triggered, once, for reading and writing; the
// connection tracks readiness itself, so the data path makes no epoll_ctl
// calls. Work per wake-up is bounded; leftover work is deferred to the
// worker's ready queue so one busy stream cannot starve the others.
//
// Every connection ends exactly once, through finish(), which logs one line
// and hands the object back to its Worker for deletion.
//
// Thread-safety: a Connection belongs to one Worker and is only touched from
// that worker's event-loop thread.
#pragma once

#include "crypto/handshake.hpp"
#include "net/socket.hpp"
#include "proto/record.hpp"
#include "tunnel/config.hpp"
#include "tunnel/list.hpp"
#include "tunnel/stats.hpp"

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/uio.h>

namespace sealpipe::tunnel {

class Worker;

class Connection {
public:
    enum class State : uint8_t {
        ConnectPeer,   // -e: connecting to the -d side
        Handshake,     // msg1/msg2 in flight
        AwaitConfirm,  // -d: msg2 sent, waiting for CONFIRM
        ConnectTarget, // -d: confirmed, connecting to the target
        Open,          // both directions running
        Draining,      // final CLOSE or RESET sent; waiting for the peer's FIN
        Done,
    };

    // Take over ${accepted}, the socket the worker accepted (plaintext on
    // -e, encrypted on -d). ${peer} is its printable address.
    Connection(Worker &worker, uint64_t id, net::UniqueFd accepted, std::string peer);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Start the state machine. May end the connection at once (it is then
    // already deleted: the caller must not touch it afterwards).
    void start();
    // End the connection from outside (eviction, forced shutdown, the
    // client's closed stdout): resets the plaintext side and sends a RESET.
    // With ${linger} the RESET is flushed and the peer given up to 2 s to
    // read it (the lingering close); without, it gets one try and the
    // connection is deleted at once.
    void abort(EndReason why, bool linger = false);
    // Run deferred work (called by the worker's ready queue).
    void resume();

    State state() const noexcept { return state_; }
    uint64_t id() const noexcept { return id_; }
    // True while the connection holds a handshake slot (see Worker).
    bool handshaking() const noexcept { return handshake_hook.linked(); }
    // The end reason, once finished.
    std::optional<EndReason> end_reason() const noexcept { return end_; }
    // Why the handshake failed, for the client's message.
    crypto::HandshakeError handshake_error() const noexcept { return hs_error_; }
    proto::ResetReason peer_reset_reason() const noexcept { return peer_reset_reason_; }
    // The errno behind the end, if any (connect failures, resets).
    int end_errno() const noexcept { return end_errno_; }
    // One line describing the end reason's detail (as in the log line).
    std::string end_detail() const;

    // Intrusive list membership (owned by Worker).
    ListHook all_hook;
    ListHook handshake_hook;
    ListHook ready_hook;

private:
    struct HandshakeIo; // buffers and state of the handshake, freed after it

    // libevent trampolines (noexcept: nothing may unwind through libevent).
    static void on_plain_event(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_enc_event(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_timer(evutil_socket_t fd, short what, void *arg) noexcept;

    // Connecting (outbound side: enc on -e, plain on -d).
    void begin_connect();
    void try_next_address();
    void connect_ready();
    void connected();

    // Handshake.
    void handshake_io(short what);
    bool handshake_read(size_t &body_len);
    bool handshake_flush();
    bool retry_handshake();
    void initiator_got_msg2();
    void responder_got_msg1();
    void start_open_directions(crypto::HandshakeResult &result);
    void confirmed();

    // Data path.
    void pump();
    bool pump_up();
    bool pump_down();
    bool flush_up();
    bool produce_up();
    bool flush_down();
    bool parse_down();
    bool read_down();
    void down_housekeeping();
    void enc_closed();
    void salvage_after_write_error();
    void start_draining(EndReason why, uint64_t timeout_ms);
    void drain_io();
    void maybe_finish_clean();
    bool down_blocked() const noexcept;

    // Ends.
    void fail(EndReason why, proto::ResetReason reset_reason);
    void finish(EndReason why);
    void log_end();

    // Timers.
    void rearm_timer();
    void timer_fired();
    void set_phase_deadline(uint64_t ms_from_now);

    void ensure_up_buffer();
    void ensure_down_buffer();
    void release_buffers() noexcept;
    void register_fd(struct event &ev, int fd, event_callback_fn cb);
    // Unregister ${ev} (if set) and close ${fd} (if open; with a reset if
    // ${reset}), leaving fd = -1 and ev_set = false.
    static void close_socket(int &fd, struct event &ev, bool &ev_set, bool reset) noexcept;

    friend class Worker;

    Worker &w_;
    const uint64_t id_;
    int depth_ = 0; // nesting of guarded calls; deletion waits for 0
    const Role role_;
    State state_;
    std::string peer_;
    bool counted_established_ = false;

    int plain_fd_ = -1;
    int enc_fd_ = -1;
    struct event plain_ev_ {};
    struct event enc_ev_ {};
    struct event timer_ev_ {};
    bool plain_ev_set_ = false;
    bool enc_ev_set_ = false;
    bool timer_set_ = false;

    // Edge-triggered readiness, cleared on EAGAIN.
    bool plain_readable_ = false;
    bool plain_writable_ = false;
    bool enc_readable_ = false;
    bool enc_writable_ = false;

    // Outbound connect.
    std::shared_ptr<const Targets> targets_;
    size_t target_index_ = 0;
    int last_connect_errno_ = 0;

    std::unique_ptr<HandshakeIo> hs_;
    std::shared_ptr<const KeySet> keys_; // held while the handshake needs them
    // -e: a -d that closes before the first byte of msg2 gets one more
    // handshake on a new connection (DESIGN.md §3.8).
    uint8_t handshake_retries_left_ = 1;
    crypto::HandshakeError hs_error_ = crypto::HandshakeError::None;
    proto::ResetReason peer_reset_reason_ = proto::ResetReason::PlaintextReset;

    proto::RecordWriter writer_;
    proto::RecordReader reader_;
    proto::CipherId cipher_ = proto::CipherId::ChaCha20Poly1305;
    bool forward_secret_ = false;
    uint64_t heartbeat_ms_ = 0;

    // Up: plaintext -> records.
    uint8_t *up_buf_ = nullptr;
    size_t up_start_ = 0, up_end_ = 0; // sealed bytes not yet sent
    bool up_eof_ = false;          // plaintext EOF read
    bool close_queued_ = false;    // CLOSE sealed into the buffer
    bool close_sent_ = false;      // CLOSE fully written
    bool close_in_batch_ = false;  // the pending batch ends with CLOSE
    bool confirm_pending_ = false; // -e: CONFIRM not yet sealed
    bool ping_due_ = false;
    bool pong_pending_ = false;
    uint8_t pong_body_[proto::PING_BODY_LEN] = {};

    // Down: records -> plaintext.
    static constexpr int MAX_IOV = 64;
    uint8_t *down_buf_ = nullptr;
    size_t down_end_ = 0;     // bytes read into down_buf_
    size_t down_parse_ = 0;   // first byte not yet parsed
    struct iovec iov_[MAX_IOV] = {};
    int iov_n_ = 0, iov_i_ = 0;
    bool enc_eof_ = false;
    bool enc_write_failed_ = false;
    bool plain_shut_ = false;  // shutdown(plain, SHUT_WR) done after CLOSE
    bool drain_shut_ = false;  // our FIN is out (Draining)
    EndReason draining_reason_ = EndReason::Clean;

    // -d --proxy-protocol: the client address from msg1, and the PROXY v2
    // header built from it (sent to the target before any data).
    std::optional<crypto::ProxyInfo> proxy_;
    uint8_t proxy_hdr_[16 + 36] = {};

    // Accounting and timers (milliseconds, monotonic).
    uint64_t started_ms_;
    uint64_t started_us_;
    uint64_t phase_deadline_ms_ = 0;
    uint64_t last_rx_ms_ = 0;   // anything read from the encrypted socket
    uint64_t last_tx_ms_ = 0;   // anything written to it
    uint64_t last_data_ms_ = 0; // DATA moved either way
    uint64_t half_close_start_ms_ = 0; // first CLOSE sent or delivered
    uint64_t rx_paused_since_ms_ = 0;  // down blocked on plaintext writes
    uint64_t bytes_in_ = 0;     // plaintext read from our plaintext side
    uint64_t bytes_out_ = 0;    // plaintext written to it
    std::optional<EndReason> end_;
    int end_errno_ = 0;
    proto::RecordError record_error_ = proto::RecordError::None;
};

} // namespace sealpipe::tunnel
