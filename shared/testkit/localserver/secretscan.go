package localserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// secretFields are the members of forms and JSON bodies, requests and
// answers alike, whose values must never reach an event.
var secretFields = map[string]bool{
	"password": true, "client_secret": true, "client_assertion": true, "code": true, "code_verifier": true,
	"access_token": true, "refresh_token": true, "id_token": true, "token": true, "csrf": true,
}

// secretScan learns every secret that crosses the server (the fields
// above, the code in a redirect, cookie values) and checks every event the
// server emitted against them and their stored hashes (oauth.HashToken),
// and against the shapes no event may hold: a JWT, an argon2id hash.
type secretScan struct {
	mu      sync.Mutex
	secrets map[string]bool // each secret and its hash
	events  []oauth.Event
}

func newSecretScan() *secretScan { return &secretScan{secrets: map[string]bool{}} }

// Emit keeps the event for the check at the end of the test.
func (s *secretScan) Emit(_ context.Context, e oauth.Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *secretScan) learn(v string) {
	if len(v) < 8 { // shorter values are not secrets here, and would match by chance
		return
	}
	s.mu.Lock()
	s.secrets[v], s.secrets[oauth.HashToken(v)] = true, true
	s.mu.Unlock()
}

// learnBody learns the secret fields of a form or a JSON document.
func (s *secretScan) learnBody(contentType string, body []byte) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		form, _ := url.ParseQuery(string(body))
		for k, vs := range form {
			if secretFields[k] {
				for _, v := range vs {
					s.learn(v)
				}
			}
		}
	case "application/json":
		var doc any
		if json.Unmarshal(body, &doc) == nil {
			s.learnJSON(doc)
		}
	}
}

func (s *secretScan) learnJSON(doc any) {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			if str, ok := v.(string); ok && secretFields[k] {
				s.learn(str)
			}
			s.learnJSON(v)
		}
	case []any:
		for _, v := range d {
			s.learnJSON(v)
		}
	}
}

// wrap serves h, learning the secrets of each request and answer.
func (s *secretScan) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			s.learnBody(r.Header.Get("Content-Type"), body)
		}
		if v := r.Header.Get("Authorization"); v != "" {
			if _, cred, ok := strings.Cut(v, " "); ok {
				s.learn(cred)
			}
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		s.learnBody(w.Header().Get("Content-Type"), rec.body.Bytes())
		if loc, err := url.Parse(w.Header().Get("Location")); err == nil {
			for _, q := range []url.Values{loc.Query(), func() url.Values { f, _ := url.ParseQuery(loc.Fragment); return f }()} {
				for k, vs := range q {
					if secretFields[k] {
						for _, v := range vs {
							s.learn(v)
						}
					}
				}
			}
		}
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			s.learn(c.Value)
		}
	})
}

// check fails t for each event that holds a learned secret or hash, or
// a JWT or password hash by its shape.
func (s *secretScan) check(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		b, _ := json.Marshal(e)
		var doc any
		json.Unmarshal(b, &doc)
		for _, v := range stringsIn(doc) {
			if strings.Contains(v, "$argon2") || looksLikeJWT(v) {
				t.Errorf("event %s (%s) holds a JWT or a password hash", e.LogID, e.Type)
			}
			for _, word := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(" \t\n:,;=\"'/?&()[]{}<>", r) }) {
				if s.secrets[word] {
					t.Errorf("event %s (%s) holds a secret, token, code or its hash (%.6s...)", e.LogID, e.Type, word)
				}
			}
			if s.secrets[v] {
				t.Errorf("event %s (%s) holds a secret, token, code or its hash (%.6s...)", e.LogID, e.Type, v)
			}
		}
	}
}

// stringsIn is every string in a JSON document, keys included.
func stringsIn(doc any) []string {
	var out []string
	switch d := doc.(type) {
	case string:
		out = append(out, d)
	case map[string]any:
		for k, v := range d {
			out = append(out, k)
			out = append(out, stringsIn(v)...)
		}
	case []any:
		for _, v := range d {
			out = append(out, stringsIn(v)...)
		}
	}
	return out
}

// looksLikeJWT reports a compact JWS or JWE: a base64url JSON header
// ("eyJ") and two or four dots.
func looksLikeJWT(v string) bool {
	for _, word := range strings.Fields(v) {
		if i := strings.Index(word, "eyJ"); i >= 0 {
			if n := strings.Count(word[i:], "."); n == 2 || n == 4 {
				return true
			}
		}
	}
	return false
}

// recorder keeps a copy of the answer's body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
