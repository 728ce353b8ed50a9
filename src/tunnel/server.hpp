// SPDX-License-Identifier: BSD-2-Clause
// The accept loop of a process: its workers (one per --threads, the first
// on the calling thread), the listener they share, and the graceful stop
// (the drain). The programs in app/ build one, wire signals to it, and run
// it; they never see a Worker or a libevent header.
//
//   drain()      stop accepting at once (a new instance can bind), let open
//                connections finish, stop when none is left; after the
//                drain timeout, abort the rest
//   abort_all()  abort every connection now (a second SIGTERM/SIGINT)
//
// Thread-safety: construct, run() and destroy on one thread; the other
// methods are for that thread too (signal and timer handlers run there),
// except abort_connection(), which any thread may call.
#pragma once

#include "net/socket.hpp"
#include "tunnel/context.hpp"
#include "tunnel/end_reason.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct event_base;

namespace sealpipe::tunnel {

class Worker;
class LoopEvent;

class Server {
public:
    // ${ctx}.workers workers for ${ctx}, which must outlive the Server.
    explicit Server(Context &ctx);
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // The main loop (the first worker's), for timers, signals and the
    // status server. Opaque outside tunnel/.
    event_base *loop() noexcept;

    // Accept on ${listener} from every worker. ${on_close} runs once the
    // listener is closed (a drain, or the end): the daemon removes its Unix
    // socket file then, so that a new instance can take the address.
    void listen(net::UniqueFd listener, std::function<void()> on_close = {});

    // The client: tunnel ${plaintext}, an already connected socket, on the
    // main worker. Returns the connection's id.
    uint64_t adopt(net::UniqueFd plaintext, std::string peer);
    // Abort connection ${id} (any thread); see Connection::abort().
    void abort_connection(uint64_t id, EndReason why, bool linger);
    // Called with the report of each connection that ends, on its worker's
    // thread.
    void on_connection_end(std::function<void(const EndReport &)> fn);
    // Stop once no connection is left (the client's one has ended).
    void stop_when_idle();

    // The graceful stop, for ${why} (the signal's name). ${timeout_ms}: the
    // drain timeout, 0 for none.
    void drain(const char *why, uint64_t timeout_ms);
    bool draining() const noexcept { return draining_; }
    // Abort every connection now and stop; run() then returns true.
    void abort_all(const char *why);
    size_t open_connections() const noexcept;

    // Run every worker until stopped. Returns true if connections were
    // aborted by abort_all().
    bool run();

private:
    void close_listener();
    void worker_drained();
    void stop_all();
    void abort_everywhere();

    Context &ctx_;
    std::vector<std::unique_ptr<Worker>> workers_;
    net::UniqueFd listen_fd_;
    std::function<void()> on_listener_closed_;
    bool draining_ = false;
    bool forced_ = false;
    uint64_t drain_timeout_ms_ = 0;
    std::atomic<size_t> busy_workers_{0}; // during a drain; workers count down
    std::unique_ptr<LoopEvent> drain_timer_;
};

} // namespace sealpipe::tunnel
