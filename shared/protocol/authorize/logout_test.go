package authorize

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

const logoutURL = "https://app.example.com/bye"

// unsignedIDToken is a JWT whose payload names aud; logout reads only that.
func unsignedIDToken(aud string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"aud":"`+aud+`","sub":"x"}`)) + ".c2ln"
}

func TestLogoutEndpoints(t *testing.T) {
	tests := []struct {
		name         string
		path         string
		wantStatus   int
		wantLocation string
		wantEnded    bool
	}{
		{"Auth0 logout without returnTo ends the session", "/v2/logout", http.StatusOK, "", true},
		{"Auth0 logout redirects to an allowed logout URL", "/v2/logout?client_id=spa&returnTo=" + url.QueryEscape(logoutURL), http.StatusFound, logoutURL, true},
		{"Auth0 logout refuses a returnTo the application did not register, ending nothing", "/v2/logout?client_id=spa&returnTo=" + url.QueryEscape("https://evil.example.com/"), http.StatusBadRequest, "", false},
		{"Auth0 logout refuses a returnTo that only starts like a registered one", "/v2/logout?client_id=spa&returnTo=" + url.QueryEscape(logoutURL+"/../x"), http.StatusBadRequest, "", false},
		{"Auth0 logout refuses a returnTo without client_id", "/v2/logout?returnTo=" + url.QueryEscape(logoutURL), http.StatusBadRequest, "", false},
		{"OIDC logout without a redirect ends the session", "/oidc/logout", http.StatusOK, "", true},
		{"OIDC logout redirects with state to a registered URL named by client_id", "/oidc/logout?client_id=spa&state=s1&post_logout_redirect_uri=" + url.QueryEscape(logoutURL), http.StatusFound, logoutURL + "?state=s1", true},
		{"OIDC logout finds the client in id_token_hint", "/oidc/logout?id_token_hint=" + unsignedIDToken("spa") + "&post_logout_redirect_uri=" + url.QueryEscape(logoutURL), http.StatusFound, logoutURL, true},
		{"OIDC logout refuses a hint for another client than client_id", "/oidc/logout?client_id=spa&id_token_hint=" + unsignedIDToken("third") + "&post_logout_redirect_uri=" + url.QueryEscape(logoutURL), http.StatusBadRequest, "", false},
		{"OIDC logout refuses an unregistered redirect", "/oidc/logout?client_id=spa&post_logout_redirect_uri=" + url.QueryEscape("https://evil.example.com/"), http.StatusBadRequest, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c, err := e.store.Client(context.Background(), "spa")
			if err != nil {
				t.Fatal(err)
			}
			c.AllowedLogoutURLs = []string{logoutURL}
			if err := e.store.UpdateClient(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			b := e.browser(t)
			e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)

			r := b.get(tt.path)
			if r.status != tt.wantStatus || r.header.Get("Location") != tt.wantLocation {
				t.Fatalf("status %d Location %q, want %d %q\n%s", r.status, r.header.Get("Location"), tt.wantStatus, tt.wantLocation, r.body)
			}
			// prompt=none tells whether the session survived.
			q := query()
			q.Set("prompt", "none")
			after := b.authorize(q.Encode())
			if tt.wantEnded {
				e.wantError(t, after, spaCB, "st-123", oauth.LoginRequired)
			} else {
				e.wantCode(t, after, spaCB, "st-123", http.StatusFound)
			}
		})
	}
}

// A request that names no audience and asks for openid gets the userinfo
// audience, as Auth0 does; without openid an audience is still required.
func TestNoAudienceMeansUserinfo(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	q := query()
	q.Del("audience")
	_, code := e.wantCode(t, b.loginAs(q, alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	if want := oauth.UserinfoAudience(e.srv.URL); code.Audience != want {
		t.Errorf("audience %q, want %q", code.Audience, want)
	}
	q.Set("scope", "read:items")
	if r := b.authorize(q.Encode()); r.status != http.StatusFound || r.location(t).Query().Get("error") != string(oauth.InvalidRequest) {
		t.Errorf("no audience and no openid: status %d Location %q", r.status, r.header.Get("Location"))
	}
}

// A logout redirect is matched like a redirect URI: every near miss of a
// registered logout URL gets the error page, never a redirect.
func TestLogoutURLMutationsAreRefusedWithoutARedirect(t *testing.T) {
	e := newEnv(t)
	c, err := e.store.Client(context.Background(), "spa")
	if err != nil {
		t.Fatal(err)
	}
	c.AllowedLogoutURLs = []string{spaCB, spaQueryCB}
	if err := e.store.UpdateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, m := range redirectMutations {
		t.Run(m.name+" is refused", func(t *testing.T) {
			for _, path := range []string{
				"/v2/logout?client_id=spa&returnTo=" + url.QueryEscape(m.uri),
				"/oidc/logout?client_id=spa&post_logout_redirect_uri=" + url.QueryEscape(m.uri),
			} {
				r := e.browser(t).get(path)
				if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
					t.Errorf("%s: status %d Location %q, want 400 and no redirect", path, r.status, r.header.Get("Location"))
				}
			}
		})
	}
}

// sso_disabled: the application's users sign in every time; a session
// from another application (or an earlier sign-in) does not count.
func TestSSODisabledAlwaysAsksForThePassword(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	q := query()
	q.Set("prompt", "none")
	e.wantCode(t, b.authorize(q.Encode()), spaCB, "st-123", http.StatusFound) // single sign-on
	c, err := e.store.Client(context.Background(), "spa")
	if err != nil {
		t.Fatal(err)
	}
	c.SSODisabled = true
	if err := e.store.UpdateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.wantError(t, b.authorize(q.Encode()), spaCB, "st-123", oauth.LoginRequired)
	if r := b.authorize(query().Encode()); !isLoginPage(r) {
		t.Errorf("sso_disabled: status %d, want the login page", r.status)
	}
}

// RFC 9449 §10: dpop_jkt is stored with the code (the token endpoint then
// redeems it only with a proof of that key); a malformed one is refused.
func TestDPoPJKTParameter(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	q := query()
	jkt := strings.Repeat("A", 43)
	q.Set("dpop_jkt", jkt)
	_, code := e.wantCode(t, b.loginAs(q, alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	if code.DPoPJKT != jkt {
		t.Errorf("code DPoPJKT %q, want %q", code.DPoPJKT, jkt)
	}
	q.Set("dpop_jkt", "not-a-thumbprint")
	e.wantError(t, b.authorize(q.Encode()), spaCB, "st-123", oauth.InvalidRequest)
}
