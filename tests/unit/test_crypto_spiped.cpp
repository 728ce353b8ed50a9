// SPDX-License-Identifier: BSD-2-Clause
// spiped's protocol (crypto/spiped.hpp): the handshake between our two
// roles, the policies of -f and -g, key rotation on the responder, the
// order of the responder's checks, and the packet format's integrity. The
// byte-for-byte compatibility with spiped itself is proved against the real
// spiped 1.6 by tests/e2e/29-spiped-compat.sh.
#include "crypto/internal.hpp"
#include "crypto/sodium.hpp"
#include "crypto/spiped.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

using namespace sealpipe;
namespace sp = crypto::spiped;
using proto::FsPolicy;

namespace {

crypto::Psk key(uint8_t fill, size_t len = 32) {
    std::vector<uint8_t> material(len, fill);
    return crypto::Psk::from_key_material(material, "test");
}

struct Pair {
    sp::Result ini, res;
    crypto::HandshakeError ini_err = crypto::HandshakeError::None;
    crypto::HandshakeError res_err = crypto::HandshakeError::None;
};

// Run a whole handshake between an initiator with ${ik} and a responder
// with ${rk}; stops at the first error.
Pair run(const crypto::Psk &ik, std::vector<const crypto::Psk *> rk, FsPolicy ip = FsPolicy::Prefer,
         FsPolicy rp = FsPolicy::Prefer) {
    Pair p;
    sp::Handshake i(false, {&ik}, ip), r(true, std::move(rk), rp);
    REQUIRE(i.read_nonce(r.nonce()) == crypto::HandshakeError::None);
    REQUIRE(r.read_nonce(i.nonce()) == crypto::HandshakeError::None);
    uint8_t m1[sp::DH_MSG_LEN], m2[sp::DH_MSG_LEN];
    REQUIRE(i.write_dh(m1) == crypto::HandshakeError::None);
    if ((p.res_err = r.read_dh(m1)) != crypto::HandshakeError::None)
        return p;
    REQUIRE(r.write_dh(m2) == crypto::HandshakeError::None);
    REQUIRE(r.finish(p.res) == crypto::HandshakeError::None);
    if ((p.ini_err = i.read_dh(m2)) != crypto::HandshakeError::None)
        return p;
    REQUIRE(i.finish(p.ini) == crypto::HandshakeError::None);
    return p;
}

// ${from} seals ${len} bytes; ${to} must open them.
bool carries(sp::PacketCipher &from, sp::PacketCipher &to, size_t len) {
    uint8_t pkt[sp::PACKET_LEN];
    for (size_t k = 0; k < len; ++k)
        pkt[k] = static_cast<uint8_t>(k * 7);
    if (!from.seal(pkt, len))
        return false;
    if (to.open(pkt) != len)
        return false;
    for (size_t k = 0; k < len; ++k)
        if (pkt[k] != static_cast<uint8_t>(k * 7))
            return false;
    return true;
}

} // namespace

TEST_CASE("spiped: both roles agree on four keys, and each direction is its own") {
    crypto::init();
    const auto k = key(1);
    Pair p = run(k, {&k});
    REQUIRE(p.res_err == crypto::HandshakeError::None);
    REQUIRE(p.ini_err == crypto::HandshakeError::None);
    CHECK(p.ini.forward_secret);
    CHECK(p.res.forward_secret);
    CHECK(carries(p.ini.send, p.res.recv, 1));
    CHECK(carries(p.ini.send, p.res.recv, sp::PACKET_BODY_MAX));
    CHECK(carries(p.res.send, p.ini.recv, 500));
    // C's keys do not open S's packets.
    uint8_t pkt[sp::PACKET_LEN] = {42};
    REQUIRE(p.res.send.seal(pkt, 1));
    CHECK(p.res.recv.open(pkt) == 0);
}

TEST_CASE("spiped: -f on either side means no forward secrecy on both, and still works") {
    crypto::init();
    const auto k = key(2);
    for (auto [ip, rp] : {std::pair{FsPolicy::Refuse, FsPolicy::Prefer},
                          {FsPolicy::Prefer, FsPolicy::Refuse},
                          {FsPolicy::Refuse, FsPolicy::Refuse}}) {
        Pair p = run(k, {&k}, ip, rp);
        REQUIRE(p.res_err == crypto::HandshakeError::None);
        REQUIRE(p.ini_err == crypto::HandshakeError::None);
        CHECK_FALSE(p.ini.forward_secret);
        CHECK_FALSE(p.res.forward_secret);
        CHECK(carries(p.ini.send, p.res.recv, 10));
        CHECK(carries(p.res.send, p.ini.recv, 10));
    }
}

TEST_CASE("spiped: -g refuses a -f peer, on either side") {
    crypto::init();
    const auto k = key(3);
    CHECK(run(k, {&k}, FsPolicy::Refuse, FsPolicy::Require).res_err ==
          crypto::HandshakeError::PolicyConflict);
    Pair p = run(k, {&k}, FsPolicy::Require, FsPolicy::Refuse);
    CHECK(p.res_err == crypto::HandshakeError::None);
    CHECK(p.ini_err == crypto::HandshakeError::PolicyConflict);
    // -g against a forward-secret peer is fine.
    CHECK(run(k, {&k}, FsPolicy::Require, FsPolicy::Require).ini_err ==
          crypto::HandshakeError::None);
}

TEST_CASE("spiped: y = p - 1 (order 2) is refused under -g, and is no forward secrecy without") {
    // Issue 25 item 6: y^x is then +-1 whatever x, so there is no secret
    // in the DH; spiped accepts it. A key holder's message with y = p - 1:
    // dhmac_C is PBKDF2-SHA256(K, nonce_C || nonce_S, 1)'s first 32 bytes,
    // HMAC(K, salt || 00000001) (one iteration, first block).
    crypto::init();
    const auto k = key(9);
    for (FsPolicy rp : {FsPolicy::Require, FsPolicy::Prefer}) {
        sp::Handshake r(true, {&k}, rp);
        uint8_t nonce_c[sp::NONCE_LEN];
        for (size_t i = 0; i < sizeof nonce_c; ++i)
            nonce_c[i] = static_cast<uint8_t>(i * 13 + 1);
        REQUIRE(r.read_nonce(nonce_c) == crypto::HandshakeError::None);
        uint8_t salt[2 * sp::NONCE_LEN + 4] = {};
        std::memcpy(salt, nonce_c, sp::NONCE_LEN);
        std::memcpy(salt + sp::NONCE_LEN, r.nonce().data(), sp::NONCE_LEN);
        salt[sizeof salt - 1] = 1;
        uint8_t dhmac_c[32];
        crypto::detail::hmac_sha256({k.spiped_key().data(), 32}, {{salt, sizeof salt}},
                                    crypto::detail::Out32(dhmac_c, 32));
        uint8_t m1[sp::DH_MSG_LEN];
        std::memcpy(m1, sp::group_prime().data(), sp::PUB_LEN);
        m1[sp::PUB_LEN - 1] -= 1; // p - 1
        crypto::detail::hmac_sha256({dhmac_c, 32}, {{m1, sp::PUB_LEN}},
                                    crypto::detail::Out32(m1 + sp::PUB_LEN, 32));
        const crypto::HandshakeError e = r.read_dh(m1);
        if (rp == FsPolicy::Require) {
            CHECK(e == crypto::HandshakeError::PolicyConflict);
            continue;
        }
        REQUIRE(e == crypto::HandshakeError::None);
        uint8_t m2[sp::DH_MSG_LEN];
        REQUIRE(r.write_dh(m2) == crypto::HandshakeError::None);
        sp::Result res;
        REQUIRE(r.finish(res) == crypto::HandshakeError::None);
        CHECK_FALSE(res.forward_secret);
    }
}

TEST_CASE("spiped: the responder tries every key, and a wrong key costs it no modexp") {
    crypto::init();
    const auto a = key(4), b = key(5), c = key(6);
    Pair p = run(b, {&a, &b, &c});
    REQUIRE(p.res_err == crypto::HandshakeError::None);
    CHECK(p.res.key_index == 1);
    CHECK(carries(p.ini.send, p.res.recv, 77));

    sp::Handshake i(false, {&c}, FsPolicy::Prefer), r(true, {&a, &b}, FsPolicy::Prefer);
    REQUIRE(i.read_nonce(r.nonce()) == crypto::HandshakeError::None);
    REQUIRE(r.read_nonce(i.nonce()) == crypto::HandshakeError::None);
    uint8_t m1[sp::DH_MSG_LEN];
    REQUIRE(i.write_dh(m1) == crypto::HandshakeError::None);
    const uint64_t before = sp::modexp_count();
    CHECK(r.read_dh(m1) == crypto::HandshakeError::AuthFailed);
    CHECK(sp::modexp_count() == before);
    uint8_t m2[sp::DH_MSG_LEN];
    CHECK(r.write_dh(m2) == crypto::HandshakeError::WrongState); // no answer after that
}

TEST_CASE("spiped: a DH message bound to other nonces, or altered, is refused") {
    crypto::init();
    const auto k = key(7);
    sp::Handshake i(false, {&k}, FsPolicy::Prefer), r(true, {&k}, FsPolicy::Prefer);
    REQUIRE(i.read_nonce(r.nonce()) == crypto::HandshakeError::None);
    REQUIRE(r.read_nonce(i.nonce()) == crypto::HandshakeError::None);
    uint8_t m1[sp::DH_MSG_LEN];
    REQUIRE(i.write_dh(m1) == crypto::HandshakeError::None);
    // A replay to a fresh responder: its nonce differs, so the MAC does.
    sp::Handshake r2(true, {&k}, FsPolicy::Prefer);
    REQUIRE(r2.read_nonce(i.nonce()) == crypto::HandshakeError::None);
    CHECK(r2.read_dh(m1) == crypto::HandshakeError::AuthFailed);
    // One flipped bit in y.
    m1[100] ^= 0x01;
    CHECK(r.read_dh(m1) == crypto::HandshakeError::AuthFailed);
}

TEST_CASE("spiped: a short key file is usable (spiped hashes any length)") {
    crypto::init();
    const auto k = key(8, 0);
    Pair p = run(k, {&k});
    CHECK(p.ini_err == crypto::HandshakeError::None);
    CHECK(key(8, 0).spiped_key()[0] == k.spiped_key()[0]);
    // K is SHA-256 of the file: the empty file's is e3b0c442...
    CHECK(k.spiped_key()[0] == 0xe3);
    CHECK(k.spiped_key()[1] == 0xb0);
    CHECK(k.spiped_key()[31] == 0x55);
}

TEST_CASE("spiped packets: 1,060 bytes, in order, and any change is caught") {
    crypto::init();
    uint8_t keys[64];
    crypto::random_bytes(keys);
    sp::PacketCipher tx{std::span<const uint8_t, 64>(keys)}, rx{std::span<const uint8_t, 64>(keys)};
    uint8_t a[sp::PACKET_LEN], b[sp::PACKET_LEN];
    std::memset(a, 'a', 5);
    std::memset(b, 'b', 5);
    REQUIRE(tx.seal(a, 5));
    REQUIRE(tx.seal(b, 5));
    CHECK(tx.packet_number() == 2);
    // Out of order: packet 1 is not packet 0.
    uint8_t copy[sp::PACKET_LEN];
    std::memcpy(copy, b, sizeof copy);
    CHECK(rx.open(copy) == 0);
    sp::PacketCipher rx2{std::span<const uint8_t, 64>(keys)};
    CHECK(rx2.open(a) == 5);
    CHECK(a[0] == 'a');
    // Every byte is covered: the padding, the length and the tag.
    for (size_t at : {size_t{0}, size_t{600}, size_t{1024}, size_t{1027}, size_t{1059}}) {
        sp::PacketCipher t{std::span<const uint8_t, 64>(keys)},
            r{std::span<const uint8_t, 64>(keys)};
        uint8_t p[sp::PACKET_LEN] = {1, 2, 3};
        REQUIRE(t.seal(p, 3));
        p[at] ^= 0x80;
        CHECK_MESSAGE(r.open(p) == 0, "byte " << at);
    }
    // Lengths outside 1..1024 are never sealed.
    uint8_t p[sp::PACKET_LEN] = {};
    CHECK_FALSE(tx.seal(p, 0));
    CHECK_FALSE(tx.seal(p, sp::PACKET_BODY_MAX + 1));
    // The packet number never wraps.
    tx.set_packet_number_for_tests(UINT64_MAX);
    CHECK_FALSE(tx.seal(p, 1));
}

TEST_CASE("spiped packets: park() lets the contexts go and keeps the keys") {
    crypto::init();
    uint8_t keys[64] = {9};
    sp::PacketCipher tx{std::span<const uint8_t, 64>(keys)}, rx{std::span<const uint8_t, 64>(keys)};
    CHECK(carries(tx, rx, 100));
    tx.park();
    rx.park();
    CHECK(carries(tx, rx, 100));
    sp::PacketCipher moved = std::move(tx);
    CHECK(carries(moved, rx, 3));
    CHECK_FALSE(tx.valid());
}
