package token

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A refresh token is self-describing so that the family can be found
// without storing raw tokens. Version 1 names its family:
//
//	raw = base64url(1 ‖ familyID[16] ‖ generation uint32 BE ‖ secret[32] ‖ mac[16])
//	mac = HMAC-SHA256(key, "rt-mac" ‖ everything before the mac)[:16]
//
// Version 2 (issued since) also carries the family's fixed facts (client,
// user, audience, scopes, auth time, creation, absolute expiry, DPoP key),
// so an exchange needs no read of the family: its one conditional write
// checks the rest. Everything is sealed, so the token stays opaque (a
// holder can read nothing from it and change nothing in it):
//
//	raw   = base64url(2 ‖ nonce[12] ‖ AES-256-GCM(sealKey, nonce, plain, aad = 2))
//	plain = familyID[16] ‖ generation uint32 BE ‖ secret[32] ‖ facts
//	nonce = HMAC-SHA256(key, "rt-nonce" ‖ familyID ‖ generation)[:12]
//	sealKey = HMAC-SHA256(key, "rt-seal-key")
//
// The nonce is synthetic: a (family, generation) pair always has the same
// plaintext (the facts never change, the secret is derived), so equal
// nonces only ever seal equal plaintexts, and a token's successor is still
// a function of the token. The GCM tag does the MAC's work.
//
// The first token of a family has a random secret; the successor of
// generation n is generation n+1 with secret
// HMAC-SHA256(key, "rt-next" ‖ parent secret ‖ n+1). The successor is thus a
// function of its parent: concurrent rotations and retries inside the
// leeway get the same token back, and only hashes are stored. The MAC
// protects the embedded family id (RFC 9700 §4.14.2), so a forged token is
// refused before the store is read.
const (
	rtVersion    = 1
	rtSealed     = 2
	rtNonceLen   = 12
	rtPlainLen   = rtFamilyLen + 4 + rtSecretLen
	rtFamilyLen  = 16
	rtSecretLen  = 32
	rtMACLen     = 16
	rtBodyLen    = 1 + rtFamilyLen + 4 + rtSecretLen
	rtLen        = rtBodyLen + rtMACLen
	rtEncodedLen = (rtLen*8 + 5) / 6 // unpadded base64url

	minRefreshKeyLen = 32

	// maxSealedLen bounds a version-2 token's raw bytes (base64url makes
	// 4/3 of it). A grant whose facts do not fit gets a version-1 family.
	maxSealedLen = 1536
)

var (
	labelMAC  = []byte("rt-mac")
	labelNext = []byte("rt-next")
	// The messages under the key differ in length per label (rt-mac: 59
	// bytes, rt-next: 43, rt-nonce: 28, rt-again: 24, rt-seal-key: 11), so
	// no two uses can collide.
	labelNonce = []byte("rt-nonce")
	labelSeal  = []byte("rt-seal-key")
	labelAgain = []byte("rt-again")

	errMalformedToken = errors.New("token: malformed refresh token")
	errBadMAC         = errors.New("token: refresh token mac mismatch")
)

// refreshToken is a decoded refresh token.
type refreshToken struct {
	family     [rtFamilyLen]byte
	generation uint32
	secret     [rtSecretLen]byte
	// facts, in a version-2 token, are the family's fields that never
	// change (ID, ClientID, UserID, Audience, Scopes, AuthTime, CreatedAt,
	// ExpiresAt, DPoPJKT); nil in a version-1 token.
	facts *oauth.Family
}

// familyID is the family id as stored (oauth.NewID: hex of 16 bytes).
func (t *refreshToken) familyID() string { return hex.EncodeToString(t.family[:]) }

// newRefreshToken starts a family: generation 0, a 256-bit random secret.
func newRefreshToken(familyID string, r io.Reader) (refreshToken, error) {
	var t refreshToken
	if hex.DecodedLen(len(familyID)) != rtFamilyLen {
		return t, fmt.Errorf("token: family id %q is not 16 hex bytes", familyID)
	}
	if _, err := hex.Decode(t.family[:], []byte(familyID)); err != nil {
		return t, fmt.Errorf("token: family id %q: %w", familyID, err)
	}
	if _, err := io.ReadFull(r, t.secret[:]); err != nil {
		return t, fmt.Errorf("token: random: %w", err)
	}
	return t, nil
}

// redeliveryToken is generation 1 of f with a secret derived from the
// family id alone, so every retry of a code in doubt gets the same token
// (settle.go). It carries the family's facts as stored.
func redeliveryToken(c *codec, f *oauth.Family) (refreshToken, error) {
	t, err := newRefreshToken(f.ID, bytes.NewReader(make([]byte, rtSecretLen)))
	if err != nil {
		return t, err
	}
	copy(t.secret[:], c.hmac(labelAgain, t.family[:]))
	t.generation, t.facts = 1, sealedFacts(f)
	return t, nil
}

// codec holds one HMAC instance and one AEAD for a request: the MACs of
// an exchange (check, derive the successor, seal it) share them.
type codec struct {
	key  []byte
	mac  hash.Hash
	aead cipher.AEAD
	sum  [sha256.Size]byte
	buf  []byte // plaintext scratch
}

func newCodec(key []byte) *codec {
	c := &codec{key: key, mac: hmac.New(sha256.New, key)}
	block, err := aes.NewCipher(c.hmac(labelSeal)) // 32 bytes: AES-256
	if err != nil {
		panic(err) // unreachable: the key length is fixed
	}
	if c.aead, err = cipher.NewGCM(block); err != nil {
		panic(err)
	}
	return c
}

// codecFor takes a codec for key from the handler's pool: hmac.New costs
// several allocations per request. Return it with h.codecs.Put once no
// slice of its sum is in use.
func (h *handler) codecFor(key []byte) *codec {
	if c, ok := h.codecs.Get().(*codec); ok && bytes.Equal(c.key, key) {
		return c
	}
	return newCodec(key)
}

func (c *codec) hmac(label []byte, parts ...[]byte) []byte {
	c.mac.Reset()
	c.mac.Write(label)
	for _, p := range parts {
		c.mac.Write(p)
	}
	return c.mac.Sum(c.sum[:0])
}

// successor derives the token that replaces t on rotation.
func (c *codec) successor(t *refreshToken) (refreshToken, error) {
	if t.generation == math.MaxUint32 {
		return refreshToken{}, errors.New("token: refresh token generation overflow")
	}
	next := refreshToken{family: t.family, generation: t.generation + 1, facts: t.facts}
	var g [4]byte
	binary.BigEndian.PutUint32(g[:], next.generation)
	copy(next.secret[:], c.hmac(labelNext, t.secret[:], g[:]))
	return next, nil
}

func (t *refreshToken) body() [rtBodyLen]byte {
	var b [rtBodyLen]byte
	b[0] = rtVersion
	copy(b[1:], t.family[:])
	binary.BigEndian.PutUint32(b[1+rtFamilyLen:], t.generation)
	copy(b[1+rtFamilyLen+4:], t.secret[:])
	return b
}

// encode returns the raw refresh token: sealed (version 2) when it
// carries its family's facts.
func (c *codec) encode(t *refreshToken) string {
	if t.facts != nil {
		return c.seal(t)
	}
	var raw [rtLen]byte
	body := t.body()
	copy(raw[:], body[:])
	copy(raw[rtBodyLen:], c.hmac(labelMAC, body[:])[:rtMACLen])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// decode parses raw and checks its MAC or seal. It touches nothing else:
// a token that fails here can neither reach the store nor revoke anything.
func (c *codec) decode(raw string) (refreshToken, error) {
	var t refreshToken
	if len(raw) != rtEncodedLen {
		return c.open(raw)
	}
	var b [rtLen]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(raw))
	if err != nil || n != rtLen || b[0] != rtVersion {
		return t, errMalformedToken
	}
	if !hmac.Equal(c.hmac(labelMAC, b[:rtBodyLen])[:rtMACLen], b[rtBodyLen:]) {
		return t, errBadMAC
	}
	copy(t.family[:], b[1:])
	t.generation = binary.BigEndian.Uint32(b[1+rtFamilyLen:])
	copy(t.secret[:], b[1+rtFamilyLen+4:rtBodyLen])
	return t, nil
}

func checkRefreshKey(key []byte) error {
	if len(key) < minRefreshKeyLen {
		return fmt.Errorf("token: refresh key has %d bytes, want at least %d", len(key), minRefreshKeyLen)
	}
	return nil
}

// seal encodes a version-2 token.
func (c *codec) seal(t *refreshToken) string {
	var g [4]byte
	binary.BigEndian.PutUint32(g[:], t.generation)
	var head [1 + rtNonceLen]byte
	head[0] = rtSealed
	copy(head[1:], c.hmac(labelNonce, t.family[:], g[:])[:rtNonceLen])

	plain := append(c.buf[:0], t.family[:]...)
	plain = append(plain, g[:]...)
	plain = append(plain, t.secret[:]...)
	plain = appendFacts(plain, t.facts)
	out := make([]byte, 0, len(head)+len(plain)+c.aead.Overhead())
	out = append(out, head[:]...)
	out = c.aead.Seal(out, head[1:], plain, head[:1])
	clear(plain)
	c.buf = plain
	return base64.RawURLEncoding.EncodeToString(out)
}

// open decodes a version-2 token.
func (c *codec) open(raw string) (refreshToken, error) {
	var t refreshToken
	// The decoder skips line breaks even in strict mode: refused here, so
	// one token has one spelling (and one hash).
	if len(raw) > base64.RawURLEncoding.EncodedLen(maxSealedLen) || strings.ContainsAny(raw, "\r\n") {
		return t, errMalformedToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) < 1+rtNonceLen+rtPlainLen+c.aead.Overhead() || b[0] != rtSealed {
		return t, errMalformedToken
	}
	plain, err := c.aead.Open(c.buf[:0], b[1:1+rtNonceLen], b[1+rtNonceLen:], b[:1])
	if err != nil {
		return t, errBadMAC
	}
	defer func() { clear(plain); c.buf = plain }()
	copy(t.family[:], plain)
	t.generation = binary.BigEndian.Uint32(plain[rtFamilyLen:])
	copy(t.secret[:], plain[rtFamilyLen+4:rtPlainLen])
	if t.facts, err = readFacts(plain[rtPlainLen:]); err != nil {
		return refreshToken{}, err
	}
	t.facts.ID = t.familyID()
	// The nonce is a function of family and generation: anything else was
	// not sealed here (and keeps every accepted token canonical).
	var g [4]byte
	binary.BigEndian.PutUint32(g[:], t.generation)
	if !hmac.Equal(c.hmac(labelNonce, t.family[:], g[:])[:rtNonceLen], b[1:1+rtNonceLen]) {
		return refreshToken{}, errBadMAC
	}
	return t, nil
}

// appendFacts encodes a family's fixed facts: five length-prefixed
// strings, then three times in Unix nanoseconds (0: none).
func appendFacts(b []byte, f *oauth.Family) []byte {
	for _, s := range [...]string{f.ClientID, f.UserID, f.Audience, strings.Join(f.Scopes, " "), f.DPoPJKT} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range [...]time.Time{f.AuthTime, f.CreatedAt, f.ExpiresAt} {
		var n int64
		if !t.IsZero() {
			n = t.UnixNano()
		}
		b = binary.AppendVarint(b, n)
	}
	return b
}

func readFacts(b []byte) (*oauth.Family, error) {
	var s [5]string
	for i := range s {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errMalformedToken
		}
		s[i], b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	var ts [3]time.Time
	for i := range ts {
		n, k := binary.Varint(b)
		if k <= 0 {
			return nil, errMalformedToken
		}
		if n != 0 {
			ts[i] = time.Unix(0, n).UTC()
		}
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, errMalformedToken
	}
	f := &oauth.Family{ClientID: s[0], UserID: s[1], Audience: s[2], DPoPJKT: s[4], AuthTime: ts[0], CreatedAt: ts[1], ExpiresAt: ts[2]}
	if s[3] != "" {
		f.Scopes = strings.Split(s[3], " ")
	}
	return f, nil
}

// sealedFacts returns the facts of f that a version-2 token carries, or
// nil when they would make the token longer than maxSealedLen.
func sealedFacts(f *oauth.Family) *oauth.Family {
	facts := &oauth.Family{
		ID: f.ID, ClientID: f.ClientID, UserID: f.UserID, Audience: f.Audience, Scopes: f.Scopes,
		AuthTime: f.AuthTime, CreatedAt: f.CreatedAt, ExpiresAt: f.ExpiresAt, DPoPJKT: f.DPoPJKT,
	}
	if 1+rtNonceLen+rtPlainLen+len(appendFacts(nil, facts))+16 > maxSealedLen {
		return nil
	}
	return facts
}
