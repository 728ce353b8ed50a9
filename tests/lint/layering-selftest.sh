#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The layering lint must fail on each kind of violation and pass on a clean
# tree: a lint that cannot fail checks nothing.
set -eu
lint=${1:?usage: layering-selftest.sh LAYERING_SH}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
    rm -rf "$tmp/src"
    mkdir -p "$tmp/src/crypto" "$tmp/src/proto" "$tmp/src/tunnel" "$tmp/src/app" "$tmp/src/net"
    echo '#include <sodium.h>' >"$tmp/src/crypto/ok.cpp"
    echo '#include <openssl/evp.h>' >"$tmp/src/crypto/cipher_state.cpp"
    echo '#include <openssl/bn.h>' >"$tmp/src/crypto/spiped.cpp"
    echo '#include <event2/event.h>' >"$tmp/src/tunnel/ok.cpp"
    echo '#include "proto/constants.hpp"' >"$tmp/src/proto/ok.cpp"
    echo '#include "tunnel/server.hpp"' >"$tmp/src/app/ok.cpp"
}
fresh
sh "$lint" "$tmp/src" || { echo "selftest: a clean tree failed" >&2; exit 1; }
fails=0
expect_fail() {
    if sh "$lint" "$tmp/src" 2>/dev/null; then
        echo "selftest: not caught: $1" >&2
        fails=$((fails + 1))
    fi
    fresh
}
echo '#include <sodium.h>' >"$tmp/src/tunnel/bad.cpp"; expect_fail "sodium.h in tunnel/"
echo '  #  include "openssl/evp.h"' >"$tmp/src/net/bad.cpp"; expect_fail "openssl in net/"
echo '#include "tunnel/config.hpp"' >"$tmp/src/proto/bad.hpp"; expect_fail "proto/ -> tunnel/"
echo '#include "app/setup.hpp"' >"$tmp/src/proto/bad.cpp"; expect_fail "proto/ -> app/"
echo '#include "crypto/cipher_state.hpp"' >"$tmp/src/proto/bad.hpp"; expect_fail "proto/ -> crypto/"
echo '#include "tunnel/env.hpp"' >"$tmp/src/crypto/bad.cpp"; expect_fail "crypto/ -> tunnel/"
echo '#include "crypto/internal.hpp"' >"$tmp/src/tunnel/bad.cpp"; expect_fail "crypto/internal.hpp in tunnel/"
echo '#include <event2/event.h>' >"$tmp/src/app/bad.cpp"; expect_fail "libevent in app/"
echo '#include <event2/event.h>' >"$tmp/src/main.cpp"; expect_fail "libevent in a main file"
echo '#include <openssl/bn.h>' >"$tmp/src/crypto/handshake.cpp"; expect_fail "OpenSSL in another crypto/ file"
echo '#include <openssl/evp.h>' >"$tmp/src/crypto/spiped.hpp"; expect_fail "OpenSSL in a crypto/ header"
[ "$fails" -eq 0 ] || exit 1
echo "selftest: every violation caught"
