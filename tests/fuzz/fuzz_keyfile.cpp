// SPDX-License-Identifier: BSD-2-Clause
// fuzz_keyfile: crypto::load_key_file() on a regular file (mode 0600) that
// holds the input, and Psk::from_key_material() on the input (DESIGN.md §2).
// Checked: a file of KEY_FILE_MIN to KEY_FILE_MAX bytes loads, and gives the
// same PSK and fingerprint as from_key_material(); a shorter one is refused
// with KeyFileError, and nothing else is thrown.
#include "fuzz_common.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace sealpipe;

namespace {

std::string *g_dir;
std::string *g_path;

void cleanup() {
    if (g_path != nullptr)
        ::unlink(g_path->c_str());
    if (g_dir != nullptr)
        ::rmdir(g_dir->c_str());
}

void write_file(const uint8_t *data, size_t size) {
    const int fd = ::open(g_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::fchmod(fd, 0600) != 0) {
        std::perror("fuzz_keyfile: cannot write the key file");
        std::abort();
    }
    size_t off = 0;
    while (off < size) {
        const ssize_t n = ::write(fd, data + off, size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            std::perror("fuzz_keyfile: cannot write the key file");
            std::abort();
        }
        off += static_cast<size_t>(n);
    }
    ::close(fd);
}

bool is_hex8(const std::string &s) {
    return s.size() == 8 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    crypto::init();
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fuzz_keyfile-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        std::perror("fuzz_keyfile: mkdtemp");
        std::abort();
    }
    g_dir = new std::string(tmpl);
    g_path = new std::string(tmpl + "/key");
    std::atexit(cleanup);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    std::optional<crypto::Psk> direct;
    if (size >= proto::KEY_FILE_MIN) {
        direct = crypto::Psk::from_key_material(input, "fuzz");
        FUZZ_CHECK(!direct->empty());
        FUZZ_CHECK(is_hex8(direct->fingerprint()));
        FUZZ_CHECK(direct->source() == "fuzz");
    }

    write_file(data, size);
    for (const bool insecure_ok : {false, true}) {
        std::optional<crypto::Psk> loaded;
        try {
            loaded = crypto::load_key_file(*g_path, {.allow_insecure_permissions = insecure_ok});
        } catch (const crypto::KeyFileError &e) {
            const std::string what = e.what();
            FUZZ_TRACE("%zu bytes: %s\n", size, e.what());
            FUZZ_CHECK(!what.empty() && what.find('\n') == std::string::npos);
            FUZZ_CHECK(what.find(*g_path) != std::string::npos); // names the file
        }
        // DESIGN.md §2: 32 bytes to 1 MiB.
        const bool size_ok = size >= proto::KEY_FILE_MIN && size <= proto::KEY_FILE_MAX;
        FUZZ_CHECK(loaded.has_value() == size_ok);
        if (!loaded)
            continue;
        FUZZ_TRACE("%zu bytes: loaded, fingerprint %s\n", size, loaded->fingerprint().c_str());
        FUZZ_CHECK(direct.has_value());
        FUZZ_CHECK(
            std::equal(loaded->bytes().begin(), loaded->bytes().end(), direct->bytes().begin()));
        FUZZ_CHECK(loaded->fingerprint() == direct->fingerprint());
        FUZZ_CHECK(loaded->source() == *g_path);
        FUZZ_CHECK(loaded->mtime() != 0);
    }
    return 0;
}
