// SPDX-License-Identifier: BSD-2-Clause
// The PROXY protocol version 2 header (haproxy's proxy-protocol.txt, §2.2)
// that sealpiped -d --proxy-protocol sends to its target before any data
// (DESIGN.md §4.3). Pure bytes: no sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sealpipe::proto {

// The client connection as -e saw it. Addresses are in network byte order;
// only the first 4 bytes are used for Inet4.
struct ProxyAddress {
    enum class Family : uint8_t { Unknown = 0, Inet4 = 4, Inet6 = 6 };
    Family family = Family::Unknown;
    std::array<uint8_t, 16> src_addr{};
    std::array<uint8_t, 16> dst_addr{};
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
};

// 16 bytes of fixed header plus the largest address block (two IPv6
// addresses and two ports).
inline constexpr size_t PROXY_V2_HEADER_MAX = 16 + 36;

// Write the header for ${addr} into ${out}: PROXY over TCP/IPv4 or
// TCP/IPv6, or LOCAL (no address block) when the address is unknown or
// absent (a Unix-socket client of -e, or the sealpipe client). Returns the
// header's length.
size_t encode_proxy_v2(const std::optional<ProxyAddress> &addr,
                       std::span<uint8_t, PROXY_V2_HEADER_MAX> out) noexcept;

} // namespace sealpipe::proto
