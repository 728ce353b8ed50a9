// SPDX-License-Identifier: BSD-2-Clause
// Small helpers shared by the unit tests: hex, vector files, temp dirs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace testutil {

using Bytes = std::vector<uint8_t>;

inline Bytes hex(const std::string &s) {
    if (s.size() % 2 != 0)
        throw std::invalid_argument("odd hex length");
    Bytes out;
    for (size_t i = 0; i < s.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string to_hex(const uint8_t *p, size_t n) {
    static const char *d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

// A file of "[section]" headers followed by "key = value" lines; "#" starts
// a comment line. Returns section -> key -> value, in file order of sections.
using Sections = std::vector<std::pair<std::string, std::map<std::string, std::string>>>;

inline Sections read_sections(const std::string &name) {
    const std::string path = std::string(SEALPIPE_TEST_VECTORS) + "/" + name;
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    Sections out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        if (line[0] == '[') {
            out.emplace_back(line.substr(1, line.find(']') - 1),
                             std::map<std::string, std::string>{});
            continue;
        }
        auto eq = line.find(" = ");
        std::string key = line.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : line.substr(eq + 3);
        if (eq == std::string::npos) { // "key =" with an empty value
            key = line.substr(0, line.find(" ="));
        }
        out.back().second[key] = value;
    }
    return out;
}

// A temporary directory removed (with its files) at scope exit.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/sp-unit-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path_ + "'";
        [[maybe_unused]] int rc = std::system(cmd.c_str());
    }
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

} // namespace testutil
