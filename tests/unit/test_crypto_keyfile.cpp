// SPDX-License-Identifier: BSD-2-Clause
// Key files: which are accepted, which are refused and with what message.
#include <doctest/doctest.h>

#include "crypto/keyfile.hpp"
#include "helpers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

using namespace sealpipe;

namespace {
void write_file(const std::string &path, const std::string &content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// Load and return the error message, or "" on success.
std::string try_load(const std::string &path, bool insecure = false,
                     std::optional<uid_t> run_as = std::nullopt) {
    try {
        crypto::KeyLoadOptions o;
        o.allow_insecure_permissions = insecure;
        o.run_as_uid = run_as;
        crypto::load_key_file(path, o);
        return "";
    } catch (const crypto::KeyFileError &e) {
        return e.what();
    }
}
} // namespace

TEST_SUITE("crypto::keyfile") {

TEST_CASE("acceptance table") {
    testutil::TempDir dir;
    const std::string k32(32, 'k');
    struct Row {
        const char *name;
        std::string content;
        mode_t mode;
        bool insecure;
        const char *error; // substring of the expected message, "" = accepted
    } rows[] = {
        {"exact32", k32, 0400, false, ""},
        {"mode0600", k32, 0600, false, ""},
        {"long", std::string(4096, 'q'), 0400, false, ""},
        {"text with newline", std::string(43, 'A') + "\n", 0400, false, ""},
        {"short31", std::string(31, 'k'), 0400, false, "too short (31 bytes"},
        {"empty", "", 0400, false, "dd if=/dev/urandom of="},
        {"group-readable", k32, 0440, false, "accessible by group or others (mode 0440)"},
        {"world-readable", k32, 0644, false, "chmod 0400"},
        {"group-writable", k32, 0620, false, "--insecure-key-permissions"},
        {"world-readable, override", k32, 0644, true, ""},
        {"too big", std::string((1 << 20) + 1, 'x'), 0400, false, "larger than 1 MiB"},
        {"max size", std::string(1 << 20, 'x'), 0400, false, ""},
    };
    for (const auto &r : rows) {
        CAPTURE(r.name);
        const std::string path = dir.file(r.name);
        write_file(path, r.content, r.mode);
        // As root, a file of root's group would pass the group rule (next
        // test case): give it a group that is not ours.
        if (::geteuid() == 0)
            REQUIRE(::chown(path.c_str(), 0, 65534) == 0);
        const std::string err = try_load(path, r.insecure);
        if (std::strlen(r.error) == 0)
            CHECK(err == "");
        else
            CHECK(err.find(r.error) != std::string::npos);
        if (!err.empty())
            CHECK(err.find(path) != std::string::npos); // names the file
    }
    CHECK(try_load(dir.file("missing")).find("No such file or directory") != std::string::npos);
    CHECK(try_load(dir.path()).find("not a regular file (a directory)") != std::string::npos);
    // Devices and FIFOs are refused (issue 12 item 9): a FIFO nobody writes
    // to must not block the open, which would hang start-up or a reload.
    CHECK(try_load("/dev/null").find("not a regular file (a character device)") !=
          std::string::npos);
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(try_load(fifo).find("not a regular file (a FIFO)") != std::string::npos);
}

TEST_CASE("a root-owned key file may be readable by one of our groups, no more") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot make a root-owned file; skipped");
        return;
    }
    testutil::TempDir dir;
    const std::string path = dir.file("k");
    const std::string k32(32, 'k');
    // Our group: a Kubernetes Secret with defaultMode 0440 and an fsGroup.
    write_file(path, k32, 0440);
    REQUIRE(::chown(path.c_str(), 0, ::getegid()) == 0);
    REQUIRE(::chmod(path.c_str(), 0440) == 0);
    CHECK(try_load(path) == "");
    // More than reading for the group, or anything for others: refused.
    for (mode_t m : {0460, 0444, 0640 | 04}) {
        CAPTURE(m);
        REQUIRE(::chmod(path.c_str(), m) == 0);
        CHECK(try_load(path).find("accessible by group or others") != std::string::npos);
    }
    // Another group may not read it.
    REQUIRE(::chmod(path.c_str(), 0440) == 0);
    REQUIRE(::chown(path.c_str(), 0, 65534) == 0);
    CHECK(try_load(path).find("accessible by group or others (mode 0440)") != std::string::npos);
}

TEST_CASE("a key file must belong to root, this user or the -u user") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot give a file to another user; skipped");
        return;
    }
    testutil::TempDir dir;
    const std::string path = dir.file("k");
    write_file(path, std::string(32, 'k'), 0400);
    REQUIRE(::chown(path.c_str(), 4242, 4242) == 0);
    CHECK(try_load(path).find("belongs to another user (uid 4242)") != std::string::npos);
    CHECK(try_load(path, false, 4242) == ""); // the -u user's own key
    CHECK(try_load(path, true) == "");        // --insecure-key-permissions
    REQUIRE(::chown(path.c_str(), 0, 0) == 0);
    CHECK(try_load(path) == "");
}

TEST_CASE("the PSK depends on every byte of the file, not just a prefix") {
    testutil::TempDir dir;
    std::string a(64, 'a'), b = a;
    b[63] = 'b';
    write_file(dir.file("a"), a, 0400);
    write_file(dir.file("b"), b, 0400);
    write_file(dir.file("a2"), a, 0400);
    auto pa = crypto::load_key_file(dir.file("a"), {});
    auto pb = crypto::load_key_file(dir.file("b"), {});
    auto pa2 = crypto::load_key_file(dir.file("a2"), {});
    CHECK_FALSE(crypto::equal_ct(pa.bytes(), pb.bytes()));
    CHECK(crypto::equal_ct(pa.bytes(), pa2.bytes()));
    CHECK(pa.fingerprint() == pa2.fingerprint());
    CHECK(pa.fingerprint() != pb.fingerprint());
    CHECK(pa.fingerprint().size() == 8);
    // The PSK is not the file content (derived with a label).
    CHECK_FALSE(std::equal(pa.bytes().begin(), pa.bytes().end(), a.begin()));
}

TEST_CASE("'-' reads the key from standard input") {
    testutil::TempDir dir;
    write_file(dir.file("k"), std::string(32, 's'), 0400);
    auto from_file = crypto::load_key_file(dir.file("k"), {});
    int saved = ::dup(STDIN_FILENO);
    int fd = ::open(dir.file("k").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    ::dup2(fd, STDIN_FILENO);
    ::close(fd);
    auto from_stdin = crypto::load_key_file("-", {});
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    CHECK(crypto::equal_ct(from_file.bytes(), from_stdin.bytes()));
    CHECK(from_stdin.source() == "-");
}

TEST_CASE("generate_key_file writes 32 bytes with mode 0400 and never overwrites") {
    testutil::TempDir dir;
    const std::string path = dir.file("new.key");
    crypto::generate_key_file(path);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0400);
    CHECK(st.st_size == 32);
    CHECK(try_load(path) == "");
    auto before = crypto::load_key_file(path, {});
    try {
        crypto::generate_key_file(path);
        FAIL("overwrote an existing key");
    } catch (const crypto::KeyFileError &e) {
        CHECK(std::string(e.what()).find("refusing to overwrite") != std::string::npos);
    }
    auto after = crypto::load_key_file(path, {});
    CHECK(crypto::equal_ct(before.bytes(), after.bytes()));
    // Two generated keys differ.
    crypto::generate_key_file(dir.file("other.key"));
    CHECK_FALSE(
        crypto::equal_ct(before.bytes(), crypto::load_key_file(dir.file("other.key"), {}).bytes()));
}

TEST_CASE("a key file that changes while it is read is refused, not loaded in part") {
    // Issue 25 item 6: rewritten in place (truncated, then written), a key
    // file could give part of a key, which --protocol spiped would load.
    struct stat a {};
    a.st_size = 32;
    a.st_ino = 7;
    a.st_mtim.tv_sec = a.st_ctim.tv_sec = 1000;
    struct stat b = a;
    CHECK_FALSE(crypto::changed_while_read(a, b, 32));
    CHECK(crypto::changed_while_read(a, b, 16)); // fewer bytes than its size
    b.st_size = 16;
    CHECK(crypto::changed_while_read(a, b, 32));
    b = a;
    b.st_mtim.tv_nsec = 1; // rewritten within the same second
    CHECK(crypto::changed_while_read(a, b, 32));
    b = a;
    b.st_ctim.tv_sec = 1001;
    CHECK(crypto::changed_while_read(a, b, 32));
    b = a;
    b.st_ino = 8;
    CHECK(crypto::changed_while_read(a, b, 32));
    // Through load_key_file: a regular file whose size does not match what
    // a read gives (procfs reports 0 and reads hundreds of bytes), where
    // /proc exists.
    struct stat p {};
    if (::stat("/proc/self/status", &p) == 0 && S_ISREG(p.st_mode) && p.st_size == 0) {
        const std::string err = try_load("/proc/self/status", true);
        CHECK(err.find("changed while it was read") != std::string::npos);
    }
}

}
