// SPDX-License-Identifier: BSD-2-Clause
// The only file that uses CLI11 for sealpipe.
#include "app/cli_util.hpp"
#include "app/client.hpp"
#include "app/defaults.hpp"
#include "util/parse.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace sealpipe::app {

namespace {
constexpr const char *PROG = "sealpipe";
}

std::string client_usage() {
    return expand_defaults(
        R"(usage: sealpipe -t <target> -k <key file> [-b <bind address>] [-f | -g] [-j]
           [-o <timeout>] [options]
       sealpipe -v

Connects to a sealpiped -d at <target>, sends standard input through the
encrypted pipe and writes the reply to standard output. End of input is
passed on as an authenticated half-close; the reply keeps coming until the
other end closes.

  -t, --target ADDR       the sealpiped -d to connect to
  -k, --key FILE          key file ("-" reads it from standard input, which
                          then carries nothing else)
  -b, --bind ADDR         local address for the connection (port optional)
  -f, --no-forward-secrecy  faster handshake without forward secrecy
  -g, --require-forward-secrecy  refuse a peer that uses -f
  -j, --no-keepalive      turn off TCP keep-alive
  -o, --timeout SECONDS   connect and handshake timeout (default {default:--timeout})
      --heartbeat SECONDS encrypted heartbeat interval, 0 = off (default {default:--heartbeat})
      --cipher NAME       auto, chacha20-poly1305 or aes-256-gcm (default {default:--cipher})
      --protocol NAME     sealpipe, or spiped to talk to a spiped 1.6 -d (default {default:--protocol})
      --insecure-key-permissions  accept a key file that group or others may access
      --sandbox MODE      confine the process once connected: auto, on (refuse
                          to run without every layer) or off (default {default:--sandbox})
  -q, --quiet             no message on failure, only the exit status
      --verbose           log the connection's progress
  -v, --version           print the version and exit
  -h, --help              show this help

Exit status: 0 clean end, 1 could not connect, 2 usage, 3 key file,
4 address, 6 handshake failed, 7 connection broken, 8 timeout,
9 standard output closed early, 128+N interrupted by signal N before a
clean end. See sealpipe(1).
)");
}

ParsedClientArgs parse_client_args(int argc, char **argv) {
    ParsedClientArgs out;
    ClientOptions &o = out.opts;
    CLI::App app{"sealpipe", "sealpipe"};
    app.set_help_flag();
    bool help = false, version = false, quiet = false, verbose = false;
    std::string timeout, heartbeat, sandbox;
    auto single = CLI::MultiOptionPolicy::Throw;
    app.add_flag("-h,--help", help);
    app.add_flag("-v,--version", version);
    app.add_option("-t,--target", o.target)->multi_option_policy(single);
    app.add_option("-k,--key", o.key)->multi_option_policy(single);
    app.add_option("-b,--bind", o.bind)->multi_option_policy(single);
    app.add_flag("-f,--no-forward-secrecy", o.fast);
    app.add_flag("-g,--require-forward-secrecy", o.require_fs);
    app.add_flag("-j,--no-keepalive", o.no_keepalive);
    app.add_option("-o,--timeout", timeout)->multi_option_policy(single);
    app.add_option("--heartbeat", heartbeat)->multi_option_policy(single);
    app.add_option("--cipher", o.cipher)->multi_option_policy(single);
    app.add_option("--protocol", o.protocol)->multi_option_policy(single);
    app.add_flag("--insecure-key-permissions", o.insecure_key);
    app.add_option("--sandbox", sandbox)->multi_option_policy(single);
    app.add_flag("-q,--quiet", quiet);
    app.add_flag("--verbose", verbose);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        usage_error(PROG, plain_cli_error(e.what()));
    }
    if (help) {
        std::fputs(client_usage().c_str(), stdout);
        out.action = ClientAction::Help;
        return out;
    }
    if (version) {
        out.action = ClientAction::Version;
        return out;
    }
    if (o.target.empty())
        usage_error(PROG, "-t <target address> is required");
    if (o.key.empty())
        usage_error(PROG, "-k <key file> is required");
    if (o.fast && o.require_fs)
        usage_error(PROG, "-f and -g exclude each other");
    if (quiet && verbose)
        usage_error(PROG, "-q and --verbose exclude each other");
    o.verbosity = quiet ? -1 : verbose ? 1 : 0;
    if (!timeout.empty()) {
        o.timeout_s = checked(PROG, "-o", timeout,
                              [](const std::string &s) { return util::parse_seconds(s, 86400); });
        if (o.timeout_s == 0)
            o.timeout_s = defaults::TIMEOUT_S;
    }
    if (!heartbeat.empty())
        o.heartbeat_s = checked(PROG, "--heartbeat", heartbeat, [](const std::string &s) {
            return static_cast<unsigned>(util::parse_uint(s, 0, 65535));
        });
    if (!is_cipher_option(o.cipher))
        usage_error(PROG,
                    "--cipher '" + o.cipher + "': use auto, chacha20-poly1305 or aes-256-gcm");
    check_protocol(PROG, o.protocol, o.cipher != defaults::CIPHER, !heartbeat.empty());
    o.sandbox = sandbox_option(PROG, sandbox);
    return out;
}

} // namespace sealpipe::app
