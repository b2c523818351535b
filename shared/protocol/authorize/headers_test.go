package authorize

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	login := b.authorize(query().Encode())
	bad := query()
	bad.Set("redirect_uri", "https://evil.example/cb")
	errPage := b.authorize(bad.Encode())
	badParam := query()
	badParam.Del("code_challenge")
	errRedirect := b.authorize(badParam.Encode())
	codeRedirect := b.signIn(login, alice, alicePW)
	consent := e.browser(t).loginAs(thirdQuery("openid"), alice, alicePW)
	logout := b.get("/logout")

	for _, tc := range []struct {
		name string
		r    *response
	}{
		{"login page", login}, {"error page", errPage}, {"error redirect", errRedirect},
		{"code redirect after the login form", codeRedirect}, {"consent page", consent}, {"signed-out page", logout},
	} {
		t.Run(tc.name+" carries the security headers", func(t *testing.T) {
			h := tc.r.header
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %s", csp, d)
				}
			}
			for name, want := range map[string]string{
				"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for name := range h {
				if strings.HasPrefix(name, "Access-Control-") {
					t.Errorf("CORS header %s on /authorize", name)
				}
			}
		})
	}
	t.Run("the login and consent pages allow the form to end at the client's origin", func(t *testing.T) {
		if csp := login.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
			t.Errorf("login CSP %q", csp)
		}
		if csp := consent.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://third.example.com;") {
			t.Errorf("consent CSP %q", csp)
		}
		if csp := errPage.header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
			t.Errorf("error page CSP names the refused URI: %q", csp)
		}
	})
	t.Run("the inline style is the one the CSP allows", func(t *testing.T) {
		m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(login.body)
		if m == nil {
			t.Fatal("no style element")
		}
		sum := sha256.Sum256([]byte(m[1]))
		want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if csp := login.header.Get("Content-Security-Policy"); !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	})
	t.Run("pages load nothing and run no script", func(t *testing.T) {
		for _, r := range []*response{login, consent, errPage, logout} {
			for _, bad := range []string{"<script", " src=", " href=", "<link", "<img", "<iframe"} {
				if strings.Contains(r.body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
		}
	})
}

func TestNoCORSOnAuthorize(t *testing.T) {
	e := newEnv(t)
	req, err := http.NewRequest(http.MethodOptions, e.srv.URL+"/authorize", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	r := e.browser(t).do(req)
	for name := range r.header {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("preflight answered with %s", name)
		}
	}
	if r.status < 400 {
		t.Errorf("preflight status %d, want a refusal", r.status)
	}
}

func TestFormTarget(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://app.example.com/callback", "https://app.example.com"},
		{"https://app.example.com:8443/cb?x=1", "https://app.example.com:8443"},
		{"http://127.0.0.1:51234/callback", "http://127.0.0.1:51234"},
		{"http://[::1]:8080/callback", "http://[::1]:8080"},
		{"com.example.app:/oauth", "com.example.app:"},
		{"https://a.example;script-src*/cb", ""},
		{"https://user@app.example.com/cb", ""},
		{"https://app.example.com 'unsafe-inline'/cb", ""},
		{"::::", ""},
	}
	for _, tc := range tests {
		if got := formTarget(tc.uri); got != tc.want {
			t.Errorf("formTarget(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}
