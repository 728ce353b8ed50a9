// SPDX-License-Identifier: BSD-2-Clause
#include "app/daemon.hpp"
#include "app/exit_codes.hpp"
#include "app/setup.hpp"
#include "app/status.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/sodium.hpp"
#include "net/socket.hpp"
#include "sys/daemon.hpp"
#include "sys/notify.hpp"
#include "tunnel/resolver.hpp"
#include "tunnel/worker.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include "config.h"

#include <event2/event.h>

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

// Everything the signal and timer handlers need.
struct Runtime {
    const DaemonOptions *opts = nullptr;
    tunnel::Context *ctx = nullptr;
    std::vector<tunnel::Worker *> workers; // [0] runs on the main thread
    net::UniqueFd listen_fd;
    std::string unix_path; // a Unix socket we created, removed at exit
    unsigned long unix_ino = 0;
    std::vector<std::string> key_paths;
    StatusServer *status = nullptr;
    StatusInfo info;
    std::atomic<size_t> busy_workers{0}; // during a drain
    bool activated = false; // listener passed by systemd (LISTEN_FDS)
    bool stopping = false;
    bool forced = false;
    struct event *watchdog = nullptr;
    uint64_t watchdog_us = 0;
    struct event *drain_timer = nullptr;

    tunnel::Worker &main() { return *workers.front(); }
    size_t open_connections() const {
        return static_cast<size_t>(ctx->stats.connections_open.load());
    }
    void stop_all() {
        for (auto *w : workers)
            w->request_stop();
    }
};

void close_listener(Runtime &rt) {
    if (!rt.listen_fd)
        return;
    // Every loop lets go of the shared listener before it is closed.
    for (auto *w : rt.workers)
        w->run_sync([w] { w->stop_listening(); });
    rt.listen_fd.reset();
    if (!rt.unix_path.empty()) {
        net::remove_unix_socket(rt.unix_path, rt.unix_ino);
        rt.unix_path.clear();
    }
}

void worker_drained(Runtime &rt) {
    if (--rt.busy_workers == 0)
        rt.stop_all();
}

void on_stop_signal(evutil_socket_t sig, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (!rt.stopping) {
        // Close the listener at once so a new instance can bind, then let
        // the open connections finish.
        rt.stopping = true;
        sys::sd_notify("STOPPING=1\nSTATUS=draining");
        if (rt.status != nullptr)
            rt.status->set_stopping();
        close_listener(rt);
        log_info("%s: stopped accepting; waiting for %zu open connection(s) to finish "
                 "(send it again to abort them)",
                 name, rt.open_connections());
        if (rt.opts->drain_timeout_s > 0 && rt.open_connections() > 0) {
            const auto tv = util::timeval_ms(static_cast<uint64_t>(rt.opts->drain_timeout_s * 1000));
            evtimer_add(rt.drain_timer, &tv);
        }
        rt.busy_workers = rt.workers.size();
        for (auto *w : rt.workers) {
            w->post([&rt, w] {
                w->on_empty = [&rt] { worker_drained(rt); };
                if (w->connection_count() == 0) {
                    w->on_empty = nullptr;
                    worker_drained(rt);
                }
            });
        }
        return;
    }
    rt.forced = true;
    log_warn("%s again: aborting %zu open connection(s)", name, rt.open_connections());
    for (auto *w : rt.workers) {
        w->post([w] {
            w->on_empty = nullptr;
            w->abort_all(tunnel::EndReason::Shutdown);
        });
    }
    rt.stop_all();
}

// --drain-timeout expired: abort what is still open, and exit 0 (the
// operator asked for this limit; a second signal exits 1 instead).
void on_drain_timeout(evutil_socket_t, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    log_warn("drain timeout (%g s) reached: aborting %zu open connection(s)",
             rt.opts->drain_timeout_s, rt.open_connections());
    for (auto *w : rt.workers) {
        w->post([w] {
            w->on_empty = nullptr;
            w->abort_all(tunnel::EndReason::Shutdown);
        });
    }
    rt.stop_all();
}

void on_reload_signal(evutil_socket_t, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    // Type=notify-reload: RELOADING=1 with the monotonic time, then READY=1.
    sys::sd_notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(util::now_us()));
    reload_keys(*rt.ctx, rt.key_paths, rt.opts->insecure_key);
    sys::sd_notify("READY=1");
}

void on_usr1_signal(evutil_socket_t, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    std::string line = render_health(*rt.ctx, rt.info, rt.stopping);
    if (!line.empty() && line.back() == '\n')
        line.pop_back();
    auto &st = rt.ctx->stats;
    uint64_t ended = 0;
    for (auto &e : st.ended)
        ended += e.load();
    log_info("status: %s; %llu connection(s) ended (%llu clean), %llu B in, %llu B out",
             line.c_str(), static_cast<unsigned long long>(ended),
             static_cast<unsigned long long>(st.ended[0].load()),
             static_cast<unsigned long long>(st.bytes_in.load()),
             static_cast<unsigned long long>(st.bytes_out.load()));
}

void on_watchdog(evutil_socket_t, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    sys::sd_notify("WATCHDOG=1");
    const auto tv = util::timeval_us(rt.watchdog_us / 2);
    evtimer_add(rt.watchdog, &tv);
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

    Runtime rt;
    rt.opts = &o;
    for (const auto &k : o.keys)
        rt.key_paths.push_back(sys::absolute_path(k));

    // Keys first: the most common mistake should be reported first.
    std::shared_ptr<tunnel::KeySet> keys;
    try {
        keys = load_keys(rt.key_paths, o.insecure_key);
    } catch (const crypto::KeyFileError &e) {
        die(EXIT_KEY, e.what());
    }

    tunnel::Context ctx;
    Plan plan;
    std::optional<net::SockAddr> status_addr;
    try {
        cipher_mask(o.cipher); // a cipher this CPU cannot run is a usage error
    } catch (const std::invalid_argument &e) {
        die(EXIT_USAGE, e.what());
    }
    try {
        plan = make_plan(o);
        ctx.cfg = plan.cfg;
        if (!o.status.empty()) {
            status_addr = net::resolve(net::parse_address(o.status), true).front();
            if (!is_local_address(*status_addr) && !o.status_any_address)
                throw net::AddressError("--status " + o.status +
                                        " is not a Unix socket or a loopback address; the status "
                                        "page reveals connection details (pass --status-unsafe "
                                        "to allow it)");
        }
    } catch (const std::exception &e) {
        die(EXIT_ADDRESS, e.what());
    }
    ctx.keys.set(keys);
    ctx.targets.set(std::make_shared<const tunnel::Targets>(plan.targets));
    ctx.workers = o.threads;

    if (o.check) {
        if (!o.user.empty()) {
            try {
                sys::parse_user_spec(o.user); // the user and group must exist
            } catch (const sys::SystemError &e) {
                die(EXIT_SYSTEM, e.what());
            }
        }
        print_plan(o, plan, *keys);
        return EXIT_OK;
    }

    // Bind before daemonizing, so the launcher learns about a busy port.
    net::UniqueFd status_fd;
    try {
        int activated = activated_listener();
        if (activated >= 0) {
            rt.listen_fd.reset(activated); // the service manager owns the address
            rt.activated = true;
        } else {
            net::ListenOptions lo;
            lo.unix_mode = o.socket_mode;
            rt.listen_fd = net::listen_on(plan.source, lo);
            if (plan.source.is_unix()) {
                struct stat st {};
                rt.unix_path = plan.source.to_string();
                if (::stat(rt.unix_path.c_str(), &st) == 0)
                    rt.unix_ino = st.st_ino;
            }
        }
        if (status_addr) {
            net::ListenOptions lo;
            lo.unix_mode = 0660;
            lo.backlog = 64;
            status_fd = net::listen_on(*status_addr, lo);
        }
    } catch (const std::exception &e) {
        die(EXIT_ADDRESS, e.what());
    }

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
        if (!o.user.empty())
            sys::drop_privileges(sys::parse_user_spec(o.user));
        if (!o.foreground && ::chdir("/") != 0)
            throw sys::SystemError("cannot change directory to /: " + util::errno_string(errno));
    } catch (const sys::SystemError &e) {
        if (!pidfile.empty())
            ::unlink(pidfile.c_str());
        die(EXIT_SYSTEM, e.what());
    }

    if (o.syslog)
        util::log_init("sealpiped", util::log_level(), true);

    int status = EXIT_OK;
    {
        std::vector<std::unique_ptr<tunnel::Worker>> workers;
        for (unsigned i = 0; i < o.threads; ++i) {
            workers.push_back(std::make_unique<tunnel::Worker>(ctx));
            rt.workers.push_back(workers.back().get());
        }
        rt.ctx = &ctx;
        rt.info.mode = o.encrypt ? "encrypt" : "decrypt";
        rt.info.source = plan.source.to_string();
        rt.info.target = o.target;
        rt.info.started = std::time(nullptr);
        for (auto *w : rt.workers)
            w->listen(rt.listen_fd.get());

        std::unique_ptr<StatusServer> status_server;
        if (status_fd) {
            status_server = std::make_unique<StatusServer>(rt.main(), ctx, std::move(status_fd),
                                                           *status_addr, rt.info);
            rt.status = status_server.get();
        }

        std::unique_ptr<tunnel::Resolver> resolver;
        if (plan.target_addr.kind == net::Address::Kind::Host && !o.no_resolve)
            resolver = std::make_unique<tunnel::Resolver>(
                plan.target_addr, static_cast<uint64_t>(o.resolve_s * 1000), ctx.targets);

        event_base *base = rt.main().base();
        std::vector<event *> signals;
        for (int sig : {SIGTERM, SIGINT})
            signals.push_back(evsignal_new(base, sig, on_stop_signal, &rt));
        signals.push_back(evsignal_new(base, SIGHUP, on_reload_signal, &rt));
        signals.push_back(evsignal_new(base, SIGUSR1, on_usr1_signal, &rt));
        for (auto *e : signals)
            event_add(e, nullptr);

        rt.drain_timer = evtimer_new(base, on_drain_timeout, &rt);
        rt.watchdog_us = watchdog_interval_us();
        if (rt.watchdog_us > 0) {
            rt.watchdog = evtimer_new(base, on_watchdog, &rt);
            on_watchdog(-1, 0, &rt); // first ping now, then every half interval
        }

        std::vector<std::thread> threads;
        for (size_t i = 1; i < rt.workers.size(); ++i)
            threads.emplace_back([w = rt.workers[i]] { w->run(); });

        const std::string threads_note =
            o.threads > 1 ? ", " + std::to_string(o.threads) + " threads" : "";
        log_info("sealpiped %s: %s, listening on %s%s, forwarding to %s%s", SEALPIPE_VERSION,
                 o.encrypt ? "encrypting (-e)" : "decrypting (-d)", plan.source.to_string().c_str(),
                 rt.activated ? " (socket from the service manager)" : "",
                 o.target.c_str(), threads_note.c_str());
        sys::daemon_report(EXIT_OK);
        sys::sd_notify("READY=1\nSTATUS=listening on " + plan.source.to_string() + "\nMAINPID=" +
                       std::to_string(::getpid()));

        rt.main().run();

        rt.stop_all();
        for (auto &t : threads)
            t.join();
        close_listener(rt);
        for (auto *e : signals)
            event_free(e);
        if (rt.watchdog != nullptr)
            event_free(rt.watchdog);
        event_free(rt.drain_timer);
        rt.status = nullptr;
        status_server.reset();
        if (rt.forced)
            status = EXIT_RUNTIME;
        resolver.reset();
    }
    if (!pidfile.empty())
        ::unlink(pidfile.c_str());
    log_info("exiting%s", status == EXIT_OK ? "" : " after aborting connections");
    return status;
}

} // namespace sealpipe::app
