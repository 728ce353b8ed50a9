// SPDX-License-Identifier: BSD-2-Clause
// Command-line helpers shared by sealpiped and sealpipe: one-line usage
// errors with exit status 2, and CLI11's wording made plain. Include only
// from the *_options.cpp files (the ones that use CLI11).
#pragma once

#include "app/defaults.hpp"
#include "app/exit_codes.hpp"
#include "proto/constants.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sealpipe::app {

// True if ${name} is a --cipher value: "auto" or a cipher's name.
inline bool is_cipher_option(const std::string &name) {
    if (name == "auto")
        return true;
    for (proto::CipherId c : proto::ALL_CIPHERS)
        if (name == proto::cipher_name(c))
            return true;
    return false;
}

// Print "PROG: MSG (see 'PROG --help')" and exit with EXIT_USAGE.
[[noreturn]] inline void usage_error(const char *prog, const std::string &msg) {
    std::fprintf(stderr, "%s: %s (see '%s --help')\n", prog, msg.c_str(), prog);
    std::exit(EXIT_USAGE);
}

// --protocol ${name}: sealpipe or spiped. spiped's protocol has no cipher
// choice and no heartbeats, so --cipher and --heartbeat given with it are
// usage errors rather than silently ignored.
inline void check_protocol(const char *prog, const std::string &name, bool cipher_given,
                           bool heartbeat_given) {
    if (name != "sealpipe" && name != "spiped")
        usage_error(prog, "--protocol '" + name + "': use sealpipe or spiped");
    if (name != "spiped")
        return;
    if (cipher_given)
        usage_error(prog, "--cipher does not apply to --protocol spiped (always AES-256-CTR "
                          "with HMAC-SHA256)");
    if (heartbeat_given)
        usage_error(prog, "--heartbeat does not apply to --protocol spiped (it has no "
                          "heartbeats; TCP keep-alive is on unless -j)");
}

// --sandbox ${value} as given ("" when absent): auto, on or off.
inline std::string sandbox_option(const char *prog, const std::string &value) {
    const std::string mode = value.empty() ? default_sandbox() : value;
    if (mode != "auto" && mode != "on" && mode != "off")
        usage_error(prog, "--sandbox '" + mode + "': use auto, on or off");
    return mode;
}

// "--source: At Most 1 required but received 2" -> "--source given more
// than once"; "--key: 1 required TEXT missing" -> "--key needs a value".
inline std::string plain_cli_error(const std::string &msg) {
    const size_t colon = msg.find(": ");
    if (colon != std::string::npos && msg.rfind("-", 0) == 0) {
        const std::string opt = msg.substr(0, colon);
        if (msg.find("At Most 1 required") != std::string::npos)
            return opt + " given more than once";
        if (msg.find("required") != std::string::npos && msg.find("missing") != std::string::npos)
            return opt + " needs a value";
    }
    return msg;
}

// Parse ${value} of ${flag} with ${parse}; a parse error is a usage error.
template <typename F>
auto checked(const char *prog, const char *flag, const std::string &value, F parse) {
    try {
        return parse(value);
    } catch (const std::invalid_argument &e) {
        usage_error(prog, std::string(flag) + ": " + e.what());
    }
}

} // namespace sealpipe::app
