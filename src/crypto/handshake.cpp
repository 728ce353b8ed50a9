// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/handshake.hpp"
#include "crypto/internal.hpp"
#include "proto/fields.hpp"

#include <algorithm>
#include <cstring>

namespace sealpipe::crypto {

using proto::CipherId;
using proto::FsPolicy;
using proto::HandshakeMode;
using proto::PayloadField;

const char *to_string(HandshakeError e) noexcept {
    switch (e) {
    case HandshakeError::None: return "ok";
    case HandshakeError::Malformed: return "malformed handshake message";
    case HandshakeError::AuthFailed: return "authentication failed (wrong key or tampering)";
    case HandshakeError::BadPayload: return "unsupported handshake payload";
    case HandshakeError::PolicyConflict:
        return "forward secrecy policy conflict (-f on one side, -g on the other)";
    case HandshakeError::NoCommonCipher: return "no common cipher";
    case HandshakeError::WeakPublicKey: return "peer sent a weak ephemeral key";
    case HandshakeError::ClockSkew: return "clock skew";
    case HandshakeError::PeerClosed: return "the peer closed the connection during the handshake";
    case HandshakeError::WrongState: return "handshake used out of order";
    }
    return "unknown handshake error";
}

uint8_t default_cipher_mask() noexcept {
    uint8_t m = proto::cipher_bit(CipherId::ChaCha20Poly1305);
    if (aes_gcm_available())
        m |= proto::cipher_bit(CipherId::Aes256Gcm);
    return m;
}

namespace {

// ---------------------------------------------------------------------------
// Payloads (DESIGN.md §4): field lists, read and written by proto/fields.
// ---------------------------------------------------------------------------

struct Payload {
    std::optional<uint8_t> version, fs_policy, ciphers, cipher, mode;
    std::optional<uint16_t> heartbeat;
    std::optional<uint64_t> timestamp;
};

template <typename T, size_t N> bool set_once(std::optional<T> &slot, std::span<const uint8_t> v) {
    if (slot || v.size() != N)
        return false;
    if constexpr (N == 1)
        slot = v[0];
    else if constexpr (N == 2)
        slot = proto::get_u16(v.first<2>());
    else
        slot = proto::get_u64(v.first<8>());
    return true;
}

// Parse a payload. Unknown fields are skipped (forward compatibility); a
// known field that repeats or has the wrong size makes the payload invalid.
// ProxyAddr belongs to the CONFIRM body (§5.2): in a payload it is unknown.
bool parse_payload(std::span<const uint8_t> p, Payload &out) {
    return proto::for_each_field(p, [&out](uint8_t type, std::span<const uint8_t> v) {
        switch (static_cast<PayloadField>(type)) {
        case PayloadField::Version: return set_once<uint8_t, 1>(out.version, v);
        case PayloadField::FsPolicy: return set_once<uint8_t, 1>(out.fs_policy, v);
        case PayloadField::Ciphers: return set_once<uint8_t, 1>(out.ciphers, v);
        case PayloadField::Cipher: return set_once<uint8_t, 1>(out.cipher, v);
        case PayloadField::Mode: return set_once<uint8_t, 1>(out.mode, v);
        case PayloadField::Heartbeat: return set_once<uint16_t, 2>(out.heartbeat, v);
        case PayloadField::Timestamp: return set_once<uint64_t, 8>(out.timestamp, v);
        default: return true;
        }
    });
}

uint16_t effective_heartbeat(uint16_t a, uint16_t b) {
    // DESIGN.md §7: both sides must want heartbeats; the longer interval
    // wins, so neither side declares the other dead too early.
    return (a == 0 || b == 0) ? 0 : std::max(a, b);
}

void put_length(uint8_t *out, size_t body_len) {
    out[0] = static_cast<uint8_t>(body_len >> 8);
    out[1] = static_cast<uint8_t>(body_len);
}

// The state after "-> psk" (DESIGN.md §3.1, §3.3), precomputed per key.
SymmetricState state_after_psk(const Psk &psk) {
    return SymmetricState::restore(psk.handshake_start(), CipherId::ChaCha20Poly1305);
}

// Draw the 32 ephemeral bytes (or take the test hook's).
void draw_ephemeral(const HandshakeOptions &opts, std::span<uint8_t, 32> out) {
    if (opts.fixed_ephemeral_for_tests)
        std::copy(opts.fixed_ephemeral_for_tests->begin(), opts.fixed_ephemeral_for_tests->end(),
                  out.begin());
    else
        random_bytes(out);
}

void finish(const SymmetricState &ss, CipherId cipher, bool initiator, HandshakeResult &r) {
    Key32 k1, k2;
    ss.split(k1, k2);
    r.send = CipherState(cipher, initiator ? k1 : k2);
    r.recv = CipherState(cipher, initiator ? k2 : k1);
    r.cipher = cipher;
    std::copy(ss.handshake_hash().begin(), ss.handshake_hash().end(), r.handshake_hash.begin());
}

} // namespace

// ---------------------------------------------------------------------------
// Initiator
// ---------------------------------------------------------------------------

Initiator::Initiator(const Psk &psk, HandshakeOptions opts)
    : opts_(std::move(opts)), ss_(state_after_psk(psk)) {
    if (opts_.ciphers == 0)
        opts_.ciphers = default_cipher_mask();
    offer_ = static_cast<uint8_t>(opts_.ciphers | proto::cipher_bit(CipherId::ChaCha20Poly1305));
}

size_t Initiator::write_message1(std::span<uint8_t> out) {
    if (wrote_ || out.size() < proto::HS_LENGTH_LEN + proto::HS_BODY_MAX)
        return 0;
    wrote_ = true;

    // e: a real X25519 key pair, or, when this side refuses forward secrecy,
    // 32 random bytes that only make the session keys unique (DESIGN.md §3.3).
    draw_ephemeral(opts_, e_priv_.span());
    if (opts_.fs_policy == FsPolicy::Refuse)
        std::copy(e_priv_.span().begin(), e_priv_.span().end(), e_pub_.begin());
    else
        detail::x25519_public(e_priv_.span(), e_pub_);

    // -> psk, e (psk already mixed in: state_after_psk)
    ss_.mix_hash(e_pub_);
    ss_.mix_key(e_pub_);

    uint8_t payload[64];
    proto::FieldWriter w(payload);
    w.u8(PayloadField::Version, proto::PROTOCOL_VERSION);
    w.u8(PayloadField::FsPolicy, static_cast<uint8_t>(opts_.fs_policy));
    w.u8(PayloadField::Ciphers, offer_);
    w.u16(PayloadField::Heartbeat, opts_.heartbeat_seconds);
    w.u64(PayloadField::Timestamp, opts_.unix_time_s);

    uint8_t *body = out.data() + proto::HS_LENGTH_LEN;
    std::memcpy(body, e_pub_.data(), proto::DH_LEN);
    size_t ct =
        ss_.encrypt_and_hash(std::span<const uint8_t>(payload, w.size()), body + proto::DH_LEN);
    wipe(payload, sizeof payload);
    const size_t body_len = proto::DH_LEN + ct;
    put_length(out.data(), body_len);
    return proto::HS_LENGTH_LEN + body_len;
}

HandshakeError Initiator::read_message2(std::span<const uint8_t> body, HandshakeResult &r) {
    if (!wrote_ || done_)
        return HandshakeError::WrongState;
    done_ = true;
    if (body.size() < proto::MSG2_BODY_MIN || body.size() > proto::HS_BODY_MAX)
        return HandshakeError::Malformed;

    // <- e
    std::span<const uint8_t, 32> re(body.data(), 32);
    ss_.mix_hash(re);
    ss_.mix_key(re);
    std::span<const uint8_t> ct = body.subspan(proto::DH_LEN);
    uint8_t payload[proto::HS_BODY_MAX];

    // The responder chose the mode (DESIGN.md §4.1), and msg2 does not say
    // which in the clear: try the ones our policy allows. Forward secret
    // first (ee, then the payload); then, unless we require forward
    // secrecy, the no-DH variant (the payload straight away). A wrong
    // guess costs one small AEAD open; the payload's Mode must then agree.
    std::optional<SymmetricState> done;
    HandshakeMode mode = HandshakeMode::ForwardSecret;
    bool weak = false;
    if (opts_.fs_policy != FsPolicy::Refuse) {
        SymmetricState ss = ss_;
        Key32 dh;
        if (!detail::x25519_dh(e_priv_.span(), re, dh.span())) {
            weak = true;
        } else {
            ss.mix_key(dh.span()); // ee
            if (ss.decrypt_and_hash(ct, payload))
                done = ss;
        }
    }
    if (!done && opts_.fs_policy != FsPolicy::Require) {
        SymmetricState ss = ss_;
        if (ss.decrypt_and_hash(ct, payload)) {
            done = ss;
            mode = HandshakeMode::NoForwardSecrecy;
        }
    }
    e_priv_.clear();
    if (!done)
        return weak ? HandshakeError::WeakPublicKey : HandshakeError::AuthFailed;

    Payload p;
    const bool parsed =
        parse_payload(std::span<const uint8_t>(payload, ct.size() - proto::TAG_LEN), p);
    wipe(payload, sizeof payload);
    if (!parsed || p.version != proto::PROTOCOL_VERSION || !p.cipher || !p.heartbeat ||
        p.mode != static_cast<uint8_t>(mode))
        return HandshakeError::BadPayload;
    const auto cipher = static_cast<CipherId>(*p.cipher);
    if ((cipher != CipherId::ChaCha20Poly1305 && cipher != CipherId::Aes256Gcm) ||
        (opts_.ciphers & proto::cipher_bit(cipher)) == 0)
        return HandshakeError::NoCommonCipher;

    finish(*done, cipher, /*initiator=*/true, r);
    r.forward_secret = mode == HandshakeMode::ForwardSecret;
    r.heartbeat_seconds = effective_heartbeat(opts_.heartbeat_seconds, *p.heartbeat);
    return HandshakeError::None;
}

// ---------------------------------------------------------------------------
// Responder
// ---------------------------------------------------------------------------

Responder::Responder(std::vector<const Psk *> psks, HandshakeOptions opts)
    : opts_(std::move(opts)), psks_(std::move(psks)) {
    if (psks_.size() > MAX_KEYS)
        psks_.resize(MAX_KEYS);
    if (opts_.ciphers == 0)
        opts_.ciphers = default_cipher_mask();
}

HandshakeError Responder::read_message1(std::span<const uint8_t> body) {
    if (read_)
        return HandshakeError::WrongState;
    read_ = true;
    if (body.size() < proto::MSG1_BODY_MIN || body.size() > proto::HS_BODY_MAX)
        return HandshakeError::Malformed;

    std::span<const uint8_t, 32> e(body.data(), 32);
    std::span<const uint8_t> ct = body.subspan(proto::DH_LEN);
    uint8_t payload[proto::HS_BODY_MAX];

    // Trial-open the payload under each key (DESIGN.md §3.4), starting from
    // each key's precomputed state. No X25519 operation happens here: a
    // peer without a key costs only hashes and one small AEAD open per key.
    // The authenticated state is kept only once every check below has
    // passed, so that after any error write_message2() refuses (WrongState)
    // instead of answering with a mode or cipher that was never agreed.
    std::optional<SymmetricState> authenticated;
    for (size_t i = 0; i < psks_.size() && !authenticated; ++i) {
        SymmetricState ss = state_after_psk(*psks_[i]);
        ss.mix_hash(e);
        ss.mix_key(e);
        if (ss.decrypt_and_hash(ct, payload)) {
            authenticated = ss;
            key_index_ = i;
        }
    }
    if (!authenticated)
        return HandshakeError::AuthFailed;
    std::copy(e.begin(), e.end(), re_.begin());

    Payload p;
    const bool parsed =
        parse_payload(std::span<const uint8_t>(payload, ct.size() - proto::TAG_LEN), p);
    wipe(payload, sizeof payload);
    if (!parsed || p.version != proto::PROTOCOL_VERSION || !p.fs_policy || !p.ciphers ||
        !p.heartbeat || !p.timestamp || *p.fs_policy > static_cast<uint8_t>(FsPolicy::Refuse) ||
        (*p.ciphers & proto::cipher_bit(CipherId::ChaCha20Poly1305)) == 0)
        return HandshakeError::BadPayload;

    // DESIGN.md §3.5: a msg1 from outside the clock window is refused
    // before any X25519 operation, so a replay older than the window costs
    // what a wrong key costs, whatever the replay cache remembers.
    peer_time_ = *p.timestamp;
    const uint64_t now = opts_.unix_time_s;
    const uint64_t apart = peer_time_ > now ? peer_time_ - now : now - peer_time_;
    if (apart > opts_.clock_window_s)
        return HandshakeError::ClockSkew;

    // DESIGN.md §4.1: -f on either side means no DH, unless the other side
    // has -g, in which case the handshake fails.
    const auto peer = static_cast<FsPolicy>(*p.fs_policy);
    const FsPolicy mine = opts_.fs_policy;
    if ((peer == FsPolicy::Refuse && mine == FsPolicy::Require) ||
        (peer == FsPolicy::Require && mine == FsPolicy::Refuse))
        return HandshakeError::PolicyConflict;
    mode_ = (peer == FsPolicy::Refuse || mine == FsPolicy::Refuse) ? HandshakeMode::NoForwardSecrecy
                                                                   : HandshakeMode::ForwardSecret;

    // DESIGN.md §4.2: AES-256-GCM if both sides offer it, else ChaCha20.
    const uint8_t common = static_cast<uint8_t>(*p.ciphers & opts_.ciphers);
    if (common & proto::cipher_bit(CipherId::Aes256Gcm))
        cipher_ = CipherId::Aes256Gcm;
    else if (common & proto::cipher_bit(CipherId::ChaCha20Poly1305))
        cipher_ = CipherId::ChaCha20Poly1305;
    else
        return HandshakeError::NoCommonCipher;

    peer_heartbeat_ = *p.heartbeat;
    ss_ = std::move(authenticated);
    return HandshakeError::None;
}

int64_t Responder::clock_skew_s() const noexcept {
    return static_cast<int64_t>(peer_time_) - static_cast<int64_t>(opts_.unix_time_s);
}

HandshakeError Responder::write_message2(std::span<uint8_t> out, size_t &written,
                                         HandshakeResult &r) {
    written = 0;
    if (!ss_ || done_ || out.size() < proto::HS_LENGTH_LEN + proto::HS_BODY_MAX)
        return HandshakeError::WrongState;
    done_ = true;
    SymmetricState &ss = *ss_;
    uint8_t *body = out.data() + proto::HS_LENGTH_LEN;

    // <- e, ee (or <- e only, in the no-DH variant)
    Key32 e_priv;
    std::array<uint8_t, 32> e_pub{};
    draw_ephemeral(opts_, e_priv.span());
    if (mode_ == HandshakeMode::ForwardSecret)
        detail::x25519_public(e_priv.span(), e_pub);
    else
        std::copy(e_priv.span().begin(), e_priv.span().end(), e_pub.begin());
    std::memcpy(body, e_pub.data(), proto::DH_LEN);
    ss.mix_hash(e_pub);
    ss.mix_key(e_pub);
    if (mode_ == HandshakeMode::ForwardSecret) {
        Key32 dh;
        if (!detail::x25519_dh(e_priv.span(), re_, dh.span()))
            return HandshakeError::WeakPublicKey;
        ss.mix_key(dh.span());
    }

    uint8_t payload[32];
    proto::FieldWriter w(payload);
    w.u8(PayloadField::Version, proto::PROTOCOL_VERSION);
    w.u8(PayloadField::Cipher, static_cast<uint8_t>(cipher_));
    w.u16(PayloadField::Heartbeat, opts_.heartbeat_seconds);
    w.u8(PayloadField::Mode, static_cast<uint8_t>(mode_));
    size_t ct =
        ss.encrypt_and_hash(std::span<const uint8_t>(payload, w.size()), body + proto::DH_LEN);
    const size_t body_len = proto::DH_LEN + ct;
    put_length(out.data(), body_len);
    written = proto::HS_LENGTH_LEN + body_len;

    finish(ss, cipher_, /*initiator=*/false, r);
    r.forward_secret = mode_ == HandshakeMode::ForwardSecret;
    r.heartbeat_seconds = effective_heartbeat(opts_.heartbeat_seconds, peer_heartbeat_);
    r.key_index = key_index_;
    ss_.reset();
    return HandshakeError::None;
}

} // namespace sealpipe::crypto
