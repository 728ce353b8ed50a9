// SPDX-License-Identifier: BSD-2-Clause
#include "tunnel/status_server.hpp"
#include "util/clock.hpp"

#include <event2/event.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

namespace sealpipe::tunnel {

namespace {
constexpr size_t MAX_REQUEST = 4096;
// The whole exchange, request and response, must fit in this: bytes that
// trickle in do not extend it, so a slow client cannot hold a slot.
constexpr uint64_t CLIENT_DEADLINE_MS = 5000;
// When this many are unfinished, a newcomer replaces the oldest: probes
// (the kubelet's, every few seconds) finish in milliseconds, so slow
// clients cannot keep /health from answering.
constexpr size_t MAX_CLIENTS = 32;
} // namespace

struct StatusServer::Client {
    StatusServer *server;
    int fd;
    struct event *ev;
    uint64_t deadline_ms; // monotonic; set at accept, never extended
    std::string in;
    std::string out;
    size_t sent = 0;
};

StatusServer::StatusServer(event_base *base, net::UniqueFd listener, Handler handler,
                           std::function<void()> on_close)
    : base_(base), handler_(std::move(handler)), fd_(std::move(listener)),
      on_close_(std::move(on_close)) {
    ev_ = event_new(base_, fd_.get(), EV_READ | EV_PERSIST, &StatusServer::on_accept, this);
    event_add(ev_, nullptr);
}

StatusServer::~StatusServer() {
    for (Client *c : clients_) {
        event_free(c->ev);
        ::close(c->fd);
        delete c;
    }
    event_free(ev_);
    fd_.reset();
    if (on_close_)
        on_close_();
}

void StatusServer::on_accept(int fd, short, void *arg) noexcept {
    auto *self = static_cast<StatusServer *>(arg);
    int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (self->clients_.size() >= MAX_CLIENTS)
        self->drop(self->clients_.front()); // the oldest (accept order)
    auto *cl = new Client{self, c, nullptr, util::now_ms() + CLIENT_DEADLINE_MS, {}, {}, 0};
    cl->ev = event_new(self->base_, c, EV_READ | EV_PERSIST, &StatusServer::on_client, cl);
    self->clients_.push_back(cl);
    self->wait(cl);
    self->handle(cl, 0);
}

// (Re)arm ${c}'s event with what is left of its deadline: a persistent
// event's timeout would otherwise restart at every byte.
void StatusServer::wait(Client *c) {
    const uint64_t now = util::now_ms();
    const auto tv = util::timeval_ms(c->deadline_ms > now ? c->deadline_ms - now : 0);
    event_add(c->ev, &tv);
}

void StatusServer::on_client(int, short what, void *arg) noexcept {
    auto *cl = static_cast<Client *>(arg);
    cl->server->handle(cl, what);
}

void StatusServer::drop(Client *c) {
    clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
    event_free(c->ev);
    ::close(c->fd);
    delete c;
}

// Read what is there of the request. Progress: it is complete. Blocked:
// wait for more. Ended: the client went away or sent too much.
Step StatusServer::read_request(Client *c) {
    char buf[1024];
    while (true) {
        const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            c->in.append(buf, static_cast<size_t>(n));
            if (c->in.size() > MAX_REQUEST)
                return Step::Ended;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        return Step::Ended; // EOF or error before a full request
    }
    const bool complete =
        c->in.find("\r\n\r\n") != std::string::npos || c->in.find("\n\n") != std::string::npos;
    return complete ? Step::Progress : Step::Blocked;
}

// The whole response to the request in ${c}: "GET /path HTTP/1.x".
std::string StatusServer::respond(const std::string &request) {
    HttpResponse r;
    if (request.rfind("GET ", 0) != 0) {
        r.status = 405;
        r.body = "only GET is supported\n";
    } else {
        const size_t end = request.find(' ', 4);
        r = handler_(request.substr(4, end == std::string::npos ? std::string::npos : end - 4));
    }
    const char *text = r.status == 200   ? "OK"
                       : r.status == 503 ? "Service Unavailable"
                       : r.status == 405 ? "Method Not Allowed"
                                         : "Not Found";
    char head[256];
    std::snprintf(head, sizeof head,
                  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n",
                  r.status, text, r.type, r.body.size());
    return head + r.body;
}

void StatusServer::handle(Client *c, short what) {
    if ((what & EV_TIMEOUT) || util::now_ms() >= c->deadline_ms) {
        drop(c);
        return;
    }
    if (c->out.empty()) {
        const Step s = read_request(c);
        if (s == Step::Ended)
            drop(c);
        if (s == Step::Blocked)
            wait(c);
        if (s != Step::Progress)
            return;
        c->out = respond(c->in);
        // From now on, wait for writability instead of input.
        event_del(c->ev);
        event_assign(c->ev, base_, c->fd, EV_WRITE | EV_PERSIST, &StatusServer::on_client, c);
        wait(c);
    }
    while (c->sent < c->out.size()) {
        const ssize_t n =
            ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait(c);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        c->sent += static_cast<size_t>(n);
    }
    ::shutdown(c->fd, SHUT_WR);
    drop(c);
}

} // namespace sealpipe::tunnel
