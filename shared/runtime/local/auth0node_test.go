package local_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// Auth0's Node SDK (npm "auth0", pinned in testdata/auth0-node; .ci/run
// installs it with npm ci): its ManagementClient's roles calls against the
// admin API, over https as the SDK requires (the test server's
// certificate is trusted through NODE_EXTRA_CA_CERTS).
func TestAuth0NodeSDKManagesRoles(t *testing.T) {
	const dir = "testdata/auth0-node"
	node := nodeModule(t, dir, "auth0", "AUTH0 NODE SDK TEST")
	srv := localserver.Start(t, localserver.Options{TLS: true})
	issuer, store, ctx := srv.URL, srv.Store, context.Background()
	api, err := store.ResourceServer(ctx, "https://billing.example.com")
	if err != nil {
		t.Fatal(err)
	}
	api.EnforcePolicies = true
	if err := store.UpdateResourceServer(ctx, api); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	token := oauthtest.AdminToken(t, srv.Client(), issuer, "")

	input, _ := json.Marshal(map[string]string{"domain": strings.TrimPrefix(issuer, "https://"), "token": token,
		"api": api.Identifier, "user": "auth0|demo"})
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, filepath.Join(dir, "roles.mjs"), string(input))
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("auth0 SDK: %v\n%s", err, out)
	}
	var got struct {
		Created         oauth.Role
		Updated         oauth.Role
		Permissions     []map[string]any
		RoleUsers       []string
		UserRoles       []string
		Roles           []string
		UserRolesAfter  []string
		UserPermissions []string
		AfterDelete     any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("SDK output %q: %v", out, err)
	}
	if !strings.HasPrefix(got.Created.ID, "rol_") || got.Created.Name != "billing reader" || got.Updated.Description != "Reads and lists invoices" {
		t.Errorf("created %+v, updated %+v", got.Created, got.Updated)
	}
	if len(got.Permissions) != 1 || got.Permissions[0]["permission_name"] != "read:billing" || got.Permissions[0]["resource_server_name"] != "Billing API" {
		t.Errorf("role permissions %v", got.Permissions)
	}
	for name, pair := range map[string][2][]string{
		"role users":                {{"auth0|demo"}, got.RoleUsers},
		"user roles":                {{"billing reader"}, got.UserRoles},
		"roles":                     {{"billing reader"}, got.Roles},
		"user roles after":          {{}, got.UserRolesAfter},
		"user's direct permissions": {{"read:billing"}, got.UserPermissions},
	} {
		if diff := cmp.Diff(pair[0], pair[1]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if got.AfterDelete != float64(404) {
		t.Errorf("the deleted role: %v, want the SDK's 404", got.AfterDelete)
	}
	// What the SDK set up reaches the token endpoint: the direct permission.
	held, err := store.EffectivePermissions(ctx, "auth0|demo", api.Identifier)
	if err != nil || !cmp.Equal(held, []string{"read:billing"}) {
		t.Errorf("effective permissions %v, %v", held, err)
	}
}
