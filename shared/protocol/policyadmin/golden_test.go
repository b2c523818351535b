package policyadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The Auth0 Management API client for Go (github.com/auth0/go-auth0) is not
// served by the module proxy this project builds with, so the JSON shapes are
// held by golden files instead: Auth0-shaped request bodies (testdata/auth0)
// must be accepted and read back unchanged, every response must be a valid
// request for the same object, and responses are compared byte for byte with
// testdata/golden (regenerate with -update).

var update = flag.Bool("update", false, "rewrite testdata/golden")

// myAccountAPI stands for Auth0's My Account API in the connected-accounts sample.
const myAccountAPI = testIssuer + "/me/"

func newGoldenEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvRand(t, rand.NewChaCha8([32]byte{1, 2, 3}))
	must(t, e.store.CreateResourceServer(context.Background(), &oauth.ResourceServer{
		ID: "my-account-api-id", Identifier: myAccountAPI, Name: "My Account API", TokenLifetime: 600, SigningAlg: oauth.AlgRS256,
		SkipConsentForVerifiableFirstPartyClients: true,
		Scopes: []oauth.Scope{{Value: "create:me:connected_accounts"}, {Value: "read:me:connected_accounts"}, {Value: "delete:me:connected_accounts"}},
	}))
	return e
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

// subset returns the members of got named in want, recursively for objects.
func subset(want, got any) any {
	wm, ok := want.(map[string]any)
	gm, ok2 := got.(map[string]any)
	if !ok || !ok2 {
		return got
	}
	out := map[string]any{}
	for k := range wm {
		if v, ok := gm[k]; ok {
			out[k] = subset(wm[k], v)
		}
	}
	return out
}

func TestAuth0RequestsAreStoredAsSent(t *testing.T) {
	for _, c := range []struct {
		file, method, path, readBack string
		status                       int
	}{
		{"client_mrrt_policy.json", http.MethodPatch, "/api/v2/clients/" + spaID, "/api/v2/clients/" + spaID, 200},
		{"client_connected_accounts.json", http.MethodPatch, "/api/v2/clients/" + exClientID, "/api/v2/clients/" + exClientID, 200},
		{"client_create_spa.json", http.MethodPost, "/api/v2/clients", "/api/v2/clients/{client_id}", 201},
		{"resource_server_create.json", http.MethodPost, "/api/v2/resource-servers", "/api/v2/resource-servers/{id}", 201},
		{"client_grant_create.json", http.MethodPost, "/api/v2/client-grants", "/api/v2/client-grants/{id}", 201},
		{"user_create.json", http.MethodPost, "/api/v2/users", "/api/v2/users/{user_id}", 201},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := newGoldenEnv(t)
			body := readFile(t, filepath.Join("testdata", "auth0", c.file))
			w := e.call(c.method, c.path, body)
			wantStatus(t, w, c.status)
			created := decode[map[string]any](t, w)
			path := c.readBack
			for _, key := range []string{"client_id", "id", "user_id"} {
				if v, ok := created[key].(string); ok {
					path = strings.ReplaceAll(path, "{"+key+"}", url.PathEscape(v))
				}
			}
			r := e.call(http.MethodGet, path, nil)
			wantStatus(t, r, 200)
			var sent, stored map[string]any
			must(t, json.Unmarshal(body, &sent))
			stored = decode[map[string]any](t, r)
			delete(sent, "password")
			delete(sent, "connection")
			if diff := cmp.Diff(sent, subset(sent, stored)); diff != "" {
				t.Errorf("read back differs from what was sent (-sent +stored):\n%s", diff)
			}
		})
	}
}

// TestResponsesAreValidRequests takes each object as GET returns it, drops
// the read-only members, and PATCHes it back: accepted, and nothing changes.
// This is what an Auth0 SDK does when it decodes a response into its types
// and re-encodes them into an update.
func TestResponsesAreValidRequests(t *testing.T) {
	for _, c := range []struct {
		name, path string
		readOnly   []string
	}{
		{"client", "/api/v2/clients/" + exClientID, []string{"client_id"}},
		{"client with a policy", "/api/v2/clients/" + spaID, []string{"client_id"}},
		{"resource server", "/api/v2/resource-servers/billing-api-id", []string{"id"}},
		{"client grant", "/api/v2/client-grants/" + exGrantID, []string{"id"}},
		{"user", "/api/v2/users/" + url.PathEscape(exUserID), []string{"user_id", "created_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newGoldenEnv(t)
			wantStatus(t, e.call(http.MethodPatch, "/api/v2/clients/"+spaID,
				`{"refresh_token":{"policies":[{"audience":"`+apiBilling+`","scope":["read:billing"]}]}}`), 200)
			before := e.call(http.MethodGet, c.path, nil)
			wantStatus(t, before, 200)
			obj := decode[map[string]any](t, before)
			for _, k := range c.readOnly {
				delete(obj, k)
			}
			wantStatus(t, e.call(http.MethodPatch, c.path, obj), 200)
			after := e.call(http.MethodGet, c.path, nil)
			if before.Body.String() != after.Body.String() {
				t.Errorf("PATCH of the GET body changed the object:\n%s\n%s", before.Body, after.Body)
			}
		})
	}
}

func TestResponsesMatchGoldenFiles(t *testing.T) {
	e := newGoldenEnv(t)
	steps := []struct {
		name, method, path string
		body               any
		token              string // default: every scope
	}{
		{"client_create", http.MethodPost, "/api/v2/clients", readFile(t, "testdata/auth0/client_create_spa.json"), ""},
		{"client_patch_policy", http.MethodPatch, "/api/v2/clients/" + spaID, readFile(t, "testdata/auth0/client_mrrt_policy.json"), ""},
		{"client_rotate_secret", http.MethodPost, "/api/v2/clients/" + exClientID + "/rotate-secret", nil, ""},
		{"clients_page", http.MethodGet, "/api/v2/clients?include_totals=true&per_page=2&page=1", nil, ""},
		{"resource_server_create", http.MethodPost, "/api/v2/resource-servers", readFile(t, "testdata/auth0/resource_server_create.json"), ""},
		{"resource_server_get", http.MethodGet, "/api/v2/resource-servers/" + url.PathEscape(apiBilling), nil, ""},
		{"client_grant_create", http.MethodPost, "/api/v2/client-grants", readFile(t, "testdata/auth0/client_grant_create.json"), ""},
		{"client_grants_list", http.MethodGet, "/api/v2/client-grants?client_id=" + exClientID, nil, ""},
		{"user_create", http.MethodPost, "/api/v2/users", readFile(t, "testdata/auth0/user_create.json"), ""},
		{"user_get", http.MethodGet, "/api/v2/users/" + url.PathEscape(exUserID), nil, ""},
		{"user_refresh_tokens", http.MethodGet, "/api/v2/users/" + url.PathEscape(exUserID) + "/refresh-tokens", nil, ""},
		{"refresh_token_get", http.MethodGet, "/api/v2/refresh-tokens/" + exFamilyID, nil, ""},
		{"error_invalid_body", http.MethodPatch, "/api/v2/clients/" + thirdID, readFile(t, "testdata/auth0/client_mrrt_policy.json"), ""},
		{"error_not_found", http.MethodGet, "/api/v2/clients/nope", nil, ""},
		{"error_unauthorized", http.MethodGet, "/api/v2/clients", nil, "-"},
		{"error_forbidden", http.MethodGet, "/api/v2/clients", nil, e.token(scopeReadUsers)},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tok := s.token
			switch tok {
			case "":
				tok = e.token(Scopes...)
			case "-":
				tok = ""
			}
			w := e.callWith(tok, s.method, s.path, s.body)
			var out bytes.Buffer
			out.WriteString(w.Result().Status + "\n")
			for _, h := range []string{"Cache-Control", "Content-Type", "WWW-Authenticate"} {
				if v := w.Header().Get(h); v != "" {
					out.WriteString(h + ": " + v + "\n")
				}
			}
			out.WriteString("\n")
			if err := json.Indent(&out, w.Body.Bytes(), "", "  "); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			path := filepath.Join("testdata", "golden", s.name+".txt")
			if *update {
				must(t, os.WriteFile(path, out.Bytes(), 0o644))
				return
			}
			want := readFile(t, path)
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s (-golden +got):\n%s", path, diff)
			}
		})
	}
}
