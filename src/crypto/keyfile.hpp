// SPDX-License-Identifier: BSD-2-Clause
// Key files (DESIGN.md §2): any file of at least 32 random bytes. The file
// contents never leave this module; what comes out is the derived PSK,
// held in guarded, wiped memory.
#pragma once

#include "crypto/secret.hpp"
#include "proto/constants.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>

namespace sealpipe::crypto {

// A key file that cannot be used. what() is one line that names the file,
// says what is wrong and how to fix it.
class KeyFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct KeyLoadOptions {
    // Accept a key file that group or others may access
    // (--insecure-key-permissions). Off by default: sealpipe refuses such
    // files, unlike spiped.
    bool allow_insecure_permissions = false;
    // The shortest key file accepted. spiped's protocol hashes a key file
    // of any length, so --protocol spiped lowers this to 0 and warns
    // instead (DESIGN.md §12.1).
    size_t min_length = proto::KEY_FILE_MIN;
    // Besides root and this process's effective user, the user a key file
    // may belong to: the -u user, who reads the keys again on reload.
    std::optional<uid_t> run_as_uid;
};

// A pre-shared key derived from a key file.
class Psk {
public:
    Psk() = default;
    // Derive the PSK from raw key-file bytes (at least KEY_FILE_MIN of them
    // is the caller's business; tests use this directly).
    static Psk from_key_material(std::span<const uint8_t> material, std::string source);
    // A copy in new guarded memory (a reload keeps a key it cannot read
    // again, such as "-k -"). Throws std::bad_alloc.
    Psk clone() const;

    std::span<const uint8_t, 32> bytes() const noexcept {
        return std::span<const uint8_t, 32>(key_.data(), 32);
    }
    // A short public identifier of the key, the same on both ends: 8 hex
    // digits of HMAC-SHA256(psk, FINGERPRINT_LABEL). Safe to log.
    const std::string &fingerprint() const noexcept { return fingerprint_; }
    // Where the key came from ("-" for standard input).
    const std::string &source() const noexcept { return source_; }
    // Modification time of the key file (0 for stdin), for key-age metrics.
    std::time_t mtime() const noexcept { return mtime_; }
    bool empty() const noexcept { return key_.empty(); }
    // spiped's K: SHA-256 of every byte of the key file (DESIGN.md §12.1),
    // for --protocol spiped. Guarded, wiped memory, like the key.
    std::span<const uint8_t, 32> spiped_key() const noexcept {
        return std::span<const uint8_t, 32>(spiped_.data(), 32);
    }
    // How many bytes the key file had.
    size_t material_length() const noexcept { return length_; }
    // The handshake state after InitializeSymmetric, MixHash(prologue) and
    // MixKeyAndHash(psk) (DESIGN.md §3.1, §3.3), which depends on the key
    // alone: computed once here, so that trying a key on a first message
    // costs only what depends on the message (DESIGN.md §3.4). Guarded,
    // wiped memory, like the key. SymmetricState::restore() takes it.
    std::span<const uint8_t, 96> handshake_start() const noexcept {
        return std::span<const uint8_t, 96>(start_.data(), 96);
    }

private:
    SecureBuffer key_;
    SecureBuffer start_;
    SecureBuffer spiped_;
    size_t length_ = 0;
    std::string fingerprint_;
    std::string source_;
    std::time_t mtime_ = 0;
    friend Psk load_key_file(const std::string &, const KeyLoadOptions &);
};

// Whether user ${uid} may own a key file or a directory of keys: root, this
// process's effective user, or ${opts}.run_as_uid (the -u user, who reads
// the keys again on reload); anyone with --insecure-key-permissions.
bool may_own_keys(uid_t uid, const KeyLoadOptions &opts) noexcept;

// A regular key file of ${before} (fstat before reading) that gave
// ${bytes_read} bytes and is ${after} once read has changed meanwhile: its
// size, inode, modification or change time differ. load_key_file then
// refuses it rather than load part of a key.
bool changed_while_read(const struct stat &before, const struct stat &after,
                        size_t bytes_read) noexcept;

// Read the key file at ${path} ("-" reads standard input to its end) and
// derive the PSK. Refuses files shorter than ${opts}.min_length or longer than
// KEY_FILE_MAX, anything but a regular file, a pipe or a character device,
// and (unless
// ${opts}.allow_insecure_permissions) regular files whose mode grants any
// access to group or others. Throws KeyFileError.
Psk load_key_file(const std::string &path, const KeyLoadOptions &opts);

// Write a fresh 32-byte random key to ${path} with mode 0400. Refuses to
// overwrite an existing file (O_EXCL). Throws KeyFileError.
void generate_key_file(const std::string &path);

} // namespace sealpipe::crypto
