package policyadmin

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Roles and permissions in the paths and shapes of Auth0's Management API
// (https://auth0.com/docs/api/management/v2/roles/get-roles): roles, their
// permissions and users, and users' roles and direct permissions. On an API
// with enforce_policies, a user's tokens carry only scopes among the user's
// current permissions (shared/protocol/token).

type roleBody struct {
	Name        opt[string] `json:"name"`
	Description opt[string] `json:"description"`
}

type permissionsBody struct {
	Permissions opt[[]permissionBody] `json:"permissions"`
}

type permissionBody struct {
	ResourceServerIdentifier opt[string] `json:"resource_server_identifier"`
	PermissionName           opt[string] `json:"permission_name"`
}

type rolesBody struct {
	Roles opt[[]string] `json:"roles"`
}

type usersBody struct {
	Users opt[[]string] `json:"users"`
}

// permissionView is a permission as Auth0 lists it.
type permissionView struct {
	PermissionName           string `json:"permission_name"`
	Description              string `json:"description"`
	ResourceServerName       string `json:"resource_server_name"`
	ResourceServerIdentifier string `json:"resource_server_identifier"`
}

func (a *api) roles() (oauth.RoleStore, error) {
	if a.d.Roles == nil {
		return nil, newError(http.StatusNotImplemented, "operation_not_supported", "roles are not configured on this server")
	}
	return a.d.Roles, nil
}

func (a *api) role(r *http.Request) (oauth.RoleStore, *oauth.Role, error) {
	rs, err := a.roles()
	if err != nil {
		return nil, nil, err
	}
	role, err := rs.Role(r.Context(), r.PathValue("id"))
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, nil, notFound("inexistent_role", "the role does not exist")
	}
	return rs, role, err
}

func (a *api) listRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	filter, err := oneParam(r.URL.Query(), "name_filter")
	if err != nil {
		return err
	}
	rs, err := a.roles()
	if err != nil {
		return err
	}
	roles, err := rs.Roles(r.Context())
	if err != nil {
		return err
	}
	if filter != "" { // Auth0: a case-insensitive match of part of the name
		roles = slices.DeleteFunc(roles, func(x *oauth.Role) bool {
			return !strings.Contains(strings.ToLower(x.Name), strings.ToLower(filter))
		})
	}
	writeList(w, p, "roles", roles)
	return nil
}

func (a *api) createRole(w http.ResponseWriter, r *http.Request) error {
	var b roleBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	role := &oauth.Role{}
	if !b.Name.Set {
		return invalidBody("name", "is required")
	}
	if err := b.apply(role); err != nil {
		return err
	}
	rs, err := a.roles()
	if err != nil {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	role.ID = "rol_" + id[:16]
	if err := rs.CreateRole(r.Context(), role); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("a role with this name already exists")
		}
		return err
	}
	writeJSON(w, http.StatusOK, role) // Auth0 answers 200
	return nil
}

func (b *roleBody) apply(role *oauth.Role) error {
	for _, f := range []struct {
		dst  *string
		o    opt[string]
		name string
	}{{&role.Name, b.Name, "name"}, {&role.Description, b.Description, "description"}} {
		if err := setFrom(f.dst, f.o, f.name); err != nil {
			return err
		}
	}
	return checked(oauth.ValidateRole(role))
}

func (a *api) getRole(w http.ResponseWriter, r *http.Request) error {
	_, role, err := a.role(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, role)
	return nil
}

func (a *api) updateRole(w http.ResponseWriter, r *http.Request) error {
	var b roleBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	if err := b.apply(role); err != nil {
		return err
	}
	if err := rs.UpdateRole(r.Context(), role); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("a role with this name already exists")
		}
		return err
	}
	writeJSON(w, http.StatusOK, role)
	return nil
}

func (a *api) deleteRole(w http.ResponseWriter, r *http.Request) error {
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	if err := rs.DeleteRole(r.Context(), role.ID); err != nil && !errors.Is(err, oauth.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// permissions reads a permissions body and checks each names an API and a
// scope it defines.
func (a *api) permissions(r *http.Request) ([]oauth.Permission, error) {
	var b permissionsBody
	if err := decodeBody(r, &b); err != nil {
		return nil, err
	}
	list, ok, err := b.Permissions.value("permissions")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidBody("permissions", "is required")
	}
	ps := make([]oauth.Permission, len(list))
	for i, p := range list {
		if err := setFrom(&ps[i].ResourceServerIdentifier, p.ResourceServerIdentifier, "permissions.resource_server_identifier"); err != nil {
			return nil, err
		}
		if err := setFrom(&ps[i].PermissionName, p.PermissionName, "permissions.permission_name"); err != nil {
			return nil, err
		}
	}
	err = oauth.ValidatePermissions(ps, func(aud string) (*oauth.ResourceServer, error) { return a.d.Store.ResourceServer(r.Context(), aud) })
	return ps, checked(err)
}

// views describes permissions with their APIs' names and scopes.
func (a *api) views(r *http.Request, ps []oauth.Permission) ([]permissionView, error) {
	out := []permissionView{}
	apis := map[string]*oauth.ResourceServer{}
	for _, p := range ps {
		rs, ok := apis[p.ResourceServerIdentifier]
		if !ok {
			var err error
			if rs, err = a.d.Store.ResourceServer(r.Context(), p.ResourceServerIdentifier); err != nil && !errors.Is(err, oauth.ErrNotFound) {
				return nil, err
			}
			apis[p.ResourceServerIdentifier] = rs
		}
		v := permissionView{PermissionName: p.PermissionName, ResourceServerIdentifier: p.ResourceServerIdentifier}
		if rs != nil {
			v.ResourceServerName = rs.Name
			if i := slices.IndexFunc(rs.Scopes, func(s oauth.Scope) bool { return s.Value == p.PermissionName }); i >= 0 {
				v.Description = rs.Scopes[i].Description
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func (a *api) listRolePermissions(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	ps, err := rs.RolePermissions(r.Context(), role.ID)
	if err != nil {
		return err
	}
	views, err := a.views(r, ps)
	if err != nil {
		return err
	}
	writeList(w, p, "permissions", views)
	return nil
}

func (a *api) addRolePermissions(w http.ResponseWriter, r *http.Request) error {
	return a.changeRolePermissions(w, r, true)
}

func (a *api) removeRolePermissions(w http.ResponseWriter, r *http.Request) error {
	return a.changeRolePermissions(w, r, false)
}

// changeRolePermissions adds (201) or removes (204) the body's permissions.
func (a *api) changeRolePermissions(w http.ResponseWriter, r *http.Request, add bool) error {
	ps, err := a.permissions(r)
	if err != nil {
		return err
	}
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	change, status := rs.RemoveRolePermissions, http.StatusNoContent
	if add {
		change, status = rs.AddRolePermissions, http.StatusCreated
	}
	if err := change(r.Context(), role.ID, ps); err != nil {
		return err
	}
	w.WriteHeader(status)
	return nil
}

// roleUserView is a user as Auth0 lists a role's users.
type roleUserView struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
	Picture string `json:"picture,omitempty"`
}

func (a *api) listRoleUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	ids, err := rs.RoleUsers(r.Context(), role.ID)
	if err != nil {
		return err
	}
	users := []roleUserView{}
	for _, id := range ids {
		u, err := a.d.Store.User(r.Context(), id)
		switch {
		case errors.Is(err, oauth.ErrNotFound):
			continue // deleted since
		case err != nil:
			return err
		}
		users = append(users, roleUserView{UserID: u.UserID, Email: u.Email, Name: u.Name, Picture: u.Picture})
	}
	writeList(w, p, "users", users)
	return nil
}

func (a *api) addRoleUsers(w http.ResponseWriter, r *http.Request) error {
	var b usersBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	ids, ok, err := b.Users.value("users")
	if err != nil {
		return err
	}
	if !ok || len(ids) == 0 || len(ids) > 1000 {
		return invalidBody("users", "must list 1 to 1000 user ids")
	}
	rs, role, err := a.role(r)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := a.d.Store.User(r.Context(), id); errors.Is(err, oauth.ErrNotFound) {
			return invalidBody("users", "users[%d]: no user has the id %q", i, id)
		} else if err != nil {
			return err
		}
	}
	for _, id := range ids {
		if err := rs.AssignUserRoles(r.Context(), id, []string{role.ID}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// userRoles reads a roles body for the path's user, who must exist.
func (a *api) userRoles(r *http.Request) (oauth.RoleStore, string, []string, error) {
	var b rolesBody
	if err := decodeBody(r, &b); err != nil {
		return nil, "", nil, err
	}
	ids, ok, err := b.Roles.value("roles")
	if err != nil {
		return nil, "", nil, err
	}
	if !ok || len(ids) == 0 || len(ids) > 1000 {
		return nil, "", nil, invalidBody("roles", "must list 1 to 1000 role ids")
	}
	rs, err := a.roles()
	if err != nil {
		return nil, "", nil, err
	}
	u, err := a.user(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, "", nil, err
	}
	for i, id := range ids {
		if _, err := rs.Role(r.Context(), id); errors.Is(err, oauth.ErrNotFound) {
			return nil, "", nil, invalidBody("roles", "roles[%d]: no role has the id %q", i, id)
		} else if err != nil {
			return nil, "", nil, err
		}
	}
	return rs, u.UserID, ids, nil
}

func (a *api) listUserRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	rs, err := a.roles()
	if err != nil {
		return err
	}
	u, err := a.user(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	roles, err := rs.UserRoles(r.Context(), u.UserID)
	if err != nil {
		return err
	}
	writeList(w, p, "roles", roles)
	return nil
}

func (a *api) assignUserRoles(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserRoles(w, r, true)
}

func (a *api) removeUserRoles(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserRoles(w, r, false)
}

// changeUserRoles gives or takes the body's roles (204).
func (a *api) changeUserRoles(w http.ResponseWriter, r *http.Request, add bool) error {
	rs, user, ids, err := a.userRoles(r)
	if err != nil {
		return err
	}
	change := rs.RemoveUserRoles
	if add {
		change = rs.AssignUserRoles
	}
	if err := change(r.Context(), user, ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listUserPermissions(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	rs, err := a.roles()
	if err != nil {
		return err
	}
	u, err := a.user(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ps, err := rs.UserPermissions(r.Context(), u.UserID)
	if err != nil {
		return err
	}
	views, err := a.views(r, ps)
	if err != nil {
		return err
	}
	writeList(w, p, "permissions", views)
	return nil
}

func (a *api) addUserPermissions(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserPermissions(w, r, true)
}

func (a *api) removeUserPermissions(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserPermissions(w, r, false)
}

func (a *api) changeUserPermissions(w http.ResponseWriter, r *http.Request, add bool) error {
	ps, err := a.permissions(r)
	if err != nil {
		return err
	}
	rs, err := a.roles()
	if err != nil {
		return err
	}
	u, err := a.user(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	change, status := rs.RemoveUserPermissions, http.StatusNoContent
	if add {
		change, status = rs.AddUserPermissions, http.StatusCreated
	}
	if err := change(r.Context(), u.UserID, ps); err != nil {
		return err
	}
	w.WriteHeader(status)
	return nil
}
