// SPDX-License-Identifier: BSD-2-Clause

// noise_peer is a second implementation of one end of the sealpipe protocol,
// written from DESIGN.md alone over the flynn/noise library (Debian's
// golang-github-flynn-noise-dev), so that tests/e2e/32-noise-interop.sh can
// check the real daemons against code nobody here wrote: the handshake is
// flynn/noise's Noise_NNpsk0_25519_ChaChaPoly_SHA256, untouched; only the
// payloads (DESIGN.md §4) and the records (§5) are written here.
//
//	noise_peer -role initiator -addr HOST:PORT -key FILE -in FILE -out FILE
//	    connect to a sealpiped -d, send FILE through it, write what comes
//	    back to -out, end with CLOSE both ways
//	noise_peer -role responder -addr HOST:PORT -key FILE -out FILE
//	    accept one connection from a sealpiped -e, echo every byte back,
//	    answer CLOSE with CLOSE; what was received goes to -out
//
// It speaks the forward-secret mode only (the no-DH variant is not a Noise
// protocol), offers and picks ChaCha20-Poly1305, turns heartbeats off, and
// exits 0 only after a clean end: both CLOSEs exchanged. Build:
// GO111MODULE=off GOPATH=/usr/share/gocode go build noise_peer.go
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/flynn/noise"
)

// DESIGN.md §2, §3.1, §4, §5.
const (
	pskLabel  = "sealpipe/1 psk"
	prologue  = "sealpipe/2"
	version   = 2
	hsBodyMax = 1024

	fVersion   = 0x01
	fFsPolicy  = 0x02
	fCiphers   = 0x03
	fHeartbeat = 0x04
	fCipher    = 0x05
	fProxyAddr = 0x06
	fTimestamp = 0x07
	fMode      = 0x08

	rConfirm = 0x01
	rData    = 0x02
	rClose   = 0x03
	rReset   = 0x04
	rPing    = 0x05
	rPong    = 0x06
	rRekey   = 0x07

	bodyMax = 16384
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "noise_peer: "+format+"\n", args...)
	os.Exit(1)
}

// --- payloads: type u8 || len u16be || value --------------------------------

func field(t byte, v []byte) []byte {
	out := []byte{t, byte(len(v) >> 8), byte(len(v))}
	return append(out, v...)
}

func parseFields(p []byte) (map[byte][]byte, error) {
	m := map[byte][]byte{}
	for len(p) > 0 {
		if len(p) < 3 {
			return nil, errors.New("truncated field")
		}
		t, n := p[0], int(p[1])<<8|int(p[2])
		if n > len(p)-3 {
			return nil, errors.New("field runs past the end")
		}
		if _, dup := m[t]; dup {
			return nil, fmt.Errorf("field 0x%02x repeats", t)
		}
		m[t] = p[3 : 3+n]
		p = p[3+n:]
	}
	return m, nil
}

// --- handshake messages: u16be length || body -------------------------------

func writeFrame(c net.Conn, body []byte) error {
	_, err := c.Write(append([]byte{byte(len(body) >> 8), byte(len(body))}, body...))
	return err
}

func readFrame(c net.Conn) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[0])<<8 | int(hdr[1])
	if n < 48 || n > hsBodyMax {
		return nil, fmt.Errorf("handshake message of %d bytes", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c, body)
	return body, err
}

// --- records: u16be len || AEAD(k, n, ad = len, type || body) ---------------

type direction struct {
	c noise.Cipher
	n uint64
}

func (d *direction) seal(t byte, body []byte) []byte {
	ctLen := 1 + len(body) + 16
	hdr := []byte{byte(ctLen >> 8), byte(ctLen)}
	rec := d.c.Encrypt(append([]byte{}, hdr...), d.n, hdr, append([]byte{t}, body...))
	d.n++
	return rec
}

func (d *direction) open(c net.Conn) (byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, nil, err
	}
	ctLen := int(hdr[0])<<8 | int(hdr[1])
	if ctLen < 17 || ctLen > 1+bodyMax+16 {
		return 0, nil, fmt.Errorf("record length %d out of range", ctLen)
	}
	ct := make([]byte, ctLen)
	if _, err := io.ReadFull(c, ct); err != nil {
		return 0, nil, err
	}
	pt, err := d.c.Decrypt(nil, d.n, hdr[:], ct)
	if err != nil {
		return 0, nil, errors.New("record authentication failed")
	}
	d.n++
	return pt[0], pt[1:], nil
}

func config(psk []byte, initiator bool) noise.Config {
	return noise.Config{
		CipherSuite:           noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashSHA256),
		Pattern:               noise.HandshakeNN,
		Initiator:             initiator,
		Prologue:              []byte(prologue),
		PresharedKey:          psk,
		PresharedKeyPlacement: 0,
	}
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// The initiator's side of §3.3: msg1, msg2, and the session.
func initiate(c net.Conn, psk []byte) (send, recv *direction) {
	hs, err := noise.NewHandshakeState(config(psk, true))
	if err != nil {
		fail("%v", err)
	}
	p1 := field(fVersion, []byte{version})
	p1 = append(p1, field(fFsPolicy, []byte{0})...)
	p1 = append(p1, field(fCiphers, []byte{1})...)
	p1 = append(p1, field(fHeartbeat, u16(0))...)
	p1 = append(p1, field(fTimestamp, u64(uint64(time.Now().Unix())))...)
	msg1, _, _, err := hs.WriteMessage(nil, p1)
	if err != nil {
		fail("write msg1: %v", err)
	}
	if err := writeFrame(c, msg1); err != nil {
		fail("send msg1: %v", err)
	}
	body, err := readFrame(c)
	if err != nil {
		fail("no msg2 (wrong key, clock skew or not a sealpiped -d?): %v", err)
	}
	p2, i2r, r2i, err := hs.ReadMessage(nil, body)
	if err != nil {
		fail("msg2 does not authenticate: %v", err)
	}
	f, err := parseFields(p2)
	if err != nil {
		fail("payload2: %v", err)
	}
	if string(f[fVersion]) != string([]byte{version}) || string(f[fMode]) != "\x00" ||
		string(f[fCipher]) != "\x01" || len(f[fHeartbeat]) != 2 {
		fail("payload2 is not version 2, forward secret, ChaCha20-Poly1305: %x", p2)
	}
	return &direction{c: i2r.Cipher()}, &direction{c: r2i.Cipher()}
}

// The responder's side of §3.3-3.4.
func respond(c net.Conn, psk []byte) (send, recv *direction) {
	hs, err := noise.NewHandshakeState(config(psk, false))
	if err != nil {
		fail("%v", err)
	}
	body, err := readFrame(c)
	if err != nil {
		fail("no msg1: %v", err)
	}
	p1, _, _, err := hs.ReadMessage(nil, body)
	if err != nil {
		fail("msg1 does not authenticate: %v", err)
	}
	f, err := parseFields(p1)
	if err != nil {
		fail("payload1: %v", err)
	}
	if string(f[fVersion]) != string([]byte{version}) || len(f[fFsPolicy]) != 1 ||
		len(f[fCiphers]) != 1 || f[fCiphers][0]&1 == 0 || len(f[fHeartbeat]) != 2 ||
		len(f[fTimestamp]) != 8 {
		fail("payload1 lacks a required field: %x", p1)
	}
	if f[fFsPolicy][0] == 2 {
		fail("the initiator refuses forward secrecy (-f); this peer speaks NNpsk0 only")
	}
	skew := int64(binary.BigEndian.Uint64(f[fTimestamp])) - time.Now().Unix()
	if skew < -120 || skew > 120 {
		fail("msg1 stamped %d s from our clock", skew)
	}
	p2 := field(fVersion, []byte{version})
	p2 = append(p2, field(fCipher, []byte{1})...)
	p2 = append(p2, field(fHeartbeat, u16(0))...)
	p2 = append(p2, field(fMode, []byte{0})...)
	msg2, i2r, r2i, err := hs.WriteMessage(nil, p2)
	if err != nil {
		fail("write msg2: %v", err)
	}
	if err := writeFrame(c, msg2); err != nil {
		fail("send msg2: %v", err)
	}
	return &direction{c: r2i.Cipher()}, &direction{c: i2r.Cipher()}
}

func main() {
	role := flag.String("role", "", "initiator or responder")
	addr := flag.String("addr", "", "HOST:PORT to connect to (initiator) or listen on (responder)")
	keyFile := flag.String("key", "", "the key file")
	in := flag.String("in", "", "initiator: the file to send")
	out := flag.String("out", "", "what the peer sent, as received")
	flag.Parse()
	material, err := os.ReadFile(*keyFile)
	if err != nil {
		fail("%v", err)
	}
	m := hmac.New(sha256.New, material)
	m.Write([]byte(pskLabel))
	psk := m.Sum(nil) // DESIGN.md §2
	sink, err := os.Create(*out)
	if err != nil {
		fail("%v", err)
	}
	defer sink.Close()

	var c net.Conn
	var send, recv *direction
	switch *role {
	case "initiator":
		if c, err = net.DialTimeout("tcp", *addr, 10*time.Second); err != nil {
			fail("%v", err)
		}
		send, recv = initiate(c, psk)
	case "responder":
		l, err := net.Listen("tcp", *addr)
		if err != nil {
			fail("%v", err)
		}
		fmt.Printf("listening on %s\n", *addr)
		if c, err = l.Accept(); err != nil {
			fail("%v", err)
		}
		l.Close()
		send, recv = respond(c, psk)
	default:
		fail("-role initiator|responder")
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))

	// §5.2-5.4. The initiator's first record is CONFIRM (no client address),
	// then the file as DATA and a CLOSE; the responder echoes DATA and answers
	// CLOSE with CLOSE.
	if *role == "initiator" {
		data, err := os.ReadFile(*in)
		if err != nil {
			fail("%v", err)
		}
		wire := send.seal(rConfirm, nil)
		for off := 0; off < len(data); off += bodyMax {
			end := off + bodyMax
			if end > len(data) {
				end = len(data)
			}
			wire = append(wire, send.seal(rData, data[off:end])...)
		}
		wire = append(wire, send.seal(rClose, nil)...)
		go func() {
			if _, err := c.Write(wire); err != nil {
				fail("send: %v", err)
			}
		}()
	}
	first := true
	for {
		t, body, err := recv.open(c)
		if err != nil {
			fail("after %d records: %v (a truncation if the peer did not CLOSE)", recv.n, err)
		}
		if *role == "responder" && first && t != rConfirm {
			fail("the first record is 0x%02x, not CONFIRM", t)
		}
		switch t {
		case rConfirm:
			if *role != "responder" || !first {
				fail("CONFIRM out of place")
			}
			f, err := parseFields(body)
			if err != nil {
				fail("CONFIRM body: %v", err)
			}
			if a, ok := f[fProxyAddr]; ok && len(a) == 13 && a[0] == 4 { // §4.3
				fmt.Printf("client address in CONFIRM: %d.%d.%d.%d:%d\n", a[1], a[2], a[3], a[4],
					int(a[9])<<8|int(a[10]))
			}
		case rData:
			sink.Write(body)
			if *role == "responder" {
				if _, err := c.Write(send.seal(rData, body)); err != nil {
					fail("echo: %v", err)
				}
			}
		case rClose:
			if *role == "responder" {
				if _, err := c.Write(send.seal(rClose, nil)); err != nil {
					fail("close: %v", err)
				}
			}
			fmt.Printf("clean end: %d records received\n", recv.n)
			return
		case rPing:
			if _, err := c.Write(send.seal(rPong, body)); err != nil {
				fail("pong: %v", err)
			}
		case rPong:
		case rReset:
			fail("the peer sent RESET (reason %d)", body[0])
		case rRekey:
			fail("the peer rekeyed; this peer does not implement §6.3")
		default:
			fail("unknown record type 0x%02x", t)
		}
		first = false
	}
}
