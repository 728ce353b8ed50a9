// SPDX-License-Identifier: BSD-2-Clause
// The only file that uses CLI11 for sealpiped; no CLI11 type leaves it.
#include "app/daemon_options.hpp"
#include "app/cli_util.hpp"
#include "app/defaults.hpp"
#include "app/exit_codes.hpp"
#include "proto/constants.hpp"
#include "util/parse.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace sealpipe::app {

std::string daemon_usage() {
    return expand_defaults(R"(usage: sealpiped {-e | -d} -s <source> -t <target> -k <key file>
           [-b <bind address>] [-DFj] [-f | -g] [-n <max connections>]
           [-o <timeout>] [-p <pidfile>] [-r <rtime> | -R] [--syslog]
           [-u {<user> | <user>:<group> | :<group>}] [options]
       sealpiped --check ...
       sealpiped --keygen <file>
       sealpiped -v

spiped flags (same meaning and defaults):
  -e, --encrypt           plaintext connections in on -s, encrypted out to -t
  -d, --decrypt           encrypted connections in on -s, plaintext out to -t
  -s, --source ADDR       address to listen on
  -t, --target ADDR       address to connect to
  -k, --key FILE|DIR      key file, at least 32 random bytes ("-" = stdin), or a
                          directory of *.key files; may be repeated (8 keys at
                          most): -d accepts any of them, -e uses the first
  -b, --bind ADDR         local address for outgoing connections (port optional)
  -D, --wait-dns          daemonize at once, then retry DNS lookups every second
  -F, --foreground        do not daemonize (no pidfile unless -p is given)
  -j, --no-keepalive      turn off TCP keep-alive (SO_KEEPALIVE)
  -f, --no-forward-secrecy  faster handshake without forward secrecy
  -g, --require-forward-secrecy  refuse peers that use -f
  -n, --max-connections N maximum open connections, 0 = unlimited (default {default:--max-connections})
  -o, --timeout SECONDS   connect and handshake timeout (default {default:--timeout})
  -p, --pidfile FILE      pidfile (default <source>.pid when daemonizing)
  -r, --resolve-interval SECONDS  re-resolve the target this often (default {default:--resolve-interval})
  -R, --no-resolve        never re-resolve the target
      --syslog            log to syslog (also with -F)
  -u, --user USER[:GROUP] | :GROUP
                          drop privileges after binding and reading the keys
  -v, --version           print the version and exit

sealpipe additions:
      --heartbeat SECONDS encrypted heartbeat interval; the peer is dead after 4
                          silent intervals; 0 = off (default {default:--heartbeat})
      --idle-timeout SECONDS  close connections with no data for this long
                          (default {default:--idle-timeout} = off)
      --half-close-timeout SECONDS  after one side has closed, abort if no data
                          flows for this long (default {default:--half-close-timeout}, 0 = off)
      --drain-timeout SECONDS  after SIGTERM, abort connections still open after
                          this long (default {default:--drain-timeout} = wait for all, as spiped)
      --max-handshakes N  connections allowed in the handshake at once; -d drops
                          the oldest when full (default {default:--max-handshakes})
      --clock-window SECONDS  -d: refuse handshakes stamped further than this from
                          its clock: replays, or a peer whose clock is wrong
                          (default {default:--clock-window})
      --cipher NAME       auto, chacha20-poly1305 or aes-256-gcm (default {default:--cipher})
      --protocol NAME     sealpipe, or spiped to talk to spiped 1.6 peers (default {default:--protocol})
      --insecure-key-permissions  accept key files (and key directories) that group
                          or others may access
      --socket-mode MODE  permissions of a Unix socket -s, e.g. 0660
      --threads N         event-loop threads (default {default:--threads})
      --status ADDR       serve health and Prometheus metrics (Unix socket or
                          loopback only)
      --status-unsafe     allow --status on a non-loopback address
      --proxy-protocol    -d: send a PROXY v2 header with the client address
      --key-poll SECONDS  reload the keys when the key files change, checking
                          this often; 0 = only on SIGHUP (default: 10 for a
                          Kubernetes Secret volume -k DIR, otherwise 0)
      --sandbox MODE      confine the daemon once it is set up: auto (what the
                          kernel supports), on (refuse to run without every
                          layer) or off (default {default:--sandbox})
      --check             validate keys and addresses, print the plan, exit
      --keygen FILE       write a new 32-byte random key (mode 0400) and exit
  -q, --quiet             log warnings and errors only
      --verbose           also log debugging detail
  -h, --help              show this help

Addresses: [IPv4]:port, [IPv6]:port, host:port or /absolute/unix/path.
See sealpiped(1) for the exit statuses and details.
)");
}

namespace {

constexpr const char *PROG = "sealpiped";

[[noreturn]] void usage_error(const std::string &msg) {
    app::usage_error(PROG, msg);
}

template <typename F> auto checked(const char *flag, const std::string &value, F parse) {
    return app::checked(PROG, flag, value, parse);
}

} // namespace

namespace {

// The option values that need converting or checking, as typed.
struct RawArgs {
    bool help = false, version = false, quiet = false, verbose = false;
    std::string n, timeout, rtime, heartbeat, idle, half_close, max_hs, clock_window, socket_mode,
        threads, drain, keygen, sandbox, key_poll;
};

// The option table.
void declare(CLI::App &app, DaemonOptions &o, RawArgs &r) {
    app.set_help_flag(); // our own --help
    app.allow_extras(false);
    auto single = CLI::MultiOptionPolicy::Throw;

    app.add_flag("-h,--help", r.help);
    app.add_flag("-v,--version", r.version);
    app.add_flag("-e,--encrypt", o.encrypt);
    app.add_flag("-d,--decrypt", o.decrypt);
    app.add_option("-s,--source", o.source)->multi_option_policy(single);
    app.add_option("-t,--target", o.target)->multi_option_policy(single);
    app.add_option("-k,--key", o.keys);
    app.add_option("-b,--bind", o.bind)->multi_option_policy(single);
    app.add_flag("-D,--wait-dns", o.wait_dns);
    app.add_flag("-F,--foreground", o.foreground);
    app.add_flag("-j,--no-keepalive", o.no_keepalive);
    app.add_flag("-f,--no-forward-secrecy", o.fast);
    app.add_flag("-g,--require-forward-secrecy", o.require_fs);
    app.add_option("-n,--max-connections", r.n)->multi_option_policy(single);
    app.add_option("-o,--timeout", r.timeout)->multi_option_policy(single);
    app.add_option("-p,--pidfile", o.pidfile)->multi_option_policy(single);
    app.add_option("-r,--resolve-interval", r.rtime)->multi_option_policy(single);
    app.add_flag("-R,--no-resolve", o.no_resolve);
    app.add_flag("--syslog", o.syslog);
    app.add_option("-u,--user", o.user)->multi_option_policy(single);
    app.add_option("--heartbeat", r.heartbeat)->multi_option_policy(single);
    app.add_option("--clock-window", r.clock_window)->multi_option_policy(single);
    app.add_option("--idle-timeout", r.idle)->multi_option_policy(single);
    app.add_option("--half-close-timeout", r.half_close)->multi_option_policy(single);
    app.add_option("--max-handshakes", r.max_hs)->multi_option_policy(single);
    app.add_option("--drain-timeout", r.drain)->multi_option_policy(single);
    app.add_option("--cipher", o.cipher)->multi_option_policy(single);
    app.add_flag("--insecure-key-permissions", o.insecure_key);
    app.add_option("--socket-mode", r.socket_mode)->multi_option_policy(single);
    app.add_option("--threads", r.threads)->multi_option_policy(single);
    app.add_option("--status", o.status)->multi_option_policy(single);
    app.add_flag("--status-unsafe", o.status_any_address);
    app.add_flag("--proxy-protocol", o.proxy_protocol);
    app.add_option("--protocol", o.protocol)->multi_option_policy(single);
    app.add_option("--sandbox", r.sandbox)->multi_option_policy(single);
    app.add_option("--key-poll", r.key_poll)->multi_option_policy(single);
    app.add_flag("--check", o.check);
    app.add_option("--keygen", r.keygen)->multi_option_policy(single);
    app.add_flag("-q,--quiet", r.quiet);
    app.add_flag("--verbose", r.verbose);
}

// spiped's rules, with the problem named.
void check_combinations(DaemonOptions &o, const RawArgs &r) {
    if (o.encrypt == o.decrypt)
        usage_error(o.encrypt ? "-e and -d exclude each other"
                              : "one of -e (encrypt) or -d (decrypt) is required");
    if (o.source.empty())
        usage_error("-s <source address> is required");
    if (o.target.empty())
        usage_error("-t <target address> is required");
    if (o.keys.empty())
        usage_error("-k <key file> is required");
    if (o.fast && o.require_fs)
        usage_error("-f and -g exclude each other");
    if (!r.rtime.empty() && o.no_resolve)
        usage_error("-r and -R exclude each other");
    if (r.quiet && r.verbose)
        usage_error("-q and --verbose exclude each other");
    o.verbosity = r.quiet ? -1 : r.verbose ? 1 : 0;
}

// Numbers and modes, each checked against its range.
void convert(DaemonOptions &o, const RawArgs &r) {
    if (!r.n.empty())
        o.max_connections = checked("-n", r.n, [](const std::string &s) {
            return static_cast<size_t>(util::parse_uint(s, 0, 1000000));
        });
    if (!r.timeout.empty()) {
        o.timeout_s = checked("-o", r.timeout,
                              [](const std::string &s) { return util::parse_seconds(s, 86400); });
        if (o.timeout_s == 0)
            o.timeout_s = defaults::TIMEOUT_S; // spiped: -o 0 means the default
    }
    if (!r.rtime.empty()) {
        o.resolve_s = checked("-r", r.rtime,
                              [](const std::string &s) { return util::parse_seconds(s, 86400); });
        if (o.resolve_s == 0)
            o.resolve_s = defaults::RESOLVE_S; // spiped: -r 0 means the default
    }
    if (!r.heartbeat.empty())
        o.heartbeat_s = checked("--heartbeat", r.heartbeat, [](const std::string &s) {
            return static_cast<unsigned>(util::parse_uint(s, 0, 65535));
        });
    if (!r.idle.empty())
        o.idle_timeout_s = checked("--idle-timeout", r.idle, [](const std::string &s) {
            return util::parse_seconds(s, 30 * 86400);
        });
    if (!r.half_close.empty())
        o.half_close_timeout_s =
            checked("--half-close-timeout", r.half_close,
                    [](const std::string &s) { return util::parse_seconds(s, 30 * 86400); });
    if (!r.drain.empty())
        o.drain_timeout_s = checked("--drain-timeout", r.drain, [](const std::string &s) {
            return util::parse_seconds(s, 86400);
        });
    if (!r.max_hs.empty())
        o.max_handshakes = checked("--max-handshakes", r.max_hs, [](const std::string &s) {
            return static_cast<size_t>(util::parse_uint(s, 1, 100000));
        });
    if (!r.clock_window.empty()) {
        o.clock_window_s = checked("--clock-window", r.clock_window, [](const std::string &s) {
            return static_cast<unsigned>(util::parse_uint(s, 1, proto::CLOCK_WINDOW_MAX_S));
        });
        if (!o.decrypt)
            usage_error("--clock-window applies to -d (the side that checks the handshake's "
                        "time stamp)");
        if (o.protocol == "spiped")
            usage_error("--clock-window does not apply to --protocol spiped (its handshake "
                        "carries no time stamp)");
    }
    if (!r.threads.empty())
        o.threads = checked("--threads", r.threads, [](const std::string &s) {
            return static_cast<unsigned>(util::parse_uint(s, 1, 64));
        });
    if (!r.socket_mode.empty()) {
        o.socket_mode = checked("--socket-mode", r.socket_mode,
                                [](const std::string &s) { return util::parse_mode(s); });
        if (o.source.empty() || o.source[0] != '/')
            usage_error("--socket-mode applies only to a Unix socket -s (an absolute path)");
    }
    if (!is_cipher_option(o.cipher))
        usage_error("--cipher '" + o.cipher + "': use auto, chacha20-poly1305 or aes-256-gcm");
    check_protocol(PROG, o.protocol, o.cipher != defaults::CIPHER, !r.heartbeat.empty());
    if (o.proxy_protocol && !o.decrypt)
        usage_error("--proxy-protocol applies to -d (the side that connects to the target)");
    o.sandbox = sandbox_option(PROG, r.sandbox);
    if (!r.key_poll.empty())
        o.key_poll_s = checked("--key-poll", r.key_poll,
                               [](const std::string &s) { return util::parse_seconds(s, 86400); });
    if (o.status_any_address && o.status.empty())
        usage_error("--status-unsafe needs --status");
}

} // namespace

ParsedDaemonArgs parse_daemon_args(int argc, char **argv) {
    ParsedDaemonArgs out;
    RawArgs r;
    CLI::App app{"sealpiped", "sealpiped"};
    declare(app, out.opts, r);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        usage_error(plain_cli_error(e.what()));
    }
    if (r.help) {
        std::fputs(daemon_usage().c_str(), stdout);
        out.action = DaemonAction::Help;
    } else if (r.version) {
        out.action = DaemonAction::Version;
    } else if (!r.keygen.empty()) {
        out.keygen_path = r.keygen;
        out.action = DaemonAction::Keygen;
    } else {
        check_combinations(out.opts, r);
        convert(out.opts, r);
    }
    return out;
}

} // namespace sealpipe::app
