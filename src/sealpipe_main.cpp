// SPDX-License-Identifier: BSD-2-Clause
// sealpipe: the stdin/stdout client. Orchestration only; see app/client.cpp.
#include "app/client.hpp"
#include "app/exit_codes.hpp"

#include "config.h"

#include <cstdio>

int main(int argc, char **argv) {
    using namespace sealpipe::app;
    const ParsedClientArgs args = parse_client_args(argc, argv);
    switch (args.action) {
    case ClientAction::Help: return EXIT_OK;
    case ClientAction::Version:
        std::printf("sealpipe %s%s\n", SEALPIPE_VERSION,
                    SEALPIPE_TEST_HOOKS ? " (test build: honours SEALPIPE_TEST_*)" : "");
        return EXIT_OK;
    case ClientAction::Run: break;
    }
    return run_client(args.opts);
}
