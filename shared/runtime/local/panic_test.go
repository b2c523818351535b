package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

// panicSigner panics on every call.
type panicSigner struct{ oauth.Signer }

func (panicSigner) PublicKeys(context.Context) ([]oauth.PublicKey, error) {
	panic("secret-internal-state")
}
func (panicSigner) DefaultAlg() string { return oauth.AlgRS256 }

// Each handler recovers once, in its own error shape: the all-routes router
// adds no layer of its own.
func TestAPanicIsAnsweredOnceInTheHandlersShape(t *testing.T) {
	tests := []struct {
		name, method, path, auth string
		wantField, wantValue     string
	}{
		{"token endpoint: OAuth server_error", http.MethodGet, "/.well-known/jwks.json", "", "error", "server_error"},
		{"admin API: Management API error", http.MethodGet, "/api/v2/clients", "Bearer e30.e30.sig", "error", "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := local.Routes(local.Deps{
				Store: memstore.New(), Signer: panicSigner{}, Issuer: "https://auth.example.com",
				RefreshKey: make([]byte, 32), Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500: %s", w.Code, w.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %s", w.Body)
			}
			if body[tt.wantField] != tt.wantValue {
				t.Errorf("body %v, want %s = %q", body, tt.wantField, tt.wantValue)
			}
			if strings.Contains(w.Body.String(), "secret-internal-state") {
				t.Errorf("panic value on the wire: %s", w.Body)
			}
			if n := strings.Count(logs.String(), "panic in handler"); n != 1 {
				t.Errorf("%d panic log lines, want 1:\n%s", n, logs.String())
			}
		})
	}
}
