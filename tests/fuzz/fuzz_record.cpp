// SPDX-License-Identifier: BSD-2-Clause
// fuzz_record: the record layer (DESIGN.md §5, §6.3): decode_record() and
// RecordReader, fed the way the daemon feeds them (Connection::parse_down).
//
// Raw bytes almost never pass the AEAD tag, so the input is a program:
//
//   flags u8        bit 0: AES-256-GCM (if the CPU has it), else ChaCha20
//                   bit 1: the reader expects CONFIRM first (responder side)
//                   bit 2: both counters start just below NONCE_LIMIT, at
//                          UINT64_MAX - 1 - bits 3..6
//   count u8        number of records (mod 13)
//   per record:     type u8 (any value), lenmode u8 (see body_length()),
//                   [u16 length if lenmode & 3 == 2], first <= 8 body bytes
//   ndamage u8      damage operations (mod 4), each kind u8 and pos u24:
//                   flip bit, truncate, or append up to 16 bytes of input
//   chunk sizes     one u8 each, until the input ends (then: all the rest)
//
// The records are sealed with a RecordWriter (REKEY through seal_rekey()),
// damaged, and fed to a RecordReader in those chunks; the unconsumed tail is
// moved to the buffer start and re-fed, as the daemon does. A model of
// DESIGN.md §5.1-5.3 predicts what the reader must do with each intact
// record. Checked:
//   - a returned record is never damaged and equals what was sealed (type,
//     body, size), in order;
//   - every intact record the rules allow is returned; the first intact one
//     they forbid is Invalid with the model's error; an undamaged stream
//     the rules allow is consumed completely;
//   - no record is returned after the first Invalid, even when the same
//     tail is re-fed with more bytes behind it (Connection's
//     salvage_after_write_error() does that);
//   - the reader reads nothing beyond the bytes it is given (ASan poisons
//     the rest of the buffer).
// The raw input also goes once through decode_record() under a fixed key.
#include "fuzz_common.hpp"
#include "proto/record.hpp"

#include <cstring>
#include <limits>
#include <memory>

using namespace sealpipe;
using fuzz::Bytes;
using proto::DecodeStatus;
using proto::RecordError;
using proto::RecordType;

namespace {

constexpr size_t MAX_RECORDS = 12;
constexpr size_t MAX_CHUNK = 24576;
// Lets a few bodies exceed RECORD_BODY_MAX, so that the length check is hit.
constexpr size_t BODY_LIMIT = proto::RECORD_BODY_MAX + 31;
constexpr size_t BUF_CAP = proto::RECORD_MAX + MAX_CHUNK;

crypto::Key32 fixed_key() {
    std::array<uint8_t, 32> k{};
    for (size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<uint8_t>(0xa0 + i);
    return crypto::Key32(k);
}

// The size a body of ${type} should have (DESIGN.md §5.2); DATA gets 1 + sel.
size_t natural_length(uint8_t type, size_t sel) {
    switch (type) {
    case 0x01:
    case 0x03:
    case 0x07: return 0;
    case 0x02: return 1 + sel;
    case 0x04: return 1;
    case 0x05:
    case 0x06: return proto::PING_BODY_LEN;
    default: return sel;
    }
}

size_t body_length(fuzz::Reader &r, uint8_t type) {
    const uint8_t mode = r.u8();
    const size_t sel = mode >> 2;
    switch (mode & 3) {
    case 0: return natural_length(type, sel);
    case 1: return sel;
    case 2: return r.u16() % (BODY_LIMIT + 1);
    default: return proto::RECORD_BODY_MAX - 32 + sel; // around the maximum
    }
}

// DESIGN.md §5.1-5.3 as a model of one direction's receiver. judge() says
// what the receiver must do with the next intact record and updates the
// model as the receiver would.
struct Model {
    bool expect_confirm = false;
    bool close = false;
    bool reset = false;
};

struct Verdict {
    bool ok;
    RecordError err;
};

Verdict judge(Model &m, uint8_t type, size_t body_len) {
    const auto bad = [](RecordError e) { return Verdict{false, e}; };
    if (m.reset)
        return bad(RecordError::BadOrder); // nothing may follow a RESET
    const size_t ct_len = proto::RECORD_TYPE_LEN + body_len + proto::TAG_LEN;
    if (ct_len < proto::RECORD_CT_MIN || ct_len > proto::RECORD_CT_MAX)
        return bad(RecordError::BadLength);
    bool size_ok = false;
    switch (type) {
    case 0x01: size_ok = body_len <= 256; break; // CONFIRM: fields, CONFIRM_BODY_MAX
    case 0x03:                                   // CLOSE
    case 0x07:                                   // REKEY
        size_ok = body_len == 0;
        break;
    case 0x02: size_ok = body_len >= 1 && body_len <= proto::RECORD_BODY_MAX; break;
    case 0x04: size_ok = body_len == 1; break;
    case 0x05:
    case 0x06: size_ok = body_len == 8; break;
    default: return bad(RecordError::BadType);
    }
    if (!size_ok)
        return bad(RecordError::BadBody);
    if (m.expect_confirm) {
        if (type != 0x01)
            return bad(RecordError::BadOrder);
        m.expect_confirm = false;
        return {true, RecordError::None};
    }
    switch (type) {
    case 0x01: return bad(RecordError::BadOrder); // only the first, only from I
    case 0x02:
    case 0x03:
        if (m.close)
            return bad(RecordError::BadOrder);
        if (type == 0x03)
            m.close = true;
        break;
    case 0x04: m.reset = true; break;
    default: break;
    }
    return {true, RecordError::None};
}

struct Sealed {
    uint8_t type = 0;
    Bytes body;
    size_t offset = 0; // in the undamaged stream
    size_t wire_len = 0;
    Verdict verdict{true, RecordError::None};
    bool close_after = false; // the model's close state after this record
};

size_t next_chunk(fuzz::Reader &r) {
    if (r.empty())
        return std::numeric_limits<size_t>::max();
    const uint8_t c = r.u8();
    if (c < 128)
        return size_t{c} + 1;
    if (c < 224)
        return size_t{c - 127u} * 256;
    return std::numeric_limits<size_t>::max();
}

// The raw input as a record, under a fixed key: must not crash.
void decode_raw(const uint8_t *data, size_t size) {
    Bytes copy(data, data + size); // exactly sized, so ASan sees overreads
    crypto::CipherState cs(proto::CipherId::ChaCha20Poly1305, fixed_key());
    size_t off = 0;
    for (int i = 0; i < 4 && off <= copy.size(); ++i) {
        proto::Record rec;
        RecordError err = RecordError::None;
        const DecodeStatus st =
            proto::decode_record(cs, copy.data() + off, copy.size() - off, rec, err);
        if (st != DecodeStatus::Record)
            break;
        FUZZ_CHECK(rec.wire_len >= proto::RECORD_HEADER_LEN + proto::RECORD_CT_MIN &&
                   rec.wire_len <= copy.size() - off);
        off += rec.wire_len;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode_raw(data, size);

    fuzz::Reader r(data, size);
    const uint8_t flags = r.u8();
    const auto cipher = (flags & 1) != 0 && crypto::aes_gcm_available()
                            ? proto::CipherId::Aes256Gcm
                            : proto::CipherId::ChaCha20Poly1305;
    const bool expect_confirm = (flags & 2) != 0;
    const crypto::Key32 key = fixed_key();
    crypto::CipherState wcs(cipher, key), rcs(cipher, key);
    if (flags & 4) {
        const uint64_t start = proto::NONCE_LIMIT - 1 - ((flags >> 3) & 15u);
        wcs.set_counter_for_tests(start);
        rcs.set_counter_for_tests(start);
    }
    proto::RecordWriter writer(std::move(wcs), 0);
    proto::RecordReader reader(std::move(rcs), expect_confirm);

    // Seal the records.
    Model model;
    model.expect_confirm = expect_confirm;
    std::vector<Sealed> sealed;
    Bytes orig;
    const size_t count = r.u8() % (MAX_RECORDS + 1);
    for (size_t i = 0; i < count; ++i) {
        Sealed s;
        s.type = r.u8();
        const size_t len = body_length(r, s.type);
        s.body = r.bytes(std::min<size_t>(len, 8));
        for (size_t j = s.body.size(); j < len; ++j)
            s.body.push_back(static_cast<uint8_t>(j * 31 + i));
        Bytes rec(len + proto::RECORD_OVERHEAD);
        if (len > 0)
            std::memcpy(rec.data() + proto::RECORD_BODY_OFFSET, s.body.data(), len);
        const size_t n = s.type == 0x07 && len == 0
                             ? writer.seal_rekey(rec.data(), 0)
                             : writer.seal(static_cast<RecordType>(s.type), rec.data(), len);
        if (n == 0) {
            // The counter limit (DESIGN.md §6.1): the writer refuses, for good.
            FUZZ_CHECK(writer.cipher_state().counter() >= proto::NONCE_LIMIT);
            break;
        }
        FUZZ_CHECK(n == rec.size());
        FUZZ_CHECK((size_t{rec[0]} << 8 | rec[1]) == n - proto::RECORD_HEADER_LEN);
        s.offset = orig.size();
        s.wire_len = n;
        s.verdict = judge(model, s.type, len);
        s.close_after = model.close;
        orig.insert(orig.end(), rec.begin(), rec.end());
        sealed.push_back(std::move(s));
    }

    // Damage the stream.
    Bytes wire = orig;
    const unsigned ndamage = r.u8() % 4u;
    for (unsigned i = 0; i < ndamage; ++i) {
        const uint8_t kind = r.u8();
        const uint32_t pos = r.u24();
        switch (kind % 3) {
        case 0:
            if (!wire.empty())
                wire[pos % wire.size()] ^= static_cast<uint8_t>(1u << ((kind >> 2) & 7));
            break;
        case 1: wire.resize(pos % (wire.size() + 1)); break;
        default: {
            const Bytes junk = r.bytes(1 + (kind >> 2) % 16u);
            wire.insert(wire.end(), junk.begin(), junk.end());
            break;
        }
        }
    }
    size_t damage_at = std::min(wire.size(), orig.size());
    for (size_t i = 0; i < damage_at; ++i) {
        if (wire[i] != orig[i]) {
            damage_at = i;
            break;
        }
    }
    const bool undamaged = wire == orig;
    size_t k_intact = 0; // leading records without a damaged byte
    while (k_intact < sealed.size() &&
           sealed[k_intact].offset + sealed[k_intact].wire_len <= damage_at)
        ++k_intact;
    size_t k_model = 0; // the first record the rules forbid
    while (k_model < sealed.size() && sealed[k_model].verdict.ok)
        ++k_model;

    // Feed it as Connection::read_down()/parse_down() do.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[BUF_CAP]);
    uint8_t *const b = buf.get();
    size_t parse = 0, end = 0, fed = 0, consumed = 0;
    size_t k = 0;
    bool invalid = false;
    RecordError invalid_err = RecordError::None;
    auto next = [&](proto::Record &rec, RecordError &err) {
        fuzz::poison(b + end, BUF_CAP - end);
        const DecodeStatus st = reader.next(b + parse, end - parse, rec, err);
        fuzz::unpoison(b + end, BUF_CAP - end);
        return st;
    };
    for (;;) {
        while (parse < end) {
            proto::Record rec;
            RecordError err = RecordError::None;
            const DecodeStatus st = next(rec, err);
            if (st == DecodeStatus::NeedMore) {
                FUZZ_CHECK(err == RecordError::None);
                break;
            }
            if (st == DecodeStatus::Invalid) {
                FUZZ_CHECK(err != RecordError::None);
                invalid = true;
                invalid_err = err;
                break;
            }
            FUZZ_CHECK(k < sealed.size());
            const Sealed &s = sealed[k];
            FUZZ_CHECK(consumed + parse == s.offset);
            FUZZ_CHECK(s.offset + s.wire_len <= damage_at); // never a damaged record
            FUZZ_CHECK(k < k_model);                        // the rules are enforced
            FUZZ_CHECK(rec.wire_len == s.wire_len);
            FUZZ_CHECK(static_cast<uint8_t>(rec.type) == s.type);
            FUZZ_CHECK(rec.body_len == s.body.size());
            FUZZ_CHECK(rec.body >= b + parse &&
                       rec.body + rec.body_len <= b + parse + rec.wire_len);
            FUZZ_CHECK(rec.body_len == 0 ||
                       std::memcmp(rec.body, s.body.data(), rec.body_len) == 0);
            FUZZ_CHECK(reader.close_received() == s.close_after);
            FUZZ_CHECK(reader.confirmed());
            parse += rec.wire_len;
            ++k;
        }
        if (invalid)
            break;
        if (parse == end) {
            consumed += parse;
            parse = end = 0;
        } else if (parse > 0) {
            std::memmove(b, b + parse, end - parse);
            consumed += parse;
            end -= parse;
            parse = 0;
        }
        if (fed == wire.size())
            break;
        const size_t chunk = std::min({next_chunk(r), BUF_CAP - end, wire.size() - fed});
        FUZZ_CHECK(chunk > 0);
        std::memcpy(b + end, wire.data() + fed, chunk);
        end += chunk;
        fed += chunk;
    }

    if (invalid) {
        // Nothing comes out after the first Invalid, however often the
        // unconsumed tail is offered again, with or without more bytes.
        proto::Record rec;
        RecordError err = RecordError::None;
        FUZZ_CHECK(next(rec, err) != DecodeStatus::Record);
        const size_t more = std::min(BUF_CAP - end, wire.size() - fed);
        std::memcpy(b + end, wire.data() + fed, more);
        end += more;
        fed += more;
        FUZZ_CHECK(next(rec, err) != DecodeStatus::Record);
    }

    FUZZ_TRACE("%zu records sealed (%zu bytes), %s; %zu decoded, %s%s; model: %zu allowed, "
               "%zu intact\n",
               sealed.size(), orig.size(), undamaged ? "undamaged" : "damaged", k,
               invalid ? "then Invalid: " : "no Invalid",
               invalid ? proto::to_string(invalid_err) : "", k_model, k_intact);
    FUZZ_CHECK(k == std::min(k_model, k_intact));
    if (k_model < k_intact) {
        FUZZ_CHECK(invalid);
        FUZZ_CHECK(invalid_err == sealed[k_model].verdict.err);
    } else if (undamaged) {
        // Every record was allowed: all of them, and nothing else, came out.
        FUZZ_CHECK(!invalid);
        FUZZ_CHECK(k == sealed.size() && fed == wire.size() && end == 0);
    }
    return 0;
}
