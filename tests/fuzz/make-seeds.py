#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Regenerate the seed corpora in tests/fuzz/corpus/<target>/.

usage: tests/fuzz/make-seeds.py

Python standard library only. Real msg1/msg2 bodies come from
tests/unit/vectors/sealpipe_v2.txt; the structured seeds follow the input
formats described at the top of each tests/fuzz/fuzz_*.cpp (the harnesses
do the encryption, so the seeds only hold plaintext choices). The seeds in
the five corpus directories are replaced; inputs merged in from campaigns
(SHA-1 names, tests/fuzz/README.md) are kept.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "unit", "vectors", "sealpipe_v2.txt")
CORPUS = os.path.join(HERE, "corpus")


def read_vectors():
    """[section name, {key: value}] in file order."""
    cases = []
    with open(VECTORS, encoding="ascii") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                cases.append((line[1:line.index("]")], {}))
                continue
            key, _, value = line.partition(" =")
            cases[-1][1][key.strip()] = value.strip()
    return cases


def field(ftype, value):
    return bytes([ftype]) + struct.pack(">H", len(value)) + value


def u8(ftype, v):
    return field(ftype, bytes([v]))


def u16(ftype, v):
    return field(ftype, struct.pack(">H", v))


VERSION, FSPOLICY, CIPHERS, HEARTBEAT, CIPHER, PROXY, PADDING = 1, 2, 3, 4, 5, 6, 0x7F
TIMESTAMP, MODE = 7, 8
V = 2  # PROTOCOL_VERSION
T0 = 1767225600  # the harnesses' clock (fuzz_handshake_responder.cpp)
PROXY_V4 = bytes([4, 192, 0, 2, 7, 127, 0, 0, 1]) + struct.pack(">HH", 51234, 5672)
PROXY_V6 = bytes([6]) + bytes(range(0x20, 0x30)) + bytes(15) + b"\x01" + struct.pack(">HH", 443, 8443)


def u64(ftype, v):
    return field(ftype, struct.pack(">Q", v))


def msg1_payload(policy=0, ciphers=1, heartbeat=30, time=T0, extra=b""):
    return (u8(VERSION, V) + u8(FSPOLICY, policy) + u8(CIPHERS, ciphers) +
            u16(HEARTBEAT, heartbeat) + u64(TIMESTAMP, time) + extra)


def msg2_payload(cipher=1, heartbeat=15, mode=0, extra=b""):
    return u8(VERSION, V) + u8(CIPHER, cipher) + u16(HEARTBEAT, heartbeat) + u8(MODE, mode) + extra


def seeds_record():
    # flags, count, then per record: type, lenmode[, u16], up to 8 body
    # bytes; then ndamage and (kind, u24 pos) per damage; then chunk sizes.
    def body_length(rtype, lenmode, length):
        sel = lenmode >> 2
        if lenmode & 3 == 0:  # the natural size; DATA: 1 + sel
            return {1: 0, 3: 0, 7: 0, 2: 1 + sel, 4: 1, 5: 8, 6: 8}.get(rtype, sel)
        if lenmode & 3 == 1:
            return sel
        if lenmode & 3 == 2:
            return length % (16384 + 32)
        return 16384 - 32 + sel

    def rec(rtype, lenmode, body=b"", length=None):
        out = bytes([rtype, lenmode])
        if length is not None:
            out += struct.pack(">H", length)
        # The harness reads the first min(length, 8) body bytes from the input.
        n = min(body_length(rtype, lenmode, length or 0), 8)
        return out + (body + b"." * n)[:n]

    natural = 0  # lenmode 0: the size the type should have
    confirm = rec(1, natural)
    close = rec(3, natural)
    rekey = rec(7, natural)
    ping = rec(5, natural, b"\x00\x01\x02\x03\x04\x05\x06\x07")
    pong = rec(6, natural, b"\x00\x01\x02\x03\x04\x05\x06\x07")
    reset = rec(4, natural, b"\x03")

    def data(text):
        return rec(2, (len(text) - 1) << 2, text)

    def stream(flags, records, damage=(), chunks=b""):
        out = bytes([flags, len(records)]) + b"".join(records)
        out += bytes([len(damage)])
        for kind, pos, *junk in damage:
            out += bytes([kind]) + pos.to_bytes(3, "big") + b"".join(junk)
        return out + chunks

    return {
        "responder-session": stream(0x02, [confirm, data(b"AMQP\x00\x00\x09\x01"), ping, rekey,
                                           data(b"after rekey"), close]),
        "responder-session-chunked": stream(0x02, [confirm, data(b"hello"), rekey, pong, close, ping],
                                            chunks=bytes([0, 1, 2, 17, 100, 130, 0])),
        "initiator-side-aes": stream(0x01, [pong, data(b"x" * 8), rekey, data(b"yz"), reset]),
        "initiator-side-chacha": stream(0x00, [data(b"abc"), close, ping, rekey, pong, reset]),
        "confirm-not-first": stream(0x02, [data(b"early"), confirm]),
        "second-confirm": stream(0x02, [confirm, confirm]),
        "confirm-from-responder": stream(0x00, [confirm]),
        "data-after-close": stream(0x00, [data(b"a"), close, data(b"b")]),
        "after-reset": stream(0x00, [reset, ping]),
        "unknown-type": stream(0x00, [data(b"ok"), rec(0x08, 1 | (3 << 2))]),
        "bad-body-size": stream(0x00, [rec(5, 1 | (7 << 2), b"1234567"), rec(4, 1 | (0 << 2))]),
        "max-body-and-over": stream(0x00, [rec(2, 3 | (32 << 2), b"max"), rec(2, 3 | (33 << 2), b"over")]),
        "long-data": stream(0x02, [confirm, rec(2, 2, b"long", 1500), close],
                            chunks=bytes([200, 160, 5, 255])),
        "bitflip-in-second": stream(0x02, [confirm, data(b"tamper me"), close], damage=[(0x0C, 25)]),
        "bitflip-in-length": stream(0x00, [data(b"len"), data(b"next")], damage=[(0x00, 1)]),
        "truncated": stream(0x02, [confirm, data(b"cut here"), close], damage=[(0x01, 30)]),
        "junk-after-close": stream(0x02, [confirm, close], damage=[(20, 0, b"\x00\x11abcd")]),
        "nonce-limit": stream(0x04 | (2 << 3), [data(b"1"), data(b"2"), data(b"3"), data(b"4")]),
        "empty": stream(0x00, []),
    }


def seeds_responder(cases):
    seeds = {}
    # Raw mode (byte 0 even): real msg1 bodies, then near misses.
    for name, v in cases:
        body = bytes.fromhex(v["msg1"])[2:]
        seeds["raw-" + name] = b"\x00" + body
    fs_require = bytes.fromhex(dict(cases)["fs-chacha-require"]["msg1"])[2:]
    seeds["raw-policy-conflict"] = bytes([2 << 1]) + fs_require  # responder -f, initiator -g
    seeds["raw-bitflip"] = b"\x00" + fs_require[:40] + bytes([fs_require[40] ^ 1]) + fs_require[41:]
    seeds["raw-short"] = b"\x00" + fs_require[:47]
    seeds["raw-oversize"] = b"\x00" + bytes(1025)

    # Structured mode (byte 0 odd): b0, keys, e kind, [e], payload1.
    def s(b0, keys, payload, e=None):
        return bytes([b0 | 1, keys, 0 if e is None else 1]) + (e or b"") + payload

    seeds["st-minimal"] = s(0x00, 0, msg1_payload())
    seeds["st-aes-offer"] = s(3 << 3, 0, msg1_payload(ciphers=3))
    seeds["st-proxy-v4"] = s(0x00, 0, msg1_payload(extra=field(PROXY, PROXY_V4)))
    seeds["st-proxy-v6-padding"] = s(0x00, 0, msg1_payload(extra=field(PROXY, PROXY_V6) +
                                                            field(PADDING, bytes(40))))
    seeds["st-proxy-unknown-reordered"] = s(0x00, 0, field(PROXY, b"\x00") + u64(TIMESTAMP, T0) +
                                            u16(HEARTBEAT, 0) + u8(CIPHERS, 1) +
                                            u8(FSPOLICY, 0) + u8(VERSION, V))
    seeds["st-peer-refuses"] = s(0x00, 0, msg1_payload(policy=2))
    seeds["st-conflict"] = s(2 << 1, 0, msg1_payload(policy=1))
    seeds["st-no-common-cipher"] = s(2 << 3, 0, msg1_payload(ciphers=1))
    seeds["st-key-4-of-8"] = s(0x00, 3 * 10 + 7, msg1_payload())
    seeds["st-key-9-ignored"] = s(0x00, 8 * 10 + 9, msg1_payload())
    seeds["st-unknown-field"] = s(0x00, 0, msg1_payload(extra=field(0x42, b"future")))
    seeds["st-duplicate-version"] = s(0x00, 0, msg1_payload(extra=u8(VERSION, V)))
    seeds["st-version-1"] = s(0x00, 0, u8(VERSION, 1) + msg1_payload()[4:])
    seeds["st-no-timestamp"] = s(0x00, 0, msg1_payload()[:-11])
    seeds["st-clock-ahead"] = s(0x00, 0, msg1_payload(time=T0 + 121))
    seeds["st-clock-behind"] = s(0x00, 0, msg1_payload(time=T0 - 120))
    seeds["st-clock-zero"] = s(0x00, 0, msg1_payload(time=0))
    seeds["st-weak-e"] = s(0x00, 0, msg1_payload(), e=bytes(32))
    seeds["st-raw-e-heartbeat"] = s(6 << 5, 0, msg1_payload(heartbeat=65535), e=bytes(range(32)))
    return seeds


def seeds_initiator(cases):
    seeds = {}
    # Raw mode: byte 0 = case index << 1 selects the vector's initiator.
    for i, (name, v) in enumerate(cases[:4]):
        body = bytes.fromhex(v["msg2"])[2:]
        seeds["raw-" + name] = bytes([i << 1]) + body
        seeds["raw-" + name + "-flipped"] = bytes([i << 1]) + body[:-1] + bytes([body[-1] ^ 0x80])
    seeds["raw-short"] = bytes([1 << 1]) + bytes(48)
    seeds["raw-random"] = bytes([0]) + bytes(range(2, 70))

    # Structured: b0 (policy, ciphers, heartbeat), b1 (key), no-DH keys,
    # e_R kind, [e_R], payload2.
    def s(b0, b1, no_dh, payload, e=None):
        return bytes([b0 | 1, b1, no_dh, 0 if e is None else 1]) + (e or b"") + payload

    seeds["st-fs-chacha"] = s(0, 0, 0, msg2_payload())
    seeds["st-fs-aes"] = s(3 << 3, 2, 0, msg2_payload(cipher=2))
    seeds["st-nofs"] = s(0, 0, 1, msg2_payload(heartbeat=0, mode=1))
    seeds["st-refuse-nofs"] = s(2 << 1 | 4 << 5, 3, 1, msg2_payload(mode=1))
    seeds["st-require-gets-nofs"] = s(1 << 1, 0, 1, msg2_payload(mode=1))
    seeds["st-refuse-gets-fs"] = s(2 << 1, 0, 0, msg2_payload())
    seeds["st-mode-lies-fs"] = s(0, 0, 1, msg2_payload(mode=0))
    seeds["st-mode-lies-nofs"] = s(0, 0, 0, msg2_payload(mode=1))
    seeds["st-mode-unknown"] = s(0, 0, 0, msg2_payload(mode=2))
    seeds["st-weak-er"] = s(0, 0, 0, msg2_payload(), e=bytes(32))
    seeds["st-cipher-not-accepted"] = s(1 << 3, 0, 0, msg2_payload(cipher=2))
    seeds["st-cipher-unknown"] = s(0, 0, 0, msg2_payload(cipher=3))
    seeds["st-missing-heartbeat"] = s(0, 0, 0, u8(VERSION, V) + u8(CIPHER, 1) + u8(MODE, 0))
    seeds["st-missing-mode"] = s(0, 0, 0, msg2_payload()[:-4])
    seeds["st-extra-fields"] = s(5 << 5, 1 | (5 << 2), 0,
                                 msg2_payload(extra=field(PROXY, PROXY_V4) + field(PADDING, b"pp")))
    return seeds


def seeds_keyfile():
    return {
        "empty": b"",
        "31-bytes": bytes(range(31)),
        "32-bytes": bytes(range(32)),
        "33-text-newline": b"0123456789abcdef0123456789abcdef\n",
        "40-bytes": bytes(range(40)),
        "64-bytes": bytes((7 * i + 3) & 0xFF for i in range(64)),
    }


def seeds_address():
    return {
        "ipv6-port": b"[::1]:5672",
        "ipv4-port": b"[127.0.0.1]:8080",
        "unix-path": b"/tmp/x.sock",
        "unix-path-107": b"/" + b"p" * 106,
        "unix-path-108": b"/" + b"p" * 107,
        "host-service": b"host:ssh",
        "host-port": b"rabbit.example.com:5671",
        "host-port-0": b"localhost:0",
        "host-port-65536": b"localhost:65536",
        "ipv6-bare": b"[2001:db8::1]",
        "ipv6-scope": b"[fe80::1%eth0]:22",
        "no-host": b":80",
        "host-only": b"example.org",
        "bad-ipv4": b"[256.1.1.1]:1",
        "unclosed": b"[::1:80",
        "many-colons": b"a:b:c",
        "leading-zeros": b"[10.0.0.1]:00080",
    }


def write(target, seeds):
    """Replace the hand-made seeds of ${target}; keep the inputs merged in
    from fuzzing campaigns (named by libFuzzer: 40 hex digits, a SHA-1)."""
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not (len(name) == 40 and all(c in "0123456789abcdef" for c in name)):
            os.remove(os.path.join(d, name))
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")


def main():
    cases = read_vectors()
    write("fuzz_record", seeds_record())
    write("fuzz_handshake_responder", seeds_responder(cases))
    write("fuzz_handshake_initiator", seeds_initiator(cases))
    write("fuzz_keyfile", seeds_keyfile())
    write("fuzz_address", seeds_address())


if __name__ == "__main__":
    main()
