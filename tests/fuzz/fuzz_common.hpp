// SPDX-License-Identifier: BSD-2-Clause
// Shared helpers of the libFuzzer targets: a byte reader for structured
// inputs, a checked assertion that traps, fixed keys, and a reference parser
// of handshake payloads written from DESIGN.md §4 (not from handshake.cpp),
// used as an oracle.
#pragma once

#include "crypto/handshake.hpp"
#include "crypto/internal.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/sodium.hpp"
#include "proto/constants.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FUZZ_HAVE_ASAN 1
#endif
#endif

// An invariant of the code under test. On failure, say which one and stop
// with a trap, which libFuzzer reports as a crash with a stack trace.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "\n*** fuzz invariant failed: %s\n*** at %s:%d\n", #cond,         \
                         __FILE__, __LINE__);                                                      \
            std::fflush(stderr);                                                                   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

// UBSan defaults for these binaries (UBSAN_OPTIONS adds to them), so that a
// reproducer run by hand stops with a stack trace. Each target is one
// translation unit, so this is defined once per binary.
extern "C" const char *__ubsan_default_options() {
    return "halt_on_error=1:print_stacktrace=1";
}

namespace fuzz {

// SEALPIPE_FUZZ_TRACE=1 in the environment: say what each input did (for
// reading a reproducer or checking a seed; too slow for fuzzing).
inline bool trace_enabled() {
    static const bool on = [] {
        const char *v = std::getenv("SEALPIPE_FUZZ_TRACE");
        return v != nullptr && *v == '1';
    }();
    return on;
}
#define FUZZ_TRACE(...)                                                                            \
    do {                                                                                           \
        if (::fuzz::trace_enabled())                                                               \
            std::fprintf(stderr, "trace: " __VA_ARGS__);                                           \
    } while (0)

using Bytes = std::vector<uint8_t>;
using sealpipe::proto::CipherId;
using sealpipe::proto::FsPolicy;

// Reads a structured input from the front. Past the end, every read
// returns zeros (or nothing), so every input is a valid program.
class Reader {
public:
    Reader(const uint8_t *data, size_t size) : p_(data), n_(size) {}
    uint8_t u8() { return off_ < n_ ? p_[off_++] : 0; }
    uint16_t u16() {
        const uint16_t hi = u8();
        return static_cast<uint16_t>(hi << 8 | u8());
    }
    uint32_t u24() {
        const uint32_t hi = u16();
        return hi << 8 | u8();
    }
    // Up to ${n} bytes (fewer at the end of the input).
    Bytes bytes(size_t n) {
        n = std::min(n, remaining());
        Bytes out(p_ + off_, p_ + off_ + n);
        off_ += n;
        return out;
    }
    // Exactly 32 bytes, zero-padded.
    std::array<uint8_t, 32> arr32() {
        std::array<uint8_t, 32> a{};
        for (auto &b : a)
            b = u8();
        return a;
    }
    Bytes rest() { return bytes(remaining()); }
    size_t remaining() const { return n_ - off_; }
    bool empty() const { return off_ >= n_; }

private:
    const uint8_t *p_;
    size_t n_;
    size_t off_ = 0;
};

inline std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

// Make [p, p + n) inaccessible to instrumented code (no-op without ASan),
// so that a read past the bytes handed to a decoder is reported even when
// the buffer behind them is larger.
inline void poison(const void *p, size_t n) {
#ifdef FUZZ_HAVE_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}
inline void unpoison(const void *p, size_t n) {
#ifdef FUZZ_HAVE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}

// A PSK from ${len} key-file bytes seed, seed+1, ... (the known-answer vectors
// use seed 0 with lengths 32 and 40).
inline sealpipe::crypto::Psk make_psk(uint8_t seed, size_t len = 32) {
    Bytes material(len);
    for (size_t i = 0; i < len; ++i)
        material[i] = static_cast<uint8_t>(seed + i);
    return sealpipe::crypto::Psk::from_key_material(material, "fuzz");
}

// The cipher mask a side uses for ${sel} (0 = default, 1 = ChaCha20 only,
// 2 = AES-256-GCM only, 3 = both), without AES where the CPU lacks it:
// CipherState must not be given AES-256-GCM then.
inline uint8_t cipher_mask(unsigned sel) {
    constexpr uint8_t chacha = sealpipe::proto::cipher_bit(CipherId::ChaCha20Poly1305);
    constexpr uint8_t aes = sealpipe::proto::cipher_bit(CipherId::Aes256Gcm);
    uint8_t m = sel == 1   ? chacha
                : sel == 2 ? aes
                : sel == 3 ? static_cast<uint8_t>(chacha | aes)
                           : 0;
    if (!sealpipe::crypto::aes_gcm_available()) {
        m = static_cast<uint8_t>(m & ~aes);
        if (sel == 2)
            m = chacha;
    }
    return m;
}

inline FsPolicy policy_of(unsigned v) {
    return v == 1 ? FsPolicy::Require : v == 2 ? FsPolicy::Refuse : FsPolicy::Prefer;
}

// X25519, through the library's own primitive (internal.hpp).
inline std::array<uint8_t, 32> x25519_public(const std::array<uint8_t, 32> &priv) {
    std::array<uint8_t, 32> pub{};
    sealpipe::crypto::detail::x25519_public(priv, pub);
    return pub;
}
// Returns false for the all-zero result (small-order peer key).
inline bool x25519_dh(const std::array<uint8_t, 32> &priv, std::span<const uint8_t, 32> pub,
                      std::array<uint8_t, 32> &out) {
    return sealpipe::crypto::detail::x25519_dh(priv, pub, out);
}

// ---------------------------------------------------------------------------
// Reference payload parser (DESIGN.md §4).
// field = type (u8) || len (u16) || value; unknown types are ignored; a known
// type that repeats or has the wrong length, or a truncated field, makes the
// payload invalid. Values are not judged here; the message rules below do
// that.
// ---------------------------------------------------------------------------
struct RefPayload {
    bool well_formed = true;
    std::optional<uint8_t> version, fs_policy, ciphers, cipher, mode;
    std::optional<uint16_t> heartbeat;
    std::optional<uint64_t> timestamp;
};

inline RefPayload ref_parse_payload(std::span<const uint8_t> p) {
    RefPayload r;
    size_t i = 0;
    auto bad = [&r] {
        r.well_formed = false;
        return r;
    };
    while (i < p.size()) {
        if (p.size() - i < 3)
            return bad();
        const uint8_t type = p[i];
        const size_t len = size_t{p[i + 1]} * 256 + p[i + 2];
        i += 3;
        if (len > p.size() - i)
            return bad();
        const std::span<const uint8_t> v = p.subspan(i, len);
        i += len;
        auto once_u8 = [&](std::optional<uint8_t> &slot) {
            if (slot.has_value() || len != 1)
                return false;
            slot = v[0];
            return true;
        };
        bool ok = true;
        switch (type) {
        case 0x01: ok = once_u8(r.version); break;
        case 0x02: ok = once_u8(r.fs_policy); break;
        case 0x03: ok = once_u8(r.ciphers); break;
        case 0x05: ok = once_u8(r.cipher); break;
        case 0x08: ok = once_u8(r.mode); break;
        case 0x04:
            ok = !r.heartbeat.has_value() && len == 2;
            if (ok)
                r.heartbeat = static_cast<uint16_t>(v[0] * 256 + v[1]);
            break;
        case 0x07:
            ok = !r.timestamp.has_value() && len == 8;
            if (ok) {
                uint64_t t = 0;
                for (uint8_t b : v)
                    t = t * 256 + b;
                r.timestamp = t;
            }
            break;
        default: break; // unknown, ProxyAddr (a CONFIRM field) or Padding: ignored
        }
        if (!ok)
            return bad();
    }
    return r;
}

// msg1 rules (DESIGN.md §4, §4.1, §4.2): Version 2, FsPolicy 0..2, Ciphers
// with bit 0, Heartbeat, Timestamp; all required.
inline bool ref_msg1_payload_ok(const RefPayload &r) {
    return r.well_formed && r.version == sealpipe::proto::PROTOCOL_VERSION && r.fs_policy &&
           *r.fs_policy <= 2 && r.ciphers && (*r.ciphers & 1) != 0 && r.heartbeat && r.timestamp;
}

// msg2 rules: Version 2, Cipher, Heartbeat, Mode.
inline bool ref_msg2_payload_ok(const RefPayload &r) {
    return r.well_formed && r.version == sealpipe::proto::PROTOCOL_VERSION && r.cipher &&
           r.heartbeat && r.mode;
}

// DESIGN.md §7.1.
inline uint16_t ref_heartbeat(uint16_t a, uint16_t b) {
    return (a == 0 || b == 0) ? 0 : std::max(a, b);
}

// The state both sides hold after the prologue (DESIGN.md §3.1).
inline sealpipe::crypto::SymmetricState ref_initial_state() {
    sealpipe::crypto::SymmetricState ss(sealpipe::proto::NOISE_PROTOCOL_NAME,
                                        CipherId::ChaCha20Poly1305);
    ss.mix_hash(bytes_of(sealpipe::proto::PROLOGUE));
    return ss;
}

// Check that ${send} and ${recv} (a finished handshake's transport states)
// use ${send_key} and ${recv_key}: one record each way must go through.
inline bool transport_keys_match(sealpipe::crypto::CipherState &send,
                                 sealpipe::crypto::CipherState &recv, CipherId cipher,
                                 const sealpipe::crypto::Key32 &send_key,
                                 const sealpipe::crypto::Key32 &recv_key) {
    using sealpipe::crypto::CipherState;
    const uint8_t ad[2] = {0x00, 0x15};
    uint8_t buf[5 + sealpipe::proto::TAG_LEN] = {'p', 'r', 'o', 'b', 'e'};
    CipherState peer_recv(cipher, send_key);
    if (!send.seal(ad, buf, 5) || !peer_recv.open(ad, buf, sizeof buf) ||
        std::memcmp(buf, "probe", 5) != 0)
        return false;
    CipherState peer_send(cipher, recv_key);
    std::memcpy(buf, "reply", 5);
    return peer_send.seal(ad, buf, 5) && recv.open(ad, buf, sizeof buf) &&
           std::memcmp(buf, "reply", 5) == 0;
}

} // namespace fuzz
