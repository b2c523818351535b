package policyadmin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/adapters/cachestore"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
)

// These tests compose the admin API with the real token endpoint over one
// store, as the deployed functions share one table: what the admin writes
// must decide the very next refresh exchange.

type tokenEnv struct {
	*env
	tok http.Handler
}

func newTokenEnv(t *testing.T) *tokenEnv {
	e := newEnv(t)
	return &tokenEnv{env: e, tok: newTokenHandler(e.store, e)}
}

func newTokenHandler(s oauth.Store, e *env) http.Handler {
	key := bytes.Repeat([]byte{0x42}, 32)
	return token.NewHandler(token.Deps{
		Clients: s, APIs: s, ClientGrants: s, Codes: s, Families: s,
		Signer:     e.signer,
		Issuer:     testIssuer,
		RefreshKey: func(context.Context) ([]byte, error) { return key, nil },
		Now:        e.clock.Now,
		Rand:       rand.Reader,
	})
}

type tokenResult struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

func (te *tokenEnv) post(form url.Values) tokenResult {
	te.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	te.tok.ServeHTTP(w, r)
	res := tokenResult{status: w.Code}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		te.t.Fatalf("token response %s: %v", w.Body, err)
	}
	return res
}

// login redeems an authorization code created through the store (as the
// authorize function would) with PKCE, and returns the refresh token.
func (te *tokenEnv) login(clientID, audience, scope string) tokenResult {
	te.t.Helper()
	res := te.tryLogin(clientID, audience, scope)
	if res.status != http.StatusOK {
		te.t.Fatalf("code exchange: %d %s", res.status, res.Error)
	}
	return res
}

func (te *tokenEnv) tryLogin(clientID, audience, scope string) tokenResult {
	te.t.Helper()
	raw, err := oauth.NewOpaque(rand.Reader)
	must(te.t, err)
	verifier, err := oauth.NewOpaque(rand.Reader)
	must(te.t, err)
	sum := sha256.Sum256([]byte(verifier))
	const redirect = "https://app.example.com/callback"
	now := te.clock.Now()
	must(te.t, te.store.CreateCode(context.Background(), &oauth.AuthCode{
		Hash: oauth.HashToken(raw), ClientID: clientID, RedirectURI: redirect,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience: audience, Scopes: strings.Fields(scope), UserID: exUserID, AuthTime: now, ExpiresAt: now.Add(oauth.CodeLifetime),
	}))
	return te.post(url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {raw},
		"redirect_uri": {redirect}, "code_verifier": {verifier}})
}

func (te *tokenEnv) refresh(rt, audience string) tokenResult {
	te.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {spaID}, "refresh_token": {rt}}
	if audience != "" {
		form.Set("audience", audience)
	}
	return te.post(form)
}

// accessClaims verifies an access token with the server's keys.
func (te *tokenEnv) accessClaims(at string) map[string]any {
	te.t.Helper()
	keys, err := te.signer.PublicKeys(context.Background())
	must(te.t, err)
	_, payload, err := jws.Verify(at, keys)
	must(te.t, err)
	var c map[string]any
	must(te.t, json.Unmarshal(payload, &c))
	return c
}

// wantAccess checks a successful exchange for audience with scope, and
// returns the next refresh token.
// wantAccess checks the audience and the API scopes of an exchange (the
// grant's OIDC scopes, which every audience also gets, are left out).
func (te *tokenEnv) wantAccess(res tokenResult, audience, scope string) string {
	te.t.Helper()
	if res.status != http.StatusOK {
		te.t.Fatalf("refresh: %d %s, want 200", res.status, res.Error)
	}
	c := te.accessClaims(res.AccessToken)
	apiScopes := func(s any) string {
		var out []string
		for _, v := range strings.Fields(fmt.Sprint(s)) {
			if !oauth.IsOIDCScope(v) {
				out = append(out, v)
			}
		}
		return strings.Join(out, " ")
	}
	if c["aud"] != audience || apiScopes(c["scope"]) != apiScopes(scope) || apiScopes(res.Scope) != apiScopes(scope) {
		te.t.Fatalf("access token aud %v scope %q (response %q), want %s %q", c["aud"], c["scope"], res.Scope, audience, scope)
	}
	return res.RefreshToken
}

func wantGrantError(t *testing.T, res tokenResult, code string) {
	t.Helper()
	if res.status == http.StatusOK || res.Error != code {
		t.Fatalf("got %d %q, want %s", res.status, res.Error, code)
	}
}

func TestPolicyChangeAppliesToTheNextRefresh(t *testing.T) {
	te := newTokenEnv(t)
	rt := te.login(spaID, apiData, "openid offline_access read:data").RefreshToken
	patchPolicy := func(policies string) {
		t.Helper()
		wantStatus(t, te.call(http.MethodPatch, "/api/v2/clients/"+spaID, `{"refresh_token":{"policies":`+policies+`}}`), 200)
	}

	// No policy: the billing API is out of reach (and the token survives).
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_target")

	patchPolicy(`[{"audience":"` + apiBilling + `","scope":["read:billing"]}]`)
	rt = te.wantAccess(te.refresh(rt, apiBilling), apiBilling, "read:billing")

	patchPolicy(`[{"audience":"` + apiBilling + `","scope":["read:billing","write:billing"]}]`)
	rt = te.wantAccess(te.refresh(rt, apiBilling), apiBilling, "read:billing write:billing")

	// A policy scope the API then drops is ignored from the next exchange.
	wantStatus(t, te.call(http.MethodPatch, "/api/v2/resource-servers/billing-api-id", `{"scopes":[{"value":"read:billing"}]}`), 200)
	rt = te.wantAccess(te.refresh(rt, apiBilling), apiBilling, "read:billing")

	// A policy can widen the original audience too (MRRT rule 23a).
	wantStatus(t, te.call(http.MethodPatch, "/api/v2/resource-servers/billing-api-id", `{"scopes":[{"value":"read:billing"},{"value":"write:billing"}]}`), 200)
	patchPolicy(`[{"audience":"` + apiData + `","scope":["write:data"]}]`)
	rt = te.wantAccess(te.refresh(rt, ""), apiData, "openid offline_access read:data write:data")
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_target")

	patchPolicy(`null`)
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_target")
	te.wantAccess(te.refresh(rt, ""), apiData, "openid offline_access read:data")
}

// familyOf finds, through the admin API, the family the test's login made.
func (te *tokenEnv) familyOf(t *testing.T) string {
	t.Helper()
	w := te.call(http.MethodGet, "/api/v2/users/"+url.PathEscape(exUserID)+"/refresh-tokens", nil)
	wantStatus(t, w, 200)
	for _, f := range decode[map[string][]familyView](t, w)["tokens"] {
		if f.ID != exFamilyID {
			return f.ID
		}
	}
	t.Fatal("the login's family is not listed")
	return ""
}

func TestAdminRevocationAppliesToTheNextRefresh(t *testing.T) {
	for _, c := range []struct {
		name   string
		revoke func(te *tokenEnv, t *testing.T)
		want   string
	}{
		{"revoking the family", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodDelete, "/api/v2/refresh-tokens/"+te.familyOf(t), nil), 204)
		}, "invalid_grant"},
		{"revoking all of the user's tokens", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodDelete, "/api/v2/users/"+url.PathEscape(exUserID)+"/refresh-tokens", nil), 204)
		}, "invalid_grant"},
		{"blocking the user", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"blocked":true}`), 200)
		}, "invalid_grant"},
		{"deleting the user", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodDelete, "/api/v2/users/"+url.PathEscape(exUserID), nil), 204)
		}, "invalid_grant"},
		{"deleting the client", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodDelete, "/api/v2/clients/"+spaID, nil), 204)
		}, "invalid_client"},
	} {
		t.Run(c.name+" makes the next exchange fail", func(t *testing.T) {
			te := newTokenEnv(t)
			rt := te.login(spaID, apiData, "offline_access read:data").RefreshToken
			rt = te.wantAccess(te.refresh(rt, ""), apiData, "offline_access read:data")
			c.revoke(te, t)
			wantGrantError(t, te.refresh(rt, ""), c.want)
		})
	}
}

func TestBootstrapAdminGetsAToken(t *testing.T) {
	s := memstore.New()
	e := newEnv(t)
	ctx := context.Background()
	// A fresh store: only the APIs the users need, no admin API yet.
	for _, rs := range []*oauth.ResourceServer{
		{ID: "d", Identifier: apiData, Name: "Data", TokenLifetime: 900, SigningAlg: oauth.AlgRS256, AllowOfflineAccess: true,
			Scopes: []oauth.Scope{{Value: "read:data"}}},
	} {
		must(t, s.CreateResourceServer(ctx, rs))
	}
	admin, err := Bootstrap(ctx, s, testAudience, "Bootstrap admin", rand.Reader)
	must(t, err)
	te := &tokenEnv{env: e, tok: newTokenHandler(s, e)}
	adminH := NewHandler(Deps{Store: s, Keys: e.signer.PublicKeys, Issuer: testIssuer, Audience: testAudience, Now: e.clock.Now})

	res := te.post(url.Values{"grant_type": {"client_credentials"}, "client_id": {admin.Client.ClientID},
		"client_secret": {admin.Secret}, "audience": {testAudience}})
	if res.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", res.status, res.Error)
	}
	if got := strings.Fields(te.accessClaims(res.AccessToken)["scope"].(string)); !slices.Equal(got, Scopes) {
		t.Errorf("admin token scopes %v", got)
	}
	for _, path := range []string{"/api/v2/clients", "/api/v2/resource-servers", "/api/v2/users"} {
		r := request(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+res.AccessToken)
		w := httptest.NewRecorder()
		adminH.ServeHTTP(w, r)
		wantStatus(t, w, http.StatusOK)
	}
	// The admin can then configure the server, e.g. create an API.
	r := request(http.MethodPost, "/api/v2/resource-servers", `{"identifier":"https://new.example.com"}`)
	r.Header.Set("Authorization", "Bearer "+res.AccessToken)
	w := httptest.NewRecorder()
	adminH.ServeHTTP(w, r)
	wantStatus(t, w, http.StatusCreated)

	// A wrong secret gets nothing.
	bad := te.post(url.Values{"grant_type": {"client_credentials"}, "client_id": {admin.Client.ClientID},
		"client_secret": {"wrong"}, "audience": {testAudience}})
	wantGrantError(t, bad, "invalid_client")
}

// A user's access token for the admin audience, however the user got it,
// does not administer: only client-credentials tokens do.
func TestUserTokenForTheAdminAudienceIsRefused(t *testing.T) {
	te := newTokenEnv(t)
	res := te.tryLogin(spaID, testAudience, "read:clients")
	if res.status != http.StatusOK {
		// The token endpoint refusing such a token is just as safe.
		return
	}
	if c := te.accessClaims(res.AccessToken); c["aud"] != testAudience || c["scope"] != "read:clients" {
		t.Fatalf("user token aud %v scope %v", c["aud"], c["scope"])
	}
	w := te.callWith(res.AccessToken, http.MethodGet, "/api/v2/clients", nil)
	wantError(t, w, http.StatusUnauthorized, "invalid_token", "client_credentials")
}

// In Lambda the token function keeps clients, APIs and client grants in a
// per-instance cache (cachestore, CONFIG_CACHE_TTL, 30 s by default), while
// the admin function writes to the table: a policy change reaches a warm
// token function within that TTL, and a revocation at once (families are
// never cached).
func TestChangesReachAWarmTokenFunction(t *testing.T) {
	te := newTokenEnv(t)
	cached := cachestore.New(te.store, cachestore.DefaultTTL, te.clock.Now)
	key := bytes.Repeat([]byte{0x42}, 32)
	te.tok = token.NewHandler(token.Deps{
		Clients: cached, APIs: cached, ClientGrants: cached, Codes: te.store, Families: te.store,
		Signer: te.signer, Issuer: testIssuer, RefreshKey: func(context.Context) ([]byte, error) { return key, nil },
		Now: te.clock.Now, Rand: rand.Reader,
	})
	rt := te.login(spaID, apiData, "offline_access read:data").RefreshToken
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_target")

	wantStatus(t, te.call(http.MethodPatch, "/api/v2/clients/"+spaID,
		`{"refresh_token":{"policies":[{"audience":"`+apiBilling+`","scope":["read:billing"]}]}}`), 200)
	// Within the TTL the warm instance may still use the old policy...
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_target")
	// ...and after it, never.
	te.clock.Advance(cachestore.DefaultTTL)
	rt = te.wantAccess(te.refresh(rt, apiBilling), apiBilling, "read:billing")

	wantStatus(t, te.call(http.MethodDelete, "/api/v2/refresh-tokens/"+te.familyOf(t), nil), 204)
	wantGrantError(t, te.refresh(rt, apiBilling), "invalid_grant")
}

// Every rule the admin API enforces when an MRRT policy is written holds at
// exchange time too, against the APIs as they are now: each row flips one
// after refresh tokens exist (SECURITY.md R3, R6; MRRT rule 9).
func TestWriteTimeRulesHoldAtExchangeTime(t *testing.T) {
	for _, c := range []struct {
		name       string
		flip       string // PATCH path and body, "" for a DELETE of path
		path       string
		target     string // error of the MRRT exchange to billing
		original   string // error of the exchange for the original audience, "" when it still works
		adminCheck string // the policy write the admin API now refuses ("" if none)
	}{
		{"the policy API stops allowing skipping consent", `{"skip_consent_for_verifiable_first_party_clients":false}`,
			"/api/v2/resource-servers/billing-api-id", "invalid_target", "", "skip_consent_for_verifiable_first_party_clients"},
		{"the policy API no longer defines any of the policy's scopes", `{"scopes":[{"value":"admin:billing"}]}`,
			"/api/v2/resource-servers/billing-api-id", "invalid_target", "", "read:billing"},
		{"the policy API is deleted", "",
			"/api/v2/resource-servers/billing-api-id", "invalid_target", "", "no API"},
		{"the original API stops allowing offline access", `{"allow_offline_access":false}`,
			"/api/v2/resource-servers/data-api-id", "invalid_grant", "invalid_grant", ""},
		{"the client loses the refresh_token grant", `{"grant_types":["authorization_code"]}`,
			"/api/v2/clients/" + spaID, "unauthorized_client", "unauthorized_client", ""},
		{"the client becomes third-party (the admin API takes its policy away with it)", `{"is_first_party":false,"refresh_token":{"policies":null}}`,
			"/api/v2/clients/" + spaID, "invalid_target", "", "first-party"},
	} {
		t.Run(c.name+": existing refresh tokens stop reaching it", func(t *testing.T) {
			te := newTokenEnv(t)
			policy := `{"refresh_token":{"policies":[{"audience":"` + apiBilling + `","scope":["read:billing"]}]}}`
			wantStatus(t, te.call(http.MethodPatch, "/api/v2/clients/"+spaID, policy), 200)
			rt := te.login(spaID, apiData, "offline_access read:data").RefreshToken
			rt = te.wantAccess(te.refresh(rt, apiBilling), apiBilling, "read:billing")

			if c.flip == "" {
				wantStatus(t, te.call(http.MethodDelete, c.path, nil), 204)
			} else {
				wantStatus(t, te.call(http.MethodPatch, c.path, c.flip), 200)
			}
			wantGrantError(t, te.refresh(rt, apiBilling), c.target)
			if c.original != "" {
				wantGrantError(t, te.refresh(rt, ""), c.original)
			} else {
				// A refused exchange leaves the token usable for what it still reaches.
				te.wantAccess(te.refresh(rt, ""), apiData, "offline_access read:data")
			}
			if c.adminCheck != "" {
				w := te.call(http.MethodPatch, "/api/v2/clients/"+spaID, policy)
				wantStatus(t, w, 400)
				if !strings.Contains(w.Body.String(), c.adminCheck) {
					t.Errorf("the admin API refused the policy for another reason: %s", w.Body)
				}
			}
		})
	}
}
