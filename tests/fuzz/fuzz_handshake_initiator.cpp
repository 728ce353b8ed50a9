// SPDX-License-Identifier: BSD-2-Clause
// fuzz_handshake_initiator: what sealpiped -e and sealpipe do with a msg2
// body from the network (DESIGN.md §3.3, §4), Initiator::read_message2(),
// after the Initiator wrote msg1 with a fixed ephemeral
// (HandshakeOptions::fixed_ephemeral_for_tests).
//
// Byte 0: bit 0 the mode.
//
// Mode 0, raw: bits 1-3 pick an initiator configuration: 0-3 are the four
// cases of tests/unit/vectors/sealpipe_v1.txt (same key, options and
// ephemeral, so their msg2 bodies in the seeds authenticate), 4-7 other
// ones. The rest of the input is the msg2 body.
//
// Mode 1, structured: a msg2 built with a SymmetricState that mirrors the
// responder, with a mode byte and payload of fuzzer bytes:
//   byte 0   bits 1-2 initiator policy (0 prefer, 1 require, 2 refuse,
//            3 prefer), bits 3-4 its cipher set (0 default, 1 ChaCha20,
//            2 AES-256-GCM, 3 both), bits 5-7 its heartbeat (HEARTBEATS)
//   byte 1   bits 0-1 ProxyAddr (none, unknown, IPv4, IPv6), bits 2-5 key
//   byte 2   the msg2 mode byte, as is (0 and 1 are defined)
//   byte 3   bit 0: e_R is 32 bytes from the input, else a real public key
//   [32]     e_R
//   rest     payload2 (field list, DESIGN.md §4)
// msg1 is checked against DESIGN.md (decrypted by the mirror, its payload
// parsed by the reference parser); a reference predicts the outcome of
// read_message2(), and on success the result (mode, cipher, heartbeat,
// handshake hash, transport keys) is checked.
#include "fuzz_common.hpp"

#include <cstring>
#include <string>

using namespace sealpipe;
using crypto::HandshakeError;
using fuzz::Bytes;

namespace {

constexpr uint16_t HEARTBEATS[8] = {0, 1, 10, 15, 30, 300, 3600, 65535};
constexpr size_t NUM_KEYS = 11;

std::vector<crypto::Psk> *g_keys; // [0], [1]: the vector keys
std::array<uint8_t, 32> g_init_eph{};
std::array<uint8_t, 32> g_fixed_er{}; // a real X25519 public key

std::array<uint8_t, 32> from_hex(const char *h) {
    std::array<uint8_t, 32> a{};
    for (size_t i = 0; i < 32; ++i)
        a[i] = static_cast<uint8_t>(std::stoul(std::string(h + 2 * i, 2), nullptr, 16));
    return a;
}

crypto::ProxyInfo proxy_of(unsigned sel) {
    crypto::ProxyInfo p;
    if (sel == 2) { // the vectors' 192.0.2.7:51234 -> 127.0.0.1:5672
        p.family = crypto::ProxyInfo::Family::Inet4;
        const uint8_t s[4] = {192, 0, 2, 7}, d[4] = {127, 0, 0, 1};
        std::copy(s, s + 4, p.src_addr.begin());
        std::copy(d, d + 4, p.dst_addr.begin());
        p.src_port = 51234;
        p.dst_port = 5672;
    } else if (sel == 3) {
        p.family = crypto::ProxyInfo::Family::Inet6;
        for (size_t i = 0; i < 16; ++i) {
            p.src_addr[i] = static_cast<uint8_t>(0x20 + i);
            p.dst_addr[i] = i == 15 ? 1 : 0;
        }
        p.src_port = 65535;
        p.dst_port = 1;
    }
    return p;
}

struct Config {
    size_t key;
    crypto::HandshakeOptions opts;
};

Config raw_config(unsigned idx) {
    Config c{0, {}};
    auto set = [&c](size_t key, unsigned policy, unsigned ciphers, uint16_t hb, int proxy,
                    const char *eph) {
        c.key = key;
        c.opts.fs_policy = fuzz::policy_of(policy);
        c.opts.ciphers = fuzz::cipher_mask(ciphers);
        c.opts.heartbeat_seconds = hb;
        if (proxy >= 0)
            c.opts.proxy = proxy_of(static_cast<unsigned>(proxy));
        c.opts.fixed_ephemeral_for_tests = eph != nullptr ? from_hex(eph) : g_init_eph;
    };
    switch (idx) {
    case 0: // fs-aes
        set(0, 0, 3, 30, 2, "2b0e837d6be10c645360481bacfadb1eae05eec6f45141169a1c42edecdb7f55");
        break;
    case 1: // fs-chacha-require
        set(1, 1, 3, 0, -1, "652e6b5ab2307adc49ba55283b20d79ff849308620e318412e7d237def11cdaf");
        break;
    case 2: // nofs-initiator-refuses
        set(0, 2, 3, 10, -1, "0a898f5e1f18cd2f658484c78fe2da0b66a3a9cd515021f6cc708cef38026ef5");
        break;
    case 3: // nofs-responder-refuses
        set(0, 0, 1, 10, -1, "3ea38de466bb2877cd4d3770350283c428f9739d0a8e61f4b5e2d9d43c277cb9");
        break;
    case 4: set(2, 0, 0, 0, -1, nullptr); break;
    case 5: set(3, 1, 1, 30, 3, nullptr); break;
    case 6: set(4, 2, 3, 65535, 1, nullptr); break;
    default: set(5, 0, 2, 1, 2, nullptr); break;
    }
    return c;
}

void raw_mode(uint8_t b0, std::span<const uint8_t> body_in) {
    const Bytes body(body_in.begin(), body_in.end()); // exactly sized for ASan
    const Config c = raw_config((b0 >> 1) & 7u);
    crypto::Initiator ini((*g_keys)[c.key], c.opts);
    Bytes m1(proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    FUZZ_CHECK(ini.write_message1(m1) > proto::HS_LENGTH_LEN + proto::MSG1_BODY_MIN - 1);
    crypto::HandshakeResult hr;
    const HandshakeError err = ini.read_message2(body, hr);
    FUZZ_TRACE("raw msg2 of %zu bytes, configuration %u: %s\n", body.size(), (b0 >> 1) & 7u,
               crypto::to_string(err));
    FUZZ_CHECK(err != HandshakeError::WrongState);
    if (body.size() < proto::MSG2_BODY_MIN || body.size() > proto::HS_BODY_MAX)
        FUZZ_CHECK(err == HandshakeError::Malformed);
    if (err == HandshakeError::None) { // only a genuine msg2 (the seeds)
        const uint8_t accepted =
            c.opts.ciphers != 0 ? c.opts.ciphers : crypto::default_cipher_mask();
        FUZZ_CHECK((accepted & proto::cipher_bit(hr.cipher)) != 0);
        FUZZ_CHECK(hr.forward_secret == (body[0] == 0));
        FUZZ_CHECK(!(hr.forward_secret && c.opts.fs_policy == proto::FsPolicy::Refuse));
        FUZZ_CHECK(!(!hr.forward_secret && c.opts.fs_policy == proto::FsPolicy::Require));
    }
    FUZZ_CHECK(ini.read_message2(body, hr) == HandshakeError::WrongState);
}

void structured_mode(uint8_t b0, fuzz::Reader &r) {
    crypto::HandshakeOptions io;
    io.fs_policy = fuzz::policy_of((b0 >> 1) & 3u);
    io.ciphers = fuzz::cipher_mask((b0 >> 3) & 3u);
    io.heartbeat_seconds = HEARTBEATS[(b0 >> 5) & 7u];
    io.fixed_ephemeral_for_tests = g_init_eph;
    const uint8_t b1 = r.u8();
    const unsigned proxy_sel = b1 & 3u;
    if (proxy_sel != 0)
        io.proxy = proxy_of(proxy_sel);
    const crypto::Psk &psk = (*g_keys)[((b1 >> 2) & 15u) % NUM_KEYS];
    const uint8_t mode = r.u8();
    const bool raw_er = (r.u8() & 1) != 0;
    const std::array<uint8_t, 32> e_r = raw_er ? r.arr32() : g_fixed_er;
    const Bytes payload = r.bytes(proto::HS_BODY_MAX - proto::MSG2_BODY_MIN + 1);

    crypto::Initiator ini(psk, io);
    Bytes m1(proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    const size_t n1 = ini.write_message1(m1);
    FUZZ_CHECK(n1 >= proto::HS_LENGTH_LEN + proto::MSG1_BODY_MIN &&
               n1 <= proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    FUZZ_CHECK((size_t{m1[0]} << 8 | m1[1]) == n1 - proto::HS_LENGTH_LEN);
    FUZZ_CHECK(ini.write_message1(m1) == 0); // only once

    // msg1 as the responder sees it (DESIGN.md §3.3): e_I is the public key
    // of the fixed ephemeral, or, with -f, those 32 bytes themselves.
    const bool refuse = io.fs_policy == proto::FsPolicy::Refuse;
    const std::array<uint8_t, 32> e_i = refuse ? g_init_eph : fuzz::x25519_public(g_init_eph);
    const uint8_t *b1m = m1.data() + proto::HS_LENGTH_LEN;
    FUZZ_CHECK(std::memcmp(b1m, e_i.data(), 32) == 0);
    crypto::SymmetricState ss = fuzz::ref_initial_state();
    ss.mix_key_and_hash(psk.bytes());
    ss.mix_hash(e_i);
    ss.mix_key(e_i);
    const std::span<const uint8_t> ct1(b1m + proto::DH_LEN,
                                       n1 - proto::HS_LENGTH_LEN - proto::DH_LEN);
    Bytes p1(ct1.size() - proto::TAG_LEN);
    FUZZ_CHECK(ss.decrypt_and_hash(ct1, p1.data()));
    const fuzz::RefPayload ref1 = fuzz::ref_parse_payload(p1);
    const uint8_t accepted = io.ciphers != 0 ? io.ciphers : crypto::default_cipher_mask();
    FUZZ_CHECK(fuzz::ref_msg1_payload_ok(ref1));
    FUZZ_CHECK(*ref1.fs_policy == static_cast<uint8_t>(io.fs_policy));
    FUZZ_CHECK(*ref1.ciphers == (accepted | 1u)); // ChaCha20 is always offered
    FUZZ_CHECK(*ref1.heartbeat == io.heartbeat_seconds);
    FUZZ_CHECK(ref1.proxy.has_value() == io.proxy.has_value());
    if (io.proxy)
        FUZZ_CHECK(fuzz::proxy_equal(*io.proxy, *ref1.proxy));

    // msg2 as a responder with these choices would send it.
    ss.mix_hash(std::span<const uint8_t>(&mode, 1));
    ss.mix_hash(e_r);
    ss.mix_key(e_r);
    bool dh_ok = true;
    if (mode == 0) {
        std::array<uint8_t, 32> dh{};
        dh_ok = fuzz::x25519_dh(g_init_eph, e_r, dh);
        ss.mix_key(dh);
    }
    Bytes body(1 + proto::DH_LEN + payload.size() + proto::TAG_LEN);
    body[0] = mode;
    std::memcpy(body.data() + 1, e_r.data(), 32);
    FUZZ_CHECK(ss.encrypt_and_hash(payload, body.data() + 1 + proto::DH_LEN) ==
               payload.size() + proto::TAG_LEN);

    // The reference outcome.
    const fuzz::RefPayload ref2 = fuzz::ref_parse_payload(payload);
    HandshakeError want = HandshakeError::None;
    if (body.size() > proto::HS_BODY_MAX || mode > 1)
        want = HandshakeError::Malformed;
    else if ((mode == 0 && refuse) || (mode == 1 && io.fs_policy == proto::FsPolicy::Require))
        want = HandshakeError::PolicyConflict;
    else if (!dh_ok)
        want = HandshakeError::WeakPublicKey;
    else if (!fuzz::ref_msg2_payload_ok(ref2))
        want = HandshakeError::BadPayload;
    else if ((*ref2.cipher != 1 && *ref2.cipher != 2) ||
             (accepted & (1u << (*ref2.cipher - 1))) == 0)
        want = HandshakeError::NoCommonCipher;

    crypto::HandshakeResult hr;
    const HandshakeError err = ini.read_message2(body, hr);
    FUZZ_TRACE("structured msg2, mode %u, payload %zu bytes: %s (reference: %s)\n", mode,
               payload.size(), crypto::to_string(err), crypto::to_string(want));
    if (err != want) {
        std::fprintf(stderr, "read_message2: got '%s', the reference expects '%s'\n",
                     crypto::to_string(err), crypto::to_string(want));
        FUZZ_CHECK(err == want);
    }
    FUZZ_CHECK(ini.read_message2(body, hr) == HandshakeError::WrongState);
    if (err != HandshakeError::None)
        return;

    const auto cipher = static_cast<proto::CipherId>(*ref2.cipher);
    FUZZ_CHECK(hr.cipher == cipher);
    FUZZ_CHECK(hr.forward_secret == (mode == 0));
    FUZZ_CHECK(hr.heartbeat_seconds == fuzz::ref_heartbeat(io.heartbeat_seconds, *ref2.heartbeat));
    FUZZ_CHECK(!hr.proxy.has_value());
    FUZZ_CHECK(std::equal(hr.handshake_hash.begin(), hr.handshake_hash.end(),
                          ss.handshake_hash().begin()));
    crypto::Key32 k_i2r, k_r2i;
    ss.split(k_i2r, k_r2i);
    FUZZ_CHECK(fuzz::transport_keys_match(hr.send, hr.recv, cipher, k_i2r, k_r2i));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    g_keys = new std::vector<crypto::Psk>();
    g_keys->push_back(fuzz::make_psk(0, 32)); // vectors fs-aes, nofs-*
    g_keys->push_back(fuzz::make_psk(0, 40)); // vector fs-chacha-require
    for (size_t i = 2; i < NUM_KEYS; ++i)
        g_keys->push_back(fuzz::make_psk(static_cast<uint8_t>(0x40 + 16 * i)));
    std::array<uint8_t, 32> y{};
    for (size_t i = 0; i < 32; ++i) {
        g_init_eph[i] = static_cast<uint8_t>(0xc3 ^ (11 * i));
        y[i] = static_cast<uint8_t>(0x29 + 3 * i);
    }
    g_fixed_er = fuzz::x25519_public(y);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz::Reader r(data, size);
    const uint8_t b0 = r.u8();
    if ((b0 & 1) == 0)
        raw_mode(b0, std::span<const uint8_t>(data, size).subspan(size > 0 ? 1 : 0));
    else
        structured_mode(b0, r);
    return 0;
}
