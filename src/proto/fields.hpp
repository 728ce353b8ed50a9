// SPDX-License-Identifier: BSD-2-Clause
// The field lists of DESIGN.md §4: the handshake payloads and the CONFIRM
// body are sequences of  type (u8) || len (u16be) || value. Pure bytes.
#pragma once

#include "proto/constants.hpp"
#include "proto/proxy_v2.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sealpipe::proto {

// Appends fields to a caller's buffer, which must be large enough (every
// caller writes a fixed, small set of fields into a buffer sized for them).
class FieldWriter {
public:
    explicit FieldWriter(std::span<uint8_t> buf) noexcept : buf_(buf) {}
    void u8(PayloadField f, uint8_t v) noexcept { field(f, {&v, 1}); }
    void u16(PayloadField f, uint16_t v) noexcept;
    void u64(PayloadField f, uint64_t v) noexcept;
    void field(PayloadField f, std::span<const uint8_t> value) noexcept;
    size_t size() const noexcept { return len_; }

private:
    std::span<uint8_t> buf_;
    size_t len_ = 0;
};

// Calls ${fn}(type, value) for each field of ${p}, in order, until it
// returns false. Returns false if ${fn} did, or if the framing is broken
// (a field that runs past the end).
template <typename Fn> bool for_each_field(std::span<const uint8_t> p, Fn &&fn) {
    size_t off = 0;
    while (off < p.size()) {
        if (p.size() - off < 3)
            return false;
        const uint8_t type = p[off];
        const size_t len = static_cast<size_t>(p[off + 1]) << 8 | p[off + 2];
        off += 3;
        if (len > p.size() - off)
            return false;
        if (!fn(type, p.subspan(off, len)))
            return false;
        off += len;
    }
    return true;
}

// Big-endian readers for values whose size the caller has checked.
uint16_t get_u16(std::span<const uint8_t, 2> v) noexcept;
uint64_t get_u64(std::span<const uint8_t, 8> v) noexcept;

// DESIGN.md §4.3: the ProxyAddr value.
inline constexpr size_t PROXY_ADDR_MAX = 1 + 2 * 16 + 4;
size_t encode_proxy_addr(const ProxyAddress &a, std::span<uint8_t, PROXY_ADDR_MAX> out) noexcept;
bool parse_proxy_addr(std::span<const uint8_t> v, ProxyAddress &out) noexcept;

// DESIGN.md §5.2: the CONFIRM body, a field list with an optional
// ProxyAddr. CONFIRM_BODY_MAX bounds what a reader accepts (room for
// fields a later version may add); a writer needs CONFIRM_BODY_LEN_MAX.
inline constexpr size_t CONFIRM_BODY_MAX = 256;
inline constexpr size_t CONFIRM_BODY_LEN_MAX = 3 + PROXY_ADDR_MAX;
size_t encode_confirm_body(const std::optional<ProxyAddress> &client,
                           std::span<uint8_t, CONFIRM_BODY_LEN_MAX> out) noexcept;
// False if the body is malformed; ${client} is set if it names one.
bool parse_confirm_body(std::span<const uint8_t> body,
                        std::optional<ProxyAddress> &client) noexcept;

} // namespace sealpipe::proto
