// SPDX-License-Identifier: BSD-2-Clause
// fuzz_handshake_responder: what sealpiped -d does with a msg1 body from
// anyone on the network (DESIGN.md §3.3-3.4, §4), Responder::read_message1()
// and write_message2().
//
// Byte 0, for both modes: bit 0 the mode, bits 1-2 the responder's
// forward-secrecy policy (0 prefer, 1 require, 2 refuse, 3 prefer), bits 3-4
// its cipher set (0 default, 1 ChaCha20, 2 AES-256-GCM, 3 both), bits 5-7
// its heartbeat (an index into HEARTBEATS).
//
// Mode 0, raw: the rest of the input is the msg1 body, tried against three
// PSKs (the two of tests/unit/vectors/sealpipe_v2.txt and one more), by a
// responder whose clock is the vectors'. It must be rejected without any
// X25519 operation, unless it is a real msg1 for one of the keys (the seeds
// hold some): then write_message2() runs too.
//
// Mode 1, structured: a msg1 that authenticates but carries a payload of
// fuzzer bytes, built with a SymmetricState as DESIGN.md §3.3 says:
//   byte 1   n_keys = 1 + b % 10 PSKs configured (more than MAX_KEYS = 8
//            is allowed: the extra ones must be ignored); the initiator
//            uses key (b / 10) % 11, which may be one not configured
//   byte 2   bit 0: e_I is 32 bytes from the input, else a real X25519
//            public key
//   [32]     e_I
//   rest     payload1 (field list, DESIGN.md §4)
// The responder's clock is T0 and its window the default: the payload's
// Timestamp decides ClockSkew. A reference of DESIGN.md §3.5, §4-4.2
// predicts the outcome of read_message1();
// on success write_message2() must produce a msg2 that the harness can
// decrypt, with the right mode, cipher, heartbeat, key index, handshake hash
// and transport keys.
#include "fuzz_common.hpp"

#include <cstring>

using namespace sealpipe;
using crypto::HandshakeError;
using fuzz::Bytes;

namespace {

constexpr uint16_t HEARTBEATS[8] = {0, 1, 10, 15, 30, 300, 3600, 65535};
constexpr size_t NUM_KEYS = 11;
constexpr uint64_t T0 = 1767225600; // the vectors' clock (their i_time is T0 + 6..22)

// write_message2() after read_message1() returned ${err} != None: always
// WrongState, even when msg1 authenticated and only its payload or the
// policy failed (tests/fuzz/crashes/README.md,
// responder-write-after-failed-read, fixed in dffdcdf).
void check_write_after_failure(crypto::Responder &res, HandshakeError err) {
    Bytes out(proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    size_t written = 0;
    crypto::HandshakeResult hr;
    FUZZ_TRACE("write_message2 after '%s'\n", crypto::to_string(err));
    FUZZ_CHECK(res.write_message2(out, written, hr) == HandshakeError::WrongState);
    FUZZ_CHECK(written == 0);
}

std::vector<crypto::Psk> *g_keys;          // [0], [1]: the vector keys
std::array<uint8_t, 32> g_fixed_e{};       // a real X25519 public key
std::array<uint8_t, 32> g_responder_eph{}; // the responder's fixed ephemeral

std::vector<const crypto::Psk *> key_ptrs(size_t n) {
    std::vector<const crypto::Psk *> v;
    for (size_t i = 0; i < n; ++i)
        v.push_back(&(*g_keys)[i]);
    return v;
}

crypto::HandshakeOptions responder_options(uint8_t b0) {
    crypto::HandshakeOptions o;
    o.fs_policy = fuzz::policy_of((b0 >> 1) & 3u);
    o.ciphers = fuzz::cipher_mask((b0 >> 3) & 3u);
    o.heartbeat_seconds = HEARTBEATS[(b0 >> 5) & 7u];
    o.fixed_ephemeral_for_tests = g_responder_eph;
    o.unix_time_s = T0 + 15;
    return o;
}

void raw_mode(uint8_t b0, std::span<const uint8_t> body_in) {
    const Bytes body(body_in.begin(), body_in.end()); // exactly sized for ASan
    crypto::Responder res(key_ptrs(3), responder_options(b0));
    const uint64_t before = crypto::x25519_operation_count();
    const HandshakeError err = res.read_message1(body);
    FUZZ_TRACE("raw msg1 of %zu bytes: %s\n", body.size(), crypto::to_string(err));
    // DESIGN.md §3.4: no X25519 before msg1 has authenticated.
    FUZZ_CHECK(crypto::x25519_operation_count() == before);
    FUZZ_CHECK(err != HandshakeError::WrongState && err != HandshakeError::WeakPublicKey);
    if (body.size() < proto::MSG1_BODY_MIN || body.size() > proto::HS_BODY_MAX)
        FUZZ_CHECK(err == HandshakeError::Malformed);
    FUZZ_CHECK(res.read_message1(body) == HandshakeError::WrongState);
    if (err != HandshakeError::None) {
        check_write_after_failure(res, err);
        return;
    }
    Bytes out(proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    size_t written = 0;
    crypto::HandshakeResult hr;
    const HandshakeError err2 = res.write_message2(out, written, hr);
    // Only a genuine msg1 gets here.
    FUZZ_CHECK(std::equal(res.initiator_ephemeral().begin(), res.initiator_ephemeral().end(),
                          body.begin()));
    if (err2 == HandshakeError::None) {
        FUZZ_CHECK(written >= proto::HS_LENGTH_LEN + proto::MSG2_BODY_MIN &&
                   written <= proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
        FUZZ_CHECK((size_t{out[0]} << 8 | out[1]) == written - proto::HS_LENGTH_LEN);
        FUZZ_CHECK(hr.key_index < 3);
    } else {
        FUZZ_CHECK(err2 == HandshakeError::WeakPublicKey && written == 0);
    }
}

void structured_mode(uint8_t b0, fuzz::Reader &r) {
    const uint8_t kb = r.u8();
    const size_t n_keys = 1 + kb % 10u;
    const size_t use = (kb / 10u) % NUM_KEYS;
    const bool raw_e = (r.u8() & 1) != 0;
    const std::array<uint8_t, 32> e = raw_e ? r.arr32() : g_fixed_e;
    const Bytes payload = r.bytes(proto::HS_BODY_MAX - proto::MSG1_BODY_MIN + 1);

    // msg1 = e || EncryptAndHash(payload) after MixKeyAndHash(psk), MixHash(e),
    // MixKey(e) (DESIGN.md §3.3).
    crypto::SymmetricState ss = fuzz::ref_initial_state();
    ss.mix_key_and_hash((*g_keys)[use].bytes());
    ss.mix_hash(e);
    ss.mix_key(e);
    Bytes body(proto::DH_LEN + payload.size() + proto::TAG_LEN);
    std::memcpy(body.data(), e.data(), e.size());
    const size_t ct = ss.encrypt_and_hash(payload, body.data() + proto::DH_LEN);
    FUZZ_CHECK(ct == payload.size() + proto::TAG_LEN);

    const crypto::HandshakeOptions ro = responder_options(b0);
    const fuzz::RefPayload ref = fuzz::ref_parse_payload(payload);

    // The reference outcome.
    HandshakeError want = HandshakeError::None;
    proto::HandshakeMode mode = proto::HandshakeMode::ForwardSecret;
    proto::CipherId cipher = proto::CipherId::ChaCha20Poly1305;
    if (body.size() > proto::HS_BODY_MAX) {
        want = HandshakeError::Malformed;
    } else if (use >= std::min(n_keys, crypto::Responder::MAX_KEYS)) {
        want = HandshakeError::AuthFailed;
    } else if (!fuzz::ref_msg1_payload_ok(ref)) {
        want = HandshakeError::BadPayload;
    } else if ((*ref.timestamp > ro.unix_time_s
                    ? *ref.timestamp - ro.unix_time_s
                    : ro.unix_time_s - *ref.timestamp) > ro.clock_window_s) {
        want = HandshakeError::ClockSkew;
    } else {
        const unsigned peer = *ref.fs_policy, mine = static_cast<unsigned>(ro.fs_policy);
        const uint8_t my_mask = ro.ciphers != 0 ? ro.ciphers : crypto::default_cipher_mask();
        const unsigned common = *ref.ciphers & my_mask;
        if ((peer == 2 && mine == 1) || (peer == 1 && mine == 2))
            want = HandshakeError::PolicyConflict;
        else if ((common & 3u) == 0)
            want = HandshakeError::NoCommonCipher;
        mode = (peer == 2 || mine == 2) ? proto::HandshakeMode::NoForwardSecrecy
                                        : proto::HandshakeMode::ForwardSecret;
        cipher =
            (common & 2u) != 0 ? proto::CipherId::Aes256Gcm : proto::CipherId::ChaCha20Poly1305;
    }

    crypto::Responder res(key_ptrs(n_keys), ro);
    const uint64_t before = crypto::x25519_operation_count();
    const HandshakeError err = res.read_message1(body);
    FUZZ_TRACE("structured msg1, %zu keys, key %zu, payload %zu bytes: %s (reference: %s)\n",
               n_keys, use, payload.size(), crypto::to_string(err), crypto::to_string(want));
    FUZZ_CHECK(crypto::x25519_operation_count() == before);
    if (err != want) {
        std::fprintf(stderr, "read_message1: got '%s', the reference expects '%s'\n",
                     crypto::to_string(err), crypto::to_string(want));
        FUZZ_CHECK(err == want);
    }
    if (err != HandshakeError::None) {
        check_write_after_failure(res, err);
        return;
    }
    Bytes out(proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    size_t written = 0;
    crypto::HandshakeResult hr;
    FUZZ_CHECK(res.initiator_ephemeral() == e);

    // msg2 = e_R || EncryptAndHash(payload2) (DESIGN.md §3.3).
    const bool fs = mode == proto::HandshakeMode::ForwardSecret;
    const std::array<uint8_t, 32> e_r = fs ? fuzz::x25519_public(g_responder_eph) : g_responder_eph;
    std::array<uint8_t, 32> dh{};
    const bool dh_ok = !fs || fuzz::x25519_dh(g_responder_eph, e, dh);
    const HandshakeError err2 = res.write_message2(out, written, hr);
    FUZZ_TRACE("write_message2: %s, %zu bytes\n", crypto::to_string(err2), written);
    if (!dh_ok) {
        FUZZ_CHECK(err2 == HandshakeError::WeakPublicKey);
        return;
    }
    FUZZ_CHECK(err2 == HandshakeError::None);
    FUZZ_CHECK(written >= proto::HS_LENGTH_LEN + proto::MSG2_BODY_MIN &&
               written <= proto::HS_LENGTH_LEN + proto::HS_BODY_MAX);
    FUZZ_CHECK((size_t{out[0]} << 8 | out[1]) == written - proto::HS_LENGTH_LEN);
    const uint8_t *m2 = out.data() + proto::HS_LENGTH_LEN;
    FUZZ_CHECK(std::memcmp(m2, e_r.data(), 32) == 0);

    // Decrypt msg2 as the initiator would, and check its payload.
    ss.mix_hash(e_r);
    ss.mix_key(e_r);
    if (fs)
        ss.mix_key(dh);
    const std::span<const uint8_t> ct2(m2 + proto::DH_LEN,
                                       written - proto::HS_LENGTH_LEN - proto::DH_LEN);
    Bytes p2(ct2.size() - proto::TAG_LEN);
    FUZZ_CHECK(ss.decrypt_and_hash(ct2, p2.data()));
    const fuzz::RefPayload ref2 = fuzz::ref_parse_payload(p2);
    FUZZ_CHECK(fuzz::ref_msg2_payload_ok(ref2));
    FUZZ_CHECK(*ref2.cipher == static_cast<uint8_t>(cipher));
    FUZZ_CHECK(*ref2.heartbeat == ro.heartbeat_seconds);
    FUZZ_CHECK(*ref2.mode == static_cast<uint8_t>(mode));

    // The result.
    FUZZ_CHECK(hr.cipher == cipher);
    FUZZ_CHECK(hr.forward_secret == fs);
    FUZZ_CHECK(hr.heartbeat_seconds == fuzz::ref_heartbeat(ro.heartbeat_seconds, *ref.heartbeat));
    FUZZ_CHECK(hr.key_index == use);
    FUZZ_CHECK(std::equal(hr.handshake_hash.begin(), hr.handshake_hash.end(),
                          ss.handshake_hash().begin()));
    crypto::Key32 k_i2r, k_r2i;
    ss.split(k_i2r, k_r2i);
    FUZZ_CHECK(fuzz::transport_keys_match(hr.send, hr.recv, cipher, k_r2i, k_i2r));
    FUZZ_CHECK(res.write_message2(out, written, hr) == HandshakeError::WrongState);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    g_keys = new std::vector<crypto::Psk>();
    g_keys->push_back(fuzz::make_psk(0, 32)); // vectors fs-aes, nofs-*
    g_keys->push_back(fuzz::make_psk(0, 40)); // vector fs-chacha-require
    for (size_t i = 2; i < NUM_KEYS; ++i)
        g_keys->push_back(fuzz::make_psk(static_cast<uint8_t>(0x40 + 16 * i)));
    std::array<uint8_t, 32> x{};
    for (size_t i = 0; i < 32; ++i) {
        x[i] = static_cast<uint8_t>(0x11 * (i + 1));
        g_responder_eph[i] = static_cast<uint8_t>(0x5a ^ (7 * i));
    }
    g_fixed_e = fuzz::x25519_public(x);
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
