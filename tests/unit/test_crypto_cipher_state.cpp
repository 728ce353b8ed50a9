// SPDX-License-Identifier: BSD-2-Clause
// Transport CipherState: in-place operation, counters, rekeying, hard stop.
#include <doctest/doctest.h>

#include "crypto/cipher_state.hpp"
#include "helpers.hpp"

#include <algorithm>

#include <cstring>
#include <vector>

using namespace sealpipe;

namespace {
std::vector<proto::CipherId> ciphers() {
    std::vector<proto::CipherId> v{proto::CipherId::ChaCha20Poly1305};
    if (crypto::aes_gcm_available())
        v.push_back(proto::CipherId::Aes256Gcm);
    return v;
}
crypto::Key32 key(uint8_t seed) {
    crypto::Key32 k;
    for (size_t i = 0; i < 32; ++i)
        k.data()[i] = static_cast<uint8_t>(seed * 7 + i);
    return k;
}
} // namespace

TEST_SUITE("crypto::cipher_state") {

TEST_CASE("seal and open in place, in order, with the counter as nonce") {
    for (auto c : ciphers()) {
        CAPTURE(int(c));
        crypto::CipherState tx(c, key(1)), rx(c, key(1));
        const uint8_t ad[2] = {0x12, 0x34};
        for (uint64_t i = 0; i < 100; ++i) {
            std::vector<uint8_t> buf(1000 + i + 16);
            for (size_t j = 0; j < buf.size() - 16; ++j)
                buf[j] = static_cast<uint8_t>(i + j);
            const std::vector<uint8_t> plain(buf.begin(), buf.end() - 16);
            REQUIRE(tx.seal(ad, buf.data(), plain.size()));
            CHECK(std::memcmp(buf.data(), plain.data(), 16) != 0);
            REQUIRE(rx.open(ad, buf.data(), buf.size()));
            CHECK(std::equal(plain.begin(), plain.end(), buf.begin()));
            CHECK(tx.counter() == i + 1);
            CHECK(rx.counter() == i + 1);
        }
    }
}

TEST_CASE("a record opened out of order, twice, or with other AD fails and zeroes output") {
    for (auto c : ciphers()) {
        CAPTURE(int(c));
        crypto::CipherState tx(c, key(2)), rx(c, key(2));
        std::vector<uint8_t> r0(10 + 16, 'a'), r1(10 + 16, 'b');
        REQUIRE(tx.seal({}, r0.data(), 10));
        REQUIRE(tx.seal({}, r1.data(), 10));
        auto r1copy = r1;
        CHECK_FALSE(rx.open({}, r1copy.data(), r1copy.size())); // reordered
        CHECK(std::all_of(r1copy.begin(), r1copy.end() - 16, [](uint8_t b) { return b == 0; }));
        CHECK(rx.counter() == 0);
        auto r0copy = r0;
        REQUIRE(rx.open({}, r0copy.data(), r0copy.size()));
        auto replay = r0;
        CHECK_FALSE(rx.open({}, replay.data(), replay.size())); // replayed
        const uint8_t other_ad[1] = {1};
        auto r1b = r1;
        CHECK_FALSE(rx.open(other_ad, r1b.data(), r1b.size())); // header changed
        CHECK(rx.open({}, r1.data(), r1.size()));
    }
}

TEST_CASE("rekeying is one-way and both ends must do it at the same record") {
    for (auto c : ciphers()) {
        CAPTURE(int(c));
        crypto::CipherState tx(c, key(3)), rx(c, key(3)), stale(c, key(3));
        std::vector<uint8_t> a(5 + 16, 'x');
        REQUIRE(tx.seal({}, a.data(), 5));
        REQUIRE(rx.open({}, a.data(), a.size()));
        tx.rekey();
        std::vector<uint8_t> b(5 + 16, 'y');
        REQUIRE(tx.seal({}, b.data(), 5));
        auto b2 = b;
        // A receiver that did not rekey cannot read it...
        stale.set_counter_for_tests(1);
        CHECK_FALSE(stale.open({}, b2.data(), b2.size()));
        // ...one that did, can.
        rx.rekey();
        CHECK(rx.open({}, b.data(), b.size()));
        CHECK(tx.counter() == 2); // the counter continues across rekeys
    }
}

TEST_CASE("rekey_due after REKEY_AFTER_RECORDS, cleared by rekey") {
    crypto::CipherState tx(proto::CipherId::ChaCha20Poly1305, key(4));
    std::vector<uint8_t> buf(16 + 1);
    for (uint64_t i = 0; i < proto::REKEY_AFTER_RECORDS - 1; ++i)
        REQUIRE(tx.seal({}, buf.data(), 1));
    CHECK_FALSE(tx.rekey_due());
    REQUIRE(tx.seal({}, buf.data(), 1));
    CHECK(tx.rekey_due());
    tx.rekey();
    CHECK_FALSE(tx.rekey_due());
}

TEST_CASE("hard stop: no record is sealed or opened with the last nonce") {
    for (auto c : ciphers()) {
        crypto::CipherState tx(c, key(5)), rx(c, key(5));
        tx.set_counter_for_tests(proto::NONCE_LIMIT - 1);
        rx.set_counter_for_tests(proto::NONCE_LIMIT - 1);
        std::vector<uint8_t> buf(3 + 16, 'z');
        REQUIRE(tx.seal({}, buf.data(), 3)); // nonce 2^64-2 is the last one used
        REQUIRE(rx.open({}, buf.data(), buf.size()));
        std::vector<uint8_t> more(3 + 16, 'z');
        CHECK_FALSE(tx.seal({}, more.data(), 3));
        CHECK(std::string(more.begin(), more.begin() + 3) == "zzz"); // untouched
        CHECK_FALSE(rx.open({}, more.data(), more.size()));
    }
}

TEST_CASE("an unset state refuses to work") {
    crypto::CipherState cs;
    std::vector<uint8_t> buf(32);
    CHECK_FALSE(cs.valid());
    CHECK_FALSE(cs.seal({}, buf.data(), 16));
    CHECK_FALSE(cs.open({}, buf.data(), buf.size()));
}

}
