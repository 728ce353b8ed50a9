#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The layering rules of ARCHITECTURE.md, checked on every #include in src/:
#  1. only src/crypto/ includes a crypto library header (libsodium,
#     OpenSSL's libcrypto);
#  2. proto/ (the wire format) includes nothing from crypto/, tunnel/,
#     app/, net/ or sys/: it is pure bytes, and crypto/ builds on it (the
#     record layer takes its cipher as a template argument), so the two
#     never depend on each other;
#  3. crypto/ includes nothing from tunnel/, app/ or net/;
#  4. app/ includes no libevent header: the event loop is tunnel/'s and
#     net/'s business;
#  5. crypto/internal.hpp (the primitives under the crypto API) is
#     included only in src/crypto/ (tests, fuzzers and the bench may);
#  6. within src/crypto/, OpenSSL's libcrypto is confined to its two
#     modules, cipher_state.cpp (the record AEADs) and spiped.cpp (spiped's
#     protocol), and no header includes it: their types stay opaque.
# Usage: layering.sh SRC_DIR. Prints each offending line; exits 1 if any.
set -eu
src=${1:?usage: layering.sh SRC_DIR}
status=0

# check DESCRIPTION DIRS PATTERN: any include matching PATTERN under DIRS.
check() {
    what=$1 dirs=$2 pattern=$3
    for d in $dirs; do
        [ -d "$src/$d" ] || continue
        if hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" "$src/$d"); then
            printf '%s\n' "$hits" >&2
            echo "layering: $what" >&2
            status=1
        fi
    done
}

others=$(cd "$src" && find . -mindepth 1 -maxdepth 1 -type d ! -name crypto | sed 's|^\./||')
check "a crypto library header outside src/crypto/" "$others" 'sodium(\.h|/)|openssl/'
check "proto/ includes a higher layer" proto 'crypto/|tunnel/|app/|net/|sys/'
check "crypto/ includes a higher layer" crypto 'tunnel/|app/|net/'
check "crypto/internal.hpp outside src/crypto/" "$others" 'crypto/internal\.hpp'
check "app/ includes a libevent header" app 'event2/|event\.h'
if [ -d "$src/crypto" ]; then
    for f in "$src"/crypto/*; do
        case ${f##*/} in cipher_state.cpp | spiped.cpp) continue ;; esac
        if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]openssl/' "$f" >&2; then
            echo "layering: $f includes OpenSSL (only cipher_state.cpp and spiped.cpp may)" >&2
            status=1
        fi
    done
fi
# The programs' main files sit at the top of src/ and count as app/.
for f in "$src"/*.cpp; do
    [ -f "$f" ] || continue
    if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](event2/|sodium|openssl/)' "$f" >&2; then
        echo "layering: $f includes a libevent or crypto header" >&2
        status=1
    fi
done
exit $status
