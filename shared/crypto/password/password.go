// Package password hashes and verifies user passwords with argon2id
// (RFC 9106), stored as PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.
package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes: OWASP's first argon2id choice (Password Storage
// Cheat Sheet: m=19 MiB, t=2, p=1), about 25 ms on one core of a small
// machine — slow for guessing, cheap enough for a login Lambda.
const (
	Memory  = 19 * 1024 // KiB
	Time    = 2
	Threads = 1

	saltLen = 16
	keyLen  = 32
)

// Bounds on parameters read from a stored hash, so that a corrupt or hostile
// record cannot make Verify allocate gigabytes or spin for minutes.
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 16
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrMalformed: the stored string is not an argon2id PHC string we accept.
var ErrMalformed = errors.New("password: malformed argon2id hash")

var b64 = base64.RawStdEncoding.Strict()

// Hash returns the PHC string of password with a fresh salt read from r
// (crypto/rand in production).
func Hash(password string, r io.Reader) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := params{memory: Memory, time: Time, threads: Threads, salt: salt, keyLen: keyLen}
	return p.encode(p.key(password)), nil
}

// Verify reports whether password matches the PHC string phc, comparing in
// constant time. A malformed phc is an error wrapping ErrMalformed.
func Verify(phc, password string) (bool, error) {
	p, want, err := decode(phc)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(p.key(password), want) == 1, nil
}

// dummyHash is Hash("dummy", ...) with the current parameters; it is never a
// user's hash (VerifyDummy ignores the outcome).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXktc2FsdC0xMjM0NQ$FzdKPrf01KPtM+Y1Stc7nPJhSkOIl0935nX3q3E3T0M"

// VerifyDummy spends the same time as Verify of a real hash. Call it when a
// sign-in names an unknown user, so response times do not reveal which
// usernames exist.
func VerifyDummy(password string) {
	p, want, err := decode(dummyHash)
	if err != nil {
		panic("password: dummy hash: " + err.Error())
	}
	subtle.ConstantTimeCompare(p.key(password), want)
}

type params struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	keyLen  uint32
}

func (p params) key(password string) []byte {
	return argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, p.keyLen)
}

func (p params) encode(key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(p.salt), b64.EncodeToString(key))
}

// decode parses a PHC string strictly: the exact field order Hash writes,
// decimal numbers without signs or leading zeros, unpadded base64.
func decode(phc string) (params, []byte, error) {
	var p params
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, ErrMalformed
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return p, nil, ErrMalformed
	}
	m, okM := number(kv[0], "m=", 8, maxMemory)
	t, okT := number(kv[1], "t=", 1, maxTime)
	th, okP := number(kv[2], "p=", 1, maxThreads)
	if !okM || !okT || !okP || m < 8*th { // RFC 9106 §3.1: m >= 8p
		return p, nil, ErrMalformed
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, ErrMalformed
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, ErrMalformed
	}
	p = params{memory: uint32(m), time: uint32(t), threads: uint8(th), salt: salt, keyLen: uint32(len(key))}
	return p, key, nil
}

// number parses "prefix<decimal>" with min <= value <= max.
func number(s, prefix string, min, max int) (int, bool) {
	d, ok := strings.CutPrefix(s, prefix)
	if !ok || d == "" || len(d) > 7 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range []byte(d) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= min && n <= max
}
