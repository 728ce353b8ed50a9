#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run a test program under $SP_WRAP (e.g. valgrind), or directly.
# shellcheck disable=SC2086 # SP_WRAP is a command line: split it
exec ${SP_WRAP:-} "$@"
