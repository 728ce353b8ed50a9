// SPDX-License-Identifier: BSD-2-Clause
// Every default of the two command lines, in one table. The option
// parsers and the option structs take their values from here, the --help
// texts print them (expand_defaults), and man/check-defaults.sh reads this
// file to check that each man page states the same default.
#pragma once

#include "proto/limits.hpp"

#include <cstddef>
#include <string>

namespace sealpipe::app {

// X(NAME, "--long-option", value): the value is a number, written as in
// the docs.
#define SEALPIPE_NUMERIC_DEFAULTS(X)                                                               \
    X(MAX_CONNECTIONS, "--max-connections", 100)                                                   \
    X(TIMEOUT_S, "--timeout", 5)                                                                   \
    X(RESOLVE_S, "--resolve-interval", 60)                                                         \
    X(HEARTBEAT_S, "--heartbeat", 30)                                                              \
    X(IDLE_TIMEOUT_S, "--idle-timeout", 0)                                                         \
    X(HALF_CLOSE_TIMEOUT_S, "--half-close-timeout", 300)                                           \
    X(DRAIN_TIMEOUT_S, "--drain-timeout", 0)                                                       \
    X(MAX_HANDSHAKES, "--max-handshakes", 1024)                                                    \
    X(CLOCK_WINDOW_S, "--clock-window", 120)                                                       \
    X(THREADS, "--threads", 1)

namespace defaults {
#define SEALPIPE_DEFINE(name, option, value) inline constexpr auto name = value;
SEALPIPE_NUMERIC_DEFAULTS(SEALPIPE_DEFINE)
#undef SEALPIPE_DEFINE
// --cipher
inline constexpr const char *CIPHER = "auto";
// --protocol
inline constexpr const char *PROTOCOL = "sealpipe";
// --sandbox
inline constexpr const char *SANDBOX = "auto";
} // namespace defaults

// The --sandbox mode when the flag is not given: SANDBOX, or in a test
// build (SEALPIPE_TEST_HOOKS) $SEALPIPE_TEST_SANDBOX if set, so that a whole
// test run can be made strict (make test: on) or lenient (the sanitizer and
// valgrind runs: off) without touching every command line.
std::string default_sandbox();

// The rekey limits (DESIGN.md §6.2), the one place that reads a test
// build's knobs for them: SEALPIPE_TEST_REKEY_RECORDS and
// SEALPIPE_TEST_REKEY_SECONDS may shorten them, never lengthen them. A
// release build returns the constants.
proto::RekeyLimits rekey_limits();

// ${text} with every "{default:--option}" replaced by that option's
// default. An unknown option is a bug: it throws std::logic_error.
std::string expand_defaults(const char *text);

} // namespace sealpipe::app
