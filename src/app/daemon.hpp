// SPDX-License-Identifier: BSD-2-Clause
// sealpiped's start-up, signal handling and shutdown, around the tunnel
// engine. Order of start-up: read keys, resolve, bind, daemonize, write the
// pidfile, drop privileges, report ready (launcher and $NOTIFY_SOCKET).
#pragma once

#include "app/daemon_options.hpp"

namespace sealpipe::app {

// Run the daemon; returns the process exit status (exit_codes.hpp).
int run_daemon(const DaemonOptions &opts);

// --keygen: write a new key file. Returns the exit status.
int run_keygen(const std::string &path);

} // namespace sealpipe::app
