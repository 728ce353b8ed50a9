// SPDX-License-Identifier: BSD-2-Clause
#include "sys/remover.hpp"
#include "sys/daemon.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sealpipe::sys {

namespace {

// The daemon's requests are one byte: a file's number, or QUIT. The
// helper answers each number with REMOVED, REPLACED or an errno value.
constexpr uint8_t QUIT = 0xff;
constexpr int32_t REMOVED = 0;
constexpr int32_t REPLACED = -1;
constexpr int ANSWER_MS = 2000;

// Read exactly ${n} bytes within ${ms}. False on end of file, an error or
// the deadline.
bool read_within(int fd, void *p, size_t n, int ms) noexcept {
    auto *b = static_cast<uint8_t *>(p);
    while (n > 0) {
        pollfd pfd{fd, POLLIN, 0};
        const int rc = ::poll(&pfd, 1, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        const ssize_t r = ::read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        b += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

} // namespace

int Remover::add(const std::string &path) {
    struct stat st {};
    if (path.empty() || ::lstat(path.c_str(), &st) != 0)
        return -1;
    files_.push_back({path, st.st_dev, st.st_ino, static_cast<mode_t>(st.st_mode & S_IFMT)});
    return static_cast<int>(files_.size() - 1);
}

std::vector<std::string> Remover::directories() const {
    std::vector<std::string> dirs;
    for (const auto &f : files_)
        dirs.push_back(util::dir_of(f.path));
    return dirs;
}

// REMOVED, REPLACED or an errno value: the same checks in the helper and
// in-process. A file already gone counts as removed.
int32_t Remover::unlink_if_same(const File &f) noexcept {
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) != 0)
        return errno == ENOENT ? REMOVED : errno;
    if (st.st_dev != f.dev || st.st_ino != f.ino || (st.st_mode & S_IFMT) != f.type)
        return REPLACED;
    if (::unlink(f.path.c_str()) != 0 && errno != ENOENT)
        return errno;
    return REMOVED;
}

void Remover::start(const std::function<void()> &confine) {
    if (files_.empty() || pid_ >= 0)
        return;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        throw SystemError("cannot create the removal helper's socket: " +
                          util::errno_string(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(sv[0]);
        ::close(sv[1]);
        throw SystemError("cannot start the removal helper: " + util::errno_string(err));
    }
    if (pid == 0) {
        ::close(sv[0]);
        serve(sv[1], confine);
    }
    ::close(sv[1]);
    fd_ = sv[0];
    pid_ = pid;
}

void Remover::serve(int fd, const std::function<void()> &confine) noexcept {
    // The daemon's signals, as the terminal or the service manager send
    // them to the whole group, are the daemon's to act on: the helper ends
    // with it (end of file below).
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE})
        ::signal(sig, SIG_IGN);
    // One descriptor beyond the standard three (stderr, for the sandbox's
    // trap line): the socket to the daemon, as 3.
    if (fd != 3 && (::dup2(fd, 3) < 0 || ::close(fd) != 0))
        ::_exit(1);
    ::closefrom(4);
    try {
        confine();
    } catch (...) {
        ::_exit(1); // the daemon's remove() then reports no answer
    }
    for (;;) {
        uint8_t n = QUIT;
        const ssize_t r = ::read(3, &n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || n == QUIT)
            ::_exit(0);
        const int32_t answer = n < files_.size() ? unlink_if_same(files_[n]) : EINVAL;
        if (!util::write_all(3, &answer, sizeof answer))
            ::_exit(0);
    }
}

std::string Remover::remove(int n) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    if (n < 0 || static_cast<size_t>(n) >= files_.size() || stopped_)
        return "";
    const std::string &path = files_[static_cast<size_t>(n)].path;
    int32_t answer = 0;
    if (pid_ < 0) {
        answer = unlink_if_same(files_[static_cast<size_t>(n)]);
    } else {
        const auto request = static_cast<uint8_t>(n);
        if (!util::write_all(fd_, &request, 1) ||
            !read_within(fd_, &answer, sizeof answer, ANSWER_MS))
            return "cannot remove " + path + ": the removal helper did not answer";
    }
    if (answer == REPLACED)
        return "not removing " + path + ": another file has replaced ours since start-up";
    return answer == REMOVED ? "" : "cannot remove " + path + ": " + util::errno_string(answer);
}

void Remover::stop() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (pid_ < 0)
        return;
    // QUIT, then its end of file: it has exited and can be reaped at once.
    bool gone = false;
    if (util::write_all(fd_, &QUIT, 1)) {
        pollfd pfd{fd_, POLLIN, 0};
        uint8_t byte = 0;
        gone = ::poll(&pfd, 1, ANSWER_MS) == 1 && ::read(fd_, &byte, 1) == 0;
    }
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    while (::waitpid(pid_, &status, gone ? 0 : WNOHANG) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

} // namespace sealpipe::sys
