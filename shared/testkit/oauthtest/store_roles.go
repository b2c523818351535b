package oauthtest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// RunRoleStoreTests runs the oauth.RoleStore conformance suite; newStore
// returns an empty store per subtest.
func RunRoleStoreTests(t *testing.T, newStore func(t *testing.T) oauth.RoleStore) {
	const api, billing = "https://api.example.com", "https://billing.example.com"
	perm := func(aud, name string) oauth.Permission {
		return oauth.Permission{ResourceServerIdentifier: aud, PermissionName: name}
	}
	ctx := context.Background()
	must := func(t *testing.T, op string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	want := func(t *testing.T, what string, got, want any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	effective := func(t *testing.T, s oauth.RoleStore, user, aud string) []string {
		t.Helper()
		ps, err := s.EffectivePermissions(ctx, user, aud)
		must(t, "EffectivePermissions", err)
		return ps
	}
	seed := func(t *testing.T) oauth.RoleStore {
		s := newStore(t)
		must(t, "CreateRole", s.CreateRole(ctx, &oauth.Role{ID: "rol_b", Name: "billing admin"}))
		must(t, "CreateRole", s.CreateRole(ctx, &oauth.Role{ID: "rol_a", Name: "analyst", Description: "reads"}))
		return s
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s oauth.RoleStore)
	}{
		{"roles are listed by name and read back", func(t *testing.T, s oauth.RoleStore) {
			roles, err := s.Roles(ctx)
			must(t, "Roles", err)
			want(t, "roles", roles, []*oauth.Role{{ID: "rol_a", Name: "analyst", Description: "reads"}, {ID: "rol_b", Name: "billing admin"}})
			r, err := s.Role(ctx, "rol_a")
			must(t, "Role", err)
			want(t, "role", r, &oauth.Role{ID: "rol_a", Name: "analyst", Description: "reads"})
		}},
		{"a second role with the same id or name already exists", func(t *testing.T, s oauth.RoleStore) {
			for _, r := range []*oauth.Role{{ID: "rol_a", Name: "other"}, {ID: "rol_c", Name: "analyst"}} {
				if err := s.CreateRole(ctx, r); !errors.Is(err, oauth.ErrAlreadyExists) {
					t.Errorf("CreateRole(%+v) = %v, want ErrAlreadyExists", r, err)
				}
			}
		}},
		{"a role is renamed, not onto another's name", func(t *testing.T, s oauth.RoleStore) {
			must(t, "UpdateRole", s.UpdateRole(ctx, &oauth.Role{ID: "rol_a", Name: "auditor"}))
			r, _ := s.Role(ctx, "rol_a")
			want(t, "renamed", r.Name, "auditor")
			if err := s.UpdateRole(ctx, &oauth.Role{ID: "rol_a", Name: "billing admin"}); !errors.Is(err, oauth.ErrAlreadyExists) {
				t.Errorf("rename onto another's name: %v", err)
			}
			if err := s.UpdateRole(ctx, &oauth.Role{ID: "rol_x", Name: "x"}); !errors.Is(err, oauth.ErrNotFound) {
				t.Errorf("update of an unknown role: %v", err)
			}
		}},
		{"a user's permissions are the direct ones and those of every role, per API", func(t *testing.T, s oauth.RoleStore) {
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_a", []oauth.Permission{perm(api, "read:data"), perm(billing, "read:billing")}))
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_b", []oauth.Permission{perm(billing, "read:billing"), perm(billing, "write:billing")}))
			must(t, "AddUserPermissions", s.AddUserPermissions(ctx, "u1", []oauth.Permission{perm(api, "write:data")}))
			want(t, "no roles yet", effective(t, s, "u1", billing), []string{})
			must(t, "AssignUserRoles", s.AssignUserRoles(ctx, "u1", []string{"rol_a", "rol_b"}))
			want(t, "billing", effective(t, s, "u1", billing), []string{"read:billing", "write:billing"})
			want(t, "api", effective(t, s, "u1", api), []string{"read:data", "write:data"})
			want(t, "another user", effective(t, s, "u2", api), []string{})
			roles, _ := s.UserRoles(ctx, "u1")
			want(t, "user roles", len(roles), 2)
			users, _ := s.RoleUsers(ctx, "rol_b")
			want(t, "role users", users, []string{"u1"})
			direct, _ := s.UserPermissions(ctx, "u1")
			want(t, "direct", direct, []oauth.Permission{perm(api, "write:data")})
		}},
		{"a permission removed from a role is gone at once, the same one through another role stays", func(t *testing.T, s oauth.RoleStore) {
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_a", []oauth.Permission{perm(billing, "read:billing")}))
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_b", []oauth.Permission{perm(billing, "read:billing"), perm(billing, "write:billing")}))
			must(t, "AssignUserRoles", s.AssignUserRoles(ctx, "u1", []string{"rol_a", "rol_b"}))
			must(t, "RemoveRolePermissions", s.RemoveRolePermissions(ctx, "rol_b", []oauth.Permission{perm(billing, "read:billing"), perm(billing, "write:billing")}))
			want(t, "after removal", effective(t, s, "u1", billing), []string{"read:billing"})
			ps, _ := s.RolePermissions(ctx, "rol_b")
			want(t, "role permissions", ps, []oauth.Permission{})
		}},
		{"a role removed from a user, or deleted, takes its permissions", func(t *testing.T, s oauth.RoleStore) {
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_a", []oauth.Permission{perm(api, "read:data")}))
			must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "rol_b", []oauth.Permission{perm(api, "write:data")}))
			must(t, "AssignUserRoles", s.AssignUserRoles(ctx, "u1", []string{"rol_a", "rol_b"}))
			must(t, "RemoveUserRoles", s.RemoveUserRoles(ctx, "u1", []string{"rol_a"}))
			want(t, "after unassign", effective(t, s, "u1", api), []string{"write:data"})
			must(t, "DeleteRole", s.DeleteRole(ctx, "rol_b"))
			want(t, "after delete", effective(t, s, "u1", api), []string{})
			if _, err := s.Role(ctx, "rol_b"); !errors.Is(err, oauth.ErrNotFound) {
				t.Errorf("deleted role: %v", err)
			}
			roles, _ := s.UserRoles(ctx, "u1")
			want(t, "user roles", roles, []*oauth.Role{})
		}},
		{"direct permissions are added and removed, twice is harmless", func(t *testing.T, s oauth.RoleStore) {
			p := []oauth.Permission{perm(api, "read:data")}
			must(t, "AddUserPermissions", s.AddUserPermissions(ctx, "u1", p))
			must(t, "AddUserPermissions", s.AddUserPermissions(ctx, "u1", p))
			want(t, "added", effective(t, s, "u1", api), []string{"read:data"})
			must(t, "RemoveUserPermissions", s.RemoveUserPermissions(ctx, "u1", p))
			must(t, "RemoveUserPermissions", s.RemoveUserPermissions(ctx, "u1", p))
			want(t, "removed", effective(t, s, "u1", api), []string{})
		}},
		{"unknown roles are not found", func(t *testing.T, s oauth.RoleStore) {
			for op, err := range map[string]error{
				"Role":               func() error { _, err := s.Role(ctx, "rol_x"); return err }(),
				"DeleteRole":         s.DeleteRole(ctx, "rol_x"),
				"AddRolePermissions": s.AddRolePermissions(ctx, "rol_x", []oauth.Permission{perm(api, "read:data")}),
				"RoleUsers":          func() error { _, err := s.RoleUsers(ctx, "rol_x"); return err }(),
				"AssignUserRoles":    s.AssignUserRoles(ctx, "u1", []string{"rol_a", "rol_x"}),
			} {
				if !errors.Is(err, oauth.ErrNotFound) {
					t.Errorf("%s: %v, want ErrNotFound", op, err)
				}
			}
			roles, _ := s.UserRoles(ctx, "u1")
			want(t, "no role assigned by a refused call", roles, []*oauth.Role{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, seed(t)) })
	}
}
