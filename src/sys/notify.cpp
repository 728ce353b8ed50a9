// SPDX-License-Identifier: BSD-2-Clause
#include "sys/notify.hpp"

#include "config.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sealpipe::sys {

bool sd_notify(const std::string &state) noexcept {
    if (!SEALPIPE_SD_NOTIFY) // built without systemd (-Dsystemd=disabled; FreeBSD)
        return false;
    const char *path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0')
        return false;
    const size_t len = std::strlen(path);
    sockaddr_un sa{};
    if (len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
        return false;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; // abstract namespace
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const socklen_t salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr *>(&sa), salen);
    ::close(fd);
    return n == static_cast<ssize_t>(state.size());
}

} // namespace sealpipe::sys
