// SPDX-License-Identifier: BSD-2-Clause
// The two pipes of an open connection over real sockets (socketpair(2)) and
// real records: the test plays the peer with proto::RecordReader and
// RecordWriter under the same keys. Readiness is what an edge-triggered
// event would report (set before each step; the pipe clears it on EAGAIN).
#include <doctest/doctest.h>

#include "proto/record.hpp"
#include "tunnel/pipe.hpp"
#include "util/clock.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <tuple>
#include <unistd.h>
#include <vector>

using namespace sealpipe;
using namespace sealpipe::tunnel;
using proto::RecordType;
using Bytes = std::vector<uint8_t>;

namespace {

crypto::CipherState state(uint8_t seed) {
    crypto::Key32 k;
    for (size_t i = 0; i < 32; ++i)
        k.data()[i] = static_cast<uint8_t>(seed + i);
    return crypto::CipherState(proto::CipherId::ChaCha20Poly1305, k);
}

// The rekey clock starts now: a sealer whose key is older than an hour
// (REKEY_AFTER_SECONDS) rekeys before its next record.
uint64_t now_s() {
    return util::now_ms() / 1000;
}

void nonblock(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// One socketpair: the engine's end as an Endpoint, the test's end as a
// plain descriptor.
struct Pair {
    Endpoint engine;
    int peer = -1;
    explicit Pair(int sndbuf = 0) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        if (sndbuf > 0) {
            ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
            ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
        }
        nonblock(sv[0]);
        nonblock(sv[1]);
        engine.fd.reset(sv[0]);
        peer = sv[1];
    }
    ~Pair() {
        if (peer >= 0)
            ::close(peer);
    }
    void ready() { engine.readable = engine.writable = true; }
};

// Everything readable on ${fd} now.
Bytes drain(int fd) {
    Bytes out;
    uint8_t buf[65536];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        out.insert(out.end(), buf, buf + n);
    }
    return out;
}

size_t unread(int fd) {
    int n = 0;
    ::ioctl(fd, FIONREAD, &n);
    return static_cast<size_t>(n);
}

void write_all(int fd, const Bytes &b) {
    size_t off = 0;
    while (off < b.size()) {
        const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
        REQUIRE(n > 0);
        off += static_cast<size_t>(n);
    }
}

// Write as much of ${b} from ${off} as fits now; returns the new offset.
size_t write_some(int fd, const Bytes &b, size_t off) {
    while (off < b.size()) {
        const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
        if (n <= 0)
            break;
        off += static_cast<size_t>(n);
    }
    return off;
}

Bytes record(proto::RecordWriter<crypto::CipherState> &w, RecordType t, const Bytes &body) {
    Bytes rec(body.size() + proto::RECORD_OVERHEAD);
    std::copy(body.begin(), body.end(), rec.begin() + proto::RECORD_BODY_OFFSET);
    REQUIRE(w.seal(t, rec.data(), body.size()) == rec.size());
    return rec;
}

struct Decoded {
    std::vector<RecordType> types;
    Bytes data;
};

Decoded decode(proto::RecordReader<crypto::CipherState> &r, Bytes wire) {
    Decoded d;
    size_t off = 0;
    while (off < wire.size()) {
        proto::Record rec;
        proto::RecordError err = proto::RecordError::None;
        const auto st = r.next(wire.data() + off, wire.size() - off, rec, err);
        REQUIRE(st == proto::DecodeStatus::Record);
        d.types.push_back(rec.type);
        if (rec.type == RecordType::Data)
            d.data.insert(d.data.end(), rec.body, rec.body + rec.body_len);
        off += rec.wire_len;
    }
    return d;
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i)
        b[i] = static_cast<uint8_t>(i * 31 + seed);
    return b;
}

// The engine side of one direction: pump with fresh readiness until the
// pipe blocks or ends (bounded).
template <typename P, typename... Args> Step run(P &pipe, Pair &a, Pair &b, Args... args) {
    OpenClocks clk;
    Step s = Step::Progress;
    for (int i = 0; i < 1000 && s == Step::Progress; ++i) {
        a.ready();
        b.ready();
        s = pipe.pump(a.engine, b.engine, clk, args...);
    }
    return s;
}

struct Fixture {
    BufferPool pool;
    Stats stats;
};

// A down pipe opening records from a peer (the test) under one key.
struct DownRig {
    Fixture f;
    Pair plain, enc;
    std::unique_ptr<RecordOpener> opener = sealpipe_opener(state(2), false, now_s());
    proto::RecordWriter<crypto::CipherState> peer{state(2), now_s()};
    DownPipe down{f.pool, f.stats};
    DownRig() { down.open(*opener, Features{}); }
    auto parts() { return std::tie(plain, enc, peer, down, f); }
};

} // namespace

TEST_SUITE("tunnel::pipe") {
TEST_CASE("a buffer given back to the pool holds no old plaintext") {
    // Issue 12 item 9: pooled buffers are wiped when released, whether they
    // wait on the free list or go back to the allocator.
    BufferPool pool(1);
    uint8_t *a = pool.get();
    std::memset(a, 0xAA, BufferPool::DATA_SIZE);
    pool.put(a);
    uint8_t *again = pool.get(); // the free list's one buffer
    REQUIRE(again == a);
    CHECK(std::all_of(again, again + BufferPool::DATA_SIZE, [](uint8_t b) { return b == 0; }));
    pool.put(again);
}

TEST_CASE("up: CONFIRM first, then PONG and PING, then the data, all in order") {
    Fixture f;
    Pair plain, enc;
    auto sealer = sealpipe_sealer(state(1), now_s());
    proto::RecordReader peer(state(1), true);
    UpPipe up(f.pool, f.stats);
    up.open(*sealer, Features{}, true);
    const uint8_t ping[proto::PING_BODY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
    up.queue_pong(ping);
    up.queue_ping();
    const Bytes msg = pattern(40000, 7); // three records' worth
    write_all(plain.peer, msg);
    CHECK(run(up, plain, enc) == Step::Blocked);
    const Decoded d = decode(peer, drain(enc.peer));
    REQUIRE(d.types.size() >= 6);
    CHECK(d.types[0] == RecordType::Confirm);
    CHECK(d.types[1] == RecordType::Pong);
    CHECK(d.types[2] == RecordType::Ping);
    for (size_t i = 3; i < d.types.size(); ++i)
        CHECK(d.types[i] == RecordType::Data);
    CHECK(d.data == msg);
    CHECK(up.bytes() == msg.size());
    CHECK(f.pool.in_use() == 0); // idle: no buffer held
}

TEST_CASE("up: plaintext EOF becomes CLOSE after the data") {
    Fixture f;
    Pair plain, enc;
    auto sealer = sealpipe_sealer(state(1), now_s());
    proto::RecordReader peer(state(1), false);
    UpPipe up(f.pool, f.stats);
    up.open(*sealer, Features{}, false);
    write_all(plain.peer, pattern(100, 1));
    ::shutdown(plain.peer, SHUT_WR);
    run(up, plain, enc);
    CHECK(up.close_queued());
    CHECK(up.close_sent());
    CHECK(up.take_close_queued_event());
    const Decoded d = decode(peer, drain(enc.peer));
    REQUIRE(d.types.size() == 2);
    CHECK(d.types[0] == RecordType::Data);
    CHECK(d.types[1] == RecordType::Close);
    CHECK(peer.close_received());
}

TEST_CASE("up: backpressure stops reading plaintext while the encrypted side is full") {
    Fixture f;
    Pair plain, enc(4096);
    auto sealer = sealpipe_sealer(state(1), now_s());
    UpPipe up(f.pool, f.stats);
    up.open(*sealer, Features{}, false);
    const Bytes msg = pattern(1 << 20, 3);
    size_t sent = write_some(plain.peer, msg, 0); // as much as the socket takes
    REQUIRE(sent > 65536);
    CHECK(run(up, plain, enc) == Step::Blocked);
    CHECK(up.pending());                   // a batch waits for the encrypted side
    CHECK(f.pool.in_use() == 1);           // one buffer, never more
    CHECK(unread(plain.engine.get()) > 0); // and the rest stays in the kernel
    // Now the peer reads: everything arrives, intact.
    proto::RecordReader peer(state(1), false);
    Bytes got;
    Bytes wire;
    for (int i = 0; i < 100000 && got.size() < msg.size(); ++i) {
        sent = write_some(plain.peer, msg, sent);
        run(up, plain, enc);
        Bytes chunk = drain(enc.peer);
        wire.insert(wire.end(), chunk.begin(), chunk.end());
        size_t off = 0;
        while (true) {
            proto::Record rec;
            proto::RecordError err{};
            if (peer.next(wire.data() + off, wire.size() - off, rec, err) !=
                proto::DecodeStatus::Record)
                break;
            got.insert(got.end(), rec.body, rec.body + rec.body_len);
            off += rec.wire_len;
        }
        wire.erase(wire.begin(), wire.begin() + static_cast<long>(off));
    }
    CHECK(got == msg);
}

TEST_CASE("down: DATA is delivered and a CLOSE becomes a FIN on the plaintext side") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    const Bytes msg = pattern(20000, 5);
    Bytes wire = record(peer, RecordType::Data, Bytes(msg.begin(), msg.begin() + 16384));
    Bytes more = record(peer, RecordType::Data, Bytes(msg.begin() + 16384, msg.end()));
    Bytes close = record(peer, RecordType::Close, {});
    wire.insert(wire.end(), more.begin(), more.end());
    wire.insert(wire.end(), close.begin(), close.end());
    write_all(enc.peer, wire);
    run(down, plain, enc, true);
    CHECK(down.close_received());
    CHECK(down.close_delivered());
    CHECK(down.take_close_delivered_event());
    CHECK(drain(plain.peer) == msg);
    uint8_t b;
    CHECK(::read(plain.peer, &b, 1) == 0); // FIN, not an error
    CHECK(f.pool.in_use() <= 1);
}

TEST_CASE("down: an encrypted EOF without CLOSE is a truncation") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    write_all(enc.peer, record(peer, RecordType::Data, pattern(500, 9)));
    ::shutdown(enc.peer, SHUT_WR); // a FIN where a CLOSE should be
    run(down, plain, enc, true);
    CHECK(down.eof());
    CHECK(down.take_eof_event());
    CHECK_FALSE(down.close_received());
    CHECK(down.eof_is_truncation(false));
    CHECK(down.eof_is_truncation(true)); // our own CLOSE does not make it clean
    // The data before it was delivered, but the stream is not complete:
    // the connection resets the plaintext side (end_reason.hpp).
    CHECK(drain(plain.peer) == pattern(500, 9));
    CHECK(policy_of(EndReason::Truncated).reset_plaintext);
}

TEST_CASE("down: a partial record before EOF is a truncation even after both CLOSEs") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    write_all(enc.peer, record(peer, RecordType::Close, {}));
    CHECK(run(down, plain, enc, true) == Step::Blocked);
    CHECK(down.close_received());
    CHECK_FALSE(down.eof());
    Bytes half = record(peer, RecordType::Ping, Bytes(8, 1));
    half.resize(half.size() / 2);
    write_all(enc.peer, half);
    ::shutdown(enc.peer, SHUT_WR);
    run(down, plain, enc, true);
    CHECK(down.eof());
    CHECK(down.unparsed());
    CHECK(down.eof_is_truncation(true));
}

TEST_CASE("down: both CLOSEs and an EOF are a clean end") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    write_all(enc.peer, record(peer, RecordType::Close, {}));
    ::shutdown(enc.peer, SHUT_WR);
    run(down, plain, enc, true);
    CHECK(down.eof());
    CHECK_FALSE(down.eof_is_truncation(true));
    CHECK(down.eof_is_truncation(false)); // but not before our own CLOSE is out
}

TEST_CASE("down: a tampered record ends the pipe, and nothing after it is delivered") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    Bytes bad = record(peer, RecordType::Data, pattern(64, 1));
    bad[10] ^= 1;
    write_all(enc.peer, bad);
    CHECK(run(down, plain, enc, true) == Step::Ended);
    CHECK(down.end().reason == EndReason::ProtocolError);
    CHECK(down.end().record == proto::RecordError::BadTag);
    CHECK(drain(plain.peer).empty());
}

TEST_CASE("down: the peer's RESET ends the pipe with its reason") {
    DownRig r;
    auto [plain, enc, peer, down, f] = r.parts();
    write_all(enc.peer,
              record(peer, RecordType::Reset, {static_cast<uint8_t>(proto::ResetReason::Timeout)}));
    CHECK(run(down, plain, enc, true) == Step::Ended);
    CHECK(down.end().reason == EndReason::PeerReset);
    CHECK(down.end().peer_reset == proto::ResetReason::Timeout);
}

TEST_CASE("down: backpressure stops reading records while the plaintext side is full") {
    Fixture f;
    Pair plain(4096), enc;
    auto opener = sealpipe_opener(state(2), false, now_s());
    proto::RecordWriter peer(state(2), now_s());
    DownPipe down(f.pool, f.stats);
    down.open(*opener, Features{});
    const Bytes msg = pattern(16384 * 40, 4);
    Bytes wire;
    for (size_t off = 0; off < msg.size(); off += 16384) {
        Bytes r = record(peer, RecordType::Data,
                         Bytes(msg.begin() + static_cast<long>(off),
                               msg.begin() + static_cast<long>(off + 16384)));
        wire.insert(wire.end(), r.begin(), r.end());
    }
    size_t sent = write_some(enc.peer, wire, 0);
    REQUIRE(sent > 65536);
    CHECK(run(down, plain, enc, true) == Step::Blocked);
    CHECK(down.blocked());
    CHECK(f.pool.in_use() == 1);
    CHECK(unread(enc.engine.get()) > 0); // records stay in the kernel
    Bytes got;
    for (int i = 0; i < 100000 && got.size() < msg.size(); ++i) {
        sent = write_some(enc.peer, wire, sent);
        run(down, plain, enc, true);
        Bytes chunk = drain(plain.peer);
        got.insert(got.end(), chunk.begin(), chunk.end());
    }
    CHECK(got == msg);
}

TEST_CASE("salvage: a RESET the peer sent before going is found after a failed write") {
    Fixture f;
    Pair plain, enc;
    auto sealer = sealpipe_sealer(state(1), now_s());
    auto opener = sealpipe_opener(state(2), false, now_s());
    proto::RecordWriter peer(state(2), now_s());
    UpPipe up(f.pool, f.stats);
    DownPipe down(f.pool, f.stats);
    up.open(*sealer, Features{}, false);
    down.open(*opener, Features{});
    write_all(enc.peer, record(peer, RecordType::Reset,
                               {static_cast<uint8_t>(proto::ResetReason::Shutdown)}));
    ::close(enc.peer); // the peer is gone: our next write fails
    enc.peer = -1;
    write_all(plain.peer, pattern(1000, 2));
    CHECK(run(up, plain, enc) == Step::Ended);
    REQUIRE(up.write_failed());
    enc.ready();
    const PipeEnd e = down.salvage(plain.engine, enc.engine);
    CHECK(e.reason == EndReason::PeerReset);
    CHECK(e.peer_reset == proto::ResetReason::Shutdown);
}

TEST_CASE("salvage: without a RESET, a failed write is a truncation") {
    Fixture f;
    Pair plain, enc;
    auto sealer = sealpipe_sealer(state(1), now_s());
    auto opener = sealpipe_opener(state(2), false, now_s());
    UpPipe up(f.pool, f.stats);
    DownPipe down(f.pool, f.stats);
    up.open(*sealer, Features{}, false);
    down.open(*opener, Features{});
    ::close(enc.peer);
    enc.peer = -1;
    write_all(plain.peer, pattern(1000, 2));
    CHECK(run(up, plain, enc) == Step::Ended);
    enc.ready();
    CHECK(down.salvage(plain.engine, enc.engine).reason == EndReason::Truncated);
}

TEST_CASE("a RESET is sealed after what is already pending, in nonce order") {
    Fixture f;
    Pair plain, enc(4096);
    auto sealer = sealpipe_sealer(state(1), now_s());
    proto::RecordReader peer(state(1), false);
    UpPipe up(f.pool, f.stats);
    up.open(*sealer, Features{}, false);
    write_all(plain.peer, pattern(30000, 1));
    run(up, plain, enc);
    REQUIRE(up.pending());
    REQUIRE(up.append_reset(proto::ResetReason::Overload));
    Bytes wire;
    for (int i = 0; i < 1000; ++i) {
        enc.ready();
        const Step s = up.flush_rest(enc.engine);
        Bytes chunk = drain(enc.peer);
        wire.insert(wire.end(), chunk.begin(), chunk.end());
        if (s == Step::Progress)
            break;
    }
    const Decoded d = decode(peer, wire);
    REQUIRE_FALSE(d.types.empty());
    CHECK(d.types.back() == RecordType::Reset);
}
}

TEST_SUITE("tunnel::pipe idle memory") {

// An idle direction holds neither a pooled buffer nor its expanded key
// (about 1.2 KiB of EVP context): an idle connection stays small.
TEST_CASE("a direction lets its expanded key go when it goes idle, and takes it back") {
    Fixture f;
    Pair plain, enc;
    crypto::CipherState cs = state(1);
    proto::RecordWriter w(std::move(cs), now_s());
    // Drive the sealer through the seam, watching its CipherState.
    struct Probe final : RecordSealer {
        proto::RecordWriter<crypto::CipherState> &w;
        explicit Probe(proto::RecordWriter<crypto::CipherState> &writer) : w(writer) {}
        RecordLayout layout() const noexcept override {
            return {proto::RECORD_BODY_OFFSET, proto::RECORD_BODY_MAX, proto::RECORD_MAX,
                    proto::RECORD_OVERHEAD};
        }
        size_t seal(proto::RecordType t, uint8_t *rec, size_t n) noexcept override {
            return w.seal(t, rec, n);
        }
        void activate() override { w.cipher_state().activate(); }
        void park() noexcept override { w.cipher_state().park(); }
        bool rekey_due(uint64_t s) const noexcept override { return w.rekey_due(s); }
        uint64_t rekey_at_s() const noexcept override { return w.key_expires(); }
        size_t seal_rekey(uint8_t *rec, uint64_t s) noexcept override {
            return w.seal_rekey(rec, s);
        }
    } probe(w);
    UpPipe up(f.pool, f.stats);
    up.open(probe, Features{}, false);
    CHECK_FALSE(w.cipher_state().active());
    write_all(plain.peer, pattern(5000, 1));
    plain.ready();
    enc.ready();
    OpenClocks clk;
    CHECK(up.pump(plain.engine, enc.engine, clk) == Step::Progress); // sealed a batch
    CHECK(w.cipher_state().active());
    CHECK(run(up, plain, enc) == Step::Blocked); // sent, and nothing more to read
    CHECK_FALSE(w.cipher_state().active());
    CHECK(f.pool.in_use() == 0);
    {
        // The buffer went back wiped (issue 12 item 9): the control area
        // and the first slot, where the 5,000 bytes of plaintext were read
        // and sealed, are zero. (Only what the pipe wrote is wiped, and only
        // that is looked at: the rest was never written, and is malloc's.)
        uint8_t *b = f.pool.get();
        const size_t written = BufferPool::HEAD + proto::RECORD_BODY_OFFSET + 5000;
        CHECK(std::all_of(b, b + written, [](uint8_t x) { return x == 0; }));
        f.pool.put(b, 0);
    }
    // The next burst takes it back, with the same key and counter.
    write_all(plain.peer, pattern(100, 2));
    run(up, plain, enc);
    proto::RecordReader peer(state(1), false);
    const Decoded d = decode(peer, drain(enc.peer));
    CHECK(d.data.size() == 5100);
}
}
