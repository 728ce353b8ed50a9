// SPDX-License-Identifier: BSD-2-Clause
// spiped 1.6's wire protocol behind the seam of tunnel/protocol.hpp
// (--protocol spiped, DESIGN.md §12): the handshake of crypto/spiped.hpp,
// whose messages have fixed sizes (a 32-byte nonce each way, then a
// 288-byte DH message each way), and 1,060-byte packets that carry data
// only. The session has no authenticated close, no control records and no
// CONFIRM, so the pipes end a direction with a bare FIN and the -d side
// connects to its target once the initiator's DH message has
// authenticated and the answer is out.
#include "crypto/spiped.hpp"
#include "tunnel/config.hpp"
#include "tunnel/protocol.hpp"

namespace sealpipe::tunnel {

namespace sp = crypto::spiped;

namespace {

static_assert(sp::DH_MSG_LEN <= HS_MESSAGE_MAX);

class SpipedSealer final : public RecordSealer {
public:
    explicit SpipedSealer(sp::PacketCipher c) : c_(std::move(c)) {}
    RecordLayout layout() const noexcept override {
        return {0, sp::PACKET_BODY_MAX, sp::PACKET_LEN, sp::PACKET_LEN};
    }
    // Every packet is DATA, padded to the full size.
    size_t seal(proto::RecordType type, uint8_t *rec, size_t body_len) noexcept override {
        if (type != proto::RecordType::Data || !c_.seal(rec, body_len))
            return 0;
        return sp::PACKET_LEN;
    }
    void activate() override { c_.activate(); }
    void park() noexcept override { c_.park(); }
    // spiped has no rekeying: 2^64 packets per direction is its limit.
    bool rekey_due(uint64_t) const noexcept override { return false; }
    uint64_t rekey_at_s() const noexcept override { return UINT64_MAX; }
    size_t seal_rekey(uint8_t *, uint64_t) noexcept override { return 0; }

private:
    sp::PacketCipher c_;
};

class SpipedOpener final : public RecordOpener {
public:
    explicit SpipedOpener(sp::PacketCipher c) : c_(std::move(c)) {}
    proto::DecodeStatus next(uint8_t *data, size_t avail, proto::Record &out,
                             proto::RecordError &err, uint64_t) noexcept override {
        if (avail < sp::PACKET_LEN)
            return proto::DecodeStatus::NeedMore;
        const size_t len = c_.open(data);
        if (len == 0) {
            err = proto::RecordError::BadTag; // tag, order or length
            return proto::DecodeStatus::Invalid;
        }
        out.type = proto::RecordType::Data;
        out.body = data;
        out.body_len = len;
        out.wire_len = sp::PACKET_LEN;
        return proto::DecodeStatus::Record;
    }
    bool close_received() const noexcept override { return false; }
    void activate() override { c_.activate(); }
    void park() noexcept override { c_.park(); }

private:
    sp::PacketCipher c_;
};

// Both roles: nonce out at once, the peer's nonce in, then the DH
// messages; they differ in who sends the DH message first.
class SpipedDriver final : public HandshakeDriver {
public:
    SpipedDriver(bool responder, std::shared_ptr<const KeySet> keys,
                 const crypto::HandshakeOptions &opts)
        : keys_(std::move(keys)), responder_(responder),
          hs_(responder, keys_->pointers(), opts.fs_policy) {}

    size_t start(std::span<uint8_t, HS_MESSAGE_MAX> out) override {
        std::copy(hs_.nonce().begin(), hs_.nonce().end(), out.begin());
        return sp::NONCE_LEN;
    }
    size_t message_size(std::span<const uint8_t>) const noexcept override {
        return have_nonce_ ? sp::DH_MSG_LEN : sp::NONCE_LEN;
    }
    HsStep receive(std::span<const uint8_t> msg, std::span<uint8_t, HS_MESSAGE_MAX> out,
                   size_t &reply) override {
        reply = 0;
        if (!have_nonce_) {
            have_nonce_ = true;
            err_ = hs_.read_nonce(msg.first<sp::NONCE_LEN>());
            if (err_ == crypto::HandshakeError::None && !responder_) {
                err_ = hs_.write_dh(out.first<sp::DH_MSG_LEN>());
                reply = sp::DH_MSG_LEN;
            }
            return err_ == crypto::HandshakeError::None ? HsStep::NeedMore : HsStep::Failed;
        }
        err_ = hs_.read_dh(msg.first<sp::DH_MSG_LEN>());
        if (err_ != crypto::HandshakeError::None)
            return HsStep::Failed;
        if (responder_)
            return HsStep::Authenticated; // no modexp so far (DESIGN.md §12.3)
        err_ = hs_.finish(result_);
        return err_ == crypto::HandshakeError::None ? HsStep::Done : HsStep::Failed;
    }
    // The MAC covers the responder's fresh nonce: a replay cannot pass it.
    std::optional<std::span<const uint8_t, 32>> replay_token() const noexcept override {
        return std::nullopt;
    }
    HsStep answer(std::span<uint8_t, HS_MESSAGE_MAX> out, size_t &written) override {
        written = 0;
        err_ = hs_.write_dh(out.first<sp::DH_MSG_LEN>());
        if (err_ == crypto::HandshakeError::None)
            err_ = hs_.finish(result_);
        if (err_ != crypto::HandshakeError::None)
            return HsStep::Failed;
        written = sp::DH_MSG_LEN;
        return HsStep::Done;
    }
    crypto::HandshakeError error() const noexcept override { return err_; }
    Session take_session(uint64_t, const proto::RekeyLimits &) override {
        Session s;
        s.sealer = std::make_unique<SpipedSealer>(std::move(result_.send));
        s.opener = std::make_unique<SpipedOpener>(std::move(result_.recv));
        s.features = {.authenticated_close = false,
                      .control_records = false,
                      .confirm = false,
                      .client_address = false};
        s.transport = SPIPED_TRANSPORT_NAME;
        s.forward_secret = result_.forward_secret;
        return s;
    }

private:
    std::shared_ptr<const KeySet> keys_; // hs_ points into it
    bool responder_;
    sp::Handshake hs_;
    sp::Result result_;
    bool have_nonce_ = false;
    crypto::HandshakeError err_ = crypto::HandshakeError::None;
};

class SpipedProtocol final : public WireProtocol {
public:
    std::unique_ptr<HandshakeDriver>
    initiator(std::shared_ptr<const KeySet> keys,
              const crypto::HandshakeOptions &opts) const override {
        return std::make_unique<SpipedDriver>(false, std::move(keys), opts);
    }
    std::unique_ptr<HandshakeDriver>
    responder(std::shared_ptr<const KeySet> keys,
              const crypto::HandshakeOptions &opts) const override {
        return std::make_unique<SpipedDriver>(true, std::move(keys), opts);
    }
};

} // namespace

const WireProtocol &spiped_protocol() noexcept {
    static const SpipedProtocol p;
    return p;
}

} // namespace sealpipe::tunnel
