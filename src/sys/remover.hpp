// SPDX-License-Identifier: BSD-2-Clause
// Removing the daemon's own files (its pidfile, its Unix sockets) once it
// is confined, without letting it remove anything else (issue 25 item 4).
//
// Landlock grants removal per directory, never per file: a daemon allowed
// to remove its pidfile in /run could remove every other service's files
// there, and one started from / (the default pidfile is <source>.pid in the
// working directory) anything. So the confined daemon removes nothing (no
// removal right in its Landlock rules, unlink refused by its seccomp
// filter), and a helper process removes exactly its files:
//  - forked just before the daemon confines itself, single-threaded, after
//    privileges are dropped (it has the daemon's user, nothing more);
//  - it knows each file by the path, device, inode and type recorded when
//    it was forked, removes one only when the daemon asks for it by number,
//    and only if the path still names that very file: a file put there
//    since, by someone else, stays;
//  - it keeps one descriptor, a socket pair with the daemon, and is
//    confined as the daemon is (the caller's confine function), except that
//    it may remove files in those files' directories;
//  - it ignores the terminal's and the service manager's signals and ends
//    with the daemon: on the daemon's word, or on end of file when the
//    daemon dies in any way. A daemon killed with SIGKILL leaves its
//    pidfile, as rc.subr expects of a process that did not clean up.
// Without a helper (start() not called: --sandbox=off, or a system whose
// sandbox does not restrict removal) remove() removes in-process, with the
// same checks.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sealpipe::sys {

class Remover {
public:
    Remover() = default;
    ~Remover() { stop(); }
    Remover(const Remover &) = delete;
    Remover &operator=(const Remover &) = delete;

    // Record ${path} as it is now. Returns its number for remove(), or -1
    // for "" or a path that names nothing.
    int add(const std::string &path);
    // The directories of the recorded files, for the helper's confinement.
    std::vector<std::string> directories() const;

    // Fork the helper, which runs ${confine} and then serves remove().
    // Throws SystemError. Call while the process has one thread.
    void start(const std::function<void()> &confine);

    // Remove file ${n} if its path still names the file recorded. Returns
    // "" when it is gone (or was already), else a line saying why it stays,
    // for the log. Any thread; waits at most 2 s for the helper.
    std::string remove(int n) noexcept;

    // End the helper and reap it (a bounded wait). remove() afterwards
    // removes nothing.
    void stop() noexcept;

private:
    struct File {
        std::string path;
        dev_t dev;
        ino_t ino;
        mode_t type;
    };
    [[noreturn]] void serve(int fd, const std::function<void()> &confine) noexcept;
    static int32_t unlink_if_same(const File &f) noexcept;

    std::vector<File> files_;
    std::mutex mu_;
    int fd_ = -1;
    pid_t pid_ = -1;
    bool stopped_ = false;
};

} // namespace sealpipe::sys
