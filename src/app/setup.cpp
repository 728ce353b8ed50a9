// SPDX-License-Identifier: BSD-2-Clause
#include "app/setup.hpp"
#include "app/defaults.hpp"
#include "crypto/handshake.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/sodium.hpp"
#include "tunnel/protocol.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>

namespace sealpipe::app {

namespace {

// A directory that holds keys must not be writable by group or others, nor
// belong to another user than a key file may (root, us, the -u user):
// whoever can add or rename a file in it can swap a key. ${what} names it
// in the message ("key directory", "the directory of key file F").
void check_key_dir(const std::string &dir, const std::string &what,
                   const crypto::KeyLoadOptions &opts) {
    const bool insecure = opts.allow_insecure_permissions;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw crypto::KeyFileError("cannot open " + what + ": " + util::errno_string(errno));
    if (!crypto::may_own_keys(st.st_uid, opts))
        throw crypto::KeyFileError(what + " belongs to another user (uid " +
                                   std::to_string(st.st_uid) +
                                   "), who could swap its keys: " + "run 'chown root " + dir +
                                   "', or pass --insecure-key-permissions to accept it");
    if ((st.st_mode & 022) != 0 && !insecure) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw crypto::KeyFileError(what + " is writable by group or others (mode " + mode +
                                   "): run 'chmod go-w " + dir +
                                   "', or pass --insecure-key-permissions to accept it");
    }
}

// The directory that really holds key file ${path} (after symlinks).
std::string key_file_dir(const std::string &path) {
    return util::dir_of(util::real_path(path));
}

bool owned_by_root_or_us(const struct stat &st) {
    return st.st_uid == 0 || st.st_uid == ::geteuid();
}

} // namespace

std::vector<std::string> key_names(const std::string &dir) {
    DIR *d = ::opendir(dir.c_str());
    if (d == nullptr)
        throw crypto::KeyFileError("cannot read key directory " + dir + ": " +
                                   util::errno_string(errno));
    std::vector<std::string> names;
    while (struct dirent *e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".key") == 0 && name[0] != '.')
            names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::optional<std::string> projected_generation(const std::string &dir) {
    struct stat link {};
    if (::lstat((dir + "/..data").c_str(), &link) != 0 || !S_ISLNK(link.st_mode))
        return std::nullopt;
    const std::optional<std::string> link_target = util::read_link(dir + "/..data");
    if (!link_target)
        throw crypto::KeyFileError("key directory " + dir +
                                   ": cannot read its ..data link: " + util::errno_string(errno));
    const std::string &gen = *link_target;
    // The kubelet's layout: ..data names a "..TIMESTAMP" directory beside it.
    if (gen.rfind("..", 0) != 0 || gen == ".." || gen.find('/') != std::string::npos)
        throw crypto::KeyFileError("key directory " + dir + ": ..data points to '" + gen +
                                   "', not to a ..generation directory beside it, as a "
                                   "Kubernetes Secret volume has");
    struct stat g {};
    if (::lstat((dir + "/" + gen).c_str(), &g) != 0 || !S_ISDIR(g.st_mode))
        throw crypto::KeyFileError("key directory " + dir + ": ..data points to " + gen +
                                   ", which is not a directory");
    if (!owned_by_root_or_us(link) || !owned_by_root_or_us(g) || (g.st_mode & 022) != 0)
        throw crypto::KeyFileError("key directory " + dir + ": its ..data link or " + gen +
                                   " belongs to another user or is writable by group or "
                                   "others; a Secret volume's are the kubelet's (root)");
    return gen;
}

namespace {

// The *.key files of directory ${dir}, in name order. A Kubernetes Secret
// volume (projected_generation): the *.key links into ..data, read through
// the generation they lead to now, so that one load never mixes two.
std::vector<std::string> key_directory(const std::string &dir, const crypto::KeyLoadOptions &opts) {
    if (const auto gen = projected_generation(dir)) {
        // The volume's root may be world-writable with the sticky bit (the
        // kubelet makes it 1777): then only names that are the kubelet's
        // links count, and anything else is ignored, not loaded.
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0 || (st.st_mode & S_ISVTX) == 0)
            check_key_dir(dir, "key directory " + dir, opts);
        std::vector<std::string> files;
        for (const auto &name : key_names(dir)) {
            if (util::read_link(dir + "/" + name) != "..data/" + name) {
                log_warn("key directory %s: ignoring %s, which is not the Secret's link into "
                         "..data",
                         dir.c_str(), name.c_str());
                continue;
            }
            files.push_back(dir + "/" + *gen + "/" + name);
        }
        if (files.empty())
            throw crypto::KeyFileError("key directory " + dir +
                                       " (a Kubernetes Secret) holds no *.key file: name the "
                                       "Secret's key e.g. sealpipe.key");
        return files;
    }
    check_key_dir(dir, "key directory " + dir, opts);
    std::vector<std::string> files;
    for (const auto &name : key_names(dir)) {
        // A *.key that is a symlink: its key lives where the link leads,
        // and that directory must pass the same checks.
        const std::string f = dir + "/" + name;
        struct stat l {};
        if (::lstat(f.c_str(), &l) == 0 && S_ISLNK(l.st_mode)) {
            const std::string target_dir = key_file_dir(f);
            check_key_dir(target_dir, "the directory " + target_dir + " that " + f + " leads to",
                          opts);
        }
        files.push_back(f);
    }
    if (files.empty())
        throw crypto::KeyFileError("key directory " + dir + " holds no *.key file");
    return files;
}

} // namespace

crypto::KeyLoadOptions key_options(bool insecure, const std::string &protocol,
                                   std::optional<uid_t> run_as_uid) {
    return {.allow_insecure_permissions = insecure,
            .min_length = protocol == "spiped" ? 0 : proto::KEY_FILE_MIN,
            .run_as_uid = run_as_uid};
}

std::shared_ptr<tunnel::KeySet> load_keys(const std::vector<std::string> &paths,
                                          const crypto::KeyLoadOptions &opts) {
    auto set = std::make_shared<tunnel::KeySet>();
    for (const auto &p : paths) {
        struct stat st {};
        const bool is_dir = p != "-" && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        const std::vector<std::string> files =
            is_dir ? key_directory(p, opts) : std::vector<std::string>{p};
        if (!is_dir && p != "-" && ::stat(p.c_str(), &st) == 0) {
            const std::string dir = key_file_dir(p);
            check_key_dir(dir, "the directory of key file " + p + " (" + dir + ")", opts);
        }
        for (const auto &f : files) {
            set->keys.push_back(crypto::load_key_file(f, opts));
            const size_t len = set->keys.back().material_length();
            if (len < proto::KEY_FILE_MIN) // only with --protocol spiped
                log_warn("key file %s has %zu bytes; spiped accepts that, but a key needs at "
                         "least 32 random bytes: make a new one on one end with 'dd "
                         "if=/dev/urandom of=%s bs=32 count=1' and copy it to the other",
                         f.c_str(), len, f == "-" ? "FILE" : f.c_str());
        }
    }
    if (set->keys.size() > crypto::Responder::MAX_KEYS)
        throw crypto::KeyFileError("too many keys (" + std::to_string(set->keys.size()) +
                                   "); at most " + std::to_string(crypto::Responder::MAX_KEYS) +
                                   " are tried per handshake");
    return set;
}

uint8_t cipher_mask(const std::string &name) {
    if (name == "auto")
        return crypto::default_cipher_mask();
    if (name == proto::cipher_name(proto::CipherId::ChaCha20Poly1305))
        return proto::cipher_bit(proto::CipherId::ChaCha20Poly1305);
    if (!crypto::aes_gcm_available())
        throw std::invalid_argument("--cipher aes-256-gcm: this CPU cannot run AES-256-GCM in "
                                    "hardware (it needs AES-NI and PCLMULQDQ, and "
                                    "$OPENSSL_ia32cap unset); use auto");
    return proto::cipher_bit(proto::CipherId::Aes256Gcm);
}

namespace {

// Resolve, retrying every second with -D (spiped's "wait for DNS").
std::vector<net::SockAddr> resolve_waiting(const net::Address &a, bool passive, bool wait) {
    bool logged = false;
    while (true) {
        try {
            return net::resolve(a, passive);
        } catch (const net::AddressError &e) {
            if (!wait)
                throw;
            if (!logged)
                log_warn("%s; retrying every second (-D)", e.what());
            logged = true;
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

uint64_t to_ms(double seconds) {
    return static_cast<uint64_t>(seconds * 1000.0 + 0.5);
}

} // namespace

Plan make_plan(const DaemonOptions &o) {
    Plan plan;
    tunnel::TunnelConfig &c = plan.cfg;
    c.role = o.encrypt ? tunnel::Role::Encrypt : tunnel::Role::Decrypt;
    c.max_connections = o.max_connections == 0 ? SIZE_MAX : o.max_connections;
    c.max_handshakes = o.max_handshakes;
    c.connect_timeout_ms = c.handshake_timeout_ms = to_ms(o.timeout_s);
    c.idle_timeout_ms = to_ms(o.idle_timeout_s);
    c.half_close_timeout_ms = to_ms(o.half_close_timeout_s);
    c.heartbeat_s = static_cast<uint16_t>(o.heartbeat_s);
    c.handshake.clock_window_s = o.clock_window_s;
    c.keepalive = !o.no_keepalive;
    c.proxy_protocol = o.proxy_protocol;
    c.rekey = rekey_limits();
    if (o.protocol == "spiped")
        c.protocol = &tunnel::spiped_protocol();
    c.handshake.fs_policy = o.fast         ? proto::FsPolicy::Refuse
                            : o.require_fs ? proto::FsPolicy::Require
                                           : proto::FsPolicy::Prefer;
    c.handshake.ciphers = cipher_mask(o.cipher);

    const net::Address source = net::parse_address(o.source);
    plan.target_addr = net::parse_address(o.target);
    std::optional<net::Address> bind;
    if (!o.bind.empty())
        bind = net::parse_address(o.bind, /*port_optional=*/true);

    auto src = resolve_waiting(source, true, o.wait_dns);
    if (src.size() > 1)
        log_warn("%s resolves to %zu addresses; listening on the first, %s", o.source.c_str(),
                 src.size(), src.front().to_string().c_str());
    plan.source = src.front();
    plan.targets = resolve_waiting(plan.target_addr, false, o.wait_dns);
    if (bind)
        c.bind = resolve_waiting(*bind, true, o.wait_dns).front();
    return plan;
}

void print_plan(const DaemonOptions &o, const Plan &p, const tunnel::KeySet &keys) {
    const auto &c = p.cfg;
    std::printf("sealpiped: configuration OK\n");
    std::printf("  mode:        %s\n", o.encrypt ? "encrypt (-e): plaintext in, encrypted out"
                                                 : "decrypt (-d): encrypted in, plaintext out");
    std::printf("  listen:      %s%s\n", p.source.to_string().c_str(),
                o.socket_mode ? (" (mode " + std::to_string(*o.socket_mode) + ")").c_str() : "");
    std::printf("  target:      %s ->", o.target.c_str());
    for (const auto &t : p.targets)
        std::printf(" %s", t.to_string().c_str());
    std::printf("%s\n", p.target_addr.kind == net::Address::Kind::Host && !o.no_resolve
                            ? (" (re-resolved every " +
                               std::to_string(static_cast<long>(o.resolve_s)) + " s)")
                                  .c_str()
                            : "");
    for (size_t i = 0; i < keys.keys.size(); ++i)
        std::printf("  key %zu:       %s (fingerprint %s)%s\n", i + 1,
                    keys.keys[i].source().c_str(), keys.keys[i].fingerprint().c_str(),
                    o.encrypt && i == 0 && keys.keys.size() > 1 ? " used for new connections" : "");
    const char *fs = c.handshake.fs_policy == proto::FsPolicy::Refuse    ? "off (-f)"
                     : c.handshake.fs_policy == proto::FsPolicy::Require ? "required (-g)"
                                                                         : "on";
    // In preference order: AES-256-GCM first where both ends have it.
    std::string ciphers;
    for (proto::CipherId id : {proto::CipherId::Aes256Gcm, proto::CipherId::ChaCha20Poly1305})
        if (c.handshake.ciphers & proto::cipher_bit(id))
            ciphers += std::string(" ") + proto::cipher_name(id);
    if (c.protocol != nullptr)
        std::printf("  protocol:    spiped 1.6 (--protocol spiped): AES-256-CTR with "
                    "HMAC-SHA256, no authenticated end of stream, no heartbeats\n"
                    "  handshake:   forward secrecy %s (DH group 14)\n",
                    fs);
    else if (c.role == tunnel::Role::Decrypt)
        std::printf("  handshake:   forward secrecy %s; ciphers%s; clock window +-%u s\n", fs,
                    ciphers.c_str(), c.handshake.clock_window_s);
    else
        std::printf("  handshake:   forward secrecy %s; ciphers%s\n", fs, ciphers.c_str());
    if (o.drain_timeout_s > 0)
        std::printf("  shutdown:    abort connections still open %g s after SIGTERM\n",
                    o.drain_timeout_s);
    std::printf("  limits:      -n %s, %zu handshakes, -o %.3g s\n",
                o.max_connections == 0 ? "unlimited" : std::to_string(o.max_connections).c_str(),
                c.max_handshakes, o.timeout_s);
    std::printf(
        "  timers:      heartbeat %s, idle timeout %s, half-close timeout %s\n",
        c.heartbeat_s && c.protocol == nullptr ? (std::to_string(c.heartbeat_s) + " s").c_str()
                                               : "off",
        c.idle_timeout_ms ? (std::to_string(c.idle_timeout_ms / 1000) + " s").c_str() : "off",
        c.half_close_timeout_ms ? (std::to_string(c.half_close_timeout_ms / 1000) + " s").c_str()
                                : "off");
    if (c.bind)
        std::printf("  bind:        %s\n", c.bind->to_string().c_str());
    std::printf("  process:     %s%s%s\n", o.foreground ? "foreground" : "daemon",
                o.user.empty() ? "" : (", as " + o.user).c_str(),
                o.syslog ? ", logging to syslog" : "");
}

std::string key_files_stamp(const std::vector<std::string> &paths) {
    std::string stamp;
    auto add_file = [&stamp](const std::string &f) {
        struct stat st {};
        if (::stat(f.c_str(), &st) != 0) {
            stamp += f + " missing\n";
            return;
        }
        char line[160];
        std::snprintf(
            line, sizeof line, " %llu:%llu %lld %lld.%09ld %lld.%09ld\n",
            static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
            static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
            st.st_mtim.tv_nsec, static_cast<long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec);
        stamp += f + line;
    };
    for (const auto &p : paths) {
        if (p == "-")
            continue;
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            add_file(p);
            continue;
        }
        // A directory: its *.key names (and a Secret's ..data link) and
        // each file they lead to.
        if (const auto data = util::read_link(p + "/..data"))
            stamp += p + "/..data -> " + *data + "\n";
        try {
            for (const auto &name : key_names(p))
                add_file(p + "/" + name);
        } catch (const crypto::KeyFileError &) {
            stamp += p + " unreadable\n";
        }
    }
    return stamp;
}

void reload_keys(tunnel::Context &ctx, const std::vector<std::string> &paths,
                 const crypto::KeyLoadOptions &opts, const char *why) {
    auto old = ctx.keys.get();
    // A key read from standard input ("-k -") cannot be read again: keep it,
    // in its place in the list, and re-read the files around it.
    std::shared_ptr<tunnel::KeySet> fresh = std::make_shared<tunnel::KeySet>();
    try {
        for (const auto &p : paths) {
            if (p == "-") {
                for (const auto &k : old->keys)
                    if (k.source() == "-")
                        fresh->keys.push_back(k.clone()); // the key as loaded, not re-derived
                continue;
            }
            auto part = load_keys({p}, opts);
            for (auto &k : part->keys)
                fresh->keys.push_back(std::move(k));
        }
        if (fresh->keys.size() > crypto::Responder::MAX_KEYS)
            throw crypto::KeyFileError("too many keys (" + std::to_string(fresh->keys.size()) +
                                       ")");
    } catch (const std::exception &e) {
        log_error("%s: keeping the current keys: %s", why, e.what());
        return;
    }
    std::set<std::string> before, after;
    for (const auto &k : old->keys)
        before.insert(k.fingerprint());
    for (const auto &k : fresh->keys)
        after.insert(k.fingerprint());
    std::string added, removed;
    for (const auto &f : after)
        if (!before.count(f))
            added += " " + f;
    for (const auto &f : before)
        if (!after.count(f))
            removed += " " + f;
    ctx.keys.set(fresh);
    log_info("%s: reloaded %zu key(s), first %s; added:%s; removed:%s; open connections keep "
             "their keys",
             why, fresh->keys.size(), fresh->keys.front().fingerprint().c_str(),
             added.empty() ? " none" : added.c_str(), removed.empty() ? " none" : removed.c_str());
}

} // namespace sealpipe::app
