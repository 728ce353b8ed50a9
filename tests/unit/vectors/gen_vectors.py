#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Independent reference implementation of the sealpipe handshake and record
layer, written from DESIGN.md alone, used to produce the known-answer vectors
in sealpipe_v2.txt.

It shares no code with the C++ implementation and no library: X25519,
ChaCha20-Poly1305 and AES-256-GCM come from python3-cryptography (OpenSSL),
HMAC and SHA-256 from the Python standard library. Before writing anything it
checks itself against the published cacophony Noise vectors in
noise_nn_cacophony.txt and noise_nnpsk0_cacophony.txt, so the Noise core it
builds on, the psk token included, is known to be right.

Usage: gen_vectors.py > sealpipe_v2.txt   (needs: apt-get install python3-cryptography)
"""

import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))

CHACHA, AES = 1, 2
PREFER, REQUIRE, REFUSE = 0, 1, 2
FS, NOFS = 0, 1


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def hmac256(key, *parts):
    m = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        m.update(p)
    return m.digest()


def hkdf(ck, ikm, n):
    temp = hmac256(ck, ikm)
    o1 = hmac256(temp, b"\x01")
    o2 = hmac256(temp, o1, b"\x02")
    if n == 2:
        return o1, o2
    return o1, o2, hmac256(temp, o2, b"\x03")


def nonce(cipher, n):
    if cipher == CHACHA:
        return b"\x00" * 4 + struct.pack("<Q", n)
    return b"\x00" * 4 + struct.pack(">Q", n)


def aead_seal(cipher, k, n, ad, pt):
    impl = ChaCha20Poly1305(k) if cipher == CHACHA else AESGCM(k)
    return impl.encrypt(nonce(cipher, n), pt, ad)


def aead_open(cipher, k, n, ad, ct):
    impl = ChaCha20Poly1305(k) if cipher == CHACHA else AESGCM(k)
    return impl.decrypt(nonce(cipher, n), ct, ad)


def x25519_pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x25519(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


class Symmetric:
    """Noise rev 34 section 5.2 over SHA-256."""

    def __init__(self, name, cipher):
        self.cipher = cipher
        self.h = name.ljust(32, b"\x00") if len(name) <= 32 else sha256(name)
        self.ck = self.h
        self.k = None
        self.n = 0

    def mix_hash(self, data):
        self.h = sha256(self.h, data)

    def mix_key(self, ikm):
        self.ck, self.k = hkdf(self.ck, ikm, 2)
        self.n = 0

    def mix_key_and_hash(self, ikm):
        self.ck, th, self.k = hkdf(self.ck, ikm, 3)
        self.mix_hash(th)
        self.n = 0

    def encrypt_and_hash(self, pt):
        if self.k is None:
            ct = pt
        else:
            ct = aead_seal(self.cipher, self.k, self.n, self.h, pt)
            self.n += 1
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ct):
        if self.k is None:
            pt = ct
        else:
            pt = aead_open(self.cipher, self.k, self.n, self.h, ct)
            self.n += 1
        self.mix_hash(ct)
        return pt

    def split(self):
        return hkdf(self.ck, b"", 2)


# --------------------------------------------------------------------------
# Self-check against cacophony (Noise_NN_25519_{ChaChaPoly,AESGCM}_SHA256).
# --------------------------------------------------------------------------

def read_sections(path):
    sections, cur = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                cur = {}
                sections[line.strip("[]")] = cur
                continue
            k, v = (x.strip() for x in line.split("=", 1))
            cur[k] = v
    return sections


def check_cacophony():
    for fname, psk in (("noise_nn_cacophony.txt", False), ("noise_nnpsk0_cacophony.txt", True)):
        for name, v in read_sections(os.path.join(HERE, fname)).items():
            check_one(name, v, psk)


def check_one(name, v, psk):
    if True:
        cipher = AES if "AESGCM" in name else CHACHA
        b = bytes.fromhex
        ie, re_ = b(v["init_ephemeral"]), b(v["resp_ephemeral"])
        si, sr = Symmetric(name.encode(), cipher), Symmetric(name.encode(), cipher)
        for s in (si, sr):
            s.mix_hash(b(v["prologue"]))
            if psk:  # -> psk
                s.mix_key_and_hash(b(v["psk"]))
        # -> e (in a PSK handshake, e is also a MixKey)
        iep = x25519_pub(ie)
        si.mix_hash(iep)
        if psk:
            si.mix_key(iep)
        m1 = iep + si.encrypt_and_hash(b(v["payload1"]))
        assert m1 == b(v["ciphertext1"]), name
        sr.mix_hash(m1[:32])
        if psk:
            sr.mix_key(m1[:32])
        assert sr.decrypt_and_hash(m1[32:]) == b(v["payload1"])
        # <- e, ee
        rep = x25519_pub(re_)
        sr.mix_hash(rep)
        if psk:
            sr.mix_key(rep)
        sr.mix_key(x25519(re_, iep))
        m2 = rep + sr.encrypt_and_hash(b(v["payload2"]))
        assert m2 == b(v["ciphertext2"]), name
        si.mix_hash(m2[:32])
        if psk:
            si.mix_key(m2[:32])
        si.mix_key(x25519(ie, m2[:32]))
        assert si.decrypt_and_hash(m2[32:]) == b(v["payload2"])
        assert si.h == sr.h, name
        if "handshake_hash" in v:
            assert si.h == b(v["handshake_hash"]), name
        k1, k2 = si.split()
        n1 = n2 = 0
        for i in (3, 4, 5, 6):
            key, n = (k1, n1) if i % 2 else (k2, n2)
            ct = aead_seal(cipher, key, n, b"", b(v["payload%d" % i]))
            assert ct == b(v["ciphertext%d" % i]), (name, i)
            if i % 2:
                n1 += 1
            else:
                n2 += 1


# --------------------------------------------------------------------------
# sealpipe/2 (DESIGN.md sections 2 to 6).
# --------------------------------------------------------------------------

NAME = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256"
PROLOGUE = b"sealpipe/2"
VERSION = b"\x02"


def tlv(t, v):
    return bytes([t]) + struct.pack(">H", len(v)) + v


def psk_of(material):
    return hmac256(material, b"sealpipe/1 psk")


def fingerprint(psk):
    return hmac256(psk, b"sealpipe/1 fingerprint")[:4].hex()


def handshake(psk, i_policy, i_ciphers, i_hb, r_policy, r_ciphers, r_hb, ie, re_, i_time):
    """Run both sides; return (msg1, msg2, k_i2r, k_r2i, cipher, fs, hb)."""
    # Initiator, message 1: -> psk, e
    si = Symmetric(NAME, CHACHA)
    si.mix_hash(PROLOGUE)
    si.mix_key_and_hash(psk)
    i_e = ie if i_policy == REFUSE else x25519_pub(ie)
    si.mix_hash(i_e)
    si.mix_key(i_e)
    p1 = (tlv(0x01, VERSION) + tlv(0x02, bytes([i_policy])) + tlv(0x03, bytes([i_ciphers])) +
          tlv(0x04, struct.pack(">H", i_hb)) + tlv(0x07, struct.pack(">Q", i_time)))
    body1 = i_e + si.encrypt_and_hash(p1)
    msg1 = struct.pack(">H", len(body1)) + body1

    # Responder reads message 1.
    sr = Symmetric(NAME, CHACHA)
    sr.mix_hash(PROLOGUE)
    sr.mix_key_and_hash(psk)
    sr.mix_hash(body1[:32])
    sr.mix_key(body1[:32])
    assert sr.decrypt_and_hash(body1[32:]) == p1
    mode = NOFS if REFUSE in (i_policy, r_policy) else FS
    common = i_ciphers & r_ciphers
    cipher = AES if common & 2 else CHACHA

    # Responder, message 2: <- e, ee (no ee in the no-DH variant)
    r_e = re_ if mode == NOFS else x25519_pub(re_)
    sr.mix_hash(r_e)
    sr.mix_key(r_e)
    if mode == FS:
        sr.mix_key(x25519(re_, body1[:32]))
    p2 = (tlv(0x01, VERSION) + tlv(0x05, bytes([cipher])) + tlv(0x04, struct.pack(">H", r_hb)) +
          tlv(0x08, bytes([mode])))
    body2 = r_e + sr.encrypt_and_hash(p2)
    msg2 = struct.pack(">H", len(body2)) + body2

    # Initiator reads message 2.
    si.mix_hash(body2[:32])
    si.mix_key(body2[:32])
    if mode == FS:
        si.mix_key(x25519(ie, body2[:32]))
    assert si.decrypt_and_hash(body2[32:]) == p2
    assert si.h == sr.h
    k1, k2 = si.split()
    assert (k1, k2) == sr.split()
    hb = 0 if 0 in (i_hb, r_hb) else max(i_hb, r_hb)
    return msg1, msg2, k1, k2, cipher, mode == FS, hb, si.h


class Sender:
    def __init__(self, cipher, key):
        self.cipher, self.key, self.n = cipher, key, 0

    def record(self, rtype, body=b""):
        ct_len = 1 + len(body) + 16
        hdr = struct.pack(">H", ct_len)
        rec = hdr + aead_seal(self.cipher, self.key, self.n, hdr, bytes([rtype]) + body)
        self.n += 1
        if rtype == 0x07:  # REKEY: next record under HMAC(k, label)
            self.key = hmac256(self.key, b"sealpipe/1 rekey")  # label unchanged in /2
        return rec


def emit_case(out, name, material, args, proxy=b""):
    psk = psk_of(material)
    ie = sha256(b"initiator ephemeral " + name.encode())
    re_ = sha256(b"responder ephemeral " + name.encode())
    i_time = 1767225600 + len(name)  # any fixed time; the responder's is 7 s later
    msg1, msg2, k1, k2, cipher, fs, hb, h = handshake(psk, *args, ie, re_, i_time)
    i_policy, i_ciphers, i_hb, r_policy, r_ciphers, r_hb = args
    out.append("[%s]" % name)
    kv = [
        ("key_material", material.hex()), ("psk", psk.hex()), ("fingerprint", fingerprint(psk)),
        ("i_policy", i_policy), ("i_ciphers", i_ciphers), ("i_heartbeat", i_hb),
        ("r_policy", r_policy), ("r_ciphers", r_ciphers), ("r_heartbeat", r_hb),
        ("i_ephemeral", ie.hex()), ("r_ephemeral", re_.hex()), ("proxy", proxy.hex()),
        ("i_time", i_time), ("r_time", i_time + 7),
        ("msg1", msg1.hex()), ("msg2", msg2.hex()), ("handshake_hash", h.hex()),
        ("k_i2r", k1.hex()), ("k_r2i", k2.hex()),
        ("cipher", cipher), ("forward_secret", int(fs)), ("heartbeat", hb),
    ]
    si, sr = Sender(cipher, k1), Sender(cipher, k2)
    confirm = tlv(0x06, proxy) if proxy else b""  # the CONFIRM body carries ProxyAddr
    i2r = [si.record(0x01, confirm), si.record(0x02, b"AMQP\x00\x00\x09\x01"),
           si.record(0x05, bytes(range(8))), si.record(0x07),
           si.record(0x02, b"after rekey"), si.record(0x03)]
    r2i = [sr.record(0x06, bytes(range(8))), sr.record(0x02, b"x" * 300),
           sr.record(0x04, b"\x01")]
    kv.append(("records_i2r", "".join(r.hex() for r in i2r)))
    kv.append(("records_r2i", "".join(r.hex() for r in r2i)))
    for k, v in kv:
        out.append("%s = %s" % (k, v))
    out.append("")


def main():
    check_cacophony()
    out = [
        "# sealpipe/2 known-answer vectors. Generated by gen_vectors.py (an",
        "# independent Python implementation over OpenSSL, checked first",
        "# against the cacophony Noise vectors); do not edit by hand.",
        "# Ciphers masks: 1 = ChaCha20-Poly1305, 3 = both. Policies: 0 prefer,",
        "# 1 require (-g), 2 refuse (-f). Records: i2r = CONFIRM, DATA, PING,",
        "# REKEY, DATA, CLOSE; r2i = PONG, DATA (300 x 'x'), RESET(1).",
        "",
    ]
    material = bytes(range(32))
    emit_case(out, "fs-aes", material, (PREFER, 3, 30, PREFER, 3, 15),
              proxy=bytes([4]) + bytes([192, 0, 2, 7, 127, 0, 0, 1]) + struct.pack(">HH", 51234, 5672))
    emit_case(out, "fs-chacha-require", bytes(range(40)), (REQUIRE, 3, 0, PREFER, 1, 30))
    emit_case(out, "nofs-initiator-refuses", material, (REFUSE, 3, 10, PREFER, 3, 10))
    emit_case(out, "nofs-responder-refuses", material, (PREFER, 1, 10, REFUSE, 3, 0))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
