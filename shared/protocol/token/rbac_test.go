package token

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// rbacFixture turns RBAC on for the billing API (and data API, for the
// code exchange), with the dialect given, and gives the user permissions
// as held says: "direct", "one role", "two roles" or "none".
func rbacFixture(t *testing.T, rbacOn bool, dialect, held string) *fixture {
	f := newFixture(t)
	ctx := context.Background()
	for _, aud := range []string{apiBilling, apiData} {
		api, err := f.store.ResourceServer(ctx, aud)
		if err != nil {
			t.Fatal(err)
		}
		api.EnforcePolicies, api.TokenDialect = rbacOn, dialect
		if err := f.store.UpdateResourceServer(ctx, api); err != nil {
			t.Fatal(err)
		}
	}
	perm := func(aud, name string) oauth.Permission {
		return oauth.Permission{ResourceServerIdentifier: aud, PermissionName: name}
	}
	r := f.roles
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.CreateRole(ctx, &oauth.Role{ID: "rol_reader", Name: "reader"}))
	must(r.CreateRole(ctx, &oauth.Role{ID: "rol_writer", Name: "writer"}))
	must(r.AddRolePermissions(ctx, "rol_reader", []oauth.Permission{perm(apiBilling, "read:billing"), perm(apiData, "read:data")}))
	must(r.AddRolePermissions(ctx, "rol_writer", []oauth.Permission{perm(apiBilling, "write:billing")}))
	switch held {
	case "direct":
		must(r.AddUserPermissions(ctx, userID, []oauth.Permission{perm(apiBilling, "read:billing"), perm(apiData, "read:data")}))
	case "one role":
		must(r.AssignUserRoles(ctx, userID, []string{"rol_reader"}))
	case "two roles":
		must(r.AssignUserRoles(ctx, userID, []string{"rol_reader", "rol_writer"}))
	}
	return f
}

func claimStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = strings.Fields(v)
	case []any:
		for _, s := range v {
			out = append(out, s.(string))
		}
	}
	slices.Sort(out)
	return out
}

// RBAC × what the user holds × grant × requested scopes. The client's
// grant allows, for billing through the MRRT policy, read:billing and
// write:billing; for data at sign-in, read:data (and openid, offline_access).
func TestRBACCutsScopesToTheUsersCurrentPermissions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rbac      bool
		held      string
		grant     string // "code": the exchange for data; "refresh": an MRRT exchange to billing
		requested string
		want      string // access token scope; "invalid_scope" for that error
	}{
		{"without RBAC every allowed scope is granted", false, "none", "refresh", "", "openid offline_access read:billing write:billing"},
		{"without RBAC the code exchange grants the authorized scopes", false, "none", "code", "", "openid offline_access read:data"},
		{"RBAC and no permission leaves the OIDC scopes", true, "none", "refresh", "", "openid offline_access"},
		{"RBAC and a direct permission", true, "direct", "refresh", "", "openid offline_access read:billing"},
		{"RBAC and one role", true, "one role", "refresh", "", "openid offline_access read:billing"},
		{"RBAC and two roles", true, "two roles", "refresh", "", "openid offline_access read:billing write:billing"},
		{"RBAC, two roles, one scope requested", true, "two roles", "refresh", "write:billing", "write:billing"},
		{"RBAC, one role, a scope it lacks requested is invalid_scope", true, "one role", "refresh", "write:billing", "invalid_scope"},
		{"RBAC, one role, both requested gives the held one", true, "one role", "refresh", "read:billing write:billing", "read:billing"},
		{"RBAC and no permission at the code exchange", true, "none", "code", "", "openid offline_access"},
		{"RBAC and a direct permission at the code exchange", true, "direct", "code", "", "openid offline_access read:data"},
		{"RBAC and one role at the code exchange", true, "one role", "code", "", "openid offline_access read:data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := rbacFixture(t, tc.rbac, "", tc.held)
			c := f.newCode(codeSpec{scope: "openid offline_access read:data"})
			r := f.redeem(spaID, c)
			if tc.grant == "refresh" {
				wantOK(t, r)
				extra := []string{"audience", apiBilling}
				if tc.requested != "" {
					extra = append(extra, "scope", tc.requested)
				}
				r = f.refresh(spaID, r.RefreshToken, extra...)
			}
			if tc.want == "invalid_scope" {
				wantError(t, r, http.StatusBadRequest, oauth.InvalidScope)
				return
			}
			wantOK(t, r)
			_, claims := f.verify(r.AccessToken)
			if diff := cmp.Diff(claimStrings(tc.want), claimStrings(claims["scope"])); diff != "" {
				t.Errorf("scope (-want +got):\n%s", diff)
			}
			if _, ok := claims["permissions"]; ok {
				t.Errorf("a permissions claim in the access_token dialect: %v", claims["permissions"])
			}
		})
	}
}

func TestRBACPermissionsClaimInTheAuthzDialects(t *testing.T) {
	for _, dialect := range []string{oauth.DialectAccessTokenAuthz, oauth.DialectRFC9068Authz} {
		t.Run(dialect, func(t *testing.T) {
			f := rbacFixture(t, true, dialect, "two roles")
			rt := f.login(codeSpec{scope: "openid offline_access read:data"})
			r := f.refresh(spaID, rt, "audience", apiBilling, "scope", "read:billing")
			wantOK(t, r)
			_, claims := f.verify(r.AccessToken)
			// All the user's permissions the policy allows, whatever was requested.
			if diff := cmp.Diff([]string{"read:billing", "write:billing"}, claimStrings(claims["permissions"])); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"read:billing"}, claimStrings(claims["scope"])); diff != "" {
				t.Errorf("scope (-want +got):\n%s", diff)
			}
		})
	}
}

// MRRT: one refresh token reaching two APIs must never carry a permission
// the user lost since sign-in, and gains one only if the policy allows it.
func TestRBACChangesCountFromTheNextExchange(t *testing.T) {
	f := rbacFixture(t, true, "", "two roles")
	ctx := context.Background()
	rt := f.login(codeSpec{scope: "openid offline_access read:data"})
	scopeOf := func(r result) []string {
		t.Helper()
		wantOK(t, r)
		_, c := f.verify(r.AccessToken)
		return claimStrings(c["scope"])
	}
	r := f.refresh(spaID, rt, "audience", apiBilling)
	if got := scopeOf(r); !slices.Contains(got, "write:billing") {
		t.Fatalf("before: %v", got)
	}
	rt = r.RefreshToken
	t.Run("a permission removed from a role is dropped at the next MRRT exchange", func(t *testing.T) {
		if err := f.roles.RemoveRolePermissions(ctx, "rol_writer", []oauth.Permission{{ResourceServerIdentifier: apiBilling, PermissionName: "write:billing"}}); err != nil {
			t.Fatal(err)
		}
		r := f.refresh(spaID, rt, "audience", apiBilling)
		if got := scopeOf(r); slices.Contains(got, "write:billing") {
			t.Errorf("write:billing still granted: %v", got)
		}
		rt = r.RefreshToken
	})
	t.Run("a role taken away drops its permissions on every API", func(t *testing.T) {
		if err := f.roles.RemoveUserRoles(ctx, userID, []string{"rol_reader"}); err != nil {
			t.Fatal(err)
		}
		r := f.refresh(spaID, rt, "audience", apiBilling)
		if got := scopeOf(r); slices.Contains(got, "read:billing") {
			t.Errorf("read:billing still granted: %v", got)
		}
		r = f.refresh(spaID, r.RefreshToken) // the data API, the family's own
		if got := scopeOf(r); slices.Contains(got, "read:data") {
			t.Errorf("read:data still granted: %v", got)
		}
		rt = r.RefreshToken
	})
	t.Run("a permission added appears only where the MRRT policy allows it", func(t *testing.T) {
		perms := []oauth.Permission{{ResourceServerIdentifier: apiBilling, PermissionName: "write:billing"}, {ResourceServerIdentifier: apiData, PermissionName: "write:data"}, {ResourceServerIdentifier: apiReports, PermissionName: "read:reports"}}
		if err := f.roles.AddUserPermissions(ctx, userID, perms); err != nil {
			t.Fatal(err)
		}
		r := f.refresh(spaID, rt, "audience", apiBilling)
		if got := scopeOf(r); !slices.Contains(got, "write:billing") {
			t.Errorf("write:billing (in the policy) not granted: %v", got)
		}
		r = f.refresh(spaID, r.RefreshToken, "audience", apiReports)
		if r.Status == http.StatusOK {
			t.Errorf("reports, outside the policy, reached: %+v", r)
		}
	})
}

func TestRBACDoesNotApplyToMachineClients(t *testing.T) {
	f := rbacFixture(t, true, "", "none")
	r := f.token(m2mID, url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}})
	wantOK(t, r)
	_, c := f.verify(r.AccessToken)
	if c["scope"] == "" || c["scope"] == nil {
		t.Errorf("client credentials scope %v: the client grant decides, not RBAC", c["scope"])
	}
}
