// SPDX-License-Identifier: BSD-2-Clause
#include "crypto/keyfile.hpp"
#include "crypto/internal.hpp"
#include "crypto/noise.hpp"
#include "proto/constants.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace sealpipe::crypto {

namespace {

std::string dd_hint(const std::string &path, bool regular) {
    const std::string target = regular ? path : "FILE";
    return "create one with: dd if=/dev/urandom of=" + target + " bs=32 count=1 && chmod 0400 " +
           target;
}

struct FdCloser {
    int fd;
    bool owned;
    ~FdCloser() {
        if (owned && fd >= 0)
            ::close(fd);
    }
};

} // namespace

Psk Psk::from_key_material(std::span<const uint8_t> material, std::string source) {
    Psk psk;
    psk.key_ = SecureBuffer(proto::KEY_LEN);
    const auto *label = reinterpret_cast<const uint8_t *>(proto::PSK_LABEL.data());
    detail::hmac_sha256(material, {detail::Bytes(label, proto::PSK_LABEL.size())},
                        detail::Out32(psk.key_.data(), 32));

    uint8_t fp[32];
    const auto *fl = reinterpret_cast<const uint8_t *>(proto::FINGERPRINT_LABEL.data());
    detail::hmac_sha256(detail::Bytes(psk.key_.span()),
                        {detail::Bytes(fl, proto::FINGERPRINT_LABEL.size())}, detail::Out32(fp));
    char hex[9];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", fp[0], fp[1], fp[2], fp[3]);
    psk.fingerprint_ = hex;
    psk.source_ = std::move(source);
    psk.length_ = material.size();
    psk.spiped_ = SecureBuffer(32);
    detail::sha256({material}, detail::Out32(psk.spiped_.data(), 32));

    SymmetricState ss(proto::NOISE_PROTOCOL_NAME, proto::CipherId::ChaCha20Poly1305);
    ss.mix_hash(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(proto::PROLOGUE.data()),
                                         proto::PROLOGUE.size()));
    ss.mix_key_and_hash(psk.bytes());
    static_assert(SymmetricState::SNAPSHOT_LEN == 96, "keyfile.hpp handshake_start()");
    psk.start_ = SecureBuffer(SymmetricState::SNAPSHOT_LEN);
    ss.snapshot(std::span<uint8_t, SymmetricState::SNAPSHOT_LEN>(psk.start_.data(),
                                                                 SymmetricState::SNAPSHOT_LEN));
    return psk;
}

Psk Psk::clone() const {
    Psk p;
    for (auto [from, to] :
         {std::pair{&key_, &p.key_}, {&start_, &p.start_}, {&spiped_, &p.spiped_}}) {
        *to = SecureBuffer(from->size());
        std::memcpy(to->data(), from->data(), from->size());
    }
    p.length_ = length_;
    p.fingerprint_ = fingerprint_;
    p.source_ = source_;
    p.mtime_ = mtime_;
    return p;
}

namespace {
const char *file_kind(mode_t m) {
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
           : S_ISDIR(m)  ? "a directory"
                         : "not a file";
}
// ${gid} is this process's effective group or one of its supplementary
// groups.
bool in_our_groups(gid_t gid) {
    if (gid == ::getegid())
        return true;
    gid_t groups[256];
    const int n = ::getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

} // namespace

bool may_own_keys(uid_t uid, const KeyLoadOptions &opts) noexcept {
    return uid == 0 || uid == ::geteuid() || (opts.run_as_uid && uid == *opts.run_as_uid) ||
           opts.allow_insecure_permissions;
}

bool changed_while_read(const struct stat &before, const struct stat &after,
                        size_t bytes_read) noexcept {
    return static_cast<uint64_t>(before.st_size) != bytes_read || after.st_size != before.st_size ||
           after.st_ino != before.st_ino || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
           after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
           after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
           after.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
}

Psk load_key_file(const std::string &path, const KeyLoadOptions &opts) {
    const bool is_stdin = path == "-";
    // O_NONBLOCK: a FIFO at the path must not block the open (and the
    // daemon with it, at start-up or on SIGHUP); it is refused below.
    int fd = is_stdin ? STDIN_FILENO
                      : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        throw KeyFileError("cannot open key file " + path + ": " + util::errno_string(errno));
    FdCloser closer{fd, !is_stdin};

    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw KeyFileError("cannot stat key file " + path + ": " + util::errno_string(errno));
    // A named key file must be a regular file: a FIFO or a device can
    // block, change between reads, or be anyone's. Standard input (-k -)
    // may be a pipe or a terminal.
    const bool regular = S_ISREG(st.st_mode);
    if (!regular && !is_stdin)
        throw KeyFileError("key file " + path + " is not a regular file (" + file_kind(st.st_mode) +
                           "): give a key file, or -k - to read the key from standard input");
    if (!is_stdin && !may_own_keys(st.st_uid, opts))
        throw KeyFileError("key file " + path + " belongs to another user (uid " +
                           std::to_string(st.st_uid) + "): it must belong to root or to the user " +
                           "sealpiped runs as; run 'chown root " + path +
                           "', or pass --insecure-key-permissions to accept it");
    // PostgreSQL's rule for a key file that root owns: its group may read
    // it if that group is one of ours. A Kubernetes Secret mounted with
    // defaultMode 0440 and an fsGroup is such a file.
    const mode_t forbidden = st.st_uid == 0 && in_our_groups(st.st_gid) ? 037 : 077;
    if (regular && !is_stdin && (st.st_mode & forbidden) != 0 && !opts.allow_insecure_permissions) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw KeyFileError("key file " + path + " is accessible by group or others (mode " + mode +
                           "): run 'chmod 0400 " + path +
                           "', or pass --insecure-key-permissions to accept it");
    }

    // Read at most KEY_FILE_MAX + 1 bytes, so that a larger file is noticed
    // without reading all of it. The raw bytes live only in guarded memory.
    size_t cap = proto::KEY_FILE_MAX + 1;
    if (regular && static_cast<uint64_t>(st.st_size) < proto::KEY_FILE_MAX)
        cap = static_cast<size_t>(st.st_size) + 1;
    SecureBuffer raw(cap);
    size_t got = 0;
    while (got < cap) {
        ssize_t n = ::read(fd, raw.data() + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw KeyFileError("cannot read key file " + path + ": " + util::errno_string(errno));
        }
        if (n == 0)
            break;
        got += static_cast<size_t>(n);
        if (regular && got == cap && cap <= proto::KEY_FILE_MAX) {
            // The file grew while we read it; read on up to the limit.
            SecureBuffer bigger(proto::KEY_FILE_MAX + 1);
            std::memcpy(bigger.data(), raw.data(), got);
            raw = std::move(bigger);
            cap = proto::KEY_FILE_MAX + 1;
        }
    }
    if (got > proto::KEY_FILE_MAX)
        throw KeyFileError("key file " + path + " is larger than 1 MiB; is it really a key file?");
    // A file rewritten in place while we read it (truncated, then written)
    // could hand us part of a key; with --protocol spiped, whose keys may
    // be short, it would even load. Its size or time then differs from
    // what fstat said before the read.
    struct stat after {};
    if (regular && !is_stdin && (::fstat(fd, &after) != 0 || changed_while_read(st, after, got)))
        throw KeyFileError("key file " + path + " changed while it was read: write a new key " +
                           "to another file and rename it into place, then start or reload " +
                           "again");
    if (got < opts.min_length)
        throw KeyFileError("key file " + path + " is too short (" + std::to_string(got) +
                           " bytes, at least 32 random bytes are needed); " +
                           dd_hint(path, regular && !is_stdin));

    Psk psk = Psk::from_key_material(detail::Bytes(raw.data(), got), path);
    psk.mtime_ = is_stdin ? 0 : st.st_mtime;
    return psk;
}

void generate_key_file(const std::string &path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
    if (fd < 0) {
        if (errno == EEXIST)
            throw KeyFileError("refusing to overwrite existing file " + path +
                               ": remove it first if you really want a new key");
        throw KeyFileError("cannot create key file " + path + ": " + util::errno_string(errno));
    }
    FdCloser closer{fd, true};
    // The umask may have narrowed the mode further; make it exactly 0400.
    if (::fchmod(fd, 0400) != 0)
        throw KeyFileError("cannot set mode 0400 on " + path + ": " + util::errno_string(errno));
    uint8_t key[proto::KEY_LEN];
    randombytes_buf(key, sizeof key);
    int err = 0;
    const bool written = util::write_all(fd, key, sizeof key, &err);
    sodium_memzero(key, sizeof key);
    if (!written) {
        ::unlink(path.c_str());
        throw KeyFileError("cannot write key file " + path + ": " + util::errno_string(err));
    }
    if (::fsync(fd) != 0) {
        err = errno;
        ::unlink(path.c_str());
        throw KeyFileError("cannot sync key file " + path + ": " + util::errno_string(err));
    }
}

} // namespace sealpipe::crypto
