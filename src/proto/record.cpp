// SPDX-License-Identifier: BSD-2-Clause
#include "proto/record.hpp"
#include "proto/fields.hpp"

namespace sealpipe::proto {

const char *to_string(RecordError e) noexcept {
    switch (e) {
    case RecordError::None: return "ok";
    case RecordError::BadLength: return "record length out of range";
    case RecordError::BadTag: return "record authentication failed";
    case RecordError::BadType: return "unknown record type";
    case RecordError::BadBody: return "record body has the wrong size";
    case RecordError::BadOrder: return "record out of order";
    case RecordError::KeyTooOld: return "the peer kept a key past its rekey limit";
    }
    return "unknown record error";
}

size_t seal_record(crypto::CipherState &cs, RecordType type, uint8_t *rec,
                   size_t body_len) noexcept {
    const size_t ct_len = RECORD_TYPE_LEN + body_len + TAG_LEN;
    rec[0] = static_cast<uint8_t>(ct_len >> 8);
    rec[1] = static_cast<uint8_t>(ct_len);
    rec[RECORD_HEADER_LEN] = static_cast<uint8_t>(type);
    // The length field is the associated data (DESIGN.md §5.1).
    if (!cs.seal(std::span<const uint8_t>(rec, RECORD_HEADER_LEN), rec + RECORD_HEADER_LEN,
                 RECORD_TYPE_LEN + body_len))
        return 0;
    return RECORD_HEADER_LEN + ct_len;
}

namespace {
bool body_size_ok(RecordType type, size_t n) {
    switch (type) {
    case RecordType::Confirm: return n <= CONFIRM_BODY_MAX;
    case RecordType::Close:
    case RecordType::Rekey: return n == 0;
    case RecordType::Data: return n >= 1 && n <= RECORD_BODY_MAX;
    case RecordType::Reset: return n == 1;
    case RecordType::Ping:
    case RecordType::Pong: return n == PING_BODY_LEN;
    }
    return false;
}
bool known_type(uint8_t t) {
    return t >= static_cast<uint8_t>(RecordType::Confirm) &&
           t <= static_cast<uint8_t>(RecordType::Rekey);
}
} // namespace

DecodeStatus decode_record(crypto::CipherState &cs, uint8_t *data, size_t avail, Record &out,
                           RecordError &err) noexcept {
    err = RecordError::None;
    if (avail < RECORD_HEADER_LEN)
        return DecodeStatus::NeedMore;
    const size_t ct_len = static_cast<size_t>(data[0]) << 8 | data[1];
    if (ct_len < RECORD_CT_MIN || ct_len > RECORD_CT_MAX) {
        err = RecordError::BadLength;
        return DecodeStatus::Invalid;
    }
    if (avail < RECORD_HEADER_LEN + ct_len)
        return DecodeStatus::NeedMore;
    uint8_t *ct = data + RECORD_HEADER_LEN;
    if (!cs.open(std::span<const uint8_t>(data, RECORD_HEADER_LEN), ct, ct_len)) {
        err = RecordError::BadTag;
        return DecodeStatus::Invalid;
    }
    // Only authenticated bytes are interpreted from here on.
    const uint8_t type = ct[0];
    const size_t body_len = ct_len - RECORD_TYPE_LEN - TAG_LEN;
    if (!known_type(type)) {
        err = RecordError::BadType;
        return DecodeStatus::Invalid;
    }
    out.type = static_cast<RecordType>(type);
    if (!body_size_ok(out.type, body_len)) {
        err = RecordError::BadBody;
        return DecodeStatus::Invalid;
    }
    out.body = ct + RECORD_TYPE_LEN;
    out.body_len = body_len;
    out.wire_len = RECORD_HEADER_LEN + ct_len;
    return DecodeStatus::Record;
}

DecodeStatus RecordReader::next(uint8_t *data, size_t avail, Record &out, RecordError &err,
                                uint64_t now_seconds) noexcept {
    if (reset_received_) {
        err = RecordError::BadOrder;
        return DecodeStatus::Invalid;
    }
    DecodeStatus st = decode_record(cs_, data, avail, out, err);
    if (st != DecodeStatus::Record)
        return st;
    // DESIGN.md §6.2: a peer that lets a key outlive its limits, with
    // slack for records already in flight when the limit passed.
    const RekeyLimits &lim = rekey_limits();
    if (cs_.records_under_key() > REKEY_TOLERANCE * lim.records ||
        (now_seconds > key_since_ && now_seconds - key_since_ > REKEY_TOLERANCE * lim.seconds)) {
        err = RecordError::KeyTooOld;
        return DecodeStatus::Invalid;
    }
    // DESIGN.md §5.3: order rules.
    if (expect_confirm_) {
        if (out.type != RecordType::Confirm) {
            err = RecordError::BadOrder;
            return DecodeStatus::Invalid;
        }
        expect_confirm_ = false;
        return st;
    }
    switch (out.type) {
    case RecordType::Confirm: err = RecordError::BadOrder; return DecodeStatus::Invalid;
    case RecordType::Data:
    case RecordType::Close:
        if (close_received_) {
            err = RecordError::BadOrder;
            return DecodeStatus::Invalid;
        }
        if (out.type == RecordType::Close)
            close_received_ = true;
        break;
    case RecordType::Reset: reset_received_ = true; break;
    case RecordType::Rekey:
        cs_.rekey();
        key_since_ = now_seconds;
        break;
    case RecordType::Ping:
    case RecordType::Pong: break;
    }
    return st;
}

size_t RecordWriter::seal_rekey(uint8_t *rec, uint64_t now_seconds) noexcept {
    size_t n = seal_record(cs_, RecordType::Rekey, rec, 0);
    if (n == 0)
        return 0;
    cs_.rekey();
    key_since_ = now_seconds;
    return n;
}

} // namespace sealpipe::proto
