package authorize

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestRequestsWithoutAVerifiedRedirectShowAnErrorPage(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		raw  func() string
	}{
		{"unknown client_id", func() string { q := query(); q.Set("client_id", "nope"); return q.Encode() }},
		{"missing client_id", func() string { q := query(); q.Del("client_id"); return q.Encode() }},
		{"empty client_id", func() string { q := query(); q.Set("client_id", ""); return q.Encode() }},
		{"repeated client_id", func() string { q := query(); q.Add("client_id", "spa"); return q.Encode() }},
		{"missing redirect_uri", func() string { q := query(); q.Del("redirect_uri"); return q.Encode() }},
		{"repeated redirect_uri, even with the same value", func() string { q := query(); q.Add("redirect_uri", spaCB); return q.Encode() }},
		{"unregistered redirect_uri", func() string { q := query(); q.Set("redirect_uri", "https://evil.example/cb"); return q.Encode() }},
		{"another client's redirect_uri", func() string { q := query(); q.Set("redirect_uri", thirdCB); return q.Encode() }},
		{"malformed percent-encoding", func() string { return query().Encode() + "&x=%zz" }},
		{"semicolon separator", func() string { return query().Encode() + ";x=1" }},
		{"unknown client with an otherwise broken request", func() string {
			q := query()
			q.Set("client_id", "nope")
			q.Set("response_type", "token")
			return q.Encode()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" shows an error page and does not redirect", func(t *testing.T) {
			r := e.browser(t).authorize(tc.raw())
			wantErrorPage(t, r, http.StatusBadRequest)
		})
	}
}

func TestParameterRules(t *testing.T) {
	type tcase struct {
		name  string
		edit  func(q url.Values)
		state string // expected state echo; "st-123" unless set
		want  oauth.ErrorCode
	}
	tests := []tcase{
		{name: "missing response_type is invalid_request", edit: func(q url.Values) { q.Del("response_type") }, want: oauth.InvalidRequest},
		{name: "response_type token is unsupported_response_type", edit: func(q url.Values) { q.Set("response_type", "token") }, want: oauth.UnsupportedResponseType},
		{name: "response_type id_token token is unsupported_response_type", edit: func(q url.Values) { q.Set("response_type", "id_token token") }, want: oauth.UnsupportedResponseType},
		{name: "response_type code token is unsupported_response_type", edit: func(q url.Values) { q.Set("response_type", "code token") }, want: oauth.UnsupportedResponseType},
		{name: "response_type code id_token is unsupported_response_type", edit: func(q url.Values) { q.Set("response_type", "code id_token") }, want: oauth.UnsupportedResponseType},
		{name: "response_mode fragment is invalid_request", edit: func(q url.Values) { q.Set("response_mode", "fragment") }, want: oauth.InvalidRequest},
		{name: "client without the authorization_code grant is unauthorized_client", edit: func(q url.Values) {
			q.Set("client_id", "m2m")
			q.Set("redirect_uri", "https://m2m.example.com/cb")
		}, want: oauth.UnauthorizedClient},
		{name: "missing code_challenge is invalid_request", edit: func(q url.Values) { q.Del("code_challenge") }, want: oauth.InvalidRequest},
		{name: "missing code_challenge_method is invalid_request (it would mean plain)", edit: func(q url.Values) { q.Del("code_challenge_method") }, want: oauth.InvalidRequest},
		{name: "code_challenge_method plain is invalid_request", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, want: oauth.InvalidRequest},
		{name: "code_challenge_method s256 in lower case is invalid_request", edit: func(q url.Values) { q.Set("code_challenge_method", "s256") }, want: oauth.InvalidRequest},
		{name: "code_challenge of 42 characters is invalid_request", edit: func(q url.Values) { q.Set("code_challenge", challenge[:42]) }, want: oauth.InvalidRequest},
		{name: "code_challenge of 44 characters is invalid_request", edit: func(q url.Values) { q.Set("code_challenge", challenge+"A") }, want: oauth.InvalidRequest},
		{name: "code_challenge with padding is invalid_request", edit: func(q url.Values) { q.Set("code_challenge", challenge[:42]+"=") }, want: oauth.InvalidRequest},
		{name: "code_challenge in standard base64 is invalid_request", edit: func(q url.Values) { q.Set("code_challenge", "+"+challenge[1:]) }, want: oauth.InvalidRequest},
		{name: "code_challenge of a 128-character plain verifier is invalid_request", edit: func(q url.Values) { q.Set("code_challenge", strings.Repeat("a", 128)) }, want: oauth.InvalidRequest},
		{name: "nonce longer than 1024 bytes is invalid_request", edit: func(q url.Values) { q.Set("nonce", strings.Repeat("n", 1025)) }, want: oauth.InvalidRequest},
		{name: "nonce that is not UTF-8 is invalid_request", edit: func(q url.Values) { q.Set("nonce", "\xff\xfe") }, want: oauth.InvalidRequest},
		{name: "prompt consent is invalid_request", edit: func(q url.Values) { q.Set("prompt", "consent") }, want: oauth.InvalidRequest},
		{name: "prompt select_account is invalid_request", edit: func(q url.Values) { q.Set("prompt", "select_account") }, want: oauth.InvalidRequest},
		{name: "prompt none with login is invalid_request", edit: func(q url.Values) { q.Set("prompt", "none login") }, want: oauth.InvalidRequest},
		{name: "prompt with a double space is invalid_request", edit: func(q url.Values) { q.Set("prompt", "login  login") }, want: oauth.InvalidRequest},
		{name: "negative max_age is invalid_request", edit: func(q url.Values) { q.Set("max_age", "-1") }, want: oauth.InvalidRequest},
		{name: "fractional max_age is invalid_request", edit: func(q url.Values) { q.Set("max_age", "1.5") }, want: oauth.InvalidRequest},
		{name: "max_age with a sign is invalid_request", edit: func(q url.Values) { q.Set("max_age", "+60") }, want: oauth.InvalidRequest},
		{name: "max_age of ten digits is invalid_request", edit: func(q url.Values) { q.Set("max_age", "1000000000") }, want: oauth.InvalidRequest},
		{name: "scope with a double quote is invalid_scope", edit: func(q url.Values) { q.Set("scope", `openid "x"`) }, want: oauth.InvalidScope},
		{name: "scope with a double space is invalid_scope", edit: func(q url.Values) { q.Set("scope", "openid  profile") }, want: oauth.InvalidScope},
		{name: "scope longer than 2048 bytes is invalid_scope", edit: func(q url.Values) { q.Set("scope", strings.Repeat("a ", 1024)+"b") }, want: oauth.InvalidScope},
		{name: "audience and resource naming different APIs is invalid_request", edit: func(q url.Values) { q.Set("resource", consentAPI) }, want: oauth.InvalidRequest},
		{name: "unknown audience is invalid_target", edit: func(q url.Values) { q.Set("audience", "https://unknown.example.com") }, want: oauth.InvalidTarget},
		{name: "unknown resource is invalid_target", edit: func(q url.Values) { q.Del("audience"); q.Set("resource", "https://unknown.example.com") }, want: oauth.InvalidTarget},
		{name: "relative resource is invalid_target", edit: func(q url.Values) { q.Del("audience"); q.Set("resource", "api.example.com") }, want: oauth.InvalidTarget},
		{name: "resource with a fragment is invalid_target", edit: func(q url.Values) { q.Del("audience"); q.Set("resource", apiID+"#x") }, want: oauth.InvalidTarget},
		{name: "no audience, no default audience and no openid is invalid_request", edit: func(q url.Values) { q.Del("audience"); q.Set("scope", "read:items") }, want: oauth.InvalidRequest},
		{name: "state of 64 KiB is invalid_request without echoing it", edit: func(q url.Values) { q.Set("state", strings.Repeat("s", 64<<10)) }, state: "-", want: oauth.InvalidRequest},
		{name: "repeated state is invalid_request without echoing it", edit: func(q url.Values) { q.Add("state", "st-123") }, state: "-", want: oauth.InvalidRequest},
	}
	for _, p := range params {
		if p == "client_id" || p == "redirect_uri" || p == "state" {
			continue
		}
		tests = append(tests, tcase{name: "repeated " + p + " is invalid_request", edit: func(q url.Values) {
			if q.Get(p) == "" {
				q.Add(p, "x")
			}
			q.Add(p, q.Get(p))
		}, want: oauth.InvalidRequest})
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := query()
			tc.edit(q)
			r := e.browser(t).authorize(q.Encode())
			if r.status != http.StatusFound {
				t.Fatalf("status %d, want 302; body:\n%s", r.status, r.body)
			}
			state := "st-123"
			if tc.state == "-" {
				state = ""
			}
			e.wantError(t, r, q.Get("redirect_uri"), state, tc.want)
		})
	}
}

func TestErrorDescriptionsDoNotReflectInput(t *testing.T) {
	e := newEnv(t)
	q := query()
	q.Set("prompt", "evil\r\nSet-Cookie: x=1")
	q.Set("state", "s")
	r := e.browser(t).authorize(q.Encode())
	d := e.wantError(t, r, spaCB, "s", oauth.InvalidRequest).Get("error_description")
	for _, c := range []byte(d) {
		if c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			t.Fatalf("error_description %q has a character outside RFC 6749 §5.2", d)
		}
	}
	if strings.Contains(d, "evil") {
		t.Errorf("error_description %q reflects the input", d)
	}
}

func TestValidRequests(t *testing.T) {
	e := newEnv(t, withDefaultAudience(apiID))
	b := e.browser(t)
	e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)

	tests := []struct {
		name   string
		edit   func(q url.Values)
		wantCB string
		state  string
		scopes []string
		aud    string
	}{
		{name: "request with every parameter gets a code", scopes: []string{"openid", "profile", "offline_access", "read:items"}},
		{name: "unknown parameters are ignored, even repeated", edit: func(q url.Values) { q.Add("foo", "1"); q.Add("foo", "2") }},
		{name: "empty parameters count as absent", edit: func(q url.Values) { q.Set("nonce", ""); q.Set("max_age", ""); q.Set("prompt", "") }},
		{name: "response without state when none was sent", edit: func(q url.Values) { q.Del("state") }, state: "-"},
		{name: "state of 4 KiB with every printable byte is echoed exactly", edit: func(q url.Values) {
			var b strings.Builder
			for b.Len() < 4096 {
				b.WriteByte(byte(0x20 + b.Len()%95))
			}
			q.Set("state", b.String())
		}},
		{name: "state with non-ASCII and reserved characters is echoed exactly", edit: func(q url.Values) { q.Set("state", "é&x=1#frag ?+%20") }},
		{name: "resource alone names the API", edit: func(q url.Values) { q.Del("audience"); q.Set("resource", apiID) }},
		{name: "audience and resource naming the same API are accepted", edit: func(q url.Values) { q.Set("resource", apiID) }},
		{name: "no audience uses the default audience", edit: func(q url.Values) { q.Del("audience") }, aud: apiID},
		{name: "registered query is kept in the redirect", edit: func(q url.Values) { q.Set("redirect_uri", spaQueryCB) }, wantCB: spaQueryCB},
		{name: "scopes are cut to the API's and OIDC scopes", edit: func(q url.Values) {
			q.Set("scope", "openid email bogus read:items write:items read:notes openid")
		}, scopes: []string{"openid", "email", "read:items", "write:items"}},
		{name: "no scope gives a code with no scopes", edit: func(q url.Values) { q.Del("scope") }, scopes: []string{}},
		{name: "max_age longer than the age of the session gets a code", edit: func(q url.Values) { q.Set("max_age", "3600") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := query()
			if tc.edit != nil {
				tc.edit(q)
			}
			r := b.authorize(q.Encode())
			cb := spaCB
			if tc.wantCB != "" {
				cb = tc.wantCB
			}
			state := q.Get("state")
			if tc.state == "-" {
				state = ""
			}
			_, ac := e.wantCode(t, r, cb, state, http.StatusFound)
			if tc.wantCB != "" {
				if got := r.location(t).Query()["tenant"]; !slices.Equal(got, []string{"a"}) {
					t.Errorf("registered query lost: tenant = %q", got)
				}
			}
			if tc.scopes != nil {
				if diff := cmp.Diff(tc.scopes, ac.Scopes, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
					t.Errorf("scopes (-want +got):\n%s", diff)
				}
			}
			if tc.aud != "" && ac.Audience != tc.aud {
				t.Errorf("audience %q, want %q", ac.Audience, tc.aud)
			}
		})
	}
}

func TestOfflineAccessNeedsAnAPIThatAllowsIt(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	q := query()
	q.Set("client_id", "third")
	q.Set("redirect_uri", thirdCB)
	q.Set("audience", consentAPI)
	q.Set("scope", "openid offline_access read:notes")
	consent := b.loginAs(q, alice, alicePW)
	if !isConsentPage(consent) {
		t.Fatalf("want the consent page, got %d:\n%s", consent.status, consent.body)
	}
	_, ac := e.wantCode(t, b.decide(consent, "allow"), thirdCB, "st-123", http.StatusSeeOther)
	if diff := cmp.Diff([]string{"openid", "read:notes"}, ac.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestCodeIsStoredBoundToTheRequest(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	code, ac := e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	now := e.clock.Now()
	want := &oauth.AuthCode{
		Hash:                oauth.HashToken(code),
		ClientID:            "spa",
		RedirectURI:         spaCB,
		CodeChallenge:       challenge,
		CodeChallengeMethod: "S256",
		Audience:            apiID,
		Scopes:              []string{"openid", "profile", "offline_access", "read:items"},
		Nonce:               "n-456",
		UserID:              "u-alice",
		AuthTime:            now,
		ExpiresAt:           now.Add(oauth.CodeLifetime),
	}
	if diff := cmp.Diff(want, ac); diff != "" {
		t.Errorf("stored code (-want +got):\n%s", diff)
	}
	if len(code) != 43 {
		t.Errorf("code %q is not 256 bits of base64url", code)
	}
	code2, _ := e.wantCode(t, b.authorize(query().Encode()), spaCB, "st-123", http.StatusFound)
	if code2 == code {
		t.Error("two requests got the same code")
	}
}

func TestTheFormCarriesOnlyTheKnownParameters(t *testing.T) {
	e := newEnv(t)
	q := query()
	q.Set("junk", strings.Repeat("j", 60<<10))
	q.Set("state", "a&b=c d+é")
	b := e.browser(t)
	page := b.authorize(q.Encode())
	got, err := url.ParseQuery(formFields(t, page).Get("request"))
	if err != nil {
		t.Fatal(err)
	}
	q.Del("junk")
	if diff := cmp.Diff(q, got); diff != "" {
		t.Errorf("carried request (-want +got):\n%s", diff)
	}
	// A request padded with unknown parameters still fits the login form.
	e.wantCode(t, b.signIn(page, alice, alicePW), spaCB, "a&b=c d+é", http.StatusSeeOther)
}

func TestMachineOnlyAudienceIsRefused(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.MachineOnlyAudiences = []string{consentAPI} })
	for _, param := range []string{"audience", "resource"} {
		t.Run("a machine-only API named by "+param+" is invalid_target", func(t *testing.T) {
			q := query()
			q.Del("audience")
			q.Set(param, consentAPI)
			r := e.browser(t).authorize(q.Encode())
			if r.status != http.StatusFound {
				t.Fatalf("status %d, want 302; body:\n%s", r.status, r.body)
			}
			e.wantError(t, r, spaCB, "st-123", oauth.InvalidTarget)
		})
	}
}

func TestHeadNeverMintsACode(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	req, err := http.NewRequest(http.MethodHead, e.srv.URL+"/authorize?"+query().Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := b.do(req)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Location") != "" {
		t.Fatalf("HEAD /authorize with a session: status %d, Location %q; want 405 and no redirect", r.status, r.header.Get("Location"))
	}
}
