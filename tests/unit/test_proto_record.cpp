// SPDX-License-Identifier: BSD-2-Clause
// The record layer: incremental decoding at every split point, and
// rejection of tampered, reordered, replayed, truncated, oversized and
// out-of-order records.
#include <doctest/doctest.h>

#include "crypto/cipher_state.hpp"
#include "helpers.hpp"
#include "proto/fields.hpp"
#include "proto/record.hpp"

#include <cstring>
#include <vector>

using namespace sealpipe;
using proto::DecodeStatus;
using proto::RecordError;
using proto::RecordType;
using Bytes = std::vector<uint8_t>;

namespace {

crypto::CipherState state(uint8_t seed = 1) {
    crypto::Key32 k;
    for (size_t i = 0; i < 32; ++i)
        k.data()[i] = static_cast<uint8_t>(seed + i);
    return crypto::CipherState(proto::CipherId::ChaCha20Poly1305, k);
}

Bytes record(crypto::CipherState &cs, RecordType t, const Bytes &body) {
    Bytes rec(body.size() + proto::RECORD_OVERHEAD);
    std::copy(body.begin(), body.end(), rec.begin() + proto::RECORD_BODY_OFFSET);
    REQUIRE(proto::seal_record(cs, t, rec.data(), body.size()) == rec.size());
    return rec;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto &p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

struct Decoded {
    std::vector<RecordType> types;
    Bytes data; // DATA bodies, concatenated
    DecodeStatus last = DecodeStatus::NeedMore;
    RecordError err = RecordError::None;
};

// Decode as much of wire[off, avail) as possible.
void pump(crypto::CipherState &cs, Bytes &wire, size_t &off, size_t avail, Decoded &d) {
    while (true) {
        proto::Record r;
        d.last = proto::decode_record(cs, wire.data() + off, avail - off, r, d.err);
        if (d.last != DecodeStatus::Record)
            return;
        d.types.push_back(r.type);
        if (r.type == RecordType::Data)
            d.data.insert(d.data.end(), r.body, r.body + r.body_len);
        off += r.wire_len;
    }
}

// A stream of records of many sizes, the first DATA body being ${first}.
Bytes sample_stream(crypto::CipherState &tx, Bytes &plain) {
    plain.clear();
    Bytes wire;
    size_t sizes[] = {1, 2, 100, 1000, proto::RECORD_BODY_MAX, 7};
    uint8_t v = 0;
    for (size_t s : sizes) {
        Bytes body(s);
        for (auto &b : body)
            b = v++;
        plain.insert(plain.end(), body.begin(), body.end());
        auto r = record(tx, RecordType::Data, body);
        wire.insert(wire.end(), r.begin(), r.end());
    }
    auto ping = record(tx, RecordType::Ping, Bytes(8, 1));
    wire.insert(wire.end(), ping.begin(), ping.end());
    return wire;
}

} // namespace

TEST_SUITE("proto::record") {

TEST_CASE("a stream decodes identically whatever the split point") {
    auto tx = state();
    Bytes plain;
    const Bytes wire = sample_stream(tx, plain);
    // Every split point (a stride keeps the test fast on the 16 KiB record,
    // but all offsets inside the headers and small records are covered).
    for (size_t split = 0; split <= wire.size(); split += (split < 2000 ? 1 : 97)) {
        CAPTURE(split);
        Bytes copy = wire;
        auto rx = state();
        Decoded d;
        size_t off = 0;
        pump(rx, copy, off, split, d);
        CHECK(d.last == DecodeStatus::NeedMore);
        pump(rx, copy, off, copy.size(), d);
        REQUIRE(d.last == DecodeStatus::NeedMore); // end of input
        CHECK(off == copy.size());
        CHECK(d.types.size() == 7);
        CHECK(d.data == plain);
    }
}

TEST_CASE("one byte at a time also works") {
    auto tx = state();
    Bytes plain;
    Bytes wire = sample_stream(tx, plain);
    auto rx = state();
    Decoded d;
    size_t off = 0;
    for (size_t avail = 0; avail <= wire.size(); ++avail)
        pump(rx, wire, off, avail, d);
    CHECK(d.data == plain);
}

TEST_CASE("flipping any bit of any record is detected before delivery") {
    auto tx = state(2);
    Bytes plain;
    const Bytes wire = sample_stream(tx, plain);
    const Bytes trailer(proto::RECORD_MAX, 0x55); // lets a bigger length "complete"
    for (size_t i = 0; i < wire.size(); i += (i < 1200 ? 1 : 331)) {
        CAPTURE(i);
        Bytes bad = concat({wire, trailer});
        bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
        auto rx = state(2);
        Decoded d;
        size_t off = 0;
        pump(rx, bad, off, bad.size(), d);
        CHECK(d.last == DecodeStatus::Invalid);
        // Nothing at or after the damaged record came out.
        CHECK(d.data.size() <= plain.size());
        CHECK(std::equal(d.data.begin(), d.data.end(), plain.begin()));
        CHECK(off <= i);
    }
}

TEST_CASE("reordered, replayed and dropped records fail authentication") {
    auto tx = state(3);
    Bytes a = record(tx, RecordType::Data, Bytes(10, 'a'));
    Bytes b = record(tx, RecordType::Data, Bytes(10, 'b'));
    Bytes c = record(tx, RecordType::Data, Bytes(10, 'c'));
    struct {
        const char *name;
        Bytes wire;
        size_t good;
    } cases[] = {
        {"reordered", concat({b, a, c}), 0},
        {"replayed", concat({a, a, b}), 1},
        {"dropped", concat({a, c}), 1},
        {"duplicated last", concat({a, b, c, c}), 3},
    };
    for (auto &cs : cases) {
        CAPTURE(cs.name);
        auto rx = state(3);
        Decoded d;
        size_t off = 0;
        pump(rx, cs.wire, off, cs.wire.size(), d);
        CHECK(d.last == DecodeStatus::Invalid);
        CHECK(d.err == RecordError::BadTag);
        CHECK(d.types.size() == cs.good);
    }
}

TEST_CASE("a truncated record is never delivered") {
    auto tx = state(4);
    const Bytes r = record(tx, RecordType::Data, Bytes(500, 'x'));
    for (size_t n = 0; n < r.size(); ++n) {
        Bytes cut(r.begin(), r.begin() + static_cast<long>(n));
        auto rx = state(4);
        proto::Record rec;
        RecordError err;
        CHECK(proto::decode_record(rx, cut.data(), cut.size(), rec, err) == DecodeStatus::NeedMore);
    }
}

TEST_CASE("length out of range is rejected from the two length bytes alone") {
    auto rx = state();
    proto::Record rec;
    RecordError err;
    for (size_t len : {size_t{0}, size_t{1}, proto::RECORD_CT_MIN - 1, proto::RECORD_CT_MAX + 1,
                       size_t{65535}}) {
        CAPTURE(len);
        uint8_t hdr[2] = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
        CHECK(proto::decode_record(rx, hdr, 2, rec, err) == DecodeStatus::Invalid);
        CHECK(err == RecordError::BadLength);
    }
    // The largest legal record round-trips.
    auto tx = state();
    Bytes big = record(tx, RecordType::Data, Bytes(proto::RECORD_BODY_MAX, 'm'));
    CHECK(big.size() == proto::RECORD_MAX);
    CHECK(proto::decode_record(rx, big.data(), big.size(), rec, err) == DecodeStatus::Record);
    CHECK(rec.body_len == proto::RECORD_BODY_MAX);
}

TEST_CASE("authenticated but invalid: unknown type or wrong body size") {
    struct {
        RecordType type;
        size_t len;
        RecordError err;
    } cases[] = {
        {static_cast<RecordType>(0x00), 0, RecordError::BadType},
        {static_cast<RecordType>(0x08), 4, RecordError::BadType},
        {static_cast<RecordType>(0xff), 4, RecordError::BadType},
        {RecordType::Data, 0, RecordError::BadBody},
        {RecordType::Ping, 7, RecordError::BadBody},
        {RecordType::Pong, 9, RecordError::BadBody},
        {RecordType::Close, 1, RecordError::BadBody},
        {RecordType::Confirm, proto::CONFIRM_BODY_MAX + 1, RecordError::BadBody},
        {RecordType::Reset, 0, RecordError::BadBody},
        {RecordType::Rekey, 2, RecordError::BadBody},
    };
    for (auto &c : cases) {
        CAPTURE(int(c.type));
        auto tx = state(5), rx = state(5);
        Bytes r = record(tx, c.type, Bytes(c.len, 1));
        proto::Record rec;
        RecordError err;
        CHECK(proto::decode_record(rx, r.data(), r.size(), rec, err) == DecodeStatus::Invalid);
        CHECK(err == c.err);
    }
}

TEST_CASE("order rules of RecordReader") {
    using T = RecordType;
    struct Case {
        const char *name;
        bool expect_confirm;
        std::vector<T> seq;
        size_t ok; // records accepted before the failure (seq.size() = all)
    } cases[] = {
        {"confirm then data", true, {T::Confirm, T::Data, T::Close}, 3},
        {"data before confirm", true, {T::Data}, 0},
        {"ping before confirm", true, {T::Ping}, 0},
        {"second confirm", true, {T::Confirm, T::Confirm}, 1},
        {"confirm to initiator", false, {T::Confirm}, 0},
        {"data after close", false, {T::Data, T::Close, T::Data}, 2},
        {"close twice", false, {T::Close, T::Close}, 1},
        {"heartbeats after close", false, {T::Close, T::Ping, T::Pong, T::Rekey, T::Ping}, 5},
        {"anything after reset", false, {T::Reset, T::Ping}, 1},
    };
    for (auto &c : cases) {
        CAPTURE(c.name);
        auto tx = state(6);
        Bytes wire;
        for (T t : c.seq) {
            size_t len = t == T::Data                   ? 3
                         : t == T::Ping || t == T::Pong ? 8
                         : t == T::Reset                ? 1
                                                        : 0;
            Bytes r = record(tx, t, Bytes(len, 9));
            wire.insert(wire.end(), r.begin(), r.end());
            if (t == T::Rekey)
                tx.rekey();
        }
        proto::RecordReader reader(state(6), c.expect_confirm);
        size_t off = 0, ok = 0;
        DecodeStatus st = DecodeStatus::Record;
        RecordError err = RecordError::None;
        while (off < wire.size()) {
            proto::Record rec;
            st = reader.next(wire.data() + off, wire.size() - off, rec, err);
            if (st != DecodeStatus::Record)
                break;
            off += rec.wire_len;
            ++ok;
        }
        CHECK(ok == c.ok);
        if (c.ok < c.seq.size()) {
            CHECK(st == DecodeStatus::Invalid);
            CHECK(err == RecordError::BadOrder);
        }
    }
}

TEST_CASE("RecordReader refuses a key the peer kept past twice the age limit") {
    // Issue 12 item 6: a receiver enforces the sender's rekey schedule,
    // with slack (REKEY_TOLERANCE) for records in flight.
    const uint64_t limit = proto::RekeyLimits{}.seconds;
    proto::RecordWriter w(state(7), 1000);
    proto::RecordReader r(state(7), false, 1000);
    auto one = [&](uint64_t now, RecordType t = RecordType::Data) {
        Bytes wire(proto::RECORD_OVERHEAD + 1);
        wire[proto::RECORD_BODY_OFFSET] = 'x';
        const size_t n =
            t == RecordType::Rekey ? w.seal_rekey(wire.data(), now) : w.seal(t, wire.data(), 1);
        REQUIRE(n > 0);
        proto::Record rec;
        RecordError err = RecordError::None;
        const DecodeStatus st = r.next(wire.data(), n, rec, err, now);
        return st == DecodeStatus::Record ? RecordError::None : err;
    };
    CHECK(one(1000 + proto::REKEY_TOLERANCE * limit) == RecordError::None);
    CHECK(one(1000 + proto::REKEY_TOLERANCE * limit, RecordType::Rekey) == RecordError::None);
    // The REKEY restarted the receiver's clock.
    const uint64_t t1 = 1000 + proto::REKEY_TOLERANCE * limit;
    CHECK(one(t1 + proto::REKEY_TOLERANCE * limit) == RecordError::None);
    CHECK(one(t1 + proto::REKEY_TOLERANCE * limit + 1) == RecordError::KeyTooOld);
}

TEST_CASE("RecordWriter: rekey due after REKEY_AFTER_RECORDS by default, cleared by REKEY") {
    proto::RecordWriter w(state(4), 0);
    Bytes wire(proto::RECORD_OVERHEAD + 1);
    for (uint64_t i = 0; i < proto::REKEY_AFTER_RECORDS - 1; ++i)
        REQUIRE(w.seal(RecordType::Data, wire.data(), 1) > 0);
    CHECK_FALSE(w.rekey_due(0));
    REQUIRE(w.seal(RecordType::Data, wire.data(), 1) > 0);
    CHECK(w.rekey_due(0));
    REQUIRE(w.seal_rekey(wire.data(), 0) > 0);
    CHECK_FALSE(w.rekey_due(0));
}

TEST_CASE("the rekey limits are the caller's: a writer and a reader given shorter ones") {
    // What a test build's knobs do (app/defaults.cpp rekey_limits()): the
    // record layer takes its limits as values, never from the environment.
    const proto::RekeyLimits lim{.records = 3, .seconds = 10};
    proto::RecordWriter w(state(8), 1000, lim);
    proto::RecordReader r(state(8), false, 1000, lim);
    Bytes wire(proto::RECORD_OVERHEAD + 1);
    auto pass = [&](size_t n) {
        proto::Record rec;
        RecordError err = RecordError::None;
        const DecodeStatus st = r.next(wire.data(), n, rec, err, 1000);
        return st == DecodeStatus::Record ? RecordError::None : err;
    };
    for (int i = 0; i < 2; ++i) {
        CHECK_FALSE(w.rekey_due(1000));
        CHECK(pass(w.seal(RecordType::Data, wire.data(), 1)) == RecordError::None);
    }
    CHECK(pass(w.seal(RecordType::Data, wire.data(), 1)) == RecordError::None);
    CHECK(w.rekey_due(1000)); // 3 records
    proto::RecordWriter fresh(state(9), 1000, lim);
    CHECK_FALSE(fresh.rekey_due(1009));
    CHECK(fresh.rekey_due(1010)); // 10 s
    // The reader allows REKEY_TOLERANCE x 3 records, then refuses.
    for (int i = 0; i < 3; ++i)
        CHECK(pass(w.seal(RecordType::Data, wire.data(), 1)) == RecordError::None);
    CHECK(pass(w.seal(RecordType::Data, wire.data(), 1)) == RecordError::KeyTooOld);
}

TEST_CASE("RecordWriter: rekey due by time, REKEY switches keys on both ends") {
    proto::RecordWriter w(state(7), 1000);
    CHECK_FALSE(w.rekey_due(1000 + proto::REKEY_AFTER_SECONDS - 1));
    CHECK(w.rekey_due(1000 + proto::REKEY_AFTER_SECONDS));
    Bytes wire(proto::RECORD_OVERHEAD * 2 + 4);
    size_t n = w.seal_rekey(wire.data(), 5000);
    REQUIRE(n == proto::RECORD_OVERHEAD);
    CHECK_FALSE(w.rekey_due(5000));
    std::memcpy(wire.data() + n + proto::RECORD_BODY_OFFSET, "abcd", 4);
    size_t m = w.seal(RecordType::Data, wire.data() + n, 4);
    REQUIRE(m == proto::RECORD_OVERHEAD + 4);
    proto::RecordReader r(state(7), false);
    proto::Record rec;
    RecordError err;
    REQUIRE(r.next(wire.data(), wire.size(), rec, err) == DecodeStatus::Record);
    CHECK(rec.type == RecordType::Rekey);
    REQUIRE(r.next(wire.data() + n, wire.size() - n, rec, err) == DecodeStatus::Record);
    CHECK(std::memcmp(rec.body, "abcd", 4) == 0);
}

}
