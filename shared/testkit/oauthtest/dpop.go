package oauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// DPoPKey is a client's DPoP key (P-256, ES256), for tests that need
// proofs as a client would send them (RFC 9449 §4.2).
type DPoPKey struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]any
	// JKT is the key's RFC 7638 thumbprint, as cnf.jkt carries it.
	JKT string
	n   atomic.Int64
}

// NewDPoPKey makes a fresh key.
func NewDPoPKey(t testing.TB) *DPoPKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	enc := base64.RawURLEncoding.EncodeToString
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, enc(x), enc(y)))
	return &DPoPKey{priv: k, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(y)}, JKT: enc(sum[:])}
}

// Proof signs a proof for method and htu issued at iat, with nonce (""
// for none) and, for a resource request, ath of accessToken ("" for none).
// Each proof has a new jti.
func (k *DPoPKey) Proof(t testing.TB, method, htu string, iat time.Time, nonce, accessToken string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	claims := map[string]any{"jti": fmt.Sprintf("jti-%d-%d", time.Now().UnixNano(), k.n.Add(1)), "htm": method, "htu": htu, "iat": iat.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = enc(sum[:])
	}
	c, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc(sig)
}
