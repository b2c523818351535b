package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

const pkjID = "pkj-m2m"

// pkjClient registers a private_key_jwt client and returns its key.
func pkjClient(t *testing.T, f *fixture) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &oauth.Client{
		ClientID: pkjID, Name: "PKJ", AppType: oauth.AppTypeNonInteractive, IsFirstParty: true,
		GrantTypes: []string{oauth.GrantTypeClientCredentials}, TokenEndpointAuthMethod: oauth.AuthMethodPrivateKeyJWT,
		ClientAuthenticationMethods: &oauth.ClientAuthenticationMethods{PrivateKeyJWT: &oauth.PrivateKeyJWT{Credentials: []oauth.Credential{{ID: "cred_1"}}}},
		Credentials: []oauth.Credential{{
			ID: "cred_1", CredentialType: "public_key", Alg: oauth.AlgRS256,
			PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		}},
	}
	c.RefreshToken = oauth.DefaultRefreshConfig(false)
	if err := oauth.ValidateClient(c, issuer+"/api/v2/"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateClientGrant(t.Context(), &oauth.ClientGrant{ID: "cg-pkj", ClientID: pkjID, Audience: apiData, Scope: []string{"read:data"}}); err != nil {
		t.Fatal(err)
	}
	return k
}

func assertion(t *testing.T, k *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(c)
	if alg == "none" {
		return input + "."
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

func TestPrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	key := pkjClient(t, f)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := f.clock.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": pkjID, "sub": pkjID, "aud": issuer + "/oauth/token", "exp": now.Add(time.Minute).Unix(), "jti": "jti-" + time.Now().Format(time.RFC3339Nano)}
		if edit != nil {
			edit(c)
		}
		return c
	}
	cc := func(a string, withType bool) result {
		form := url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}, "client_assertion": {a}}
		if withType {
			form.Set("client_assertion_type", assertionType)
		}
		return f.token("", form)
	}
	t.Run("a valid assertion authenticates, once", func(t *testing.T) {
		a := assertion(t, key, "RS256", claims(nil))
		wantOK(t, cc(a, true))
		wantError(t, cc(a, true), http.StatusUnauthorized, oauth.InvalidClient) // replayed jti
	})
	t.Run("the issuer as audience is accepted", func(t *testing.T) {
		wantOK(t, cc(assertion(t, key, "RS256", claims(func(c map[string]any) { c["aud"] = issuer })), true))
	})
	for _, tc := range []struct {
		name     string
		a        func() string
		withType bool
	}{
		{"another audience", func() string {
			return assertion(t, key, "RS256", claims(func(c map[string]any) { c["aud"] = "https://evil.example.com" }))
		}, true},
		{"an expired assertion", func() string {
			return assertion(t, key, "RS256", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }))
		}, true},
		{"an assertion valid for too long", func() string {
			return assertion(t, key, "RS256", claims(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() }))
		}, true},
		{"no jti", func() string { return assertion(t, key, "RS256", claims(func(c map[string]any) { delete(c, "jti") })) }, true},
		{"iss other than sub", func() string {
			return assertion(t, key, "RS256", claims(func(c map[string]any) { c["iss"] = "someone" }))
		}, true},
		{"a key the client did not register", func() string { return assertion(t, other, "RS256", claims(nil)) }, true},
		{"alg none", func() string { return assertion(t, key, "none", claims(nil)) }, true},
		{"an HS256 header (algorithm confusion)", func() string { return assertion(t, key, "HS256", claims(nil)) }, true},
		{"no client_assertion_type", func() string { return assertion(t, key, "RS256", claims(nil)) }, false},
	} {
		t.Run(tc.name+" is invalid_client", func(t *testing.T) {
			wantError(t, cc(tc.a(), tc.withType), http.StatusUnauthorized, oauth.InvalidClient)
		})
	}
	t.Run("a credential past its expires_at is no longer used", func(t *testing.T) {
		c, err := f.store.Client(t.Context(), pkjID)
		if err != nil {
			t.Fatal(err)
		}
		past := now.Add(-time.Second)
		c.Credentials[0].ExpiresAt = &past
		if err := f.store.UpdateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		wantError(t, cc(assertion(t, key, "RS256", claims(nil)), true), http.StatusUnauthorized, oauth.InvalidClient)
	})
	t.Run("a client secret is no way in for a private_key_jwt client", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}, "client_id": {pkjID}, "client_secret": {"x"}}
		wantError(t, f.token("", form), http.StatusUnauthorized, oauth.InvalidClient)
	})
}
