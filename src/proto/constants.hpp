// SPDX-License-Identifier: BSD-2-Clause
// Every constant that appears on the wire or bounds the protocol, named as in
// DESIGN.md so that spec and code are one grep apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sealpipe::proto {

// ---------------------------------------------------------------------------
// Specification constants (changing any of these changes the protocol).
// ---------------------------------------------------------------------------

// DESIGN.md §3: the Noise protocol name hashed into the initial state.
inline constexpr std::string_view NOISE_PROTOCOL_NAME = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";

// DESIGN.md §3.1: the prologue names our protocol and its version. A peer
// speaking another version derives different keys and fails silently.
inline constexpr std::string_view PROLOGUE = "sealpipe/2";

// DESIGN.md §2: PSK = HMAC-SHA256(key = key file bytes, PSK_LABEL).
inline constexpr std::string_view PSK_LABEL = "sealpipe/1 psk";

// DESIGN.md §2: fingerprint = first 4 bytes of HMAC-SHA256(psk, label).
inline constexpr std::string_view FINGERPRINT_LABEL = "sealpipe/1 fingerprint";

// DESIGN.md §6.3: k' = HMAC-SHA256(key = k, REKEY_LABEL).
inline constexpr std::string_view REKEY_LABEL = "sealpipe/1 rekey";

inline constexpr size_t KEY_FILE_MIN = 32;      // DESIGN.md §2
inline constexpr size_t KEY_FILE_MAX = 1 << 20; // DESIGN.md §2
inline constexpr size_t KEY_LEN = 32;           // PSK, cipher keys
inline constexpr size_t DH_LEN = 32;            // X25519 public key
inline constexpr size_t TAG_LEN = 16;           // AEAD tag
inline constexpr size_t HASH_LEN = 32;          // SHA-256

// DESIGN.md §3.2: handshake messages are u16 length || body.
inline constexpr size_t HS_LENGTH_LEN = 2;
inline constexpr size_t HS_BODY_MAX = 1024;
inline constexpr size_t MSG1_BODY_MIN = DH_LEN + TAG_LEN;
inline constexpr size_t MSG2_BODY_MIN = DH_LEN + TAG_LEN;

// DESIGN.md §3.3: the handshake's mode, the value of msg2's Mode field.
enum class HandshakeMode : uint8_t {
    ForwardSecret = 0x00,   // NNpsk0: tokens "e, ee"
    NoForwardSecrecy = 0x01 // the no-DH variant: token "e" only (spiped -f)
};

// DESIGN.md §4: handshake payload fields (type u8, length u16, value).
enum class PayloadField : uint8_t {
    Version = 0x01,   // u8, must be PROTOCOL_VERSION
    FsPolicy = 0x02,  // u8, msg1 only, see FsPolicy
    Ciphers = 0x03,   // u8 bitmask, msg1 only
    Heartbeat = 0x04, // u16 seconds, 0 = off
    Cipher = 0x05,    // u8 chosen cipher, msg2 only
    ProxyAddr = 0x06, // original client address, CONFIRM body only
    Timestamp = 0x07, // u64 seconds since the Unix epoch, msg1 only
    Mode = 0x08,      // u8 HandshakeMode, msg2 only
    Padding = 0x7f,   // ignored
};
inline constexpr uint8_t PROTOCOL_VERSION = 2;

// DESIGN.md §3.5: a responder refuses a msg1 whose Timestamp is further
// than this from its own clock (--clock-window); the replay cache keeps
// each entry for twice as long, the time a message stays acceptable.
inline constexpr uint32_t CLOCK_WINDOW_DEFAULT_S = 120;
inline constexpr uint32_t CLOCK_WINDOW_MAX_S = 86400;

// DESIGN.md §4.1: forward secrecy policy of one side.
enum class FsPolicy : uint8_t {
    Prefer = 0,  // default: forward secret unless the peer refuses
    Require = 1, // -g
    Refuse = 2,  // -f
};

// DESIGN.md §4.2: transport ciphers (bit value in the Ciphers bitmask is
// 1 << (id - 1)).
enum class CipherId : uint8_t {
    ChaCha20Poly1305 = 1,
    Aes256Gcm = 2,
};
// The one spelling of each cipher's name: logs, metrics labels, --cipher.
inline constexpr const char *cipher_name(CipherId c) {
    return c == CipherId::Aes256Gcm ? "aes-256-gcm" : "chacha20-poly1305";
}
inline constexpr CipherId ALL_CIPHERS[] = {CipherId::ChaCha20Poly1305, CipherId::Aes256Gcm};
inline constexpr uint8_t cipher_bit(CipherId c) {
    return static_cast<uint8_t>(1u << (static_cast<uint8_t>(c) - 1));
}

// DESIGN.md §5: a record is u16 length || AEAD(type || body).
inline constexpr size_t RECORD_HEADER_LEN = 2;
inline constexpr size_t RECORD_TYPE_LEN = 1;
inline constexpr size_t RECORD_BODY_MAX = 16384;
inline constexpr size_t RECORD_CT_MIN = RECORD_TYPE_LEN + TAG_LEN;
inline constexpr size_t RECORD_CT_MAX = RECORD_TYPE_LEN + RECORD_BODY_MAX + TAG_LEN;
inline constexpr size_t RECORD_OVERHEAD = RECORD_HEADER_LEN + RECORD_TYPE_LEN + TAG_LEN;
inline constexpr size_t RECORD_MAX = RECORD_HEADER_LEN + RECORD_CT_MAX;

// DESIGN.md §5.2: record types.
enum class RecordType : uint8_t {
    Confirm = 0x01, // fields (fields.hpp); first record from the initiator
    Data = 0x02,    // 1..RECORD_BODY_MAX bytes of plaintext
    Close = 0x03,   // empty; end of this direction
    Reset = 0x04,   // 1 byte ResetReason; abort the connection
    Ping = 0x05,    // PING_BODY_LEN opaque bytes
    Pong = 0x06,    // echo of a Ping body
    Rekey = 0x07,   // empty; sender's next record uses the next key
};
inline constexpr size_t PING_BODY_LEN = 8;

// DESIGN.md §5.2: why a RESET was sent (informational only).
enum class ResetReason : uint8_t {
    PlaintextReset = 0, // the plaintext socket was reset or failed
    TargetUnreachable = 1,
    Timeout = 2, // idle or half-close timeout
    ProtocolError = 3,
    Shutdown = 4, // the daemon was stopped immediately
    Overload = 5,
    HeartbeatTimeout = 6, // nothing heard from the peer for 4 intervals
};

// DESIGN.md §6: usage limits per direction.
inline constexpr uint64_t REKEY_AFTER_RECORDS = uint64_t{1} << 20;
inline constexpr uint32_t REKEY_AFTER_SECONDS = 3600;
// The last nonce value is never used; a sender that reaches it must stop.
inline constexpr uint64_t NONCE_LIMIT = UINT64_MAX;

// DESIGN.md §7: heartbeats.
inline constexpr unsigned HEARTBEAT_DEAD_AFTER = 4; // intervals of silence

} // namespace sealpipe::proto
