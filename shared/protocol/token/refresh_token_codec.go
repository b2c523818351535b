package token

import (
	"bytes"
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
)

// A refresh token is self-describing so that the family can be found
// without storing raw tokens:
//
//	raw = base64url(version ‖ familyID[16] ‖ generation uint32 BE ‖ secret[32] ‖ mac[16])
//	mac = HMAC-SHA256(key, "rt-mac" ‖ everything before the mac)[:16]
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
	rtFamilyLen  = 16
	rtSecretLen  = 32
	rtMACLen     = 16
	rtBodyLen    = 1 + rtFamilyLen + 4 + rtSecretLen
	rtLen        = rtBodyLen + rtMACLen
	rtEncodedLen = (rtLen*8 + 5) / 6 // unpadded base64url

	minRefreshKeyLen = 32
)

var (
	labelMAC  = []byte("rt-mac")
	labelNext = []byte("rt-next")

	errMalformedToken = errors.New("token: malformed refresh token")
	errBadMAC         = errors.New("token: refresh token mac mismatch")
)

// refreshToken is a decoded refresh token.
type refreshToken struct {
	family     [rtFamilyLen]byte
	generation uint32
	secret     [rtSecretLen]byte
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

// codec holds one HMAC instance for a request: the three MACs of an
// exchange (check, derive the successor, sign it) share it.
type codec struct {
	key []byte
	mac hash.Hash
	sum [sha256.Size]byte
}

func newCodec(key []byte) *codec { return &codec{key: key, mac: hmac.New(sha256.New, key)} }

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
	next := refreshToken{family: t.family, generation: t.generation + 1}
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

// encode returns the raw refresh token.
func (c *codec) encode(t *refreshToken) string {
	var raw [rtLen]byte
	body := t.body()
	copy(raw[:], body[:])
	copy(raw[rtBodyLen:], c.hmac(labelMAC, body[:])[:rtMACLen])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// decode parses raw and checks its MAC. It touches nothing else: a token
// that fails here can neither reach the store nor revoke anything.
func (c *codec) decode(raw string) (refreshToken, error) {
	var t refreshToken
	if len(raw) != rtEncodedLen {
		return t, errMalformedToken
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
