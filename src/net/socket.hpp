// SPDX-License-Identifier: BSD-2-Clause
// Non-blocking socket helpers: listeners (with Unix-socket housekeeping),
// outgoing connects, stream options, and resets.
#pragma once

#include "net/address.hpp"
#include "proto/proxy_v2.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace sealpipe::net {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd &operator=(UniqueFd &&o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept;
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// A listener could not be created; what() is one line for the operator.
class ListenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ListenOptions {
    // Unix sockets: permissions of the socket file (--socket-mode); unset =
    // decided by the umask.
    std::optional<unsigned> unix_mode;
    int backlog = 4096; // the kernel caps it at net.core.somaxconn
};

// Create a non-blocking listening socket on ${addr}. TCP listeners get
// SO_REUSEADDR; IPv6 ones take IPv4 too (IPV6_V6ONLY off, on every
// system: "[::]:P" is every address, IPv4 included). For a Unix socket path that already exists: a socket
// nobody listens on any more (connect gives ECONNREFUSED) is removed as
// stale; a socket in use, or anything that is not a socket, is an error
// (never removed). Throws ListenError.
UniqueFd listen_on(const SockAddr &addr, const ListenOptions &opts);

// Begin a non-blocking connect to ${target}, binding to ${bind} first if
// given. Returns the fd (the connect may still be in progress: wait for
// writability, then check socket_error()). Returns -1 and sets ${err} if
// the attempt failed at once.
int connect_start(const SockAddr &target, const SockAddr *bind, int &err) noexcept;

// The pending error of a socket (SO_ERROR), 0 if none.
int socket_error(int fd) noexcept;

// TCP_NODELAY always, and SO_KEEPALIVE unless ${keepalive} is false (-j),
// on a socket of address family ${family}; a no-op for Unix sockets.
void set_stream_options(int fd, int family, bool keepalive) noexcept;

// The same on a listening socket, whose family is looked up. Sockets it
// accepts inherit both options (Linux and FreeBSD copy them from the
// listener; tests/unit/test_net_socket.cpp checks it), so the accept path
// sets nothing per connection.
void set_listener_stream_options(int fd, bool keepalive) noexcept;

// Close ${fd} so that the peer sees a reset (RST), not a clean EOF:
// SO_LINGER {1, 0} then close(2).
void close_with_reset(int fd) noexcept;

// The addresses of a connected TCP socket ${fd}, for the PROXY protocol:
// the peer as source, our end as destination. Family Unknown for a Unix
// socket or mixed families; nullopt if they cannot be read.
std::optional<proto::ProxyAddress> proxy_address_of(int fd) noexcept;

} // namespace sealpipe::net
