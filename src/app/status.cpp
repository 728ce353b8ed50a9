// SPDX-License-Identifier: BSD-2-Clause
#include "app/status.hpp"
#include "util/log.hpp"

#include "config.h"

#include <event2/event.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sealpipe::app {

namespace {

constexpr size_t MAX_REQUEST = 4096;
constexpr int CLIENT_TIMEOUT_S = 5;
constexpr size_t MAX_CLIENTS = 32;

void appendf(std::string &out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string &out, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        out.append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

uint64_t load(const std::atomic<uint64_t> &a) {
    return a.load(std::memory_order_relaxed);
}

} // namespace

bool is_local_address(const net::SockAddr &addr) {
    switch (addr.family()) {
    case AF_UNIX: return true;
    case AF_INET: {
        const auto *in = reinterpret_cast<const sockaddr_in *>(addr.get());
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    case AF_INET6: {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(addr.get());
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    default: return false;
    }
}

std::string render_health(tunnel::Context &ctx, const StatusInfo &info, bool stopping) {
    auto &st = ctx.stats;
    auto keys = ctx.keys.get();
    std::string out;
    appendf(out, "%s: sealpiped %s %s %s -> %s, %" PRIu64 " open connection(s), %" PRIu64
                 " handshake(s) in progress, %zu key(s), up %lld s\n",
            stopping ? "stopping" : "ok", SEALPIPE_VERSION, info.mode.c_str(), info.source.c_str(),
            info.target.c_str(), load(st.connections_open), load(st.handshakes_in_progress),
            keys ? keys->keys.size() : 0, static_cast<long long>(std::time(nullptr) - info.started));
    return out;
}

std::string render_metrics(tunnel::Context &ctx, const StatusInfo &info, bool stopping) {
    auto &st = ctx.stats;
    std::string m;
    m += "# HELP sealpipe_build_info Version and mode of this sealpiped.\n"
         "# TYPE sealpipe_build_info gauge\n";
    appendf(m, "sealpipe_build_info{version=\"%s\",mode=\"%s\"} 1\n", SEALPIPE_VERSION,
            info.mode.c_str());
    m += "# HELP sealpipe_up 1 while accepting connections, 0 while stopping.\n"
         "# TYPE sealpipe_up gauge\n";
    appendf(m, "sealpipe_up %d\n", stopping ? 0 : 1);
    m += "# HELP sealpipe_start_time_seconds Start time since the epoch.\n"
         "# TYPE sealpipe_start_time_seconds gauge\n";
    appendf(m, "sealpipe_start_time_seconds %lld\n", static_cast<long long>(info.started));
    m += "# HELP sealpipe_connections_open Connections open now.\n"
         "# TYPE sealpipe_connections_open gauge\n";
    appendf(m, "sealpipe_connections_open %" PRIu64 "\n", load(st.connections_open));
    m += "# HELP sealpipe_connections_total Connections accepted.\n"
         "# TYPE sealpipe_connections_total counter\n";
    appendf(m, "sealpipe_connections_total %" PRIu64 "\n", load(st.connections_total));
    m += "# HELP sealpipe_connections_ended_total Connections ended, by reason.\n"
         "# TYPE sealpipe_connections_ended_total counter\n";
    for (size_t i = 0; i < tunnel::END_REASON_COUNT; ++i)
        appendf(m, "sealpipe_connections_ended_total{reason=\"%s\"} %" PRIu64 "\n",
                tunnel::to_string(static_cast<tunnel::EndReason>(i)), load(st.ended[i]));
    m += "# HELP sealpipe_handshakes_in_progress Connections not yet authenticated.\n"
         "# TYPE sealpipe_handshakes_in_progress gauge\n";
    appendf(m, "sealpipe_handshakes_in_progress %" PRIu64 "\n", load(st.handshakes_in_progress));
    m += "# HELP sealpipe_plaintext_bytes_total Plaintext bytes read from (in) and written to (out) "
         "the plaintext sockets.\n"
         "# TYPE sealpipe_plaintext_bytes_total counter\n";
    appendf(m, "sealpipe_plaintext_bytes_total{direction=\"in\"} %" PRIu64 "\n", load(st.bytes_in));
    appendf(m, "sealpipe_plaintext_bytes_total{direction=\"out\"} %" PRIu64 "\n", load(st.bytes_out));
    m += "# HELP sealpipe_handshake_duration_seconds Time from accept to an established tunnel.\n"
         "# TYPE sealpipe_handshake_duration_seconds histogram\n";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < tunnel::HANDSHAKE_BUCKETS_US.size(); ++i) {
        cumulative += load(st.handshake_buckets[i]);
        appendf(m, "sealpipe_handshake_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                static_cast<double>(tunnel::HANDSHAKE_BUCKETS_US[i]) / 1e6, cumulative);
    }
    cumulative += load(st.handshake_buckets[tunnel::HANDSHAKE_BUCKETS_US.size()]);
    appendf(m, "sealpipe_handshake_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cumulative);
    appendf(m, "sealpipe_handshake_duration_seconds_sum %.6f\n",
            static_cast<double>(load(st.handshake_us_sum)) / 1e6);
    appendf(m, "sealpipe_handshake_duration_seconds_count %" PRIu64 "\n", load(st.handshake_count));
    m += "# HELP sealpipe_handshake_retries_total Handshakes retried because the -d side closed "
         "before answering (-e; DESIGN.md 3.8).\n"
         "# TYPE sealpipe_handshake_retries_total counter\n";
    appendf(m, "sealpipe_handshake_retries_total %" PRIu64 "\n", load(st.handshake_retries));
    m += "# HELP sealpipe_sessions_total Sessions by negotiated transport cipher.\n"
         "# TYPE sealpipe_sessions_total counter\n";
    appendf(m, "sealpipe_sessions_total{cipher=\"aes-256-gcm\"} %" PRIu64 "\n", load(st.ciphers_aes));
    appendf(m, "sealpipe_sessions_total{cipher=\"chacha20-poly1305\"} %" PRIu64 "\n",
            load(st.ciphers_chacha));
    m += "# HELP sealpipe_replay_cache_entries First handshake messages remembered to refuse "
         "replays (-d; bounded, DESIGN.md 3.5).\n"
         "# TYPE sealpipe_replay_cache_entries gauge\n";
    appendf(m, "sealpipe_replay_cache_entries %zu\n", ctx.replay.size());
    auto keys = ctx.keys.get();
    m += "# HELP sealpipe_keys Keys loaded (the -e side uses the first).\n"
         "# TYPE sealpipe_keys gauge\n";
    appendf(m, "sealpipe_keys %zu\n", keys ? keys->keys.size() : 0);
    m += "# HELP sealpipe_key_age_seconds Age of each key file (by modification time), by its "
         "public fingerprint.\n"
         "# TYPE sealpipe_key_age_seconds gauge\n";
    const std::time_t now = std::time(nullptr);
    if (keys) {
        for (size_t i = 0; i < keys->keys.size(); ++i) {
            const auto &k = keys->keys[i];
            appendf(m, "sealpipe_key_age_seconds{index=\"%zu\",fingerprint=\"%s\"} %lld\n", i,
                    k.fingerprint().c_str(),
                    k.mtime() == 0 ? 0LL : static_cast<long long>(now - k.mtime()));
        }
    }
    return m;
}

struct StatusServer::Client {
    StatusServer *server;
    int fd;
    struct event *ev;
    std::string in;
    std::string out;
    size_t sent = 0;
};

StatusServer::StatusServer(tunnel::Worker &w, tunnel::Context &ctx, net::UniqueFd listener,
                           const net::SockAddr &addr, StatusInfo info)
    : w_(w), ctx_(ctx), info_(std::move(info)), fd_(std::move(listener)) {
    if (addr.is_unix()) {
        unix_path_ = addr.to_string();
        struct stat st {};
        if (::stat(unix_path_.c_str(), &st) == 0)
            unix_ino_ = st.st_ino;
    }
    ev_ = event_new(w_.base(), fd_.get(), EV_READ | EV_PERSIST, &StatusServer::on_accept, this);
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
    if (!unix_path_.empty())
        net::remove_unix_socket(unix_path_, unix_ino_);
}

void StatusServer::on_accept(int fd, short, void *arg) noexcept {
    auto *self = static_cast<StatusServer *>(arg);
    int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (self->clients_.size() >= MAX_CLIENTS) {
        ::close(c);
        return;
    }
    auto *cl = new Client{self, c, nullptr, {}, {}, 0};
    cl->ev = event_new(self->w_.base(), c, EV_READ | EV_PERSIST, &StatusServer::on_client, cl);
    struct timeval tv {CLIENT_TIMEOUT_S, 0};
    event_add(cl->ev, &tv);
    self->clients_.push_back(cl);
    self->handle(cl, 0);
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

void StatusServer::handle(Client *c, short what) {
    if (what & EV_TIMEOUT) {
        drop(c);
        return;
    }
    if (c->out.empty()) {
        char buf[1024];
        while (true) {
            ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
            if (n > 0) {
                c->in.append(buf, static_cast<size_t>(n));
                if (c->in.size() > MAX_REQUEST) {
                    drop(c);
                    return;
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n < 0 && errno == EINTR)
                continue;
            drop(c); // EOF or error before a full request
            return;
        }
        if (c->in.find("\r\n\r\n") == std::string::npos && c->in.find("\n\n") == std::string::npos)
            return; // wait for the rest of the request
        // "GET /path HTTP/1.x"
        std::string path;
        int status = 200;
        std::string body;
        const char *type = "text/plain; charset=utf-8";
        if (c->in.rfind("GET ", 0) == 0) {
            size_t end = c->in.find(' ', 4);
            path = c->in.substr(4, end == std::string::npos ? std::string::npos : end - 4);
        }
        if (path == "/metrics") {
            body = render_metrics(ctx_, info_, stopping_);
            type = "text/plain; version=0.0.4; charset=utf-8";
        } else if (path == "/health" || path == "/") {
            body = render_health(ctx_, info_, stopping_);
            if (stopping_)
                status = 503;
        } else if (c->in.rfind("GET ", 0) != 0) {
            status = 405;
            body = "only GET is supported\n";
        } else {
            status = 404;
            body = "not found: try /health or /metrics\n";
        }
        const char *text = status == 200   ? "OK"
                           : status == 503 ? "Service Unavailable"
                           : status == 405 ? "Method Not Allowed"
                                           : "Not Found";
        char head[256];
        std::snprintf(head, sizeof head,
                      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, text, type, body.size());
        c->out = head + body;
        // From now on, wait for writability instead of input.
        event_del(c->ev);
        event_assign(c->ev, w_.base(), c->fd, EV_WRITE | EV_PERSIST, &StatusServer::on_client, c);
        struct timeval tv {CLIENT_TIMEOUT_S, 0};
        event_add(c->ev, &tv);
    }
    while (c->sent < c->out.size()) {
        ssize_t n = ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        c->sent += static_cast<size_t>(n);
    }
    ::shutdown(c->fd, SHUT_WR);
    drop(c);
}

} // namespace sealpipe::app
