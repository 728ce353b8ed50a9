// SPDX-License-Identifier: BSD-2-Clause
// The sealpiped command line: a flag-compatible superset of spiped 1.6.
// Every flag keeps spiped's meaning and default; each has a long form.
#pragma once

#include "app/defaults.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sealpipe::app {

struct DaemonOptions {
    // spiped's flags
    bool encrypt = false;                               // -e
    bool decrypt = false;                               // -d
    std::string source;                                 // -s
    std::string target;                                 // -t
    std::vector<std::string> keys;                      // -k (repeatable: -d accepts any)
    std::string bind;                                   // -b
    bool wait_dns = false;                              // -D
    bool foreground = false;                            // -F
    bool no_keepalive = false;                          // -j
    bool fast = false;                                  // -f
    bool require_fs = false;                            // -g
    size_t max_connections = defaults::MAX_CONNECTIONS; // -n (0 = unlimited)
    double timeout_s = defaults::TIMEOUT_S;             // -o
    std::string pidfile;                                // -p
    double resolve_s = defaults::RESOLVE_S;             // -r
    bool no_resolve = false;                            // -R
    bool syslog = false;                                // --syslog
    std::string user;                                   // -u
    // additions
    unsigned heartbeat_s = defaults::HEARTBEAT_S;                 // --heartbeat
    unsigned clock_window_s = defaults::CLOCK_WINDOW_S;           // --clock-window
    double idle_timeout_s = defaults::IDLE_TIMEOUT_S;             // --idle-timeout
    double half_close_timeout_s = defaults::HALF_CLOSE_TIMEOUT_S; // --half-close-timeout
    size_t max_handshakes = defaults::MAX_HANDSHAKES;             // --max-handshakes
    double drain_timeout_s = defaults::DRAIN_TIMEOUT_S; // --drain-timeout (0: wait for all)
    bool check = false;                                 // --check
    std::optional<unsigned> socket_mode;                // --socket-mode
    int verbosity = 0;                                  // -q: -1, --verbose: +1
    bool insecure_key = false;                          // --insecure-key-permissions
    std::string cipher = defaults::CIPHER;              // --cipher
    unsigned threads = defaults::THREADS;               // --threads
    std::string status;                                 // --status
    bool status_any_address = false;                    // --status-unsafe
    bool proxy_protocol = false;                        // --proxy-protocol
    std::string protocol = defaults::PROTOCOL;          // --protocol
    std::string sandbox = defaults::SANDBOX;            // --sandbox
    std::optional<double> key_poll_s; // --key-poll (absent: 10 s for a Secret volume, else off)
};

// What main() should do after parsing.
enum class DaemonAction { Run, Version, Help, Keygen };

struct ParsedDaemonArgs {
    DaemonAction action = DaemonAction::Run;
    DaemonOptions opts;
    std::string keygen_path;
};

// Parse ${argv}. On a usage error prints one line to stderr and exits with
// EXIT_USAGE.
ParsedDaemonArgs parse_daemon_args(int argc, char **argv);

// The --help text.
std::string daemon_usage();

} // namespace sealpipe::app
