package seed_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// The shared validation cases through the seed loader; the admin API runs
// the same cases (shared/protocol/policyadmin), so both accept and refuse alike.
func TestSharedValidationCases(t *testing.T) {
	run := func(t *testing.T, member string, cases []oauthtest.ValidationCase, entry func(map[string]any) map[string]any) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				doc := map[string]any{"resource_servers": oauthtest.ValidationAPIs()}
				doc[member] = []any{entry(c.Body)} // resource_servers replaces the APIs
				b, err := json.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				_, err = seed.Parse(bytes.NewReader(b), issuer)
				switch {
				case c.WantField == "" && err != nil:
					t.Errorf("refused: %v", err)
				case c.WantField != "" && err == nil:
					t.Errorf("accepted, want a refusal naming %q", c.WantField)
				case c.WantField != "" && !strings.Contains(err.Error(), `": `+c.WantField+": "):
					t.Errorf("error %q does not name %q", err, c.WantField)
				}
			})
		}
	}
	t.Run("clients", func(t *testing.T) {
		run(t, "clients", oauthtest.ClientValidationCases(oauth.DefaultAdminAudience(issuer)), func(body map[string]any) map[string]any {
			m := oauthtest.CloneBody(body)
			m["client_id"] = "case"
			if !oauthtest.IsPublicBody(body) {
				m["client_secret"] = "case-secret-0123456789"
			}
			return m
		})
	})
	t.Run("resource servers", func(t *testing.T) {
		run(t, "resource_servers", oauthtest.APIValidationCases(), func(body map[string]any) map[string]any { return body })
	})
	t.Run("users", func(t *testing.T) {
		run(t, "users", oauthtest.UserValidationCases(), func(body map[string]any) map[string]any { return body })
	})
}
