package local_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/authorize"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

// eventServer is the whole API on the default seed, with low sign-in
// limits, a partner API that needs consent, and its event log.
type eventServer struct {
	t       *testing.T
	url     string
	store   *memstore.Store
	log     *memstore.EventLog
	browser *http.Client
	issued  []string // every secret value the run handed out or sent
}

var (
	eventSignerOnce sync.Once
	eventSigner     *localsigner.Signer
)

const partnerAPI = "https://partner.example.com" // needs consent

func newEventServer(t *testing.T) *eventServer {
	t.Helper()
	eventSignerOnce.Do(func() {
		var err error
		if eventSigner, err = localsigner.Generate(); err != nil {
			panic(err)
		}
	})
	srv := localserver.Start(t, localserver.Options{
		Signer:    eventSigner,
		Configure: func(d *local.Deps) { d.Login = authorize.LoginLimits{Failures: 2, IPFailures: 3} },
		Populate: func(ctx context.Context, s oauth.Store) error {
			return s.CreateResourceServer(ctx, &oauth.ResourceServer{Identifier: partnerAPI, Name: "Partner API",
				Scopes: []oauth.Scope{{Value: "read:partner"}}, TokenLifetime: 600, SigningAlg: oauth.AlgRS256})
		},
	})
	jar, _ := cookiejar.New(nil)
	return &eventServer{t: t, url: srv.URL, store: srv.Store, log: srv.Deps.Logs.(*memstore.EventLog),
		browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		issued:  []string{"demo-password", "demo-m2m-secret-change-me", "admin-cli-secret-change-me", "demo-web-secret-change-me"}}
}

var hiddenFields = azHidden

// form reads a page's hidden fields.
func (s *eventServer) form(resp *http.Response) url.Values {
	s.t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{}
	for _, m := range hiddenFields.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" {
		s.t.Fatalf("page %d without its form:\n%.500s", resp.StatusCode, body)
	}
	return form
}

// signIn starts /authorize for audience and posts username and password;
// it returns the answer (303 with a code, the consent page, or the login
// page again).
func (s *eventServer) signIn(audience, scope, username, password string) *http.Response {
	s.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {"demo-spa"}, "redirect_uri": {"https://app.example.com/callback"},
		"scope": {scope}, "audience": {audience}, "state": {"s"},
		"code_challenge": {s256(strings.Repeat("v", 50))}, "code_challenge_method": {"S256"}}
	resp, err := s.browser.Get(s.url + "/authorize?" + q.Encode())
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
		return resp // signed in already: the session answers
	}
	form := s.form(resp)
	form.Set("username", username)
	form.Set("password", password)
	resp, err = s.browser.PostForm(s.url+"/authorize/login", form)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

// code signs in as the demo user and returns the authorization code.
func (s *eventServer) code() string {
	s.t.Helper()
	resp := s.signIn("https://api.example.com", "openid offline_access read:data", "demo@example.com", "demo-password")
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		s.t.Fatalf("sign-in: %d, no code (Location %q)", resp.StatusCode, resp.Header.Get("Location"))
	}
	s.issued = append(s.issued, code)
	return code
}

// post posts a form to path and returns the JSON answer.
func (s *eventServer) post(path string, form url.Values) (int, map[string]any) {
	s.t.Helper()
	resp, err := http.PostForm(s.url+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, _ := body[k].(string); v != "" {
			s.issued = append(s.issued, v)
		}
	}
	return resp.StatusCode, body
}

func (s *eventServer) exchange(code string) string {
	s.t.Helper()
	status, body := s.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"demo-spa"},
		"code": {code}, "redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {strings.Repeat("v", 50)}})
	rt, _ := body["refresh_token"].(string)
	if status != 200 || rt == "" {
		s.t.Fatalf("code exchange: %d %v", status, body)
	}
	return rt
}

func (s *eventServer) refresh(rt, audience string) (int, map[string]any) {
	s.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {rt}}
	if audience != "" {
		form.Set("audience", audience)
	}
	return s.post("/oauth/token", form)
}

func (s *eventServer) admin() *adminClient {
	c := adminAPI(s.t, s.url)
	s.issued = append(s.issued, c.token)
	return c
}

// since returns the events after n events, oldest first.
func (s *eventServer) since(n int) []oauth.Event {
	all, err := s.log.Events(context.Background(), oauth.EventQuery{Ascending: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return all[n:]
}

func (s *eventServer) count() int { return len(s.since(0)) }

func TestEveryOutcomeEmitsOneEvent(t *testing.T) {
	const api, billing = "https://api.example.com", "https://billing.example.com"
	covered := map[string]bool{}
	for _, tc := range []struct {
		name    string
		setup   func(s *eventServer) any // its result goes to trigger
		trigger func(s *eventServer, v any)
		want    oauth.Event // Type and every non-empty field are compared
		details map[string]any
	}{
		{name: "a sign-in is s", trigger: func(s *eventServer, _ any) { s.code() },
			want: oauth.Event{Type: "s", ClientID: "demo-spa", UserID: "auth0|demo", UserName: "demo@example.com", Audience: api}},
		{name: "a sign-in form that did not come from this site is f", trigger: func(s *eventServer, _ any) {
			resp, _ := s.browser.PostForm(s.url+"/authorize/login", url.Values{"csrf": {"forged"}, "username": {"demo@example.com"}, "password": {"x"}})
			resp.Body.Close()
		}, want: oauth.Event{Type: "f", UserName: "demo@example.com", Description: "Failed Login: the form expired or did not come from this site"}},
		{name: "a replayed code is feacft and revokes the family it started", setup: func(s *eventServer) any {
			code := s.code()
			s.exchange(code)
			return code
		}, trigger: func(s *eventServer, v any) {
			s.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"demo-spa"}, "code": {v.(string)},
				"redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {strings.Repeat("v", 50)}})
		}, want: oauth.Event{Type: "feacft", ClientID: "demo-spa", UserID: "auth0|demo"}, details: map[string]any{"error": "invalid_grant", "family_revoked": true}},
		{name: "a wrong password is fp", trigger: func(s *eventServer, _ any) {
			s.signIn(api, "openid", "demo@example.com", "wrong").Body.Close()
		}, want: oauth.Event{Type: "fp", ClientID: "demo-spa", UserID: "auth0|demo", UserName: "demo@example.com"}},
		{name: "an unknown user is fu", trigger: func(s *eventServer, _ any) {
			s.signIn(api, "openid", "nobody@example.com", "x").Body.Close()
		}, want: oauth.Event{Type: "fu", UserName: "nobody@example.com"}},
		{name: "a blocked user's sign-in is f", setup: func(s *eventServer) any {
			s.admin().call("PATCH", "/api/v2/users/auth0%7Cdemo", map[string]any{"blocked": true}, 200, nil)
			return nil
		}, trigger: func(s *eventServer, _ any) {
			s.signIn(api, "openid", "demo@example.com", "demo-password").Body.Close()
		}, want: oauth.Event{Type: "f", UserID: "auth0|demo", Description: "Failed Login: user is blocked"}},
		{name: "the failure past the account's limit is limit_wc", setup: func(s *eventServer) any {
			for range 2 {
				s.signIn(api, "openid", "demo@example.com", "wrong").Body.Close()
			}
			return nil
		}, trigger: func(s *eventServer, _ any) {
			s.signIn(api, "openid", "demo@example.com", "wrong").Body.Close()
		}, want: oauth.Event{Type: "limit_wc", UserName: "demo@example.com"}},
		{name: "the failure past the IP's limit is limit_mu", setup: func(s *eventServer) any {
			for _, u := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				s.signIn(api, "openid", u, "wrong").Body.Close()
			}
			return nil
		}, trigger: func(s *eventServer, _ any) {
			s.signIn(api, "openid", "d@example.com", "wrong").Body.Close()
		}, want: oauth.Event{Type: "limit_mu", UserName: "d@example.com"}},
		{name: "consent given is consent_given", setup: func(s *eventServer) any {
			return s.form(s.signIn(partnerAPI, "openid read:partner", "demo@example.com", "demo-password"))
		}, trigger: func(s *eventServer, v any) {
			form := v.(url.Values)
			form.Set("decision", "allow")
			resp, _ := s.browser.PostForm(s.url+"/authorize/consent", form)
			resp.Body.Close()
		}, want: oauth.Event{Type: "consent_given", ClientID: "demo-spa", UserID: "auth0|demo", Audience: partnerAPI, Scope: "openid read:partner"}},
		{name: "consent denied is consent_denied", setup: func(s *eventServer) any {
			return s.form(s.signIn(partnerAPI, "openid read:partner", "demo@example.com", "demo-password"))
		}, trigger: func(s *eventServer, v any) {
			form := v.(url.Values)
			form.Set("decision", "deny")
			resp, _ := s.browser.PostForm(s.url+"/authorize/consent", form)
			resp.Body.Close()
		}, want: oauth.Event{Type: "consent_denied", ClientID: "demo-spa", UserID: "auth0|demo", Audience: partnerAPI}},
		{name: "a code exchange is seacft with its new family", setup: func(s *eventServer) any { return s.code() },
			trigger: func(s *eventServer, v any) { s.exchange(v.(string)) },
			want:    oauth.Event{Type: "seacft", ClientID: "demo-spa", UserID: "auth0|demo", Audience: api, Scope: "openid offline_access read:data"},
			details: map[string]any{"grant_type": "authorization_code", "generation": float64(0), "original_audience": api}},
		{name: "a bad code is feacft", trigger: func(s *eventServer, _ any) {
			s.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"demo-spa"}, "code": {"nope"},
				"redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {strings.Repeat("v", 50)}})
		}, want: oauth.Event{Type: "feacft", ClientID: "demo-spa"}, details: map[string]any{"error": "invalid_grant"}},
		{name: "an MRRT refresh is sertft with the original and target audiences", setup: func(s *eventServer) any { return s.exchange(s.code()) },
			trigger: func(s *eventServer, v any) { s.refresh(v.(string), billing) },
			want:    oauth.Event{Type: "sertft", ClientID: "demo-spa", UserID: "auth0|demo", Audience: billing, Scope: "openid offline_access read:billing"},
			details: map[string]any{"grant_type": "refresh_token", "original_audience": api, "generation": float64(1), "token_type": "Bearer"}},
		{name: "a bad refresh token is fertft", trigger: func(s *eventServer, _ any) { s.refresh("garbage", "") },
			want: oauth.Event{Type: "fertft", ClientID: "demo-spa"}, details: map[string]any{"error": "invalid_grant"}},
		{name: "a reused refresh token is ferrt", setup: func(s *eventServer) any {
			rt := s.exchange(s.code())
			s.refresh(rt, "")
			return rt
		}, trigger: func(s *eventServer, v any) { s.refresh(v.(string), "") },
			want: oauth.Event{Type: "ferrt", ClientID: "demo-spa", UserID: "auth0|demo"}, details: map[string]any{"error": "invalid_grant", "original_audience": api}},
		{name: "client credentials are seccft", trigger: func(s *eventServer, _ any) {
			s.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"},
				"client_secret": {"demo-m2m-secret-change-me"}, "audience": {api}})
		}, want: oauth.Event{Type: "seccft", ClientID: "demo-m2m", Audience: api, Scope: "read:data"}},
		{name: "a wrong client secret is feccft", trigger: func(s *eventServer, _ any) {
			s.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"},
				"client_secret": {"wrong-secret-0123456789"}, "audience": {api}})
		}, want: oauth.Event{Type: "feccft", ClientID: "demo-m2m"}, details: map[string]any{"error": "invalid_client"}},
		{name: "a revocation is srrt", setup: func(s *eventServer) any { return s.exchange(s.code()) },
			trigger: func(s *eventServer, v any) {
				s.post("/oauth/revoke", url.Values{"client_id": {"demo-spa"}, "token": {v.(string)}})
			}, want: oauth.Event{Type: "srrt", ClientID: "demo-spa", UserID: "auth0|demo", Audience: api}},
		{name: "a logout is slo", trigger: func(s *eventServer, _ any) {
			resp, _ := s.browser.Get(s.url + "/v2/logout?client_id=demo-spa")
			resp.Body.Close()
		}, want: oauth.Event{Type: "slo", ClientID: "demo-spa"}},
		{name: "a logout to an unregistered URL is flo", trigger: func(s *eventServer, _ any) {
			resp, _ := s.browser.Get(s.url + "/v2/logout?client_id=demo-spa&returnTo=" + url.QueryEscape("https://evil.example.com/"))
			resp.Body.Close()
		}, want: oauth.Event{Type: "flo", ClientID: "demo-spa"}},
		{name: "an admin read is mgmt_api_read", setup: func(s *eventServer) any { return s.admin() },
			trigger: func(s *eventServer, v any) { v.(*adminClient).call("GET", "/api/v2/clients", nil, 200, nil) },
			want:    oauth.Event{Type: "mgmt_api_read", ClientID: "admin-cli", Description: "Management API read operation: GET /api/v2/clients"}},
		{name: "a user blocked by an admin is sapi with details.blocked true", setup: func(s *eventServer) any { return s.admin() },
			trigger: func(s *eventServer, v any) {
				v.(*adminClient).call("PATCH", "/api/v2/users/auth0%7Cdemo", map[string]any{"blocked": true}, 200, nil)
			}, want: oauth.Event{Type: "sapi", ClientID: "admin-cli", UserID: "auth0|demo"},
			details: map[string]any{"response": map[string]any{"statusCode": float64(200)}, "blocked": true}},
		{name: "a user unblocked by an admin is sapi with details.blocked false", setup: func(s *eventServer) any {
			a := s.admin()
			a.call("PATCH", "/api/v2/users/auth0%7Cdemo", map[string]any{"blocked": true}, 200, nil)
			return a
		}, trigger: func(s *eventServer, v any) {
			v.(*adminClient).call("PATCH", "/api/v2/users/auth0%7Cdemo", map[string]any{"blocked": false}, 200, nil)
		}, want: oauth.Event{Type: "sapi", ClientID: "admin-cli", UserID: "auth0|demo"}, details: map[string]any{"blocked": false}},
		{name: "another change to a user is sapi without details.blocked", setup: func(s *eventServer) any { return s.admin() },
			trigger: func(s *eventServer, v any) {
				v.(*adminClient).call("PATCH", "/api/v2/users/auth0%7Cdemo", map[string]any{"name": "Demo"}, 200, nil)
			}, want: oauth.Event{Type: "sapi", ClientID: "admin-cli", UserID: "auth0|demo"}, details: map[string]any{"blocked": nil}},
		{name: "a refused admin call is fapi", trigger: func(s *eventServer, _ any) {
			req, _ := http.NewRequest("GET", s.url+"/api/v2/clients", nil)
			req.Header.Set("Authorization", "Bearer e30.e30.sig")
			resp, _ := http.DefaultClient.Do(req)
			resp.Body.Close()
		}, want: oauth.Event{Type: "fapi"}, details: map[string]any{"response": map[string]any{"statusCode": float64(401)}}},
		{name: "a user deletion is du", setup: func(s *eventServer) any { return s.admin() },
			trigger: func(s *eventServer, v any) {
				v.(*adminClient).call("DELETE", "/api/v2/users/auth0%7Cdemo", nil, 204, nil)
			},
			want: oauth.Event{Type: "du", ClientID: "admin-cli", UserID: "auth0|demo"}},
	} {
		covered[tc.want.Type] = true
		t.Run(tc.name, func(t *testing.T) {
			s := newEventServer(t)
			var v any
			if tc.setup != nil {
				v = tc.setup(s)
			}
			n := s.count()
			tc.trigger(s, v)
			got := s.since(n)
			if len(got) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(got), got)
			}
			checkEvent(t, got[0], tc.want, tc.details)
			s.scanForSecrets(t)
		})
	}
	for typ := range oauth.EventTypes {
		if !covered[typ] {
			t.Errorf("event type %s has no case here", typ)
		}
	}
}

// checkEvent compares e with want's type and non-empty fields, details
// as a subset, and the fields every event has.
func checkEvent(t *testing.T, e, want oauth.Event, details map[string]any) {
	t.Helper()
	if e.Type != want.Type || e.LogID == "" || e.Date.IsZero() || time.Since(e.Date) > time.Minute || e.IP == "" {
		t.Errorf("event %+v: want type %s with log_id, date and ip", e, want.Type)
	}
	if want.Description == "" && !strings.HasPrefix(e.Description, oauth.EventTypes[e.Type]) {
		t.Errorf("description %q, want it to start with %q", e.Description, oauth.EventTypes[e.Type])
	}
	for _, f := range []struct{ name, got, want string }{
		{"description", e.Description, want.Description}, {"client_id", e.ClientID, want.ClientID}, {"user_id", e.UserID, want.UserID},
		{"user_name", e.UserName, want.UserName}, {"audience", e.Audience, want.Audience}, {"scope", e.Scope, want.Scope},
	} {
		if f.want != "" && f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	// Details as the admin API shows them (JSON numbers are float64).
	b, _ := json.Marshal(e.Details)
	var got map[string]any
	json.Unmarshal(b, &got)
	for k, w := range details {
		gb, _ := json.Marshal(got[k])
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("details.%s = %s, want %s (details %s)", k, gb, wb, b)
		}
	}
}

// Every event of a run through every flow is scanned for every secret the
// run handed out or sent (passwords, client secrets, codes, access,
// refresh and ID tokens, admin tokens) and for their hashes.
func TestNoEventHoldsASecretTokenCodePasswordOrHash(t *testing.T) {
	s := newEventServer(t)
	rt := s.exchange(s.code())
	_, body := s.refresh(rt, "https://billing.example.com")
	s.refresh(rt, "") // reuse
	rt2 := s.exchange(s.code())
	s.post("/oauth/revoke", url.Values{"client_id": {"demo-spa"}, "token": {rt2}})
	s.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"},
		"client_secret": {"demo-m2m-secret-change-me"}, "audience": {"https://api.example.com"}})
	wrong := "wrong-secret-0123456789abcdef"
	s.issued = append(s.issued, wrong)
	s.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"}, "client_secret": {wrong}, "audience": {"https://api.example.com"}})
	s.browser.Jar, _ = cookiejar.New(nil) // signed out: the login form again
	s.signIn("https://api.example.com", "openid", "demo@example.com", "a-wrong-password-123").Body.Close()
	s.issued = append(s.issued, "a-wrong-password-123")
	admin := s.admin()
	var created struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	admin.call("POST", "/api/v2/clients", map[string]any{"name": "m2m", "app_type": "non_interactive", "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": "client_secret_post"}, 201, &created)
	var rotated struct {
		ClientSecret string `json:"client_secret"`
	}
	admin.call("POST", "/api/v2/clients/"+created.ClientID+"/rotate-secret", nil, 200, &rotated)
	newPassword := "a-new-users-password-456"
	admin.call("POST", "/api/v2/users", map[string]any{"email": "new@example.com", "password": newPassword}, 201, nil)
	s.issued = append(s.issued, created.ClientSecret, rotated.ClientSecret, newPassword, body["refresh_token"].(string))

	s.scanForSecrets(t)
	events, _ := s.log.Events(context.Background(), oauth.EventQuery{})
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Type] = true
	}
	for _, typ := range []string{"s", "fp", "seacft", "sertft", "ferrt", "srrt", "seccft", "feccft", "sapi"} {
		if !seen[typ] {
			t.Errorf("no %s event: the run did not go through every flow (%d events)", typ, len(events))
		}
	}
}

// scanForSecrets fails if any event of s holds a secret the run handed
// out or sent, or its hash.
func (s *eventServer) scanForSecrets(t *testing.T) {
	t.Helper()
	events, _ := s.log.Events(context.Background(), oauth.EventQuery{})
	for _, e := range events {
		b, _ := json.Marshal(e)
		for _, secret := range s.issued {
			for _, v := range []string{secret, oauth.HashToken(secret)} {
				if len(v) >= 8 && strings.Contains(string(b), v) {
					t.Errorf("event %s holds a secret or its hash (%.10s...): %s", e.Type, v, b)
				}
			}
		}
	}
}
