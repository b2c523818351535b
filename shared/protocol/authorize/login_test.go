package authorize

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestSignInRedirectsWithACode(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	page := b.authorize(query().Encode())
	if page.status != http.StatusOK || !isLoginPage(page) {
		t.Fatalf("want the login page, got %d:\n%s", page.status, page.body)
	}
	for _, want := range []string{`name="username"`, `name="password"`, `type="password"`, `method="post"`, "Example SPA"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	r := b.signIn(page, alice, alicePW)
	// 303 after the POST: a 307 would re-post the password (RFC 9700 §4.12).
	e.wantCode(t, r, spaCB, "st-123", http.StatusSeeOther)
}

func TestSessionCookie(t *testing.T) {
	t.Run("local http issuer sets an HttpOnly SameSite=Lax cookie named session, not Secure", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		r := b.loginAs(query(), alice, alicePW)
		c := cookieNamed(t, r, "session")
		if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 86400 {
			t.Errorf("cookie %+v: want HttpOnly, not Secure, SameSite=Lax, Path=/, Max-Age=86400", c)
		}
		sess, err := e.store.Session(context.Background(), oauth.HashToken(c.Value), e.clock.Now())
		if err != nil {
			t.Fatalf("session not stored under the hash of the cookie: %v", err)
		}
		now := e.clock.Now()
		if sess.UserID != "u-alice" || !sess.AuthTime.Equal(now) || !sess.ExpiresAt.Equal(now.Add(24*time.Hour)) {
			t.Errorf("session %+v", sess)
		}
	})
	t.Run("https issuer sets Secure __Host- cookies", func(t *testing.T) {
		e := newEnv(t)
		h := NewHandler(Deps{Clients: e.store, APIs: e.store, Users: e.store, Codes: e.store, Sessions: e.store,
			Consents: e.store, Throttle: e.store, Issuer: "https://auth.example.com", Now: e.clock.Now})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://auth.example.com/authorize?"+query().Encode(), nil))
		page := &response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
		csrf := cookieNamed(t, page, "__Host-csrf")
		if !csrf.Secure || !csrf.HttpOnly || csrf.Path != "/" || csrf.Domain != "" {
			t.Errorf("csrf cookie %+v", csrf)
		}
		f := formFields(t, page)
		f.Set("username", alice)
		f.Set("password", alicePW)
		req := httptest.NewRequest(http.MethodPost, "https://auth.example.com/authorize/login", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "__Host-csrf", Value: csrf.Value})
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		r := &response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d:\n%s", r.status, r.body)
		}
		s := cookieNamed(t, r, "__Host-session")
		if !s.Secure || !s.HttpOnly || s.SameSite != http.SameSiteLaxMode || s.Path != "/" || s.Domain != "" {
			t.Errorf("session cookie %+v", s)
		}
	})
}

func cookieNamed(t *testing.T, r *response, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, r.header["Set-Cookie"])
	return nil
}

func TestWrongCredentialsGiveOneGenericMessage(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, user, pw string }{
		{"wrong password", alice, "wrong"},
		{"unknown user", "nobody@example.com", alicePW},
		{"blocked user with the right password", bob, bobPW},
		{"user without a password", "nopw@example.com", "anything"},
		{"empty password", alice, ""},
		{"password longer than the cap", alice, strings.Repeat("p", 2000)},
	}
	for _, tc := range tests {
		t.Run(tc.name+" shows the login page with the generic message", func(t *testing.T) {
			b := e.browser(t)
			r := b.loginAs(query(), tc.user, tc.pw)
			if r.status != http.StatusUnauthorized || !isLoginPage(r) {
				t.Fatalf("status %d, Location %q; want 401 and the login page", r.status, r.header.Get("Location"))
			}
			if got := pageMessage(r); got != msgBadCredentials {
				t.Errorf("message %q, want %q", got, msgBadCredentials)
			}
			if strings.Contains(r.header.Get("Set-Cookie"), "session=") {
				t.Error("a failed sign-in set a session cookie")
			}
			// The page can be submitted again.
			e.wantCode(t, b.signIn(r, alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		})
	}
}

func TestLockout(t *testing.T) {
	fail := func(t *testing.T, b *browser, user string, n int) {
		t.Helper()
		for i := range n {
			r := b.loginAs(query(), user, "wrong")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d", i+1, r.status)
			}
		}
	}
	t.Run("five failures lock the username, even for the right password, until the window passes", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, alice, maxFailures)
		r := b.loginAs(query(), alice, alicePW)
		if r.status != http.StatusTooManyRequests || pageMessage(r) != msgLocked {
			t.Fatalf("status %d, message %q; want 429 %q", r.status, pageMessage(r), msgLocked)
		}
		e.clock.Advance(failureWindow - time.Second)
		if r := b.loginAs(query(), alice, alicePW); r.status != http.StatusTooManyRequests {
			t.Fatalf("one second before the window ends: status %d, want 429", r.status)
		}
		e.clock.Advance(time.Second)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("four failures do not lock", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, alice, maxFailures-1)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("failures count per username case-insensitively", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, "Alice@Example.COM", maxFailures)
		if r := b.loginAs(query(), alice, alicePW); r.status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", r.status)
		}
	})
	t.Run("a success clears the failures", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, alice, maxFailures-1)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		b = e.browser(t)
		fail(t, b, alice, maxFailures-1)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("an unknown username locks the same way, so the lock reveals nothing", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, "nobody@example.com", maxFailures)
		r := b.loginAs(query(), "nobody@example.com", "x")
		if r.status != http.StatusTooManyRequests || pageMessage(r) != msgLocked {
			t.Fatalf("status %d, message %q", r.status, pageMessage(r))
		}
	})
	t.Run("attempts while locked do not extend the lock", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		fail(t, b, alice, maxFailures)
		e.clock.Advance(10 * time.Minute)
		b.loginAs(query(), alice, "wrong")
		e.clock.Advance(5 * time.Minute)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("a failing throttle store refuses sign-in", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		page := b.authorize(query().Encode())
		e.store.FailNext("ReserveLoginAttempt", oauth.ErrUnavailable)
		r := b.signIn(page, alice, alicePW)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q; want 503 and no redirect", r.status, r.header.Get("Location"))
		}
		if strings.Contains(strings.Join(r.header["Set-Cookie"], ";"), "session=") {
			t.Error("session cookie set without the throttle check")
		}
	})
}

func TestLoginFormCSRF(t *testing.T) {
	tests := []struct {
		name string
		edit func(f url.Values, b *browser)
	}{
		{"missing token", func(f url.Values, _ *browser) { f.Del("csrf") }},
		{"wrong token", func(f url.Values, _ *browser) { f.Set("csrf", strings.Repeat("A", 43)) }},
		{"token of another browser", func(f url.Values, b *browser) {
			other := formFields(b.t, b.e.browser(b.t).authorize(query().Encode()))
			f.Set("csrf", other.Get("csrf"))
		}},
		{"no cookie", func(f url.Values, b *browser) {
			jar := b.c.Jar
			u, _ := url.Parse(b.e.srv.URL)
			jar.SetCookies(u, []*http.Cookie{{Name: "csrf", Value: "", MaxAge: -1, Path: "/"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			e := newEnv(t)
			b := e.browser(t)
			f := formFields(t, b.authorize(query().Encode()))
			f.Set("username", alice)
			f.Set("password", alicePW)
			tc.edit(f, b)
			r := b.post("/authorize/login", f)
			wantErrorPage(t, r, http.StatusForbidden)
			if strings.Contains(strings.Join(r.header["Set-Cookie"], ";"), "session=") {
				t.Error("session cookie set")
			}
		})
	}
}

func TestPendingRequestInTheFormIsValidatedAgain(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		edit func(q url.Values)
		page bool
		want oauth.ErrorCode
	}{
		{name: "redirect_uri swapped for an unregistered one shows an error page", edit: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, page: true},
		{name: "client_id swapped for an unknown one shows an error page", edit: func(q url.Values) { q.Set("client_id", "nope") }, page: true},
		{name: "PKCE removed goes back with invalid_request", edit: func(q url.Values) { q.Del("code_challenge") }, want: oauth.InvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser(t)
			f := formFields(t, b.authorize(query().Encode()))
			q, err := url.ParseQuery(f.Get("request"))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(q)
			f.Set("request", q.Encode())
			f.Set("username", alice)
			f.Set("password", alicePW)
			r := b.post("/authorize/login", f)
			if tc.page {
				wantErrorPage(t, r, http.StatusBadRequest)
				return
			}
			if r.status != http.StatusSeeOther {
				t.Fatalf("status %d", r.status)
			}
			e.wantError(t, r, spaCB, "st-123", tc.want)
		})
	}
	t.Run("a malformed form body shows an error page", func(t *testing.T) {
		b := e.browser(t)
		f := formFields(t, b.authorize(query().Encode()))
		r := b.post("/authorize/login", url.Values{"csrf": {f.Get("csrf"), f.Get("csrf")}})
		wantErrorPage(t, r, http.StatusBadRequest)
	})
}

func TestSingleSignOn(t *testing.T) {
	nativeQuery := func() url.Values {
		q := query()
		q.Set("client_id", "native")
		q.Set("redirect_uri", "http://127.0.0.1:49152/callback")
		return q
	}
	t.Run("a session lets another client skip the login", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		signedIn := e.clock.Now()
		e.clock.Advance(time.Hour)
		_, ac := e.wantCode(t, b.authorize(nativeQuery().Encode()), "http://127.0.0.1:49152/callback", "st-123", http.StatusFound)
		if ac.ClientID != "native" || !ac.AuthTime.Equal(signedIn) {
			t.Errorf("code client %q auth_time %v; want native, %v", ac.ClientID, ac.AuthTime, signedIn)
		}
	})
	t.Run("prompt=login forces the login page despite a session", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		e.clock.Advance(time.Minute)
		q := query()
		q.Set("prompt", "login")
		_, ac := e.wantCode(t, b.loginAs(q, alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		if !ac.AuthTime.Equal(e.clock.Now()) {
			t.Errorf("auth_time %v, want the new sign-in %v", ac.AuthTime, e.clock.Now())
		}
	})
	t.Run("prompt=none without a session redirects with login_required", func(t *testing.T) {
		e := newEnv(t)
		q := query()
		q.Set("prompt", "none")
		r := e.browser(t).authorize(q.Encode())
		if r.status != http.StatusFound {
			t.Fatalf("status %d", r.status)
		}
		e.wantError(t, r, spaCB, "st-123", oauth.LoginRequired)
	})
	t.Run("prompt=none with a session gets a code without a page", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		q := nativeQuery()
		q.Set("prompt", "none")
		e.wantCode(t, b.authorize(q.Encode()), "http://127.0.0.1:49152/callback", "st-123", http.StatusFound)
	})
	t.Run("max_age shorter than the age of the session forces the login", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		e.clock.Advance(10 * time.Minute)
		q := query()
		q.Set("max_age", "300")
		if r := b.authorize(q.Encode()); !isLoginPage(r) {
			t.Fatalf("max_age=300 after 10 minutes: status %d, Location %q; want the login page", r.status, r.header.Get("Location"))
		}
		q.Set("max_age", "600")
		e.wantCode(t, b.authorize(q.Encode()), spaCB, "st-123", http.StatusFound)
		q.Set("max_age", "0")
		if r := b.authorize(q.Encode()); !isLoginPage(r) {
			t.Fatalf("max_age=0: status %d; want the login page", r.status)
		}
		q.Set("max_age", "300")
		q.Set("prompt", "none")
		e.wantError(t, b.authorize(q.Encode()), spaCB, "st-123", oauth.LoginRequired)
	})
	t.Run("an expired session means a new login", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		e.clock.Advance(24 * time.Hour)
		if r := b.authorize(query().Encode()); !isLoginPage(r) {
			t.Fatalf("status %d; want the login page", r.status)
		}
	})
	t.Run("a user blocked after signing in loses the session", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		ctx := context.Background()
		u, err := e.store.User(ctx, "u-alice")
		if err != nil {
			t.Fatal(err)
		}
		u.Blocked = true
		if err := e.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		q := query()
		q.Set("prompt", "none")
		e.wantError(t, b.authorize(q.Encode()), spaCB, "st-123", oauth.LoginRequired)
	})
	t.Run("signing in again replaces the previous session", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		first := cookieNamed(t, b.loginAs(query(), alice, alicePW), "session")
		q := query()
		q.Set("prompt", "login")
		second := cookieNamed(t, b.loginAs(q, alice, alicePW), "session")
		if first.Value == second.Value {
			t.Fatal("session id reused")
		}
		if _, err := e.store.Session(context.Background(), oauth.HashToken(first.Value), e.clock.Now()); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("previous session still stored: %v", err)
		}
	})
	t.Run("a failing session store is reported to the client", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		e.store.FailNext("Session", oauth.ErrUnavailable)
		e.wantError(t, b.authorize(query().Encode()), spaCB, "st-123", oauth.TemporarilyUnavailable)
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	cookie := cookieNamed(t, b.loginAs(query(), alice, alicePW), "session")
	r := b.get("/logout")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Signed out") {
		t.Fatalf("status %d:\n%s", r.status, r.body)
	}
	if c := cookieNamed(t, r, "session"); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("cookie not cleared: %+v", c)
	}
	if _, err := e.store.Session(context.Background(), oauth.HashToken(cookie.Value), e.clock.Now()); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("session still stored: %v", err)
	}
	q := query()
	q.Set("prompt", "none")
	e.wantError(t, b.authorize(q.Encode()), spaCB, "st-123", oauth.LoginRequired)

	// The old cookie, replayed, is dead too.
	b2 := e.browser(t)
	u, _ := url.Parse(e.srv.URL)
	b2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: cookie.Value, Path: "/"}})
	e.wantError(t, b2.authorize(q.Encode()), spaCB, "st-123", oauth.LoginRequired)

	t.Run("logout without a session shows the page", func(t *testing.T) {
		if r := e.browser(t).get("/logout"); r.status != http.StatusOK {
			t.Errorf("status %d", r.status)
		}
	})
	t.Run("a failing store keeps the session and says so", func(t *testing.T) {
		b := e.browser(t)
		cookieNamed(t, b.loginAs(query(), alice, alicePW), "session")
		e.store.FailNext("DeleteSession", oauth.ErrUnavailable)
		wantErrorPage(t, b.get("/logout"), http.StatusServiceUnavailable)
		e.wantCode(t, b.authorize(query().Encode()), spaCB, "st-123", http.StatusFound)
	})
}

func TestStoreFailuresBeforeTheRedirectIsKnownShowAPage(t *testing.T) {
	e := newEnv(t)
	e.store.FailNext("Client", oauth.ErrUnavailable)
	wantErrorPage(t, e.browser(t).authorize(query().Encode()), http.StatusServiceUnavailable)
	e.store.FailNext("Client", errors.New("boom"))
	r := e.browser(t).authorize(query().Encode())
	wantErrorPage(t, r, http.StatusInternalServerError)
	if strings.Contains(r.body, "boom") {
		t.Error("internal error text on the page")
	}
}

func TestStoreFailuresAfterTheRedirectIsKnownGoBack(t *testing.T) {
	e := newEnv(t)
	e.store.FailNext("ResourceServer", oauth.ErrUnavailable)
	e.wantError(t, e.browser(t).authorize(query().Encode()), spaCB, "st-123", oauth.TemporarilyUnavailable)
	b := e.browser(t)
	page := b.authorize(query().Encode())
	e.store.FailNext("CreateCode", errors.New("boom"))
	q := e.wantError(t, b.signIn(page, alice, alicePW), spaCB, "st-123", oauth.ServerError)
	if strings.Contains(q.Get("error_description"), "boom") {
		t.Error("internal error text sent to the client")
	}
}

func TestUnknownUsersCostAsMuchAsWrongPasswords(t *testing.T) {
	// Without the dummy verification an unknown user would be answered in
	// well under a millisecond and a known one after a full argon2id run.
	e := newEnv(t)
	b := e.browser(t)
	page := b.authorize(query().Encode())
	fastest := func(user string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			e.clock.Advance(failureWindow) // stay clear of the lockout
			start := time.Now()
			if r := b.signIn(page, user, "wrong"); r.status != http.StatusUnauthorized {
				t.Fatalf("status %d", r.status)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := fastest(alice), fastest("nobody@example.com")
	if unknown < known/2 {
		t.Errorf("unknown user answered in %v, known user with a wrong password in %v", unknown, known)
	}
}

// panicStore fails the test's way: a store that panics.
type panicStore struct{ oauth.ClientStore }

func (panicStore) Client(context.Context, string) (*oauth.Client, error) { panic("boom") }

func TestAPanicBecomesAnErrorPage(t *testing.T) {
	e := newEnv(t)
	d := e.deps
	d.Clients = panicStore{}
	rec := httptest.NewRecorder()
	NewHandler(d).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+query().Encode(), nil))
	r := &response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	wantErrorPage(t, r, http.StatusInternalServerError)
	if strings.Contains(r.body, "boom") {
		t.Error("panic value on the page")
	}
	if r.header.Get("X-Frame-Options") != "DENY" {
		t.Error("security headers missing on the panic page")
	}
}
