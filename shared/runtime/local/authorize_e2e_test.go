package local_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

const (
	azOrders   = "https://orders.example.com"
	azBilling  = "https://billing.example.com"
	azUser     = "ada@example.com"
	azPassword = "correct horse battery staple"
)

// azServer serves local.Routes over a store seeded for the sign-in flow: two
// APIs, a first-party SPA whose MRRT policy reaches the billing API, and
// one user. callback is the SPA's registered redirect URI.
func azServer(t *testing.T, callback string) *httptest.Server {
	t.Helper()
	populate := func(ctx context.Context, store oauth.Store) error {
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(store.CreateResourceServer(ctx, &oauth.ResourceServer{
			Identifier: azOrders, Name: "Orders API", Scopes: []oauth.Scope{{Value: "read:orders"}, {Value: "write:orders"}},
			TokenLifetime: 600, SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true, SigningAlg: oauth.AlgRS256,
		}))
		must(store.CreateResourceServer(ctx, &oauth.ResourceServer{
			Identifier: azBilling, Name: "Billing API", Scopes: []oauth.Scope{{Value: "read:invoices"}, {Value: "pay:invoices"}},
			TokenLifetime: 300, SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true, SigningAlg: oauth.AlgRS256,
		}))
		must(store.CreateClient(ctx, &oauth.Client{
			ClientID: "spa", Name: "Shop", AppType: oauth.AppTypeSPA, IsFirstParty: true,
			Callbacks:               []string{callback},
			GrantTypes:              []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken},
			TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: oauth.RefreshTokenConfig{
				RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
				TokenLifetime: 86400, IdleTokenLifetime: 3600,
				Policies: []oauth.Policy{{Audience: azBilling, Scope: []string{"read:invoices"}}},
			},
		}))
		hash, err := password.Hash(azPassword, rand.Reader)
		must(err)
		must(store.CreateUser(ctx, &oauth.User{UserID: "user-ada", Email: azUser, Name: "Ada", PasswordHash: hash, CreatedAt: time.Now()}))
		return nil
	}
	return localserver.Start(t, localserver.Options{SeedJSON: `{}`, Populate: populate}).Server
}

var azHidden = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

func TestAuthorizeEndToEnd(t *testing.T) {
	const callback = "https://shop.example.com/callback"
	srv := azServer(t, callback)
	issuer := srv.URL
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, srv.Client())

	// A browser: keeps cookies, stops at every redirect.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	conf := &oauth2.Config{
		ClientID:    "spa",
		RedirectURL: callback,
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess, "read:orders"},
		Endpoint:    oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	const state, nonce = "state-Ω &=x", "nonce-123"
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("audience", azOrders), oauth2.SetAuthURLParam("nonce", nonce))

	// 1. /authorize shows the login page.
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /authorize: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"username": {azUser}, "password": {azPassword}}
	for _, m := range azHidden.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" || form.Get("request") == "" {
		t.Fatalf("login page without its form:\n%s", body)
	}

	// 2. Posting the form signs in and redirects to the app with a code.
	resp, err = browser.PostForm(issuer+"/authorize/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /authorize/login: status %d, want 303", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %q, want %q", got, callback)
	}
	if q.Get("state") != state || q.Get("iss") != issuer || q.Get("code") == "" {
		t.Fatalf("authorization response %v: want code, state %q, iss %q", q, state, issuer)
	}

	// 3. The code buys an access token, a refresh token and an ID token.
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if tok.AccessToken == "" || tok.RefreshToken == "" || rawID == "" {
		t.Fatalf("token response lacks a token: %+v", tok)
	}

	// 4. The ID token verifies with go-oidc, from discovery and the JWKS.
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "spa"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Subject != "user-ada" || idt.Nonce != nonce || idt.Issuer != issuer {
		t.Errorf("ID token sub %q nonce %q iss %q", idt.Subject, idt.Nonce, idt.Issuer)
	}
	var idClaims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := idt.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(time.Unix(idClaims.AuthTime, 0)); idClaims.AuthTime == 0 || d < 0 || d > time.Minute {
		t.Errorf("auth_time %d is not the sign-in just made", idClaims.AuthTime)
	}

	// The access token is for the orders API only.
	atVerifier := provider.Verifier(&oidc.Config{SkipClientIDCheck: true})
	checkAT := func(t *testing.T, raw, aud string, scopes ...string) {
		t.Helper()
		at, err := atVerifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		var c struct {
			Scope string `json:"scope"`
		}
		if err := at.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(at.Audience, []string{aud}) || at.Subject != "user-ada" {
			t.Errorf("access token aud %q sub %q, want [%s] user-ada", at.Audience, at.Subject, aud)
		}
		for _, s := range scopes {
			if !slices.Contains(strings.Fields(c.Scope), s) {
				t.Errorf("access token scope %q lacks %s", c.Scope, s)
			}
		}
	}
	checkAT(t, tok.AccessToken, azOrders, "read:orders")

	// 5. MRRT: the same refresh token buys a token for the billing API.
	resp, err = srv.Client().PostForm(issuer+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {tok.RefreshToken},
		"audience": {azBilling}, "scope": {"read:invoices"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var billing oauth.TokenResponse
	err = json.NewDecoder(resp.Body).Decode(&billing)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("MRRT refresh: status %d, %v, %+v", resp.StatusCode, err, billing)
	}
	if billing.Scope != "read:invoices" || billing.RefreshToken == "" || billing.RefreshToken == tok.RefreshToken {
		t.Errorf("MRRT refresh: scope %q, rotated refresh token %v", billing.Scope, billing.RefreshToken != tok.RefreshToken)
	}
	checkAT(t, billing.AccessToken, azBilling, "read:invoices")

	// And the rotated token still serves the original API via x/oauth2.
	next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: billing.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	checkAT(t, next.AccessToken, azOrders, "read:orders")

	// 6. Single sign-on: the next authorization needs no login page.
	resp, err = browser.Get(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("audience", azOrders)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("second /authorize: status %d, Location %q; want a code without a login", resp.StatusCode, resp.Header.Get("Location"))
	}

	// 7. After logout it does.
	resp, err = browser.Get(issuer + "/logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = browser.Get(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("audience", azOrders), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("after logout: Location %q, want error=login_required", resp.Header.Get("Location"))
	}
}
