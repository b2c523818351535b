package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Roles (RBAC). A role item (PK ROLE) holds its permissions and its users;
// a role-name item (PK ROLENAME) keeps names unique; a user's RBAC item
// (PK RBAC) holds the user's roles, direct permissions and, kept current on
// every change that touches them, the effective permissions: the one item
// the token endpoint reads (EffectivePermissions, one GetItem). Each item
// has a version; every change is a read, a change and a write conditioned
// on the version read, retried on a lost race, and a change to a role's
// permissions recomputes each of its users' items after it, so the last
// recompute reads the last state.

var _ oauth.RoleStore = (*Store)(nil)

const (
	pkRoles     = "ROLE"
	pkRoleNames = "ROLENAME"
	pkRBAC      = "RBAC"

	roleName    = "name"
	roleDesc    = "description"
	rolePerms   = "perms" // list of permKey
	roleUsers   = "users" // list of user ids
	rbacRoles   = "roles"
	rbacDirect  = "direct"
	rbacEff     = "eff"
	attrVersion = "v"

	// changeAttempts bounds the retries of a change that lost a race.
	changeAttempts = 8
)

// permKey is a permission as one string: API, unit separator, name.
func permKey(p oauth.Permission) string {
	return p.ResourceServerIdentifier + "\x1f" + p.PermissionName
}

func permOf(k string) oauth.Permission {
	aud, name, _ := strings.Cut(k, "\x1f")
	return oauth.Permission{ResourceServerIdentifier: aud, PermissionName: name}
}

type roleRec struct {
	role    oauth.Role
	perms   map[string]bool
	users   map[string]bool
	version int64
}

func roleRecFrom(it item) *roleRec {
	r := &roleRec{role: oauth.Role{ID: it.s(attrSK), Name: it.s(roleName), Description: it.s(roleDesc)},
		perms: set(it.l(rolePerms)), users: set(it.l(roleUsers)), version: it.n(attrVersion)}
	return r
}

func (r *roleRec) item() item {
	it := keyOf(pkRoles, r.role.ID)
	it.setS(roleName, r.role.Name)
	it.setS(roleDesc, r.role.Description)
	it.setL(rolePerms, slices.Sorted(maps.Keys(r.perms)))
	it.setL(roleUsers, slices.Sorted(maps.Keys(r.users)))
	it.setN(attrVersion, r.version+1)
	return it
}

func set(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, v := range l {
		m[v] = true
	}
	return m
}

// versionCond is the condition of a write over what was read at version v.
func versionCond(v int64) (string, map[string]types.AttributeValue) {
	if v == 0 {
		return "attribute_not_exists(PK)", nil
	}
	return "#v = :v", map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}}
}

func (s *Store) putVersioned(ctx context.Context, op string, it item, v int64) error {
	cond, values := versionCond(v)
	in := &types.Put{TableName: &s.table, Item: it, ConditionExpression: &cond, ExpressionAttributeValues: values}
	if v != 0 {
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
	}
	_, err := s.transact(ctx, op, func() []types.TransactWriteItem { return []types.TransactWriteItem{{Put: in}} })
	return err
}

func (s *Store) roleRec(ctx context.Context, id string) (*roleRec, error) {
	it, err := s.get(ctx, "role "+id, keyOf(pkRoles, id))
	if err != nil {
		return nil, err
	}
	return roleRecFrom(it), nil
}

// changeRole applies change to the role and writes it, retrying a lost
// race.
func (s *Store) changeRole(ctx context.Context, id string, change func(*roleRec)) (*roleRec, error) {
	op := "change role " + id
	for range changeAttempts {
		r, err := s.roleRec(ctx, id)
		if err != nil {
			return nil, err
		}
		change(r)
		switch err := s.putVersioned(ctx, op, r.item(), r.version); {
		case err == nil:
			return r, nil
		case !errors.Is(err, errCondition):
			return nil, err
		}
	}
	return nil, fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrConsumed)
}

type rbacRec struct {
	roles, direct map[string]bool
	version       int64
}

// changeUser applies change to the user's RBAC item, recomputes the
// effective permissions from the user's roles as they are now, and
// writes it, retrying a lost race. Roles that are gone are dropped.
func (s *Store) changeUser(ctx context.Context, userID string, change func(*rbacRec)) error {
	op := "change permissions of " + userID
	for range changeAttempts {
		u := &rbacRec{roles: map[string]bool{}, direct: map[string]bool{}}
		switch it, err := s.get(ctx, op, keyOf(pkRBAC, userID)); {
		case err == nil:
			u.roles, u.direct, u.version = set(it.l(rbacRoles)), set(it.l(rbacDirect)), it.n(attrVersion)
		case !errors.Is(err, oauth.ErrNotFound):
			return err
		}
		change(u)
		eff := maps.Clone(u.direct)
		for id := range u.roles {
			r, err := s.roleRec(ctx, id)
			if errors.Is(err, oauth.ErrNotFound) {
				delete(u.roles, id)
				continue
			}
			if err != nil {
				return err
			}
			maps.Copy(eff, r.perms)
		}
		it := keyOf(pkRBAC, userID)
		it.setL(rbacRoles, slices.Sorted(maps.Keys(u.roles)))
		it.setL(rbacDirect, slices.Sorted(maps.Keys(u.direct)))
		it.setL(rbacEff, slices.Sorted(maps.Keys(eff)))
		it.setN(attrVersion, u.version+1)
		switch err := s.putVersioned(ctx, op, it, u.version); {
		case err == nil:
			return nil
		case !errors.Is(err, errCondition):
			return err
		}
	}
	return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrConsumed)
}

func (s *Store) Role(ctx context.Context, id string) (*oauth.Role, error) {
	r, err := s.roleRec(ctx, id)
	if err != nil {
		return nil, err
	}
	return &r.role, nil
}

func (s *Store) Roles(ctx context.Context) ([]*oauth.Role, error) {
	rs, err := list(ctx, s, "roles", pkRoles, func(it item) (*oauth.Role, error) { return &roleRecFrom(it).role, nil })
	if err != nil {
		return nil, err
	}
	oauth.SortRoles(rs)
	return rs, nil
}

func (s *Store) CreateRole(ctx context.Context, r *oauth.Role) error {
	op := "create role " + r.ID
	rec := &roleRec{role: *r, perms: map[string]bool{}, users: map[string]bool{}}
	name := keyOf(pkRoleNames, r.Name)
	name.setS("role", r.ID)
	_, err := s.transact(ctx, op, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: rec.item(), ConditionExpression: new("attribute_not_exists(PK)")}},
			{Put: &types.Put{TableName: &s.table, Item: name, ConditionExpression: new("attribute_not_exists(PK)")}},
		}
	})
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: id or name taken: %w", op, oauth.ErrAlreadyExists)
	}
	return err
}

func (s *Store) UpdateRole(ctx context.Context, r *oauth.Role) error {
	op := "update role " + r.ID
	for range changeAttempts {
		old, err := s.roleRec(ctx, r.ID)
		if err != nil {
			return err
		}
		next := *old
		next.role = *r
		cond, values := versionCond(old.version)
		writes := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: next.item(), ConditionExpression: &cond,
			ExpressionAttributeNames: map[string]string{"#v": attrVersion}, ExpressionAttributeValues: values}}}
		if r.Name != old.role.Name {
			name := keyOf(pkRoleNames, r.Name)
			name.setS("role", r.ID)
			writes = append(writes,
				types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: name, ConditionExpression: new("attribute_not_exists(PK)")}},
				types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkRoleNames, old.role.Name)}})
		}
		reasons, err := s.transact(ctx, op, func() []types.TransactWriteItem { return writes })
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, errCondition):
			return err
		case len(reasons) > 1 && reasons[1].Code != nil && *reasons[1].Code == "ConditionalCheckFailed":
			return fmt.Errorf("dynamostore: %s: name taken: %w", op, oauth.ErrAlreadyExists)
		}
	}
	return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrConsumed)
}

func (s *Store) DeleteRole(ctx context.Context, id string) error {
	r, err := s.roleRec(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.transact(ctx, "delete role "+id, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkRoles, id)}},
			{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkRoleNames, r.role.Name)}},
		}
	}); err != nil {
		return err
	}
	// The role is gone: each user's recompute drops it.
	for u := range r.users {
		if err := s.changeUser(ctx, u, func(x *rbacRec) { delete(x.roles, id) }); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) RolePermissions(ctx context.Context, roleID string) ([]oauth.Permission, error) {
	r, err := s.roleRec(ctx, roleID)
	if err != nil {
		return nil, err
	}
	out := []oauth.Permission{}
	for _, k := range slices.Sorted(maps.Keys(r.perms)) {
		out = append(out, permOf(k))
	}
	return oauth.SortPermissions(out), nil
}

func (s *Store) AddRolePermissions(ctx context.Context, roleID string, ps []oauth.Permission) error {
	return s.changeRolePerms(ctx, roleID, ps, true)
}

func (s *Store) RemoveRolePermissions(ctx context.Context, roleID string, ps []oauth.Permission) error {
	return s.changeRolePerms(ctx, roleID, ps, false)
}

func (s *Store) changeRolePerms(ctx context.Context, roleID string, ps []oauth.Permission, add bool) error {
	r, err := s.changeRole(ctx, roleID, func(r *roleRec) {
		for _, p := range ps {
			if add {
				r.perms[permKey(p)] = true
			} else {
				delete(r.perms, permKey(p))
			}
		}
	})
	if err != nil {
		return err
	}
	for u := range r.users {
		if err := s.changeUser(ctx, u, func(*rbacRec) {}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) RoleUsers(ctx context.Context, roleID string) ([]string, error) {
	r, err := s.roleRec(ctx, roleID)
	if err != nil {
		return nil, err
	}
	return append([]string{}, slices.Sorted(maps.Keys(r.users))...), nil
}

func (s *Store) UserRoles(ctx context.Context, userID string) ([]*oauth.Role, error) {
	out := []*oauth.Role{}
	it, err := s.get(ctx, "roles of "+userID, keyOf(pkRBAC, userID))
	if errors.Is(err, oauth.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, id := range it.l(rbacRoles) {
		r, err := s.Role(ctx, id)
		if errors.Is(err, oauth.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	oauth.SortRoles(out)
	return out, nil
}

func (s *Store) AssignUserRoles(ctx context.Context, userID string, roleIDs []string) error {
	for _, id := range roleIDs {
		if _, err := s.roleRec(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range roleIDs {
		if _, err := s.changeRole(ctx, id, func(r *roleRec) { r.users[userID] = true }); err != nil {
			return err
		}
	}
	return s.changeUser(ctx, userID, func(u *rbacRec) {
		for _, id := range roleIDs {
			u.roles[id] = true
		}
	})
}

func (s *Store) RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) error {
	for _, id := range roleIDs {
		_, err := s.changeRole(ctx, id, func(r *roleRec) { delete(r.users, userID) })
		if err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return err
		}
	}
	return s.changeUser(ctx, userID, func(u *rbacRec) {
		for _, id := range roleIDs {
			delete(u.roles, id)
		}
	})
}

func (s *Store) UserPermissions(ctx context.Context, userID string) ([]oauth.Permission, error) {
	out := []oauth.Permission{}
	it, err := s.get(ctx, "permissions of "+userID, keyOf(pkRBAC, userID))
	if errors.Is(err, oauth.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, k := range it.l(rbacDirect) {
		out = append(out, permOf(k))
	}
	return oauth.SortPermissions(out), nil
}

func (s *Store) AddUserPermissions(ctx context.Context, userID string, ps []oauth.Permission) error {
	return s.changeUser(ctx, userID, func(u *rbacRec) {
		for _, p := range ps {
			u.direct[permKey(p)] = true
		}
	})
}

func (s *Store) RemoveUserPermissions(ctx context.Context, userID string, ps []oauth.Permission) error {
	return s.changeUser(ctx, userID, func(u *rbacRec) {
		for _, p := range ps {
			delete(u.direct, permKey(p))
		}
	})
}

// EffectivePermissions is one GetItem: the user's RBAC item.
func (s *Store) EffectivePermissions(ctx context.Context, userID, audience string) ([]string, error) {
	out := []string{}
	it, err := s.get(ctx, "effective permissions of "+userID, keyOf(pkRBAC, userID))
	if errors.Is(err, oauth.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, k := range it.l(rbacEff) {
		if p := permOf(k); p.ResourceServerIdentifier == audience {
			out = append(out, p.PermissionName)
		}
	}
	slices.Sort(out)
	return out, nil
}
