// SPDX-License-Identifier: BSD-2-Clause
// The handshake state machine: known-answer vectors from the independent
// reference implementation, every mode and cipher in memory, tampering with
// every byte, and rejection of a wrong key before any X25519 operation.
#include <doctest/doctest.h>

#include "crypto/handshake.hpp"
#include "crypto/internal.hpp"
#include "helpers.hpp"
#include "proto/fields.hpp"
#include "proto/record.hpp"

#include <cstring>

using namespace sealpipe;
using testutil::Bytes;
using testutil::hex;

namespace {

constexpr uint8_t CHACHA = proto::cipher_bit(proto::CipherId::ChaCha20Poly1305);
constexpr uint8_t BOTH = CHACHA | proto::cipher_bit(proto::CipherId::Aes256Gcm);

crypto::Psk make_psk(uint8_t seed) {
    Bytes material(32);
    for (size_t i = 0; i < material.size(); ++i)
        material[i] = static_cast<uint8_t>(seed + i);
    return crypto::Psk::from_key_material(material, "test");
}

std::array<uint8_t, 32> arr32(const Bytes &b) {
    std::array<uint8_t, 32> a{};
    REQUIRE(b.size() == 32);
    std::copy(b.begin(), b.end(), a.begin());
    return a;
}

struct Pair {
    crypto::HandshakeResult i, r;
    crypto::HandshakeError ei = crypto::HandshakeError::WrongState;
    crypto::HandshakeError er = crypto::HandshakeError::WrongState;
};

// Run a full handshake in memory.
Pair run(const crypto::Psk &ik, std::vector<const crypto::Psk *> rk, crypto::HandshakeOptions io,
         crypto::HandshakeOptions ro) {
    Pair p;
    crypto::Initiator ini(ik, io);
    crypto::Responder res(std::move(rk), ro);
    std::vector<uint8_t> m1(2 + proto::HS_BODY_MAX), m2(2 + proto::HS_BODY_MAX);
    size_t n1 = ini.write_message1(m1);
    REQUIRE(n1 > 2);
    p.er = res.read_message1(std::span<const uint8_t>(m1).subspan(2, n1 - 2));
    size_t n2 = 0;
    if (p.er != crypto::HandshakeError::None) {
        // After any failed msg1, even one that authenticated (a policy
        // conflict), the responder must refuse to answer.
        crypto::HandshakeResult ignored;
        CHECK(res.write_message2(m2, n2, ignored) == crypto::HandshakeError::WrongState);
        CHECK(n2 == 0);
        return p;
    }
    p.er = res.write_message2(m2, n2, p.r);
    if (p.er != crypto::HandshakeError::None)
        return p;
    p.ei = ini.read_message2(std::span<const uint8_t>(m2).subspan(2, n2 - 2), p.i);
    return p;
}

// Send one DATA record each way and check it arrives intact.
void check_transport(Pair &p) {
    for (int dir = 0; dir < 2; ++dir) {
        auto &tx = dir == 0 ? p.i.send : p.r.send;
        auto &rx = dir == 0 ? p.r.recv : p.i.recv;
        uint8_t buf[64] = {};
        std::memcpy(buf + proto::RECORD_BODY_OFFSET, "hello", 5);
        size_t n = proto::seal_record(tx, proto::RecordType::Data, buf, 5);
        REQUIRE(n == 5 + proto::RECORD_OVERHEAD);
        proto::Record rec;
        proto::RecordError err;
        REQUIRE(proto::decode_record(rx, buf, n, rec, err) == proto::DecodeStatus::Record);
        CHECK(rec.type == proto::RecordType::Data);
        CHECK(std::memcmp(rec.body, "hello", 5) == 0);
    }
}

} // namespace

TEST_SUITE("crypto::handshake") {

TEST_CASE("known-answer vectors from the independent reference implementation") {
    const auto sections = testutil::read_sections("sealpipe_v2.txt");
    REQUIRE(sections.size() >= 4);
    for (const auto &[name, v] : sections) {
        CAPTURE(name);
        const auto cipher = static_cast<proto::CipherId>(std::stoi(v.at("cipher")));
        if (cipher == proto::CipherId::Aes256Gcm && !crypto::aes_gcm_available()) {
            MESSAGE("AES-GCM not available on this CPU; skipping " << name);
            continue;
        }
        const Bytes material = hex(v.at("key_material"));
        crypto::Psk psk = crypto::Psk::from_key_material(material, "vector");
        CHECK(Bytes(psk.bytes().begin(), psk.bytes().end()) == hex(v.at("psk")));
        CHECK(psk.fingerprint() == v.at("fingerprint"));

        crypto::HandshakeOptions io, ro;
        io.fs_policy = static_cast<proto::FsPolicy>(std::stoi(v.at("i_policy")));
        io.ciphers = static_cast<uint8_t>(std::stoi(v.at("i_ciphers")));
        io.heartbeat_seconds = static_cast<uint16_t>(std::stoi(v.at("i_heartbeat")));
        io.fixed_ephemeral_for_tests = arr32(hex(v.at("i_ephemeral")));
        ro.fs_policy = static_cast<proto::FsPolicy>(std::stoi(v.at("r_policy")));
        ro.ciphers = static_cast<uint8_t>(std::stoi(v.at("r_ciphers")));
        ro.heartbeat_seconds = static_cast<uint16_t>(std::stoi(v.at("r_heartbeat")));
        ro.fixed_ephemeral_for_tests = arr32(hex(v.at("r_ephemeral")));
        io.unix_time_s = std::stoull(v.at("i_time"));
        ro.unix_time_s = std::stoull(v.at("r_time"));
        const Bytes proxy = hex(v.at("proxy"));
        std::optional<crypto::ProxyInfo> client;
        if (!proxy.empty()) {
            REQUIRE(proxy.size() == 13);
            crypto::ProxyInfo pi;
            pi.family = crypto::ProxyInfo::Family::Inet4;
            std::copy(proxy.begin() + 1, proxy.begin() + 5, pi.src_addr.begin());
            std::copy(proxy.begin() + 5, proxy.begin() + 9, pi.dst_addr.begin());
            pi.src_port = static_cast<uint16_t>(proxy[9] << 8 | proxy[10]);
            pi.dst_port = static_cast<uint16_t>(proxy[11] << 8 | proxy[12]);
            client = pi;
        }

        crypto::Initiator ini(psk, io);
        crypto::Responder res({&psk}, ro);
        Bytes m1(2 + proto::HS_BODY_MAX), m2(2 + proto::HS_BODY_MAX);
        m1.resize(ini.write_message1(m1));
        CHECK(testutil::to_hex(m1.data(), m1.size()) == v.at("msg1"));
        REQUIRE(res.read_message1(std::span<const uint8_t>(m1).subspan(2)) ==
                crypto::HandshakeError::None);
        crypto::HandshakeResult ri, rr;
        size_t n2 = 0;
        REQUIRE(res.write_message2(m2, n2, rr) == crypto::HandshakeError::None);
        m2.resize(n2);
        CHECK(testutil::to_hex(m2.data(), m2.size()) == v.at("msg2"));
        REQUIRE(ini.read_message2(std::span<const uint8_t>(m2).subspan(2), ri) ==
                crypto::HandshakeError::None);

        for (auto *r : {&ri, &rr}) {
            CHECK(r->cipher == cipher);
            CHECK(r->forward_secret == (v.at("forward_secret") == "1"));
            CHECK(r->heartbeat_seconds == std::stoi(v.at("heartbeat")));
            CHECK(testutil::to_hex(r->handshake_hash.data(), 32) == v.at("handshake_hash"));
        }

        // Records, initiator to responder: CONFIRM, DATA, PING, REKEY, DATA,
        // CLOSE, sealed by our writer and compared with the reference.
        proto::RecordWriter w(std::move(ri.send), 0);
        Bytes out;
        auto emit = [&](proto::RecordType t, const Bytes &body) {
            Bytes rec(body.size() + proto::RECORD_OVERHEAD);
            std::copy(body.begin(), body.end(), rec.begin() + proto::RECORD_BODY_OFFSET);
            size_t n = t == proto::RecordType::Rekey ? w.seal_rekey(rec.data(), 0)
                                                     : w.seal(t, rec.data(), body.size());
            REQUIRE(n == rec.size());
            out.insert(out.end(), rec.begin(), rec.end());
        };
        const Bytes ping = {0, 1, 2, 3, 4, 5, 6, 7};
        uint8_t cb[proto::CONFIRM_BODY_LEN_MAX];
        emit(proto::RecordType::Confirm, Bytes(cb, cb + proto::encode_confirm_body(client, cb)));
        emit(proto::RecordType::Data, {'A', 'M', 'Q', 'P', 0, 0, 9, 1});
        emit(proto::RecordType::Ping, ping);
        emit(proto::RecordType::Rekey, {});
        emit(proto::RecordType::Data, Bytes{'a', 'f', 't', 'e', 'r', ' ', 'r', 'e', 'k', 'e', 'y'});
        emit(proto::RecordType::Close, {});
        CHECK(testutil::to_hex(out.data(), out.size()) == v.at("records_i2r"));

        // The responder reads the reference records, REKEY included.
        Bytes wire = hex(v.at("records_i2r"));
        proto::RecordReader reader(std::move(rr.recv), /*expect_confirm=*/true);
        std::vector<proto::RecordType> types;
        size_t off = 0;
        while (off < wire.size()) {
            proto::Record rec;
            proto::RecordError err;
            REQUIRE(reader.next(wire.data() + off, wire.size() - off, rec, err) ==
                    proto::DecodeStatus::Record);
            types.push_back(rec.type);
            if (rec.type == proto::RecordType::Confirm) {
                // The client address, now under the session keys (§4.3).
                std::optional<crypto::ProxyInfo> got;
                REQUIRE(proto::parse_confirm_body({rec.body, rec.body_len}, got));
                CHECK(got.has_value() == !proxy.empty());
                if (got) {
                    CHECK(got->src_port == 51234);
                    CHECK(got->dst_port == 5672);
                }
            }
            off += rec.wire_len;
        }
        CHECK(types.size() == 6);
        CHECK(reader.close_received());

        // Responder to initiator: PONG, DATA, RESET.
        Bytes back = hex(v.at("records_r2i"));
        proto::RecordReader ireader(std::move(ri.recv), false);
        off = 0;
        int n = 0;
        while (off < back.size()) {
            proto::Record rec;
            proto::RecordError err;
            REQUIRE(ireader.next(back.data() + off, back.size() - off, rec, err) ==
                    proto::DecodeStatus::Record);
            if (n == 1) {
                CHECK(rec.body_len == 300);
                CHECK(rec.body[0] == 'x');
            }
            off += rec.wire_len;
            ++n;
        }
        CHECK(n == 3);
    }
}

TEST_CASE("every mode and cipher completes and carries data both ways") {
    const crypto::Psk k = make_psk(1);
    const uint8_t masks[] = {CHACHA, BOTH};
    for (uint8_t im : masks) {
        for (uint8_t rm : masks) {
            for (int ip = 0; ip < 3; ++ip) {
                for (int rp = 0; rp < 3; ++rp) {
                    if (((im | rm) & ~CHACHA) && !crypto::aes_gcm_available())
                        continue;
                    crypto::HandshakeOptions io, ro;
                    io.ciphers = im;
                    ro.ciphers = rm;
                    io.fs_policy = static_cast<proto::FsPolicy>(ip);
                    ro.fs_policy = static_cast<proto::FsPolicy>(rp);
                    CAPTURE(ip);
                    CAPTURE(rp);
                    CAPTURE(int(im));
                    CAPTURE(int(rm));
                    Pair p = run(k, {&k}, io, ro);
                    const bool conflict = (ip == 1 && rp == 2) || (ip == 2 && rp == 1);
                    if (conflict) {
                        CHECK(p.er == crypto::HandshakeError::PolicyConflict);
                        continue;
                    }
                    REQUIRE(p.er == crypto::HandshakeError::None);
                    REQUIRE(p.ei == crypto::HandshakeError::None);
                    CHECK(p.i.forward_secret == (ip != 2 && rp != 2));
                    CHECK(p.i.forward_secret == p.r.forward_secret);
                    const auto want = ((im & rm) & ~CHACHA) ? proto::CipherId::Aes256Gcm
                                                            : proto::CipherId::ChaCha20Poly1305;
                    CHECK(p.i.cipher == want);
                    CHECK(p.r.cipher == want);
                    CHECK(p.i.handshake_hash == p.r.handshake_hash);
                    check_transport(p);
                }
            }
        }
    }
}

TEST_CASE("a responder without the key rejects msg1 before any X25519 operation") {
    const crypto::Psk right = make_psk(1), wrong = make_psk(2);
    crypto::Initiator ini(right, {});
    Bytes m1(2 + proto::HS_BODY_MAX);
    m1.resize(ini.write_message1(m1));

    const uint64_t before = crypto::x25519_operation_count();
    crypto::Responder res({&wrong}, {});
    CHECK(res.read_message1(std::span<const uint8_t>(m1).subspan(2)) ==
          crypto::HandshakeError::AuthFailed);
    CHECK(crypto::x25519_operation_count() == before);

    // Random garbage of a plausible size costs no X25519 either.
    Bytes junk(80);
    crypto::random_bytes(junk);
    crypto::Responder res2({&wrong, &right}, {});
    CHECK(res2.read_message1(junk) == crypto::HandshakeError::AuthFailed);
    CHECK(crypto::x25519_operation_count() == before);

    // The same message under the right key does reach the DH.
    crypto::Responder res3({&right}, {});
    CHECK(res3.read_message1(std::span<const uint8_t>(m1).subspan(2)) ==
          crypto::HandshakeError::None);
    crypto::HandshakeResult r;
    Bytes m2(2 + proto::HS_BODY_MAX);
    size_t n2 = 0;
    CHECK(res3.write_message2(m2, n2, r) == crypto::HandshakeError::None);
    CHECK(crypto::x25519_operation_count() == before + 2);
}

TEST_CASE("flipping any bit of msg1 or msg2 makes the handshake fail") {
    const crypto::Psk k = make_psk(7);
    crypto::HandshakeOptions io;
    io.heartbeat_seconds = 30;
    crypto::Initiator ini(k, io);
    Bytes m1(2 + proto::HS_BODY_MAX);
    m1.resize(ini.write_message1(m1));

    // msg1: every byte of the body, each bit position in turn.
    for (size_t i = 2; i < m1.size(); ++i) {
        Bytes bad = m1;
        bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
        crypto::Responder res({&k}, {});
        CAPTURE(i);
        CHECK(res.read_message1(std::span<const uint8_t>(bad).subspan(2)) ==
              crypto::HandshakeError::AuthFailed);
    }

    // msg2: produce one valid msg2, then feed a fresh initiator with the
    // same ephemeral a tampered copy of it each time.
    std::array<uint8_t, 32> ie{}, re{};
    crypto::random_bytes(ie);
    crypto::random_bytes(re);
    crypto::HandshakeOptions fio = io, fro;
    fio.fixed_ephemeral_for_tests = ie;
    fro.fixed_ephemeral_for_tests = re;
    crypto::Initiator i0(k, fio);
    Bytes a(2 + proto::HS_BODY_MAX), m2(2 + proto::HS_BODY_MAX);
    a.resize(i0.write_message1(a));
    crypto::Responder r0({&k}, fro);
    REQUIRE(r0.read_message1(std::span<const uint8_t>(a).subspan(2)) ==
            crypto::HandshakeError::None);
    crypto::HandshakeResult rr;
    size_t n2 = 0;
    REQUIRE(r0.write_message2(m2, n2, rr) == crypto::HandshakeError::None);
    m2.resize(n2);
    for (size_t i = 2; i < m2.size(); ++i) {
        Bytes bad = m2;
        bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
        crypto::Initiator ii(k, fio);
        Bytes x(2 + proto::HS_BODY_MAX);
        ii.write_message1(x);
        crypto::HandshakeResult ri;
        CAPTURE(i);
        CHECK(ii.read_message2(std::span<const uint8_t>(bad).subspan(2), ri) !=
              crypto::HandshakeError::None);
    }
    // Untampered, the same replay succeeds (the loop above can fail).
    crypto::Initiator ok(k, fio);
    Bytes x(2 + proto::HS_BODY_MAX);
    ok.write_message1(x);
    crypto::HandshakeResult ri;
    CHECK(ok.read_message2(std::span<const uint8_t>(m2).subspan(2), ri) ==
          crypto::HandshakeError::None);
}

TEST_CASE("truncated, extended and oversized messages are rejected") {
    const crypto::Psk k = make_psk(3);
    crypto::Initiator ini(k, {});
    Bytes m1(2 + proto::HS_BODY_MAX);
    m1.resize(ini.write_message1(m1));
    const std::span<const uint8_t> body = std::span<const uint8_t>(m1).subspan(2);
    for (size_t len : {size_t{0}, size_t{31}, proto::MSG1_BODY_MIN - 1, body.size() - 1}) {
        crypto::Responder res({&k}, {});
        CAPTURE(len);
        CHECK(res.read_message1(body.first(len)) != crypto::HandshakeError::None);
    }
    Bytes longer(body.begin(), body.end());
    longer.push_back(0);
    crypto::Responder res({&k}, {});
    CHECK(res.read_message1(longer) == crypto::HandshakeError::AuthFailed);
    Bytes huge(proto::HS_BODY_MAX + 1);
    crypto::Responder res2({&k}, {});
    CHECK(res2.read_message1(huge) == crypto::HandshakeError::Malformed);
}

TEST_CASE("the responder finds the right key among several") {
    crypto::Psk keys[4] = {make_psk(10), make_psk(20), make_psk(30), make_psk(40)};
    for (size_t want = 0; want < 4; ++want) {
        CAPTURE(want);
        Pair p = run(keys[want], {&keys[0], &keys[1], &keys[2], &keys[3]}, {}, {});
        REQUIRE(p.er == crypto::HandshakeError::None);
        REQUIRE(p.ei == crypto::HandshakeError::None);
        CHECK(p.r.key_index == want);
        check_transport(p);
    }
    crypto::Psk other = make_psk(50);
    Pair p = run(other, {&keys[0], &keys[1], &keys[2], &keys[3]}, {}, {});
    CHECK(p.er == crypto::HandshakeError::AuthFailed);
}

TEST_CASE("heartbeat negotiation: off if either side is off, else the longer interval") {
    const crypto::Psk k = make_psk(5);
    struct Case {
        uint16_t a, b, want;
    } cases[] = {{0, 0, 0}, {30, 0, 0}, {0, 30, 0}, {30, 15, 30}, {5, 60, 60}};
    for (auto c : cases) {
        crypto::HandshakeOptions io, ro;
        io.heartbeat_seconds = c.a;
        ro.heartbeat_seconds = c.b;
        Pair p = run(k, {&k}, io, ro);
        REQUIRE(p.ei == crypto::HandshakeError::None);
        CHECK(p.i.heartbeat_seconds == c.want);
        CHECK(p.r.heartbeat_seconds == c.want);
    }
}

// A msg2 body for ${m1} (with its length prefix) as a key holder that
// breaks the rules could make it: without the ee token if ${no_dh}, and
// with ${mode} in its Mode field. Built from the responder's side of the
// transcript, as DESIGN.md §3.3 describes it.
Bytes forged_msg2(const crypto::Psk &k, const Bytes &m1, bool no_dh, uint8_t mode) {
    crypto::SymmetricState ss =
        crypto::SymmetricState::restore(k.handshake_start(), proto::CipherId::ChaCha20Poly1305);
    const std::span<const uint8_t, 32> ei(m1.data() + 2, 32);
    ss.mix_hash(ei);
    ss.mix_key(ei);
    Bytes p1(m1.size() - 2 - 32 - 16);
    REQUIRE(ss.decrypt_and_hash(std::span<const uint8_t>(m1).subspan(2 + 32), p1.data()));
    std::array<uint8_t, 32> priv{}, er{};
    priv.fill(0x42);
    if (no_dh) {
        er = priv;
    } else {
        crypto::detail::x25519_public(priv, er);
    }
    ss.mix_hash(er);
    ss.mix_key(er);
    if (!no_dh) {
        std::array<uint8_t, 32> dh{};
        REQUIRE(crypto::detail::x25519_dh(priv, ei, dh));
        ss.mix_key(dh);
    }
    uint8_t payload[32];
    proto::FieldWriter w(payload);
    w.u8(proto::PayloadField::Version, proto::PROTOCOL_VERSION);
    w.u8(proto::PayloadField::Cipher, 1);
    w.u16(proto::PayloadField::Heartbeat, 0);
    w.u8(proto::PayloadField::Mode, mode);
    Bytes body(32 + w.size() + 16);
    std::copy(er.begin(), er.end(), body.begin());
    ss.encrypt_and_hash({payload, w.size()}, body.data() + 32);
    return body;
}

TEST_CASE("the initiator's policy decides which msg2 keys it accepts") {
    // msg2 does not name its mode in the clear: a -g initiator tries only
    // the keys with ee, an -f one only those without, so a responder that
    // ignores the initiator's policy (a buggy or hostile key holder) cannot
    // get through. The honest no-DH and DH answers are the controls.
    const crypto::Psk k = make_psk(9);
    struct {
        proto::FsPolicy policy;
        bool no_dh;
        crypto::HandshakeError want;
    } cases[] = {
        {proto::FsPolicy::Require, true, crypto::HandshakeError::AuthFailed},
        {proto::FsPolicy::Require, false, crypto::HandshakeError::None},
        {proto::FsPolicy::Prefer, true, crypto::HandshakeError::None},
        {proto::FsPolicy::Prefer, false, crypto::HandshakeError::None},
        {proto::FsPolicy::Refuse, true, crypto::HandshakeError::None},
    };
    for (const auto &c : cases) {
        CAPTURE(static_cast<int>(c.policy));
        CAPTURE(c.no_dh);
        crypto::HandshakeOptions io;
        io.fs_policy = c.policy;
        crypto::Initiator ini(k, io);
        Bytes m1(2 + proto::HS_BODY_MAX);
        m1.resize(ini.write_message1(m1));
        crypto::HandshakeResult r;
        CHECK(ini.read_message2(forged_msg2(k, m1, c.no_dh, c.no_dh ? 1 : 0), r) == c.want);
        if (c.want == crypto::HandshakeError::None)
            CHECK(r.forward_secret == !c.no_dh);
    }
}

TEST_CASE("msg2's Mode field must agree with the keys that opened it") {
    // A key holder that opens msg2 without the DH but claims Mode 0 (or the
    // reverse) is refused: the mode is bound twice, by the keys and by the
    // authenticated field.
    const crypto::Psk k = make_psk(3);
    for (const bool no_dh : {true, false}) {
        CAPTURE(no_dh);
        crypto::Initiator ini(k, {});
        Bytes m1(2 + proto::HS_BODY_MAX);
        m1.resize(ini.write_message1(m1));
        crypto::HandshakeResult r;
        CHECK(ini.read_message2(forged_msg2(k, m1, no_dh, no_dh ? 0 : 1), r) ==
              crypto::HandshakeError::BadPayload);
    }
}

TEST_CASE("the responder refuses a msg1 stamped outside its clock window") {
    const crypto::Psk k = make_psk(4);
    for (const int64_t skew : {-121, -120, 0, 120, 121, 100000}) {
        CAPTURE(skew);
        crypto::HandshakeOptions io, ro;
        ro.unix_time_s = 1800000000;
        ro.clock_window_s = 120;
        io.unix_time_s = static_cast<uint64_t>(static_cast<int64_t>(ro.unix_time_s) + skew);
        crypto::Initiator ini(k, io);
        crypto::Responder res({&k}, ro);
        Bytes m1(2 + proto::HS_BODY_MAX), m2(2 + proto::HS_BODY_MAX);
        m1.resize(ini.write_message1(m1));
        const auto e = res.read_message1(std::span<const uint8_t>(m1).subspan(2));
        if (skew < -120 || skew > 120) {
            CHECK(e == crypto::HandshakeError::ClockSkew);
            CHECK(res.clock_skew_s() == skew);
            // Refused before any DH: the responder will not answer.
            crypto::HandshakeResult rr;
            size_t n2 = 0;
            CHECK(res.write_message2(m2, n2, rr) == crypto::HandshakeError::WrongState);
        } else {
            CHECK(e == crypto::HandshakeError::None);
        }
    }
}

}
