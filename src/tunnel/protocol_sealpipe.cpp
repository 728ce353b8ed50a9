// SPDX-License-Identifier: BSD-2-Clause
// sealpipe's own wire protocol behind the seam of tunnel/protocol.hpp: the
// handshake of crypto/handshake.hpp framed as u16 length || body
// (DESIGN.md §3.2), and the records of proto/record.hpp.
#include "tunnel/config.hpp"
#include "tunnel/protocol.hpp"

namespace sealpipe::tunnel {

namespace {

using proto::HS_BODY_MAX;
using proto::HS_LENGTH_LEN;

class SealpipeSealer final : public RecordSealer {
public:
    SealpipeSealer(crypto::CipherState cs, uint64_t now_s, const proto::RekeyLimits &limits)
        : w_(std::move(cs), now_s, limits) {}
    RecordLayout layout() const noexcept override {
        return {proto::RECORD_BODY_OFFSET, proto::RECORD_BODY_MAX, proto::RECORD_MAX,
                proto::RECORD_OVERHEAD};
    }
    size_t seal(proto::RecordType type, uint8_t *rec, size_t body_len) noexcept override {
        return w_.seal(type, rec, body_len);
    }
    void activate() override { w_.cipher_state().activate(); }
    void park() noexcept override { w_.cipher_state().park(); }
    bool rekey_due(uint64_t now_s) const noexcept override { return w_.rekey_due(now_s); }
    uint64_t rekey_at_s() const noexcept override { return w_.key_expires(); }
    size_t seal_rekey(uint8_t *rec, uint64_t now_s) noexcept override {
        return w_.seal_rekey(rec, now_s);
    }

private:
    proto::RecordWriter<crypto::CipherState> w_;
};

class SealpipeOpener final : public RecordOpener {
public:
    SealpipeOpener(crypto::CipherState cs, bool expect_confirm, uint64_t now_s,
                   const proto::RekeyLimits &limits)
        : r_(std::move(cs), expect_confirm, now_s, limits) {}
    proto::DecodeStatus next(uint8_t *data, size_t avail, proto::Record &out,
                             proto::RecordError &err, uint64_t now_s) noexcept override {
        return r_.next(data, avail, out, err, now_s);
    }
    bool close_received() const noexcept override { return r_.close_received(); }
    void activate() override { r_.cipher_state().activate(); }
    void park() noexcept override { r_.cipher_state().park(); }

private:
    proto::RecordReader<crypto::CipherState> r_;
};

// DESIGN.md §3.2: u16 big-endian length, then the body.
size_t framed_size(std::span<const uint8_t> have, size_t min_body) noexcept {
    if (have.size() < HS_LENGTH_LEN)
        return HS_LENGTH_LEN;
    const size_t body = static_cast<size_t>(have[0]) << 8 | have[1];
    if (body < min_body || body > HS_BODY_MAX)
        return 0;
    return HS_LENGTH_LEN + body;
}

std::span<const uint8_t> body_of(std::span<const uint8_t> msg) noexcept {
    return msg.subspan(HS_LENGTH_LEN);
}

Session make_session(crypto::HandshakeResult &r, bool responder, uint64_t now_s,
                     const proto::RekeyLimits &limits) {
    Session s;
    s.sealer = sealpipe_sealer(std::move(r.send), now_s, limits);
    s.opener = sealpipe_opener(std::move(r.recv), responder, now_s, limits);
    s.cipher = r.cipher;
    s.forward_secret = r.forward_secret;
    s.heartbeat_s = r.heartbeat_seconds;
    return s;
}

class InitiatorDriver final : public HandshakeDriver {
public:
    InitiatorDriver(std::shared_ptr<const KeySet> keys, const crypto::HandshakeOptions &opts)
        : keys_(std::move(keys)), ini_(keys_->keys.front(), opts) {}
    size_t start(std::span<uint8_t, HS_MESSAGE_MAX> out) override {
        return ini_.write_message1(out);
    }
    size_t message_size(std::span<const uint8_t> have) const noexcept override {
        return framed_size(have, proto::MSG2_BODY_MIN);
    }
    HsStep receive(std::span<const uint8_t> msg, std::span<uint8_t, HS_MESSAGE_MAX>,
                   size_t &reply) override {
        reply = 0;
        err_ = ini_.read_message2(body_of(msg), result_);
        return err_ == crypto::HandshakeError::None ? HsStep::Done : HsStep::Failed;
    }
    std::optional<std::span<const uint8_t, 32>> replay_token() const noexcept override {
        return std::nullopt;
    }
    HsStep answer(std::span<uint8_t, HS_MESSAGE_MAX>, size_t &written) override {
        written = 0;
        err_ = crypto::HandshakeError::WrongState;
        return HsStep::Failed;
    }
    crypto::HandshakeError error() const noexcept override { return err_; }
    Session take_session(uint64_t now_s, const proto::RekeyLimits &limits) override {
        return make_session(result_, false, now_s, limits);
    }

private:
    std::shared_ptr<const KeySet> keys_;
    crypto::Initiator ini_;
    crypto::HandshakeResult result_;
    crypto::HandshakeError err_ = crypto::HandshakeError::None;
};

class ResponderDriver final : public HandshakeDriver {
public:
    ResponderDriver(std::shared_ptr<const KeySet> keys, const crypto::HandshakeOptions &opts)
        : keys_(std::move(keys)), res_(keys_->pointers(), opts) {}
    size_t start(std::span<uint8_t, HS_MESSAGE_MAX>) override { return 0; }
    size_t message_size(std::span<const uint8_t> have) const noexcept override {
        return framed_size(have, proto::MSG1_BODY_MIN);
    }
    // DESIGN.md §3.4: authenticate msg1 (no X25519 so far); the engine then
    // checks the replay cache and the -n limit before answer() does the DH.
    HsStep receive(std::span<const uint8_t> msg, std::span<uint8_t, HS_MESSAGE_MAX>,
                   size_t &reply) override {
        reply = 0;
        err_ = res_.read_message1(body_of(msg));
        return err_ == crypto::HandshakeError::None ? HsStep::Authenticated : HsStep::Failed;
    }
    std::optional<std::span<const uint8_t, 32>> replay_token() const noexcept override {
        return res_.initiator_ephemeral();
    }
    HsStep answer(std::span<uint8_t, HS_MESSAGE_MAX> out, size_t &written) override {
        err_ = res_.write_message2(out, written, result_);
        return err_ == crypto::HandshakeError::None ? HsStep::Done : HsStep::Failed;
    }
    crypto::HandshakeError error() const noexcept override { return err_; }
    int64_t clock_skew_s() const noexcept override { return res_.clock_skew_s(); }
    Session take_session(uint64_t now_s, const proto::RekeyLimits &limits) override {
        return make_session(result_, true, now_s, limits);
    }

private:
    std::shared_ptr<const KeySet> keys_; // res_ points into it
    crypto::Responder res_;
    crypto::HandshakeResult result_;
    crypto::HandshakeError err_ = crypto::HandshakeError::None;
};

class SealpipeProtocol final : public WireProtocol {
public:
    std::unique_ptr<HandshakeDriver>
    initiator(std::shared_ptr<const KeySet> keys,
              const crypto::HandshakeOptions &opts) const override {
        return std::make_unique<InitiatorDriver>(std::move(keys), opts);
    }
    std::unique_ptr<HandshakeDriver>
    responder(std::shared_ptr<const KeySet> keys,
              const crypto::HandshakeOptions &opts) const override {
        return std::make_unique<ResponderDriver>(std::move(keys), opts);
    }
};

} // namespace

std::unique_ptr<RecordSealer> sealpipe_sealer(crypto::CipherState cs, uint64_t now_s,
                                              const proto::RekeyLimits &limits) {
    return std::make_unique<SealpipeSealer>(std::move(cs), now_s, limits);
}

std::unique_ptr<RecordOpener> sealpipe_opener(crypto::CipherState cs, bool expect_confirm,
                                              uint64_t now_s, const proto::RekeyLimits &limits) {
    return std::make_unique<SealpipeOpener>(std::move(cs), expect_confirm, now_s, limits);
}

const WireProtocol &sealpipe_protocol() noexcept {
    static const SealpipeProtocol p;
    return p;
}

} // namespace sealpipe::tunnel
