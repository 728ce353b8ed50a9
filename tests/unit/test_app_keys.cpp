// SPDX-License-Identifier: BSD-2-Clause
// -k DIR on a Kubernetes Secret volume, with the kubelet's atomic swap
// replayed in a temporary directory (issue 15): the layout is accepted,
// a reload after the swap reads the new generation, --key-poll's stamp
// changes with it, and what is not the kubelet's is ignored or refused.
#include "app/setup.hpp"
#include "crypto/keyfile.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace sealpipe;

namespace {

void write_key(const std::string &path, char fill) {
    std::ofstream(path) << std::string(32, fill);
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
}

// One generation as the kubelet writes it: ..NAME/ with the Secret's keys.
void write_generation(const testutil::TempDir &vol, const std::string &gen, char fill) {
    const std::string d = vol.file(gen);
    REQUIRE(::mkdir(d.c_str(), 0755) == 0);
    write_key(d + "/sealpipe.key", fill);
}

// The kubelet's swap: a new ..data link made beside the old one, then
// renamed over it (atomic), and the old generation removed.
void swap_data(const testutil::TempDir &vol, const std::string &gen) {
    const std::string tmp = vol.file("..data_tmp");
    REQUIRE(::symlink(gen.c_str(), tmp.c_str()) == 0);
    REQUIRE(::rename(tmp.c_str(), vol.file("..data").c_str()) == 0);
}

std::string first_fingerprint(const std::string &dir) {
    auto set = app::load_keys({dir}, app::key_options(false, "sealpipe"));
    REQUIRE(set->keys.size() == 1);
    return set->keys.front().fingerprint();
}

std::string load_error(const std::string &dir) {
    try {
        app::load_keys({dir}, app::key_options(false, "sealpipe"));
    } catch (const crypto::KeyFileError &e) {
        return e.what();
    }
    return "";
}

// A Secret volume: 1777 (the kubelet's tmpfs root), one generation.
void make_volume(const testutil::TempDir &vol) {
    REQUIRE(::chmod(vol.path().c_str(), 01777) == 0);
    write_generation(vol, "..2026_12_05_01_00_00.1", 'a');
    swap_data(vol, "..2026_12_05_01_00_00.1");
    REQUIRE(::symlink("..data/sealpipe.key", vol.file("sealpipe.key").c_str()) == 0);
}

} // namespace

TEST_SUITE("app::keys") {

TEST_CASE("a Kubernetes Secret volume: accepted, and the kubelet's swap is seen") {
    testutil::TempDir vol;
    make_volume(vol);
    REQUIRE(app::projected_generation(vol.path()) ==
            std::optional<std::string>("..2026_12_05_01_00_00.1"));
    const std::string before = first_fingerprint(vol.path());
    const std::string stamp = app::key_files_stamp({vol.path()});
    CHECK(app::key_files_stamp({vol.path()}) == stamp); // stable while nothing changes

    write_generation(vol, "..2026_12_05_02_00_00.2", 'b');
    swap_data(vol, "..2026_12_05_02_00_00.2");
    REQUIRE(std::system(("rm -rf '" + vol.file("..2026_12_05_01_00_00.1") + "'").c_str()) == 0);
    CHECK(app::key_files_stamp({vol.path()}) != stamp);
    const std::string after = first_fingerprint(vol.path());
    CHECK(after != before);
    // The key is read through the generation, so one load never mixes two.
    auto set = app::load_keys({vol.path()}, app::key_options(false, "sealpipe"));
    CHECK(set->keys.front().source().find("/..2026_12_05_02_00_00.2/sealpipe.key") !=
          std::string::npos);
}

TEST_CASE("a Secret volume: what is not the kubelet's link is ignored") {
    testutil::TempDir vol;
    make_volume(vol);
    const std::string fp = first_fingerprint(vol.path());
    // Planted in the world-writable root: a file, and a link elsewhere.
    write_key(vol.file("planted.key"), 'p');
    REQUIRE(::symlink(vol.file("planted.key").c_str(), vol.file("other.key").c_str()) == 0);
    CHECK(first_fingerprint(vol.path()) == fp);
}

TEST_CASE("a Secret volume: ..data must lead to a ..generation beside it") {
    testutil::TempDir vol;
    make_volume(vol);
    REQUIRE(::unlink(vol.file("..data").c_str()) == 0);
    REQUIRE(::symlink("/etc", vol.file("..data").c_str()) == 0);
    CHECK(load_error(vol.path()).find("not to a ..generation directory") != std::string::npos);
    REQUIRE(::unlink(vol.file("..data").c_str()) == 0);
    REQUIRE(::symlink("..missing", vol.file("..data").c_str()) == 0);
    CHECK(load_error(vol.path()).find("not a directory") != std::string::npos);
    // A generation others may write to is refused.
    REQUIRE(::unlink(vol.file("..data").c_str()) == 0);
    swap_data(vol, "..2026_12_05_01_00_00.1");
    REQUIRE(::chmod(vol.file("..2026_12_05_01_00_00.1").c_str(), 0777) == 0);
    CHECK(load_error(vol.path()).find("writable by group or others") != std::string::npos);
}

TEST_CASE("a plain key directory stays strict: world-writable is refused") {
    testutil::TempDir dir;
    write_key(dir.file("a.key"), 'a');
    CHECK(load_error(dir.path()) == "");
    REQUIRE(::chmod(dir.path().c_str(), 01777) == 0);
    CHECK(load_error(dir.path()).find("writable by group or others") != std::string::npos);
    CHECK_FALSE(app::projected_generation(dir.path()));
}

TEST_CASE("a key directory's *.key symlink: where it leads passes the same checks") {
    // Issue 25 item 6: a link into a group-writable directory let whoever
    // may write there swap the key.
    testutil::TempDir dir, elsewhere;
    write_key(elsewhere.file("real.key"), 'r');
    REQUIRE(::symlink(elsewhere.file("real.key").c_str(), dir.file("a.key").c_str()) == 0);
    CHECK(load_error(dir.path()) == "");
    REQUIRE(::chmod(elsewhere.path().c_str(), 0775) == 0);
    const std::string err = load_error(dir.path());
    CHECK(err.find("that " + dir.file("a.key") + " leads to") != std::string::npos);
    CHECK(err.find("writable by group or others") != std::string::npos);
}

TEST_CASE("a key directory that belongs to another user is refused, as a key file is") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot give a directory to another user here");
        return;
    }
    testutil::TempDir dir;
    write_key(dir.file("a.key"), 'a');
    REQUIRE(::chown(dir.path().c_str(), 65534, 65534) == 0);
    CHECK(load_error(dir.path()).find("belongs to another user (uid 65534)") != std::string::npos);
    // ...unless it is the -u user's, who reads the keys again on reload.
    auto opts = app::key_options(false, "sealpipe", uid_t{65534});
    CHECK(app::load_keys({dir.path()}, opts)->keys.size() == 1);
}

} // TEST_SUITE
