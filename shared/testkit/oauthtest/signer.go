package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// RunSignerTests runs the oauth.Signer conformance suite against s. Tokens
// are verified with the standard library only, against s.PublicKeys by kid,
// so the suite does not trust the code under test to check itself.
//
// Every algorithm among the published keys must be signable (a signer that
// publishes a previous key must also hold a current key of that algorithm).
// The suite signs about twenty tokens, so it can run against a remote signer.
func RunSignerTests(t *testing.T, s oauth.Signer) {
	t.Helper()
	keys, err := s.PublicKeys(t.Context())
	if err != nil {
		t.Fatalf("PublicKeys: %v", err)
	}
	if len(keys) == 0 {
		t.Fatal("PublicKeys returned no key")
	}
	var algs []string
	for _, k := range keys {
		if !slices.Contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}

	t.Run("published keys are RSA or P-256 public keys with unique opaque kids", func(t *testing.T) {
		kids := map[string]bool{}
		for _, k := range keys {
			if !signerKidPattern.MatchString(k.KeyID) {
				t.Errorf("kid %q is not [A-Za-z0-9_-]+", k.KeyID)
			}
			if kids[k.KeyID] {
				t.Errorf("kid %q published twice", k.KeyID)
			}
			kids[k.KeyID] = true
			if err := signerCheckKey(k); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("the default alg is RS256 or ES256 and has a published key", func(t *testing.T) {
		def := s.DefaultAlg()
		if def != oauth.AlgRS256 && def != oauth.AlgES256 {
			t.Fatalf("DefaultAlg = %q", def)
		}
		if !slices.Contains(algs, def) {
			t.Errorf("no published key for the default alg %s", def)
		}
	})

	for _, alg := range append([]string{""}, algs...) {
		wantAlg, name := alg, alg
		if alg == "" {
			wantAlg, name = s.DefaultAlg(), `alg ""`
		}
		for _, typ := range []string{oauth.TypAccessToken, oauth.TypIDToken} {
			t.Run(name+" signs a token with typ "+typ+" that verifies with its published key and keeps the claims", func(t *testing.T) {
				claims := signerClaims()
				tok, err := s.Sign(t.Context(), alg, typ, claims)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				h, payload := SignerVerify(t, tok, keys)
				if diff := cmp.Diff(map[string]string{"alg": wantAlg, "kid": h["kid"], "typ": typ}, h); diff != "" {
					t.Errorf("header must be exactly alg, kid and typ (-want +got):\n%s", diff)
				}
				signerSameJSON(t, claims, payload)
			})
		}
	}

	t.Run("kid is stable across calls", func(t *testing.T) {
		for _, alg := range algs {
			var kids []string
			for range 2 {
				tok, err := s.Sign(t.Context(), alg, oauth.TypAccessToken, signerClaims())
				if err != nil {
					t.Fatalf("Sign %s: %v", alg, err)
				}
				h, _ := SignerVerify(t, tok, keys)
				kids = append(kids, h["kid"])
			}
			if kids[0] != kids[1] {
				t.Errorf("%s: kid %q then %q", alg, kids[0], kids[1])
			}
		}
		again, err := s.PublicKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		kidsOf := func(ks []oauth.PublicKey) []string {
			var out []string
			for _, k := range ks {
				out = append(out, k.KeyID)
			}
			return out
		}
		if diff := cmp.Diff(kidsOf(keys), kidsOf(again)); diff != "" {
			t.Errorf("PublicKeys kids changed between calls (-first +second):\n%s", diff)
		}
	})

	for _, alg := range []string{"none", "HS256", "RS512", "PS256", "rs256", "ES256K"} {
		t.Run("Sign with "+alg+" is an error wrapping ErrUnsupportedAlg", func(t *testing.T) {
			tok, err := s.Sign(t.Context(), alg, oauth.TypAccessToken, signerClaims())
			if !errors.Is(err, oauth.ErrUnsupportedAlg) {
				t.Errorf("Sign(%q) = %q, %v; want an error wrapping oauth.ErrUnsupportedAlg", alg, tok, err)
			}
		})
	}

	t.Run("concurrent Sign calls all produce valid tokens", func(t *testing.T) {
		var wg sync.WaitGroup
		toks := make([]string, 4)
		errs := make([]error, len(toks))
		for i := range toks {
			wg.Go(func() { toks[i], errs[i] = s.Sign(t.Context(), "", oauth.TypAccessToken, signerClaims()) })
		}
		wg.Wait()
		for i, tok := range toks {
			if errs[i] != nil {
				t.Errorf("Sign %d: %v", i, errs[i])
				continue
			}
			SignerVerify(t, tok, keys)
		}
	})
}

var signerKidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// signerClaims are access-token-shaped claims with values that need JSON
// escaping, so that the round trip is not trivial.
func signerClaims() map[string]any {
	return map[string]any{
		"iss":       "https://issuer.example",
		"sub":       "auth0|user-1",
		"aud":       "https://api.example/v1",
		"client_id": "client-1",
		"scope":     "read:a write:b",
		"iat":       1700000000,
		"exp":       1700003600,
		"jti":       "jti-<&>\"é",
		"roles":     []string{"admin", "ünïcode"},
	}
}

func signerCheckKey(k oauth.PublicKey) error {
	switch k.Alg {
	case oauth.AlgRS256:
		if _, ok := k.Key.(*rsa.PublicKey); !ok {
			return errors.New("RS256 key " + k.KeyID + " is not an *rsa.PublicKey")
		}
	case oauth.AlgES256:
		pub, ok := k.Key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return errors.New("ES256 key " + k.KeyID + " is not a P-256 *ecdsa.PublicKey")
		}
	default:
		return errors.New("key " + k.KeyID + " has alg " + k.Alg + ", want RS256 or ES256")
	}
	return nil
}

// SignerVerify checks a compact JWS with the standard library only: strict
// base64url, a header with a known kid whose published alg it names, and an
// RS256 (PKCS #1 v1.5) or ES256 (64-byte R||S) signature. It returns the
// header members and the payload, and fails t on any error.
func SignerVerify(t testing.TB, token string, keys []oauth.PublicKey) (map[string]string, []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	enc := base64.RawURLEncoding.Strict()
	dec := func(what, s string) []byte {
		b, err := enc.DecodeString(s)
		if err != nil || strings.ContainsAny(s, "\r\n") {
			t.Fatalf("%s is not strict unpadded base64url: %v", what, err)
		}
		return b
	}
	var h map[string]string
	if err := json.Unmarshal(dec("header", parts[0]), &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	i := slices.IndexFunc(keys, func(k oauth.PublicKey) bool { return k.KeyID == h["kid"] })
	if i < 0 {
		t.Fatalf("header kid %q is not published", h["kid"])
	}
	key := keys[i]
	if h["alg"] != key.Alg {
		t.Fatalf("header alg %q, but key %s is published for %s", h["alg"], key.KeyID, key.Alg)
	}
	sig := dec("signature", parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("RS256 signature: %v", err)
		}
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			t.Fatalf("ES256 signature is %d bytes, want 64 (R||S, RFC 7518 §3.4)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			t.Fatal("ES256 signature does not verify")
		}
	default:
		t.Fatalf("key %s has type %T", key.KeyID, key.Key)
	}
	return h, dec("payload", parts[1])
}

// signerSameJSON fails t unless payload is the JSON encoding of claims (up
// to member order and escaping).
func signerSameJSON(t *testing.T, claims any, payload []byte) {
	t.Helper()
	want, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &g); err != nil {
		t.Fatalf("payload is not JSON: %v", err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}
