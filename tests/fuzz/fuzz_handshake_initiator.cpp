// SPDX-License-Identifier: BSD-2-Clause
// fuzz_handshake_initiator: what sealpiped -e and sealpipe do with a msg2
// body from the network (DESIGN.md §3.3, §4), Initiator::read_message2(),
// after the Initiator wrote msg1 with a fixed ephemeral
// (HandshakeOptions::fixed_ephemeral_for_tests).
//
// Byte 0: bit 0 the mode.
//
// Mode 0, raw: bits 1-3 pick an initiator configuration: 0-3 are the four
// cases of tests/unit/vectors/sealpipe_v2.txt (same key, options, clock and
// ephemeral, so their msg2 bodies in the seeds authenticate), 4-7 other
// ones. The rest of the input is the msg2 body.
//
// Mode 1, structured: a msg2 built with a SymmetricState that mirrors the
// responder, with keys of either mode and a payload of fuzzer bytes:
//   byte 0   bits 1-2 initiator policy (0 prefer, 1 require, 2 refuse,
//            3 prefer), bits 3-4 its cipher set (0 default, 1 ChaCha20,
//            2 AES-256-GCM, 3 both), bits 5-7 its heartbeat (HEARTBEATS)
//   byte 1   bits 2-5 key
//   byte 2   bit 0: the mirror's keys leave out ee (the no-DH variant)
//   byte 3   bit 0: e_R is 32 bytes from the input, else a real public key
//   [32]     e_R
//   rest     payload2 (field list, DESIGN.md §4), whose Mode field may or
//            may not agree with the keys
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

struct Config {
    size_t key;
    crypto::HandshakeOptions opts;
};

Config raw_config(unsigned idx) {
    Config c{0, {}};
    // The vectors' i_time is 1767225600 plus the length of the case's name.
    auto set = [&c](size_t key, unsigned policy, unsigned ciphers, uint16_t hb, uint64_t time,
                    const char *eph) {
        c.key = key;
        c.opts.fs_policy = fuzz::policy_of(policy);
        c.opts.ciphers = fuzz::cipher_mask(ciphers);
        c.opts.heartbeat_seconds = hb;
        c.opts.unix_time_s = time;
        c.opts.fixed_ephemeral_for_tests = eph != nullptr ? from_hex(eph) : g_init_eph;
    };
    constexpr uint64_t T0 = 1767225600;
    switch (idx) {
    case 0: // fs-aes
        set(0, 0, 3, 30, T0 + 6,
            "2b0e837d6be10c645360481bacfadb1eae05eec6f45141169a1c42edecdb7f55");
        break;
    case 1: // fs-chacha-require
        set(1, 1, 3, 0, T0 + 17,
            "652e6b5ab2307adc49ba55283b20d79ff849308620e318412e7d237def11cdaf");
        break;
    case 2: // nofs-initiator-refuses
        set(0, 2, 3, 10, T0 + 22,
            "0a898f5e1f18cd2f658484c78fe2da0b66a3a9cd515021f6cc708cef38026ef5");
        break;
    case 3: // nofs-responder-refuses
        set(0, 0, 1, 10, T0 + 22,
            "3ea38de466bb2877cd4d3770350283c428f9739d0a8e61f4b5e2d9d43c277cb9");
        break;
    case 4: set(2, 0, 0, 0, 0, nullptr); break;
    case 5: set(3, 1, 1, 30, T0, nullptr); break;
    case 6: set(4, 2, 3, 65535, UINT64_MAX, nullptr); break;
    default: set(5, 0, 2, 1, 1, nullptr); break;
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
    io.unix_time_s = 1767225600;
    const uint8_t b1 = r.u8();
    const crypto::Psk &psk = (*g_keys)[((b1 >> 2) & 15u) % NUM_KEYS];
    const bool no_dh = (r.u8() & 1) != 0;
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
    FUZZ_CHECK(*ref1.timestamp == io.unix_time_s);

    // msg2 as a responder with these choices would send it: e_R, then ee
    // unless no_dh, then the payload (DESIGN.md §3.3).
    ss.mix_hash(e_r);
    ss.mix_key(e_r);
    std::array<uint8_t, 32> dh{};
    const bool dh_ok = !refuse && fuzz::x25519_dh(g_init_eph, e_r, dh);
    if (!no_dh)
        ss.mix_key(dh);
    Bytes body(proto::DH_LEN + payload.size() + proto::TAG_LEN);
    std::memcpy(body.data(), e_r.data(), 32);
    FUZZ_CHECK(ss.encrypt_and_hash(payload, body.data() + proto::DH_LEN) ==
               payload.size() + proto::TAG_LEN);

    // The reference outcome. The initiator tries the keys its policy
    // allows: with ee unless it refused forward secrecy (and only if its DH
    // is not all-zero), then without unless it required it. An -f
    // initiator's "ee" would be X25519 of its raw bytes: a mirror that
    // mixed one cannot be matched, as no_dh = false, refuse = true shows.
    const bool opens = no_dh ? io.fs_policy != proto::FsPolicy::Require : dh_ok;
    const fuzz::RefPayload ref2 = fuzz::ref_parse_payload(payload);
    HandshakeError want = HandshakeError::None;
    if (body.size() > proto::HS_BODY_MAX)
        want = HandshakeError::Malformed;
    else if (!opens)
        want = !refuse && !dh_ok ? HandshakeError::WeakPublicKey : HandshakeError::AuthFailed;
    else if (!fuzz::ref_msg2_payload_ok(ref2) || *ref2.mode != (no_dh ? 1 : 0))
        want = HandshakeError::BadPayload;
    else if ((*ref2.cipher != 1 && *ref2.cipher != 2) ||
             (accepted & (1u << (*ref2.cipher - 1))) == 0)
        want = HandshakeError::NoCommonCipher;

    crypto::HandshakeResult hr;
    const HandshakeError err = ini.read_message2(body, hr);
    FUZZ_TRACE("structured msg2, %s, payload %zu bytes: %s (reference: %s)\n",
               no_dh ? "no DH" : "DH", payload.size(), crypto::to_string(err),
               crypto::to_string(want));
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
    FUZZ_CHECK(hr.forward_secret == !no_dh);
    FUZZ_CHECK(hr.heartbeat_seconds == fuzz::ref_heartbeat(io.heartbeat_seconds, *ref2.heartbeat));
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
