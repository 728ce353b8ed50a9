// SPDX-License-Identifier: BSD-2-Clause
// fuzz_spiped: what --protocol spiped does with bytes from anyone on the
// network (DESIGN.md §12): the peer's nonce and DH message, on either role,
// then packets.
//
// Byte 0: bit 0 the role under test (0 responder, 1 initiator); bits 1-2
// its forward-secrecy policy (0 prefer, 1 require, 2 refuse, 3 prefer);
// bit 3 an honest peer (our own other role, with key byte 1 % 4, where key
// 3 is not configured) instead of raw bytes; bits 4-5 the honest peer's
// policy. Then 32 bytes of the peer's nonce (raw only), 288 of its DH
// message (raw only), and the rest as 1,060-byte packets.
//
// Invariants: a raw DH message never authenticates, and the responder
// refuses it without a modular exponentiation; an honest one succeeds
// exactly when its key is configured and the policies allow it (-g against
// -f fails); then a packet the peer seals opens, and fuzzer packets never
// open.
#include "fuzz_common.hpp"

#include "crypto/spiped.hpp"

using namespace sealpipe;
namespace sp = crypto::spiped;
using crypto::HandshakeError;

namespace {

proto::FsPolicy policy_of(unsigned b) {
    switch (b & 3) {
    case 1: return proto::FsPolicy::Require;
    case 2: return proto::FsPolicy::Refuse;
    default: return proto::FsPolicy::Prefer;
    }
}

const std::vector<crypto::Psk> &keys() {
    static const std::vector<crypto::Psk> k = [] {
        std::vector<crypto::Psk> v;
        for (uint8_t i = 0; i < 4; ++i) {
            std::vector<uint8_t> m(i == 2 ? 5 : 32, static_cast<uint8_t>(0x40 + i));
            v.push_back(crypto::Psk::from_key_material(m, "fuzz"));
        }
        return v;
    }();
    return k;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    const uint8_t mode = data[0];
    const bool responder = (mode & 1) == 0;
    const bool honest = (mode & 8) != 0;
    const proto::FsPolicy mine = policy_of(mode >> 1), theirs = policy_of(mode >> 4);
    const auto &k = keys();
    std::vector<const crypto::Psk *> configured = {&k[0], &k[1], &k[2]};
    const crypto::Psk *peer_key = &k[data[1] % 4];
    size_t at = 2;

    sp::Handshake us(responder, responder ? configured : std::vector{configured[0]}, mine);
    sp::Handshake peer(!responder, {peer_key}, theirs);
    uint8_t msg[sp::DH_MSG_LEN];
    HandshakeError e;
    if (honest) {
        FUZZ_CHECK(us.read_nonce(peer.nonce()) == HandshakeError::None);
        FUZZ_CHECK(peer.read_nonce(us.nonce()) == HandshakeError::None);
    } else {
        if (size < at + sp::NONCE_LEN + sp::DH_MSG_LEN)
            return 0;
        FUZZ_CHECK(us.read_nonce(std::span<const uint8_t, 32>(data + at, 32)) ==
                   HandshakeError::None);
        at += sp::NONCE_LEN;
    }
    if (!responder)
        FUZZ_CHECK(us.write_dh(msg) == HandshakeError::None);

    // The peer's DH message.
    uint8_t theirs_msg[sp::DH_MSG_LEN];
    if (honest) {
        if (!responder) {
            // An honest responder reads ours first (and may refuse it).
            if (peer.read_dh(msg) != HandshakeError::None)
                return 0;
        }
        FUZZ_CHECK(peer.write_dh(theirs_msg) == HandshakeError::None);
    } else {
        std::memcpy(theirs_msg, data + at, sizeof theirs_msg);
        at += sizeof theirs_msg;
    }
    const uint64_t modexps = sp::modexp_count();
    e = us.read_dh(theirs_msg);
    if (!honest) {
        FUZZ_CHECK(e != HandshakeError::None); // a forged MAC
        if (responder)
            FUZZ_CHECK(sp::modexp_count() == modexps);
        return 0;
    }
    const bool key_ok = peer_key != &k[3] && (responder || peer_key == &k[0]);
    const bool peer_weak = theirs == proto::FsPolicy::Refuse;
    const bool refused = peer_weak && mine == proto::FsPolicy::Require;
    if (!key_ok) {
        FUZZ_CHECK(e == HandshakeError::AuthFailed);
        return 0;
    }
    FUZZ_CHECK(e == (refused ? HandshakeError::PolicyConflict : HandshakeError::None));
    if (refused)
        return 0;
    sp::Result r, pr;
    if (responder) {
        FUZZ_CHECK(us.write_dh(msg) == HandshakeError::None);
        const HandshakeError pe = peer.read_dh(msg);
        const bool we_weak = mine == proto::FsPolicy::Refuse;
        if (we_weak && theirs == proto::FsPolicy::Require) {
            FUZZ_CHECK(pe == HandshakeError::PolicyConflict);
            return 0;
        }
        FUZZ_CHECK(pe == HandshakeError::None);
    }
    FUZZ_CHECK(us.finish(r) == HandshakeError::None);
    FUZZ_CHECK(peer.finish(pr) == HandshakeError::None);
    FUZZ_CHECK(r.forward_secret == (mine != proto::FsPolicy::Refuse && !peer_weak));

    uint8_t pkt[sp::PACKET_LEN] = {'h', 'i'};
    FUZZ_CHECK(pr.send.seal(pkt, 2));
    FUZZ_CHECK(r.recv.open(pkt) == 2 && pkt[0] == 'h');
    while (at + sp::PACKET_LEN <= size) {
        std::memcpy(pkt, data + at, sizeof pkt);
        FUZZ_CHECK(r.recv.open(pkt) == 0);
        at += sp::PACKET_LEN;
    }
    return 0;
}
