// SPDX-License-Identifier: BSD-2-Clause
// sealpiped: the daemon. Orchestration only; see app/daemon.cpp.
#include "app/daemon.hpp"
#include "app/exit_codes.hpp"

#include "config.h"

#include <cstdio>

int main(int argc, char **argv) {
    using namespace sealpipe::app;
    const ParsedDaemonArgs args = parse_daemon_args(argc, argv);
    switch (args.action) {
    case DaemonAction::Help: return EXIT_OK;
    case DaemonAction::Version:
        std::printf("sealpiped %s%s\n", SEALPIPE_VERSION,
                    SEALPIPE_TEST_HOOKS ? " (test build: honours SEALPIPE_TEST_*)" : "");
        return EXIT_OK;
    case DaemonAction::Keygen: return run_keygen(args.keygen_path);
    case DaemonAction::Run: break;
    }
    return run_daemon(args.opts);
}
