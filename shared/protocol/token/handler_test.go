package token

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// TestTokenRequestRules: the form and dispatch rules of the token endpoint.
func TestTokenRequestRules(t *testing.T) {
	f := newFixture(t)
	cc := "grant_type=client_credentials&audience=" + url.QueryEscape(apiData) +
		"&client_id=" + m2mID + "&client_secret=" + secretOf(m2mID)
	tests := []struct {
		name        string
		target      string
		contentType string
		body        string
		basic       [2]string
		wantStatus  int
		wantCode    oauth.ErrorCode
	}{
		{name: "valid request succeeds", body: cc, wantStatus: 200},
		{name: "repeated parameter is invalid_request", body: cc + "&audience=" + url.QueryEscape(apiData), wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "parameter in the query string is invalid_request", target: "/oauth/token?audience=x", body: cc, wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "JSON body is invalid_request", contentType: "application/json", body: `{"grant_type":"client_credentials"}`, wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "body over 64 KiB is invalid_request", body: cc + "&pad=" + strings.Repeat("x", 64<<10), wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "two client authentication methods are invalid_request", body: cc, basic: [2]string{m2mID, secretOf(m2mID)}, wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "missing grant_type is invalid_request", body: "client_id=" + m2mID + "&client_secret=" + secretOf(m2mID), wantStatus: 400, wantCode: oauth.InvalidRequest},
		{name: "password grant is unsupported_grant_type", body: "grant_type=password&username=a&password=b&client_id=" + m2mID + "&client_secret=" + secretOf(m2mID), wantStatus: 400, wantCode: oauth.UnsupportedGrantType},
		{name: "unknown grant is unsupported_grant_type", body: "grant_type=urn:x&client_id=" + m2mID + "&client_secret=" + secretOf(m2mID), wantStatus: 400, wantCode: oauth.UnsupportedGrantType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == "" {
				target = "/oauth/token"
			}
			r := httptest.NewRequest(http.MethodPost, target, nil)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.basic[0] != "" {
				r.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			res := f.do(r, tt.body)
			if res.Status != tt.wantStatus || res.Error != string(tt.wantCode) {
				t.Fatalf("got %v, want %d %s", res, tt.wantStatus, tt.wantCode)
			}
			if res.Status != 200 && res.Header.Get("Content-Type") != "application/json" {
				t.Errorf("error Content-Type = %q", res.Header.Get("Content-Type"))
			}
		})
	}
}

func TestTokenEndpointMethod(t *testing.T) {
	f := newFixture(t)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/oauth/token", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/token = %d, want 405", w.Code)
	}
}

func TestClientAuthentication(t *testing.T) {
	cc := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	rt := func(f *fixture, client string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.login(codeSpec{client: client})}}
	}
	basicRaw := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name       string
		prepare    func(f *fixture) (header string, form url.Values)
		wantStatus int
		wantCode   oauth.ErrorCode
		wantWWW    bool
	}{
		{
			name: "client_secret_basic client authenticates with Basic",
			prepare: func(f *fixture) (string, url.Values) {
				return basicRaw(webID + ":" + url.QueryEscape(secretOf(webID))), rt(f, webID)
			},
			wantStatus: 200,
		},
		{
			name: "Basic credentials are form-urlencoded before Base64",
			prepare: func(f *fixture) (string, url.Values) {
				form := rt(f, webID)
				f.updateClient(webID, func(c *oauth.Client) { c.SecretHash = oauth.HashToken("p@ss: w+rd%") })
				return basicRaw(webID + ":" + url.QueryEscape("p@ss: w+rd%")), form
			},
			wantStatus: 200,
		},
		{
			name: "client_secret_post client authenticates in the body",
			prepare: func(f *fixture) (string, url.Values) {
				return "", cc("client_id", m2mID, "client_secret", secretOf(m2mID))
			},
			wantStatus: 200,
		},
		{
			name: "public client sends client_id only",
			prepare: func(f *fixture) (string, url.Values) {
				v := rt(f, spaID)
				v.Set("client_id", spaID)
				return "", v
			},
			wantStatus: 200,
		},
		{
			name: "wrong secret with Basic is 401 with WWW-Authenticate",
			prepare: func(f *fixture) (string, url.Values) {
				return basicRaw(webID + ":wrong"), rt(f, webID)
			},
			wantStatus: 401, wantCode: oauth.InvalidClient, wantWWW: true,
		},
		{
			name: "wrong secret in the body is 401 without WWW-Authenticate",
			prepare: func(f *fixture) (string, url.Values) {
				return "", cc("client_id", m2mID, "client_secret", "wrong")
			},
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name: "Basic for a client_secret_post client is 401",
			prepare: func(f *fixture) (string, url.Values) {
				return basicRaw(m2mID + ":" + secretOf(m2mID)), cc()
			},
			wantStatus: 401, wantCode: oauth.InvalidClient, wantWWW: true,
		},
		{
			name: "body secret for a client_secret_basic client is 401",
			prepare: func(f *fixture) (string, url.Values) {
				v := rt(f, webID)
				v.Set("client_id", webID)
				v.Set("client_secret", secretOf(webID))
				return "", v
			},
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name: "confidential client without a secret is 401",
			prepare: func(f *fixture) (string, url.Values) {
				return "", cc("client_id", m2mID)
			},
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name: "public client sending a secret is 401",
			prepare: func(f *fixture) (string, url.Values) {
				v := rt(f, spaID)
				v.Set("client_id", spaID)
				v.Set("client_secret", "anything")
				return "", v
			},
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name: "unknown client is 401",
			prepare: func(f *fixture) (string, url.Values) {
				return "", cc("client_id", "nobody", "client_secret", "x")
			},
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name:       "no client_id at all is 401",
			prepare:    func(f *fixture) (string, url.Values) { return "", cc() },
			wantStatus: 401, wantCode: oauth.InvalidClient,
		},
		{
			name: "malformed Basic credentials are 401",
			prepare: func(f *fixture) (string, url.Values) {
				return "Basic !!!notbase64", cc()
			},
			wantStatus: 401, wantCode: oauth.InvalidClient, wantWWW: true,
		},
		{
			name: "Basic client_id differing from the body client_id is invalid_request",
			prepare: func(f *fixture) (string, url.Values) {
				return basicRaw(webID + ":" + secretOf(webID)), cc("client_id", m2mID)
			},
			wantStatus: 400, wantCode: oauth.InvalidRequest,
		},
		{
			name: "client assertion plus secret is invalid_request",
			prepare: func(f *fixture) (string, url.Values) {
				return "", cc("client_id", m2mID, "client_secret", secretOf(m2mID), "client_assertion", "x.y.z",
					"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			},
			wantStatus: 400, wantCode: oauth.InvalidRequest,
		},
		{
			name: "unsupported Authorization scheme is invalid_request",
			prepare: func(f *fixture) (string, url.Values) {
				return "Bearer abc", cc("client_id", m2mID, "client_secret", secretOf(m2mID))
			},
			wantStatus: 400, wantCode: oauth.InvalidRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			header, form := tt.prepare(f)
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			if header != "" {
				r.Header.Set("Authorization", header)
			}
			res := f.do(r, form.Encode())
			if res.Status != tt.wantStatus || res.Error != string(tt.wantCode) {
				t.Fatalf("got %v, want %d %s", res, tt.wantStatus, tt.wantCode)
			}
			if got := res.Header.Get("WWW-Authenticate"); (got != "") != tt.wantWWW {
				t.Errorf("WWW-Authenticate = %q, want present=%v", got, tt.wantWWW)
			}
			if tt.wantCode == oauth.InvalidClient && res.Description != "client authentication failed" {
				t.Errorf("description %q tells failures apart", res.Description)
			}
		})
	}
}
