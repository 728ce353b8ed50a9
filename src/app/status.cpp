// SPDX-License-Identifier: BSD-2-Clause
#include "app/status.hpp"
#include "tunnel/protocol.hpp"
#include "util/log.hpp"

#include "config.h"

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
    appendf(out,
            "%s: sealpiped %s %s %s -> %s, %" PRIu64 " open connection(s), %" PRIu64
            " handshake(s) in progress, %zu key(s), up %lld s\n",
            stopping ? "stopping" : "ok", SEALPIPE_VERSION, info.mode.c_str(), info.source.c_str(),
            info.target.c_str(), load(st.connections_open), load(st.handshakes_in_progress),
            keys ? keys->keys.size() : 0,
            static_cast<long long>(std::time(nullptr) - info.started));
    return out;
}

namespace {

// Process and connection counters.
void connection_metrics(std::string &m, const tunnel::Stats &st, const StatusInfo &info,
                        bool stopping) {
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
    m +=
        "# HELP sealpipe_plaintext_bytes_total Plaintext bytes read from (in) and written to (out) "
        "the plaintext sockets.\n"
        "# TYPE sealpipe_plaintext_bytes_total counter\n";
    appendf(m, "sealpipe_plaintext_bytes_total{direction=\"in\"} %" PRIu64 "\n", load(st.bytes_in));
    appendf(m, "sealpipe_plaintext_bytes_total{direction=\"out\"} %" PRIu64 "\n",
            load(st.bytes_out));
}

// Handshakes, sessions and the replay cache.
void handshake_metrics(std::string &m, tunnel::Context &ctx) {
    auto &st = ctx.stats;
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
    appendf(m, "sealpipe_sessions_total{cipher=\"%s\"} %" PRIu64 "\n",
            proto::cipher_name(proto::CipherId::Aes256Gcm), load(st.ciphers_aes));
    appendf(m, "sealpipe_sessions_total{cipher=\"%s\"} %" PRIu64 "\n",
            proto::cipher_name(proto::CipherId::ChaCha20Poly1305), load(st.ciphers_chacha));
    appendf(m, "sealpipe_sessions_total{cipher=\"%s\"} %" PRIu64 "\n",
            tunnel::SPIPED_TRANSPORT_NAME, load(st.ciphers_spiped));
    m += "# HELP sealpipe_sessions_without_forward_secrecy_total Sessions without forward "
         "secrecy (-f on either side; DESIGN.md 4.1).\n"
         "# TYPE sealpipe_sessions_without_forward_secrecy_total counter\n";
    appendf(m, "sealpipe_sessions_without_forward_secrecy_total %" PRIu64 "\n",
            load(st.sessions_no_fs));
    m += "# HELP sealpipe_rekeys_total REKEY records sent and received: each direction rekeys "
         "after 2^20 records or an hour, idle or not (DESIGN.md 6.2).\n"
         "# TYPE sealpipe_rekeys_total counter\n";
    appendf(m, "sealpipe_rekeys_total{direction=\"sent\"} %" PRIu64 "\n", load(st.rekeys_sent));
    appendf(m, "sealpipe_rekeys_total{direction=\"received\"} %" PRIu64 "\n",
            load(st.rekeys_received));
    m += "# HELP sealpipe_replay_cache_entries First handshake messages remembered to refuse "
         "replays (-d; bounded, DESIGN.md 3.5).\n"
         "# TYPE sealpipe_replay_cache_entries gauge\n";
    appendf(m, "sealpipe_replay_cache_entries %zu\n", ctx.replay.size());
}

// Connections per event loop (--threads): each worker's share.
void worker_metrics(std::string &m, tunnel::Context &ctx) {
    m += "# HELP sealpipe_worker_connections_total Connections started by each event loop "
         "(--threads).\n"
         "# TYPE sealpipe_worker_connections_total counter\n";
    for (unsigned w = 0; w < std::min<unsigned>(ctx.workers, tunnel::Stats::MAX_WORKERS); ++w)
        appendf(m, "sealpipe_worker_connections_total{worker=\"%u\"} %" PRIu64 "\n", w,
                load(ctx.stats.worker_connections[w]));
}

// The keys in use, by fingerprint (never the key).
void key_metrics(std::string &m, tunnel::Context &ctx) {
    const auto keys = ctx.keys.get();
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
}

} // namespace

std::string render_metrics(tunnel::Context &ctx, const StatusInfo &info, bool stopping) {
    std::string m;
    connection_metrics(m, ctx.stats, info, stopping);
    handshake_metrics(m, ctx);
    worker_metrics(m, ctx);
    key_metrics(m, ctx);
    return m;
}

tunnel::HttpResponse answer_status(tunnel::Context &ctx, const StatusInfo &info, bool stopping,
                                   const std::string &path) {
    tunnel::HttpResponse r;
    if (path == "/metrics") {
        r.body = render_metrics(ctx, info, stopping);
        r.type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (path == "/health" || path == "/") {
        r.body = render_health(ctx, info, stopping);
        if (stopping)
            r.status = 503;
    } else {
        r.status = 404;
        r.body = "not found: try /health or /metrics\n";
    }
    return r;
}

} // namespace sealpipe::app
