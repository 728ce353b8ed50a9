// SPDX-License-Identifier: BSD-2-Clause
// sealpipe: the stdin/stdout client (like spiped's spipe). It connects to a
// sealpiped -d, sends standard input through the tunnel and writes what
// comes back to standard output.
//
// Structure: the tunnel engine runs one -e connection whose plaintext side
// is one end of a socketpair; two threads copy stdin into the other end
// (then shutdown(SHUT_WR): stdin EOF becomes an authenticated CLOSE) and
// the other end to stdout. Threads, because stdin and stdout may be files
// or terminals, which epoll cannot watch.
#pragma once

#include "app/defaults.hpp"

#include <string>

namespace sealpipe::app {

struct ClientOptions {
    std::string target;                           // -t
    std::string key;                              // -k
    std::string bind;                             // -b
    bool fast = false;                            // -f
    bool require_fs = false;                      // -g
    bool no_keepalive = false;                    // -j
    double timeout_s = defaults::TIMEOUT_S;       // -o
    unsigned heartbeat_s = defaults::HEARTBEAT_S; // --heartbeat
    std::string cipher = defaults::CIPHER;        // --cipher
    std::string protocol = defaults::PROTOCOL;    // --protocol
    std::string sandbox = defaults::SANDBOX;      // --sandbox
    bool insecure_key = false;                    // --insecure-key-permissions
    int verbosity = 0;                            // -q / --verbose
};

enum class ClientAction { Run, Version, Help };

struct ParsedClientArgs {
    ClientAction action = ClientAction::Run;
    ClientOptions opts;
};

// Parse the command line; a usage error prints one line and exits 2.
ParsedClientArgs parse_client_args(int argc, char **argv);
std::string client_usage();

// Run the client; returns the exit status (exit_codes.hpp).
int run_client(const ClientOptions &opts);

} // namespace sealpipe::app
