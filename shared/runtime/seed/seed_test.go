package seed_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

const issuer = "http://127.0.0.1:9000"

func TestDefaultSeedLoads(t *testing.T) {
	doc, err := seed.Default(issuer)
	if err != nil {
		t.Fatalf("default seed is invalid: %v", err)
	}
	store := memstore.New()
	ctx := context.Background()
	if err := seed.Load(ctx, store, doc, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}

	t.Run("the admin API audience follows the issuer", func(t *testing.T) {
		if _, err := store.ResourceServer(ctx, issuer+"/api/v2/"); err != nil {
			t.Fatalf("admin API: %v", err)
		}
		if _, err := store.ClientGrantFor(ctx, "admin-cli", issuer+"/api/v2/"); err != nil {
			t.Fatalf("admin grant: %v", err)
		}
	})
	t.Run("the SPA is a first-party public client with an MRRT policy over both APIs", func(t *testing.T) {
		c, err := store.Client(ctx, "demo-spa")
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsFirstParty || !c.IsPublic() || !c.Rotates() || c.SecretHash != "" {
			t.Errorf("demo-spa = %+v", c)
		}
		var auds []string
		for _, p := range c.RefreshToken.Policies {
			auds = append(auds, p.Audience)
		}
		if diff := cmp.Diff([]string{"https://api.example.com", "https://billing.example.com"}, auds); diff != "" {
			t.Errorf("policy audiences (-want +got):\n%s", diff)
		}
	})
	t.Run("confidential secrets are stored hashed", func(t *testing.T) {
		c, err := store.Client(ctx, "demo-web")
		if err != nil {
			t.Fatal(err)
		}
		if c.SecretHash == "demo-web-secret-change-me" || !oauth.VerifySecret(c.SecretHash, "demo-web-secret-change-me") {
			t.Errorf("secret hash %q does not verify or is the raw secret", c.SecretHash)
		}
	})
	t.Run("the demo user's password is an argon2id hash", func(t *testing.T) {
		u, err := store.UserByEmail(ctx, "demo@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Fatalf("password hash %q is not argon2id", u.PasswordHash)
		}
		if ok, err := password.Verify(u.PasswordHash, "demo-password"); !ok || err != nil {
			t.Errorf("Verify(demo-password) = %v, %v", ok, err)
		}
	})
}

func TestParseRefusesBadInput(t *testing.T) {
	api := `{"identifier":"https://a.example","name":"A","scopes":[{"value":"read:a"}],"skip_consent_for_verifiable_first_party_clients":true}`
	tests := []struct {
		name string
		doc  string
		want []string // every substring must appear in the error
	}{
		{"unknown top-level field is named", `{"apis":[]}`, []string{`unknown field "apis"`}},
		{"unknown client field is named", `{"clients":[{"client_id":"x","colour":"red"}]}`, []string{`unknown field "colour"`}},
		{"trailing data is refused", `{} {}`, []string{"trailing data"}},
		{"public client with a secret is named", `{"clients":[{"client_id":"spa","app_type":"spa","token_endpoint_auth_method":"none","client_secret":"0123456789abcdef"}]}`,
			[]string{`clients[0] "spa"`, "no client_secret"}},
		{"confidential client without a secret is named", `{"clients":[{"client_id":"web","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post"}]}`,
			[]string{`clients[0] "web"`, "client_secret"}},
		{"bad app type is named", `{"clients":[{"client_id":"w","name":"W","app_type":"desktop","token_endpoint_auth_method":"none"}]}`, []string{"app_type"}},
		{"wildcard callback is refused", `{"clients":[{"client_id":"w","name":"W","app_type":"spa","token_endpoint_auth_method":"none","callbacks":["https://*.example.com/cb"]}]}`, []string{"wildcard"}},
		{"http callback off the local development hosts", `{"clients":[{"client_id":"w","name":"W","app_type":"spa","token_endpoint_auth_method":"none","callbacks":["http://app.example.com/cb"]}]}`, []string{"http only for localhost"}},
		{"policy naming an unknown API is refused", `{"resource_servers":[` + api + `],"clients":[{"client_id":"w","name":"W","app_type":"spa","is_first_party":true,"token_endpoint_auth_method":"none","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","policies":[{"audience":"https://nope.example","scope":["x"]}]}}]}`,
			[]string{`policies[0]`, "https://nope.example"}},
		{"policy scope not defined on the API is refused", `{"resource_servers":[` + api + `],"clients":[{"client_id":"w","name":"W","app_type":"spa","is_first_party":true,"token_endpoint_auth_method":"none","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","policies":[{"audience":"https://a.example","scope":["write:a"]}]}}]}`,
			[]string{`scope "write:a"`}},
		{"policies on a third-party client are refused", `{"resource_servers":[` + api + `],"clients":[{"client_id":"w","name":"W","app_type":"spa","token_endpoint_auth_method":"none","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","policies":[{"audience":"https://a.example","scope":["read:a"]}]}}]}`,
			[]string{"first-party"}},
		{"rotating non-expiring is refused", `{"clients":[{"client_id":"w","name":"W","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","client_secret":"0123456789abcdef","refresh_token":{"rotation_type":"rotating","expiration_type":"non-expiring"}}]}`,
			[]string{"must be expiring"}},
		{"public clients must rotate", `{"clients":[{"client_id":"w","name":"W","app_type":"spa","token_endpoint_auth_method":"none","refresh_token":{"rotation_type":"non-rotating","expiration_type":"non-expiring"}}]}`,
			[]string{"rotation_type: must be rotating for public clients"}},
		{"grant for an unknown client is named", `{"resource_servers":[` + api + `],"client_grants":[{"client_id":"ghost","audience":"https://a.example","scope":["read:a"]}]}`,
			[]string{`client_grants[0]`, `"ghost"`}},
		{"user without password is named", `{"users":[{"email":"a@example.com"}]}`, []string{`users[0] "a@example.com"`, "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seed.Parse(strings.NewReader(tt.doc), issuer)
			if err == nil {
				t.Fatal("Parse accepted the document")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadReportsDuplicates(t *testing.T) {
	doc, err := seed.Parse(strings.NewReader(`{"users":[{"email":"a@example.com","password":"long-enough"}]}`), issuer)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New()
	ctx := context.Background()
	if err := seed.Load(ctx, store, doc, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := seed.Load(ctx, store, doc, rand.Reader, time.Now()); !errors.Is(err, oauth.ErrAlreadyExists) {
		t.Fatalf("second Load = %v, want ErrAlreadyExists", err)
	}
	if err := seed.LoadMissing(ctx, store, doc, rand.Reader, time.Now()); err != nil {
		t.Fatalf("LoadMissing over a seeded store = %v, want nil", err)
	}
	users, err := store.Users(ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("LoadMissing left %d users (%v), want 1", len(users), err)
	}
}

func TestParseFile(t *testing.T) {
	if _, err := seed.ParseFile("default.json", issuer); err != nil {
		t.Fatalf("default seed: %v", err)
	}
	bad := t.TempDir() + "/bad.json"
	if err := os.WriteFile(bad, []byte(`{"users":[{"email":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{bad: bad + ": seed: users[0]", t.TempDir() + "/none.json": "no such file"} {
		if _, err := seed.ParseFile(path, issuer); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFile(%s) = %v, want an error containing %q", path, err, want)
		}
	}
}

const rbacSeed = `{
  "resource_servers": [{"identifier": "https://billing.example.com", "name": "Billing", "enforce_policies": true,
    "token_dialect": "access_token_authz", "scopes": [{"value": "read:billing"}, {"value": "write:billing"}]}],
  "users": [
    {"user_id": "auth0|a", "email": "a@example.com", "password": "password-of-a-0123",
     "permissions": [{"resource_server_identifier": "https://billing.example.com", "permission_name": "write:billing"}]},
    {"user_id": "auth0|b", "email": "b@example.com", "password": "password-of-b-0123"}
  ],
  "roles": [{"name": "billing reader", "users": ["auth0|a", "auth0|b"],
    "permissions": [{"resource_server_identifier": "https://billing.example.com", "permission_name": "read:billing"}]}]
}`

func TestSeedRolesAndPermissions(t *testing.T) {
	f, err := seed.Parse(strings.NewReader(rbacSeed), "https://auth.example.com")
	if err != nil {
		t.Fatal(err)
	}
	s := memstore.New()
	if err := seed.Load(context.Background(), s, f, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string][]string{"auth0|a": {"read:billing", "write:billing"}, "auth0|b": {"read:billing"}} {
		got, err := s.EffectivePermissions(context.Background(), user, "https://billing.example.com")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %v, %v; want %v", user, got, err, want)
		}
	}
	for name, bad := range map[string]string{
		"a permission of an unknown scope": strings.Replace(rbacSeed, `"permission_name": "read:billing"`, `"permission_name": "delete:billing"`, 1),
		"a role of an unknown user":        strings.Replace(rbacSeed, `"users": ["auth0|a", "auth0|b"]`, `"users": ["auth0|z"]`, 1),
		"an authz dialect without RBAC":    strings.Replace(rbacSeed, `"enforce_policies": true`, `"enforce_policies": false`, 1),
	} {
		if _, err := seed.Parse(strings.NewReader(bad), "https://auth.example.com"); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
