// SPDX-License-Identifier: BSD-2-Clause
// The Linux sandbox's Landlock layer (sys/sandbox_linux.hpp).
#include "sys/sandbox_linux.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sealpipe::sys {

namespace {

// The Landlock ABI (include/uapi/linux/landlock.h). Spelled out here, not
// included: Debian 12's headers stop at ABI 2, and the kernel's structures
// only ever grow at the end.
namespace ll {
constexpr uint32_t CREATE_RULESET_VERSION = 1U << 0;
constexpr int RULE_PATH_BENEATH = 1;
constexpr int RULE_NET_PORT = 2;

constexpr uint64_t FS_READ_FILE = 1ULL << 2;
constexpr uint64_t FS_READ_DIR = 1ULL << 3;
constexpr uint64_t FS_REMOVE_FILE = 1ULL << 5;
constexpr uint64_t FS_ABI1 = (1ULL << 13) - 1; // EXECUTE .. MAKE_SYM
constexpr uint64_t FS_REFER = 1ULL << 13;      // ABI 2
constexpr uint64_t FS_TRUNCATE = 1ULL << 14;   // ABI 3
constexpr uint64_t FS_IOCTL_DEV = 1ULL << 15;  // ABI 5

constexpr uint64_t NET_BIND_TCP = 1ULL << 0; // ABI 4
constexpr uint64_t NET_CONNECT_TCP = 1ULL << 1;

constexpr uint64_t SCOPE_ABSTRACT_UNIX = 1ULL << 0; // ABI 6
constexpr uint64_t SCOPE_SIGNAL = 1ULL << 1;

struct RulesetAttr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; // ABI 4
    uint64_t scoped;             // ABI 6
};
struct [[gnu::packed]] PathBeneathAttr {
    uint64_t allowed_access;
    int32_t parent_fd;
};
struct NetPortAttr {
    uint64_t allowed_access;
    uint64_t port;
};

int abi() {
    const long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, CREATE_RULESET_VERSION);
    return v < 0 ? 0 : static_cast<int>(v);
}

uint64_t fs_rights(int abi) {
    uint64_t r = FS_ABI1;
    if (abi >= 2)
        r |= FS_REFER;
    if (abi >= 3)
        r |= FS_TRUNCATE;
    if (abi >= 5)
        r |= FS_IOCTL_DEV;
    return r;
}
} // namespace ll

// ${path} and, if it is a symlink or lies beneath one, where it leads.
std::vector<std::string> with_real_path(const std::string &path) {
    std::vector<std::string> out{path};
    if (std::string real = util::real_path(path); real != path)
        out.push_back(std::move(real));
    return out;
}

// Allow ${rights} beneath ${path} (a directory), or ${file_rights} on it
// (a file: Landlock refuses directory rights there). Missing: skipped.
void add_path_rule(int ruleset, const std::string &path, uint64_t rights, uint64_t file_rights) {
    const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
            return;
        throw SandboxError("sandbox: cannot open " + path +
                           " for a Landlock rule: " + util::errno_string(errno));
    }
    struct stat st {};
    ::fstat(fd, &st);
    ll::PathBeneathAttr attr{S_ISDIR(st.st_mode) ? rights : file_rights, fd};
    const long rc = attr.allowed_access == 0 ? 0
                                             : ::syscall(SYS_landlock_add_rule, ruleset,
                                                         ll::RULE_PATH_BENEATH, &attr, 0);
    const int e = errno;
    ::close(fd);
    if (rc != 0)
        throw SandboxError("sandbox: Landlock refused the rule for " + path + ": " +
                           util::errno_string(e));
}

void add_port_rule(int ruleset, uint64_t rights, uint16_t port) {
    ll::NetPortAttr attr{rights, port};
    if (::syscall(SYS_landlock_add_rule, ruleset, ll::RULE_NET_PORT, &attr, 0) != 0)
        throw SandboxError("sandbox: Landlock refused the rule for TCP port " +
                           std::to_string(port) + ": " + util::errno_string(errno));
}

// The files name resolution reads (glibc: nsswitch, hosts, DNS, address
// sorting), and the time zone for log lines.
const char *const RESOLVER_FILES[] = {
    "/etc/hosts",     "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
    "/etc/host.conf", "/etc/services",    "/etc/localtime",
};

} // namespace

void apply_landlock(const SandboxPolicy &policy, SandboxReport &report) {
    const int abi = ll::abi();
    report.landlock_abi = abi;
    if (abi <= 0) {
        report.missing.emplace_back("Landlock (the kernel has none, or it is not enabled: "
                                    "lsm=landlock on its command line)");
        return;
    }
    // What the ruleset restricts; each rule grants a part of it back.
    const uint64_t handled_fs = ll::fs_rights(abi);
    const uint64_t handled_net = abi >= 4 ? ll::NET_BIND_TCP | ll::NET_CONNECT_TCP : 0;
    ll::RulesetAttr attr{};
    attr.handled_access_fs = handled_fs;
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) {
        attr.handled_access_net = handled_net;
        size = offsetof(ll::RulesetAttr, scoped);
    }
    if (abi >= 6) {
        attr.scoped = ll::SCOPE_SIGNAL | (policy.abstract_unix ? 0 : ll::SCOPE_ABSTRACT_UNIX);
        size = sizeof attr;
    }
    const int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0));
    if (ruleset < 0)
        throw SandboxError("sandbox: cannot create a Landlock ruleset: " +
                           util::errno_string(errno));
    try {
        const uint64_t read = (ll::FS_READ_FILE | ll::FS_READ_DIR) & handled_fs;
        const uint64_t read_file = ll::FS_READ_FILE & handled_fs;
        for (const auto &p : policy.read_paths)
            for (const auto &q : with_real_path(p))
                add_path_rule(ruleset, q, read, read_file);
        for (const char *f : RESOLVER_FILES)
            for (const auto &q : with_real_path(f))
                add_path_rule(ruleset, q, read, read_file);
        for (const auto &d : policy.remove_dirs)
            for (const auto &q : with_real_path(d))
                add_path_rule(ruleset, q, ll::FS_REMOVE_FILE & handled_fs, 0);
        if ((handled_net & ll::NET_CONNECT_TCP) != 0)
            for (uint16_t port : policy.connect_ports)
                add_port_rule(ruleset, ll::NET_CONNECT_TCP, port);
        if ((handled_net & ll::NET_BIND_TCP) != 0)
            for (uint16_t port : policy.bind_ports)
                add_port_rule(ruleset, ll::NET_BIND_TCP, port);
        if (::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
            throw SandboxError("sandbox: Landlock did not confine the process: " +
                               util::errno_string(errno));
    } catch (...) {
        ::close(ruleset);
        throw;
    }
    ::close(ruleset);
    report.landlock_fs = true;
    report.landlock_net = abi >= 4;
    if (abi < 4)
        report.missing.emplace_back("Landlock network rules (Linux 6.7 or later)");
}

} // namespace sealpipe::sys
