package authorize

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/testkit/faults"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const (
	apiID      = "https://api.example.com"
	consentAPI = "https://consent.example.com" // no consent skipping, no offline access
	spaCB      = "https://app.example.com/callback"
	spaQueryCB = "https://app.example.com/cb?tenant=a"
	thirdCB    = "https://third.example.com/cb"
	alice      = "alice@example.com"
	alicePW    = "alice-password"
	bob        = "bob@example.com" // blocked
	bobPW      = "bob-password"
	verifier   = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

var challenge = func() string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}()

// Hashing is slow on purpose; hash the test passwords once.
var hashes = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, pw := range []string{alicePW, bobPW} {
		h, err := password.Hash(pw, rand.Reader)
		if err != nil {
			panic(err)
		}
		m[pw] = h
	}
	return m
})

// env is a seeded store, a clock, and the handler served over HTTP.
type env struct {
	t     *testing.T
	store *faults.Store
	clock *oauthtest.Clock
	srv   *httptest.Server
	deps  Deps
}

type option func(*Deps)

func withDefaultAudience(a string) option { return func(d *Deps) { d.DefaultAudience = a } }

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	return newEnvOn(t, memstore.New(), opts...)
}

// newEnvOn is newEnv on another (empty) store.
func newEnvOn(t *testing.T, store oauth.Store, opts ...option) *env {
	t.Helper()
	e := &env{t: t, store: faults.NewStore(store), clock: oauthtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	seed(t, e.store)
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Tests play clients at other addresses (browser.ip); API Gateway's
		// sourceIp and the dev server's peer address both arrive in RemoteAddr.
		if ip := r.Header.Get(testClientIP); ip != "" {
			r.RemoteAddr = net.JoinHostPort(ip, "40000")
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.deps = Deps{
		Clients: e.store, APIs: e.store, Users: e.store, Codes: e.store,
		Sessions: e.store, Consents: e.store, Throttle: e.store,
		Issuer: e.srv.URL, Now: e.clock.Now,
	}
	for _, o := range opts {
		o(&e.deps)
	}
	h = NewHandler(e.deps)
	return e
}

func seed(t *testing.T, s oauth.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateResourceServer(ctx, &oauth.ResourceServer{
		Identifier: apiID, Name: "Example API",
		Scopes:             []oauth.Scope{{Value: "read:items", Description: "Read your items"}, {Value: "write:items"}},
		AllowOfflineAccess: true, SkipConsentForVerifiableFirstPartyClients: true,
	}))
	must(s.CreateResourceServer(ctx, &oauth.ResourceServer{
		Identifier: consentAPI, Name: "Consent API", Scopes: []oauth.Scope{{Value: "read:notes"}},
	}))
	code := []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}
	for _, c := range []*oauth.Client{
		{ClientID: "spa", Name: "Example SPA", AppType: oauth.AppTypeSPA, IsFirstParty: true,
			Callbacks: []string{spaCB, spaQueryCB}, GrantTypes: code, TokenEndpointAuthMethod: oauth.AuthMethodNone},
		{ClientID: "native", Name: "Example CLI", AppType: oauth.AppTypeNative, IsFirstParty: true,
			Callbacks:  []string{"http://127.0.0.1/callback", "http://[::1]/callback", "com.example.app:/oauth"},
			GrantTypes: code, TokenEndpointAuthMethod: oauth.AuthMethodNone},
		{ClientID: "web-loopback", Name: "Loopback web app", AppType: oauth.AppTypeRegularWeb, IsFirstParty: true,
			Callbacks: []string{"http://127.0.0.1:3000/cb"}, GrantTypes: code, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic},
		{ClientID: "third", Name: "Third <Party> App", AppType: oauth.AppTypeRegularWeb,
			Callbacks: []string{thirdCB}, GrantTypes: code, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic},
		{ClientID: "m2m", Name: "Machine", AppType: oauth.AppTypeNonInteractive, IsFirstParty: true,
			Callbacks: []string{"https://m2m.example.com/cb"}, GrantTypes: []string{oauth.GrantTypeClientCredentials},
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic},
	} {
		must(s.CreateClient(ctx, c))
	}
	must(s.CreateUser(ctx, &oauth.User{UserID: "u-alice", Email: alice, Name: "Alice", PasswordHash: hashes()[alicePW]}))
	must(s.CreateUser(ctx, &oauth.User{UserID: "u-bob", Email: bob, Blocked: true, PasswordHash: hashes()[bobPW]}))
	must(s.CreateUser(ctx, &oauth.User{UserID: "u-nopw", Email: "nopw@example.com"}))
}

// query is a valid authorization request of the SPA.
func query() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {"spa"},
		"redirect_uri":          {spaCB},
		"state":                 {"st-123"},
		"scope":                 {"openid profile offline_access read:items"},
		"audience":              {apiID},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"nonce":                 {"n-456"},
	}
}

// testClientIP is the header through which a browser claims its address.
const testClientIP = "X-Test-Client-IP"

// browser is a cookie-keeping client that does not follow redirects; ip,
// when set, is the client address the handler sees.
type browser struct {
	t  *testing.T
	e  *env
	c  *http.Client
	ip string
}

func (e *env) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, e: e, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r *response) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location; status %d, body:\n%s", r.status, r.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) do(req *http.Request) *response {
	b.t.Helper()
	if b.ip != "" {
		req.Header.Set(testClientIP, b.ip)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// authorize sends GET /authorize?rawQuery.
func (b *browser) authorize(rawQuery string) *response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+"/authorize?"+rawQuery, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) get(path string) *response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) *response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

// formFields returns the hidden fields of a login or consent page.
func formFields(t *testing.T, r *response) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(r.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("csrf") == "" || v.Get("request") == "" {
		t.Fatalf("no form on the page (status %d):\n%s", r.status, r.body)
	}
	return v
}

// signIn posts the login form of page r.
func (b *browser) signIn(r *response, username, pw string) *response {
	b.t.Helper()
	f := formFields(b.t, r)
	f.Set("username", username)
	f.Set("password", pw)
	return b.post("/authorize/login", f)
}

// decide posts the consent form of page r.
func (b *browser) decide(r *response, decision string) *response {
	b.t.Helper()
	f := formFields(b.t, r)
	f.Set("decision", decision)
	return b.post("/authorize/consent", f)
}

// loginAs runs GET /authorize with q and signs in, returning the response
// to the login POST.
func (b *browser) loginAs(q url.Values, username, pw string) *response {
	b.t.Helper()
	page := b.authorize(q.Encode())
	if !isLoginPage(page) {
		b.t.Fatalf("want the login page, got status %d, Location %q:\n%s", page.status, page.header.Get("Location"), page.body)
	}
	return b.signIn(page, username, pw)
}

func isLoginPage(r *response) bool {
	return r.header.Get("Location") == "" && strings.Contains(r.body, `action="/authorize/login"`)
}

func isConsentPage(r *response) bool {
	return r.status == http.StatusOK && strings.Contains(r.body, `action="/authorize/consent"`)
}

var loginMessage = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)

func pageMessage(r *response) string {
	m := loginMessage.FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// wantCode checks that r redirects to redirectURI with a code, the state
// and iss, and returns the stored code.
func (e *env) wantCode(t *testing.T, r *response, redirectURI, state string, status int) (string, *oauth.AuthCode) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; Location %q; body:\n%s", r.status, status, r.header.Get("Location"), r.body)
	}
	loc := r.location(t)
	q := loc.Query()
	base := *loc
	base.RawQuery = ""
	wantBase, _, _ := strings.Cut(redirectURI, "?")
	if base.String() != wantBase {
		t.Fatalf("redirected to %q, want %q", base.String(), wantBase)
	}
	if q.Get("iss") != e.srv.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), e.srv.URL)
	}
	if got, ok := q["state"]; state == "" && ok || state != "" && (len(got) != 1 || got[0] != state) {
		t.Errorf("state = %q, want %q", got, state)
	}
	if q.Get("error") != "" {
		t.Fatalf("error %q: %q", q.Get("error"), q.Get("error_description"))
	}
	code := q.Get("code")
	ac, err := e.store.Code(context.Background(), oauth.HashToken(code), e.clock.Now())
	if err != nil {
		t.Fatalf("code %q not stored: %v", code, err)
	}
	return code, ac
}

// wantError checks that r redirects to redirectURI with error code.
func (e *env) wantError(t *testing.T, r *response, redirectURI, state string, code oauth.ErrorCode) url.Values {
	t.Helper()
	loc := r.location(t)
	q := loc.Query()
	if q.Get("error") != string(code) {
		t.Errorf("error = %q (%q), want %q", q.Get("error"), q.Get("error_description"), code)
	}
	if q.Get("error_description") == "" {
		t.Error("error_description missing")
	}
	if q.Get("iss") != e.srv.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), e.srv.URL)
	}
	if got, ok := q["state"]; state == "" && ok || state != "" && (len(got) != 1 || got[0] != state) {
		t.Errorf("state = %q, want %q", got, state)
	}
	if q.Get("code") != "" {
		t.Error("error response carries a code")
	}
	base := *loc
	base.RawQuery = ""
	wantBase, _, _ := strings.Cut(redirectURI, "?")
	if base.String() != wantBase {
		t.Errorf("redirected to %q, want %q", base.String(), wantBase)
	}
	return q
}

// wantErrorPage checks that r is an error page and no redirect.
func wantErrorPage(t *testing.T, r *response, status int) {
	t.Helper()
	if loc := r.header.Get("Location"); loc != "" {
		t.Fatalf("redirected to %q; want an error page", loc)
	}
	if r.status != status {
		t.Errorf("status %d, want %d", r.status, status)
	}
	if !strings.Contains(r.body, "<h1>Sign-in error</h1>") {
		t.Errorf("not the error page:\n%s", r.body)
	}
}
