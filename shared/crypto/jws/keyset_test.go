package jws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

func TestKeySet(t *testing.T) {
	ctx := context.Background()
	rs, es := newKeySigner(t, rsaKey()), newKeySigner(t, ecKey())
	old := oauth.PublicKey{KeyID: "old-key", Alg: oauth.AlgRS256, Key: rsaKey().Public()}
	// The previous key reuses the RSA public key under another kid: what
	// matters here is that it is published, not what it verifies.
	ks, err := jws.NewKeySet([]jws.DigestSigner{es, rs}, []oauth.PublicKey{old})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the first current signer's alg is the default", func(t *testing.T) {
		if got := ks.DefaultAlg(); got != oauth.AlgES256 {
			t.Errorf("DefaultAlg = %s, want ES256", got)
		}
	})
	t.Run("PublicKeys lists current keys in order, then previous ones", func(t *testing.T) {
		got, err := ks.PublicKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []oauth.PublicKey{es.publicKey(), rs.publicKey(), old}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b oauth.PublicKey) bool {
			return a.KeyID == b.KeyID && a.Alg == b.Alg && a.Key == b.Key
		})); diff != "" {
			t.Errorf("PublicKeys (-want +got):\n%s", diff)
		}
	})
	t.Run("changing the returned slice does not change the set", func(t *testing.T) {
		got, _ := ks.PublicKeys(ctx)
		got[0] = oauth.PublicKey{KeyID: "evil"}
		again, _ := ks.PublicKeys(ctx)
		if again[0].KeyID != es.kid {
			t.Errorf("PublicKeys()[0].KeyID = %s after the caller changed its copy", again[0].KeyID)
		}
	})
	for _, tc := range []struct {
		name, alg, typ string
		want           *keySigner
	}{
		{"alg \"\" signs with the default key", "", oauth.TypAccessToken, es},
		{"RS256 signs with the RSA key", oauth.AlgRS256, oauth.TypAccessToken, rs},
		{"ES256 signs with the EC key", oauth.AlgES256, oauth.TypIDToken, es},
		{"a typ without a precomputed header is encoded on the fly", oauth.AlgRS256, "logout+jwt", rs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ks.Sign(ctx, tc.alg, tc.typ, testClaims)
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := jws.Verify(tok, []oauth.PublicKey{tc.want.publicKey()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jws.Header{Alg: tc.want.alg, Kid: tc.want.kid, Typ: tc.typ}, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
	for _, alg := range []string{"HS256", "none", "PS256", "RS384"} {
		t.Run("Sign with "+alg+" wraps ErrUnsupportedAlg", func(t *testing.T) {
			if tok, err := ks.Sign(ctx, alg, oauth.TypAccessToken, testClaims); !errors.Is(err, oauth.ErrUnsupportedAlg) {
				t.Errorf("Sign = %q, %v; want ErrUnsupportedAlg", tok, err)
			}
		})
	}
	t.Run("a signer outage is returned wrapping ErrUnavailable", func(t *testing.T) {
		down := newKeySigner(t, rsaKey())
		down.err = oauth.ErrUnavailable
		ks, err := jws.NewKeySet([]jws.DigestSigner{down}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Sign(ctx, "", oauth.TypAccessToken, testClaims); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("Sign error = %v, want ErrUnavailable", err)
		}
	})
}

func TestNewKeySetRejects(t *testing.T) {
	rs, es := newKeySigner(t, rsaKey()), newKeySigner(t, ecKey())
	rsAsES := newKeySigner(t, rsaKey())
	rsAsES.alg = oauth.AlgES256
	noKid := newKeySigner(t, ecKey())
	noKid.kid = ""
	hs := newKeySigner(t, rsaKey())
	hs.alg = "HS256"
	for _, tc := range []struct {
		name     string
		current  []jws.DigestSigner
		previous []oauth.PublicKey
	}{
		{"no current signer", nil, []oauth.PublicKey{rs.publicKey()}},
		{"two current signers for one alg", []jws.DigestSigner{rs, newKeySigner(t, rsaKey())}, nil},
		{"a signer whose key does not suit its alg", []jws.DigestSigner{rsAsES}, nil},
		{"a signer with an unsupported alg", []jws.DigestSigner{hs}, nil},
		{"a signer without a kid", []jws.DigestSigner{noKid}, nil},
		{"a previous key with a current key's kid", []jws.DigestSigner{rs}, []oauth.PublicKey{rs.publicKey()}},
		{"two previous keys with one kid", []jws.DigestSigner{rs}, []oauth.PublicKey{es.publicKey(), es.publicKey()}},
		{"a previous key whose alg does not suit it", []jws.DigestSigner{rs}, []oauth.PublicKey{{KeyID: "x", Alg: oauth.AlgRS256, Key: ecKey().Public()}}},
		{"a previous private key", []jws.DigestSigner{rs}, []oauth.PublicKey{{KeyID: "x", Alg: oauth.AlgES256, Key: ecKey()}}},
	} {
		t.Run(tc.name+" is rejected", func(t *testing.T) {
			if _, err := jws.NewKeySet(tc.current, tc.previous); err == nil {
				t.Error("NewKeySet succeeded, want an error")
			}
		})
	}
}

func BenchmarkSignRS256(b *testing.B) {
	benchmarkSign(b, newKeySigner(b, rsaKey()))
}

func BenchmarkSignES256(b *testing.B) {
	benchmarkSign(b, newKeySigner(b, ecKey()))
}

func benchmarkSign(b *testing.B, s *keySigner) {
	ks, err := jws.NewKeySet([]jws.DigestSigner{s}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ks.Sign(ctx, "", oauth.TypAccessToken, testClaims); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) {
	benchmarkVerify(b, newKeySigner(b, rsaKey()))
}

func BenchmarkVerifyES256(b *testing.B) {
	benchmarkVerify(b, newKeySigner(b, ecKey()))
}

func benchmarkVerify(b *testing.B, s *keySigner) {
	tok, err := jws.Sign(context.Background(), s, oauth.TypAccessToken, testClaims)
	if err != nil {
		b.Fatal(err)
	}
	keys := []oauth.PublicKey{s.publicKey()}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := jws.Verify(tok, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// ParseJWKS reads back what JWKS renders, and Verify accepts a token with it.
func TestParseJWKSReadsWhatJWKSRenders(t *testing.T) {
	ctx := context.Background()
	ks, err := jws.NewKeySet([]jws.DigestSigner{newKeySigner(t, rsaKey()), newKeySigner(t, ecKey())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := ks.PublicKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, err := jws.JWKS(pubs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jws.ParseJWKS(body)
	if err != nil || len(got) != len(pubs) {
		t.Fatalf("ParseJWKS: %d keys, %v; want %d", len(got), err, len(pubs))
	}
	for _, alg := range []string{oauth.AlgRS256, oauth.AlgES256} {
		tok, err := ks.Sign(ctx, alg, oauth.TypAccessToken, map[string]string{"sub": "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := jws.Verify(tok, got); err != nil {
			t.Errorf("%s: Verify with the parsed JWKS: %v", alg, err)
		}
	}
}
