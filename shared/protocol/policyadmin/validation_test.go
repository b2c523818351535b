package policyadmin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// The shared validation cases through the admin API; the seed loader runs
// the same cases (shared/runtime/seed), so both accept and refuse alike.
func TestSharedValidationCases(t *testing.T) {
	run := func(t *testing.T, path string, cases []oauthtest.ValidationCase) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				e := newEnv(t)
				for _, api := range oauthtest.ValidationAPIs() {
					must(t, e.store.CreateResourceServer(t.Context(), &api))
				}
				w := e.call(http.MethodPost, path, c.Body)
				if c.WantField == "" {
					wantStatus(t, w, http.StatusCreated)
					return
				}
				got := decode[errorBody](t, w)
				if w.Code != http.StatusBadRequest || got.ErrorCode != "invalid_body" || !strings.HasPrefix(got.Message, c.WantField+": ") {
					t.Errorf("%d %+v, want 400 invalid_body naming %q", w.Code, got, c.WantField)
				}
			})
		}
	}
	t.Run("clients", func(t *testing.T) { run(t, "/api/v2/clients", oauthtest.ClientValidationCases(testAudience)) })
	t.Run("resource servers", func(t *testing.T) { run(t, "/api/v2/resource-servers", oauthtest.APIValidationCases()) })
	t.Run("users", func(t *testing.T) { run(t, "/api/v2/users", oauthtest.UserValidationCases()) })
}
