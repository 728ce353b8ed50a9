// SPDX-License-Identifier: BSD-2-Clause
// RAII for the libevent events of the engine's hot objects. An Event is
// embedded in its owner (no allocation per connection) and is deleted from
// its loop when the owner goes, so no callback can fire on freed memory.
//
// Internal to tunnel/: it includes libevent's struct definitions. Code
// outside tunnel/ and net/ uses tunnel/loop_event.hpp instead.
//
// Thread-safety: loop thread only.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstdint>

namespace sealpipe::tunnel {

class Event {
public:
    Event() = default;
    Event(const Event &) = delete;
    Event &operator=(const Event &) = delete;
    ~Event() { reset(); }

    // Watch ${fd} on ${base}, edge-triggered, for reading and writing, for
    // as long as this Event is set (the data path makes no epoll_ctl calls).
    void watch_socket(event_base *base, int fd, event_callback_fn cb, void *arg) noexcept {
        reset();
        event_assign(&ev_, base, fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET, cb, arg);
        event_add(&ev_, nullptr);
        set_ = true;
    }
    // Watch ${fd} for ${what} (EV_READ, EV_PERSIST...), level-triggered;
    // start with add().
    void assign(event_base *base, int fd, short what, event_callback_fn cb, void *arg) noexcept {
        reset();
        event_assign(&ev_, base, fd, what, cb, arg);
        set_ = true;
    }
    void add() noexcept {
        if (set_)
            event_add(&ev_, nullptr);
    }
    // Make this a timer on ${base}; arm it with arm_ms().
    void timer(event_base *base, event_callback_fn cb, void *arg) noexcept {
        reset();
        evtimer_assign(&ev_, base, cb, arg);
        set_ = true;
    }
    void arm_ms(uint64_t ms) noexcept;
    void disarm() noexcept {
        if (set_)
            event_del(&ev_);
    }
    // Delete the event from its loop; the Event can be set again.
    void reset() noexcept {
        if (set_) {
            event_del(&ev_);
            set_ = false;
        }
    }
    bool set() const noexcept { return set_; }

private:
    struct event ev_ {};
    bool set_ = false;
};

} // namespace sealpipe::tunnel
