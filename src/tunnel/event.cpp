// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/event.hpp"
#include "tunnel/loop_event.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <exception>
#include <stdexcept>

namespace sealpipe::tunnel {

void Event::arm_ms(uint64_t ms) noexcept {
    const auto tv = util::timeval_ms(ms);
    evtimer_add(&ev_, &tv);
}

struct LoopEvent::State {
    struct event *ev = nullptr;
    std::function<void()> fn;
    ~State() {
        if (ev != nullptr)
            event_free(ev);
    }
    // No exception may unwind through libevent's C frames.
    static void trampoline(evutil_socket_t, short, void *arg) noexcept {
        auto *s = static_cast<State *>(arg);
        try {
            s->fn();
        } catch (const std::exception &e) {
            log_error("internal event handler failed: %s", e.what());
        }
    }
};

LoopEvent LoopEvent::timer(event_base *base, std::function<void()> fn) {
    LoopEvent e;
    e.state_ = std::make_unique<State>();
    e.state_->fn = std::move(fn);
    e.state_->ev = evtimer_new(base, &State::trampoline, e.state_.get());
    if (e.state_->ev == nullptr)
        throw std::runtime_error("cannot create a timer event");
    return e;
}

LoopEvent LoopEvent::periodic(event_base *base, uint64_t interval_us, std::function<void()> fn) {
    LoopEvent e;
    e.state_ = std::make_unique<State>();
    e.state_->fn = std::move(fn);
    e.state_->ev = event_new(base, -1, EV_PERSIST, &State::trampoline, e.state_.get());
    if (e.state_->ev == nullptr)
        throw std::runtime_error("cannot create a timer event");
    e.arm_us(interval_us);
    return e;
}

LoopEvent LoopEvent::signal(event_base *base, int signo, std::function<void()> fn) {
    LoopEvent e;
    e.state_ = std::make_unique<State>();
    e.state_->fn = std::move(fn);
    e.state_->ev = evsignal_new(base, signo, &State::trampoline, e.state_.get());
    if (e.state_->ev == nullptr)
        throw std::runtime_error("cannot create a signal event");
    event_add(e.state_->ev, nullptr);
    return e;
}

LoopEvent::LoopEvent() noexcept = default;
LoopEvent::LoopEvent(LoopEvent &&) noexcept = default;
LoopEvent &LoopEvent::operator=(LoopEvent &&) noexcept = default;
LoopEvent::~LoopEvent() = default;

void LoopEvent::arm_ms(uint64_t ms) noexcept {
    arm_us(ms * 1000);
}

void LoopEvent::arm_us(uint64_t us) noexcept {
    if (state_ == nullptr)
        return;
    const auto tv = util::timeval_us(us);
    evtimer_add(state_->ev, &tv);
}

void LoopEvent::disarm() noexcept {
    if (state_ != nullptr)
        event_del(state_->ev);
}

} // namespace sealpipe::tunnel
