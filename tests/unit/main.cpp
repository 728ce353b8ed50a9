// SPDX-License-Identifier: BSD-2-Clause
// The doctest runner for all unit tests; libsodium is initialised once.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "crypto/sodium.hpp"

int main(int argc, char **argv) {
    sealpipe::crypto::init();
    doctest::Context ctx;
    ctx.applyCommandLine(argc, argv);
    return ctx.run();
}
