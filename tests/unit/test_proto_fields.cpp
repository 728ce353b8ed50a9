// SPDX-License-Identifier: BSD-2-Clause
// Field lists (DESIGN.md §4) and the CONFIRM body that carries the client
// address (§4.3, §5.2): round trips, and every malformed shape refused.
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "proto/fields.hpp"

using namespace sealpipe;
using proto::ProxyAddress;
using testutil::Bytes;

namespace {

ProxyAddress v6_client() {
    ProxyAddress a;
    a.family = ProxyAddress::Family::Inet6;
    for (size_t i = 0; i < 16; ++i) {
        a.src_addr[i] = static_cast<uint8_t>(0x20 + i);
        a.dst_addr[i] = static_cast<uint8_t>(0x80 + i);
    }
    a.src_port = 40001;
    a.dst_port = 5672;
    return a;
}

} // namespace

TEST_SUITE("proto::fields") {

TEST_CASE("a CONFIRM body round-trips a client address, or none") {
    uint8_t buf[proto::CONFIRM_BODY_LEN_MAX];
    std::optional<ProxyAddress> got;
    CHECK(proto::encode_confirm_body(std::nullopt, buf) == 0);
    REQUIRE(proto::parse_confirm_body({}, got));
    CHECK_FALSE(got.has_value());

    const ProxyAddress a = v6_client();
    const size_t n = proto::encode_confirm_body(a, buf);
    CHECK(n == proto::CONFIRM_BODY_LEN_MAX);
    REQUIRE(proto::parse_confirm_body({buf, n}, got));
    REQUIRE(got.has_value());
    CHECK(got->family == ProxyAddress::Family::Inet6);
    CHECK(got->src_addr == a.src_addr);
    CHECK(got->dst_addr == a.dst_addr);
    CHECK(got->src_port == 40001);
    CHECK(got->dst_port == 5672);

    ProxyAddress unix_client; // family Unknown: one byte
    CHECK(proto::encode_confirm_body(unix_client, buf) == 4);
    REQUIRE(proto::parse_confirm_body({buf, 4}, got));
    CHECK(got->family == ProxyAddress::Family::Unknown);
}

TEST_CASE("unknown fields are skipped; broken or repeated ones are refused") {
    uint8_t buf[proto::CONFIRM_BODY_LEN_MAX];
    const size_t n = proto::encode_confirm_body(v6_client(), buf);
    Bytes body(buf, buf + n);
    std::optional<ProxyAddress> got;

    Bytes padded = {0x7f, 0, 3, 9, 9, 9};
    padded.insert(padded.end(), body.begin(), body.end());
    padded.insert(padded.end(), {0x55, 0, 0}); // an unknown, empty field
    CHECK(proto::parse_confirm_body(padded, got));
    CHECK(got.has_value());

    Bytes twice = body;
    twice.insert(twice.end(), body.begin(), body.end());
    CHECK_FALSE(proto::parse_confirm_body(twice, got));

    Bytes cut(body.begin(), body.end() - 1);
    CHECK_FALSE(proto::parse_confirm_body(cut, got));

    Bytes bad_family = body;
    bad_family[3] = 5;
    CHECK_FALSE(proto::parse_confirm_body(bad_family, got));

    Bytes wrong_len = {0x06, 0, 2, 4, 1}; // IPv4 needs 13 bytes
    CHECK_FALSE(proto::parse_confirm_body(wrong_len, got));

    Bytes header_only = {0x06, 0};
    CHECK_FALSE(proto::parse_confirm_body(header_only, got));
}

TEST_CASE("big-endian integers") {
    uint8_t buf[16];
    proto::FieldWriter w(buf);
    w.u64(proto::PayloadField::Timestamp, 0x0102030405060708ull);
    REQUIRE(w.size() == 11);
    CHECK(buf[0] == 0x07);
    CHECK(buf[2] == 8);
    CHECK(proto::get_u64(std::span<const uint8_t, 8>(buf + 3, 8)) == 0x0102030405060708ull);
}

}
