// SPDX-License-Identifier: BSD-2-Clause
// What --status and SIGUSR1 report: GET /health answers one text line (503
// while stopping); GET /metrics answers Prometheus text. The HTTP server
// itself is tunnel/status_server.hpp.
//
// Thread-safety: any thread; the counters it reads are atomics.
#pragma once

#include "net/address.hpp"
#include "tunnel/context.hpp"
#include "tunnel/status_server.hpp"

#include <cstdint>
#include <ctime>
#include <string>

namespace sealpipe::app {

struct StatusInfo {
    std::string mode;   // "encrypt" or "decrypt"
    std::string source; // listen address
    std::string target;
    std::time_t started = 0;
};

// Prometheus text exposition of ${ctx}'s counters.
std::string render_metrics(tunnel::Context &ctx, const StatusInfo &info, bool stopping);
// One human line: health, open connections, keys.
std::string render_health(tunnel::Context &ctx, const StatusInfo &info, bool stopping);
// The answer to GET ${path}.
tunnel::HttpResponse answer_status(tunnel::Context &ctx, const StatusInfo &info, bool stopping,
                                   const std::string &path);

// True if ${addr} is a Unix socket or a loopback address.
bool is_local_address(const net::SockAddr &addr);

} // namespace sealpipe::app
