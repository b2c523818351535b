package token

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	h := newFixture(t).handler
	tests := []struct {
		name       string
		method     string
		path       string
		origin     string
		wantStatus int
		wantOrigin string
	}{
		{"preflight of the token endpoint allows POST from any origin", http.MethodOptions, "/oauth/token", "https://app.example.com", http.StatusNoContent, "*"},
		{"preflight of the revocation endpoint allows POST from any origin", http.MethodOptions, "/oauth/revoke", "https://app.example.com", http.StatusNoContent, "*"},
		{"an error answer carries the CORS header so the SPA can read it", http.MethodPost, "/oauth/token", "https://app.example.com", http.StatusBadRequest, "*"},
		{"a same-origin request gets no CORS header", http.MethodPost, "/oauth/token", "", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader("grant_type=x&grant_type=y"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
				r.Header.Set("Access-Control-Request-Method", "POST")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := w.Header().Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("credentials allowed: %q", got)
			}
			if tt.method == http.MethodOptions && !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("preflight does not allow POST: %q", w.Header().Get("Access-Control-Allow-Methods"))
			}
		})
	}
}
