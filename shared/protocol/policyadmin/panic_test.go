package policyadmin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestPanicAnswersInTheManagementAPIShape(t *testing.T) {
	e := newEnv(t)
	tok := e.token("read:clients")
	e.keys = func(context.Context) ([]oauth.PublicKey, error) { panic("secret-internal-state") }
	w := e.callWith(tok, http.MethodGet, "/api/v2/clients", nil)
	got := wantError(t, w, http.StatusInternalServerError, "internal_error", "internal error")
	if got.Error != "Internal Server Error" {
		t.Errorf("error = %q, want Internal Server Error", got.Error)
	}
	if body := w.Body.String(); strings.Contains(body, "secret-internal-state") || strings.Contains(body, "goroutine") {
		t.Errorf("panic details on the wire: %s", body)
	}
	if n := strings.Count(e.logs.String(), "panic in handler"); n != 1 {
		t.Errorf("%d panic log lines, want 1:\n%s", n, e.logs.String())
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", w.Header().Get("Cache-Control"))
	}
}
