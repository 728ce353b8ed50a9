// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/connector.hpp"

namespace sealpipe::tunnel {

namespace {
bool out_of_resources(int err) noexcept {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}
} // namespace

Step Connector::start(std::shared_ptr<const Targets> targets, const TunnelConfig &cfg,
                      Endpoint &out, const Watch &watch) {
    targets_ = std::move(targets);
    cfg_ = &cfg;
    watch_ = watch;
    next_ = 0;
    err_ = 0;
    reason_ = EndReason::ConnectFailed;
    if (!targets_ || targets_->empty()) {
        err_ = EHOSTUNREACH;
        return Step::Ended;
    }
    return try_next(out);
}

Step Connector::try_next(Endpoint &out) {
    while (next_ < targets_->size()) {
        const net::SockAddr &addr = (*targets_)[next_++];
        const net::SockAddr *bind =
            cfg_->bind && cfg_->bind->family() == addr.family() ? &*cfg_->bind : nullptr;
        int err = 0;
        const int fd = net::connect_start(addr, bind, err);
        if (fd < 0) {
            err_ = err;
            if (out_of_resources(err)) {
                reason_ = EndReason::ResourceError;
                return Step::Ended;
            }
            continue;
        }
        net::set_stream_options(fd, addr.family(), cfg_->keepalive);
        out.attach(net::UniqueFd(fd), watch_);
        return Step::Progress;
    }
    return Step::Ended;
}

Step Connector::ready(Endpoint &out) {
    if (!out.open())
        return Step::Blocked;
    const int err = net::socket_error(out.get());
    if (err == 0 && !out.writable)
        return Step::Blocked; // not finished yet
    if (err == 0)
        return Step::Progress;
    err_ = err;
    out.close(false);
    return try_next(out) == Step::Progress ? Step::Blocked : Step::Ended;
}

} // namespace sealpipe::tunnel
