// SPDX-License-Identifier: BSD-2-Clause
// One event loop: a libevent base, the listener(s) it accepts on, a buffer
// pool, and the connections it owns. The daemon runs one Worker per thread
// (--threads); the client runs one Worker with a single connection.
//
// Limits (DESIGN.md §8):
//  - -n: established connections across all workers (Context::established).
//    At the limit the listener stops accepting (no busy loop) and says so
//    once per burst; it resumes when a connection ends.
//  - handshake slots (max_handshakes, split evenly between workers): on -d,
//    a new connection that finds its worker's share full evicts that
//    worker's oldest handshake, so silent or slow clients cannot lock out
//    real ones. On -e, handshakes count against -n.
//
// Thread-safety: a Worker's methods run on its own loop thread, except
// request_stop(), which any thread may call.
#pragma once

#include "tunnel/buffer_pool.hpp"
#include "tunnel/connection.hpp"
#include "tunnel/config.hpp"
#include "tunnel/list.hpp"
#include "tunnel/replay_cache.hpp"
#include "tunnel/stats.hpp"
#include "util/log.hpp"

#include <event2/event_struct.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

struct event_base;

namespace sealpipe::tunnel {


// State shared by all workers of a process.
struct Context {
    TunnelConfig cfg;
    Shared<Targets> targets;
    Shared<KeySet> keys;
    ReplayCache replay;
    Stats stats;
    std::atomic<size_t> established{0}; // counted against -n
    std::atomic<uint64_t> next_id{1};
    // The number of workers (--threads).
    unsigned workers = 1;

    // Take one -n slot, or fail if none is free. Every worker counts against
    // the same limit, so the check and the increment are one atomic step: a
    // load followed by fetch_add let two workers both take the last slot.
    bool try_reserve_slot() noexcept {
        size_t cur = established.load(std::memory_order_relaxed);
        do {
            if (cur >= cfg.max_connections)
                return false;
        } while (!established.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
        return true;
    }
    void release_slot() noexcept { established.fetch_sub(1, std::memory_order_relaxed); }

    // More than one worker share the listener: a worker paused at the -n
    // limit must look again by itself, as the connection that frees a slot
    // may end on another thread.
    bool multi_worker() const noexcept { return workers > 1; }
    // Each worker keeps its own handshake list, so each gets
    // max_handshakes / workers slots and the process never holds more.
    size_t handshake_slots_per_worker() const noexcept {
        const size_t share = cfg.max_handshakes / (workers == 0 ? 1 : workers);
        return share > 0 ? share : 1;
    }
};

class Worker {
public:
    explicit Worker(Context &ctx);
    ~Worker();
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    event_base *base() noexcept { return base_; }
    Context &ctx() noexcept { return ctx_; }
    const TunnelConfig &cfg() const noexcept { return ctx_.cfg; }
    BufferPool &pool() noexcept { return pool_; }

    // Accept connections on ${fd} (owned by the caller, who must keep it
    // open until stop_listening()).
    void listen(int fd);
    // Stop accepting, at once. Open connections continue.
    void stop_listening();

    // Create and start a -e connection for an already connected plaintext
    // socket (used by the stdin/stdout client). Returns its id.
    uint64_t adopt(net::UniqueFd plaintext, std::string peer);

    // Abort every connection with ${why} (second SIGTERM).
    void abort_all(EndReason why);
    size_t connection_count() const noexcept { return all_.size(); }

    // Called when this worker has no connection left (after the last one
    // ended); used by the daemon to finish a graceful drain.
    std::function<void()> on_empty;
    // Called with the reason each time a connection ends (the client uses
    // it to choose its exit status).
    std::function<void(const Connection &)> on_connection_end;

    // Run the loop until request_stop().
    void run();
    // Make run() return (any thread).
    void request_stop();
    // Run ${task} on this worker's loop thread soon (any thread).
    void post(std::function<void()> task);
    // Run ${task} on this worker's loop thread and wait for it. From the
    // loop thread itself it runs at once.
    void run_sync(std::function<void()> task);
    // Abort connection ${id} if it still exists (loop thread only); see
    // Connection::abort().
    void abort_connection(uint64_t id, EndReason why, bool linger);

    // --- called by Connection --------------------------------------------
    void connection_finished(Connection *c) noexcept;
    // -d: msg1 authenticated; count it against -n. False: over the limit.
    bool connection_authenticated(Connection *c) noexcept;
    // The handshake is over (success or not): free its slot.
    void handshake_done(Connection *c) noexcept;
    void defer(Connection *c) noexcept;
    void cancel_defer(Connection *c) noexcept;
    // Rate limit for lines about unauthenticated peers.
    bool allow_auth_log(uint64_t now_ms, uint64_t &suppressed);

private:
    static void on_accept(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_ready(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_resume(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_wake(evutil_socket_t fd, short what, void *arg) noexcept;
    static void on_auth_log_flush(evutil_socket_t fd, short what, void *arg) noexcept;
    void accept_batch(int fd);
    void pause_accepting(uint64_t retry_ms);
    void resume_accepting();
    bool at_limit() const noexcept;

    Context &ctx_;
    event_base *base_ = nullptr;
    BufferPool pool_;
    struct Listener {
        int fd;
        struct event ev;
    };
    std::vector<Listener *> listeners_;
    bool listening_ = false;
    bool paused_ = false;
    bool ready_scheduled_ = false;
    struct event ready_ev_ {};
    struct event resume_ev_ {};
    struct event wake_ev_ {};
    int wake_fd_ = -1; // eventfd: post() and request_stop() wake the loop
    std::mutex tasks_mu_;
    std::vector<std::function<void()>> tasks_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::thread::id> loop_thread_{};
    util::RateLimiter auth_log_{10, 10000};
    struct event auth_flush_ev_ {}; // reports the suppressed count after a burst
    bool auth_flush_armed_ = false;
    util::RateLimiter resource_log_{1, 10000};
    util::RateLimiter limit_log_{1, 10000};

    IntrusiveList<Connection, &Connection::all_hook> all_;
    IntrusiveList<Connection, &Connection::handshake_hook> handshaking_; // oldest first
    IntrusiveList<Connection, &Connection::ready_hook> ready_;
};

} // namespace sealpipe::tunnel
