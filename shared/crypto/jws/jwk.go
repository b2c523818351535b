package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
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

// ParseJWKS reads a JWK Set (RFC 7517 §5) of RSA and P-256 signing keys,
// as JWKS renders it; keys of other types are skipped.
func ParseJWKS(b []byte) ([]oauth.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jws: JWKS: %w", err)
	}
	var out []oauth.PublicKey
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		key, err := parseJWK(k)
		if err != nil {
			continue
		}
		out = append(out, oauth.PublicKey{KeyID: k.Kid, Alg: k.Alg, Key: key})
	}
	return out, nil
}

func parseJWK(k jwk) (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding
	switch {
	case k.Kty == "RSA" && k.Alg == oauth.AlgRS256:
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case k.Kty == "EC" && k.Crv == "P-256" && k.Alg == oauth.AlgES256:
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad EC key")
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) {
			return nil, errors.New("EC point not on the curve")
		}
		return pub, nil
	}
	return nil, errors.New("unsupported key")
}
