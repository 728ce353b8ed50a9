// SPDX-License-Identifier: BSD-2-Clause
#include "app/daemon.hpp"
#include "app/exit_codes.hpp"
#include "app/setup.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/sodium.hpp"
#include "net/socket.hpp"
#include "sys/daemon.hpp"
#include "sys/notify.hpp"
#include "tunnel/resolver.hpp"
#include "tunnel/worker.hpp"
#include "util/log.hpp"

#include "config.h"

#include <event2/event.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
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

// Everything the signal handlers need.
struct Runtime {
    const DaemonOptions *opts = nullptr;
    tunnel::Context *ctx = nullptr;
    tunnel::Worker *main = nullptr;
    net::UniqueFd listen_fd;
    std::string unix_path; // the Unix socket we created, to remove at exit
    unsigned long unix_ino = 0;
    std::vector<std::string> key_paths;
    bool stopping = false;
    bool forced = false;
};

void close_listener(Runtime &rt) {
    if (!rt.listen_fd)
        return;
    rt.main->stop_listening();
    rt.listen_fd.reset();
    if (!rt.unix_path.empty()) {
        net::remove_unix_socket(rt.unix_path, rt.unix_ino);
        rt.unix_path.clear();
    }
}

void on_stop_signal(evutil_socket_t sig, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (!rt.stopping) {
        // Close the listener at once so a new instance can bind, then let
        // the open connections finish.
        rt.stopping = true;
        sys::sd_notify("STOPPING=1");
        close_listener(rt);
        const size_t open = rt.main->connection_count();
        log_info("%s: stopped accepting; waiting for %zu open connection(s) to finish "
                 "(send it again to abort them)",
                 name, open);
        if (open == 0)
            rt.main->request_stop();
        else
            rt.main->on_empty = [&rt] { rt.main->request_stop(); };
        return;
    }
    rt.forced = true;
    log_warn("%s again: aborting %zu open connection(s)", name, rt.main->connection_count());
    rt.main->on_empty = nullptr;
    rt.main->abort_all(tunnel::EndReason::Shutdown);
    rt.main->request_stop();
}

void on_reload_signal(evutil_socket_t, short, void *arg) noexcept {
    auto &rt = *static_cast<Runtime *>(arg);
    reload_keys(*rt.ctx, rt.key_paths, rt.opts->insecure_key);
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
    try {
        plan = make_plan(o);
        ctx.cfg = plan.cfg;
    } catch (const std::exception &e) {
        die(EXIT_ADDRESS, e.what());
    }
    ctx.keys.set(keys);
    ctx.targets.set(std::make_shared<const tunnel::Targets>(plan.targets));

    if (o.check) {
        print_plan(o, plan, *keys);
        return EXIT_OK;
    }

    // Bind before daemonizing, so the launcher learns about a busy port.
    try {
        net::ListenOptions lo;
        lo.unix_mode = o.socket_mode;
        rt.listen_fd = net::listen_on(plan.source, lo);
        if (plan.source.is_unix()) {
            struct stat st {};
            rt.unix_path = plan.source.to_string();
            if (::stat(rt.unix_path.c_str(), &st) == 0)
                rt.unix_ino = st.st_ino;
        }
    } catch (const net::ListenError &e) {
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
        tunnel::Worker main(ctx);
        rt.ctx = &ctx;
        rt.main = &main;
        main.listen(rt.listen_fd.get());

        std::unique_ptr<tunnel::Resolver> resolver;
        if (plan.target_addr.kind == net::Address::Kind::Host && !o.no_resolve)
            resolver = std::make_unique<tunnel::Resolver>(
                plan.target_addr, static_cast<uint64_t>(o.resolve_s * 1000), ctx.targets);

        event *sigterm = evsignal_new(main.base(), SIGTERM, on_stop_signal, &rt);
        event *sigint = evsignal_new(main.base(), SIGINT, on_stop_signal, &rt);
        event *sighup = evsignal_new(main.base(), SIGHUP, on_reload_signal, &rt);
        event_add(sigterm, nullptr);
        event_add(sigint, nullptr);
        event_add(sighup, nullptr);

        log_info("sealpiped %s: %s, listening on %s, forwarding to %s", SEALPIPE_VERSION,
                 o.encrypt ? "encrypting (-e)" : "decrypting (-d)", plan.source.to_string().c_str(),
                 o.target.c_str());
        sys::daemon_report(EXIT_OK);
        sys::sd_notify("READY=1\nSTATUS=listening on " + plan.source.to_string() + "\nMAINPID=" +
                       std::to_string(::getpid()));

        main.run();

        close_listener(rt);
        event_free(sigterm);
        event_free(sigint);
        event_free(sighup);
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
