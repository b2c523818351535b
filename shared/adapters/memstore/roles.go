package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var _ oauth.RoleStore = (*Store)(nil)

type roleState struct {
	role  oauth.Role
	perms map[oauth.Permission]bool
	users map[string]bool
}

type userRBAC struct {
	roles  map[string]bool
	direct map[oauth.Permission]bool
}

func (s *Store) userRBACLocked(userID string) *userRBAC {
	u := s.rbac[userID]
	if u == nil {
		u = &userRBAC{roles: map[string]bool{}, direct: map[oauth.Permission]bool{}}
		s.rbac[userID] = u
	}
	return u
}

func (s *Store) roleLocked(id string) (*roleState, error) {
	r := s.roles[id]
	if r == nil {
		return nil, fmt.Errorf("memstore: role %s: %w", id, oauth.ErrNotFound)
	}
	return r, nil
}

func (s *Store) Role(_ context.Context, id string) (*oauth.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(id)
	if err != nil {
		return nil, err
	}
	out := r.role
	return &out, nil
}

func (s *Store) Roles(_ context.Context) ([]*oauth.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*oauth.Role, 0, len(s.roles))
	for _, r := range s.roles {
		role := r.role
		out = append(out, &role)
	}
	oauth.SortRoles(out)
	return out, nil
}

func (s *Store) nameTakenLocked(name, except string) bool {
	for id, r := range s.roles {
		if id != except && r.role.Name == name {
			return true
		}
	}
	return false
}

func (s *Store) CreateRole(_ context.Context, r *oauth.Role) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles[r.ID] != nil || s.nameTakenLocked(r.Name, "") {
		return fmt.Errorf("memstore: role %s: %w", r.ID, oauth.ErrAlreadyExists)
	}
	s.roles[r.ID] = &roleState{role: *r, perms: map[oauth.Permission]bool{}, users: map[string]bool{}}
	return nil
}

func (s *Store) UpdateRole(_ context.Context, r *oauth.Role) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.roleLocked(r.ID)
	if err != nil {
		return err
	}
	if s.nameTakenLocked(r.Name, r.ID) {
		return fmt.Errorf("memstore: role name %q: %w", r.Name, oauth.ErrAlreadyExists)
	}
	st.role = *r
	return nil
}

func (s *Store) DeleteRole(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.roleLocked(id)
	if err != nil {
		return err
	}
	for u := range st.users {
		delete(s.userRBACLocked(u).roles, id)
	}
	delete(s.roles, id)
	return nil
}

func (s *Store) RolePermissions(_ context.Context, roleID string) ([]oauth.Permission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.roleLocked(roleID)
	if err != nil {
		return nil, err
	}
	return append([]oauth.Permission{}, oauth.SortPermissions(slices.Collect(maps.Keys(st.perms)))...), nil
}

func (s *Store) AddRolePermissions(_ context.Context, roleID string, ps []oauth.Permission) error {
	return s.rolePerms(roleID, ps, true)
}

func (s *Store) RemoveRolePermissions(_ context.Context, roleID string, ps []oauth.Permission) error {
	return s.rolePerms(roleID, ps, false)
}

func (s *Store) rolePerms(roleID string, ps []oauth.Permission, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.roleLocked(roleID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if add {
			st.perms[p] = true
		} else {
			delete(st.perms, p)
		}
	}
	return nil
}

func (s *Store) RoleUsers(_ context.Context, roleID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.roleLocked(roleID)
	if err != nil {
		return nil, err
	}
	return append([]string{}, slices.Sorted(maps.Keys(st.users))...), nil
}

func (s *Store) UserRoles(_ context.Context, userID string) ([]*oauth.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*oauth.Role{}
	for id := range s.userRBACLocked(userID).roles {
		if r := s.roles[id]; r != nil {
			role := r.role
			out = append(out, &role)
		}
	}
	oauth.SortRoles(out)
	return out, nil
}

func (s *Store) AssignUserRoles(_ context.Context, userID string, roleIDs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range roleIDs {
		if _, err := s.roleLocked(id); err != nil {
			return err
		}
	}
	u := s.userRBACLocked(userID)
	for _, id := range roleIDs {
		u.roles[id] = true
		s.roles[id].users[userID] = true
	}
	return nil
}

func (s *Store) RemoveUserRoles(_ context.Context, userID string, roleIDs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userRBACLocked(userID)
	for _, id := range roleIDs {
		delete(u.roles, id)
		if r := s.roles[id]; r != nil {
			delete(r.users, userID)
		}
	}
	return nil
}

func (s *Store) UserPermissions(_ context.Context, userID string) ([]oauth.Permission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]oauth.Permission{}, oauth.SortPermissions(slices.Collect(maps.Keys(s.userRBACLocked(userID).direct)))...), nil
}

func (s *Store) AddUserPermissions(_ context.Context, userID string, ps []oauth.Permission) error {
	return s.userPerms(userID, ps, true)
}

func (s *Store) RemoveUserPermissions(_ context.Context, userID string, ps []oauth.Permission) error {
	return s.userPerms(userID, ps, false)
}

func (s *Store) userPerms(userID string, ps []oauth.Permission, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userRBACLocked(userID)
	for _, p := range ps {
		if add {
			u.direct[p] = true
		} else {
			delete(u.direct, p)
		}
	}
	return nil
}

func (s *Store) EffectivePermissions(_ context.Context, userID, audience string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	u := s.userRBACLocked(userID)
	for p := range u.direct {
		if p.ResourceServerIdentifier == audience {
			set[p.PermissionName] = true
		}
	}
	for id := range u.roles {
		if r := s.roles[id]; r != nil {
			for p := range r.perms {
				if p.ResourceServerIdentifier == audience {
					set[p.PermissionName] = true
				}
			}
		}
	}
	return append([]string{}, slices.Sorted(maps.Keys(set))...), nil
}
