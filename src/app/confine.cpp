// SPDX-License-Identifier: BSD-2-Clause
#include "app/confine.hpp"
#include "app/setup.hpp"
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

// Where the *.key symlinks of key directory ${dir} lead, if it is one.
std::vector<std::string> linked_key_files(const std::string &dir) {
    std::vector<std::string> out;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return out;
    try {
        for (const auto &name : key_names(dir)) {
            struct stat l {};
            const std::string f = dir + "/" + name;
            if (::lstat(f.c_str(), &l) == 0 && S_ISLNK(l.st_mode))
                out.push_back(util::real_path(f));
        }
    } catch (const std::exception &) {
        // Unreadable: the keys were read already, so this cannot happen.
    }
    return out;
}

} // namespace

sys::SandboxPolicy confine_policy(const ConfineInputs &in, const char *progname) {
    sys::SandboxPolicy p;
    p.progname = progname;
    p.syslog = in.syslog;
    // The key files themselves, not their directories: -k /etc/x.key must
    // not make /etc (or /root/.ssh beside /root/x.key) readable. A key
    // directory is readable with what is beneath it, and so is each file
    // its *.key symlinks lead to. (Landlock follows symlinks in the paths
    // of its rules: a linked key file is covered where it really is.)
    for (const auto &k : in.key_paths) {
        if (k == "-")
            continue; // read from stdin, once
        add_unique(p.read_paths, k);
        for (const auto &linked : linked_key_files(k))
            add_unique(p.read_paths, linked);
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
