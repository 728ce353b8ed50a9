// SPDX-License-Identifier: BSD-2-Clause
// One event loop: a libevent base, the listener it accepts on, a buffer
// pool, a handshake pool, and the connections it owns. The Server runs one
// Worker per thread (--threads); the client runs one Worker with a single
// connection.
//
// Limits (DESIGN.md §8):
//  - -n: established connections across all workers (Context::slots). At
//    the limit the listener stops accepting (no busy loop) and says so
//    once per burst; it resumes when a connection ends.
//  - handshake slots (max_handshakes, split evenly between workers): a new
//    connection that finds its worker's share full evicts that worker's
//    oldest handshake, so silent or slow clients cannot lock out real ones.
//
// Thread-safety: a Worker's methods run on its own loop thread, except
// request_stop() and post(), which any thread may call.
#pragma once

#include "tunnel/buffer_pool.hpp"
#include "tunnel/connection.hpp"
#include "tunnel/context.hpp"
#include "tunnel/env.hpp"
#include "tunnel/event.hpp"
#include "tunnel/lease.hpp"
#include "tunnel/list.hpp"
#include "util/log.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sealpipe::tunnel {

class Worker final : public ConnectionOwner {
public:
    // Worker ${index} of the process (its metrics label).
    Worker(Context &ctx, unsigned index);
    ~Worker();
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    event_base *base() noexcept { return base_; }

    // Accept connections on ${fd} (owned by the caller, who must keep it
    // open until stop_listening()).
    void listen(int fd);
    // Stop accepting, at once. Open connections continue.
    void stop_listening();

    // Create and start a -e connection for an already connected plaintext
    // socket (the stdin/stdout client). Returns its id.
    uint64_t adopt(net::UniqueFd plaintext, std::string peer);

    // Abort every connection with ${why}.
    void abort_all(EndReason why);
    // Abort connection ${id} if it still exists; see Connection::abort().
    void abort_connection(uint64_t id, EndReason why, bool linger);
    size_t connection_count() const noexcept { return all_.size(); }

    // Called when this worker has no connection left (after the last one
    // ended).
    std::function<void()> on_empty;
    // Called with the report of each connection that ends.
    std::function<void(const EndReport &)> on_connection_end;

    // Run the loop until request_stop().
    void run();
    // Make run() return (any thread).
    void request_stop();
    // Run ${task} on this worker's loop thread soon (any thread).
    void post(std::function<void()> task);
    // Run ${task} on this worker's loop thread and wait for it. From the
    // loop thread itself, or before run(), it runs at once.
    void run_sync(std::function<void()> task);

    // ConnectionOwner.
    void defer(Connection &c) noexcept override;
    void cancel_defer(Connection &c) noexcept override;
    void await_confirm(Connection &c) noexcept override;
    SlotLease lease_slot() noexcept override;
    void ended(Connection &c, const EndReport &report) noexcept override;
    void reap(Connection &c) noexcept override;
    bool allow_auth_log(uint64_t now_ms, uint64_t &suppressed) override;
    bool allow_session_warning(uint64_t now_ms, uint64_t &suppressed) noexcept override {
        return session_log_.allow(now_ms, suppressed);
    }

private:
    static void on_accept(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_ready(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_resume(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_wake(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_auth_log_flush(evutil_socket_t fd, short what, void *arg) noexcept;
    void accept_batch(int fd);
    bool accept_one(int lfd);
    uint64_t start_connection(net::UniqueFd fd, std::string peer, SlotLease slot);
    void pause_accepting(uint64_t retry_ms);
    void resume_accepting();
    void warn_at_limit();

    Context &ctx_;
    unsigned index_;
    event_base *base_ = nullptr;
    BufferPool pool_;
    ConnectionEnv env_;
    HandshakePool handshakes_;
    // -d: authenticated, answered, not yet confirmed (DESIGN.md §8). Apart
    // from handshakes_, so a flood of keyless connections cannot evict a
    // real peer between its msg2 and its CONFIRM, and replayed msg1s evict
    // only each other and the oldest of these.
    HandshakePool confirming_;
    struct Listener {
        int fd;
        Event ev;
    };
    std::vector<std::unique_ptr<Listener>> listeners_;
    bool listening_ = false;
    bool paused_ = false;
    bool ready_scheduled_ = false;
    Event ready_ev_;
    Event resume_ev_;
    Event wake_ev_;
    net::UniqueFd wake_fd_; // eventfd: post() and request_stop() wake the loop
    std::mutex tasks_mu_;
    std::vector<std::function<void()>> tasks_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::thread::id> loop_thread_{};
    util::RateLimiter auth_log_{limits::AUTH_LOG_BURST, limits::AUTH_LOG_INTERVAL_MS};
    Event auth_flush_ev_; // reports the suppressed count after a burst
    bool auth_flush_armed_ = false;
    util::RateLimiter resource_log_{1, limits::WARNING_INTERVAL_MS};
    util::RateLimiter limit_log_{1, limits::WARNING_INTERVAL_MS};
    util::RateLimiter session_log_{1, limits::WARNING_INTERVAL_MS};

    IntrusiveList<Connection, &Connection::all_hook> all_;
    IntrusiveList<Connection, &Connection::ready_hook> ready_;
};

} // namespace sealpipe::tunnel
