// SPDX-License-Identifier: BSD-2-Clause
// The wire-protocol seam. The engine (connector, handshake stage, pipes,
// timers, end reasons) is protocol-agnostic; a WireProtocol, chosen per
// listener, supplies the two things that differ on the wire:
//
//   HandshakeDriver  the messages before the session: framing, checking,
//                    and for the responder the admission point between
//                    "authenticated" and "answered" (DESIGN.md §3.4)
//   RecordSealer     one direction's record codec, sealing in place
//   RecordOpener     the other direction's, opening in place
//
// plus the Features of the session, which select the pipe's framing
// policy (an authenticated CLOSE or a bare FIN; control records or none).
// sealpipe's own protocol is sealpipe_protocol() (protocol_sealpipe.cpp).
//
// Thread-safety: a WireProtocol is immutable and shared; drivers, sealers
// and openers belong to one connection.
#pragma once

#include "crypto/cipher_state.hpp"
#include "crypto/handshake.hpp"
#include "proto/constants.hpp"
#include "proto/limits.hpp"
#include "proto/record.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace sealpipe::tunnel {

struct KeySet;

// Where a record's body goes in its slot, so that plaintext is read
// straight into place and sealed there without a copy.
struct RecordLayout {
    size_t body_offset; // from the record's start
    size_t body_max;    // largest DATA body
    size_t slot;        // wire size of a full DATA record
    size_t overhead;    // wire size minus body size, for every record
};

// What a session supports; the pipes choose their framing policy by it.
struct Features {
    // CLOSE and RESET records: end of stream is authenticated and a cut
    // stream is a truncation. Without, EOF is a bare FIN (as spiped).
    bool authenticated_close = true;
    // PING/PONG (heartbeats) and REKEY.
    bool control_records = true;
    // The initiator's first record is CONFIRM and the responder connects to
    // its target only after it (DESIGN.md §3.6). Without, the responder
    // connects once the handshake is authenticated.
    bool confirm = true;
    // The initiator passes its client's address in the CONFIRM body (for
    // the PROXY header). Without, the responder's PROXY header names the
    // initiator's own address.
    bool client_address = true;
};

class RecordSealer {
public:
    virtual ~RecordSealer() = default;
    virtual RecordLayout layout() const noexcept = 0;
    // Seal the record at ${rec} whose ${body_len} body bytes are already in
    // place (at layout().body_offset). Returns its wire size, or 0 at the
    // nonce limit (the connection must end).
    virtual size_t seal(proto::RecordType type, uint8_t *rec, size_t body_len) noexcept = 0;
    // The direction becomes active (hold its expanded key: throws
    // std::bad_alloc if it cannot) or idle (let it go; the key stays).
    virtual void activate() = 0;
    virtual void park() noexcept = 0;
    // Rekeying is due before the next record (DESIGN.md §6).
    virtual bool rekey_due(uint64_t now_s) const noexcept = 0;
    // When the key reaches its age limit, in now_s's seconds: rekey then
    // even if nothing else is to be sent. UINT64_MAX: never.
    virtual uint64_t rekey_at_s() const noexcept = 0;
    // Seal a REKEY record at ${rec} and switch keys; 0 at the nonce limit.
    virtual size_t seal_rekey(uint8_t *rec, uint64_t now_s) noexcept = 0;
};

class RecordOpener {
public:
    virtual ~RecordOpener() = default;
    // Decode (and decrypt in place) the record at the start of ${data};
    // ${now_s} is for the check of the peer's key age.
    virtual proto::DecodeStatus next(uint8_t *data, size_t avail, proto::Record &out,
                                     proto::RecordError &err, uint64_t now_s) noexcept = 0;
    virtual bool close_received() const noexcept = 0;
    // As RecordSealer's.
    virtual void activate() = 0;
    virtual void park() noexcept = 0;
};

// What a finished handshake hands to the pipes.
struct Session {
    std::unique_ptr<RecordSealer> sealer;
    std::unique_ptr<RecordOpener> opener;
    Features features;
    proto::CipherId cipher = proto::CipherId::ChaCha20Poly1305;
    // For logs and metrics: the transport's name, if it is not one of
    // sealpipe's AEADs (cipher is then meaningless).
    const char *transport = nullptr;
    bool forward_secret = false;
    uint16_t heartbeat_s = 0;               // agreed interval, 0 = off
    std::optional<crypto::ProxyInfo> proxy; // responder: the client's address
};

enum class HsStep : uint8_t {
    NeedMore,      // send what is pending / read more
    Authenticated, // responder: the message proved the key; admit it or not
    Done,          // the session is ready: take_session()
    Failed,        // error() says why
};

// Largest handshake message of any protocol, in bytes.
inline constexpr size_t HS_MESSAGE_MAX = proto::HS_LENGTH_LEN + proto::HS_BODY_MAX;

class HandshakeDriver {
public:
    virtual ~HandshakeDriver() = default;
    // The first bytes this side sends, written into ${out}; 0 if it speaks
    // second. Called for both roles (spiped's responder sends its nonce at
    // once).
    virtual size_t start(std::span<uint8_t, HS_MESSAGE_MAX> out) = 0;
    // Framing: how many bytes the next message has, given the ${have} bytes
    // of it read so far (never read past it: what follows belongs to the
    // records). Returns 0 if the bytes so far are malformed.
    virtual size_t message_size(std::span<const uint8_t> have) const noexcept = 0;
    // Process one complete message. With NeedMore, ${reply} may be set to
    // the bytes to send before the next message (spiped's initiator sends
    // its DH value once it has the responder's nonce); 0 if none.
    virtual HsStep receive(std::span<const uint8_t> msg, std::span<uint8_t, HS_MESSAGE_MAX> out,
                           size_t &reply) = 0;
    // Responder, after Authenticated: the value the replay cache keys on,
    // or nothing if the protocol cannot be replayed (the responder's fresh
    // nonce is in what authenticated the message).
    virtual std::optional<std::span<const uint8_t, 32>> replay_token() const noexcept = 0;
    // Responder, once admitted: write the answer into ${out}, set
    // ${written}; Done or Failed.
    virtual HsStep answer(std::span<uint8_t, HS_MESSAGE_MAX> out, size_t &written) = 0;
    virtual crypto::HandshakeError error() const noexcept = 0;
    // After ClockSkew: the peer's clock minus ours, in seconds.
    virtual int64_t clock_skew_s() const noexcept { return 0; }
    // After Done: the session (once).
    virtual Session take_session(uint64_t now_s, const proto::RekeyLimits &limits) = 0;
};

class WireProtocol {
public:
    virtual ~WireProtocol() = default;
    // A driver for -e, with the first key of ${keys}.
    virtual std::unique_ptr<HandshakeDriver>
    initiator(std::shared_ptr<const KeySet> keys, const crypto::HandshakeOptions &opts) const = 0;
    // A driver for -d, trying every key of ${keys}.
    virtual std::unique_ptr<HandshakeDriver>
    responder(std::shared_ptr<const KeySet> keys, const crypto::HandshakeOptions &opts) const = 0;
};

// sealpipe's protocol (DESIGN.md §3-§6).
const WireProtocol &sealpipe_protocol() noexcept;
// spiped 1.6's protocol, --protocol spiped (DESIGN.md §12;
// protocol_spiped.cpp). Its sessions' Session::transport.
const WireProtocol &spiped_protocol() noexcept;
inline constexpr const char *SPIPED_TRANSPORT_NAME = "spiped-aes-256-ctr-hmac-sha256";
// Its record codec (DESIGN.md §5): a sealer and an opener whose key clocks
// start at ${now_s}; with ${expect_confirm} (the responder), the opener
// requires CONFIRM first.
std::unique_ptr<RecordSealer> sealpipe_sealer(crypto::CipherState cs, uint64_t now_s,
                                              const proto::RekeyLimits &limits = {});
std::unique_ptr<RecordOpener> sealpipe_opener(crypto::CipherState cs, bool expect_confirm,
                                              uint64_t now_s,
                                              const proto::RekeyLimits &limits = {});

} // namespace sealpipe::tunnel
