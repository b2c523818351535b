package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, oauth.TokenResponse{AccessToken: "a<b", TokenType: "Bearer", ExpiresIn: 60})
	if w.Code != http.StatusOK {
		t.Errorf("status = %d", w.Code)
	}
	wantHeaders := map[string]string{
		"Content-Type":   "application/json",
		"Cache-Control":  "no-store",
		"Pragma":         "no-cache",
		"Content-Length": fmt.Sprint(w.Body.Len()),
	}
	for k, v := range wantHeaders {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if want := `{"access_token":"a<b","token_type":"Bearer","expires_in":60,"scope":""}` + "\n"; w.Body.String() != want {
		t.Errorf("body = %q, want %q", w.Body.String(), want)
	}
}

func TestWriteJSONUnencodableValueIsServerError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, map[string]any{"f": func() {}})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	if got := decodeError(t, w); got.Error != "server_error" {
		t.Errorf("error = %q", got.Error)
	}
}

type wireError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) wireError {
	t.Helper()
	var e wireError
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return e
}

func TestWriteError(t *testing.T) {
	basic := func(r *http.Request) { r.SetBasicAuth("client", "secret") }
	tests := []struct {
		name        string
		err         error
		prepare     func(*http.Request)
		wantStatus  int
		want        wireError
		wantHeaders map[string]string // "" means the header must be absent
		wantLevel   slog.Level
	}{
		{
			name:       "oauth error keeps code and description",
			err:        oauth.Errorf(oauth.InvalidGrant, "refresh token already used"),
			wantStatus: 400, want: wireError{"invalid_grant", "refresh token already used"},
			wantHeaders: map[string]string{"WWW-Authenticate": "", "Retry-After": ""},
			wantLevel:   slog.LevelDebug,
		},
		{
			name:       "wrapped oauth error is found",
			err:        fmt.Errorf("token: %w", oauth.Errorf(oauth.InvalidTarget, "audience not allowed")),
			wantStatus: 400, want: wireError{"invalid_target", "audience not allowed"},
			wantLevel: slog.LevelDebug,
		},
		{
			name:       "invalid_client with Basic auth carries WWW-Authenticate",
			err:        oauth.Errorf(oauth.InvalidClient, "client authentication failed"),
			prepare:    basic,
			wantStatus: 401, want: wireError{"invalid_client", "client authentication failed"},
			wantHeaders: map[string]string{"WWW-Authenticate": `Basic realm="oauth"`},
			wantLevel:   slog.LevelDebug,
		},
		{
			name:       "invalid_client without Basic auth has no WWW-Authenticate",
			err:        oauth.Errorf(oauth.InvalidClient, "client authentication failed"),
			wantStatus: 401, want: wireError{"invalid_client", "client authentication failed"},
			wantHeaders: map[string]string{"WWW-Authenticate": ""},
			wantLevel:   slog.LevelDebug,
		},
		{
			name:       "unavailable dependency is 503 with Retry-After",
			err:        fmt.Errorf("memstore: advance family: %w", oauth.ErrUnavailable),
			wantStatus: 503, want: wireError{"temporarily_unavailable", "service temporarily unavailable, retry later"},
			wantHeaders: map[string]string{"Retry-After": "1"},
			wantLevel:   slog.LevelWarn,
		},
		{
			name:       "unknown error is a generic server_error",
			err:        errors.New("dynamo table users-secret-name missing"),
			wantStatus: 500, want: wireError{"server_error", "internal error"},
			wantLevel: slog.LevelError,
		},
		{
			name:       "oauth error with a cause logs at info",
			err:        oauth.Errorf(oauth.InvalidGrant, "invalid refresh token").WithCause(errors.New("mac mismatch")),
			wantStatus: 400, want: wireError{"invalid_grant", "invalid refresh token"},
			wantLevel: slog.LevelInfo,
		},
		{
			name:       "forbidden characters in the description are replaced",
			err:        oauth.Errorf(oauth.InvalidRequest, "bad \"x\"\r\n\\"),
			wantStatus: 400, want: wireError{"invalid_request", "bad  x    "},
			wantLevel: slog.LevelDebug,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			if tt.prepare != nil {
				tt.prepare(r)
			}
			w := httptest.NewRecorder()
			WriteError(w, r, logger, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.want, decodeError(t, w)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			for k, v := range tt.wantHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			var entry struct {
				Level string `json:"level"`
				Cause string `json:"cause"`
			}
			if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if entry.Level != tt.wantLevel.String() {
				t.Errorf("log level = %s, want %s", entry.Level, tt.wantLevel)
			}
			if c := oauth.FromError(tt.err).Cause; c != nil && entry.Cause != c.Error() {
				t.Errorf("logged cause = %q, want %q", entry.Cause, c.Error())
			}
			if strings.Contains(w.Body.String(), "users-secret-name") {
				t.Errorf("cause leaked to the wire: %s", w.Body.String())
			}
		})
	}
}

func TestWriteErrorWithoutLogger(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, nil, nil, errors.New("boom"))
	if w.Code != 500 {
		t.Errorf("status = %d", w.Code)
	}
}

func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Recover(logger, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret-internal-state")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/oauth/token", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
	if diff := cmp.Diff(wireError{"server_error", "internal error"}, decodeError(t, w)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if strings.Contains(w.Body.String(), "secret-internal-state") || strings.Contains(w.Body.String(), "goroutine") {
		t.Errorf("panic details on the wire: %s", w.Body.String())
	}
	if !strings.Contains(logs.String(), "secret-internal-state") || !strings.Contains(logs.String(), "recover.go") {
		t.Errorf("panic value and stack not logged: %s", logs.String())
	}
}

func TestRecoverRepanicsAbortHandler(t *testing.T) {
	h := Recover(nil, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}

func TestRecoverPassesThrough(t *testing.T) {
	h := Recover(nil, nil)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusTeapot {
		t.Errorf("status = %d", w.Code)
	}
}
