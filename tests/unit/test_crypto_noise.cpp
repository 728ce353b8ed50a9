// SPDX-License-Identifier: BSD-2-Clause
// The Noise core against the published cacophony vectors (the NN and
// NNpsk0 patterns, both ciphers): protocol-name hashing, MixHash, MixKey,
// MixKeyAndHash, EncryptAndHash, Split, and the transport nonce encodings
// of CipherState.
#include <doctest/doctest.h>

#include "crypto/cipher_state.hpp"
#include "crypto/internal.hpp"
#include "crypto/noise.hpp"
#include "helpers.hpp"

#include <algorithm>

#include <array>
#include <map>
#include <string>

using namespace sealpipe;
using testutil::Bytes;
using testutil::hex;

namespace {

// Replay one cacophony entry: the NN pattern, or with ${psk} NNpsk0
// ("-> psk, e" then "<- e, ee"), where the psk token is MixKeyAndHash and
// each e token is also a MixKey (Noise §9.2).
void replay(const std::string &name, const std::map<std::string, std::string> &v, bool psk) {
    CAPTURE(name);
    const auto cipher = name.find("AESGCM") != std::string::npos
                            ? proto::CipherId::Aes256Gcm
                            : proto::CipherId::ChaCha20Poly1305;
    if (cipher == proto::CipherId::Aes256Gcm && !crypto::aes_gcm_available()) {
        MESSAGE("AES-GCM not available on this CPU; skipping " << name);
        return;
    }
    crypto::SymmetricState si(name, cipher), sr(name, cipher);
    const Bytes prologue = hex(v.at("prologue"));
    si.mix_hash(prologue);
    sr.mix_hash(prologue);
    if (psk) {
        const Bytes k = hex(v.at("psk"));
        si.mix_key_and_hash(k);
        sr.mix_key_and_hash(k);
    }

    std::array<uint8_t, 32> ie{}, re{}, iep{}, rep{}, dh{};
    Bytes t = hex(v.at("init_ephemeral"));
    std::copy(t.begin(), t.end(), ie.begin());
    t = hex(v.at("resp_ephemeral"));
    std::copy(t.begin(), t.end(), re.begin());
    const size_t tag1 = psk ? 16 : 0; // with a PSK, message 1 is encrypted

    // -> e
    crypto::detail::x25519_public(ie, iep);
    si.mix_hash(iep);
    if (psk)
        si.mix_key(iep);
    Bytes p1 = hex(v.at("payload1")), m1(32 + p1.size() + tag1);
    std::copy(iep.begin(), iep.end(), m1.begin());
    si.encrypt_and_hash(p1, m1.data() + 32);
    CHECK(m1 == hex(v.at("ciphertext1")));
    sr.mix_hash(std::span<const uint8_t>(m1.data(), 32));
    if (psk)
        sr.mix_key(std::span<const uint8_t>(m1.data(), 32));
    Bytes got1(p1.size());
    REQUIRE(sr.decrypt_and_hash(std::span<const uint8_t>(m1).subspan(32), got1.data()));
    CHECK(got1 == p1);

    // <- e, ee
    crypto::detail::x25519_public(re, rep);
    sr.mix_hash(rep);
    if (psk)
        sr.mix_key(rep);
    REQUIRE(crypto::detail::x25519_dh(re, iep, dh));
    sr.mix_key(dh);
    Bytes p2 = hex(v.at("payload2")), m2(32 + p2.size() + 16);
    std::copy(rep.begin(), rep.end(), m2.begin());
    sr.encrypt_and_hash(p2, m2.data() + 32);
    CHECK(m2 == hex(v.at("ciphertext2")));
    si.mix_hash(rep);
    if (psk)
        si.mix_key(rep);
    REQUIRE(crypto::detail::x25519_dh(ie, rep, dh));
    si.mix_key(dh);
    Bytes got2(p2.size());
    REQUIRE(si.decrypt_and_hash(std::span<const uint8_t>(m2).subspan(32), got2.data()));
    CHECK(got2 == p2);
    CHECK(std::equal(si.handshake_hash().begin(), si.handshake_hash().end(),
                     sr.handshake_hash().begin()));
    if (v.count("handshake_hash"))
        CHECK(testutil::to_hex(si.handshake_hash().data(), 32) == v.at("handshake_hash"));

    // Transport: messages 3 and 5 from the initiator, 4 and 6 back.
    crypto::Key32 k1, k2;
    si.split(k1, k2);
    crypto::CipherState i2r(cipher, k1), r2i(cipher, k2);
    for (int i = 3; i <= 6; ++i) {
        CAPTURE(i);
        Bytes msg = hex(v.at("payload" + std::to_string(i)));
        msg.resize(msg.size() + 16);
        auto &cs = (i % 2) ? i2r : r2i;
        REQUIRE(cs.seal({}, msg.data(), msg.size() - 16));
        CHECK(msg == hex(v.at("ciphertext" + std::to_string(i))));
    }
}

} // namespace

TEST_SUITE("crypto::noise") {

TEST_CASE("cacophony NN vectors replay byte for byte") {
    const auto sections = testutil::read_sections("noise_nn_cacophony.txt");
    REQUIRE(sections.size() == 2);
    for (const auto &[name, v] : sections)
        replay(name, v, false);
}

TEST_CASE("cacophony NNpsk0 vectors replay byte for byte") {
    const auto sections = testutil::read_sections("noise_nnpsk0_cacophony.txt");
    REQUIRE(sections.size() == 2);
    for (const auto &[name, v] : sections)
        replay(name, v, true);
}

TEST_CASE("a failed DecryptAndHash leaves the state as it was") {
    // DESIGN.md §3.4: the tag is checked before the ciphertext is hashed;
    // either way a failure must not advance h or the nonce.
    crypto::SymmetricState a("Noise_NNpsk0_25519_ChaChaPoly_SHA256",
                             proto::CipherId::ChaCha20Poly1305);
    a.mix_key_and_hash(Bytes(32, 7));
    crypto::SymmetricState b = a;
    Bytes pt(100, 'p'), ct(116), out(100);
    a.encrypt_and_hash(pt, ct.data());
    Bytes bad = ct;
    bad[50] ^= 1;
    const std::array<uint8_t, 32> h0 = [&] {
        std::array<uint8_t, 32> h{};
        std::copy(b.handshake_hash().begin(), b.handshake_hash().end(), h.begin());
        return h;
    }();
    CHECK_FALSE(b.decrypt_and_hash(bad, out.data()));
    CHECK(std::equal(h0.begin(), h0.end(), b.handshake_hash().begin()));
    REQUIRE(b.decrypt_and_hash(ct, out.data())); // nonce not consumed by the failure
    CHECK(out == pt);
    CHECK(std::equal(a.handshake_hash().begin(), a.handshake_hash().end(),
                     b.handshake_hash().begin()));
    // In place, too.
    crypto::SymmetricState c = a, d = a;
    Bytes pt2(40, 'q'), buf(56);
    c.encrypt_and_hash(pt2, buf.data());
    REQUIRE(d.decrypt_and_hash(buf, buf.data()));
    CHECK(Bytes(buf.begin(), buf.begin() + 40) == pt2);
    CHECK(std::equal(c.handshake_hash().begin(), c.handshake_hash().end(),
                     d.handshake_hash().begin()));
}

TEST_CASE("X25519 refuses a small-order peer key (all-zero output)") {
    std::array<uint8_t, 32> priv{}, zero_point{}, out{};
    priv[0] = 1;
    // The identity point u = 0 gives an all-zero shared secret.
    CHECK_FALSE(crypto::detail::x25519_dh(priv, zero_point, out));
    CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
    // u = 1 has order 4: also all-zero.
    zero_point[0] = 1;
    CHECK_FALSE(crypto::detail::x25519_dh(priv, zero_point, out));
}

}
