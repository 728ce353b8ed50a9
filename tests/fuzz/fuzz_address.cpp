// SPDX-License-Identifier: BSD-2-Clause
// fuzz_address: net::parse_address() on the input as a string, with and
// without port_optional. net::resolve() is never called (no DNS here).
// Checked: only AddressError is thrown; what is accepted has the documented
// form (address.hpp): a Unix path that fits sun_path, a bracketed literal
// that inet_pton() accepts, or host:port with a port of 1-65535 when it is
// numeric; and port_optional only ever accepts more, never something else.
#include "fuzz_common.hpp"
#include "net/address.hpp"

#include <arpa/inet.h>
#include <string>
#include <sys/un.h>

using namespace sealpipe;

namespace {

bool decimal(const std::string &p) {
    return !p.empty() && p.find_first_not_of("0123456789") == std::string::npos;
}

// A decimal port within range; 0 only where port_optional allows it.
bool port_ok(const std::string &p, bool port_optional) {
    if (!decimal(p) || p.size() > 5)
        return false;
    const unsigned long v = std::stoul(p);
    return v <= 65535 && (port_optional || v >= 1);
}

void check(const std::string &text, const net::Address &a, bool port_optional) {
    FUZZ_TRACE("'%s'%s: kind %d host '%s' port '%s' path '%s'\n", text.c_str(),
               port_optional ? " (port optional)" : "", static_cast<int>(a.kind), a.host.c_str(),
               a.port.c_str(), a.path.c_str());
    FUZZ_CHECK(a.text == text);
    switch (a.kind) {
    case net::Address::Kind::Unix:
        FUZZ_CHECK(!text.empty() && text[0] == '/');
        FUZZ_CHECK(a.path == text);
        FUZZ_CHECK(a.path.size() < sizeof(sockaddr_un::sun_path));
        break;
    case net::Address::Kind::Inet4:
    case net::Address::Kind::Inet6: {
        const bool v6 = a.kind == net::Address::Kind::Inet6;
        FUZZ_CHECK(text[0] == '[');
        unsigned char buf[sizeof(in6_addr)];
        FUZZ_CHECK(::inet_pton(v6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) == 1);
        if (v6)
            FUZZ_CHECK(a.host.find('%') == std::string::npos); // no scope ids
        FUZZ_CHECK(port_ok(a.port, port_optional));
        if (text == "[" + a.host + "]")
            FUZZ_CHECK(port_optional && a.port == "0");
        else
            FUZZ_CHECK(text == "[" + a.host + "]:" + a.port);
        break;
    }
    case net::Address::Kind::Host:
        FUZZ_CHECK(!a.host.empty() && !a.port.empty());
        FUZZ_CHECK(text[0] != '/' && text[0] != '[');
        if (text == a.host) {
            FUZZ_CHECK(port_optional && a.port == "0" && text.find(':') == std::string::npos);
        } else {
            FUZZ_CHECK(text == a.host + ":" + a.port);
            FUZZ_CHECK(a.port.find(':') == std::string::npos);
            if (decimal(a.port))
                FUZZ_CHECK(port_ok(a.port, port_optional));
        }
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    std::optional<net::Address> strict, relaxed;
    try {
        strict = net::parse_address(text, false);
        check(text, *strict, false);
    } catch (const net::AddressError &e) {
        FUZZ_TRACE("%s\n", e.what());
        FUZZ_CHECK(e.what()[0] != '\0');
    }
    try {
        relaxed = net::parse_address(text, true);
        check(text, *relaxed, true);
    } catch (const net::AddressError &e) {
        FUZZ_CHECK(e.what()[0] != '\0');
    }
    // port_optional accepts a superset, and the same way.
    if (strict) {
        FUZZ_CHECK(relaxed.has_value());
        FUZZ_CHECK(strict->kind == relaxed->kind && strict->host == relaxed->host &&
                   strict->port == relaxed->port && strict->path == relaxed->path);
    }
    return 0;
}
