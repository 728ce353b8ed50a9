// SPDX-License-Identifier: BSD-2-Clause
#include "proto/proxy_v2.hpp"

#include <cstring>

namespace sealpipe::proto {

namespace {
// proxy-protocol.txt §2.2: the 12-byte signature.
constexpr uint8_t SIGNATURE[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr uint8_t VERSION_LOCAL = 0x20; // version 2, command LOCAL
constexpr uint8_t VERSION_PROXY = 0x21; // version 2, command PROXY
constexpr uint8_t UNSPEC = 0x00;
constexpr uint8_t TCP_OVER_IPV4 = 0x11;
constexpr uint8_t TCP_OVER_IPV6 = 0x21;
} // namespace

size_t encode_proxy_v2(const std::optional<ProxyAddress> &addr,
                       std::span<uint8_t, PROXY_V2_HEADER_MAX> out) noexcept {
    uint8_t *p = out.data();
    std::memcpy(p, SIGNATURE, sizeof SIGNATURE);
    size_t alen = 0;
    if (!addr || addr->family == ProxyAddress::Family::Unknown) {
        p[12] = VERSION_LOCAL;
        p[13] = UNSPEC;
    } else {
        const bool v4 = addr->family == ProxyAddress::Family::Inet4;
        p[12] = VERSION_PROXY;
        p[13] = v4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6;
        alen = v4 ? 4 : 16;
        std::memcpy(p + 16, addr->src_addr.data(), alen);
        std::memcpy(p + 16 + alen, addr->dst_addr.data(), alen);
        uint8_t *ports = p + 16 + 2 * alen;
        ports[0] = static_cast<uint8_t>(addr->src_port >> 8);
        ports[1] = static_cast<uint8_t>(addr->src_port);
        ports[2] = static_cast<uint8_t>(addr->dst_port >> 8);
        ports[3] = static_cast<uint8_t>(addr->dst_port);
    }
    const size_t body = alen == 0 ? 0 : 2 * alen + 4;
    p[14] = static_cast<uint8_t>(body >> 8);
    p[15] = static_cast<uint8_t>(body);
    return 16 + body;
}

} // namespace sealpipe::proto
