// SPDX-License-Identifier: BSD-2-Clause
#include "app/defaults.hpp"

#include "config.h"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace sealpipe::app {

namespace {

struct Row {
    std::string_view option;
    std::string_view value;
};

#define SEALPIPE_ROW(name, option, value) {option, #value},
constexpr Row ROWS[] = {SEALPIPE_NUMERIC_DEFAULTS(SEALPIPE_ROW){"--cipher", "auto"},
                        {"--protocol", "sealpipe"},
                        {"--sandbox", "auto"}};
#undef SEALPIPE_ROW

#if SEALPIPE_TEST_HOOKS
uint64_t shortened(const char *name, uint64_t limit) {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return limit;
    char *end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    return *end == '\0' && n > 0 && n < limit ? n : limit;
}
#endif

} // namespace

proto::RekeyLimits rekey_limits() {
    proto::RekeyLimits limits;
#if SEALPIPE_TEST_HOOKS
    limits.records = shortened("SEALPIPE_TEST_REKEY_RECORDS", limits.records);
    limits.seconds = shortened("SEALPIPE_TEST_REKEY_SECONDS", limits.seconds);
#endif
    return limits;
}

std::string default_sandbox() {
#if SEALPIPE_TEST_HOOKS
    if (const char *v = std::getenv("SEALPIPE_TEST_SANDBOX"); v != nullptr && *v != '\0')
        return v;
#endif
    return defaults::SANDBOX;
}

std::string expand_defaults(const char *text) {
    static constexpr std::string_view OPEN = "{default:";
    std::string out;
    std::string_view in(text);
    while (true) {
        const size_t at = in.find(OPEN);
        out.append(in.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        const size_t end = in.find('}', at);
        const std::string_view option = in.substr(at + OPEN.size(), end - at - OPEN.size());
        std::string_view value;
        for (const Row &r : ROWS)
            if (r.option == option)
                value = r.value;
        if (value.empty())
            throw std::logic_error("no default for " + std::string(option));
        out.append(value);
        in.remove_prefix(end + 1);
    }
}

} // namespace sealpipe::app
