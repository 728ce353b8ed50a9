// SPDX-License-Identifier: BSD-2-Clause
// Transport records (DESIGN.md §5): encoding, an incremental decoder, and
// the per-direction rules on record order (DESIGN.md §5.3) and rekeying
// (DESIGN.md §6). Records are sealed and opened in place, so a record costs
// one AEAD call and no copy. No sockets and no event loop here.
#pragma once

#include "proto/constants.hpp"
#include "proto/limits.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace sealpipe::proto {

// What the record layer needs of an AEAD with a running nonce counter
// (crypto::CipherState is one; DESIGN.md §5.1, §6.3). proto/ knows no
// cipher: the record layer is a template on this small interface, so the
// dependency runs one way (crypto/ uses proto/'s constants) at no cost per
// record.
template <typename C>
concept RecordCipher = requires(C &c, const C &cc, std::span<const uint8_t> ad, uint8_t *p,
                                size_t n) {
    // Encrypt n bytes at p in place and append the tag; false at the
    // counter limit (or an unset state), writing nothing.
    { c.seal(ad, p, n) } -> std::same_as<bool>;
    // Verify and decrypt n bytes (ciphertext and tag) at p in place.
    { c.open(ad, p, n) } -> std::same_as<bool>;
    // Switch to the next key; the counter continues.
    c.rekey();
    // Records sealed or opened under the current key.
    { cc.records_under_key() } -> std::convertible_to<uint64_t>;
};

// Where a record's body starts, relative to the record start.
inline constexpr size_t RECORD_BODY_OFFSET = RECORD_HEADER_LEN + RECORD_TYPE_LEN;

enum class DecodeStatus { NeedMore, Record, Invalid };

enum class RecordError {
    None,
    BadLength, // length field out of range
    BadTag,    // authentication failed: tampering, reordering, replay
    BadType,   // unknown record type
    BadBody,   // body size not allowed for the type
    BadOrder,  // e.g. DATA after CLOSE, or no CONFIRM first (DESIGN.md §5.3)
    KeyTooOld, // the peer did not rekey in time (DESIGN.md §6.2)
};

const char *to_string(RecordError e) noexcept;

struct Record {
    RecordType type = RecordType::Data;
    uint8_t *body = nullptr; // points into the caller's buffer (decrypted)
    size_t body_len = 0;
    size_t wire_len = 0; // bytes consumed from the input
};

// Write the length and type of a record with ${body_len} bytes of body at
// ${rec}. Returns the ciphertext length (type, body and tag).
size_t frame_record(RecordType type, uint8_t *rec, size_t body_len) noexcept;

// The ciphertext length of the record at ${data} (${avail} bytes): 0 while
// fewer than the two length bytes are there; sets ${err} (BadLength) if it
// is out of range.
size_t record_ct_len(const uint8_t *data, size_t avail, RecordError &err) noexcept;

// Interpret an authenticated, decrypted record: its type and body size.
// Fills ${out} and returns true, or sets ${err}.
bool parse_record(uint8_t *ct, size_t ct_len, Record &out, RecordError &err) noexcept;

// Seal one record in place. ${rec} is the record start; the ${body_len}
// bytes of body must already be at rec + RECORD_BODY_OFFSET, and the buffer
// must have RECORD_OVERHEAD bytes more than the body. Writes the length and
// type and encrypts. Returns the record's wire size, or 0 if ${cs} refuses
// (counter limit reached: the connection must end).
template <RecordCipher C>
size_t seal_record(C &cs, RecordType type, uint8_t *rec, size_t body_len) noexcept {
    const size_t ct_len = frame_record(type, rec, body_len);
    // The length field is the associated data (DESIGN.md §5.1).
    if (!cs.seal(std::span<const uint8_t>(rec, RECORD_HEADER_LEN), rec + RECORD_HEADER_LEN,
                 RECORD_TYPE_LEN + body_len))
        return 0;
    return RECORD_HEADER_LEN + ct_len;
}

// Decode the record at the start of ${data} (${avail} bytes), decrypting it
// in place. NeedMore if the record is not complete yet (a bad length is
// reported as soon as the two length bytes are there). Invalid sets ${err}.
// Stateless apart from ${cs}'s counter.
template <RecordCipher C> DecodeStatus decode_record(C &cs, uint8_t *data, size_t avail,
                                                     Record &out, RecordError &err) noexcept {
    err = RecordError::None;
    const size_t ct_len = record_ct_len(data, avail, err);
    if (err != RecordError::None)
        return DecodeStatus::Invalid;
    if (ct_len == 0 || avail < RECORD_HEADER_LEN + ct_len)
        return DecodeStatus::NeedMore;
    if (!cs.open(std::span<const uint8_t>(data, RECORD_HEADER_LEN), data + RECORD_HEADER_LEN,
                 ct_len)) {
        err = RecordError::BadTag;
        return DecodeStatus::Invalid;
    }
    // Only authenticated bytes are interpreted from here on.
    return parse_record(data + RECORD_HEADER_LEN, ct_len, out, err) ? DecodeStatus::Record
                                                                    : DecodeStatus::Invalid;
}

// The order rules of one receiving direction (DESIGN.md §5.3): the
// initiator's first record is CONFIRM and only the first is; nothing but
// PING, PONG, REKEY and RESET after CLOSE; nothing at all after RESET.
class RecordOrder {
public:
    explicit RecordOrder(bool expect_confirm = false) noexcept : expect_confirm_(expect_confirm) {}
    // Admit a record of ${type}: RecordError::None, or BadOrder.
    RecordError admit(RecordType type) noexcept;
    // Before a record is even decoded: nothing is admitted after RESET.
    bool reset_received() const noexcept { return reset_received_; }
    bool close_received() const noexcept { return close_received_; }
    bool confirmed() const noexcept { return !expect_confirm_; }

private:
    bool expect_confirm_ = false;
    bool close_received_ = false;
    bool reset_received_ = false;
};

// A receiver's rule of DESIGN.md §6.2: a record under a key that has passed
// REKEY_TOLERANCE times either limit (in records, or in seconds since
// ${key_since}) means the peer is not rekeying.
bool key_too_old(const RekeyLimits &limits, uint64_t records_under_key, uint64_t key_since,
                 uint64_t now_seconds) noexcept;

// The receiving half of a connection: decodes records and enforces the
// order rules (RecordOrder) and the key-age rule (key_too_old). REKEY
// switches to the next key before the next record.
template <RecordCipher C> class RecordReader {
public:
    RecordReader() = default;
    // ${expect_confirm}: true on the responder (-d), which must see CONFIRM
    // first. ${now_seconds}: when this key was installed (monotonic
    // seconds). ${limits}: the sender's rekey limits (DESIGN.md §6.2).
    RecordReader(C cs, bool expect_confirm, uint64_t now_seconds = 0,
                 RekeyLimits limits = {}) noexcept
        : cs_(std::move(cs)), order_(expect_confirm), key_since_(now_seconds), limits_(limits) {}

    // ${now_seconds}: the time on the clock of the constructor's argument.
    DecodeStatus next(uint8_t *data, size_t avail, Record &out, RecordError &err,
                      uint64_t now_seconds = 0) noexcept {
        if (order_.reset_received()) {
            err = RecordError::BadOrder;
            return DecodeStatus::Invalid;
        }
        const DecodeStatus st = decode_record(cs_, data, avail, out, err);
        if (st != DecodeStatus::Record)
            return st;
        if (key_too_old(limits_, cs_.records_under_key(), key_since_, now_seconds)) {
            err = RecordError::KeyTooOld;
            return DecodeStatus::Invalid;
        }
        err = order_.admit(out.type);
        if (err != RecordError::None)
            return DecodeStatus::Invalid;
        if (out.type == RecordType::Rekey) {
            cs_.rekey();
            key_since_ = now_seconds;
        }
        return st;
    }

    bool close_received() const noexcept { return order_.close_received(); }
    bool confirmed() const noexcept { return order_.confirmed(); }
    C &cipher_state() noexcept { return cs_; }

private:
    C cs_;
    RecordOrder order_;
    uint64_t key_since_ = 0;
    RekeyLimits limits_;
};

// The sending half: seals records and decides when to rekey. Rekeying is
// due after ${limits}.records records or ${limits}.seconds seconds under one
// key; the caller then emits seal_rekey() before its next record.
template <RecordCipher C> class RecordWriter {
public:
    RecordWriter() = default;
    RecordWriter(C cs, uint64_t now_seconds, RekeyLimits limits = {}) noexcept
        : cs_(std::move(cs)), key_since_(now_seconds), limits_(limits) {}

    // As seal_record(), with this direction's key. Returns 0 at the counter
    // limit.
    size_t seal(RecordType type, uint8_t *rec, size_t body_len) noexcept {
        return seal_record(cs_, type, rec, body_len);
    }
    bool rekey_due(uint64_t now_seconds) const noexcept {
        return cs_.records_under_key() >= limits_.records || now_seconds >= key_expires();
    }
    // When the key reaches its age limit, on the clock of now_seconds: the
    // sender rekeys then even with nothing to send.
    uint64_t key_expires() const noexcept { return key_since_ + limits_.seconds; }
    // Seal a REKEY record at ${rec} (RECORD_OVERHEAD bytes) and switch to
    // the next key. Returns the record size, or 0 at the counter limit.
    size_t seal_rekey(uint8_t *rec, uint64_t now_seconds) noexcept {
        const size_t n = seal_record(cs_, RecordType::Rekey, rec, 0);
        if (n == 0)
            return 0;
        cs_.rekey();
        key_since_ = now_seconds;
        return n;
    }

    C &cipher_state() noexcept { return cs_; }

private:
    C cs_;
    uint64_t key_since_ = 0;
    RekeyLimits limits_;
};

} // namespace sealpipe::proto
