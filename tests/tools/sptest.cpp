// SPDX-License-Identifier: BSD-2-Clause
// sptest: the helper program behind the end-to-end tests. Plain blocking
// sockets and threads; no dependency on socat or ncat.
//
//   sptest free-port
//   sptest echo ADDR [--sink] [--rate BPS] [--reset-after N] [--log FILE] [--max N]
//   sptest send ADDR IN OUT [--no-half-close] [--hold-ms N] [--chunk N]
//   sptest load ADDR --count N --parallel P --bytes B
//   sptest relay LISTEN TARGET [--dir up|down] [--flip-at N] [--fin-at N] [--rst-at N]
//                [--stall-at N] [--drop-record K] [--dup-record K] [--swap-record K]
//                [--garbage-at N] [--record FILE] [--log FILE]
//   sptest replay TARGET FILE [--wait-ms N]
//   sptest flood ADDR --conns N --mode silent|garbage|slow [--seconds S]
//   sptest notify-wait SOCKET [--timeout-ms N] [--want STRING]
//   sptest proxy-target ADDR OUT
//
// Exit statuses of "send" (used by the tests to tell a clean end from a
// reset): 0 clean EOF, 10 connection reset, 11 cannot connect, 12 other.
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "toolkit.hpp"

namespace {

using namespace toolkit;

int listen_on(const std::string &s) {
    Addr a = parse_addr(s);
    if (a.ss.ss_family == AF_UNIX)
        ::unlink(reinterpret_cast<sockaddr_un *>(&a.ss)->sun_path);
    int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a.ss), a.len) != 0)
        die("bind " + s + ": " + std::strerror(errno));
    if (::listen(fd, 4096) != 0)
        die("listen " + s + ": " + std::strerror(errno));
    // Readiness for the tests: they wait for this line, not for a probe
    // connection (which would count as a connection).
    std::printf("listening on %s\n", s.c_str());
    std::fflush(stdout);
    return fd;
}

int connect_to(const std::string &s, int &err, const std::string &bind_to = "") {
    Addr a = parse_addr(s);
    int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!bind_to.empty()) {
        Addr b = parse_addr(bind_to);
        if (::bind(fd, reinterpret_cast<sockaddr *>(&b.ss), b.len) != 0)
            die("bind " + bind_to + ": " + std::strerror(errno));
    }
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a.ss), a.len) != 0) {
        err = errno;
        ::close(fd);
        return -1;
    }
    if (a.ss.ss_family != AF_UNIX)
        set_nodelay(fd);
    return fd;
}

void set_linger0(int fd) {
    struct linger lg {
        1, 0
    };
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

void reset_close(int fd) {
    set_linger0(fd);
    ::close(fd);
}

// The relay's two threads share both sockets, and only the thread that
// accepted closes them, after both have stopped: a close() while the other
// thread is blocked in recv() on the same socket would neither wake it nor
// send the reset until that recv() returned. So a reset is armed here
// (SO_LINGER 0: the final close sends RST, never FIN) and the other thread
// woken with shutdown(SHUT_RD), which sends nothing to the peer.
void relay_abort(int a, int b, std::atomic<bool> &dead) {
    dead = true;
    set_linger0(a);
    set_linger0(b);
    ::shutdown(a, SHUT_RD);
    ::shutdown(b, SHUT_RD);
}

std::mutex g_log_mu;
FILE *g_log = nullptr;
void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void logline(const char *fmt, ...) {
    if (g_log == nullptr)
        return;
    std::lock_guard<std::mutex> lock(g_log_mu);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(g_log, fmt, ap);
    va_end(ap);
    std::fputc('\n', g_log);
    std::fflush(g_log);
}

// ---------------------------------------------------------------------------

// Wait until ADDR accepts connections (synchronisation, not a sleep).
int cmd_wait(std::vector<std::string> args) {
    const long timeout_ms = std::stol(arg_value(args, "--timeout-ms", "10000"));
    if (args.size() != 1)
        die("usage: wait ADDR [--timeout-ms N]");
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < end) {
        int err = 0;
        int fd = connect_to(args[0], err);
        if (fd >= 0) {
            ::close(fd);
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "sptest wait: %s not accepting after %ld ms\n", args[0].c_str(),
                 timeout_ms);
    return 1;
}

int cmd_free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
        die("bind");
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len);
    std::printf("%d\n", ntohs(sa.sin_port));
    ::close(fd);
    return 0;
}

// An echo (or sink) server. Each connection: read until EOF, echoing every
// byte (at --rate bytes/s if given), then shut down writing and close.
int cmd_echo(std::vector<std::string> args) {
    const bool sink = arg_flag(args, "--sink");
    const long rate = std::stol(arg_value(args, "--rate", "0"));
    const long reset_after = std::stol(arg_value(args, "--reset-after", "-1"));
    const long max = std::stol(arg_value(args, "--max", "0"));
    const std::string log = arg_value(args, "--log");
    const std::string save = arg_value(args, "--save");
    const long stall_ms = std::stol(arg_value(args, "--stall-ms", "0"));
    const long linger_ms = std::stol(arg_value(args, "--linger-ms", "0"));
    // Half-close (FIN) once N bytes are echoed, then read on to the client's
    // end without echoing: the target closes its direction first.
    const long fin_after = std::stol(arg_value(args, "--fin-after", "-1"));
    if (args.size() != 1)
        die("usage: echo ADDR [--sink] [--rate BPS] [--reset-after N] [--log FILE] [--max N] "
            "[--save DIR] [--fin-after N]");
    if (!log.empty())
        g_log = std::fopen(log.c_str(), "a");
    int lfd = listen_on(args[0]);
    std::atomic<long> n_conn{0};
    while (true) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die(std::string("accept: ") + std::strerror(errno));
        }
        const long id = ++n_conn;
        logline("accept %ld", id);
        std::thread([c, id, sink, rate, reset_after, save, stall_ms, linger_ms, fin_after] {
            bool stalled = false, fin_sent = false;
            FILE *saved = save.empty()
                              ? nullptr
                              : std::fopen((save + "/conn-" + std::to_string(id)).c_str(), "wb");
            std::vector<uint8_t> buf(65536);
            long total = 0;
            auto t0 = Clock::now();
            while (true) {
                size_t want = buf.size();
                if (rate > 0)
                    want = std::min<size_t>(want, static_cast<size_t>(std::max(1L, rate / 100)));
                ssize_t n = ::recv(c, buf.data(), want, 0);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    logline("eof %ld %ld %s", id, total, n < 0 ? std::strerror(errno) : "clean");
                    break;
                }
                total += n;
                if (saved != nullptr) {
                    std::fwrite(buf.data(), 1, static_cast<size_t>(n), saved);
                    std::fflush(saved);
                }
                if (reset_after >= 0 && total >= reset_after) {
                    logline("reset %ld %ld", id, total);
                    reset_close(c);
                    return;
                }
                if (!sink && !fin_sent && !send_all(c, buf.data(), static_cast<size_t>(n))) {
                    logline("write-failed %ld %ld", id, total);
                    break;
                }
                if (fin_after >= 0 && !fin_sent && total >= fin_after) {
                    fin_sent = true;
                    ::shutdown(c, SHUT_WR);
                    logline("fin %ld %ld", id, total);
                }
                if (stall_ms > 0 && !stalled) {
                    stalled = true; // stop reading for a while (a slow target)
                    logline("stall %ld %ld", id, total);
                    std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms));
                }
                if (rate > 0) {
                    auto due = t0 + std::chrono::microseconds(total * 1000000 / rate);
                    std::this_thread::sleep_until(due);
                }
            }
            if (saved != nullptr)
                std::fclose(saved);
            if (linger_ms > 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
            ::shutdown(c, SHUT_WR);
            ::close(c);
        }).detach();
        if (max > 0 && id >= max)
            break;
    }
    std::this_thread::sleep_for(std::chrono::hours(1));
    return 0;
}

// Send IN, half-close, read everything into OUT until EOF.
int cmd_send(std::vector<std::string> args) {
    const bool no_half_close = arg_flag(args, "--no-half-close");
    const long hold_ms = std::stol(arg_value(args, "--hold-ms", "0"));
    const size_t chunk = std::stoul(arg_value(args, "--chunk", "65536"));
    const long reset_after = std::stol(arg_value(args, "--reset-after", "-1"));
    const std::string bind_to = arg_value(args, "--bind");
    if (args.size() != 3)
        die("usage: send ADDR IN OUT [--no-half-close] [--hold-ms N] [--chunk N] [--reset-after "
            "N]");
    int err = 0;
    int fd = connect_to(args[0], err, bind_to);
    if (fd < 0) {
        std::fprintf(stderr, "sptest send: cannot connect: %s\n", std::strerror(err));
        return 11;
    }
    int in = ::open(args[1].c_str(), O_RDONLY);
    FILE *out = std::fopen(args[2].c_str(), "wb");
    if (in < 0 || out == nullptr)
        die("cannot open files");
    std::atomic<bool> send_ok{true};
    std::atomic<bool> did_reset{false};
    std::atomic<bool> reader_done{false};
    std::thread sender([&] {
        std::vector<uint8_t> buf(chunk);
        long sent = 0;
        while (true) {
            ssize_t n = ::read(in, buf.data(), buf.size());
            if (n <= 0)
                break;
            if (reset_after >= 0 && sent + n >= reset_after) {
                send_all(fd, buf.data(), static_cast<size_t>(reset_after - sent));
                // Give the bytes a moment to leave, then abort with RST.
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                // Linger 0, then wake the reader: the close(2) that follows in
                // the main thread sends an RST, not a FIN.
                struct linger lg {
                    1, 0
                };
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                did_reset = true;
                ::shutdown(fd, SHUT_RD);
                return;
            }
            sent += n;
            if (!send_all(fd, buf.data(), static_cast<size_t>(n))) {
                send_ok = false;
                return;
            }
        }
        // Hold the connection open, but stop holding once the reader has
        // seen the end (a reset must end the test at once, not after it).
        auto until = Clock::now() + std::chrono::milliseconds(hold_ms);
        while (!reader_done && Clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!no_half_close && !reader_done)
            ::shutdown(fd, SHUT_WR);
    });
    std::vector<uint8_t> buf(65536);
    int status = 0;
    while (true) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            status = (errno == ECONNRESET) ? 10 : 12;
            std::fprintf(stderr, "sptest send: %s\n", std::strerror(errno));
            break;
        }
        if (n == 0)
            break;
        std::fwrite(buf.data(), 1, static_cast<size_t>(n), out);
        // What came back is visible at once: a test may wait for it while
        // the connection stays open.
        std::fflush(out);
    }
    reader_done = true;
    if (status != 0)
        ::shutdown(fd, SHUT_RDWR); // unblock the sender
    sender.join();
    if (did_reset) {
        ::close(fd);
        std::fclose(out);
        return 0;
    }
    std::fclose(out);
    ::close(fd);
    if (status == 0 && !send_ok)
        status = 10;
    return status;
}

// Many connections, each sending B random bytes and checking the echo.
int cmd_load(std::vector<std::string> args) {
    const long count = std::stol(arg_value(args, "--count", "100"));
    const long parallel = std::stol(arg_value(args, "--parallel", "10"));
    const size_t bytes = std::stoul(arg_value(args, "--bytes", "1024"));
    const long hold_ms = std::stol(arg_value(args, "--hold-ms", "0"));
    // Start one connection every GAP ms at most: a peer with a short listen
    // backlog (spiped's is 10) then sees a ramp, not a SYN burst.
    const long gap_ms = std::stol(arg_value(args, "--gap-ms", "0"));
    if (args.size() != 1)
        die("usage: load ADDR --count N --parallel P --bytes B [--hold-ms N] [--gap-ms N]");
    const std::string addr = args[0];
    std::atomic<long> next{0}, ok{0}, failed{0};
    const auto t0 = Clock::now();
    long connected = 0;
    std::mutex mu;
    std::condition_variable all_connected;
    std::vector<std::thread> threads;
    for (long t = 0; t < parallel; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
            std::vector<uint8_t> data(bytes), back(bytes);
            long i;
            while ((i = next.fetch_add(1)) < count) {
                if (gap_ms > 0)
                    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(i * gap_ms));
                for (auto &b : data)
                    b = static_cast<uint8_t>(rng());
                int err = 0;
                int fd = connect_to(addr, err);
                if (fd < 0) {
                    ++failed;
                    std::fprintf(stderr, "sptest load: connect: %s\n", std::strerror(err));
                    continue;
                }
                {
                    std::lock_guard<std::mutex> lock(mu);
                    ++connected;
                }
                all_connected.notify_all();
                bool good = send_all(fd, data.data(), data.size());
                if (hold_ms > 0) {
                    // Keep every connection open at once before finishing;
                    // sleep on a condition variable, not a polling loop, so
                    // a thousand waiting threads cost no CPU.
                    std::unique_lock<std::mutex> lock(mu);
                    all_connected.wait_for(lock, std::chrono::seconds(30),
                                           [&] { return connected >= std::min(parallel, count); });
                    lock.unlock();
                    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
                }
                ::shutdown(fd, SHUT_WR);
                size_t got = 0;
                while (good) {
                    ssize_t n =
                        ::recv(fd, back.data() + got, back.size() - got + (got == back.size()), 0);
                    if (n < 0 && errno == EINTR)
                        continue;
                    if (n <= 0) {
                        good = n == 0 && got == bytes;
                        if (!good)
                            std::fprintf(stderr, "sptest load: got %zu of %zu bytes, then %s\n",
                                         got, bytes, n == 0 ? "EOF" : std::strerror(errno));
                        break;
                    }
                    got += static_cast<size_t>(n);
                    if (got > bytes) {
                        good = false;
                        break;
                    }
                }
                if (good && back != data)
                    std::fprintf(stderr, "sptest load: echoed bytes differ\n");
                good = good && back == data;
                ::close(fd);
                (good ? ok : failed)++;
            }
        });
    }
    for (auto &t : threads)
        t.join();
    std::printf("ok %ld failed %ld\n", ok.load(), failed.load());
    return failed == 0 && ok == count ? 0 : 1;
}

// ---------------------------------------------------------------------------
// The adversarial relay (man in the middle between -e and -d).

struct RelayPlan {
    std::string dir = "up"; // which direction the actions apply to
    long flip_at = -1, fin_at = -1, rst_at = -1, stall_at = -1, garbage_at = -1;
    long drop_record = -1, dup_record = -1, swap_record = -1;
    std::string record;
};

// Splits a direction's byte stream into its handshake message and records
// (both are u16 length || body), so record-level actions can be applied.
struct Framer {
    std::vector<uint8_t> pending;
    long index = -1; // -1: the handshake message; 0, 1, ...: records
    // Feed bytes; returns complete frames with their index.
    std::vector<std::pair<long, std::vector<uint8_t>>> feed(const uint8_t *p, size_t n) {
        pending.insert(pending.end(), p, p + n);
        std::vector<std::pair<long, std::vector<uint8_t>>> out;
        while (pending.size() >= 2) {
            size_t len = static_cast<size_t>(pending[0]) << 8 | pending[1];
            if (pending.size() < 2 + len)
                break;
            out.emplace_back(index++,
                             std::vector<uint8_t>(pending.begin(),
                                                  pending.begin() + static_cast<long>(2 + len)));
            pending.erase(pending.begin(), pending.begin() + static_cast<long>(2 + len));
        }
        return out;
    }
};

void relay_direction(int from, int to, bool act, const RelayPlan &plan, const char *name,
                     std::atomic<bool> &dead) {
    std::vector<uint8_t> buf(65536);
    long offset = 0;
    FILE *rec = act && !plan.record.empty() ? std::fopen(plan.record.c_str(), "wb") : nullptr;
    const bool record_level =
        act && (plan.drop_record >= 0 || plan.dup_record >= 0 || plan.swap_record >= 0);
    Framer framer;
    std::vector<uint8_t> held; // for swap
    while (!dead) {
        ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (dead)
                break; // the other direction reset the connection
            logline("%s eof after %ld", name, offset);
            if (n == 0)
                ::shutdown(to, SHUT_WR);
            else
                relay_abort(from, to, dead); // pass the reset on
            break;
        }
        if (rec != nullptr) {
            std::fwrite(buf.data(), 1, static_cast<size_t>(n), rec);
            std::fflush(rec);
        }
        std::vector<uint8_t> chunk(buf.begin(), buf.begin() + n);
        if (act) {
            const long end = offset + n;
            if (plan.flip_at >= offset && plan.flip_at < end) {
                chunk[static_cast<size_t>(plan.flip_at - offset)] ^= 0x01;
                logline("%s flipped byte %ld", name, plan.flip_at);
            }
            if (plan.garbage_at >= offset && plan.garbage_at < end) {
                std::vector<uint8_t> junk(64);
                std::mt19937 rng(42);
                for (auto &b : junk)
                    b = static_cast<uint8_t>(rng());
                chunk.insert(chunk.begin() + (plan.garbage_at - offset), junk.begin(), junk.end());
                logline("%s injected 64 bytes at %ld", name, plan.garbage_at);
            }
            for (long at : {plan.fin_at, plan.rst_at, plan.stall_at}) {
                if (at >= offset && at < end) {
                    const size_t keep = static_cast<size_t>(at - offset);
                    send_all(to, chunk.data(), keep);
                    if (at == plan.fin_at) {
                        logline("%s fin at %ld", name, at);
                        ::shutdown(to, SHUT_WR);
                        // Swallow the rest of this direction silently.
                        while (::recv(from, buf.data(), buf.size(), 0) > 0) {
                        }
                    } else if (at == plan.rst_at) {
                        logline("%s rst at %ld", name, at);
                        relay_abort(from, to, dead);
                    } else {
                        logline("%s stalled at %ld", name, at);
                        while (!dead)
                            std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    }
                    if (rec != nullptr)
                        std::fclose(rec);
                    return;
                }
            }
        }
        offset += n;
        if (!record_level) {
            if (!send_all(to, chunk.data(), chunk.size()))
                break;
            continue;
        }
        for (auto &[idx, frame] : framer.feed(chunk.data(), chunk.size())) {
            // Index -1 is the handshake message; the options count records
            // from 0 and are -1 when unset.
            if (plan.drop_record >= 0 && idx == plan.drop_record) {
                logline("%s dropped record %ld", name, idx);
                continue;
            }
            if (plan.swap_record >= 0 && idx == plan.swap_record) {
                held = frame;
                continue;
            }
            send_all(to, frame.data(), frame.size());
            if (plan.dup_record >= 0 && idx == plan.dup_record) {
                logline("%s duplicated record %ld", name, idx);
                send_all(to, frame.data(), frame.size());
            }
            if (!held.empty() && idx == plan.swap_record + 1) {
                logline("%s swapped records %ld and %ld", name, plan.swap_record, idx);
                send_all(to, held.data(), held.size());
                held.clear();
            }
        }
    }
    if (rec != nullptr)
        std::fclose(rec);
}

int cmd_relay(std::vector<std::string> args) {
    RelayPlan plan;
    plan.dir = arg_value(args, "--dir", "up");
    plan.flip_at = std::stol(arg_value(args, "--flip-at", "-1"));
    plan.fin_at = std::stol(arg_value(args, "--fin-at", "-1"));
    plan.rst_at = std::stol(arg_value(args, "--rst-at", "-1"));
    plan.stall_at = std::stol(arg_value(args, "--stall-at", "-1"));
    plan.garbage_at = std::stol(arg_value(args, "--garbage-at", "-1"));
    plan.drop_record = std::stol(arg_value(args, "--drop-record", "-1"));
    plan.dup_record = std::stol(arg_value(args, "--dup-record", "-1"));
    plan.swap_record = std::stol(arg_value(args, "--swap-record", "-1"));
    plan.record = arg_value(args, "--record");
    const long only_conn = std::stol(arg_value(args, "--conn", "1"));
    const std::string log = arg_value(args, "--log");
    if (args.size() != 2)
        die("usage: relay LISTEN TARGET [actions]");
    if (!log.empty())
        g_log = std::fopen(log.c_str(), "a");
    int lfd = listen_on(args[0]);
    const std::string target = args[1];
    long n = 0;
    while (true) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        ++n;
        const bool act = only_conn == 0 || n == only_conn; // --conn 0: every connection
        RelayPlan mine = plan; // --record FILE: "%N" becomes the connection number
        if (const size_t at = mine.record.find("%N"); at != std::string::npos)
            mine.record.replace(at, 2, std::to_string(n));
        std::thread([c, target, plan = std::move(mine), act, n] {
            int err = 0;
            int s = connect_to(target, err);
            if (s < 0) {
                reset_close(c);
                return;
            }
            logline("conn %ld", n);
            std::atomic<bool> dead{false};
            std::thread up(relay_direction, c, s, act && plan.dir == "up", std::cref(plan), "up",
                           std::ref(dead));
            relay_direction(s, c, act && plan.dir == "down", plan, "down", dead);
            up.join();
            ::close(c);
            ::close(s);
        }).detach();
    }
}

// Send a recorded byte stream to TARGET later; report what came back.
int cmd_replay(std::vector<std::string> args) {
    const long wait_ms = std::stol(arg_value(args, "--wait-ms", "3000"));
    if (args.size() != 2)
        die("usage: replay TARGET FILE");
    int err = 0;
    int fd = connect_to(args[0], err);
    if (fd < 0)
        die("cannot connect");
    FILE *f = std::fopen(args[1].c_str(), "rb");
    if (f == nullptr)
        die("cannot open " + args[1]);
    std::vector<uint8_t> data;
    uint8_t b[4096];
    size_t r;
    while ((r = std::fread(b, 1, sizeof b, f)) > 0)
        data.insert(data.end(), b, b + r);
    std::fclose(f);
    send_all(fd, data.data(), data.size());
    long got = 0;
    pollfd p{fd, POLLIN, 0};
    const char *how = "timeout";
    while (::poll(&p, 1, static_cast<int>(wait_ms)) > 0) {
        ssize_t n = ::recv(fd, b, sizeof b, 0);
        if (n < 0) {
            how = "reset";
            break;
        }
        if (n == 0) {
            how = "eof";
            break;
        }
        got += n;
    }
    std::printf("sent %zu received %ld end %s\n", data.size(), got, how);
    ::close(fd);
    return 0;
}

// Hostile clients: many connections that send nothing, garbage, or one
// byte per second, kept open for --seconds.
int cmd_flood(std::vector<std::string> args) {
    const long conns = std::stol(arg_value(args, "--conns", "1000"));
    const std::string mode = arg_value(args, "--mode", "silent");
    const long seconds = std::stol(arg_value(args, "--seconds", "10"));
    if (args.size() != 1)
        die("usage: flood ADDR --conns N --mode silent|garbage|slow [--seconds S]");
    const std::string addr = args[0];
    std::vector<int> fds;
    long made = 0, refused = 0;
    auto end = Clock::now() + std::chrono::seconds(seconds);
    std::mt19937 rng(7);
    // Keep opening connections until the time is up; each sends according
    // to --mode. Closed ones are replaced.
    while (Clock::now() < end) {
        while (static_cast<long>(fds.size()) < conns && Clock::now() < end) {
            int err = 0;
            int fd = connect_to(addr, err);
            if (fd < 0) {
                ++refused;
                break;
            }
            ::fcntl(fd, F_SETFL, O_NONBLOCK);
            ++made;
            if (mode == "garbage") {
                uint8_t junk[200];
                for (auto &x : junk)
                    x = static_cast<uint8_t>(rng());
                ::send(fd, junk, sizeof junk, MSG_NOSIGNAL);
            }
            fds.push_back(fd);
        }
        // Reap the closed ones; trickle one byte on "slow".
        std::vector<int> alive;
        for (int fd : fds) {
            uint8_t b;
            ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                ::close(fd);
                continue;
            }
            if (mode == "slow") {
                uint8_t one = static_cast<uint8_t>(rng());
                ::send(fd, &one, 1, MSG_NOSIGNAL);
            }
            alive.push_back(fd);
        }
        fds.swap(alive);
        std::this_thread::sleep_for(std::chrono::milliseconds(mode == "slow" ? 1000 : 20));
    }
    for (int fd : fds)
        ::close(fd);
    std::printf("flood made %ld connections (%ld refused)\n", made, refused);
    return 0;
}

// Wait for a sd_notify datagram containing --want on SOCKET (a path we
// bind); print every message received.
int cmd_notify_wait(std::vector<std::string> args) {
    const long timeout_ms = std::stol(arg_value(args, "--timeout-ms", "10000"));
    const std::string want = arg_value(args, "--want", "READY=1");
    if (args.size() != 1)
        die("usage: notify-wait SOCKET [--timeout-ms N] [--want S]");
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", args[0].c_str());
    ::unlink(sa.sun_path);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
        die("bind notify socket");
    // Tell the caller we are ready to receive (it may start the daemon now).
    std::printf("listening on %s\n", args[0].c_str());
    std::fflush(stdout);
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (Clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        int left = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
        if (::poll(&p, 1, std::max(left, 1)) <= 0)
            continue;
        ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        std::printf("%s\n---\n", buf);
        std::fflush(stdout);
        if (std::strstr(buf, want.c_str()) != nullptr)
            return 0;
    }
    std::fprintf(stderr, "sptest notify-wait: no '%s' within %ld ms\n", want.c_str(), timeout_ms);
    return 1;
}

// A target that requires a PROXY protocol v2 header first, writes the
// addresses it carried to OUT, then echoes.
int cmd_proxy_target(std::vector<std::string> args) {
    if (args.size() != 2)
        die("usage: proxy-target ADDR OUT");
    int lfd = listen_on(args[0]);
    const std::string out = args[1];
    while (true) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        std::thread([c, out] {
            uint8_t hdr[16];
            size_t got = 0;
            while (got < 16) {
                ssize_t n = ::recv(c, hdr + got, 16 - got, 0);
                if (n <= 0) {
                    ::close(c);
                    return;
                }
                got += static_cast<size_t>(n);
            }
            static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
            FILE *f = std::fopen(out.c_str(), "a");
            if (std::memcmp(hdr, sig, 12) != 0) {
                std::fprintf(f, "no-proxy-header\n");
                std::fclose(f);
                reset_close(c);
                return;
            }
            const size_t len = static_cast<size_t>(hdr[14]) << 8 | hdr[15];
            std::vector<uint8_t> body(len);
            got = 0;
            while (got < len) {
                ssize_t n = ::recv(c, body.data() + got, len - got, 0);
                if (n <= 0)
                    break;
                got += static_cast<size_t>(n);
            }
            char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
            unsigned sport = 0, dport = 0;
            const uint8_t cmd = hdr[12], fam = hdr[13];
            if (fam == 0x11 && len >= 12) {
                inet_ntop(AF_INET, body.data(), src, sizeof src);
                inet_ntop(AF_INET, body.data() + 4, dst, sizeof dst);
                sport = body[8] << 8 | body[9];
                dport = body[10] << 8 | body[11];
            } else if (fam == 0x21 && len >= 36) {
                inet_ntop(AF_INET6, body.data(), src, sizeof src);
                inet_ntop(AF_INET6, body.data() + 16, dst, sizeof dst);
                sport = body[32] << 8 | body[33];
                dport = body[34] << 8 | body[35];
            }
            std::fprintf(f, "version %u command %u family 0x%02x src %s:%u dst %s:%u\n",
                         hdr[12] >> 4, cmd & 0x0f, fam, src, sport, dst, dport);
            std::fclose(f);
            std::vector<uint8_t> buf(65536);
            while (true) {
                ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
                if (n <= 0)
                    break;
                send_all(c, buf.data(), static_cast<size_t>(n));
            }
            ::shutdown(c, SHUT_WR);
            ::close(c);
        }).detach();
    }
}

// Socket activation as systemd does it: listen on ADDR, put the socket on
// fd 3, set LISTEN_FDS=1 and LISTEN_PID to our pid, and exec the command
// (exec keeps the pid).
int cmd_activate(std::vector<std::string> args) {
    if (args.size() < 3 || args[1] != "--")
        die("usage: activate ADDR -- CMD [ARGS...]");
    int fd = listen_on(args[0]);
    if (fd != 3) {
        ::dup2(fd, 3);
        ::close(fd);
    }
    ::fcntl(3, F_SETFD, 0); // survives exec
    ::setenv("LISTEN_FDS", "1", 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    std::vector<char *> argv;
    for (size_t i = 2; i < args.size(); ++i)
        argv.push_back(args[i].data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    die(std::string("exec: ") + std::strerror(errno));
}

// GET PATH over HTTP/1.0 from ADDR; print the status line's code, then
// the body.
int cmd_http(std::vector<std::string> args) {
    if (args.size() != 2)
        die("usage: http ADDR PATH");
    int err = 0;
    int fd = connect_to(args[0], err);
    if (fd < 0) {
        std::fprintf(stderr, "sptest http: cannot connect: %s\n", std::strerror(err));
        return 11;
    }
    const std::string req = "GET " + args[1] + " HTTP/1.0\r\nHost: sealpipe\r\n\r\n";
    send_all(fd, reinterpret_cast<const uint8_t *>(req.data()), req.size());
    std::string resp;
    char buf[4096];
    while (true) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        resp.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    size_t sp = resp.find(' ');
    size_t body = resp.find("\r\n\r\n");
    if (sp == std::string::npos || body == std::string::npos)
        die("bad HTTP response");
    std::printf("%s\n%s", resp.substr(sp + 1, 3).c_str(), resp.substr(body + 4).c_str());
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    toolkit::tool_name = "sptest";
    toolkit::die_status = 12;
    if (argc < 2)
        die("usage: sptest free-port|echo|send|load|relay|replay|flood|notify-wait|proxy-target "
            "...");
    std::signal(SIGPIPE, SIG_IGN);
    std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (cmd == "free-port")
        return cmd_free_port();
    if (cmd == "wait")
        return cmd_wait(args);
    if (cmd == "echo")
        return cmd_echo(args);
    if (cmd == "send")
        return cmd_send(args);
    if (cmd == "load")
        return cmd_load(args);
    if (cmd == "relay")
        return cmd_relay(args);
    if (cmd == "replay")
        return cmd_replay(args);
    if (cmd == "flood")
        return cmd_flood(args);
    if (cmd == "notify-wait")
        return cmd_notify_wait(args);
    if (cmd == "proxy-target")
        return cmd_proxy_target(args);
    if (cmd == "activate")
        return cmd_activate(args);
    if (cmd == "http")
        return cmd_http(args);
    die("unknown command " + cmd);
}
