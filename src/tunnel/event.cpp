// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/event.hpp"
#include "tunnel/loop_event.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <exception>
#include <stdexcept>
#include <string>

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

// A LoopEvent whose event is made by ${make} (given the state to call).
template <typename Make>
LoopEvent LoopEvent::make(std::function<void()> fn, const char *what, Make make_event) {
    LoopEvent e;
    e.state_ = std::make_unique<State>();
    e.state_->fn = std::move(fn);
    e.state_->ev = make_event(e.state_.get());
    if (e.state_->ev == nullptr)
        throw std::runtime_error(std::string("cannot create a ") + what + " event");
    return e;
}

LoopEvent LoopEvent::timer(event_base *base, std::function<void()> fn) {
    return make(std::move(fn), "timer",
                [base](State *st) { return evtimer_new(base, &State::trampoline, st); });
}

LoopEvent LoopEvent::periodic(event_base *base, uint64_t interval_us, std::function<void()> fn) {
    LoopEvent e = make(std::move(fn), "timer", [base](State *st) {
        return event_new(base, -1, EV_PERSIST, &State::trampoline, st);
    });
    e.arm_us(interval_us);
    return e;
}

LoopEvent LoopEvent::signal(event_base *base, int signo, std::function<void()> fn) {
    LoopEvent e = make(std::move(fn), "signal", [base, signo](State *st) {
        return evsignal_new(base, signo, &State::trampoline, st);
    });
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
