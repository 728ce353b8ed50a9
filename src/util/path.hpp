// SPDX-License-Identifier: BSD-2-Clause
// Path helpers shared by key loading (app/setup.cpp) and the sandbox policy
// (app/confine.cpp), which must agree on which directory holds a key.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <unistd.h>

namespace sealpipe::util {

// The directory part of ${path}: "." for a bare name, "/" for "/x".
inline std::string dir_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// ${path} with every symlink resolved (realpath(3)), or ${path} itself if
// that fails.
inline std::string real_path(const std::string &path) {
    char *real = ::realpath(path.c_str(), nullptr);
    std::string out = real != nullptr ? real : path;
    std::free(real);
    return out;
}

// The target of symlink ${path}, whole however long; nullopt (errno set)
// if ${path} is not a symlink or cannot be read.
inline std::optional<std::string> read_link(const std::string &path) {
    std::string target(256, '\0');
    while (true) {
        const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
        if (n < 0)
            return std::nullopt;
        if (static_cast<size_t>(n) < target.size()) {
            target.resize(static_cast<size_t>(n));
            return target;
        }
        target.resize(target.size() * 2); // perhaps cut short: read again
    }
}

} // namespace sealpipe::util
