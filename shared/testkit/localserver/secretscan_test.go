package localserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// failures records a check's errors instead of failing the test.
type failures struct {
	testing.TB
	errs []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *failures) Helper() {}

func TestSecretScanFindsWhatCrossedTheServer(t *testing.T) {
	const secret, code = "a-client-secret-0123456789", "a-code-abcdefghijklmnop"
	jwt := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	for _, tc := range []struct {
		name  string
		event oauth.Event
		want  bool
	}{
		{"an event without secrets passes", oauth.Event{Type: "s", UserID: "auth0|demo", Description: "Success Login"}, false},
		{"a client secret from a form fails", oauth.Event{Type: "feccft", Description: "Failed Exchange: secret " + secret}, true},
		{"a secret's hash fails", oauth.Event{Type: "sapi", Details: map[string]any{"hash": oauth.HashToken(secret)}}, true},
		{"a code from a redirect fails", oauth.Event{Type: "s", Details: map[string]any{"nested": []any{map[string]any{"c": code}}}}, true},
		{"a token from a JSON answer fails", oauth.Event{Type: "sertft", Scope: jwt}, true},
		{"anything shaped like a JWT fails", oauth.Event{Type: "sertft", Description: "x eyJa.eyJb.c"}, true},
		{"an argon2id hash fails", oauth.Event{Type: "sapi", Details: map[string]any{"h": "$argon2id$v=19$m=65536"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSecretScan()
			h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/redirect" {
					http.Redirect(w, r, "https://app.example.com/cb?code="+code, http.StatusFound)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":%q}`, jwt)
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := http.PostForm(srv.URL+"/token", url.Values{"client_secret": {secret}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			if resp, err = client.Get(srv.URL + "/redirect"); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s.Emit(context.Background(), tc.event)
			f := &failures{TB: t}
			s.check(f)
			if got := len(f.errs) > 0; got != tc.want {
				t.Errorf("flagged %v (%s), want %v", got, strings.Join(f.errs, "; "), tc.want)
			}
		})
	}
}
