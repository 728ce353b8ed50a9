// SPDX-License-Identifier: BSD-2-Clause
#include "app/daemon.hpp"
#include "app/confine.hpp"
#include "app/exit_codes.hpp"
#include "app/setup.hpp"
#include "app/status.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/secret.hpp"
#include "crypto/sodium.hpp"
#include "net/socket.hpp"
#include "sys/daemon.hpp"
#include "sys/notify.hpp"
#include "sys/process.hpp"
#include "sys/remover.hpp"
#include "sys/sandbox.hpp"
#include "tunnel/loop_event.hpp"
#include "tunnel/resolver.hpp"
#include "tunnel/server.hpp"
#include "tunnel/status_server.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include "config.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace sealpipe::app {

namespace {

[[noreturn]] void die(int code, const std::string &msg) {
    std::fprintf(stderr, "sealpiped: %s\n", msg.c_str());
    std::fflush(stderr);
    sys::daemon_report(code);
    std::exit(code);
}

// systemd socket activation (sd_listen_fds(3), without libsystemd): if
// LISTEN_PID is us, take fd 3 as the listener. Returns -1 if not activated.
int activated_listener() {
    const char *pid = std::getenv("LISTEN_PID");
    const char *fds = std::getenv("LISTEN_FDS");
    if (pid == nullptr || fds == nullptr || std::strtol(pid, nullptr, 10) != ::getpid())
        return -1;
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (std::strcmp(fds, "1") != 0)
        throw std::runtime_error(std::string("LISTEN_FDS=") + fds +
                                 ": sealpiped takes exactly one socket (one pipe per unit)");
    const int fd = 3; // SD_LISTEN_FDS_START
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        throw std::runtime_error("the socket passed by the service manager (fd 3) is not a "
                                 "listening stream socket");
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// SIGUSR1: the health line and the totals, in the log.
void log_summary(tunnel::Context &ctx, const StatusInfo &info, bool stopping) {
    std::string line = render_health(ctx, info, stopping);
    if (!line.empty() && line.back() == '\n')
        line.pop_back();
    auto &st = ctx.stats;
    uint64_t ended = 0;
    for (auto &e : st.ended)
        ended += e.load();
    log_info("status: %s; %llu connection(s) ended (%llu clean), %llu B in, %llu B out",
             line.c_str(), static_cast<unsigned long long>(ended),
             static_cast<unsigned long long>(st.ended[0].load()),
             static_cast<unsigned long long>(st.bytes_in.load()),
             static_cast<unsigned long long>(st.bytes_out.load()));
}

// WATCHDOG_USEC, if the service manager asked us (and not another process).
uint64_t watchdog_interval_us() {
    const char *usec = std::getenv("WATCHDOG_USEC");
    const char *pid = std::getenv("WATCHDOG_PID");
    if (usec == nullptr || (pid != nullptr && std::strtol(pid, nullptr, 10) != ::getpid()))
        return 0;
    return std::strtoull(usec, nullptr, 10);
}

} // namespace

int run_keygen(const std::string &path) {
    try {
        crypto::init();
        crypto::generate_key_file(path);
    } catch (const crypto::KeyFileError &e) {
        std::fprintf(stderr, "sealpiped: %s\n", e.what());
        return EXIT_KEY;
    }
    std::printf("wrote a new 32-byte key to %s (mode 0400); copy it to both ends of the pipe\n",
                path.c_str());
    return EXIT_OK;
}

namespace {

// What start-up reads and resolves before anything is bound.
struct Startup {
    std::vector<std::string> key_paths; // absolute, for reloads after chdir
    std::shared_ptr<tunnel::KeySet> keys;
    Plan plan;
    std::optional<net::SockAddr> status_addr;
};

// No core dumps, not dumpable: the keys stay out of core files and away
// from other processes of the same user (SECURITY.md).
void protect_memory() {
    const std::string failed = sys::protect_memory();
    if (!failed.empty())
        log_warn("%s: key material could end up in a core dump", failed.c_str());
}

// Session keys in locked memory where the limit allows (once, at start).
void lock_memory() {
    const std::string why = sys::lock_memory();
    if (!why.empty())
        log_warn("memory not locked (%s): session keys may be written to swap; raise the limit "
                 "(%s) to lock it",
                 why.c_str(), sys::lock_memory_advice().c_str());
}

// The -u user's uid, if -u names one that exists (a bad -u is reported
// where privileges are dropped): key files may belong to that user.
std::optional<uid_t> run_as_uid(const DaemonOptions &o) {
    if (o.user.empty())
        return std::nullopt;
    try {
        return sys::parse_user_spec(o.user).uid;
    } catch (const sys::SystemError &) {
        return std::nullopt;
    }
}

// Keys, cipher, addresses: each failure is one line and its exit status.
// Keys first: the most common mistake should be reported first.
Startup configure(const DaemonOptions &o, tunnel::Context &ctx) {
    Startup st;
    for (const auto &k : o.keys)
        st.key_paths.push_back(sys::absolute_path(k));
    try {
        st.keys = load_keys(st.key_paths, key_options(o.insecure_key, o.protocol, run_as_uid(o)));
    } catch (const crypto::KeyFileError &e) {
        die(EXIT_KEY, e.what());
    }
    try {
        cipher_mask(o.cipher); // a cipher this CPU cannot run is a usage error
    } catch (const std::invalid_argument &e) {
        die(EXIT_USAGE, e.what());
    }
    try {
        st.plan = make_plan(o);
        if (!o.status.empty()) {
            st.status_addr = net::resolve(net::parse_address(o.status), true).front();
            if (!is_local_address(*st.status_addr) && !o.status_any_address)
                throw net::AddressError("--status " + o.status +
                                        " is not a Unix socket or a loopback address; the status "
                                        "page reveals connection details (pass --status-unsafe "
                                        "to allow it)");
        }
    } catch (const std::exception &e) {
        die(EXIT_ADDRESS, e.what());
    }
    ctx.cfg = st.plan.cfg;
    ctx.keys.set(st.keys);
    ctx.targets.set(std::make_shared<const tunnel::Targets>(st.plan.targets));
    ctx.workers = o.threads;
    return st;
}

// The sockets bound at start-up, before daemonizing, so the launcher
// learns about a busy port.
struct Sockets {
    net::UniqueFd listen_fd;
    std::string unix_path;  // a Unix socket we created, removed at exit
    bool activated = false; // listener passed by systemd (LISTEN_FDS)
    net::UniqueFd status_fd;
};

Sockets bind_sockets(const DaemonOptions &o, const Startup &st) {
    Sockets s;
    try {
        const int activated_fd = activated_listener();
        if (activated_fd >= 0) {
            s.listen_fd.reset(activated_fd); // the service manager owns the address
            s.activated = true;
        } else {
            net::ListenOptions lo;
            lo.unix_mode = o.socket_mode;
            s.listen_fd = net::listen_on(st.plan.source, lo);
            if (st.plan.source.is_unix())
                s.unix_path = st.plan.source.to_string();
        }
        if (st.status_addr) {
            net::ListenOptions lo;
            lo.unix_mode = 0660;
            lo.backlog = 64;
            s.status_fd = net::listen_on(*st.status_addr, lo);
        }
    } catch (const std::exception &e) {
        die(EXIT_ADDRESS, e.what());
    }
    return s;
}

// Daemonize (unless -F, or -D did already), write the pidfile, drop
// privileges. Returns the pidfile's path ("" for none).
std::string detach(const DaemonOptions &o) {
    std::string pidfile;
    try {
        if (!o.foreground && !o.wait_dns)
            sys::daemonize();
        if (!o.foreground)
            pidfile = sys::absolute_path(o.pidfile.empty() ? o.source + ".pid" : o.pidfile);
        else if (!o.pidfile.empty())
            pidfile = sys::absolute_path(o.pidfile);
        if (!pidfile.empty())
            sys::write_pidfile(pidfile);
        if (!o.user.empty()) {
            sys::drop_privileges(sys::parse_user_spec(o.user));
            protect_memory(); // a change of user made the process dumpable again
        } else if (::geteuid() == 0) {
            log_warn("running as root without -u: a flaw exploited in this process would have "
                     "root's power over this machine; pass -u USER[:GROUP] (e.g. -u sealpipe) to "
                     "drop to an unprivileged user once the listener is bound and the keys are "
                     "read");
        }
        if (!o.foreground && ::chdir("/") != 0)
            throw sys::SystemError("cannot change directory to /: " + util::errno_string(errno));
    } catch (const sys::SystemError &e) {
        if (!pidfile.empty())
            ::unlink(pidfile.c_str());
        die(EXIT_SYSTEM, e.what());
    }
    return pidfile;
}

// SIGTERM and SIGINT (the first drains, the second aborts), SIGHUP (reload
// the keys), SIGUSR1 (a summary in the log).
std::vector<tunnel::LoopEvent> wire_signals(tunnel::Server &server, tunnel::Context &ctx,
                                            const DaemonOptions &o, const Startup &st,
                                            const StatusInfo &info) {
    std::vector<tunnel::LoopEvent> signals;
    for (int sig : {SIGTERM, SIGINT}) {
        const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
        signals.push_back(tunnel::LoopEvent::signal(server.loop(), sig, [&server, &o, name] {
            if (server.draining()) {
                server.abort_all(name);
                return;
            }
            sys::sd_notify("STOPPING=1\nSTATUS=draining");
            server.drain(name, static_cast<uint64_t>(o.drain_timeout_s * 1000));
        }));
    }
    signals.push_back(tunnel::LoopEvent::signal(server.loop(), SIGHUP, [&ctx, &st, &o] {
        // Type=notify-reload: RELOADING=1 with the monotonic time, then READY=1.
        sys::sd_notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(util::now_us()));
        reload_keys(ctx, st.key_paths, key_options(o.insecure_key, o.protocol, run_as_uid(o)));
        sys::sd_notify("READY=1");
    }));
    signals.push_back(tunnel::LoopEvent::signal(server.loop(), SIGUSR1, [&ctx, &info, &server] {
        log_summary(ctx, info, server.draining());
    }));
#if SEALPIPE_TEST_HOOKS
    // tests/e2e/34-sandbox.sh: on SIGUSR2 a test build attempts each
    // forbidden action of $SEALPIPE_TEST_SANDBOX_CANARY (comma-separated:
    // open, exec, ptrace, connect:PORT) and logs what happened.
    if (const char *canary = std::getenv("SEALPIPE_TEST_SANDBOX_CANARY"))
        signals.push_back(
            tunnel::LoopEvent::signal(server.loop(), SIGUSR2, [what = std::string(canary)] {
                size_t at = 0;
                while (at <= what.size()) {
                    const size_t comma = std::min(what.find(',', at), what.size());
                    log_warn("sandbox canary: %s",
                             sys::sandbox_canary(what.substr(at, comma - at)).c_str());
                    at = comma + 1;
                }
            }));
#endif
    return signals;
}

// --key-poll: reload when the key files change, for a sidecar nobody can
// send SIGHUP (a Kubernetes Secret is swapped by the kubelet). By default
// on, every 10 s, when a key directory is a Secret volume.
tunnel::LoopEvent start_key_poll(tunnel::Server &server, tunnel::Context &ctx,
                                 const DaemonOptions &o, const Startup &st) {
    double seconds = 0;
    if (o.key_poll_s) {
        seconds = *o.key_poll_s;
    } else {
        for (const auto &p : st.key_paths) {
            try {
                if (p != "-" && projected_generation(p))
                    seconds = 10;
            } catch (const crypto::KeyFileError &) {
                // reported by the load itself
            }
        }
    }
    if (seconds <= 0)
        return {};
    log_info("checking the key files for changes every %g s (--key-poll)", seconds);
    auto last = std::make_shared<std::string>(key_files_stamp(st.key_paths));
    return tunnel::LoopEvent::periodic(
        server.loop(), static_cast<uint64_t>(seconds * 1e6), [&ctx, &o, &st, last] {
            std::string now = key_files_stamp(st.key_paths);
            if (now == *last)
                return;
            *last = std::move(now);
            reload_keys(ctx, st.key_paths, key_options(o.insecure_key, o.protocol, run_as_uid(o)),
                        "key files changed");
        });
}

// The systemd watchdog, if asked for: a ping now, then every half interval.
tunnel::LoopEvent start_watchdog(tunnel::Server &server) {
    const uint64_t us = watchdog_interval_us();
    if (us == 0)
        return {};
    sys::sd_notify("WATCHDOG=1");
    return tunnel::LoopEvent::periodic(server.loop(), us / 2, [] { sys::sd_notify("WATCHDOG=1"); });
}

// The files the daemon removes when done with them: its pidfile, its Unix
// sockets (sys/remover.hpp).
struct OwnFiles {
    sys::Remover remover;
    int pidfile = -1;
    int socket = -1;
    int status_socket = -1;

    void remove(int n) {
        if (const std::string why = remover.remove(n); !why.empty())
            log_warn("%s", why.c_str());
    }
};

// Confine the daemon (--sandbox) to what serving needs: the key paths for
// reloads, the target's port. Where the sandbox takes removal away, a
// helper, forked first and confined but for removing in the directories
// of those files, removes them; it keeps no copy of the keys.
void confine_daemon(const DaemonOptions &o, const Startup &st, OwnFiles &own) {
    ConfineInputs in;
    in.key_paths = st.key_paths;
    in.targets = st.plan.targets;
    in.target_is_name = st.plan.target_addr.kind == net::Address::Kind::Host && !o.no_resolve;
    in.bind = st.plan.cfg.bind;
    in.syslog = o.syslog;
    const sys::SandboxMode mode = sys::parse_sandbox_mode(o.sandbox);
    try {
        if (sys::sandbox_limits_removal(mode))
            own.remover.start([&o, &own, mode] {
                crypto::wipe_all_secrets();
                sys::SandboxPolicy helper;
                helper.progname = "sealpiped";
                helper.syslog = o.syslog;
                helper.remove_dirs = own.remover.directories();
                sys::apply_sandbox(helper, mode);
            });
    } catch (const sys::SystemError &e) {
        own.remove(own.pidfile);
        die(EXIT_SYSTEM, e.what());
    }
    const std::string refused = confine(confine_policy(in, "sealpiped"), o.sandbox);
    if (!refused.empty()) {
        own.remove(own.pidfile);
        die(EXIT_SYSTEM, refused);
    }
}

// Run the tunnel until it is stopped. Returns the exit status.
int serve(const DaemonOptions &o, tunnel::Context &ctx, const Startup &st, Sockets &sockets,
          OwnFiles &own) {
    tunnel::Server server(ctx);
    server.listen(std::move(sockets.listen_fd), [&own] { own.remove(own.socket); });
    StatusInfo info;
    info.mode = o.encrypt ? "encrypt" : "decrypt";
    info.source = st.plan.source.to_string();
    info.target = o.target;
    info.started = std::time(nullptr);

    std::unique_ptr<tunnel::StatusServer> status_server;
    if (sockets.status_fd)
        status_server = std::make_unique<tunnel::StatusServer>(
            server.loop(), std::move(sockets.status_fd),
            [&ctx, &info, &server](const std::string &path) {
                return answer_status(ctx, info, server.draining(), path);
            },
            [&own] { own.remove(own.status_socket); });
    // Before the resolver's thread starts: Landlock confines the calling
    // thread and those it creates afterwards.
    confine_daemon(o, st, own);
    std::unique_ptr<tunnel::Resolver> resolver;
    if (st.plan.target_addr.kind == net::Address::Kind::Host && !o.no_resolve)
        resolver = std::make_unique<tunnel::Resolver>(
            st.plan.target_addr, static_cast<uint64_t>(o.resolve_s * 1000), ctx.targets);
    std::vector<tunnel::LoopEvent> signals = wire_signals(server, ctx, o, st, info);
    tunnel::LoopEvent watchdog = start_watchdog(server);
    tunnel::LoopEvent key_poll = start_key_poll(server, ctx, o, st);

    const std::string threads_note =
        o.threads > 1 ? ", " + std::to_string(o.threads) + " threads" : "";
    log_info("sealpiped %s: %s, listening on %s%s, forwarding to %s%s", SEALPIPE_VERSION,
             o.encrypt ? "encrypting (-e)" : "decrypting (-d)", info.source.c_str(),
             sockets.activated ? " (socket from the service manager)" : "", o.target.c_str(),
             threads_note.c_str());
    sys::daemon_report(EXIT_OK);
    sys::sd_notify("READY=1\nSTATUS=listening on " + info.source +
                   "\nMAINPID=" + std::to_string(::getpid()));
    return server.run() ? EXIT_RUNTIME : EXIT_OK;
}

} // namespace

int run_daemon(const DaemonOptions &o) {
    util::log_init("sealpiped",
                   o.verbosity < 0   ? util::LogLevel::Warning
                   : o.verbosity > 0 ? util::LogLevel::Debug
                                     : util::LogLevel::Info,
                   false);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        crypto::init();
    } catch (const std::exception &e) {
        die(EXIT_RUNTIME, e.what());
    }

    // -D: like spiped, daemonize first and then wait for DNS. The launcher
    // then cannot see later errors; they go to the log.
    if (o.wait_dns && !o.foreground && !o.check) {
        try {
            sys::daemonize();
        } catch (const sys::SystemError &e) {
            die(EXIT_SYSTEM, e.what());
        }
        sys::daemon_report(EXIT_OK);
    }

    protect_memory(); // before the keys are read
    tunnel::Context ctx;
    const Startup st = configure(o, ctx);
    if (o.check) {
        if (!o.user.empty()) {
            try {
                sys::parse_user_spec(o.user); // the user and group must exist
            } catch (const sys::SystemError &e) {
                die(EXIT_SYSTEM, e.what());
            }
        }
        print_plan(o, st.plan, *st.keys);
        return EXIT_OK;
    }
    Sockets sockets = bind_sockets(o, st);
    const std::string pidfile = detach(o);
    if (o.syslog)
        util::log_init("sealpiped", util::log_level(), true);
    lock_memory(); // after the fork: memory locks are not inherited

    OwnFiles own;
    own.pidfile = own.remover.add(pidfile);
    own.socket = own.remover.add(sockets.unix_path);
    if (st.status_addr && st.status_addr->is_unix())
        own.status_socket = own.remover.add(st.status_addr->to_string());
    const int status = serve(o, ctx, st, sockets, own);
    own.remove(own.pidfile);
    own.remover.stop();
    log_info("exiting%s", status == EXIT_OK ? "" : " after aborting connections");
    return status;
}

} // namespace sealpipe::app
