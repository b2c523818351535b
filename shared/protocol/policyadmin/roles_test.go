package policyadmin

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestRoleValidation(t *testing.T) {
	const post, patch, del = "POST", "PATCH", "DELETE"
	role := "/api/v2/roles/" + exRoleID
	perms := func(aud, name string) string {
		return `{"permissions":[{"resource_server_identifier":"` + aud + `","permission_name":"` + name + `"}]}`
	}
	runValidation(t, []validationCase{
		{"a role is created", post, "/api/v2/roles", `{"name":"auditor","description":"reads logs"}`, 200, ""},
		{"a role without a name is refused", post, "/api/v2/roles", `{"description":"x"}`, 0, "name: is required"},
		{"a name over 50 characters is refused", post, "/api/v2/roles", `{"name":"` + string(make([]byte, 0)) + "012345678901234567890123456789012345678901234567890" + `"}`, 0, "name: must have 1 to 50 characters"},
		{"a second role of the same name is a conflict", post, "/api/v2/roles", `{"name":"billing reader"}`, 409, "conflict"},
		{"a role is renamed", patch, role, `{"name":"invoice reader"}`, 200, ""},
		{"an unknown role is not found", patch, "/api/v2/roles/rol_nope", `{"name":"x"}`, 404, "inexistent_role"},
		{"a permission of an unknown API is refused", post, role + "/permissions", perms("https://nowhere.example.com", "read"), 0, `permissions[0].resource_server_identifier: no API has the identifier`},
		{"a permission the API does not define is refused", post, role + "/permissions", perms(apiBilling, "delete:billing"), 0, `permissions[0].permission_name: scope "delete:billing" is not defined`},
		{"a permission is added to a role", post, role + "/permissions", perms(apiBilling, "write:billing"), 201, ""},
		{"a permission is removed from a role", del, role + "/permissions", perms(apiBilling, "read:billing"), 204, ""},
		{"no permissions is refused", post, role + "/permissions", `{"permissions":[]}`, 0, "permissions: must hold 1 to 1000 permissions"},
		{"an unknown user cannot get a role", post, role + "/users", `{"users":["auth0|nobody"]}`, 0, `users[0]: no user has the id "auth0|nobody"`},
		{"an unknown role cannot be given", post, "/api/v2/users/" + exUserID + "/roles", `{"roles":["rol_nope"]}`, 0, `roles[0]: no role has the id "rol_nope"`},
		{"roles of an unknown user are not found", post, "/api/v2/users/auth0%7Cnobody/roles", `{"roles":["` + exRoleID + `"]}`, 404, "inexistent_user"},
		{"a direct permission is given", post, "/api/v2/users/" + exUserID + "/permissions", perms(apiData, "read:data"), 201, ""},
	})
}

func TestRoleRoutesChangeWhatTheTokenEndpointReads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	effective := func() []string {
		ps, err := e.roles.EffectivePermissions(ctx, exUserID, apiBilling)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	if diff := cmp.Diff([]string{"read:billing"}, effective()); diff != "" {
		t.Fatalf("seeded (-want +got):\n%s", diff)
	}
	wantStatus(t, e.call(http.MethodPost, "/api/v2/roles/"+exRoleID+"/permissions",
		`{"permissions":[{"resource_server_identifier":"`+apiBilling+`","permission_name":"write:billing"}]}`), http.StatusCreated)
	if diff := cmp.Diff([]string{"read:billing", "write:billing"}, effective()); diff != "" {
		t.Errorf("after adding to the role (-want +got):\n%s", diff)
	}
	wantStatus(t, e.call(http.MethodDelete, "/api/v2/users/"+exUserID+"/roles", `{"roles":["`+exRoleID+`"]}`), http.StatusNoContent)
	if diff := cmp.Diff([]string{}, effective()); diff != "" {
		t.Errorf("after taking the role (-want +got):\n%s", diff)
	}
	roles := decode[[]oauth.Role](t, e.call(http.MethodGet, "/api/v2/users/"+exUserID+"/roles", nil))
	if len(roles) != 0 {
		t.Errorf("user roles %v", roles)
	}
	users := decode[[]roleUserView](t, e.call(http.MethodGet, "/api/v2/roles/"+exRoleID+"/users", nil))
	if len(users) != 0 {
		t.Errorf("role users %v", users)
	}
	list := decode[[]permissionView](t, e.call(http.MethodGet, "/api/v2/roles/"+exRoleID+"/permissions", nil))
	if len(list) != 2 || list[0].ResourceServerName != "Billing API" {
		t.Errorf("role permissions %+v", list)
	}
}
