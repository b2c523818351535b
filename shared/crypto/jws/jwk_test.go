package jws_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

func TestThumbprint(t *testing.T) {
	t.Run("the RFC 7638 §3.1 example RSA key has the published thumbprint", func(t *testing.T) {
		n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
		if err != nil {
			t.Fatal(err)
		}
		got, err := jws.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
		if err != nil {
			t.Fatal(err)
		}
		if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
			t.Errorf("Thumbprint = %s, want %s", got, want)
		}
	})
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
	}{
		{"an RSA thumbprint matches go-jose", rsaKey().Public()},
		{"a P-256 thumbprint matches go-jose", ecKey().Public()},
		{"a P-256 key with short coordinates matches go-jose", shortCoordinateKey(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jws.Thumbprint(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := (&jose.JSONWebKey{Key: tc.pub}).Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(sum); got != want {
				t.Errorf("Thumbprint = %s, go-jose says %s", got, want)
			}
		})
	}
	t.Run("keys other than RSA and P-256 have no thumbprint", func(t *testing.T) {
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, pub := range []crypto.PublicKey{p384.Public(), rsaKey(), []byte("secret")} {
			if got, err := jws.Thumbprint(pub); err == nil {
				t.Errorf("Thumbprint(%T) = %s, want an error", pub, got)
			}
		}
	})
}

// shortCoordinateKey returns a P-256 key whose X or Y has a leading zero
// byte, which must still be encoded as 32 bytes (RFC 7518 §6.2.1.2).
func shortCoordinateKey(t *testing.T) crypto.PublicKey {
	t.Helper()
	for range 10000 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		b, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if b[1] == 0 || b[33] == 0 {
			return k.Public()
		}
	}
	t.Fatal("no short-coordinate key found")
	return nil
}

func TestJWKS(t *testing.T) {
	short := shortCoordinateKey(t)
	shortKid, err := jws.Thumbprint(short)
	if err != nil {
		t.Fatal(err)
	}
	rs, es := newKeySigner(t, rsaKey()), newKeySigner(t, ecKey())
	keys := []oauth.PublicKey{rs.publicKey(), es.publicKey(), {KeyID: shortKid, Alg: oauth.AlgES256, Key: short}}
	doc, err := jws.JWKS(keys)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every key has public members only, with kid, alg and use sig", func(t *testing.T) {
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(doc, &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != len(keys) {
			t.Fatalf("JWKS has %d keys, want %d", len(set.Keys), len(keys))
		}
		for i, k := range set.Keys {
			want := []string{"alg", "e", "kid", "kty", "n", "use"}
			if k["kty"] == "EC" {
				want = []string{"alg", "crv", "kid", "kty", "use", "x", "y"}
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for m := range k {
					if !yield(m) {
						return
					}
				}
			})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("key %d members (-want +got):\n%s", i, diff)
			}
			if k["use"] != "sig" || k["kid"] != keys[i].KeyID || k["alg"] != keys[i].Alg {
				t.Errorf("key %d = %v, want use sig, kid %s, alg %s", i, k, keys[i].KeyID, keys[i].Alg)
			}
		}
	})

	t.Run("go-jose parses the set into the same public keys", func(t *testing.T) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(doc, &set); err != nil {
			t.Fatal(err)
		}
		for _, want := range keys {
			found := set.Key(want.KeyID)
			if len(found) != 1 {
				t.Fatalf("go-jose finds %d keys with kid %s", len(found), want.KeyID)
			}
			k := found[0]
			if !k.IsPublic() || !k.Valid() || k.Algorithm != want.Alg || k.Use != "sig" {
				t.Errorf("go-jose key %s: public %v valid %v alg %s use %s", want.KeyID, k.IsPublic(), k.Valid(), k.Algorithm, k.Use)
			}
			if eq, ok := want.Key.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(k.Key) {
				t.Errorf("go-jose key %s is %v, want %v", want.KeyID, k.Key, want.Key)
			}
		}
	})

	t.Run("private keys, other curves and mismatched algs are refused", func(t *testing.T) {
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []oauth.PublicKey{
			{KeyID: "a", Alg: oauth.AlgRS256, Key: rsaKey()},
			{KeyID: "b", Alg: oauth.AlgES256, Key: ecKey()},
			{KeyID: "c", Alg: oauth.AlgES256, Key: p384.Public()},
			{KeyID: "d", Alg: oauth.AlgES256, Key: rsaKey().Public()},
			{KeyID: "e", Alg: "HS256", Key: rsaKey().Public()},
		} {
			if doc, err := jws.JWKS([]oauth.PublicKey{k}); err == nil {
				t.Errorf("JWKS(%s %T) = %s, want an error", k.Alg, k.Key, doc)
			}
		}
	})

	t.Run("an empty key list renders an empty keys array", func(t *testing.T) {
		doc, err := jws.JWKS(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(doc) != `{"keys":[]}` {
			t.Errorf("JWKS(nil) = %s", doc)
		}
	})
}

// TestGoJoseInterop checks our tokens against an independent implementation
// in both directions.
func TestGoJoseInterop(t *testing.T) {
	ctx := context.Background()
	for _, priv := range []crypto.Signer{rsaKey(), ecKey()} {
		s := newKeySigner(t, priv)
		doc, err := jws.JWKS([]oauth.PublicKey{s.publicKey()})
		if err != nil {
			t.Fatal(err)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(doc, &set); err != nil {
			t.Fatal(err)
		}
		alg := jose.SignatureAlgorithm(s.alg)

		t.Run("go-jose verifies our "+s.alg+" token with our JWKS", func(t *testing.T) {
			tok, err := jws.Sign(ctx, s, oauth.TypAccessToken, testClaims)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatal(err)
			}
			h := parsed.Signatures[0].Protected
			if h.KeyID != s.kid || h.Algorithm != s.alg || h.ExtraHeaders["typ"] != oauth.TypAccessToken {
				t.Errorf("go-jose header %+v", h)
			}
			payload, err := parsed.Verify(set.Key(s.kid)[0])
			if err != nil {
				t.Fatal(err)
			}
			var got claims
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(testClaims, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})

		t.Run("we verify a "+s.alg+" token signed by go-jose", func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: s.kid}},
				(&jose.SignerOptions{}).WithType(oauth.TypAccessToken))
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(`{"sub":"user-1"}`)
			obj, err := signer.Sign(want)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			h, got, err := jws.Verify(tok, []oauth.PublicKey{s.publicKey()})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) || h.Kid != s.kid || h.Typ != oauth.TypAccessToken {
				t.Errorf("Verify = %+v %s", h, got)
			}
		})
	}
}
