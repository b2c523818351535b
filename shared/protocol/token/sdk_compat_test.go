package token

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// What Auth0's SPA SDK (auth0-spa-js) needs from the token endpoint:
// CORS with its Auth0-Client header and per-application origins, an ID
// token on every refresh with the claims its scopes allow, the OIDC scopes
// echoed on every audience, /userinfo, and the issuer as configured.

// tokenFrom posts form to /oauth/token from origin with the SDK's headers.
func (f *fixture) tokenFrom(origin string, form url.Values) result {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Auth0-Client", "eyJuYW1lIjoiYXV0aDAtc3BhLWpzIn0=")
	return f.do(r, form.Encode())
}

func TestPreflightAllowsTheHeadersAuth0SDKsSend(t *testing.T) {
	h := newFixture(t).handler
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/userinfo"} {
		r := httptest.NewRequest(http.MethodOptions, path, nil)
		r.Header.Set("Origin", "https://app.example.com")
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "auth0-client,content-type,dpop")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		allowed := strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))
		for _, want := range []string{"auth0-client", "content-type", "dpop", "authorization"} {
			if !strings.Contains(allowed, want) {
				t.Errorf("%s: preflight does not allow %s (Access-Control-Allow-Headers %q)", path, want, allowed)
			}
		}
	}
}

func TestCORSPerApplicationOrigins(t *testing.T) {
	const listed, other = "https://app.example.com", "https://evil.example.com"
	tests := []struct {
		name       string
		origins    func(c *oauth.Client)
		origin     string
		wantStatus int
		wantACAO   string
	}{
		{"an application without origins answers any origin", func(c *oauth.Client) {}, other, http.StatusOK, "*"},
		{"a listed allowed origin gets its own CORS answer", func(c *oauth.Client) { c.AllowedOrigins = []string{listed} }, listed, http.StatusOK, listed},
		{"a listed web origin gets its own CORS answer", func(c *oauth.Client) { c.WebOrigins = []string{listed} }, listed, http.StatusOK, listed},
		{"an origin the application does not list is refused, unreadable", func(c *oauth.Client) { c.WebOrigins = []string{listed} }, other, http.StatusBadRequest, ""},
		{"origins are compared exactly (no trailing slash)", func(c *oauth.Client) { c.AllowedOrigins = []string{listed} }, listed + "/", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rt := f.login(codeSpec{})
			f.updateClient(spaID, tt.origins)
			r := f.tokenFrom(tt.origin, url.Values{"grant_type": {"refresh_token"}, "client_id": {spaID}, "refresh_token": {rt}})
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.wantStatus, r)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			if tt.wantStatus != http.StatusOK {
				// Refused before anything happened: the token still works.
				wantOK(t, f.refresh(spaID, rt))
			}
		})
	}
	t.Run("revocation applies the same origins", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.updateClient(spaID, func(c *oauth.Client) { c.AllowedOrigins = []string{listed} })
		r := httptest.NewRequest(http.MethodPost, "/oauth/revoke", nil)
		r.Header.Set("Origin", other)
		res := f.do(r, url.Values{"client_id": {spaID}, "token": {rt}}.Encode())
		if res.Status != http.StatusBadRequest || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("revocation from an unlisted origin: %s, ACAO %q", res, res.Header.Get("Access-Control-Allow-Origin"))
		}
		wantOK(t, f.refresh(spaID, rt))
	})
}

// idClaimsOf returns the claims of r's ID token.
func (f *fixture) idClaimsOf(r result) map[string]any {
	f.t.Helper()
	if r.IDToken == "" {
		f.t.Fatalf("no id_token in %s", r)
	}
	_, c := f.verify(r.IDToken)
	return c
}

func TestIDTokenClaimsFollowTheScopes(t *testing.T) {
	profile := map[string]any{"name": "User One", "nickname": "one", "given_name": "User", "family_name": "One",
		"picture": "https://example.com/one.png", "updated_at": json.Number(strconv.FormatInt(testUser.UpdatedAt.Unix(), 10))}
	email := map[string]any{"email": "user1@example.com", "email_verified": true}
	merge := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name, scope string
		want        map[string]any
	}{
		{"openid alone carries no user claims", "openid offline_access read:data", map[string]any{}},
		{"profile carries the profile claims", "openid profile offline_access read:data", profile},
		{"email carries email and email_verified", "openid email offline_access read:data", email},
		{"profile and email carry both", "openid profile email offline_access read:data", merge(profile, email)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			code := f.redeem(spaID, f.newCode(codeSpec{scope: tt.scope, nonce: "n"}))
			wantOK(t, code)
			mrrt := f.refresh(spaID, code.RefreshToken, "audience", apiBilling)
			wantOK(t, mrrt)
			for name, r := range map[string]result{"code exchange": code, "MRRT refresh to another audience": mrrt} {
				got := map[string]any{}
				for k, v := range f.idClaimsOf(r) {
					if _, std := tt.want[k]; std || strings.Contains(strings.Join(standardClaims, " "), k) {
						got[k] = v
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: standard claims (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestIDTokenAlgorithmFollowsJWTConfiguration(t *testing.T) {
	f := newFixture(t)
	f.updateClient(spaID, func(c *oauth.Client) { c.JWTConfiguration = &oauth.JWTConfiguration{Alg: oauth.AlgES256} })
	r := f.redeem(spaID, f.newCode(codeSpec{}))
	wantOK(t, r)
	if hdr, _ := f.verify(r.IDToken); hdr.Alg != oauth.AlgES256 {
		t.Errorf("ID token alg %s, want ES256", hdr.Alg)
	}
}

func TestUserinfo(t *testing.T) {
	userinfoAud := oauth.UserinfoAudience(issuer)
	f := newFixture(t)
	// An authorization request that named no audience gets the userinfo
	// audience (authorize does that); its code exchange and its MRRT work.
	code := f.redeem(spaID, f.newCode(codeSpec{audience: userinfoAud, scope: "openid email offline_access"}))
	wantOK(t, code)
	if _, c := f.verify(code.AccessToken); c["aud"] != userinfoAud {
		t.Fatalf("aud %v, want %s", c["aud"], userinfoAud)
	}
	fromAPI := f.refresh(spaID, f.login(codeSpec{scope: "openid profile offline_access read:data"}), "audience", userinfoAud)
	wantOK(t, fromAPI)

	get := func(method, auth string) (int, http.Header, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(method, "/userinfo", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, w.Header(), body
	}
	t.Run("GET and POST answer the claims of the token's scopes", func(t *testing.T) {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			status, _, body := get(m, "Bearer "+code.AccessToken)
			want := map[string]any{"sub": userID, "email": "user1@example.com", "email_verified": true}
			if status != http.StatusOK || !cmp.Equal(want, body) {
				t.Errorf("%s: %d %v, want 200 %v", m, status, body, want)
			}
		}
		status, _, body := get(http.MethodGet, "Bearer "+fromAPI.AccessToken)
		if status != http.StatusOK || body["name"] != "User One" || body["email"] != nil {
			t.Errorf("a token reached by MRRT with profile: %d %v", status, body)
		}
	})
	t.Run("a request without a token gets a bare Bearer challenge", func(t *testing.T) {
		status, hdr, _ := get(http.MethodGet, "")
		if status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%d %q", status, hdr.Get("WWW-Authenticate"))
		}
	})
	for _, tc := range []struct {
		name, token string
	}{
		{"an ID token is not an access token", code.IDToken},
		{"an access token for an API is refused", f.redeem(spaID, f.newCode(codeSpec{})).AccessToken},
		{"a tampered token is refused", code.AccessToken[:len(code.AccessToken)-4] + "AAAA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := get(http.MethodGet, "Bearer "+tc.token)
			if status != http.StatusUnauthorized || body["error"] != "invalid_token" || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%d %v %q", status, body, hdr.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("an expired token is refused", func(t *testing.T) {
		f.clock.Advance(25 * time.Hour)
		defer f.clock.Advance(-25 * time.Hour)
		if status, _, body := get(http.MethodGet, "Bearer "+code.AccessToken); status != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("a blocked user's token is refused", func(t *testing.T) {
		u, err := f.store.User(context.Background(), userID)
		if err != nil {
			t.Fatal(err)
		}
		u.Blocked = true
		if err := f.store.UpdateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if status, _, body := get(http.MethodGet, "Bearer "+code.AccessToken); status != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Errorf("%d %v", status, body)
		}
	})
}

// The issuer is used byte for byte: Auth0's form, with a trailing slash,
// is the iss of every token and discovery's issuer, and the endpoints do
// not get a double slash.
func TestIssuerIsUsedAsConfigured(t *testing.T) {
	f := newFixtureWithIssuer(t, issuer+"/")
	r := f.redeem(spaID, f.newCode(codeSpec{}))
	wantOK(t, r)
	for name, tok := range map[string]string{"access token": r.AccessToken, "ID token": r.IDToken} {
		if _, c := f.verify(tok); c["iss"] != issuer+"/" {
			t.Errorf("%s iss %v, want %s/", name, c["iss"], issuer)
		}
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	var meta map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["issuer"] != issuer+"/" || meta["token_endpoint"] != issuer+"/oauth/token" || meta["userinfo_endpoint"] != issuer+"/userinfo" {
		t.Errorf("discovery: issuer %v, token_endpoint %v, userinfo_endpoint %v", meta["issuer"], meta["token_endpoint"], meta["userinfo_endpoint"])
	}
}
