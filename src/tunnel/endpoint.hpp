// SPDX-License-Identifier: BSD-2-Clause
// One socket of a connection (the plaintext or the encrypted side): its
// descriptor, its event, and the readiness the connection tracks itself.
// Sockets are registered edge-triggered, once, for reading and writing;
// readiness is set by the event and cleared on EAGAIN, so the data path
// makes no epoll_ctl calls.
//
// Thread-safety: loop thread only.
#pragma once

#include "net/socket.hpp"
#include "tunnel/event.hpp"
#include "tunnel/step.hpp"
#include "util/clock.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace sealpipe::tunnel {

// Where an Endpoint's events go.
struct Watch {
    event_base *base;
    event_callback_fn cb;
    void *arg;
};

struct Endpoint {
    net::UniqueFd fd;
    Event ev;
    bool readable = false;
    bool writable = false;

    bool open() const noexcept { return static_cast<bool>(fd); }
    int get() const noexcept { return fd.get(); }

    // Take ${sock} and watch it.
    void attach(net::UniqueFd sock, const Watch &w) noexcept {
        close(false);
        fd = std::move(sock);
        ev.watch_socket(w.base, fd.get(), w.cb, w.arg);
    }
    // Watch the socket already held.
    void watch(const Watch &w) noexcept { ev.watch_socket(w.base, fd.get(), w.cb, w.arg); }
    // Stop watching and close; with ${reset} the peer sees an RST, not a FIN.
    void close(bool reset) noexcept {
        ev.reset();
        if (fd) {
            if (reset)
                net::close_with_reset(fd.release());
            else
                fd.reset();
        }
        readable = writable = false;
    }
    void note(short what) noexcept {
        if (what & EV_READ)
            readable = true;
        if (what & EV_WRITE)
            writable = true;
    }
};

inline bool would_block(int err) noexcept {
    return err == EAGAIN || err == EWOULDBLOCK;
}

// Send bytes [${off}, ${len}) of ${p} on ${e} while it is writable,
// advancing ${off} and setting ${last_tx_ms} on each send that moved bytes.
// Progress: all sent. Blocked: the socket is full (its readiness is
// cleared). Ended: the send failed with errno ${err}.
inline Step send_pending(Endpoint &e, const uint8_t *p, size_t &off, size_t len,
                         uint64_t &last_tx_ms, int &err) noexcept {
    while (off < len) {
        if (!e.writable)
            return Step::Blocked;
        const ssize_t n = ::send(e.get(), p + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (would_block(errno)) {
                e.writable = false;
                return Step::Blocked;
            }
            if (errno == EINTR)
                continue;
            err = errno;
            return Step::Ended;
        }
        off += static_cast<size_t>(n);
        last_tx_ms = util::now_ms();
    }
    return Step::Progress;
}

} // namespace sealpipe::tunnel
