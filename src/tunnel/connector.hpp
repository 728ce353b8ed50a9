// SPDX-License-Identifier: BSD-2-Clause
// The outbound connect of a connection: -e to its -d side, -d to its target
// (only after the peer is authenticated, DESIGN.md §3.6). Non-blocking, over
// the resolved target list in order, bound to -b's address when one of the
// same family is given. Each address that fails moves on to the next; the
// -o deadline for the whole attempt is the connection's phase deadline.
//
// Thread-safety: loop thread only.
#pragma once

#include "net/address.hpp"
#include "tunnel/config.hpp"
#include "tunnel/endpoint.hpp"

#include <memory>
#include <optional>

namespace sealpipe::tunnel {

class Connector {
public:
    // Start connecting to ${targets}, with the socket options of ${cfg};
    // the socket becomes ${out}, watched by ${watch}. Progress: a connect is
    // in flight (wait for ${out} to become writable, then call ready()).
    // Ended: no address could even be tried; see reason() and error().
    Step start(std::shared_ptr<const Targets> targets, const TunnelConfig &cfg, Endpoint &out,
               const Watch &watch);
    // Start again from the first address of the same targets (the §3.8
    // retry).
    Step restart(Endpoint &out) { return start(targets_, *cfg_, out, watch_); }
    // ${out} had an event. Blocked: still connecting. Progress: connected.
    // Ended: every address failed.
    Step ready(Endpoint &out);

    // Why the last attempt ended: ConnectFailed, or ResourceError when
    // the process is out of descriptors or memory.
    EndReason reason() const noexcept { return reason_; }
    // The errno of the last address tried.
    int error() const noexcept { return err_; }

private:
    Step try_next(Endpoint &out);

    std::shared_ptr<const Targets> targets_;
    const TunnelConfig *cfg_ = nullptr;
    Watch watch_{};
    size_t next_ = 0;
    int err_ = 0;
    EndReason reason_ = EndReason::ConnectFailed;
};

} // namespace sealpipe::tunnel
