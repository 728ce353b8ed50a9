// SPDX-License-Identifier: BSD-2-Clause
// Socket addresses in spiped's syntax (DESIGN.md does not cover this; the
// man page's ADDRESSES section does):
//   /absolute/path      a Unix socket
//   [a.b.c.d]:port      an IPv4 address
//   [v6:addr]:port      an IPv6 address
//   host:port           a name looked up with getaddrinfo(3); the split is at
//                       the last ':', and the port may be a service name
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <vector>

namespace sealpipe::net {

// A bad address or a failed lookup. what() is one line that quotes the
// address and says what form is expected.
class AddressError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A resolved address ready for socket(2), bind(2) or connect(2).
struct SockAddr {
    sockaddr_storage storage{};
    socklen_t len = 0;

    int family() const noexcept { return storage.ss_family; }
    const sockaddr *get() const noexcept { return reinterpret_cast<const sockaddr *>(&storage); }
    sockaddr *get() noexcept { return reinterpret_cast<sockaddr *>(&storage); }
    bool is_unix() const noexcept { return family() == AF_UNIX; }
    // The TCP port, in host order; 0 for a Unix socket.
    uint16_t port() const noexcept {
        if (family() == AF_INET)
            return ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
        if (family() == AF_INET6)
            return ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
        return 0;
    }
    // "[127.0.0.1]:5672", "[::1]:5672" or "/run/x.sock".
    std::string to_string() const;
};

// Format any socket address as SockAddr::to_string() does ("unix" for an
// unnamed Unix socket).
std::string format_sockaddr(const sockaddr *sa, socklen_t len);

struct Address {
    enum class Kind { Unix, Inet4, Inet6, Host };
    Kind kind = Kind::Host;
    std::string text; // as given
    std::string host; // Host: the name; Inet4/Inet6: the literal
    std::string port; // decimal or a service name ("0" if optional and absent)
    std::string path; // Unix
};

// Parse ${text}. With ${port_optional} (for -b) "[addr]" and "host" alone are
// accepted and mean port 0. Throws AddressError.
Address parse_address(std::string_view text, bool port_optional = false);

// Resolve ${addr} to one or more socket addresses, in getaddrinfo order.
// ${passive}: for a listener (AI_PASSIVE). Literal addresses and Unix paths
// need no lookup. Throws AddressError if nothing is found. May block (DNS):
// call it at start-up or from the resolver thread only.
std::vector<SockAddr> resolve(const Address &addr, bool passive);

} // namespace sealpipe::net
