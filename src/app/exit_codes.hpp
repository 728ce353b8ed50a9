// SPDX-License-Identifier: BSD-2-Clause
// Documented exit statuses (EXIT STATUS in sealpiped(1) and sealpipe(1)).
#pragma once

namespace sealpipe::app {

enum ExitCode : int {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,   // sealpiped: runtime failure; sealpipe: could not connect
    EXIT_USAGE = 2,     // bad flags or flag values
    EXIT_KEY = 3,       // key file missing, unreadable, too short, too open
    EXIT_ADDRESS = 4,   // bad address, failed lookup, cannot listen
    EXIT_SYSTEM = 5,    // pidfile, privileges, daemonizing, --sandbox=on unmet
    EXIT_HANDSHAKE = 6, // sealpipe: wrong key or not a sealpiped -d
    EXIT_BROKEN = 7,    // sealpipe: truncated, reset, dead peer, protocol error
    EXIT_TIMEOUT = 8,   // sealpipe: -o expired
    EXIT_OUTPUT = 9,    // sealpipe: standard output closed before the end
};

} // namespace sealpipe::app
