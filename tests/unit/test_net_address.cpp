// SPDX-License-Identifier: BSD-2-Clause
// Address syntax (man page: ADDRESSES): every accepted form, and a clear
// error for each malformed one. Resolution is tested for literals and Unix
// paths only, which need no DNS.
#include "net/address.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <string>
#include <sys/un.h>

using sealpipe::net::Address;
using sealpipe::net::AddressError;
using sealpipe::net::parse_address;
using sealpipe::net::resolve;

namespace {

std::string error_of(const std::string &text, bool port_optional = false) {
    try {
        parse_address(text, port_optional);
    } catch (const AddressError &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("address: the four forms") {
    const Address v4 = parse_address("[127.0.0.1]:5672");
    CHECK(v4.kind == Address::Kind::Inet4);
    CHECK(v4.host == "127.0.0.1");
    CHECK(v4.port == "5672");

    const Address v6 = parse_address("[::1]:15672");
    CHECK(v6.kind == Address::Kind::Inet6);
    CHECK(v6.host == "::1");
    CHECK(v6.port == "15672");

    const Address host = parse_address("broker.example:amqp");
    CHECK(host.kind == Address::Kind::Host);
    CHECK(host.host == "broker.example");
    CHECK(host.port == "amqp");

    const Address unix_path = parse_address("/run/sealpipe/amqp.sock");
    CHECK(unix_path.kind == Address::Kind::Unix);
    CHECK(unix_path.path == "/run/sealpipe/amqp.sock");
}

TEST_CASE("address: -b takes an address without a port") {
    CHECK(parse_address("[10.0.0.1]", true).port == "0");
    CHECK(parse_address("myhost", true).port == "0");
    CHECK(parse_address("[10.0.0.1]:0", true).port == "0");
    CHECK(error_of("[10.0.0.1]").find("has no port") != std::string::npos);
}

TEST_CASE("address: malformed ones are refused with a reason") {
    CHECK(error_of("").find("empty address") != std::string::npos);
    CHECK(error_of("[127.0.0.1:80").find("no closing ']'") != std::string::npos);
    CHECK(error_of("[127.0.0.1]:0").find("invalid port") != std::string::npos);
    CHECK(error_of("[127.0.0.1]:65536").find("invalid port") != std::string::npos);
    CHECK(error_of("[127.0.0.1]:80x").find("invalid port") != std::string::npos);
    CHECK(error_of("[127.0.0.1]80").find("invalid port") != std::string::npos);
    CHECK(error_of("[300.0.0.1]:80").find("invalid IPv4") != std::string::npos);
    CHECK(error_of("[::g]:80").find("invalid IPv6") != std::string::npos);
    CHECK(error_of("[fe80::1%eth0]:80").find("scope ids") != std::string::npos);
    CHECK(error_of("localhost").find("has no port") != std::string::npos);
    CHECK(error_of("relative/path").find("must be absolute") != std::string::npos);
    CHECK(error_of(":80").find("has no host") != std::string::npos);
    CHECK(error_of("host:").find("has no port") != std::string::npos);
    CHECK(error_of("host:99999").find("invalid port") != std::string::npos);
    CHECK(error_of("/" + std::string(sizeof(sockaddr_un::sun_path), 'x')).find("too long") !=
          std::string::npos);
    // Every message names the accepted forms or the address it refuses.
    CHECK(error_of("").find("[IPv4]:port") != std::string::npos);
}

TEST_CASE("address: a NUL or control character is refused, not cut short") {
    using namespace std::string_literals;
    CHECK(error_of("/tmp/a\0b"s).find("control character") != std::string::npos);
    CHECK(error_of("[127.0.0.1]:80\0 1"s).find("control character") != std::string::npos);
    CHECK(error_of("evil\0.example:80"s).find("control character") != std::string::npos);
    CHECK(error_of("host\n:80").find("control character") != std::string::npos);
}

TEST_CASE("address: literals and paths resolve without DNS") {
    const auto v4 = resolve(parse_address("[127.0.0.1]:5672"), false);
    REQUIRE(v4.size() == 1);
    CHECK(v4[0].family() == AF_INET);
    CHECK(v4[0].to_string() == "[127.0.0.1]:5672");

    const auto v6 = resolve(parse_address("[::1]:15672"), false);
    REQUIRE(v6.size() == 1);
    CHECK(v6[0].family() == AF_INET6);
    CHECK(v6[0].to_string() == "[::1]:15672");

    const auto un = resolve(parse_address("/tmp/s.sock"), true);
    REQUIRE(un.size() == 1);
    CHECK(un[0].is_unix());
    CHECK(un[0].to_string() == "/tmp/s.sock");
}
