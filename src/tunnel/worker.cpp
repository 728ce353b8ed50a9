// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/worker.hpp"
#include "net/address.hpp"
#include "util/clock.hpp"

#include <event2/event.h>

#include <cerrno>
#include <future>
#include <thread>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

namespace {
constexpr int ACCEPT_BATCH = 64;
constexpr uint64_t FD_EXHAUSTED_RETRY_MS = 250;
} // namespace

Worker::Worker(Context &ctx) : ctx_(ctx) {
    base_ = event_base_new();
    if (base_ == nullptr)
        throw std::runtime_error("cannot create an event loop");
    evtimer_assign(&ready_ev_, base_, &Worker::on_ready, this);
    evtimer_assign(&resume_ev_, base_, &Worker::on_resume, this);
    evtimer_assign(&auth_flush_ev_, base_, &Worker::on_auth_log_flush, this);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
        throw std::runtime_error("cannot create an eventfd");
    event_assign(&wake_ev_, base_, wake_fd_, EV_READ | EV_PERSIST, &Worker::on_wake, this);
    event_add(&wake_ev_, nullptr);
}

Worker::~Worker() {
    abort_all(EndReason::Shutdown);
    stop_listening();
    event_del(&ready_ev_);
    event_del(&resume_ev_);
    event_del(&auth_flush_ev_);
    event_del(&wake_ev_);
    ::close(wake_fd_);
    event_base_free(base_);
}

void Worker::listen(int fd) {
    auto *l = new Listener{fd, {}};
    event_assign(&l->ev, base_, fd, EV_READ | EV_PERSIST, &Worker::on_accept, this);
    event_add(&l->ev, nullptr);
    listeners_.push_back(l);
    listening_ = true;
    paused_ = false;
}

void Worker::stop_listening() {
    for (Listener *l : listeners_) {
        event_del(&l->ev);
        delete l;
    }
    listeners_.clear();
    listening_ = false;
    paused_ = false;
    event_del(&resume_ev_);
}

bool Worker::at_limit() const noexcept {
    return ctx_.established.load(std::memory_order_relaxed) >= ctx_.cfg.max_connections;
}

void Worker::pause_accepting(uint64_t retry_ms) {
    if (!listening_)
        return;
    if (!paused_) {
        for (Listener *l : listeners_)
            event_del(&l->ev);
        paused_ = true;
    }
    if (retry_ms > 0) {
        const auto tv = util::timeval_ms(retry_ms);
        evtimer_add(&resume_ev_, &tv);
    }
}

void Worker::resume_accepting() {
    if (!listening_ || !paused_ || at_limit())
        return;
    for (Listener *l : listeners_)
        event_add(&l->ev, nullptr); // level-triggered: fires if the backlog has some
    paused_ = false;
}

void Worker::on_accept(evutil_socket_t fd, short, void *arg) noexcept {
    auto *w = static_cast<Worker *>(arg);
    try {
        w->accept_batch(fd);
    } catch (const std::exception &e) {
        log_error("accept: %s", e.what());
    }
}

void Worker::on_resume(evutil_socket_t, short, void *arg) noexcept {
    auto *w = static_cast<Worker *>(arg);
    w->resume_accepting();
    if (w->paused_ && w->listening_)
        w->pause_accepting(FD_EXHAUSTED_RETRY_MS); // still at the limit: look again later
}

void Worker::accept_batch(int lfd) {
    const TunnelConfig &cfg = ctx_.cfg;
    const bool counts_at_accept = cfg.role != Role::Decrypt;
    for (int i = 0; i < ACCEPT_BATCH; ++i) {
        // -e counts a connection from accept; -d only once it authenticates.
        if (counts_at_accept ? !ctx_.try_reserve_slot() : at_limit()) {
            uint64_t suppressed = 0;
            if (limit_log_.allow(util::now_ms(), suppressed))
                log_warn("connection limit reached (-n %zu): not accepting until a connection ends",
                               cfg.max_connections);
            pause_accepting(ctx_.multi_worker() ? 100 : 0);
            return;
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = ::accept4(lfd, reinterpret_cast<sockaddr *>(&ss), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (counts_at_accept)
                ctx_.release_slot();
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO)
                continue;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of descriptors: keep running, let connections end, and
                // try again shortly (no busy loop on a readable listener).
                uint64_t suppressed = 0;
                if (resource_log_.allow(util::now_ms(), suppressed))
                    log_warn("cannot accept connections: %s; retrying every %llu ms "
                                   "(raise the descriptor limit, or lower -n)",
                                   util::errno_string(err).c_str(),
                                   static_cast<unsigned long long>(FD_EXHAUSTED_RETRY_MS));
                pause_accepting(FD_EXHAUSTED_RETRY_MS);
                return;
            }
            log_error("accept: %s", util::errno_string(err).c_str());
            return;
        }
        net::set_stream_options(fd, cfg.keepalive);
        std::string peer = net::format_sockaddr(reinterpret_cast<sockaddr *>(&ss), len);
        const uint64_t id = ctx_.next_id.fetch_add(1, std::memory_order_relaxed);
        auto *c = new Connection(*this, id, net::UniqueFd(fd), std::move(peer));
        all_.push_back(c);
        if (cfg.role == Role::Decrypt) {
            // DESIGN.md §8: handshakes have their own slots; a full set
            // loses its oldest member, never the newcomer.
            while (handshaking_.size() >= ctx_.handshake_slots_per_worker() && !handshaking_.empty())
                handshaking_.front()->abort(EndReason::Evicted);
        } else {
            c->counted_established_ = true; // its slot was reserved above
        }
        handshaking_.push_back(c);
        ctx_.stats.handshakes_in_progress.fetch_add(1, std::memory_order_relaxed);
        c->start();
    }
}

uint64_t Worker::adopt(net::UniqueFd plaintext, std::string peer) {
    const uint64_t id = ctx_.next_id.fetch_add(1, std::memory_order_relaxed);
    auto *c = new Connection(*this, id, std::move(plaintext), std::move(peer));
    all_.push_back(c);
    ctx_.established.fetch_add(1, std::memory_order_relaxed);
    c->counted_established_ = true;
    handshaking_.push_back(c);
    ctx_.stats.handshakes_in_progress.fetch_add(1, std::memory_order_relaxed);
    c->start();
    return id;
}

bool Worker::connection_authenticated(Connection *c) noexcept {
    if (!ctx_.try_reserve_slot())
        return false;
    c->counted_established_ = true;
    if (at_limit()) {
        uint64_t suppressed = 0;
        if (limit_log_.allow(util::now_ms(), suppressed))
            log_warn("connection limit reached (-n %zu): not accepting until a connection ends",
                           ctx_.cfg.max_connections);
        pause_accepting(ctx_.multi_worker() ? 100 : 0);
    }
    return true;
}

void Worker::handshake_done(Connection *c) noexcept {
    if (c->handshake_hook.linked()) {
        handshaking_.remove(c);
        ctx_.stats.handshakes_in_progress.fetch_sub(1, std::memory_order_relaxed);
    }
}

void Worker::connection_finished(Connection *c) noexcept {
    all_.remove(c);
    handshake_done(c);
    ready_.remove(c);
    delete c;
    if (paused_)
        resume_accepting();
    if (all_.empty() && on_empty)
        on_empty();
}

void Worker::abort_all(EndReason why) {
    all_.for_each([why](Connection *c) { c->abort(why); });
}

void Worker::defer(Connection *c) noexcept {
    ready_.push_back(c);
    if (!ready_scheduled_) {
        // A zero timeout runs after the next poll, so sockets that became
        // ready meanwhile get their turn first.
        struct timeval tv {0, 0};
        evtimer_add(&ready_ev_, &tv);
        ready_scheduled_ = true;
    }
}

void Worker::cancel_defer(Connection *c) noexcept {
    ready_.remove(c);
}

void Worker::on_ready(evutil_socket_t, short, void *arg) noexcept {
    auto *w = static_cast<Worker *>(arg);
    w->ready_scheduled_ = false;
    // Only the connections queued so far: resume() may queue its own again.
    size_t n = w->ready_.size();
    while (n-- > 0) {
        Connection *c = w->ready_.pop_front();
        if (c == nullptr)
            break;
        c->resume();
    }
}

bool Worker::allow_auth_log(uint64_t now_ms, uint64_t &suppressed) {
    const bool ok = auth_log_.allow(now_ms, suppressed);
    if (!ok && !auth_flush_armed_) {
        // A burst has started to be suppressed: say how much of it once the
        // window is over, even if no further failure comes to report it.
        const auto tv = util::timeval_ms(auth_log_.interval_ms());
        evtimer_add(&auth_flush_ev_, &tv);
        auth_flush_armed_ = true;
    }
    return ok;
}

void Worker::on_auth_log_flush(evutil_socket_t, short, void *arg) noexcept {
    auto *w = static_cast<Worker *>(arg);
    w->auth_flush_armed_ = false;
    const uint64_t n = w->auth_log_.take_suppressed();
    if (n > 0)
        log_warn("%llu more unauthenticated connection failures not logged",
                 static_cast<unsigned long long>(n));
}

void Worker::run() {
    loop_thread_ = std::this_thread::get_id();
    stop_requested_ = false;
    event_base_dispatch(base_);
    loop_thread_ = std::thread::id();
}

void Worker::request_stop() {
    stop_requested_ = true;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Worker::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(tasks_mu_);
        tasks_.push_back(std::move(task));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Worker::run_sync(std::function<void()> task) {
    if (loop_thread_ == std::thread::id() || loop_thread_ == std::this_thread::get_id()) {
        task();
        return;
    }
    std::promise<void> done;
    auto fut = done.get_future();
    post([&task, &done] {
        task();
        done.set_value();
    });
    fut.wait();
}

void Worker::abort_connection(uint64_t id, EndReason why, bool linger) {
    Connection *found = nullptr;
    all_.for_each([&](Connection *c) {
        if (c->id() == id)
            found = c;
    });
    if (found != nullptr)
        found->abort(why, linger);
}

void Worker::on_wake(evutil_socket_t fd, short, void *arg) noexcept {
    auto *w = static_cast<Worker *>(arg);
    uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(fd, &v, sizeof v);
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard<std::mutex> lock(w->tasks_mu_);
        tasks.swap(w->tasks_);
    }
    for (auto &t : tasks) {
        try {
            t();
        } catch (const std::exception &e) {
            log_error("internal task failed: %s", e.what());
        }
    }
    if (w->stop_requested_)
        event_base_loopbreak(w->base_);
}

} // namespace sealpipe::tunnel
