// SPDX-License-Identifier: BSD-2-Clause
// Socket options: the accept path sets none per connection, because the
// accepted socket inherits TCP_NODELAY and SO_KEEPALIVE from the listener.
// If a kernel ever stops copying them, this fails rather than the tunnel
// quietly turning Nagle back on.
#include <doctest/doctest.h>

#include "net/address.hpp"
#include "net/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace sealpipe;

namespace {

int option(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    REQUIRE(::getsockopt(fd, level, name, &v, &len) == 0);
    return v;
}

// An accepted socket from a listener on 127.0.0.1 with ${keepalive}.
struct Accepted {
    net::UniqueFd listener, client, server;
    explicit Accepted(bool keepalive) {
        const net::SockAddr any =
            net::resolve(net::parse_address("[127.0.0.1]", true), true).front();
        listener = net::listen_on(any, {});
        net::set_listener_stream_options(listener.get(), keepalive);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&ss), &len) == 0);
        client.reset(::socket(AF_INET, SOCK_STREAM, 0));
        REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr *>(&ss), len) == 0);
        for (int i = 0; i < 1000 && !server; ++i) {
            server.reset(::accept(listener.get(), nullptr, nullptr));
            if (!server)
                ::usleep(1000); // the listener is non-blocking; the connection is on its way
        }
        REQUIRE(server);
    }
};

} // namespace

TEST_SUITE("net::socket") {

TEST_CASE("an accepted socket inherits TCP_NODELAY and SO_KEEPALIVE from its listener") {
    Accepted a(true);
    CHECK(option(a.server.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
    CHECK(option(a.server.get(), SOL_SOCKET, SO_KEEPALIVE) != 0);
}

TEST_CASE("-j: no keep-alive on the listener, none on what it accepts") {
    Accepted a(false);
    CHECK(option(a.server.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
    CHECK(option(a.server.get(), SOL_SOCKET, SO_KEEPALIVE) == 0);
}

TEST_CASE("outgoing sockets get the options from their address family") {
    net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
    net::set_stream_options(fd.get(), AF_INET, true);
    CHECK(option(fd.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
    CHECK(option(fd.get(), SOL_SOCKET, SO_KEEPALIVE) != 0);
    net::UniqueFd u(::socket(AF_UNIX, SOCK_STREAM, 0));
    net::set_stream_options(u.get(), AF_UNIX, true); // a no-op, not an error
}
}
