// SPDX-License-Identifier: BSD-2-Clause
// The PROXY protocol v2 encoder against the layout of haproxy's
// proxy-protocol.txt §2.2: the 12-byte signature, 0x21 (v2, PROXY) or
// 0x20 (v2, LOCAL), the family byte (0x11 TCP over IPv4, 0x21 TCP over
// IPv6, 0x00 UNSPEC), a big-endian length of the address block, then
// source address, destination address, source port, destination port.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "proto/proxy_v2.hpp"

#include <arpa/inet.h>
#include <string>
#include <sys/socket.h> // AF_INET: POSIX puts it here, not in <arpa/inet.h>

using namespace sealpipe;
using proto::ProxyAddress;

namespace {

const std::string SIG = "0d0a0d0a000d0a515549540a";

std::string encode(const std::optional<ProxyAddress> &a) {
    uint8_t out[proto::PROXY_V2_HEADER_MAX];
    const size_t n = proto::encode_proxy_v2(a, out);
    return testutil::to_hex(out, n);
}

} // namespace

TEST_SUITE("proto::proxy_v2") {
TEST_CASE("TCP over IPv4: 16 bytes of header and a 12-byte address block") {
    ProxyAddress a;
    a.family = ProxyAddress::Family::Inet4;
    REQUIRE(inet_pton(AF_INET, "192.0.2.10", a.src_addr.data()) == 1);
    REQUIRE(inet_pton(AF_INET, "198.51.100.7", a.dst_addr.data()) == 1);
    a.src_port = 56324; // 0xdc04
    a.dst_port = 5672;  // 0x1628
    CHECK(encode(a) == SIG + "21" + "11" + "000c" + "c000020a" + "c6336407" + "dc04" + "1628");
}

TEST_CASE("TCP over IPv6: a 36-byte address block") {
    ProxyAddress a;
    a.family = ProxyAddress::Family::Inet6;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::1", a.src_addr.data()) == 1);
    REQUIRE(inet_pton(AF_INET6, "2001:db8::2:3", a.dst_addr.data()) == 1);
    a.src_port = 1;
    a.dst_port = 15672; // 0x3d38
    CHECK(encode(a) == SIG + "21" + "21" + "0024" + "20010db8000000000000000000000001" +
                           "20010db8000000000000000000020003" + "0001" + "3d38");
}

TEST_CASE("an unknown client address is LOCAL with no address block") {
    CHECK(encode(std::nullopt) == SIG + "20" + "00" + "0000");
    ProxyAddress unix_client; // a Unix-socket client of -e
    CHECK(encode(unix_client) == SIG + "20" + "00" + "0000");
}

TEST_CASE("the largest header fits the declared maximum") {
    ProxyAddress a;
    a.family = ProxyAddress::Family::Inet6;
    uint8_t out[proto::PROXY_V2_HEADER_MAX];
    CHECK(proto::encode_proxy_v2(a, out) == proto::PROXY_V2_HEADER_MAX);
}
}
