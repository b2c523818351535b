package oauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role-based access control in Auth0's model (API Authorization Core,
// https://auth0.com/docs/manage-users/access-control/rbac): a permission
// is a scope of one API; a user holds permissions directly and through
// roles. On an API with EnforcePolicies, a user's tokens carry only scopes
// among the user's current permissions on it.

// Role is a named set of permissions (Auth0's role).
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Permission is one scope of one API.
type Permission struct {
	ResourceServerIdentifier string `json:"resource_server_identifier"`
	PermissionName           string `json:"permission_name"`
}

// RoleStore holds roles, their permissions, their users and users' direct
// permissions. Adding what is there or removing what is not is no error.
type RoleStore interface {
	Role(ctx context.Context, id string) (*Role, error) // ErrNotFound
	Roles(ctx context.Context) ([]*Role, error)         // sorted by Name, then ID
	CreateRole(ctx context.Context, r *Role) error      // ErrAlreadyExists (same ID or name)
	UpdateRole(ctx context.Context, r *Role) error      // ErrNotFound; ErrAlreadyExists for another role's name
	DeleteRole(ctx context.Context, id string) error    // ErrNotFound; its users lose its permissions
	RolePermissions(ctx context.Context, roleID string) ([]Permission, error)
	AddRolePermissions(ctx context.Context, roleID string, ps []Permission) error    // ErrNotFound
	RemoveRolePermissions(ctx context.Context, roleID string, ps []Permission) error // ErrNotFound
	RoleUsers(ctx context.Context, roleID string) ([]string, error)                  // sorted; ErrNotFound
	UserRoles(ctx context.Context, userID string) ([]*Role, error)                   // sorted as Roles
	AssignUserRoles(ctx context.Context, userID string, roleIDs []string) error      // ErrNotFound for an unknown role
	RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) error
	UserPermissions(ctx context.Context, userID string) ([]Permission, error) // direct ones, sorted
	AddUserPermissions(ctx context.Context, userID string, ps []Permission) error
	RemoveUserPermissions(ctx context.Context, userID string, ps []Permission) error
	PermissionReader
}

// PermissionReader is what the token endpoint reads: one request on the
// AWS store.
type PermissionReader interface {
	// EffectivePermissions returns the user's permission names on the API
	// with identifier audience, direct and through roles, sorted; none is
	// an empty list, not an error.
	EffectivePermissions(ctx context.Context, userID, audience string) ([]string, error)
}

// SortPermissions sorts by API, then name, and drops duplicates.
func SortPermissions(ps []Permission) []Permission {
	slices.SortFunc(ps, func(a, b Permission) int {
		if c := strings.Compare(a.ResourceServerIdentifier, b.ResourceServerIdentifier); c != 0 {
			return c
		}
		return strings.Compare(a.PermissionName, b.PermissionName)
	})
	return slices.Compact(ps)
}

// SortRoles sorts roles by Name, then ID.
func SortRoles(rs []*Role) {
	slices.SortFunc(rs, func(a, b *Role) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// ValidateRole checks a role's fields.
func ValidateRole(r *Role) error {
	switch n := len([]rune(r.Name)); {
	case n == 0 || n > 50 || strings.ContainsFunc(r.Name, isControl):
		return fieldError("name", "must have 1 to 50 characters and no control characters")
	case len([]rune(r.Description)) > 140 || strings.ContainsFunc(r.Description, isControl):
		return fieldError("description", "must have at most 140 characters and no control characters")
	}
	return nil
}

// ValidatePermissions checks that each permission names an API and a
// scope it defines.
func ValidatePermissions(ps []Permission, api func(string) (*ResourceServer, error)) error {
	if len(ps) == 0 || len(ps) > 1000 {
		return fieldError("permissions", "must hold 1 to 1000 permissions")
	}
	for i, p := range ps {
		f := fmt.Sprintf("permissions[%d]", i)
		rs, err := api(p.ResourceServerIdentifier)
		if err != nil {
			return fieldError(f+".resource_server_identifier", "no API has the identifier %q", p.ResourceServerIdentifier)
		}
		if !slices.ContainsFunc(rs.Scopes, func(s Scope) bool { return s.Value == p.PermissionName }) {
			return fieldError(f+".permission_name", "scope %q is not defined on the API %q", p.PermissionName, p.ResourceServerIdentifier)
		}
	}
	return nil
}
