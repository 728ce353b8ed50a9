// SPDX-License-Identifier: BSD-2-Clause
// What a connection may use of the engine around it, and nothing more: the
// configuration, the protocol, its loop, buffers, counters, the replay
// cache, the current keys and targets, the -n slots, and a few calls back
// to its owner. A Worker provides it; a unit test can provide its own.
//
// Thread-safety: the references are to objects that are either immutable,
// atomic, or internally locked (Shared<T>, ReplayCache); the Owner calls
// are made on the connection's loop thread.
#pragma once

#include "tunnel/buffer_pool.hpp"
#include "tunnel/config.hpp"
#include "tunnel/end_reason.hpp"
#include "tunnel/lease.hpp"
#include "tunnel/protocol.hpp"
#include "tunnel/replay_cache.hpp"
#include "tunnel/stats.hpp"

struct event_base;

namespace sealpipe::tunnel {

class Connection;

// The calls a connection makes to whoever owns it.
class ConnectionOwner : public AuthLogGate {
public:
    // Run ${c}'s resume() soon (it yielded with work left), or not.
    virtual void defer(Connection &c) noexcept = 0;
    virtual void cancel_defer(Connection &c) noexcept = 0;
    // -d: msg1 authenticated and the answer is out: move ${c} (through its
    // handshake lease) to the pool of handshakes awaiting CONFIRM, which
    // evicts its own oldest member when full.
    virtual void await_confirm(Connection &c) noexcept = 0;
    // -d: the peer confirmed; lease an -n slot for it (empty at the limit,
    // and the owner stops accepting while the limit holds).
    virtual SlotLease lease_slot() noexcept = 0;
    // A repeated warning about sessions (one per 10 s, then how many more
    // were not logged), like the auth-failure gate.
    virtual bool allow_session_warning(uint64_t now_ms, uint64_t &suppressed) noexcept = 0;
    // ${c} has ended; ${report} says how (called once, from inside ${c}).
    virtual void ended(Connection &c, const EndReport &report) noexcept = 0;
    // ${c} has ended and no call of its is on the stack: delete it.
    virtual void reap(Connection &c) noexcept = 0;

protected:
    ~ConnectionOwner() = default;
};

struct ConnectionEnv {
    const TunnelConfig &cfg;
    const WireProtocol &protocol;
    event_base *base;
    BufferPool &pool;
    Stats &stats;
    ReplayCache &replay;
    const Shared<KeySet> &keys;
    const Shared<Targets> &targets;
    ConnectionOwner &owner;
};

} // namespace sealpipe::tunnel
