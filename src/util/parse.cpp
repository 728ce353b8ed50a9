// SPDX-License-Identifier: BSD-2-Clause
#include "util/parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sealpipe::util {

uint64_t parse_uint(std::string_view s, uint64_t min, uint64_t max) {
    const std::string str(s);
    if (str.empty() || str.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("'" + str + "' is not a whole number");
    errno = 0;
    unsigned long long v = std::strtoull(str.c_str(), nullptr, 10);
    if (errno == ERANGE || v < min || v > max)
        throw std::invalid_argument("'" + str + "' is out of range (" + std::to_string(min) +
                                    " to " + std::to_string(max) + ")");
    return v;
}

double parse_seconds(std::string_view s, double max) {
    const std::string str(s);
    if (str.empty() || str.find_first_not_of("0123456789.") != std::string::npos)
        throw std::invalid_argument("'" + str + "' is not a number of seconds");
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(str.c_str(), &end);
    if (end != str.c_str() + str.size() || errno == ERANGE || !std::isfinite(v))
        throw std::invalid_argument("'" + str + "' is not a number of seconds");
    if (v < 0 || v > max)
        throw std::invalid_argument("'" + str + "' is out of range (0 to " +
                                    std::to_string(static_cast<long long>(max)) + " seconds)");
    return v;
}

unsigned parse_mode(std::string_view s) {
    const std::string str(s);
    if (str.empty() || str.size() > 5 || str.find_first_not_of("01234567") != std::string::npos)
        throw std::invalid_argument("'" + str + "' is not an octal file mode such as 0660");
    unsigned long v = std::strtoul(str.c_str(), nullptr, 8);
    if (v > 07777)
        throw std::invalid_argument("'" + str + "' is not an octal file mode such as 0660");
    return static_cast<unsigned>(v);
}

} // namespace sealpipe::util
