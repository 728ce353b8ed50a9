// SPDX-License-Identifier: BSD-2-Clause
#include "proto/limits.hpp"
#include "proto/constants.hpp"

#include "config.h"

#include <cstdlib>

namespace sealpipe::proto {

namespace {

#if SEALPIPE_TEST_HOOKS
uint64_t from_env(const char *name, uint64_t limit) noexcept {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return limit;
    char *end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    return *end == '\0' && n > 0 && n < limit ? n : limit;
}
#endif

RekeyLimits load() noexcept {
#if SEALPIPE_TEST_HOOKS
    return {from_env("SEALPIPE_TEST_REKEY_RECORDS", REKEY_AFTER_RECORDS),
            from_env("SEALPIPE_TEST_REKEY_SECONDS", REKEY_AFTER_SECONDS)};
#else
    return {REKEY_AFTER_RECORDS, REKEY_AFTER_SECONDS};
#endif
}

} // namespace

const RekeyLimits &rekey_limits() noexcept {
    static const RekeyLimits limits = load();
    return limits;
}

bool test_hooks_built() noexcept {
    return SEALPIPE_TEST_HOOKS != 0;
}

} // namespace sealpipe::proto
