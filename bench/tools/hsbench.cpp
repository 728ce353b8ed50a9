// SPDX-License-Identifier: BSD-2-Clause
// hsbench: micro-benchmarks of the crypto core, one line of JSON each,
// for bench/run and the figures DESIGN.md quotes:
//   - rejecting a first message under N wrong keys (no X25519 happens);
//   - a full handshake, both sides, in memory (forward secret and -f);
//   - sealing and opening 16 KiB records, per cipher;
//   - the same two for spiped's protocol (--protocol spiped).
#include "crypto/handshake.hpp"
#include "crypto/internal.hpp"
#include "crypto/sodium.hpp"
#include "crypto/spiped.hpp"
#include "proto/record.hpp"
#include "reference/aead.hpp"

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

using namespace sealpipe;
using Clock = std::chrono::steady_clock;

namespace {

double us_since(Clock::time_point t0, int n) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

crypto::Psk key(uint8_t seed) {
    std::vector<uint8_t> m(32, seed);
    return crypto::Psk::from_key_material(m, "bench");
}

// ${size} 0: a real first message (about 80 bytes); else a body of that
// many random bytes, the largest a peer may send being HS_BODY_MAX.
void reject(int nkeys, size_t size = 0) {
    const crypto::Psk right = key(1);
    std::vector<crypto::Psk> wrong;
    for (int i = 0; i < nkeys; ++i)
        wrong.push_back(key(static_cast<uint8_t>(10 + i)));
    std::vector<const crypto::Psk *> ptrs;
    for (auto &k : wrong)
        ptrs.push_back(&k);
    crypto::Initiator ini(right, {});
    std::vector<uint8_t> m1(2 + proto::HS_BODY_MAX);
    m1.resize(ini.write_message1(m1));
    if (size > 0) {
        m1.resize(2 + size);
        crypto::random_bytes(std::span<uint8_t>(m1.data() + 2, size));
    }
    const std::span<const uint8_t> body(m1.data() + 2, m1.size() - 2);
    const uint64_t dh_before = crypto::x25519_operation_count();
    const int n = 20000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        crypto::Responder r(ptrs, {});
        if (r.read_message1(body) != crypto::HandshakeError::AuthFailed)
            std::abort();
    }
    const double us = us_since(t0, n);
    std::printf("{\"bench\": \"reject_msg1\", \"keys\": %d, \"bytes\": %zu, \"us\": %.2f, "
                "\"us_per_key\": %.2f, \"x25519_ops\": %llu}\n",
                nkeys, body.size(), us, us / nkeys,
                static_cast<unsigned long long>(crypto::x25519_operation_count() - dh_before));
}

// One X25519 (what a rejection must stay below: DESIGN.md §3.4).
void x25519_cost() {
    std::array<uint8_t, 32> priv{}, pub{}, out{};
    crypto::random_bytes(priv);
    crypto::detail::x25519_public(priv, pub);
    const int n = 20000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        if (!crypto::detail::x25519_dh(priv, pub, out))
            std::abort();
    std::printf("{\"bench\": \"x25519\", \"us\": %.2f}\n", us_since(t0, n));
}

void handshake(proto::FsPolicy policy) {
    const crypto::Psk k = key(1);
    crypto::HandshakeOptions opts;
    opts.fs_policy = policy;
    const int n = 3000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        crypto::Initiator ini(k, opts);
        crypto::Responder res({&k}, opts);
        std::vector<uint8_t> m1(2 + proto::HS_BODY_MAX), m2(2 + proto::HS_BODY_MAX);
        const size_t n1 = ini.write_message1(m1);
        crypto::HandshakeResult ri, rr;
        size_t n2 = 0;
        if (res.read_message1(std::span<const uint8_t>(m1.data() + 2, n1 - 2)) !=
                crypto::HandshakeError::None ||
            res.write_message2(m2, n2, rr) != crypto::HandshakeError::None ||
            ini.read_message2(std::span<const uint8_t>(m2.data() + 2, n2 - 2), ri) !=
                crypto::HandshakeError::None)
            std::abort();
    }
    std::printf("{\"bench\": \"handshake_both_sides\", \"forward_secret\": %s, \"us\": %.1f}\n",
                policy == proto::FsPolicy::Refuse ? "false" : "true", us_since(t0, n));
}

// Seal and open ${n} full records with ${tx} and ${rx}: MB/s of plaintext.
template <proto::RecordCipher C> double record_speed(C tx, C rx) {
    std::vector<uint8_t> buf(proto::RECORD_MAX);
    const int n = 20000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        const size_t len =
            proto::seal_record(tx, proto::RecordType::Data, buf.data(), proto::RECORD_BODY_MAX);
        proto::Record rec;
        proto::RecordError err;
        if (len == 0 ||
            proto::decode_record(rx, buf.data(), len, rec, err) != proto::DecodeStatus::Record)
            std::abort();
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    return static_cast<double>(n) * proto::RECORD_BODY_MAX / secs / 1e6;
}

// The record AEAD: sealpipe's (OpenSSL's EVP) and, for comparison, the
// tests' libsodium reference (tests/reference/aead.hpp).
void records(proto::CipherId cipher, const char *name) {
    crypto::Key32 k;
    crypto::random_bytes(k.span());
    const double evp = record_speed(crypto::CipherState(cipher, k), crypto::CipherState(cipher, k));
    const double ref =
        record_speed(reference::Aead(cipher, k.span()), reference::Aead(cipher, k.span()));
    for (auto [impl, mbs] : {std::pair{"openssl-evp", evp}, std::pair{"libsodium", ref}})
        std::printf("{\"bench\": \"record_seal_open_16k\", \"cipher\": \"%s\", \"impl\": "
                    "\"%s\", \"mb_per_s\": %.0f}\n",
                    name, impl, mbs);
}

// spiped's handshake, both sides, in memory, then one packet each way
// (so that the packet contexts are made, as in a real connection).
void spiped_handshake(proto::FsPolicy policy) {
    namespace sp = crypto::spiped;
    const crypto::Psk k = key(1);
    const int n = policy == proto::FsPolicy::Refuse ? 3000 : 300;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        sp::Handshake c(false, {&k}, policy), s(true, {&k}, policy);
        uint8_t m1[sp::DH_MSG_LEN], m2[sp::DH_MSG_LEN], pkt[sp::PACKET_LEN] = {1};
        sp::Result rc, rs;
        if (c.read_nonce(s.nonce()) != crypto::HandshakeError::None ||
            s.read_nonce(c.nonce()) != crypto::HandshakeError::None ||
            c.write_dh(m1) != crypto::HandshakeError::None ||
            s.read_dh(m1) != crypto::HandshakeError::None ||
            s.write_dh(m2) != crypto::HandshakeError::None ||
            s.finish(rs) != crypto::HandshakeError::None ||
            c.read_dh(m2) != crypto::HandshakeError::None ||
            c.finish(rc) != crypto::HandshakeError::None || !rc.send.seal(pkt, 1) ||
            rs.recv.open(pkt) != 1 || !rs.send.seal(pkt, 1) || rc.recv.open(pkt) != 1)
            std::abort();
    }
    std::printf("{\"bench\": \"spiped_handshake_both_sides\", \"forward_secret\": %s, "
                "\"us\": %.1f}\n",
                policy == proto::FsPolicy::Refuse ? "false" : "true", us_since(t0, n));
}

void spiped_packets() {
    namespace sp = crypto::spiped;
    uint8_t keys[64];
    crypto::random_bytes(keys);
    sp::PacketCipher tx{std::span<const uint8_t, 64>(keys)}, rx{std::span<const uint8_t, 64>(keys)};
    uint8_t pkt[sp::PACKET_LEN] = {};
    const int n = 300000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        if (!tx.seal(pkt, sp::PACKET_BODY_MAX) || rx.open(pkt) != sp::PACKET_BODY_MAX)
            std::abort();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("{\"bench\": \"spiped_packet_seal_open\", \"mb_per_s\": %.0f}\n",
                static_cast<double>(n) * sp::PACKET_BODY_MAX / secs / 1e6);
}

} // namespace

int main() {
    crypto::init();
    reject(1);
    reject(8);
    reject(8, proto::HS_BODY_MAX); // issue 12 item 8: the tag is checked before any hashing
    x25519_cost();
    handshake(proto::FsPolicy::Prefer);
    handshake(proto::FsPolicy::Refuse);
    spiped_handshake(proto::FsPolicy::Prefer);
    spiped_handshake(proto::FsPolicy::Refuse);
    spiped_packets();
    records(proto::CipherId::ChaCha20Poly1305, "chacha20-poly1305");
    if (crypto::aes_gcm_available() && reference::Aead::available(proto::CipherId::Aes256Gcm))
        records(proto::CipherId::Aes256Gcm, "aes-256-gcm");
    return 0;
}
