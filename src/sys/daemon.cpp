// SPDX-License-Identifier: BSD-2-Clause
#include "sys/daemon.hpp"
#include "util/log.hpp"

#include "config.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sealpipe::sys {

namespace {
int g_report_fd = -1;

bool all_digits(const std::string &s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}
} // namespace

void daemonize() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        throw SystemError("cannot create a pipe: " + util::errno_string(errno));
    pid_t pid = ::fork();
    if (pid < 0)
        throw SystemError("cannot fork: " + util::errno_string(errno));
    if (pid > 0) {
        // Parent: wait for the child's verdict.
        ::close(p[1]);
        unsigned char code = 0;
        ssize_t n;
        do {
            n = ::read(p[0], &code, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1)
            ::_exit(code);
        // The child exited without reporting: use its exit status.
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
    }
    ::close(p[0]);
    g_report_fd = p[1];
    if (::setsid() < 0)
        throw SystemError("setsid failed: " + util::errno_string(errno));
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            ::close(null);
    }
}

void daemon_report(int code) noexcept {
    if (g_report_fd < 0)
        return;
    unsigned char c = static_cast<unsigned char>(code);
    [[maybe_unused]] ssize_t n = ::write(g_report_fd, &c, 1);
    ::close(g_report_fd);
    g_report_fd = -1;
}

void write_pidfile(const std::string &path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        throw SystemError("cannot write pidfile " + path + ": " + util::errno_string(errno));
    const std::string text = std::to_string(::getpid()) + "\n";
    ssize_t n = ::write(fd, text.data(), text.size());
    int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size()))
        throw SystemError("cannot write pidfile " + path + ": " + util::errno_string(err));
}

UserSpec parse_user_spec(const std::string &text) {
    UserSpec spec;
    spec.text = text;
    const size_t colon = text.find(':');
    const std::string user = text.substr(0, colon);
    const std::string group = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (user.empty() && group.empty())
        throw SystemError("-u '" + text + "': give user, user:group or :group");
    if (colon != std::string::npos && group.empty())
        throw SystemError("-u '" + text + "': missing group after ':'");
    if (!user.empty()) {
        struct passwd *pw = ::getpwnam(user.c_str());
        if (pw != nullptr) {
            spec.uid = pw->pw_uid;
            spec.gid = pw->pw_gid;
            spec.user = pw->pw_name;
        } else if (all_digits(user)) {
            spec.uid = static_cast<uid_t>(std::strtoul(user.c_str(), nullptr, 10));
            struct passwd *byid = ::getpwuid(*spec.uid);
            if (byid != nullptr) {
                spec.gid = byid->pw_gid;
                spec.user = byid->pw_name;
            }
        } else {
            throw SystemError("-u: no such user '" + user + "'");
        }
    }
    if (!group.empty()) {
        struct group *gr = ::getgrnam(group.c_str());
        if (gr != nullptr)
            spec.gid = gr->gr_gid;
        else if (all_digits(group))
            spec.gid = static_cast<gid_t>(std::strtoul(group.c_str(), nullptr, 10));
        else
            throw SystemError("-u: no such group '" + group + "'");
    }
    if (spec.uid && !spec.gid)
        throw SystemError("-u: user '" + user + "' has no group; give user:group");
    return spec;
}

namespace {

// A test build told SEALPIPE_TEST_KEEP_SAVED_ROOT drops the user the way a
// buggy drop would: the canary for drop_privileges()'s final check
// (tests/e2e/15-process-options.sh). Always false in a release build.
bool keep_saved_root_for_tests() {
#if SEALPIPE_TEST_HOOKS
    return std::getenv("SEALPIPE_TEST_KEEP_SAVED_ROOT") != nullptr;
#else
    return false;
#endif
}

// Set the real, effective and saved user ids to ${uid}; for the canary,
// only the real and effective ones, so that setuid(0) works again.
int set_user(uid_t uid) {
    return keep_saved_root_for_tests() ? ::setresuid(uid, uid, 0) : ::setuid(uid);
}

} // namespace

void drop_privileges(const UserSpec &spec) {
    if (spec.gid) {
        // Supplementary groups first, while we still may: the user's own
        // groups if we know the user, otherwise just the one group.
        int rc = !spec.user.empty() ? ::initgroups(spec.user.c_str(), *spec.gid)
                                    : ::setgroups(1, &*spec.gid);
        if (rc != 0 && ::geteuid() == 0)
            throw SystemError("cannot set supplementary groups for -u " + spec.text + ": " +
                              util::errno_string(errno));
        if (::setgid(*spec.gid) != 0)
            throw SystemError("cannot change group for -u " + spec.text + ": " +
                              util::errno_string(errno));
    }
    if (spec.uid) {
        if (set_user(*spec.uid) != 0)
            throw SystemError("cannot change user for -u " + spec.text + ": " +
                              util::errno_string(errno));
        if (*spec.uid != 0 && (::setuid(0) == 0 || ::geteuid() == 0))
            throw SystemError("-u " + spec.text +
                              ": root privileges could be regained; refusing to run");
    }
}

std::string absolute_path(const std::string &path) {
    if (path.empty() || path[0] == '/' || path == "-")
        return path;
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr)
        return path;
    return std::string(cwd) + "/" + path;
}

} // namespace sealpipe::sys
