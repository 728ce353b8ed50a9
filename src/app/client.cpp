// SPDX-License-Identifier: BSD-2-Clause
#include "app/client.hpp"
#include "app/confine.hpp"
#include "app/defaults.hpp"
#include "app/exit_codes.hpp"
#include "app/setup.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/sodium.hpp"
#include "net/address.hpp"
#include "sys/daemon.hpp"
#include "sys/process.hpp"
#include "tunnel/loop_event.hpp"
#include "tunnel/protocol.hpp"
#include "tunnel/server.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <optional>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace sealpipe::app {

namespace {

// stdin -> tunnel. Ends with shutdown(SHUT_WR): stdin's EOF becomes the
// authenticated CLOSE. Runs detached: it may block on an interactive
// stdin forever, and the process exits without waiting for it.
void pump_stdin(int sock) {
    std::vector<uint8_t> buf(65536);
    while (true) {
        ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; // EOF (or an unreadable stdin: treat as EOF)
        if (!util::write_all(sock, buf.data(), static_cast<size_t>(n)))
            return; // the tunnel is gone; the main thread reports why
    }
    ::shutdown(sock, SHUT_WR);
}

// tunnel -> stdout. If stdout goes away (EPIPE: "| head"), abort the
// connection so the far end learns of it as a reset.
void pump_stdout(int sock, tunnel::Server &server, std::atomic<bool> &stdout_closed,
                 const std::atomic<uint64_t> &conn_id) {
    std::vector<uint8_t> buf(65536);
    while (true) {
        ssize_t n = ::read(sock, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        if (!util::write_all(STDOUT_FILENO, buf.data(), static_cast<size_t>(n))) {
            stdout_closed = true;
            server.abort_connection(conn_id.load(), tunnel::EndReason::PlaintextReset,
                                    /*linger=*/true);
            return;
        }
    }
}

// SIGHUP (ssh sends it to its ProxyCommand when the session ends),
// SIGTERM, SIGINT: the first half-closes our side (as if stdin had ended)
// and gives the connection GRACE_MS to finish cleanly; after that, or on a
// second signal, the connection is aborted with a RESET.
constexpr int GRACE_MS = 2000;

struct SignalState {
    int signo = 0; // the first signal received
    bool aborted = false;
};

int report(const ClientOptions &o, const std::optional<tunnel::EndReport> &out, bool stdout_closed,
           const SignalState &sig) {
    using tunnel::EndReason;
    auto say = [&](int code, const std::string &msg) {
        if (o.verbosity >= 0)
            std::fprintf(stderr, "sealpipe: %s\n", msg.c_str());
        return code;
    };
    if (sig.signo != 0 && (!out || out->reason != EndReason::Clean))
        return say(128 + sig.signo, std::string("interrupted by ") +
                                        (sig.signo == SIGHUP   ? "SIGHUP"
                                         : sig.signo == SIGINT ? "SIGINT"
                                                               : "SIGTERM") +
                                        " before the connection ended cleanly; it was aborted");
    if (stdout_closed)
        return say(EXIT_OUTPUT, "standard output was closed before the reply ended; the "
                                "connection was aborted");
    if (!out)
        return say(EXIT_RUNTIME, "the connection ended without a reason (internal error)");
    const std::string to = o.target;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", o.timeout_s);
    switch (out->reason) {
    case EndReason::Clean: return EXIT_OK;
    case EndReason::ConnectFailed:
        return say(EXIT_RUNTIME, "cannot connect to " + to + ": " +
                                     util::errno_string(out->err != 0 ? out->err : EHOSTUNREACH));
    case EndReason::ResourceError:
        return say(EXIT_RUNTIME, "cannot connect to " + to + ": " + tunnel::detail(*out));
    case EndReason::ConnectTimeout:
        return say(EXIT_TIMEOUT,
                   "timed out after " + std::string(secs) + " s connecting to " + to + " (-o)");
    case EndReason::HandshakeTimeout:
        return say(EXIT_TIMEOUT, "timed out after " + std::string(secs) +
                                     " s in the handshake with " + to +
                                     " (-o); is it a sealpiped -d?");
    case EndReason::HandshakeFailed:
        if (out->handshake_error == crypto::HandshakeError::PolicyConflict)
            return say(EXIT_HANDSHAKE,
                       std::string("handshake failed: ") + crypto::to_string(out->handshake_error));
        if (out->handshake_error == crypto::HandshakeError::PeerClosed)
            return say(EXIT_HANDSHAKE, "handshake failed: " + to +
                                           " closed without answering: wrong key or not a "
                                           "sealpiped -d, or clock skew? (the clocks must agree "
                                           "within its --clock-window) Or it had seen this "
                                           "first message already ('replayed_handshake' in its "
                                           "log): something on the path delivered it first");
        return say(EXIT_HANDSHAKE,
                   "handshake failed: wrong key or not a sealpiped -d (" + to + ")");
    case EndReason::PeerReset:
        return say(EXIT_BROKEN, std::string("the connection was reset by the sealpiped -d: ") +
                                    tunnel::reset_reason_text(out->peer_reset));
    case EndReason::Truncated:
        return say(EXIT_BROKEN, "the connection to " + to +
                                    " was cut without an authenticated close (truncated); the "
                                    "output is incomplete");
    case EndReason::ProtocolError:
        return say(EXIT_BROKEN, "the connection to " + to + " was tampered with (" +
                                    tunnel::detail(*out) + "); the output is incomplete");
    case EndReason::HeartbeatTimeout:
        return say(EXIT_BROKEN, "nothing heard from " + to +
                                    " for 4 heartbeat intervals; connection presumed dead");
    default: {
        const std::string d = tunnel::detail(*out);
        return say(EXIT_BROKEN, std::string("connection failed: ") +
                                    tunnel::to_string(out->reason) + (d.empty() ? "" : ": " + d));
    }
    }
}

} // namespace

// Fill ${ctx} from the options: keys, policy, the target. Returns 0, or
// the exit status of the one-line error it printed.
int configure(const ClientOptions &o, tunnel::Context &ctx) {
    try {
        ctx.keys.set(
            load_keys({sys::absolute_path(o.key)}, key_options(o.insecure_key, o.protocol)));
    } catch (const crypto::KeyFileError &e) {
        std::fprintf(stderr, "sealpipe: %s\n", e.what());
        return EXIT_KEY;
    }
    tunnel::TunnelConfig &c = ctx.cfg;
    c.role = tunnel::Role::Encrypt;
    c.max_connections = 1;
    c.connect_timeout_ms = c.handshake_timeout_ms = static_cast<uint64_t>(o.timeout_s * 1000 + 0.5);
    c.heartbeat_s = static_cast<uint16_t>(o.heartbeat_s);
    c.keepalive = !o.no_keepalive;
    c.rekey = rekey_limits();
    if (o.protocol == "spiped")
        c.protocol = &tunnel::spiped_protocol();
    c.handshake.fs_policy = o.fast         ? proto::FsPolicy::Refuse
                            : o.require_fs ? proto::FsPolicy::Require
                                           : proto::FsPolicy::Prefer;
    try {
        c.handshake.ciphers = cipher_mask(o.cipher);
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "sealpipe: %s\n", e.what());
        return EXIT_USAGE;
    }
    try {
        ctx.targets.set(std::make_shared<const tunnel::Targets>(
            net::resolve(net::parse_address(o.target), false)));
        if (!o.bind.empty())
            c.bind = net::resolve(net::parse_address(o.bind, true), true).front();
    } catch (const net::AddressError &e) {
        std::fprintf(stderr, "sealpipe: %s\n", e.what());
        return EXIT_ADDRESS;
    }

    return 0;
}

int run_client(const ClientOptions &o) {
    util::log_init("sealpipe", o.verbosity > 0 ? util::LogLevel::Debug : util::LogLevel::Error,
                   false);
    std::signal(SIGPIPE, SIG_IGN); // EPIPE on stdout is handled, not fatal
    try {
        crypto::init();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "sealpipe: %s\n", e.what());
        return EXIT_RUNTIME;
    }
    if (const std::string failed = sys::protect_memory(); !failed.empty())
        log_warn("%s: key material could end up in a core dump", failed.c_str());

    tunnel::Context ctx;
    if (const int status = configure(o, ctx); status != 0)
        return status;
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
        std::fprintf(stderr, "sealpipe: socketpair: %s\n", util::errno_string(errno).c_str());
        return EXIT_RUNTIME;
    }
    ::fcntl(sp[0], F_SETFL, ::fcntl(sp[0], F_GETFL) | O_NONBLOCK);

    tunnel::Server server(ctx);
    std::optional<tunnel::EndReport> outcome;
    server.on_connection_end([&outcome](const tunnel::EndReport &r) { outcome = r; });
    server.stop_when_idle();

    // Confined before the copying threads start (Landlock confines the
    // calling thread and those it creates): no file to read again, TCP
    // only to the target's port.
    ConfineInputs in;
    in.targets = *ctx.targets.get();
    in.bind = ctx.cfg.bind;
    if (const std::string refused = confine(confine_policy(in, "sealpipe"), o.sandbox);
        !refused.empty()) {
        std::fprintf(stderr, "sealpipe: %s\n", refused.c_str());
        return EXIT_SYSTEM;
    }

    std::atomic<bool> stdout_closed{false};
    std::atomic<uint64_t> conn_id{0};
    std::thread out(pump_stdout, sp[1], std::ref(server), std::ref(stdout_closed),
                    std::ref(conn_id));
    std::thread(pump_stdin, sp[1]).detach();

    SignalState sig;
    tunnel::LoopEvent grace = tunnel::LoopEvent::timer(server.loop(), [&] {
        server.abort_connection(conn_id.load(), tunnel::EndReason::Shutdown, /*linger=*/false);
    });
    std::vector<tunnel::LoopEvent> sigs;
    for (int signo : {SIGHUP, SIGTERM, SIGINT}) {
        sigs.push_back(tunnel::LoopEvent::signal(server.loop(), signo, [&, signo] {
            if (sig.signo == 0) {
                sig.signo = signo;
                ::shutdown(sp[1], SHUT_WR); // our stdin is over: send CLOSE
                grace.arm_ms(GRACE_MS);
                return;
            }
            server.abort_connection(conn_id.load(), tunnel::EndReason::Shutdown, /*linger=*/false);
        }));
    }

    conn_id = server.adopt(net::UniqueFd(sp[0]), "to " + o.target);
    server.run();
    out.join();
    sigs.clear();
    grace = tunnel::LoopEvent();
    return report(o, outcome, stdout_closed, sig);
}

} // namespace sealpipe::app
