// SPDX-License-Identifier: BSD-2-Clause
// What the test helper (sptest) and the benchmark load tool (spbench) share:
// address parsing, blocking send/receive loops and "--name value" argument
// handling. Header-only, plain blocking sockets; never linked into the
// daemon, which has its own address parser (src/net/address.cpp).
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <vector>

namespace toolkit {

using Clock = std::chrono::steady_clock;

// Set by each tool's main(): the name in its messages, and the exit status
// die() uses (the e2e tests read sptest's exit status).
inline const char *tool_name = "tool";
inline int die_status = 1;

[[noreturn]] inline void die(const std::string &msg) {
    std::fprintf(stderr, "%s: %s\n", tool_name, msg.c_str());
    std::exit(die_status);
}

struct Addr {
    sockaddr_storage ss{};
    socklen_t len = 0;
};

// "[1.2.3.4]:p", "[::1]:p", "host:p" or "/path" (a Unix socket).
inline Addr parse_addr(const std::string &s) {
    Addr a;
    if (!s.empty() && s[0] == '/') {
        auto *un = reinterpret_cast<sockaddr_un *>(&a.ss);
        if (s.size() >= sizeof un->sun_path)
            die("socket path too long: " + s);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, s.data(), s.size());
        a.len = sizeof(sockaddr_un);
        return a;
    }
    std::string host, port;
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            die("bad address " + s + " (want [host]:port)");
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        const size_t colon = s.rfind(':');
        if (colon == std::string::npos)
            die("bad address " + s + " (want host:port)");
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
        die("cannot resolve " + s);
    std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
    a.len = res->ai_addrlen;
    freeaddrinfo(res);
    return a;
}

inline void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Loops until all of [p, p+n) is sent or received; false on EOF or error.
inline bool send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

inline bool recv_all(int fd, uint8_t *p, size_t n) {
    while (n > 0) {
        const ssize_t r = ::recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// "--name value": removes both from args and returns the value (or def).
inline std::string arg_value(std::vector<std::string> &args, const std::string &name,
                             const std::string &def = "") {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) {
            std::string v = args[i + 1];
            args.erase(args.begin() + static_cast<long>(i),
                       args.begin() + static_cast<long>(i) + 2);
            return v;
        }
    return def;
}

// "--name": removes it from args and says whether it was there.
inline bool arg_flag(std::vector<std::string> &args, const std::string &name) {
    for (size_t i = 0; i < args.size(); ++i)
        if (args[i] == name) {
            args.erase(args.begin() + static_cast<long>(i));
            return true;
        }
    return false;
}

} // namespace toolkit
