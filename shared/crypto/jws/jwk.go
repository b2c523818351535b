package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// jwk holds the public members of an RSA or EC key (RFC 7518 §6.2.1, §6.3.1).
// Field order is the order of the JWKS output.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// publicJWK returns the public members of pub. Only *rsa.PublicKey and P-256
// *ecdsa.PublicKey are accepted, so private members cannot leak.
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jwk{
			Kty: "RSA",
			N:   b64.EncodeToString(k.N.Bytes()),
			E:   b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		}, nil
	case *ecdsa.PublicKey:
		point, err := p256Point(k)
		if err != nil {
			return jwk{}, err
		}
		return jwk{
			Kty: "EC",
			Crv: "P-256",
			X:   b64.EncodeToString(point[1:33]),
			Y:   b64.EncodeToString(point[33:]),
		}, nil
	default:
		return jwk{}, fmt.Errorf("jws: unsupported public key type %T", pub)
	}
}

// p256Point returns the uncompressed point 0x04||X||Y of a P-256 public key.
func p256Point(pub crypto.PublicKey) ([]byte, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("jws: ES256 needs a P-256 ECDSA public key, got %T", pub)
	}
	point, err := k.Bytes()
	if err != nil || len(point) != 65 {
		return nil, fmt.Errorf("jws: invalid P-256 public key: %v", err)
	}
	return point, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the base64url
// SHA-256 of the required members in lexicographic order (§3.2). We use it
// as the kid, so the same key always gets the same kid.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order, no whitespace (RFC 7638 §3.3); the
	// values are base64url or fixed names, so none needs escaping.
	var s string
	switch j.Kty {
	case "RSA":
		s = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	case "EC":
		s = `{"crv":"P-256","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:]), nil
}

// JWKS renders keys as a JWK Set document (RFC 7517 §5) with kid, alg and
// use "sig" on every key and public members only.
func JWKS(keys []oauth.PublicKey) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		if _, err := signatureLen(k.Alg, k.Key); err != nil {
			return nil, fmt.Errorf("jws: key %q: %w", k.KeyID, err)
		}
		j, err := publicJWK(k.Key)
		if err != nil {
			return nil, err
		}
		j.Use, j.Alg, j.Kid = "sig", k.Alg, k.KeyID
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}
