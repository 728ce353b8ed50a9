// SPDX-License-Identifier: BSD-2-Clause
// --status: a small HTTP/1.0 server on an event loop, for a Unix socket or
// a loopback address only (connection metadata is not for the network).
// It reads one "GET /path" request per connection, asks its handler for
// the answer, sends it and closes. Anything but GET gets 405. Requests are
// bounded in size, clients in number and time.
//
// Thread-safety: the loop's thread only.
#pragma once

#include "net/address.hpp"
#include "net/socket.hpp"
#include "tunnel/step.hpp"

#include <functional>
#include <string>
#include <vector>

struct event;
struct event_base;

namespace sealpipe::tunnel {

struct HttpResponse {
    int status = 200; // 200, 404, 405 or 503
    std::string body;
    const char *type = "text/plain; charset=utf-8";
};

class StatusServer {
public:
    using Handler = std::function<HttpResponse(const std::string &path)>;

    // Serve on ${listener}, a listening socket (bound early, before
    // daemonizing, so errors reach the launcher), on ${base}. ${on_close}
    // runs once the listener is closed (the daemon removes a Unix socket).
    StatusServer(event_base *base, net::UniqueFd listener, Handler handler,
                 std::function<void()> on_close = {});
    ~StatusServer();
    StatusServer(const StatusServer &) = delete;
    StatusServer &operator=(const StatusServer &) = delete;

private:
    struct Client;
    static void on_accept(int fd, short what, void *arg) noexcept;
    static void on_client(int fd, short what, void *arg) noexcept;
    void handle(Client *c, short what);
    Step read_request(Client *c);
    std::string respond(const std::string &request);
    void drop(Client *c);
    void wait(Client *c);

    event_base *base_;
    Handler handler_;
    net::UniqueFd fd_;
    std::function<void()> on_close_;
    struct event *ev_ = nullptr;
    std::vector<Client *> clients_;
};

} // namespace sealpipe::tunnel
