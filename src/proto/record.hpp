// SPDX-License-Identifier: BSD-2-Clause
// Transport records (DESIGN.md §5): encoding, an incremental decoder, and
// the per-direction rules on record order (DESIGN.md §5.3) and rekeying
// (DESIGN.md §6). Records are sealed and opened in place, so a record costs
// one AEAD call and no copy. No sockets and no event loop here.
#pragma once

#include "crypto/cipher_state.hpp"
#include "proto/constants.hpp"
#include "proto/limits.hpp"

#include <cstddef>
#include <cstdint>

namespace sealpipe::proto {

// Where a record's body starts, relative to the record start.
inline constexpr size_t RECORD_BODY_OFFSET = RECORD_HEADER_LEN + RECORD_TYPE_LEN;

// Seal one record in place. ${rec} is the record start; the ${body_len}
// bytes of body must already be at rec + RECORD_BODY_OFFSET, and the buffer
// must have RECORD_OVERHEAD bytes more than the body. Writes the length and
// type and encrypts. Returns the record's wire size, or 0 if ${cs} refuses
// (counter limit reached: the connection must end).
size_t seal_record(crypto::CipherState &cs, RecordType type, uint8_t *rec,
                   size_t body_len) noexcept;

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

// Decode the record at the start of ${data} (${avail} bytes), decrypting it
// in place. NeedMore if the record is not complete yet (a bad length is
// reported as soon as the two length bytes are there). Invalid sets ${err}.
// Stateless apart from ${cs}'s counter.
DecodeStatus decode_record(crypto::CipherState &cs, uint8_t *data, size_t avail, Record &out,
                           RecordError &err) noexcept;

// The receiving half of a connection: decodes records and enforces the
// order rules: the initiator's first record is CONFIRM and only the first
// is; nothing but PING, PONG, REKEY and RESET after CLOSE; nothing at all
// after RESET. REKEY switches to the next key before the next record.
class RecordReader {
public:
    RecordReader() = default;
    // ${expect_confirm}: true on the responder (-d), which must see CONFIRM
    // first.
    // ${now_seconds}: when this key was installed (monotonic seconds).
    RecordReader(crypto::CipherState cs, bool expect_confirm, uint64_t now_seconds = 0) noexcept
        : cs_(std::move(cs)), expect_confirm_(expect_confirm), key_since_(now_seconds) {}

    // ${now_seconds}: the time on the clock of the constructor's argument;
    // a record under a key older than REKEY_TOLERANCE times the rekey
    // limits, in records or in time, is refused (KeyTooOld: DESIGN.md §6.2).
    DecodeStatus next(uint8_t *data, size_t avail, Record &out, RecordError &err,
                      uint64_t now_seconds = 0) noexcept;

    bool close_received() const noexcept { return close_received_; }
    bool confirmed() const noexcept { return !expect_confirm_; }
    crypto::CipherState &cipher_state() noexcept { return cs_; }

private:
    crypto::CipherState cs_;
    bool expect_confirm_ = false;
    bool close_received_ = false;
    bool reset_received_ = false;
    uint64_t key_since_ = 0;
};

// The sending half: seals records and decides when to rekey. Rekeying is
// due after REKEY_AFTER_RECORDS records or REKEY_AFTER_SECONDS seconds
// under one key; the caller then emits seal_rekey() before its next record.
class RecordWriter {
public:
    RecordWriter() = default;
    RecordWriter(crypto::CipherState cs, uint64_t now_seconds) noexcept
        : cs_(std::move(cs)), key_since_(now_seconds) {}

    // As seal_record(), with this direction's key. Returns 0 at the counter
    // limit.
    size_t seal(RecordType type, uint8_t *rec, size_t body_len) noexcept {
        return seal_record(cs_, type, rec, body_len);
    }
    bool rekey_due(uint64_t now_seconds) const noexcept {
        return cs_.rekey_due() || now_seconds >= key_expires();
    }
    // When the key reaches its age limit (REKEY_AFTER_SECONDS), on the
    // clock of now_seconds: the sender rekeys then even with nothing to send.
    uint64_t key_expires() const noexcept { return key_since_ + rekey_limits().seconds; }
    // Seal a REKEY record at ${rec} (RECORD_OVERHEAD bytes) and switch to
    // the next key. Returns the record size, or 0 at the counter limit.
    size_t seal_rekey(uint8_t *rec, uint64_t now_seconds) noexcept;

    crypto::CipherState &cipher_state() noexcept { return cs_; }

private:
    crypto::CipherState cs_;
    uint64_t key_since_ = 0;
};

} // namespace sealpipe::proto
