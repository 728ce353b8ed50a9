// SPDX-License-Identifier: BSD-2-Clause
// A timer or a signal handler on an event loop, with a typed callback, for
// code outside tunnel/ (the programs in app/), which never sees a libevent
// header. Freed, and removed from its loop, when destroyed.
//
// Thread-safety: created, armed and destroyed on its loop's thread; the
// callback runs there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

struct event;
struct event_base;

namespace sealpipe::tunnel {

class LoopEvent {
public:
    LoopEvent() noexcept;
    // A timer on ${base} that runs ${fn} each time it expires; arm it with
    // arm_ms() or arm_us().
    static LoopEvent timer(event_base *base, std::function<void()> fn);
    // A timer that runs ${fn} every ${interval_us}, from now on.
    static LoopEvent periodic(event_base *base, uint64_t interval_us, std::function<void()> fn);
    // Run ${fn} each time signal ${signo} arrives (the loop's own handler
    // replaces any other: see event_new(3), EV_SIGNAL).
    static LoopEvent signal(event_base *base, int signo, std::function<void()> fn);

    LoopEvent(LoopEvent &&) noexcept;
    LoopEvent &operator=(LoopEvent &&) noexcept;
    ~LoopEvent();

    void arm_ms(uint64_t ms) noexcept;
    void arm_us(uint64_t us) noexcept;
    void disarm() noexcept;
    explicit operator bool() const noexcept { return state_ != nullptr; }

private:
    struct State;
    template <typename Make>
    static LoopEvent make(std::function<void()> fn, const char *what, Make make_event);
    std::unique_ptr<State> state_;
};

} // namespace sealpipe::tunnel
