// SPDX-License-Identifier: BSD-2-Clause
#include "app/confine.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

#include <algorithm>
#include <cstdlib>
#include <sys/stat.h>

namespace sealpipe::app {

namespace {

void add_unique(std::vector<std::string> &v, const std::string &s) {
    if (std::find(v.begin(), v.end(), s) == v.end())
        v.push_back(s);
}

} // namespace

sys::SandboxPolicy confine_policy(const ConfineInputs &in, const char *progname) {
    sys::SandboxPolicy p;
    p.progname = progname;
    p.syslog = in.syslog;
    for (const auto &k : in.key_paths) {
        if (k == "-")
            continue; // read from stdin, once
        struct stat st {};
        const bool is_dir = ::stat(k.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        add_unique(p.read_paths, is_dir ? k : util::dir_of(k));
        if (!is_dir) // a key file that is a symlink: the directory it leads to
            add_unique(p.read_paths, util::dir_of(util::real_path(k)));
    }
    for (const auto &t : in.targets)
        if (const uint16_t port = t.port();
            port != 0 && std::find(p.connect_ports.begin(), p.connect_ports.end(), port) ==
                             p.connect_ports.end())
            p.connect_ports.push_back(port);
    if (in.target_is_name)
        p.connect_ports.push_back(53); // glibc's resolver falls back to TCP
    if (in.bind && !in.bind->is_unix())
        p.bind_ports.push_back(in.bind->port());
    for (const auto &f : in.owned_files)
        if (!f.empty())
            add_unique(p.remove_dirs, util::dir_of(f));
    const char *notify = std::getenv("NOTIFY_SOCKET");
    p.abstract_unix = notify != nullptr && notify[0] == '@';
    return p;
}

std::string confine(const sys::SandboxPolicy &policy, const std::string &mode) {
    const sys::SandboxMode m = sys::parse_sandbox_mode(mode);
    sys::SandboxReport r;
    try {
        r = sys::apply_sandbox(policy, m);
    } catch (const sys::SandboxError &e) {
        return e.what();
    }
    if (m == sys::SandboxMode::Off) {
        log_warn("sandbox off (--sandbox=off): a flaw exploited in this process would reach "
                 "everything its user can");
        return "";
    }
    if (r.complete()) {
        log_info("sandbox: %s", r.describe().c_str());
        return "";
    }
    std::string missing;
    for (const auto &m2 : r.missing)
        missing += (missing.empty() ? "" : "; ") + m2;
    log_warn("sandbox: %s; not available here: %s", r.describe().c_str(), missing.c_str());
    return "";
}

} // namespace sealpipe::app
