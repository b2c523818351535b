package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// NewOpaque returns a URL-safe random string of 256 bits from r (crypto/rand
// in production), for codes, session ids, client secrets and ids.
func NewOpaque(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("oauth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewID returns a random identifier of 128 bits from r, hex-encoded.
func NewID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("oauth: random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// HashToken is the stored form of a code, refresh token, session id or
// client secret: hex SHA-256. These values carry 256 random bits, so a fast
// hash is enough (RFC 9700 §4.14.2 wants them unguessable, not stretched).
func HashToken(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// VerifySecret reports whether secret hashes to hash, in constant time.
func VerifySecret(hash, secret string) bool {
	got := HashToken(secret)
	return len(hash) == len(got) && subtle.ConstantTimeCompare([]byte(hash), []byte(got)) == 1
}
