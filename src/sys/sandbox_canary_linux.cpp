// SPDX-License-Identifier: BSD-2-Clause
// The sandbox canaries of test builds (sys/sandbox.hpp sandbox_canary):
// forbidden actions that tests/e2e/34-sandbox.sh triggers with SIGUSR2 to
// see each layer refuse them. A release build has none.
#include "sys/sandbox.hpp"
#include "util/log.hpp"

#include "config.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

namespace sealpipe::sys {

std::string sandbox_canary(const std::string &what) {
#if SEALPIPE_TEST_HOOKS
    if (what == "open" || what.rfind("open:", 0) == 0) {
        const std::string path = what == "open" ? "/etc/shadow" : what.substr(5);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return "open " + path + ": refused (" + util::errno_string(errno) + ")";
        ::close(fd);
        return "open " + path + ": ALLOWED";
    }
    if (what.rfind("remove:", 0) == 0) {
        const std::string path = what.substr(7);
        if (::unlink(path.c_str()) != 0)
            return "remove " + path + ": refused (" + util::errno_string(errno) + ")";
        return "remove " + path + ": ALLOWED";
    }
    if (what == "exec") {
        char *const argv[] = {const_cast<char *>("sh"), const_cast<char *>("-c"),
                              const_cast<char *>("true"), nullptr};
        ::execve("/bin/sh", argv, environ);
        return "execve /bin/sh: refused (" + util::errno_string(errno) + ")";
    }
    if (what == "ptrace") {
        if (::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr) != 0)
            return "ptrace: refused (" + util::errno_string(errno) + ")";
        ::ptrace(PTRACE_DETACH, ::getppid(), nullptr, nullptr);
        return "ptrace: ALLOWED";
    }
    if (what.rfind("open-write:", 0) == 0) {
        const std::string path = what.substr(11);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return "open for writing " + path + ": refused (" + util::errno_string(errno) + ")";
        ::close(fd);
        return "open for writing " + path + ": ALLOWED";
    }
    if (what == "mmap-exec") {
        void *p = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return "mmap PROT_EXEC: refused (" + util::errno_string(errno) + ")";
        ::munmap(p, 4096);
        return "mmap PROT_EXEC: ALLOWED";
    }
    if (what == "fcntl-setown") {
        // Owner pid 1 (init): getppid() itself is not on the allow-list.
        if (::fcntl(STDERR_FILENO, F_SETOWN, 1) != 0)
            return "fcntl F_SETOWN: refused (" + util::errno_string(errno) + ")";
        ::fcntl(STDERR_FILENO, F_SETOWN, 0);
        return "fcntl F_SETOWN: ALLOWED";
    }
    if (what == "netlink-audit") {
        const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (fd < 0)
            return "netlink audit socket: refused (" + util::errno_string(errno) + ")";
        ::close(fd);
        return "netlink audit socket: ALLOWED";
    }
    if (what.rfind("connect:", 0) == 0) {
        const int port = std::atoi(what.c_str() + 8);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return "connect: socket refused (" + util::errno_string(errno) + ")";
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(static_cast<uint16_t>(port));
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int rc = ::connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof sin);
        const int e = errno;
        ::close(fd);
        const std::string to = "connect 127.0.0.1:" + std::to_string(port);
        return rc == 0 ? to + ": ALLOWED" : to + ": refused (" + util::errno_string(e) + ")";
    }
#else
    (void)what;
#endif
    return "";
}

} // namespace sealpipe::sys
