package policyadmin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestStoreFailures(t *testing.T) {
	for _, c := range []struct {
		name        string
		method      string
		err         error
		route, path string
		body        string
		status      int
		code        string
	}{
		{"an unavailable store is 503 with Retry-After", "Clients", fmt.Errorf("dynamodb: throttled: %w", oauth.ErrUnavailable),
			http.MethodGet, "/api/v2/clients", "", 503, "temporarily_unavailable"},
		{"a failing write is a generic 500", "UpdateClient", errors.New("disk on fire"),
			http.MethodPatch, "/api/v2/clients/" + spaID, `{"name":"x"}`, 500, "internal_error"},
		{"a failing revocation is a generic 500", "RevokeFamily", errors.New("disk on fire"),
			http.MethodDelete, "/api/v2/refresh-tokens/" + exFamilyID, "", 500, "internal_error"},
		{"a failing reference check is 503, not a validation error", "ResourceServer", fmt.Errorf("x: %w", oauth.ErrUnavailable),
			http.MethodPatch, "/api/v2/clients/" + spaID, `{"refresh_token":{"policies":[{"audience":"` + apiData + `","scope":["read:data"]}]}}`, 503, "temporarily_unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(Scopes...)
			e.store.FailNext(c.method, c.err)
			var body any
			if c.body != "" {
				body = c.body
			}
			w := e.callWith(tok, c.route, c.path, body)
			eb := wantError(t, w, c.status, c.code, "")
			if strings.Contains(eb.Message, "fire") || strings.Contains(eb.Message, "throttled") {
				t.Errorf("the cause leaks: %q", eb.Message)
			}
			if (c.status == 503) != (w.Header().Get("Retry-After") != "") {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if !strings.Contains(e.logs.String(), c.err.Error()) {
				t.Error("the cause is not logged")
			}
		})
	}
}

func TestDeleteUnknownGrant(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.call(http.MethodDelete, "/api/v2/client-grants/cgr_nope", nil), 404, "inexistent_client_grant", "")
	wantStatus(t, e.call(http.MethodDelete, "/api/v2/client-grants/"+exGrantID, nil), 204)
	wantError(t, e.call(http.MethodGet, "/api/v2/client-grants/"+exGrantID, nil), 404, "inexistent_client_grant", "")
}
