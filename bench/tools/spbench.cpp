// SPDX-License-Identifier: BSD-2-Clause
// spbench: the load tools of the benchmark harness (bench/run). Not part of
// the daemon. Results are printed as one line of JSON.
//
//   spbench echod ADDR                     a fast epoll echo server
//   spbench connrate ADDR --seconds S --concurrency C [--size 64]
//       new connections per second: connect, one ping-pong, close; with
//       the latency of connect + first round trip (p50, p99)
//   spbench latency ADDR --count N [--size 64]
//       round trips on one established connection (p50, p99)
//   spbench hold ADDR --conns N
//       open N connections, one ping-pong each, print {"ready":...}, then
//       keep them until stdin reaches EOF
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "toolkit.hpp"

namespace {

using namespace toolkit;

int connect_blocking(const Addr &a) {
    int fd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&a.ss), a.len) != 0) {
        ::close(fd);
        return -1;
    }
    set_nodelay(fd);
    return fd;
}

double percentile(std::vector<double> &v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

void raise_nofile() {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
}

// A single-threaded epoll echo server, edge-triggered, as fast as the loop
// allows, so that the tunnel under test is the bottleneck.
int cmd_echod(std::vector<std::string> args) {
    if (args.size() != 1)
        die("usage: echod ADDR");
    raise_nofile();
    Addr a = parse_addr(args[0]);
    int lfd = ::socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd, reinterpret_cast<sockaddr *>(&a.ss), a.len) != 0 || ::listen(lfd, 4096) != 0)
        die(std::string("listen: ") + std::strerror(errno));
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    std::printf("listening on %s\n", args[0].c_str());
    std::fflush(stdout);
    std::vector<uint8_t> buf(256 * 1024);
    epoll_event events[256];
    while (true) {
        int n = ::epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                while (true) {
                    int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0)
                        break;
                    set_nodelay(c);
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP;
                    cev.data.fd = c;
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            bool closed = false;
            while (true) {
                ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
                if (r > 0) {
                    // Blocking-style echo of what was read; the data sizes in
                    // the benchmarks (64 B, bulk via iperf3 not here) make a
                    // short busy-wait on EAGAIN harmless.
                    size_t off = 0;
                    while (off < static_cast<size_t>(r)) {
                        ssize_t w = ::send(fd, buf.data() + off, static_cast<size_t>(r) - off,
                                           MSG_NOSIGNAL);
                        if (w > 0)
                            off += static_cast<size_t>(w);
                        else if (w < 0 && errno == EAGAIN)
                            continue;
                        else {
                            closed = true;
                            break;
                        }
                    }
                    if (closed)
                        break;
                    continue;
                }
                if (r < 0 && errno == EAGAIN)
                    break;
                closed = true;
                break;
            }
            if (closed) {
                ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                ::close(fd);
            }
        }
    }
}

int cmd_connrate(std::vector<std::string> args) {
    const double seconds = std::stod(arg_value(args, "--seconds", "5"));
    const int concurrency = std::stoi(arg_value(args, "--concurrency", "8"));
    const size_t size = std::stoul(arg_value(args, "--size", "64"));
    if (args.size() != 1)
        die("usage: connrate ADDR --seconds S --concurrency C [--size N]");
    raise_nofile();
    const Addr a = parse_addr(args[0]);
    std::atomic<long> done{0}, errors{0};
    std::vector<std::vector<double>> lat(static_cast<size_t>(concurrency));
    const auto end = Clock::now() + std::chrono::microseconds(static_cast<long>(seconds * 1e6));
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
        threads.emplace_back([&, t] {
            std::vector<uint8_t> out(size, 'x'), in(size);
            while (Clock::now() < end) {
                const auto t0 = Clock::now();
                int fd = connect_blocking(a);
                if (fd < 0) {
                    ++errors;
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    continue;
                }
                bool ok = send_all(fd, out.data(), size) && recv_all(fd, in.data(), size);
                const auto t1 = Clock::now();
                ::close(fd);
                if (!ok) {
                    ++errors;
                    continue;
                }
                ++done;
                lat[static_cast<size_t>(t)].push_back(
                    std::chrono::duration<double, std::micro>(t1 - t0).count());
            }
        });
    }
    const auto start = Clock::now();
    for (auto &th : threads)
        th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (auto &v : lat)
        all.insert(all.end(), v.begin(), v.end());
    std::printf("{\"conns_per_sec\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"done\": %ld, "
                "\"errors\": %ld}\n",
                static_cast<double>(done.load()) / elapsed, percentile(all, 0.50),
                percentile(all, 0.99), done.load(), errors.load());
    return 0;
}

int cmd_latency(std::vector<std::string> args) {
    const long count = std::stol(arg_value(args, "--count", "20000"));
    const size_t size = std::stoul(arg_value(args, "--size", "64"));
    if (args.size() != 1)
        die("usage: latency ADDR --count N [--size N]");
    const Addr a = parse_addr(args[0]);
    int fd = connect_blocking(a);
    if (fd < 0)
        die("cannot connect");
    std::vector<uint8_t> out(size, 'y'), in(size);
    // Warm up: the first round trip includes the tunnel's handshake.
    for (int i = 0; i < 100; ++i)
        if (!send_all(fd, out.data(), size) || !recv_all(fd, in.data(), size))
            die("warm-up failed");
    std::vector<double> lat;
    lat.reserve(static_cast<size_t>(count));
    for (long i = 0; i < count; ++i) {
        const auto t0 = Clock::now();
        if (!send_all(fd, out.data(), size) || !recv_all(fd, in.data(), size))
            die("round trip failed");
        lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    ::close(fd);
    std::printf("{\"p50_us\": %.1f, \"p99_us\": %.1f, \"count\": %ld}\n", percentile(lat, 0.50),
                percentile(lat, 0.99), count);
    return 0;
}

int cmd_hold(std::vector<std::string> args) {
    const long conns = std::stol(arg_value(args, "--conns", "1000"));
    const int parallel = std::stoi(arg_value(args, "--parallel", "32"));
    if (args.size() != 1)
        die("usage: hold ADDR --conns N");
    raise_nofile();
    const Addr a = parse_addr(args[0]);
    std::vector<int> fds(static_cast<size_t>(conns), -1);
    std::atomic<long> next{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < parallel; ++t) {
        threads.emplace_back([&] {
            uint8_t out[16] = {'h'}, in[16];
            long i;
            while ((i = next.fetch_add(1)) < conns) {
                int fd = connect_blocking(a);
                if (fd < 0 || !send_all(fd, out, sizeof out) || !recv_all(fd, in, sizeof in)) {
                    ++errors;
                    if (fd >= 0)
                        ::close(fd);
                    continue;
                }
                fds[static_cast<size_t>(i)] = fd;
            }
        });
    }
    for (auto &th : threads)
        th.join();
    std::printf("{\"ready\": %ld, \"errors\": %ld}\n", conns - errors.load(), errors.load());
    std::fflush(stdout);
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {
    }
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    toolkit::tool_name = "spbench";
    std::signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        die("usage: spbench echod|connrate|latency|hold ...");
    const std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (cmd == "echod")
        return cmd_echod(args);
    if (cmd == "connrate")
        return cmd_connrate(args);
    if (cmd == "latency")
        return cmd_latency(args);
    if (cmd == "hold")
        return cmd_hold(args);
    die("unknown command " + cmd);
}
