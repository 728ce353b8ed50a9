// SPDX-License-Identifier: BSD-2-Clause
#include "net/address.hpp"

#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <netdb.h>
#include <sys/un.h>

namespace sealpipe::net {

namespace {

const char *FORMS = "use [IPv4]:port, [IPv6]:port, host:port or /absolute/path";

bool valid_decimal_port(const std::string &p, bool allow_zero) {
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
        return false;
    unsigned long v = std::stoul(p);
    return v <= 65535 && (allow_zero || v >= 1);
}

} // namespace

std::string format_sockaddr(const sockaddr *sa, socklen_t len) {
    char host[INET6_ADDRSTRLEN] = {};
    switch (sa->sa_family) {
    case AF_INET: {
        const auto *in = reinterpret_cast<const sockaddr_in *>(sa);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return std::string("[") + host + "]:" + std::to_string(ntohs(in->sin_port));
    }
    case AF_INET6: {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(sa);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return std::string("[") + host + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
        const auto *un = reinterpret_cast<const sockaddr_un *>(sa);
        const size_t off = offsetof(sockaddr_un, sun_path);
        if (len <= off || un->sun_path[0] == '\0')
            return "unix";
        return std::string(un->sun_path, strnlen(un->sun_path, len - off));
    }
    default: return "unknown";
    }
}

std::string SockAddr::to_string() const {
    return format_sockaddr(get(), len);
}

namespace {

// "[IPv4]:port" or "[IPv6]:port" (the port optional with ${port_optional}).
Address parse_bracketed(const std::string &text, bool port_optional, Address a) {
    const size_t close = text.find(']');
    if (close == std::string::npos)
        throw AddressError("address '" + text + "' has no closing ']': " + FORMS);
    a.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (rest.empty()) {
        if (!port_optional)
            throw AddressError("address '" + text + "' has no port: " + FORMS);
        a.port.assign(1, '0'); // not = "0": GCC 12 -O3 -Wrestrict false positive
    } else if (rest[0] != ':' || !valid_decimal_port(rest.substr(1), port_optional)) {
        throw AddressError("invalid port in '" + text + "': ports are " +
                           (port_optional ? "0" : "1") + " to 65535");
    } else {
        a.port = rest.substr(1);
    }
    unsigned char buf[sizeof(in6_addr)];
    if (a.host.find(':') != std::string::npos) {
        if (a.host.find('%') != std::string::npos)
            throw AddressError("IPv6 scope ids are not supported in '" + text + "'");
        if (::inet_pton(AF_INET6, a.host.c_str(), buf) != 1)
            throw AddressError("invalid IPv6 address '" + a.host + "' in '" + text + "'");
        a.kind = Address::Kind::Inet6;
    } else {
        if (::inet_pton(AF_INET, a.host.c_str(), buf) != 1)
            throw AddressError("invalid IPv4 address '" + a.host + "' in '" + text + "'");
        a.kind = Address::Kind::Inet4;
    }
    return a;
}

} // namespace

Address parse_address(std::string_view text_in, bool port_optional) {
    const std::string text(text_in);
    Address a;
    a.text = text;
    if (text.empty())
        throw AddressError(std::string("empty address: ") + FORMS);
    // A NUL would cut the name short at c_str() and make it mean another
    // address; other control characters are never part of a valid one.
    for (const char ch : text)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
            throw AddressError("address contains a control character: " + std::string(FORMS));

    if (text[0] == '/') {
        if (text.size() >= sizeof(sockaddr_un::sun_path))
            throw AddressError("Unix socket path '" + text + "' is too long (" +
                               std::to_string(text.size()) + " bytes, at most " +
                               std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")");
        a.kind = Address::Kind::Unix;
        a.path = text;
        return a;
    }

    if (text[0] == '[')
        return parse_bracketed(text, port_optional, std::move(a));

    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
        if (!port_optional)
            throw AddressError("address '" + text + "' has no port: " + FORMS +
                               " (Unix socket paths must be absolute)");
        a.kind = Address::Kind::Host;
        a.host = text;
        a.port.assign(1, '0'); // not = "0": GCC 12 -O3 -Wrestrict false positive
        return a;
    }
    a.kind = Address::Kind::Host;
    a.host = text.substr(0, colon);
    a.port = text.substr(colon + 1);
    if (a.host.empty())
        throw AddressError("address '" + text + "' has no host: " + FORMS);
    if (a.port.empty())
        throw AddressError("address '" + text + "' has no port: " + FORMS);
    if (a.port.find_first_not_of("0123456789") == std::string::npos &&
        !valid_decimal_port(a.port, port_optional))
        throw AddressError("invalid port in '" + text + "': ports are 1 to 65535");
    return a;
}

std::vector<SockAddr> resolve(const Address &a, bool passive) {
    std::vector<SockAddr> out;
    if (a.kind == Address::Kind::Unix) {
        SockAddr s;
        auto *un = reinterpret_cast<sockaddr_un *>(&s.storage);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, a.path.c_str(), a.path.size() + 1);
        s.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + a.path.size() + 1);
        out.push_back(s);
        return out;
    }
    addrinfo hints{};
    hints.ai_family = a.kind == Address::Kind::Inet4   ? AF_INET
                      : a.kind == Address::Kind::Inet6 ? AF_INET6
                                                       : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = (passive ? AI_PASSIVE : 0) |
                     (a.kind == Address::Kind::Host ? 0 : AI_NUMERICHOST | AI_NUMERICSERV);
    addrinfo *res = nullptr;
    int rc = ::getaddrinfo(a.host.c_str(), a.port.c_str(), &hints, &res);
    if (rc != 0)
        throw AddressError("cannot resolve '" + a.text + "': " +
                           (rc == EAI_SYSTEM ? std::string(std::strerror(errno))
                                             : std::string(::gai_strerror(rc))));
    for (addrinfo *p = res; p != nullptr; p = p->ai_next) {
        if (p->ai_addrlen > sizeof(sockaddr_storage))
            continue;
        SockAddr s;
        std::memcpy(&s.storage, p->ai_addr, p->ai_addrlen);
        s.len = p->ai_addrlen;
        out.push_back(s);
    }
    ::freeaddrinfo(res);
    if (out.empty())
        throw AddressError("cannot resolve '" + a.text + "': no usable address");
    return out;
}

} // namespace sealpipe::net
