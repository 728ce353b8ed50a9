// SPDX-License-Identifier: BSD-2-Clause
// Process set-up for the daemon: daemonizing with a readiness pipe (so the
// launcher's exit status is the daemon's real start-up status, unlike
// spiped's), the pidfile, and dropping privileges.
//
// Order of operations in sealpiped (see app/daemon.cpp): read keys, resolve,
// bind, daemonize, write pidfile, drop privileges, report ready.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>

namespace sealpipe::sys {

// A failure of process set-up; what() is one line for the operator.
class SystemError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Fork into the background. The parent does not return: it waits until the
// child calls daemon_report() (or dies) and exits with the reported status.
// The child returns, in a new session, with stdin and stdout on /dev/null
// (stderr is kept for logging unless --syslog). Throws SystemError.
void daemonize();

// Child side: report start-up status ${code} (0 = running) to the waiting
// parent. Only the first call has an effect; a no-op without daemonize().
void daemon_report(int code) noexcept;

// Write "${pid}\n" to ${path} (mode 0644). Throws SystemError.
void write_pidfile(const std::string &path);

struct UserSpec {
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::string user; // name, for initgroups(3), if a user was given
    std::string text; // as given
};

// Parse -u: "user", "user:group" or ":group", names or numeric ids. A user
// without a group gets the user's primary group. Throws SystemError.
UserSpec parse_user_spec(const std::string &text);

// Drop to ${spec}: supplementary groups, then gid, then uid, then verify
// that root cannot be regained. Throws SystemError, never half-succeeds
// silently.
void drop_privileges(const UserSpec &spec);

// Make ${path} absolute relative to the current directory (for files read
// again after the daemon has changed to /).
std::string absolute_path(const std::string &path);

} // namespace sealpipe::sys
