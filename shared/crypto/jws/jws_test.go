package jws_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

type claims struct {
	Iss   string   `json:"iss"`
	Aud   string   `json:"aud"`
	Exp   int64    `json:"exp"`
	Scope string   `json:"scope"`
	Roles []string `json:"roles"`
}

var testClaims = claims{Iss: "https://issuer.example", Aud: "https://api.example", Exp: 1700000000, Scope: "read:x write:x", Roles: []string{"a", "<b>&"}}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		priv crypto.Signer
		typ  string
	}{
		{"RS256 access token verifies and returns the claims", rsaKey(), oauth.TypAccessToken},
		{"RS256 ID token verifies and returns the claims", rsaKey(), oauth.TypIDToken},
		{"ES256 access token verifies and returns the claims", ecKey(), oauth.TypAccessToken},
		{"ES256 ID token verifies and returns the claims", ecKey(), oauth.TypIDToken},
		{"a typ that needs JSON escaping survives the round trip", ecKey(), `x"y\z<`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newKeySigner(t, tc.priv)
			tok, err := jws.Sign(context.Background(), s, tc.typ, testClaims)
			if err != nil {
				t.Fatal(err)
			}
			h, payload, err := jws.Verify(tok, []oauth.PublicKey{s.publicKey()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jws.Header{Alg: s.alg, Kid: s.kid, Typ: tc.typ}, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			var got claims
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(testClaims, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignES256EmitsRawSignature(t *testing.T) {
	s := newKeySigner(t, ecKey())
	tok, err := jws.Sign(context.Background(), s, oauth.TypAccessToken, testClaims)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 64 {
		t.Errorf("ES256 signature is %d bytes, want 64 (R||S)", len(sig))
	}
}

func TestSignErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		signer func(t *testing.T) *keySigner
		claims any
		is     error
	}{
		{
			name:   "claims that cannot be JSON-encoded are an error",
			signer: func(t *testing.T) *keySigner { return newKeySigner(t, rsaKey()) },
			claims: map[string]any{"c": make(chan int)},
		},
		{
			name: "a SignDigest failure is returned wrapped",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, rsaKey())
				s.err = oauth.ErrUnavailable
				return s
			},
			claims: testClaims,
			is:     oauth.ErrUnavailable,
		},
		{
			name: "an ES256 signature that is not DER is an error",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, ecKey())
				s.sig = make([]byte, 64)
				return s
			},
			claims: testClaims,
		},
		{
			name: "an RS256 signature of the wrong size is an error",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, rsaKey())
				s.sig = make([]byte, 255)
				return s
			},
			claims: testClaims,
		},
		{
			name: "an unknown algorithm wraps ErrUnsupportedAlg",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, rsaKey())
				s.alg = "HS256"
				return s
			},
			claims: testClaims,
			is:     oauth.ErrUnsupportedAlg,
		},
		{
			name: "ES256 with an RSA key is an error",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, rsaKey())
				s.alg = oauth.AlgES256
				return s
			},
			claims: testClaims,
		},
		{
			name: "RS256 with an EC key is an error",
			signer: func(t *testing.T) *keySigner {
				s := newKeySigner(t, ecKey())
				s.alg = oauth.AlgRS256
				return s
			},
			claims: testClaims,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := jws.Sign(ctx, tc.signer(t), oauth.TypAccessToken, tc.claims)
			if err == nil {
				t.Fatalf("Sign returned %q, want an error", tok)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// token assembles a compact JWS from raw parts.
func token(header string, payload string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sig)
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	rs := newKeySigner(t, rsaKey())
	es := newKeySigner(t, ecKey())
	keys := []oauth.PublicKey{rs.publicKey(), es.publicKey()}
	rsTok, err := jws.Sign(ctx, rs, oauth.TypAccessToken, testClaims)
	if err != nil {
		t.Fatal(err)
	}
	esTok, err := jws.Sign(ctx, es, oauth.TypAccessToken, testClaims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	parts := func(tok string) []string { return strings.Split(tok, ".") }
	// signRS and signES sign header.payload with the real keys, so that only the
	// property under test (not the signature) is wrong.
	signRS := func(header, payload string) string {
		in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
		d := sha256.Sum256([]byte(in))
		sig, err := rsaKey().Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + enc.EncodeToString(sig)
	}
	signES := func(header, payload string) string {
		in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
		d := sha256.Sum256([]byte(in))
		der, err := ecdsa.SignASN1(rand.Reader, ecKey(), d[:])
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jws.DERToRaw(der)
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + enc.EncodeToString(raw)
	}
	hdr := func(alg, kid string) string { return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"}` }
	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(secret []byte) string {
		in := enc.EncodeToString([]byte(hdr("HS256", rs.kid))) + "." + enc.EncodeToString([]byte(`{"sub":"x"}`))
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + enc.EncodeToString(m.Sum(nil))
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	rp, ep := parts(rsTok), parts(esTok)

	for _, tc := range []struct {
		name  string
		token string
	}{
		{"a payload changed after signing is rejected", rp[0] + "." + enc.EncodeToString([]byte(`{"aud":"https://other.example"}`)) + "." + rp[2]},
		{"an ES256 payload changed after signing is rejected", ep[0] + "." + enc.EncodeToString([]byte(`{"aud":"https://other.example"}`)) + "." + ep[2]},
		{"a changed RS256 signature is rejected", rp[0] + "." + rp[1] + "." + flip(rp[2], 10)},
		{"a changed ES256 signature is rejected", ep[0] + "." + ep[1] + "." + flip(ep[2], 10)},
		{"a header changed after signing is rejected", enc.EncodeToString([]byte(hdr("RS256", rs.kid)[:len(hdr("RS256", rs.kid))-1]+`,"x":1}`)) + "." + rp[1] + "." + rp[2]},
		{"a typ swapped after signing is rejected", enc.EncodeToString([]byte(`{"alg":"RS256","kid":"`+rs.kid+`","typ":"JWT"}`)) + "." + rp[1] + "." + rp[2]},
		{"alg none with an empty signature is rejected", token(hdr("none", rs.kid), `{"sub":"x"}`, nil)},
		{"alg none without a kid is rejected", token(`{"alg":"none"}`, `{"sub":"x"}`, nil)},
		{"HS256 keyed with the RSA public key (alg confusion) is rejected", hs256(pubDER)},
		{"HS256 keyed with the kid is rejected", hs256([]byte(rs.kid))},
		{"RS256 in the header with the EC key's kid is rejected", signRS(hdr("RS256", es.kid), `{"sub":"x"}`)},
		{"ES256 in the header with the RSA key's kid is rejected", signES(hdr("ES256", rs.kid), `{"sub":"x"}`)},
		{"an unknown kid is rejected", signRS(hdr("RS256", "other"), `{"sub":"x"}`)},
		{"a missing kid is rejected", signRS(`{"alg":"RS256","typ":"at+jwt"}`, `{"sub":"x"}`)},
		{"a crit header is rejected even when signed", signRS(`{"alg":"RS256","kid":"`+rs.kid+`","typ":"at+jwt","crit":["exp"],"exp":1}`, `{"sub":"x"}`)},
		{"a header that is not JSON is rejected", signRS(`alg=RS256`, `{"sub":"x"}`)},
		{"a header that is a JSON array is rejected", signRS(`["RS256"]`, `{"sub":"x"}`)},
		{"two segments are rejected", rp[0] + "." + rp[1]},
		{"four segments are rejected", rsTok + "." + rp[2]},
		{"an empty token is rejected", ""},
		{"base64 padding is rejected", rp[0] + "." + rp[1] + "." + rp[2] + "=="},
		{"a line break inside a segment is rejected", rp[0][:4] + "\n" + rp[0][4:] + "." + rp[1] + "." + rp[2]},
		{"standard base64 characters are rejected", rp[0] + "." + rp[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(rp[2]) + "+"},
		{"an ES256 DER signature is rejected", func() string {
			in := ep[0] + "." + ep[1]
			d := sha256.Sum256([]byte(in))
			der, err := ecdsa.SignASN1(rand.Reader, ecKey(), d[:])
			if err != nil {
				t.Fatal(err)
			}
			return in + "." + enc.EncodeToString(der)
		}()},
		{"an ES256 signature with trailing bytes is rejected", ep[0] + "." + ep[1] + "." + enc.EncodeToString(append(mustDecode(t, ep[2]), 0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, payload, err := jws.Verify(tc.token, keys)
			if err == nil {
				t.Fatalf("Verify accepted the token: header %+v, payload %s", h, payload)
			}
			if !errors.Is(err, jws.ErrInvalid) {
				t.Errorf("error %v does not wrap jws.ErrInvalid", err)
			}
		})
	}

	t.Run("the untouched tokens are accepted (the cases above fail for their reason)", func(t *testing.T) {
		for _, tok := range []string{rsTok, esTok, signRS(hdr("RS256", rs.kid), `{"sub":"x"}`), signES(hdr("ES256", es.kid), `{"sub":"x"}`)} {
			if _, _, err := jws.Verify(tok, keys); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}
	})
	t.Run("a key whose Alg differs from the header is not used", func(t *testing.T) {
		k := rs.publicKey()
		k.Alg = oauth.AlgES256
		if _, _, err := jws.Verify(rsTok, []oauth.PublicKey{k}); err == nil {
			t.Error("Verify accepted an RS256 token with a key published as ES256")
		}
	})
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
