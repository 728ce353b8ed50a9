// SPDX-License-Identifier: BSD-2-Clause
// spiped's wire protocol, version 1.6 (DESIGN.md §12; spiped's DESIGN.md
// and lib/proto/proto_crypt.c are the authority), as a pure byte-level
// state machine like crypto/handshake.hpp: no sockets, no event loop, no
// logging.
//
//   initiator (-e, sealpipe)                 responder (-d)
//   nonce_C (32)             <---------->    nonce_S (32)   (both at once)
//   y_C || HMAC(dhmac_C, y_C)  ---288--->    read_dh(): MAC, y < p, -g
//   read_dh()                <---288----     y_S || HMAC(dhmac_S, y_S)
//   then 1,060-byte packets each way: AES-256-CTR and HMAC-SHA256.
//
// K = SHA-256(key file) (Psk::spiped_key()); dhmac_C || dhmac_S =
// PBKDF2-SHA256(K, nonce_C || nonce_S, 1, 64); the group is RFC 3526's
// 2048-bit MODP group 14 with g = 2; E_C || H_C || E_S || H_S =
// PBKDF2-SHA256(K, nonce_C || nonce_S || y_SC, 1, 128). C sends with
// E_C/H_C, S with E_S/H_S.
//
// OpenSSL's libcrypto does the work (libsodium has no AES-CTR and no big
// numbers): EVP AES-256-CTR, EVP HMAC-SHA256, PBKDF2, and
// BN_mod_exp_mont_consttime for the DH. Only this file's .cpp and
// cipher_state.cpp include OpenSSL (tests/lint/layering.sh).
//
// Thread-safety: none; each object belongs to one connection. init_spiped()
// runs once at start-up, before any thread.
#pragma once

#include "crypto/handshake.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/secret.hpp"
#include "proto/constants.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sealpipe::crypto::spiped {

inline constexpr size_t NONCE_LEN = 32;
inline constexpr size_t PUB_LEN = 256;                // a group-14 element, big-endian
inline constexpr size_t DH_MSG_LEN = PUB_LEN + 32;    // y || HMAC-SHA256
inline constexpr size_t PACKET_BODY_MAX = 1024;       // PCRYPT_MAXDSZ
inline constexpr size_t PACKET_LEN = 1024 + 4 + 32;   // PCRYPT_ESZ: 1,060
inline constexpr size_t PACKET_OVERHEAD = PACKET_LEN; // every packet is full size

// One direction of the packet stream: AES-256-CTR with the 16-byte counter
// block be64(packet number) || be64(block), and HMAC-SHA256 over the
// ciphertext and be64(packet number). The packet number starts at 0.
class PacketCipher {
public:
    PacketCipher() noexcept = default;
    // ${keys}: the 32-byte AES key then the 32-byte HMAC key.
    explicit PacketCipher(std::span<const uint8_t, 64> keys) noexcept;
    ~PacketCipher();
    PacketCipher(PacketCipher &&o) noexcept;
    PacketCipher &operator=(PacketCipher &&o) noexcept;
    PacketCipher(const PacketCipher &) = delete;
    PacketCipher &operator=(const PacketCipher &) = delete;

    // Seal the ${len} (1..PACKET_BODY_MAX) bytes at ${pkt} into the
    // PACKET_LEN-byte packet that starts there. False if the contexts
    // cannot be had or the packet number would wrap.
    bool seal(uint8_t *pkt, size_t len) noexcept;
    // Check and decrypt the PACKET_LEN bytes at ${pkt} in place. Returns the
    // body length (its bytes at pkt[0..)), or 0 if the tag, the packet
    // number or the length is wrong: the stream is over.
    size_t open(uint8_t *pkt) noexcept;

    // The EVP contexts (about 1.5 KiB) are held only while the direction is
    // active, as CipherState's: activate() throws std::bad_alloc; park()
    // frees them while the keys stay. seal() and open() activate as needed.
    void activate();
    void park() noexcept;
    bool valid() const noexcept { return valid_; }
    uint64_t packet_number() const noexcept { return pnum_; }
    void set_packet_number_for_tests(uint64_t n) noexcept { pnum_ = n; }

private:
    bool ensure() noexcept;
    bool mac(const uint8_t *ct, uint8_t out[32]) noexcept;
    bool crypt(uint8_t *buf) noexcept;

    Key32 aes_;
    Key32 hmac_;
    uint64_t pnum_ = 0;
    bool valid_ = false;
    void *cipher_ctx_ = nullptr; // EVP_CIPHER_CTX, kept opaque
    void *mac_ctx_ = nullptr;    // EVP_MAC_CTX
};

struct Result {
    PacketCipher send;
    PacketCipher recv;
    bool forward_secret = false; // both sides did the DH (neither sent y = 1)
    size_t key_index = 0;        // responder: which key matched
};

// One side's handshake. ${keys}: the initiator uses the first; the
// responder tries each in turn on the initiator's DH message (SIGHUP
// rotation). ${policy}: Refuse is spiped's -f (send y = 1, no DH), Require
// its -g (refuse a peer's y = 1).
class Handshake {
public:
    Handshake(bool responder, std::vector<const Psk *> keys, proto::FsPolicy policy);
    ~Handshake();
    Handshake(const Handshake &) = delete;
    Handshake &operator=(const Handshake &) = delete;

    // This side's nonce, sent first by both sides.
    std::span<const uint8_t, NONCE_LEN> nonce() const noexcept {
        return std::span<const uint8_t, NONCE_LEN>(nonce_local_);
    }
    // The peer's nonce.
    HandshakeError read_nonce(std::span<const uint8_t, NONCE_LEN> peer);
    // The initiator's DH message, after read_nonce(); the responder's,
    // after read_dh() (this is where a responder does its modexp).
    HandshakeError write_dh(std::span<uint8_t, DH_MSG_LEN> out);
    // The peer's DH message: MAC (constant time; the responder tries every
    // key), y < p and y != 0, and, with -g, y != 1 and y != p - 1 (order 2:
    // the shared secret is +-1). No modexp.
    HandshakeError read_dh(std::span<const uint8_t, DH_MSG_LEN> in);
    // Both DH messages are done: derive the packet keys.
    HandshakeError finish(Result &out);

private:
    void derive_dhmac(const Psk &k, uint8_t out[64]) const noexcept;

    bool responder_;
    std::vector<const Psk *> keys_;
    proto::FsPolicy policy_;
    std::array<uint8_t, NONCE_LEN> nonce_local_{};
    std::array<uint8_t, NONCE_LEN> nonce_remote_{};
    const Psk *key_ = nullptr; // the key in use, once known
    size_t key_index_ = 0;
    std::array<uint8_t, 64> dhmac_{}; // C's MAC key || S's MAC key
    std::array<uint8_t, PUB_LEN> y_remote_{};
    Key32 x_; // the DH private value
    bool have_nonce_ = false, wrote_dh_ = false, read_dh_ = false;
    bool peer_weak_ = false;      // the peer sent y = 1
    bool peer_order_two_ = false; // the peer sent y = p - 1
};

// Fetch what OpenSSL needs (HMAC, AES-256-CTR, PBKDF2, the group) once,
// at start-up, as detail::init_record_aead does (called by crypto::init()).
// Throws std::runtime_error.
void init_spiped();

// Test hook: number of group-14 modular exponentiations so far.
uint64_t modexp_count() noexcept;

// The group's prime p (RFC 3526 group 14), big-endian; after init_spiped().
std::span<const uint8_t, PUB_LEN> group_prime() noexcept;

} // namespace sealpipe::crypto::spiped
