// SPDX-License-Identifier: BSD-2-Clause
#include "proto/fields.hpp"

#include <cstring>

namespace sealpipe::proto {

void FieldWriter::u16(PayloadField f, uint16_t v) noexcept {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    field(f, b);
}

void FieldWriter::u64(PayloadField f, uint64_t v) noexcept {
    uint8_t b[8];
    for (int i = 7; i >= 0; --i, v >>= 8)
        b[i] = static_cast<uint8_t>(v);
    field(f, b);
}

void FieldWriter::field(PayloadField f, std::span<const uint8_t> value) noexcept {
    const size_t n = value.size();
    buf_[len_++] = static_cast<uint8_t>(f);
    buf_[len_++] = static_cast<uint8_t>(n >> 8);
    buf_[len_++] = static_cast<uint8_t>(n);
    if (n > 0)
        std::memcpy(buf_.data() + len_, value.data(), n);
    len_ += n;
}

uint16_t get_u16(std::span<const uint8_t, 2> v) noexcept {
    return static_cast<uint16_t>(v[0] << 8 | v[1]);
}

uint64_t get_u64(std::span<const uint8_t, 8> v) noexcept {
    uint64_t x = 0;
    for (uint8_t b : v)
        x = x << 8 | b;
    return x;
}

namespace {
size_t addr_len(ProxyAddress::Family f) noexcept {
    return f == ProxyAddress::Family::Inet4 ? 4 : f == ProxyAddress::Family::Inet6 ? 16 : 0;
}
} // namespace

size_t encode_proxy_addr(const ProxyAddress &a, std::span<uint8_t, PROXY_ADDR_MAX> out) noexcept {
    const size_t alen = addr_len(a.family);
    size_t n = 0;
    out[n++] = static_cast<uint8_t>(alen == 0 ? ProxyAddress::Family::Unknown : a.family);
    if (alen == 0)
        return n;
    std::memcpy(out.data() + n, a.src_addr.data(), alen);
    n += alen;
    std::memcpy(out.data() + n, a.dst_addr.data(), alen);
    n += alen;
    out[n++] = static_cast<uint8_t>(a.src_port >> 8);
    out[n++] = static_cast<uint8_t>(a.src_port);
    out[n++] = static_cast<uint8_t>(a.dst_port >> 8);
    out[n++] = static_cast<uint8_t>(a.dst_port);
    return n;
}

bool parse_proxy_addr(std::span<const uint8_t> v, ProxyAddress &out) noexcept {
    if (v.empty())
        return false;
    ProxyAddress a;
    switch (v[0]) {
    case 0: a.family = ProxyAddress::Family::Unknown; break;
    case 4: a.family = ProxyAddress::Family::Inet4; break;
    case 6: a.family = ProxyAddress::Family::Inet6; break;
    default: return false;
    }
    const size_t alen = addr_len(a.family);
    if (v.size() != (alen == 0 ? 1 : 1 + 2 * alen + 4))
        return false;
    if (alen > 0) {
        std::memcpy(a.src_addr.data(), v.data() + 1, alen);
        std::memcpy(a.dst_addr.data(), v.data() + 1 + alen, alen);
        const uint8_t *p = v.data() + 1 + 2 * alen;
        a.src_port = static_cast<uint16_t>(p[0] << 8 | p[1]);
        a.dst_port = static_cast<uint16_t>(p[2] << 8 | p[3]);
    }
    out = a;
    return true;
}

size_t encode_confirm_body(const std::optional<ProxyAddress> &client,
                           std::span<uint8_t, CONFIRM_BODY_LEN_MAX> out) noexcept {
    if (!client)
        return 0;
    uint8_t v[PROXY_ADDR_MAX];
    FieldWriter w(out);
    w.field(PayloadField::ProxyAddr, {v, encode_proxy_addr(*client, v)});
    return w.size();
}

bool parse_confirm_body(std::span<const uint8_t> body,
                        std::optional<ProxyAddress> &client) noexcept {
    client.reset();
    return for_each_field(body, [&](uint8_t type, std::span<const uint8_t> v) {
        if (static_cast<PayloadField>(type) != PayloadField::ProxyAddr)
            return true; // unknown fields are skipped (DESIGN.md §4)
        ProxyAddress a;
        if (client || !parse_proxy_addr(v, a))
            return false;
        client = a;
        return true;
    });
}

} // namespace sealpipe::proto
