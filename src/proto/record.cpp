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

size_t frame_record(RecordType type, uint8_t *rec, size_t body_len) noexcept {
    const size_t ct_len = RECORD_TYPE_LEN + body_len + TAG_LEN;
    rec[0] = static_cast<uint8_t>(ct_len >> 8);
    rec[1] = static_cast<uint8_t>(ct_len);
    rec[RECORD_HEADER_LEN] = static_cast<uint8_t>(type);
    return ct_len;
}

size_t record_ct_len(const uint8_t *data, size_t avail, RecordError &err) noexcept {
    if (avail < RECORD_HEADER_LEN)
        return 0;
    const size_t ct_len = static_cast<size_t>(data[0]) << 8 | data[1];
    if (ct_len < RECORD_CT_MIN || ct_len > RECORD_CT_MAX) {
        err = RecordError::BadLength;
        return 0;
    }
    return ct_len;
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

bool parse_record(uint8_t *ct, size_t ct_len, Record &out, RecordError &err) noexcept {
    const uint8_t type = ct[0];
    const size_t body_len = ct_len - RECORD_TYPE_LEN - TAG_LEN;
    if (!known_type(type)) {
        err = RecordError::BadType;
        return false;
    }
    out.type = static_cast<RecordType>(type);
    if (!body_size_ok(out.type, body_len)) {
        err = RecordError::BadBody;
        return false;
    }
    out.body = ct + RECORD_TYPE_LEN;
    out.body_len = body_len;
    out.wire_len = RECORD_HEADER_LEN + ct_len;
    return true;
}

bool key_too_old(const RekeyLimits &limits, uint64_t records_under_key, uint64_t key_since,
                 uint64_t now_seconds) noexcept {
    // With slack for records already in flight when the limit passed.
    return records_under_key > REKEY_TOLERANCE * limits.records ||
           (now_seconds > key_since && now_seconds - key_since > REKEY_TOLERANCE * limits.seconds);
}

RecordError RecordOrder::admit(RecordType type) noexcept {
    if (expect_confirm_) {
        if (type != RecordType::Confirm)
            return RecordError::BadOrder;
        expect_confirm_ = false;
        return RecordError::None;
    }
    switch (type) {
    case RecordType::Confirm: return RecordError::BadOrder;
    case RecordType::Data:
    case RecordType::Close:
        if (close_received_)
            return RecordError::BadOrder;
        if (type == RecordType::Close)
            close_received_ = true;
        break;
    case RecordType::Reset: reset_received_ = true; break;
    case RecordType::Rekey:
    case RecordType::Ping:
    case RecordType::Pong: break;
    }
    return RecordError::None;
}

} // namespace sealpipe::proto
