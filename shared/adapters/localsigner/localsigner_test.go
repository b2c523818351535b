package localsigner_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func TestConformance(t *testing.T) {
	for _, algs := range [][]string{
		nil,
		{oauth.AlgES256},
		{oauth.AlgRS256},
		{oauth.AlgES256, oauth.AlgRS256},
	} {
		t.Run(fmtAlgs(algs), func(t *testing.T) {
			s, err := localsigner.Generate(algs...)
			if err != nil {
				t.Fatal(err)
			}
			oauthtest.RunSignerTests(t, s)
		})
	}
}

func fmtAlgs(algs []string) string {
	if len(algs) == 0 {
		return "default algs"
	}
	name := ""
	for i, a := range algs {
		if i > 0 {
			name += " and "
		}
		name += a
	}
	return name
}

// algsOf returns the algs of the published keys, in order.
func algsOf(t *testing.T, s oauth.Signer) []string {
	t.Helper()
	keys, err := s.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var algs []string
	for _, k := range keys {
		algs = append(algs, k.Alg)
	}
	return algs
}

// samePublicKey compares oauth.PublicKeys by value, keys with Equal.
var samePublicKey = cmp.Comparer(func(a, b oauth.PublicKey) bool {
	eq, ok := a.Key.(interface{ Equal(crypto.PublicKey) bool })
	return a.KeyID == b.KeyID && a.Alg == b.Alg && ok && eq.Equal(b.Key)
})

func TestGenerate(t *testing.T) {
	t.Run("no alg means RS256 (default) then ES256", func(t *testing.T) {
		s, err := localsigner.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if s.DefaultAlg() != oauth.AlgRS256 {
			t.Errorf("DefaultAlg = %s, want RS256", s.DefaultAlg())
		}
		if diff := cmp.Diff([]string{oauth.AlgRS256, oauth.AlgES256}, algsOf(t, s)); diff != "" {
			t.Errorf("published algs (-want +got):\n%s", diff)
		}
	})
	t.Run("the first alg given is the default", func(t *testing.T) {
		s, err := localsigner.Generate(oauth.AlgES256, oauth.AlgRS256)
		if err != nil {
			t.Fatal(err)
		}
		if s.DefaultAlg() != oauth.AlgES256 {
			t.Errorf("DefaultAlg = %s, want ES256", s.DefaultAlg())
		}
	})
	t.Run("two calls generate different keys", func(t *testing.T) {
		a, err := localsigner.Generate(oauth.AlgES256)
		if err != nil {
			t.Fatal(err)
		}
		b, err := localsigner.Generate(oauth.AlgES256)
		if err != nil {
			t.Fatal(err)
		}
		ka, _ := a.PublicKeys(t.Context())
		kb, _ := b.PublicKeys(t.Context())
		if ka[0].KeyID == kb[0].KeyID {
			t.Errorf("both signers have kid %s", ka[0].KeyID)
		}
	})
	t.Run("an unknown alg wraps ErrUnsupportedAlg", func(t *testing.T) {
		if _, err := localsigner.Generate("HS256"); !errors.Is(err, oauth.ErrUnsupportedAlg) {
			t.Errorf("Generate(HS256) error = %v, want ErrUnsupportedAlg", err)
		}
	})
	t.Run("an alg listed twice is an error", func(t *testing.T) {
		if _, err := localsigner.Generate(oauth.AlgES256, oauth.AlgES256); err == nil {
			t.Error("Generate(ES256, ES256) succeeded")
		}
	})
}

func TestNew(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("keys get their alg from their type and their thumbprint as kid", func(t *testing.T) {
		s, err := localsigner.New(ecKey, rsaKey)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := s.PublicKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		esKid, _ := jws.Thumbprint(ecKey.Public())
		rsKid, _ := jws.Thumbprint(rsaKey.Public())
		want := []oauth.PublicKey{
			{KeyID: esKid, Alg: oauth.AlgES256, Key: ecKey.Public()},
			{KeyID: rsKid, Alg: oauth.AlgRS256, Key: rsaKey.Public()},
		}
		if diff := cmp.Diff(want, keys, samePublicKey); diff != "" {
			t.Errorf("PublicKeys (-want +got):\n%s", diff)
		}
		if s.DefaultAlg() != oauth.AlgES256 {
			t.Errorf("DefaultAlg = %s, want ES256 (the first key)", s.DefaultAlg())
		}
	})
	t.Run("a token verifies with the public key of the given private key", func(t *testing.T) {
		s, err := localsigner.New(rsaKey)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Sign(t.Context(), "", oauth.TypAccessToken, map[string]string{"sub": "u"})
		if err != nil {
			t.Fatal(err)
		}
		kid, _ := jws.Thumbprint(rsaKey.Public())
		if _, _, err := jws.Verify(tok, []oauth.PublicKey{{KeyID: kid, Alg: oauth.AlgRS256, Key: &rsaKey.PublicKey}}); err != nil {
			t.Error(err)
		}
	})

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys []crypto.Signer
	}{
		{"no key", nil},
		{"an RSA key under 2048 bits", []crypto.Signer{small}},
		{"a P-384 key", []crypto.Signer{p384}},
		{"an Ed25519 key", []crypto.Signer{ed}},
		{"two keys for one alg", []crypto.Signer{ecKey, ecKey}},
	} {
		t.Run(tc.name+" is rejected", func(t *testing.T) {
			if _, err := localsigner.New(tc.keys...); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
