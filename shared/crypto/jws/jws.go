// Package jws signs and verifies JWTs in the JWS compact serialization
// (RFC 7515 §7.1) with RS256 and ES256 (RFC 7518 §3.3, §3.4), renders JWKS
// documents and computes JWK thumbprints (RFC 7638). It is the one place that
// knows the wire format; key custody stays with a DigestSigner.
package jws

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Header is the JOSE protected header we emit and accept.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// DigestSigner holds one private key. SignDigest signs a SHA-256 digest:
// RS256 returns the PKCS #1 v1.5 signature, ES256 the ASN.1 DER signature,
// as AWS KMS (ECDSA_SHA_256, MessageType DIGEST) and ecdsa.SignASN1 do.
type DigestSigner interface {
	KeyID() string
	Alg() string
	Public() crypto.PublicKey
	SignDigest(ctx context.Context, digest []byte) ([]byte, error)
}

// es256SigLen is the size of an ES256 JWS signature: R||S, 32 bytes each
// (RFC 7518 §3.4).
const es256SigLen = 64

var b64 = base64.RawURLEncoding

// Sign returns the compact JWS of claims (JSON-encoded) with the header
// {"alg","kid","typ"} from s.
func Sign(ctx context.Context, s DigestSigner, typ string, claims any) (string, error) {
	sigLen, err := signatureLen(s.Alg(), s.Public())
	if err != nil {
		return "", err
	}
	return sign(ctx, s, s.Alg(), encodeHeader(s.Alg(), s.KeyID(), typ), sigLen, claims)
}

// sign is Sign with the header already encoded and the signature size known,
// so that KeySet does that work once per key instead of once per token.
func sign(ctx context.Context, s DigestSigner, alg, encHeader string, sigLen int, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jws: encode claims: %w", err)
	}
	buf := make([]byte, 0, len(encHeader)+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(sigLen))
	buf = append(buf, encHeader...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	// The signing input is hashed here, so a remote signer gets 32 bytes
	// whatever the token size (KMS RAW messages are limited to 4096 bytes).
	digest := sha256.Sum256(buf)
	sig, err := s.SignDigest(ctx, digest[:])
	if err != nil {
		return "", fmt.Errorf("jws: sign with key %q: %w", s.KeyID(), err)
	}
	buf = append(buf, '.')
	switch alg {
	case oauth.AlgRS256:
		if len(sig) != sigLen {
			return "", fmt.Errorf("jws: key %q returned a %d-byte RS256 signature, want %d", s.KeyID(), len(sig), sigLen)
		}
		buf = b64.AppendEncode(buf, sig)
	case oauth.AlgES256:
		var raw [es256SigLen]byte
		if err := derToRaw(&raw, sig); err != nil {
			return "", fmt.Errorf("jws: key %q: %w", s.KeyID(), err)
		}
		buf = b64.AppendEncode(buf, raw[:])
	}
	return string(buf), nil
}

// signatureLen checks that pub suits alg and returns the JWS signature size.
func signatureLen(alg string, pub crypto.PublicKey) (int, error) {
	switch alg {
	case oauth.AlgRS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return 0, fmt.Errorf("jws: RS256 needs an RSA public key, got %T", pub)
		}
		return k.Size(), nil
	case oauth.AlgES256:
		if _, err := p256Point(pub); err != nil {
			return 0, err
		}
		return es256SigLen, nil
	default:
		return 0, fmt.Errorf("%w: %q", oauth.ErrUnsupportedAlg, alg)
	}
}

// encodeHeader returns the base64url encoding of {"alg":..,"kid":..,"typ":..}.
func encodeHeader(alg, kid, typ string) string {
	b := make([]byte, 0, 32+len(alg)+len(kid)+len(typ))
	b = append(b, `{"alg":`...)
	b = appendJSONString(b, alg)
	b = append(b, `,"kid":`...)
	b = appendJSONString(b, kid)
	b = append(b, `,"typ":`...)
	b = appendJSONString(b, typ)
	b = append(b, '}')
	return b64.EncodeToString(b)
}

// appendJSONString appends s as a JSON string; plain ASCII (every kid and
// typ we use) is copied as is, anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
