// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/spiped.hpp"
#include "crypto/internal.hpp"
#include "crypto/sodium.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace sealpipe::crypto::spiped {

namespace {

constexpr size_t CT_LEN = PACKET_BODY_MAX + 4; // what is encrypted and MACed

// Fetched once by init_spiped(), read-only afterwards (shared by threads).
EVP_CIPHER *g_aes_ctr = nullptr;
EVP_MAC *g_hmac = nullptr;
BIGNUM *g_p = nullptr; // RFC 3526 group 14
BIGNUM *g_g = nullptr; // 2
BN_MONT_CTX *g_mont = nullptr;
uint8_t g_p_bytes[PUB_LEN];
std::atomic<uint64_t> g_modexps{0};

void be64enc(uint8_t *p, uint64_t v) noexcept {
    for (int i = 7; i >= 0; --i, v >>= 8)
        p[i] = static_cast<uint8_t>(v);
}

EVP_CIPHER_CTX *cctx(void *p) {
    return static_cast<EVP_CIPHER_CTX *>(p);
}
EVP_MAC_CTX *mctx(void *p) {
    return static_cast<EVP_MAC_CTX *>(p);
}

// PBKDF2-SHA256(K, ${salt}, 1 iteration) into ${out} (spiped's dk_1, dk_2).
bool pbkdf2(const Psk &k, const uint8_t *salt, size_t salt_len, uint8_t *out,
            size_t out_len) noexcept {
    const auto key = k.spiped_key();
    return PKCS5_PBKDF2_HMAC(reinterpret_cast<const char *>(key.data()),
                             static_cast<int>(key.size()), salt, static_cast<int>(salt_len), 1,
                             EVP_sha256(), static_cast<int>(out_len), out) == 1;
}

// ${out} = ${base}^${exp} mod p, constant time in the exponent, as 256
// big-endian bytes. ${base} == nullptr means the generator.
bool modexp(const uint8_t *base, std::span<const uint8_t, 32> priv, uint8_t out[PUB_LEN]) noexcept {
    g_modexps.fetch_add(1, std::memory_order_relaxed);
    BN_CTX *ctx = BN_CTX_secure_new();
    bool ok = false;
    if (ctx != nullptr) {
        BN_CTX_start(ctx);
        BIGNUM *e = BN_CTX_get(ctx);
        BIGNUM *b = BN_CTX_get(ctx);
        BIGNUM *r = BN_CTX_get(ctx);
        // spiped's exponent: 2^258 + a 256-bit random value (crypto_dh.c).
        // Any exponent interoperates; this one keeps spiped's margin.
        ok = r != nullptr && BN_bin2bn(priv.data(), static_cast<int>(priv.size()), e) != nullptr;
        if (ok) {
            BN_set_flags(e, BN_FLG_CONSTTIME);
            BIGNUM *two258 = BN_CTX_get(ctx);
            ok = two258 != nullptr && BN_lshift(two258, BN_value_one(), 258) == 1 &&
                 BN_add(e, e, two258) == 1;
        }
        if (ok)
            ok = (base == nullptr ? BN_copy(b, g_g) : BN_bin2bn(base, PUB_LEN, b)) != nullptr;
        ok = ok && BN_mod_exp_mont_consttime(r, b, e, g_p, ctx, g_mont) == 1 &&
             BN_bn2binpad(r, out, PUB_LEN) == static_cast<int>(PUB_LEN);
        BN_CTX_end(ctx); // BN_CTX_secure_new: its numbers are cleared
        BN_CTX_free(ctx);
    }
    return ok;
}

bool is_value(std::span<const uint8_t> y, uint8_t v) noexcept {
    uint8_t acc = static_cast<uint8_t>(y.back() ^ v);
    for (size_t i = 0; i + 1 < y.size(); ++i)
        acc |= y[i];
    return acc == 0;
}

// y = p - 1 has order 2: y^x is 1 or p - 1, whatever x, so a DH with it
// has no secret in it. p is odd and ends in 0xff: p - 1 differs from it in
// the last byte alone.
bool is_p_minus_one(std::span<const uint8_t> y) noexcept {
    uint8_t acc = static_cast<uint8_t>(y.back() ^ (g_p_bytes[PUB_LEN - 1] - 1));
    for (size_t i = 0; i + 1 < y.size(); ++i)
        acc |= static_cast<uint8_t>(y[i] ^ g_p_bytes[i]);
    return acc == 0;
}

void set_one(uint8_t *y) noexcept {
    std::memset(y, 0, PUB_LEN - 1);
    y[PUB_LEN - 1] = 1;
}

} // namespace

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

PacketCipher::PacketCipher(std::span<const uint8_t, 64> keys) noexcept
    : aes_(keys.first<32>()), hmac_(keys.last<32>()), valid_(true) {}

PacketCipher::~PacketCipher() {
    park();
}

PacketCipher::PacketCipher(PacketCipher &&o) noexcept {
    *this = std::move(o);
}

PacketCipher &PacketCipher::operator=(PacketCipher &&o) noexcept {
    if (this != &o) {
        park();
        aes_ = o.aes_;
        hmac_ = o.hmac_;
        pnum_ = o.pnum_;
        valid_ = std::exchange(o.valid_, false);
        cipher_ctx_ = std::exchange(o.cipher_ctx_, nullptr);
        mac_ctx_ = std::exchange(o.mac_ctx_, nullptr);
        o.aes_.clear();
        o.hmac_.clear();
    }
    return *this;
}

void PacketCipher::activate() {
    if (!ensure())
        throw std::bad_alloc();
}

void PacketCipher::park() noexcept {
    EVP_CIPHER_CTX_free(cctx(cipher_ctx_)); // both wipe their key schedules
    EVP_MAC_CTX_free(mctx(mac_ctx_));
    cipher_ctx_ = mac_ctx_ = nullptr;
}

bool PacketCipher::ensure() noexcept {
    if (!valid_)
        return false;
    if (cipher_ctx_ != nullptr)
        return true;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(g_hmac);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (c == nullptr || m == nullptr ||
        EVP_EncryptInit_ex2(c, g_aes_ctr, aes_.data(), nullptr, nullptr) != 1 ||
        EVP_MAC_init(m, hmac_.data(), Key32::SIZE, params) != 1) {
        EVP_CIPHER_CTX_free(c);
        EVP_MAC_CTX_free(m);
        return false;
    }
    cipher_ctx_ = c;
    mac_ctx_ = m;
    return true;
}

// HMAC-SHA256(H, ct || be64(pnum)). EVP_MAC_init without a key starts
// again from the key already set (no key schedule per packet).
bool PacketCipher::mac(const uint8_t *ct, uint8_t out[32]) noexcept {
    uint8_t pn[8];
    be64enc(pn, pnum_);
    size_t outl = 0;
    return EVP_MAC_init(mctx(mac_ctx_), nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(mctx(mac_ctx_), ct, CT_LEN) == 1 &&
           EVP_MAC_update(mctx(mac_ctx_), pn, sizeof pn) == 1 &&
           EVP_MAC_final(mctx(mac_ctx_), out, &outl, 32) == 1 && outl == 32;
}

// AES-256-CTR over the CT_LEN bytes at ${buf}, in place; the counter block
// is be64(pnum) || be64(0) (libcperciva's crypto_aesctr).
bool PacketCipher::crypt(uint8_t *buf) noexcept {
    uint8_t iv[16] = {};
    be64enc(iv, pnum_);
    int outl = 0;
    return EVP_EncryptInit_ex2(cctx(cipher_ctx_), nullptr, nullptr, iv, nullptr) == 1 &&
           EVP_EncryptUpdate(cctx(cipher_ctx_), buf, &outl, buf, static_cast<int>(CT_LEN)) == 1 &&
           outl == static_cast<int>(CT_LEN);
}

bool PacketCipher::seal(uint8_t *pkt, size_t len) noexcept {
    if (len == 0 || len > PACKET_BODY_MAX || pnum_ == UINT64_MAX || !ensure())
        return false;
    std::memset(pkt + len, 0, PACKET_BODY_MAX - len);
    for (int i = 0; i < 4; ++i)
        pkt[PACKET_BODY_MAX + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
    if (!crypt(pkt) || !mac(pkt, pkt + CT_LEN))
        return false;
    ++pnum_;
    return true;
}

size_t PacketCipher::open(uint8_t *pkt) noexcept {
    uint8_t tag[32];
    if (pnum_ == UINT64_MAX || !ensure() || !mac(pkt, tag) ||
        !equal_ct({tag, 32}, {pkt + CT_LEN, 32}) || !crypt(pkt))
        return 0;
    ++pnum_;
    size_t len = 0;
    for (int i = 0; i < 4; ++i)
        len = len << 8 | pkt[PACKET_BODY_MAX + i];
    return len <= PACKET_BODY_MAX ? len : 0;
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

Handshake::Handshake(bool responder, std::vector<const Psk *> keys, proto::FsPolicy policy)
    : responder_(responder), keys_(std::move(keys)), policy_(policy) {
    random_bytes(nonce_local_);
}

Handshake::~Handshake() {
    wipe(dhmac_.data(), dhmac_.size());
}

void Handshake::derive_dhmac(const Psk &k, uint8_t out[64]) const noexcept {
    uint8_t salt[2 * NONCE_LEN];
    const auto &c = responder_ ? nonce_remote_ : nonce_local_;
    const auto &s = responder_ ? nonce_local_ : nonce_remote_;
    std::memcpy(salt, c.data(), NONCE_LEN);
    std::memcpy(salt + NONCE_LEN, s.data(), NONCE_LEN);
    if (!pbkdf2(k, salt, sizeof salt, out, 64))
        random_bytes({out, 64}); // cannot happen; fail the MAC, never pass it
}

HandshakeError Handshake::read_nonce(std::span<const uint8_t, NONCE_LEN> peer) {
    if (have_nonce_ || keys_.empty())
        return HandshakeError::WrongState;
    std::copy(peer.begin(), peer.end(), nonce_remote_.begin());
    have_nonce_ = true;
    if (!responder_) {
        key_ = keys_.front();
        derive_dhmac(*key_, dhmac_.data());
    }
    return HandshakeError::None;
}

HandshakeError Handshake::write_dh(std::span<uint8_t, DH_MSG_LEN> out) {
    if (!have_nonce_ || key_ == nullptr || wrote_dh_ || (responder_ && !read_dh_))
        return HandshakeError::WrongState;
    if (policy_ == proto::FsPolicy::Refuse) {
        set_one(out.data());
    } else {
        random_bytes(x_.span());
        if (!modexp(nullptr, x_.span(), out.data()))
            return HandshakeError::Malformed;
    }
    const uint8_t *mine = dhmac_.data() + (responder_ ? 32 : 0);
    detail::hmac_sha256({mine, 32}, {detail::Bytes(out.data(), PUB_LEN)},
                        detail::Out32(out.data() + PUB_LEN, 32));
    wrote_dh_ = true;
    return HandshakeError::None;
}

HandshakeError Handshake::read_dh(std::span<const uint8_t, DH_MSG_LEN> in) {
    if (!have_nonce_ || read_dh_ || (!responder_ && !wrote_dh_))
        return HandshakeError::WrongState;
    const detail::Bytes y(in.data(), PUB_LEN);
    const detail::Bytes tag(in.data() + PUB_LEN, 32);
    uint8_t want[32];
    if (responder_) {
        // Try each key: two HMACs for the MAC keys and one for the tag.
        uint8_t dk[64];
        key_ = nullptr;
        for (size_t i = 0; i < keys_.size() && key_ == nullptr; ++i) {
            derive_dhmac(*keys_[i], dk);
            detail::hmac_sha256({dk, 32}, {y}, detail::Out32(want));
            if (equal_ct(want, tag)) {
                key_ = keys_[i];
                key_index_ = i;
                std::memcpy(dhmac_.data(), dk, sizeof dk);
            }
        }
        wipe(dk, sizeof dk);
        if (key_ == nullptr)
            return HandshakeError::AuthFailed;
    } else {
        detail::hmac_sha256({dhmac_.data() + 32, 32}, {y}, detail::Out32(want));
        if (!equal_ct(want, tag))
            return HandshakeError::AuthFailed;
    }
    // spiped checks y < p; a y of 0 no honest peer sends is refused too.
    if (std::memcmp(y.data(), g_p_bytes, PUB_LEN) >= 0 || is_value(y, 0))
        return HandshakeError::WeakPublicKey;
    // y = 1 (a -f peer) or y = p - 1 (order 2, which spiped accepts): no
    // forward secrecy, which -g refuses (DESIGN.md §12.2).
    peer_weak_ = is_value(y, 1);
    peer_order_two_ = is_p_minus_one(y);
    if ((peer_weak_ || peer_order_two_) && policy_ == proto::FsPolicy::Require)
        return HandshakeError::PolicyConflict;
    std::copy(y.begin(), y.end(), y_remote_.begin());
    read_dh_ = true;
    return HandshakeError::None;
}

HandshakeError Handshake::finish(Result &out) {
    if (!wrote_dh_ || !read_dh_)
        return HandshakeError::WrongState;
    uint8_t salt[2 * NONCE_LEN + PUB_LEN];
    const auto &c = responder_ ? nonce_remote_ : nonce_local_;
    const auto &s = responder_ ? nonce_local_ : nonce_remote_;
    std::memcpy(salt, c.data(), NONCE_LEN);
    std::memcpy(salt + NONCE_LEN, s.data(), NONCE_LEN);
    uint8_t *y_sc = salt + 2 * NONCE_LEN;
    const bool weak_local = policy_ == proto::FsPolicy::Refuse;
    // Either side's y = 1 makes y_SC = 1 (1^x = 1; a -f side sets it).
    if (weak_local || peer_weak_)
        set_one(y_sc);
    else if (!modexp(y_remote_.data(), x_.span(), y_sc))
        return HandshakeError::Malformed;
    x_.clear();
    uint8_t dk[128];
    const bool ok = pbkdf2(*key_, salt, sizeof salt, dk, sizeof dk);
    wipe(salt, sizeof salt);
    if (!ok) {
        wipe(dk, sizeof dk);
        return HandshakeError::Malformed;
    }
    const std::span<const uint8_t, 64> keys_c(dk, 64), keys_s(dk + 64, 64);
    out.send = PacketCipher(responder_ ? keys_s : keys_c);
    out.recv = PacketCipher(responder_ ? keys_c : keys_s);
    out.forward_secret = !weak_local && !peer_weak_ && !peer_order_two_;
    out.key_index = key_index_;
    wipe(dk, sizeof dk);
    return HandshakeError::None;
}

void init_spiped() {
    if (g_aes_ctr == nullptr)
        g_aes_ctr = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
    if (g_hmac == nullptr)
        g_hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (g_aes_ctr == nullptr || g_hmac == nullptr)
        throw std::runtime_error("OpenSSL has no AES-256-CTR or HMAC (is the default provider "
                                 "available?)");
    if (g_p == nullptr) {
        BN_CTX *ctx = BN_CTX_new();
        g_p = BN_get_rfc3526_prime_2048(nullptr);
        g_g = BN_new();
        g_mont = BN_MONT_CTX_new();
        if (ctx == nullptr || g_p == nullptr || g_g == nullptr || g_mont == nullptr ||
            BN_set_word(g_g, 2) != 1 || BN_MONT_CTX_set(g_mont, g_p, ctx) != 1 ||
            BN_bn2binpad(g_p, g_p_bytes, PUB_LEN) != static_cast<int>(PUB_LEN)) {
            BN_CTX_free(ctx);
            throw std::runtime_error("cannot set up the spiped DH group (OpenSSL)");
        }
        BN_CTX_free(ctx);
    }
    // One packet each way finishes OpenSSL's lazy set-up of the contexts.
    uint8_t k[64] = {}, pkt[PACKET_LEN] = {1};
    PacketCipher a{std::span<const uint8_t, 64>(k)}, b{std::span<const uint8_t, 64>(k)};
    if (!a.seal(pkt, 1) || b.open(pkt) != 1)
        throw std::runtime_error("cannot set up OpenSSL's AES-256-CTR and HMAC-SHA256");
}

std::span<const uint8_t, PUB_LEN> group_prime() noexcept {
    return std::span<const uint8_t, PUB_LEN>(g_p_bytes, PUB_LEN);
}

uint64_t modexp_count() noexcept {
    return g_modexps.load(std::memory_order_relaxed);
}

} // namespace sealpipe::crypto::spiped
