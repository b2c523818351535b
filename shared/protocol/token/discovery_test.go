package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	want := map[string]any{
		"issuer":                                     issuer,
		"authorization_endpoint":                     issuer + "/authorize",
		"token_endpoint":                             issuer + "/oauth/token",
		"revocation_endpoint":                        issuer + "/oauth/revoke",
		"userinfo_endpoint":                          issuer + "/userinfo",
		"end_session_endpoint":                       issuer + "/oidc/logout",
		"jwks_uri":                                   issuer + "/.well-known/jwks.json",
		"response_types_supported":                   []any{"code"},
		"response_modes_supported":                   []any{"query"},
		"grant_types_supported":                      []any{"authorization_code", "refresh_token", "client_credentials"},
		"code_challenge_methods_supported":           []any{"S256"},
		"token_endpoint_auth_methods_supported":      []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"revocation_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"scopes_supported":                           []any{"openid", "profile", "email", "offline_access"},
		"claims_supported": []any{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
			"name", "nickname", "given_name", "family_name", "picture", "updated_at", "email", "email_verified"},
		"subject_types_supported":                          []any{"public"},
		"id_token_signing_alg_values_supported":            []any{"RS256"},
		"authorization_response_iss_parameter_supported":   true,
		"dpop_signing_alg_values_supported":                []any{"ES256", "RS256", "PS256"},
		"token_endpoint_auth_signing_alg_values_supported": []any{"RS256", "PS256", "ES256"},
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(path, func(t *testing.T) {
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

// Discovery advertises only what works: claims_supported is exactly what an
// ID token carries, even when profile and email were granted.
func TestMetadataClaimsAreTheIDTokenClaims(t *testing.T) {
	f := newFixture(t)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	var meta struct {
		Claims []string `json:"claims_supported"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &meta); err != nil {
		t.Fatal(err)
	}
	r := f.redeem(spaID, f.newCode(codeSpec{nonce: "n-1", scope: "openid profile email offline_access read:data"}))
	wantOK(t, r)
	_, id := f.verify(r.IDToken)
	var got []string
	for k := range id {
		got = append(got, k)
	}
	if d := cmp.Diff(meta.Claims, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("claims_supported vs. the ID token's claims (-advertised +issued):\n%s", d)
	}
}

func TestJWKS(t *testing.T) {
	f := newFixture(t)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("%d Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want, err := f.signer.PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != len(want) {
		t.Fatalf("%d keys, want %d", len(doc.Keys), len(want))
	}
	for i, k := range doc.Keys {
		if k["kid"] != want[i].KeyID || k["alg"] != want[i].Alg || k["use"] != "sig" {
			t.Errorf("key %d = %v", i, k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %d publishes %q", i, private)
			}
		}
	}
	// Parsed by an independent library, the keys verify what we sign.
	keys := f.jwks()
	if len(keys) != len(want) {
		t.Fatalf("go-jose parsed %d keys", len(keys))
	}
	r := f.token(m2mID, map[string][]string{"grant_type": {"client_credentials"}, "audience": {apiData}})
	wantOK(t, r)
	f.verify(r.AccessToken)
}

func TestJWKSSignerFaultIs503(t *testing.T) {
	rs, _ := testSigners(t)
	f := newFixtureWithSigner(t, &keysFail{Signer: rs, err: fmt.Errorf("kms: %w", oauth.ErrUnavailable)})
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%d Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
}

type keysFail struct {
	oauth.Signer
	err error
}

func (k *keysFail) PublicKeys(context.Context) ([]oauth.PublicKey, error) { return nil, k.err }

func TestJWKSCacheRendersOncePerKeySet(t *testing.T) {
	rs, _ := testSigners(t)
	keys, err := rs.PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c jwksCache
	first, err := c.render(keys)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.render(append([]oauth.PublicKey(nil), keys...))
	if err != nil {
		t.Fatal(err)
	}
	if &first[0] != &again[0] {
		t.Error("unchanged keys were rendered again")
	}
	if allocs := testing.AllocsPerRun(100, func() { c.render(keys) }); allocs != 0 {
		t.Errorf("cached render allocates %v times", allocs)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rotated := append([]oauth.PublicKey{{KeyID: keys[0].KeyID, Alg: oauth.AlgES256, Key: &ec.PublicKey}}, keys[1:]...)
	changed, err := c.render(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if string(changed) == string(first) {
		t.Error("changed keys were not rendered")
	}
}
