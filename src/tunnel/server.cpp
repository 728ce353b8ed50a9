// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/server.hpp"
#include "tunnel/loop_event.hpp"
#include "tunnel/worker.hpp"
#include "util/log.hpp"

#include <thread>
#include <utility>

namespace sealpipe::tunnel {

Server::Server(Context &ctx) : ctx_(ctx) {
    ctx_.slots.set_limit(ctx_.cfg.max_connections);
    ctx_.replay.set_window_ms(2 * 1000 * uint64_t{ctx_.cfg.handshake.clock_window_s});
    const unsigned n = ctx_.workers == 0 ? 1 : ctx_.workers;
    for (unsigned i = 0; i < n; ++i)
        workers_.push_back(std::make_unique<Worker>(ctx_, i));
    drain_timer_ = std::make_unique<LoopEvent>(LoopEvent::timer(loop(), [this] {
        log_warn("drain timeout (%g s) reached: aborting %zu open connection(s)",
                 static_cast<double>(drain_timeout_ms_) / 1000.0, open_connections());
        abort_everywhere();
        stop_all();
    }));
}

Server::~Server() {
    close_listener();
    drain_timer_.reset();
    workers_.clear();
}

event_base *Server::loop() noexcept {
    return workers_.front()->base();
}

void Server::listen(net::UniqueFd listener, std::function<void()> on_close) {
    listen_fd_ = std::move(listener);
    // Accepted sockets inherit these: set once here, not per connection.
    net::set_listener_stream_options(listen_fd_.get(), ctx_.cfg.keepalive);
    on_listener_closed_ = std::move(on_close);
    for (auto &w : workers_)
        w->listen(listen_fd_.get());
}

void Server::close_listener() {
    if (!listen_fd_)
        return;
    // Every loop lets go of the shared listener before it is closed.
    for (auto &w : workers_)
        w->run_sync([&w] { w->stop_listening(); });
    listen_fd_.reset();
    if (auto fn = std::exchange(on_listener_closed_, nullptr))
        fn();
}

uint64_t Server::adopt(net::UniqueFd plaintext, std::string peer) {
    return workers_.front()->adopt(std::move(plaintext), std::move(peer));
}

void Server::abort_connection(uint64_t id, EndReason why, bool linger) {
    Worker *w = workers_.front().get();
    w->post([w, id, why, linger] { w->abort_connection(id, why, linger); });
}

void Server::on_connection_end(std::function<void(const EndReport &)> fn) {
    for (auto &w : workers_)
        w->on_connection_end = fn;
}

void Server::stop_when_idle() {
    for (auto &w : workers_) {
        Worker *wp = w.get();
        wp->on_empty = [wp] { wp->request_stop(); };
    }
}

size_t Server::open_connections() const noexcept {
    return static_cast<size_t>(ctx_.stats.connections_open.load());
}

void Server::stop_all() {
    for (auto &w : workers_)
        w->request_stop();
}

void Server::worker_drained() {
    if (--busy_workers_ == 0)
        stop_all();
}

void Server::drain(const char *why, uint64_t timeout_ms) {
    if (draining_)
        return;
    // Close the listener at once so a new instance can bind, then let the
    // open connections finish.
    draining_ = true;
    close_listener();
    log_info("%s: stopped accepting; waiting for %zu open connection(s) to finish "
             "(send it again to abort them)",
             why, open_connections());
    drain_timeout_ms_ = timeout_ms;
    if (timeout_ms > 0 && open_connections() > 0)
        drain_timer_->arm_ms(timeout_ms);
    busy_workers_ = workers_.size();
    for (auto &w : workers_) {
        Worker *wp = w.get();
        wp->post([this, wp] {
            wp->on_empty = [this] { worker_drained(); };
            if (wp->connection_count() == 0) {
                wp->on_empty = nullptr;
                worker_drained();
            }
        });
    }
}

void Server::abort_everywhere() {
    for (auto &w : workers_) {
        Worker *wp = w.get();
        wp->post([wp] {
            wp->on_empty = nullptr;
            wp->abort_all(EndReason::Shutdown);
        });
    }
}

void Server::abort_all(const char *why) {
    forced_ = true;
    log_warn("%s again: aborting %zu open connection(s)", why, open_connections());
    abort_everywhere();
    stop_all();
}

bool Server::run() {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < workers_.size(); ++i)
        threads.emplace_back([w = workers_[i].get()] { w->run(); });
    workers_.front()->run();
    stop_all();
    for (auto &t : threads)
        t.join();
    close_listener();
    return forced_;
}

} // namespace sealpipe::tunnel
