// SPDX-License-Identifier: BSD-2-Clause
#include "net/socket.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace sealpipe::net {

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

namespace {

// Decide what to do with an existing path before binding a Unix socket.
void clear_stale_unix_socket(const SockAddr &addr, const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return;
        throw ListenError("cannot check " + path + ": " + util::errno_string(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        throw ListenError(path + " exists and is not a socket; refusing to replace it");
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        throw ListenError("cannot create a socket: " + util::errno_string(errno));
    int rc = ::connect(probe, addr.get(), addr.len);
    int err = errno;
    ::close(probe);
    if (rc == 0)
        throw ListenError(path + " is in use by a running process; stop it first");
    if (err != ECONNREFUSED)
        throw ListenError("cannot check whether " + path + " is stale: " + util::errno_string(err));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw ListenError("cannot remove stale socket " + path + ": " + util::errno_string(errno));
    log_info("removed stale socket %s", path.c_str());
}

} // namespace

UniqueFd listen_on(const SockAddr &addr, const ListenOptions &opts) {
    const std::string name = addr.to_string();
    if (addr.is_unix())
        clear_stale_unix_socket(addr, name);

    UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        throw ListenError("cannot create a socket for " + name + ": " + util::errno_string(errno));
    if (!addr.is_unix()) {
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    // [::] takes IPv4 as well, on every system: Linux's default
    // (net.ipv6.bindv6only=0), set explicitly because FreeBSD's default
    // (net.inet6.ip6.v6only=1) and a changed Linux sysctl differ. A
    // pod's probes and Services reach an "[::]:P" sidecar over IPv4.
    if (addr.family() == AF_INET6) {
        int zero = 0;
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0)
            throw ListenError("cannot listen on " + name +
                              " for IPv4 too (IPV6_V6ONLY): " + util::errno_string(errno));
    }

    // For a Unix socket, narrow the umask around bind(2) so the file never
    // exists with wider permissions than asked for, then set them exactly.
    mode_t old_umask = 0;
    if (addr.is_unix() && opts.unix_mode)
        old_umask = ::umask(static_cast<mode_t>(~*opts.unix_mode & 0777));
    int rc = ::bind(fd.get(), addr.get(), addr.len);
    int err = errno;
    if (addr.is_unix() && opts.unix_mode)
        ::umask(old_umask);
    if (rc != 0) {
        std::string hint;
        if (err == EADDRINUSE)
            hint = " (is another instance running?)";
        else if (err == EACCES && !addr.is_unix())
            hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        else if (err == EADDRNOTAVAIL)
            hint = " (no interface has this address)";
        throw ListenError("cannot listen on " + name + ": " + util::errno_string(err) + hint);
    }
    if (addr.is_unix() && opts.unix_mode &&
        ::chmod(name.c_str(), static_cast<mode_t>(*opts.unix_mode)) != 0)
        throw ListenError("cannot set mode of " + name + ": " + util::errno_string(errno));
    if (::listen(fd.get(), opts.backlog) != 0)
        throw ListenError("cannot listen on " + name + ": " + util::errno_string(errno));
    return fd;
}

int connect_start(const SockAddr &target, const SockAddr *bind, int &err) noexcept {
    int fd = ::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
        return -1;
    }
    if (bind != nullptr) {
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, bind->get(), bind->len) != 0) {
            err = errno;
            ::close(fd);
            return -1;
        }
    }
    if (::connect(fd, target.get(), target.len) != 0 && errno != EINPROGRESS) {
        err = errno;
        ::close(fd);
        return -1;
    }
    err = 0;
    return fd;
}

int socket_error(int fd) noexcept {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}

void set_stream_options(int fd, int family, bool keepalive) noexcept {
    if (family != AF_INET && family != AF_INET6)
        return;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (keepalive)
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

void set_listener_stream_options(int fd, bool keepalive) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0)
        set_stream_options(fd, ss.ss_family, keepalive);
}

void close_with_reset(int fd) noexcept {
    if (fd < 0)
        return;
    struct linger lg {
        1, 0
    };
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
}

std::optional<proto::ProxyAddress> proxy_address_of(int fd) noexcept {
    sockaddr_storage peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &pl) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&local), &ll) != 0)
        return std::nullopt;
    proto::ProxyAddress pa;
    if (peer.ss_family == AF_INET && local.ss_family == AF_INET) {
        const auto *p = reinterpret_cast<const sockaddr_in *>(&peer);
        const auto *l = reinterpret_cast<const sockaddr_in *>(&local);
        pa.family = proto::ProxyAddress::Family::Inet4;
        std::memcpy(pa.src_addr.data(), &p->sin_addr, 4);
        std::memcpy(pa.dst_addr.data(), &l->sin_addr, 4);
        pa.src_port = ntohs(p->sin_port);
        pa.dst_port = ntohs(l->sin_port);
    } else if (peer.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
        const auto *p = reinterpret_cast<const sockaddr_in6 *>(&peer);
        const auto *l = reinterpret_cast<const sockaddr_in6 *>(&local);
        pa.family = proto::ProxyAddress::Family::Inet6;
        std::memcpy(pa.src_addr.data(), &p->sin6_addr, 16);
        std::memcpy(pa.dst_addr.data(), &l->sin6_addr, 16);
        pa.src_port = ntohs(p->sin6_port);
        pa.dst_port = ntohs(l->sin6_port);
    }
    return pa;
}

} // namespace sealpipe::net
