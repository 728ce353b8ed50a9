// SPDX-License-Identifier: BSD-2-Clause
// Transport CipherState: in-place operation, counters, rekeying, hard stop.
#include <doctest/doctest.h>

#include "crypto/cipher_state.hpp"
#include "helpers.hpp"
#include "proto/record.hpp"
#include "reference/aead.hpp"

#include <algorithm>

#include <cstring>
#include <vector>

using namespace sealpipe;

namespace {
std::vector<proto::CipherId> ciphers() {
    std::vector<proto::CipherId> v{proto::CipherId::ChaCha20Poly1305};
    // Every cipher is compared with the libsodium reference, which must run
    // it too.
    if (crypto::aes_gcm_available() && reference::Aead::available(proto::CipherId::Aes256Gcm))
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

TEST_CASE("records_under_key counts sealed and opened records, rekey restarts it") {
    crypto::CipherState tx(proto::CipherId::ChaCha20Poly1305, key(4));
    crypto::CipherState rx(proto::CipherId::ChaCha20Poly1305, key(4));
    std::vector<uint8_t> buf(16 + 1);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(tx.seal({}, buf.data(), 1));
        REQUIRE(rx.open({}, buf.data(), buf.size()));
    }
    CHECK(tx.records_under_key() == 3);
    CHECK(rx.records_under_key() == 3);
    tx.rekey();
    CHECK(tx.records_under_key() == 0);
    CHECK(tx.counter() == 3);
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

// The bulk AEAD moved from libsodium to OpenSSL's EVP (same ciphers, same
// nonces): every record must be byte for byte what libsodium seals, and
// each implementation must open the other's.
TEST_SUITE("crypto::cipher_state EVP against libsodium") {

TEST_CASE("EVP seals exactly what the libsodium reference seals, and each opens the other's") {
    const std::vector<size_t> lengths = {0, 1, 15, 16, 17, 255, 1024, 4096, 16383, 16384};
    const std::vector<uint8_t> ad = {1, 2, 3, 4, 5};
    for (proto::CipherId c : ciphers()) {
        CAPTURE(static_cast<int>(c));
        crypto::CipherState evp_tx(c, key(3)), evp_rx(c, key(3));
        reference::Aead ref_tx(c, key(3).span()), ref_rx(c, key(3).span());
        for (size_t len : lengths) {
            CAPTURE(len);
            std::vector<uint8_t> a(len + proto::TAG_LEN), b(len + proto::TAG_LEN);
            for (size_t i = 0; i < len; ++i)
                a[i] = b[i] = static_cast<uint8_t>(i * 13 + len);
            const std::vector<uint8_t> plain(a.begin(), a.begin() + static_cast<long>(len));
            REQUIRE(evp_tx.seal(ad, a.data(), len));
            REQUIRE(ref_tx.seal(ad, b.data(), len));
            CHECK(a == b);
            // Cross-open: libsodium opens EVP's record and EVP libsodium's.
            std::vector<uint8_t> a2 = a, b2 = b;
            REQUIRE(ref_rx.open(ad, a2.data(), a2.size()));
            REQUIRE(evp_rx.open(ad, b2.data(), b2.size()));
            CHECK(std::equal(plain.begin(), plain.end(), a2.begin()));
            CHECK(std::equal(plain.begin(), plain.end(), b2.begin()));
        }
    }
}

TEST_CASE("EVP and libsodium agree across nonce encodings and rekeys") {
    // The counter's bytes sit in different places for ChaChaPoly (little
    // endian) and AESGCM (big endian): check values that fill each byte,
    // and records on both sides of a rekey.
    const std::vector<uint64_t> counters = {0,
                                            1,
                                            255,
                                            256,
                                            65535,
                                            0xffffffffu,
                                            1ull << 32,
                                            1ull << 56,
                                            (1ull << 63) + 5,
                                            proto::NONCE_LIMIT - 2};
    for (proto::CipherId c : ciphers()) {
        for (uint64_t n : counters) {
            CAPTURE(n);
            crypto::CipherState e(c, key(9)), r(c, key(9));
            reference::Aead s(c, key(9).span());
            e.set_counter_for_tests(n);
            s.set_counter(n);
            r.set_counter_for_tests(n);
            for (int round = 0; round < 3; ++round) {
                std::vector<uint8_t> x(100 + proto::TAG_LEN, 0x5a), y = x;
                const bool ok_e = e.seal({}, x.data(), 100);
                const bool ok_s = s.seal({}, y.data(), 100);
                CHECK(ok_e == ok_s);
                if (!ok_e)
                    break; // the hard stop, for both
                CHECK(x == y);
                CHECK(r.open({}, x.data(), x.size()));
                e.rekey();
                s.rekey();
                r.rekey();
            }
        }
    }
}

TEST_CASE("EVP refuses a tampered record and wipes the would-be plaintext") {
    for (proto::CipherId c : ciphers()) {
        crypto::CipherState tx(c, key(4)), rx(c, key(4));
        std::vector<uint8_t> m(64 + proto::TAG_LEN, 0x42);
        REQUIRE(tx.seal({}, m.data(), 64));
        for (size_t at : {size_t{0}, size_t{63}, size_t{64}, m.size() - 1}) {
            std::vector<uint8_t> bad = m;
            bad[at] ^= 0x01;
            CHECK_FALSE(rx.open({}, bad.data(), bad.size()));
            CHECK(std::all_of(bad.begin(), bad.begin() + 64, [](uint8_t v) { return v == 0; }));
            CHECK(rx.counter() == 0);
        }
        std::vector<uint8_t> ad_wrong = m;
        const std::vector<uint8_t> other = {9};
        CHECK_FALSE(rx.open(other, ad_wrong.data(), ad_wrong.size()));
        CHECK(rx.open({}, m.data(), m.size()));
    }
}

TEST_CASE("a moved EVP state keeps its key and its counter") {
    for (proto::CipherId c : ciphers()) {
        crypto::CipherState tx(c, key(5)), rx(c, key(5));
        std::vector<uint8_t> m(10 + proto::TAG_LEN, 1);
        REQUIRE(tx.seal({}, m.data(), 10));
        crypto::CipherState moved = std::move(tx);
        CHECK_FALSE(tx.valid());
        std::vector<uint8_t> m2(10 + proto::TAG_LEN, 2);
        REQUIRE(moved.seal({}, m2.data(), 10));
        REQUIRE(rx.open({}, m.data(), m.size()));
        CHECK(rx.open({}, m2.data(), m2.size()));
    }
}

TEST_CASE("whole records: EVP's match the reference's, before and after a REKEY") {
    // The record layer over either cipher (proto::RecordCipher): the same
    // wire bytes, and each end reads the other's.
    for (proto::CipherId c : ciphers()) {
        CAPTURE(static_cast<int>(c));
        proto::RecordWriter evp(crypto::CipherState(c, key(6)), 0);
        proto::RecordWriter ref(reference::Aead(c, key(6).span()), 0);
        proto::RecordReader read_ref(reference::Aead(c, key(6).span()), false);
        std::vector<uint8_t> a(proto::RECORD_OVERHEAD + 300), b(a.size());
        for (int round = 0; round < 4; ++round) {
            const size_t body = 100 + 50 * static_cast<size_t>(round);
            std::memset(a.data() + proto::RECORD_BODY_OFFSET, 'a' + round, body);
            std::memset(b.data() + proto::RECORD_BODY_OFFSET, 'a' + round, body);
            const bool rekey = round == 2;
            const size_t na = rekey ? evp.seal_rekey(a.data(), 0)
                                    : evp.seal(proto::RecordType::Data, a.data(), body);
            const size_t nb = rekey ? ref.seal_rekey(b.data(), 0)
                                    : ref.seal(proto::RecordType::Data, b.data(), body);
            REQUIRE(na == nb);
            CHECK(std::equal(a.begin(), a.begin() + static_cast<long>(na), b.begin()));
            proto::Record rec;
            proto::RecordError err = proto::RecordError::None;
            REQUIRE(read_ref.next(a.data(), na, rec, err) == proto::DecodeStatus::Record);
            CHECK(rec.type == (rekey ? proto::RecordType::Rekey : proto::RecordType::Data));
        }
    }
}
}
