// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/worker.hpp"
#include "net/address.hpp"
#include "util/clock.hpp"

#include <cerrno>
#include <future>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

namespace {
bool out_of_resources(int err) noexcept {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}
const WireProtocol &protocol_of(const TunnelConfig &cfg) noexcept {
    return cfg.protocol != nullptr ? *cfg.protocol : sealpipe_protocol();
}
} // namespace

Worker::Worker(Context &ctx, unsigned index)
    : ctx_(ctx), index_(index % Stats::MAX_WORKERS), base_(event_base_new()),
      pool_(limits::POOL_FREE_MAX), env_{ctx.cfg,   protocol_of(ctx.cfg), base_,    pool_,
                                         ctx.stats, ctx.replay,           ctx.keys, ctx.targets,
                                         *this},
      handshakes_(ctx.handshake_slots_per_worker(), ctx.stats.handshakes_in_progress),
      confirming_(ctx.handshake_slots_per_worker(), ctx.stats.handshakes_in_progress) {
    if (base_ == nullptr)
        throw std::runtime_error("cannot create an event loop");
    ready_ev_.timer(base_, &Worker::on_ready, this);
    resume_ev_.timer(base_, &Worker::on_resume, this);
    auth_flush_ev_.timer(base_, &Worker::on_auth_log_flush, this);
    wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_fd_)
        throw std::runtime_error("cannot create an eventfd");
    wake_ev_.assign(base_, wake_fd_.get(), EV_READ | EV_PERSIST, &Worker::on_wake, this);
    wake_ev_.add();
}

Worker::~Worker() {
    abort_all(EndReason::Shutdown);
    stop_listening();
    ready_ev_.reset();
    resume_ev_.reset();
    auth_flush_ev_.reset();
    wake_ev_.reset();
    event_base_free(base_);
}

// ---------------------------------------------------------------------------
// Accepting
// ---------------------------------------------------------------------------

void Worker::listen(int fd) {
    auto l = std::make_unique<Listener>();
    l->fd = fd;
    l->ev.assign(base_, fd, EV_READ | EV_PERSIST, &Worker::on_accept, this);
    l->ev.add();
    listeners_.push_back(std::move(l));
    listening_ = true;
    paused_ = false;
}

void Worker::stop_listening() {
    listeners_.clear();
    listening_ = false;
    paused_ = false;
    resume_ev_.disarm();
}

void Worker::warn_at_limit() {
    uint64_t suppressed = 0;
    if (limit_log_.allow(util::now_ms(), suppressed))
        log_warn("connection limit reached (-n %zu): not accepting until a connection ends",
                 ctx_.cfg.max_connections);
    pause_accepting(ctx_.multi_worker() ? limits::LIMIT_RECHECK_MS : 0);
}

void Worker::pause_accepting(uint64_t retry_ms) {
    if (!listening_)
        return;
    if (!paused_) {
        for (auto &l : listeners_)
            l->ev.disarm();
        paused_ = true;
    }
    if (retry_ms > 0)
        resume_ev_.arm_ms(retry_ms);
}

void Worker::resume_accepting() {
    if (!listening_ || !paused_ || ctx_.slots.full())
        return;
    for (auto &l : listeners_)
        l->ev.add(); // level-triggered: fires if the backlog has some
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
        w->pause_accepting(limits::FD_EXHAUSTED_RETRY_MS); // still at the limit: look again later
}

void Worker::accept_batch(int lfd) {
    for (int i = 0; i < limits::ACCEPT_BATCH; ++i)
        if (!accept_one(lfd))
            return;
}

// Accept one connection. False: stop for this wake-up.
bool Worker::accept_one(int lfd) {
    // -e counts a connection from accept; -d only once it authenticates.
    const bool counts_at_accept = ctx_.cfg.role != Role::Decrypt;
    SlotLease slot;
    if (counts_at_accept)
        slot = SlotLease::take(ctx_.slots);
    if (counts_at_accept ? !slot : ctx_.slots.full()) {
        warn_at_limit();
        return false;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd =
        ::accept4(lfd, reinterpret_cast<sockaddr *>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO)
            return true;
        if (out_of_resources(err)) {
            // Out of descriptors: keep running, let connections end, and
            // try again shortly (no busy loop on a readable listener).
            uint64_t suppressed = 0;
            if (resource_log_.allow(util::now_ms(), suppressed))
                log_warn("cannot accept connections: %s; retrying every %llu ms "
                         "(raise the descriptor limit, or lower -n)",
                         util::errno_string(err).c_str(),
                         static_cast<unsigned long long>(limits::FD_EXHAUSTED_RETRY_MS));
            pause_accepting(limits::FD_EXHAUSTED_RETRY_MS);
        } else if (!would_block(err)) {
            log_error("accept: %s", util::errno_string(err).c_str());
        }
        return false;
    }
    start_connection(net::UniqueFd(fd),
                     net::format_sockaddr(reinterpret_cast<sockaddr *>(&ss), len), std::move(slot));
    return true;
}

uint64_t Worker::start_connection(net::UniqueFd fd, std::string peer, SlotLease slot) {
    const uint64_t id = ctx_.next_id.fetch_add(1, std::memory_order_relaxed);
    auto *c = new Connection(env_, id, std::move(fd), std::move(peer), std::move(slot));
    all_.push_back(c);
    ctx_.stats.worker_connections[index_].fetch_add(1, std::memory_order_relaxed);
    // DESIGN.md §8: handshakes have their own slots; a full pool loses its
    // oldest member, never the newcomer.
    handshakes_.join(c->handshake_lease(), *c, ctx_.cfg.role == Role::Decrypt);
    c->start();
    return id;
}

uint64_t Worker::adopt(net::UniqueFd plaintext, std::string peer) {
    return start_connection(std::move(plaintext), std::move(peer), SlotLease::take(ctx_.slots));
}

// ---------------------------------------------------------------------------
// ConnectionOwner
// ---------------------------------------------------------------------------

void Worker::await_confirm(Connection &c) noexcept {
    confirming_.join(c.handshake_lease(), c, true);
}

SlotLease Worker::lease_slot() noexcept {
    SlotLease slot = SlotLease::take(ctx_.slots);
    if (slot && ctx_.slots.full())
        warn_at_limit();
    return slot;
}

void Worker::ended(Connection &, const EndReport &report) noexcept {
    if (on_connection_end)
        on_connection_end(report);
}

void Worker::reap(Connection &c) noexcept {
    all_.remove(&c);
    ready_.remove(&c);
    delete &c;
    if (paused_)
        resume_accepting();
    if (all_.empty() && on_empty)
        on_empty();
}

void Worker::defer(Connection &c) noexcept {
    ready_.push_back(&c);
    if (!ready_scheduled_) {
        // A zero timeout runs after the next poll, so sockets that became
        // ready meanwhile get their turn first.
        ready_ev_.arm_ms(0);
        ready_scheduled_ = true;
    }
}

void Worker::cancel_defer(Connection &c) noexcept {
    ready_.remove(&c);
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
        auth_flush_ev_.arm_ms(auth_log_.interval_ms());
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

// ---------------------------------------------------------------------------
// The loop and other threads
// ---------------------------------------------------------------------------

void Worker::abort_all(EndReason why) {
    all_.for_each([why](Connection *c) { c->abort(why); });
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

void Worker::run() {
    loop_thread_ = std::this_thread::get_id();
    // A stop requested before the loop started (the client's only
    // connection failed at once, in adopt()) still holds: clearing it here
    // made sealpipe wait forever, deaf to SIGTERM.
    if (!stop_requested_)
        event_base_dispatch(base_);
    stop_requested_ = false;
    loop_thread_ = std::thread::id();
}

void Worker::request_stop() {
    stop_requested_ = true;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void Worker::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(tasks_mu_);
        tasks_.push_back(std::move(task));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
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
