package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var (
	now      = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	endpoint = "https://auth.example.com/oauth/token"
	nonces   = &Nonces{Key: []byte(strings.Repeat("k", 32)), Slot: 5 * time.Minute}
	ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func ecJWK(k *ecdsa.PublicKey) map[string]any {
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}
}

// proof builds a proof; edit changes header and claims before signing.
func proof(t testing.TB, edit func(h, c map[string]any)) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": ecJWK(&ecKey.PublicKey)}
	c := map[string]any{"jti": "id-1", "htm": "POST", "htu": endpoint, "iat": now.Unix(), "nonce": nonces.Current(now)}
	if edit != nil {
		edit(h, c)
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	input := b64(hb) + "." + b64(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, ecKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func params() Params {
	return Params{Method: "POST", URL: endpoint, Now: now, MaxAge: 5 * time.Minute, Skew: 30 * time.Second, Nonces: nonces}
}

// Every check of RFC 9449 §4.3, each alone.
func TestCheck(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proof   func(t *testing.T) string
		params  func(p *Params)
		wantErr error
	}{
		{"a correct proof is accepted", func(t *testing.T) string { return proof(t, nil) }, nil, nil},
		{"htu compared with default port and case normalised, query ignored", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["htu"] = "HTTPS://Auth.Example.com:443/oauth/token?x=1" })
		}, nil, nil},
		{"not three parts is refused", func(*testing.T) string { return "a.b" }, nil, ErrInvalid},
		{"typ other than dpop+jwt is refused (check 4)", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) { h["typ"] = "JWT" })
		}, nil, ErrInvalid},
		{"alg none is refused (check 5)", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) { h["alg"] = "none" })
		}, nil, ErrInvalid},
		{"HS256 (a symmetric alg) is refused (check 5)", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) { h["alg"] = "HS256" })
		}, nil, ErrInvalid},
		{"a jwk with the private key is refused (check 6)", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) { h["jwk"].(map[string]any)["d"] = b64(ecKey.D.Bytes()) })
		}, nil, ErrInvalid},
		{"a missing jwk is refused", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) { delete(h, "jwk") })
		}, nil, ErrInvalid},
		{"a jwk that did not sign is refused (check 7)", func(t *testing.T) string {
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return proof(t, func(h, _ map[string]any) { h["jwk"] = ecJWK(&other.PublicKey) })
		}, nil, ErrInvalid},
		{"an RSA jwk under ES256 is refused", func(t *testing.T) string {
			return proof(t, func(h, _ map[string]any) {
				h["jwk"] = map[string]any{"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())}
			})
		}, nil, ErrInvalid},
		{"a missing jti is refused (check 8)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { delete(c, "jti") })
		}, nil, ErrInvalid},
		{"another method is refused (check 8: htm)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["htm"] = "GET" })
		}, nil, ErrInvalid},
		{"another URL is refused (check 9: htu)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["htu"] = "https://auth.example.com/oauth/revoke" })
		}, nil, ErrInvalid},
		{"another host is refused (check 9: htu)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["htu"] = "https://evil.example.com/oauth/token" })
		}, nil, ErrInvalid},
		{"an old iat is refused (check 11)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["iat"] = now.Add(-6 * time.Minute).Unix() })
		}, nil, ErrInvalid},
		{"a future iat is refused (check 11)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() })
		}, nil, ErrInvalid},
		{"a missing nonce asks for one (check 10)", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { delete(c, "nonce") })
		}, nil, ErrNonce},
		{"an expired nonce asks for a fresh one", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["nonce"] = nonces.Current(now.Add(-11 * time.Minute)) })
		}, nil, ErrNonce},
		{"the previous slot's nonce is still accepted", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["nonce"] = nonces.Current(now.Add(-5 * time.Minute)) })
		}, nil, nil},
		{"a forged nonce asks for a real one", func(t *testing.T) string {
			return proof(t, func(_, c map[string]any) { c["nonce"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
		}, nil, ErrNonce},
		{"ath must hash the access token (check 12)", func(t *testing.T) string {
			sum := sha256.Sum256([]byte("the-access-token"))
			return proof(t, func(_, c map[string]any) { c["ath"] = b64(sum[:]) })
		}, func(p *Params) { p.AccessToken = "another-token" }, ErrInvalid},
		{"a tampered payload is refused", func(t *testing.T) string {
			p := strings.Split(proof(t, nil), ".")
			other := strings.Split(proof(t, func(_, c map[string]any) { c["htm"] = "PUT" }), ".")
			return p[0] + "." + other[1] + "." + p[2]
		}, nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params()
			if tt.params != nil {
				tt.params(&p)
			}
			got, err := Check(tt.proof(t), p)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && got == nil) {
				t.Fatalf("Check = %v, %v; want error %v", got, err, tt.wantErr)
			}
		})
	}
}

// The thumbprint is RFC 7638's (its §3.1 example key and value).
func TestThumbprintIsRFC7638(t *testing.T) {
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	_, jkt, err := publicKey(json.RawMessage(`{"kty":"RSA","n":"`+n+`","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`), "RS256")
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; jkt != want {
		t.Errorf("thumbprint %s, want %s", jkt, want)
	}
}

// An RS256 proof (oauth4webapi and others default to ES256; RSA works too).
func TestRS256Proof(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "RS256", "jwk": map[string]any{
		"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}})
	c, _ := json.Marshal(map[string]any{"jti": "r", "htm": "POST", "htu": endpoint, "iat": now.Unix(), "nonce": nonces.Current(now)})
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(input+"."+b64(sig), params()); err != nil {
		t.Fatal(err)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(proof(f, nil))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Check(s, params())
		if err == nil && (p == nil || p.JKT == "") {
			t.Fatalf("accepted without a thumbprint: %q", s)
		}
		if err != nil && p != nil {
			t.Fatalf("a proof and an error: %q", s)
		}
	})
}
