package local_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

// devServer serves local.Routes with the default seed, as `make run` does.
func devServer(t *testing.T) (*httptest.Server, *memstore.Store) {
	t.Helper()
	s := localserver.Start(t, localserver.Options{})
	return s.Server, s.Store
}

// verifier checks JWTs with go-jose against the published JWKS only.
type verifier struct {
	t    *testing.T
	keys jose.JSONWebKeySet
}

func newVerifier(t *testing.T, base string) *verifier {
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v := &verifier{t: t}
	if err := json.NewDecoder(resp.Body).Decode(&v.keys); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	for _, k := range v.keys.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS publishes a private key %q", k.KeyID)
		}
	}
	return v
}

// claims verifies token and returns its header typ and claims.
func (v *verifier) claims(token string) (string, map[string]any) {
	v.t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		v.t.Fatalf("parse JWT: %v", err)
	}
	h := jws.Signatures[0].Protected
	keys := v.keys.Key(h.KeyID)
	if len(keys) != 1 {
		v.t.Fatalf("kid %q not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		v.t.Fatalf("signature does not verify with the JWKS key: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		v.t.Fatal(err)
	}
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	return typ, c
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func TestEndToEnd(t *testing.T) {
	srv, store := devServer(t)
	ctx := context.Background()
	v := newVerifier(t, srv.URL)

	t.Run("client credentials with x/oauth2 yield an RFC 9068 token for one audience", func(t *testing.T) {
		cc := clientcredentials.Config{
			ClientID: "demo-m2m", ClientSecret: "demo-m2m-secret-change-me",
			TokenURL: srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"audience": {"https://api.example.com"}},
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		typ, c := v.claims(tok.AccessToken)
		if typ != "at+jwt" {
			t.Errorf("typ = %q, want at+jwt", typ)
		}
		want := map[string]any{"iss": srv.URL, "aud": "https://api.example.com", "client_id": "demo-m2m", "scope": "read:data", "sub": "demo-m2m@clients"}
		for k, w := range want {
			if c[k] != w {
				t.Errorf("claim %s = %v, want %v", k, c[k], w)
			}
		}
		if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 900 {
			t.Errorf("exp - iat = %v, want the API's token_lifetime 900", exp-iat)
		}
	})

	t.Run("code exchange then MRRT refresh to the billing API with x/oauth2", func(t *testing.T) {
		// The authorize handler mints codes; here one is written to the store.
		code, verifierStr := "e2e-code-"+strings.Repeat("x", 40), strings.Repeat("v", 50)
		now := time.Now()
		if err := store.CreateCode(ctx, &oauth.AuthCode{
			Hash: oauth.HashToken(code), ClientID: "demo-spa", RedirectURI: "https://app.example.com/callback",
			CodeChallenge: s256(verifierStr), CodeChallengeMethod: "S256", Audience: "https://api.example.com",
			Scopes: []string{"openid", "offline_access", "read:data"}, UserID: "auth0|demo", AuthTime: now, ExpiresAt: now.Add(time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		conf := oauth2.Config{
			ClientID: "demo-spa", RedirectURL: "https://app.example.com/callback",
			Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		}
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifierStr))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Fatalf("code exchange gave no refresh or ID token: %+v", tok)
		}
		_, c := v.claims(tok.AccessToken)
		if c["aud"] != "https://api.example.com" || c["sub"] != "auth0|demo" {
			t.Errorf("access token claims = %v", c)
		}
		typ, idc := v.claims(tok.Extra("id_token").(string))
		if typ != "JWT" || idc["aud"] != "demo-spa" {
			t.Errorf("ID token typ %q claims %v", typ, idc)
		}

		// Refresh for the original audience through x/oauth2's token source.
		tok.Expiry = time.Now().Add(-time.Minute)
		refreshed, err := conf.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatal(err)
		}
		if refreshed.RefreshToken == tok.RefreshToken {
			t.Error("the SPA's refresh token did not rotate")
		}
		_, c = v.claims(refreshed.AccessToken)
		// Rule 1: original scopes plus the policy's scopes for that audience.
		got := strings.Fields(c["scope"].(string))
		slices.Sort(got)
		if diff := cmp.Diff([]string{"offline_access", "openid", "read:data", "write:data"}, got); diff != "" {
			t.Errorf("scope (-want +got):\n%s", diff)
		}

		// The audience switch (Auth0's audience parameter).
		resp, err := http.PostForm(srv.URL+"/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"demo-spa"},
			"refresh_token": {refreshed.RefreshToken}, "audience": {"https://billing.example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body oauth.TokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("audience switch: status %d, %v", resp.StatusCode, err)
		}
		_, c = v.claims(body.AccessToken)
		// The grant's OIDC scopes come along (Auth0 echoes them), and so
		// does an ID token: auth0-spa-js verifies one on every response.
		if c["aud"] != "https://billing.example.com" || c["scope"] != "openid offline_access read:billing" || body.Scope != "openid offline_access read:billing" {
			t.Errorf("billing token aud %v scope %v (response scope %q)", c["aud"], c["scope"], body.Scope)
		}
		if body.IDToken == "" {
			t.Error("no ID token for another audience")
		}
		if body.RefreshToken == "" || body.RefreshToken == refreshed.RefreshToken {
			t.Error("the audience switch did not rotate the refresh token")
		}
	})

	t.Run("discovery documents name this issuer and S256 only", func(t *testing.T) {
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var md map[string]any
			err = json.NewDecoder(resp.Body).Decode(&md)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if md["issuer"] != srv.URL || md["token_endpoint"] != srv.URL+"/oauth/token" || md["jwks_uri"] != srv.URL+"/.well-known/jwks.json" {
				t.Errorf("%s: %v", path, md)
			}
			if diff := cmp.Diff([]any{"S256"}, md["code_challenge_methods_supported"]); diff != "" {
				t.Errorf("%s code_challenge_methods_supported (-want +got):\n%s", path, diff)
			}
		}
	})
}
