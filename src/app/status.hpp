// SPDX-License-Identifier: BSD-2-Clause
// --status: a small HTTP/1.0 server on the main event loop, for a Unix
// socket or a loopback address only (connection metadata is not for the
// network). GET /health answers one text line (503 while stopping); GET
// /metrics answers Prometheus text. SIGUSR1 logs the same summary.
//
// Thread-safety: loop thread only; the counters it reads are atomics.
#pragma once

#include "net/address.hpp"
#include "net/socket.hpp"
#include "tunnel/worker.hpp"

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

struct event;

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

// True if ${addr} is a Unix socket or a loopback address.
bool is_local_address(const net::SockAddr &addr);

class StatusServer {
public:
    // Serve on ${listener}, a listening socket bound to ${addr} (bound early,
    // before daemonizing, so errors reach the launcher).
    StatusServer(tunnel::Worker &w, tunnel::Context &ctx, net::UniqueFd listener,
                 const net::SockAddr &addr, StatusInfo info);
    ~StatusServer();
    StatusServer(const StatusServer &) = delete;
    StatusServer &operator=(const StatusServer &) = delete;

    void set_stopping() noexcept { stopping_ = true; }

private:
    struct Client;
    static void on_accept(int fd, short what, void *arg) noexcept;
    static void on_client(int fd, short what, void *arg) noexcept;
    void handle(Client *c, short what);
    void drop(Client *c);

    tunnel::Worker &w_;
    tunnel::Context &ctx_;
    StatusInfo info_;
    net::UniqueFd fd_;
    std::string unix_path_;
    unsigned long unix_ino_ = 0;
    struct event *ev_ = nullptr;
    std::vector<Client *> clients_;
    bool stopping_ = false;
};

} // namespace sealpipe::app
