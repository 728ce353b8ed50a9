#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The C++ sources are as .clang-format says (run `make format` to apply).
# Usage: format.sh SOURCE_ROOT CLANG_FORMAT (empty: skip with 77)
set -eu
root=${1:?usage: format.sh SOURCE_ROOT CLANG_FORMAT}
cf=${2-}
if [ -z "$cf" ]; then
    echo "format: clang-format not found: skipped"
    exit 77
fi
cd "$root"
files=$(find src tests/unit tests/tools tests/fuzz bench/tools -name '*.cpp' -o -name '*.hpp' | sort)
if ! "$cf" --dry-run --Werror $files; then
    echo "format: run 'make format' and commit the result" >&2
    exit 1
fi
