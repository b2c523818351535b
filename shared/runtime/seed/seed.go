// Package seed loads a JSON file of APIs, applications, client grants and
// users, in Auth0 Management API shapes, into a store. The dev server starts
// from one; infra commands use it to bootstrap a deployment.
package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/protocol/policyadmin"
)

// File is the seed document.
type File struct {
	ResourceServers []oauth.ResourceServer `json:"resource_servers"`
	Clients         []Client               `json:"clients"`
	ClientGrants    []oauth.ClientGrant    `json:"client_grants"`
	Users           []User                 `json:"users"`
	Roles           []Role                 `json:"roles"`

	// adminAudience is the admin API's audience for the issuer the file
	// was parsed for: no MRRT policy may name it.
	adminAudience string
}

// Client is an application with its secret in plain text (confidential
// clients only); the store keeps only its hash.
type Client struct {
	oauth.Client
	ClientSecret string `json:"client_secret,omitempty"`
}

// User is a user with a plain password; the store keeps an argon2id hash.
// Permissions are given to the user directly (RBAC).
type User struct {
	oauth.User
	Password    string             `json:"password"`
	Permissions []oauth.Permission `json:"permissions,omitempty"`
}

// Role is a role with its permissions and its users (user_ids of this
// file's users).
type Role struct {
	oauth.Role
	Permissions []oauth.Permission `json:"permissions,omitempty"`
	Users       []string           `json:"users,omitempty"`
}

// IssuerPlaceholder in any string of a seed file is replaced by the issuer,
// so that the admin API's audience follows the listen address.
const IssuerPlaceholder = "{{issuer}}"

// Parse decodes and validates a seed document. Unknown fields and invalid
// entries are refused with an error naming them.
func Parse(r io.Reader, issuer string) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("seed: read: %w", err)
	}
	quoted, _ := json.Marshal(issuer)
	data = bytes.ReplaceAll(data, []byte(IssuerPlaceholder), quoted[1:len(quoted)-1])
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	f := File{adminAudience: oauth.DefaultAdminAudience(issuer)}
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if dec.More() {
		return nil, errors.New("seed: trailing data after the JSON document")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// ParseFile is Parse of the file at path; errors name the file.
func ParseFile(path, issuer string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	doc, err := Parse(f, issuer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// Validate applies the defaults the admin API applies to a new entry,
// then checks every entry with the admin API's rules (shared/core/oauth)
// and the references between the entries. Errors name the entry and the
// field.
func (f *File) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("seed: "+format, args...)) }
	rule := func(at string, err error) {
		if err != nil {
			bad("%s: %v", at, err)
		}
	}

	apis := map[string]*oauth.ResourceServer{}
	for i := range f.ResourceServers {
		rs := &f.ResourceServers[i]
		at := fmt.Sprintf("resource_servers[%d] %q", i, rs.Identifier)
		if apis[rs.Identifier] != nil {
			bad("%s: duplicate identifier", at)
		}
		apis[rs.Identifier] = rs
		rs.ApplyDefaults()
		rule(at, oauth.ValidateResourceServer(rs, f.adminAudience, policyadmin.Scopes))
	}
	api := func(aud string) (*oauth.ResourceServer, error) {
		if rs := apis[aud]; rs != nil {
			return rs, nil
		}
		return nil, oauth.ErrNotFound
	}

	clients := map[string]*Client{}
	for i := range f.Clients {
		c := &f.Clients[i]
		at := fmt.Sprintf("clients[%d] %q", i, c.ClientID)
		if c.ClientID == "" {
			bad("%s: client_id is required", at)
		}
		if clients[c.ClientID] != nil {
			bad("%s: duplicate client_id", at)
		}
		clients[c.ClientID] = c
		c.ApplyDefaults()
		switch {
		case c.IsPublic() && c.ClientSecret != "":
			bad("%s: a public client (token_endpoint_auth_method none) has no client_secret", at)
		case !c.IsPublic() && len(c.ClientSecret) < 16:
			bad("%s: client_secret of at least 16 characters is required", at)
		}
		// Credentials given in full become the client's, with ids that
		// stay the same from one load to the next.
		n := 0
		if err := c.AdoptInlineCredentials(time.Time{}, func() (string, error) {
			n++
			sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", c.ClientID, n))
			return hex.EncodeToString(sum[:16]), nil
		}); err != nil {
			rule(at, err)
			continue
		}
		if err := oauth.ValidateClient(&c.Client, f.adminAudience); err != nil {
			rule(at, err)
			continue
		}
		rule(at, oauth.ValidatePolicyRefs(&c.Client, api))
	}

	grants := map[[2]string]bool{}
	for i := range f.ClientGrants {
		g := &f.ClientGrants[i]
		at := fmt.Sprintf("client_grants[%d]", i)
		c, rs := clients[g.ClientID], apis[g.Audience]
		switch {
		case c == nil:
			bad("%s: client_id: %q is not a client of this file", at, g.ClientID)
		case rs == nil:
			bad("%s: audience: %q is not a resource server of this file", at, g.Audience)
		default:
			rule(at, oauth.ValidateClientGrant(g, &c.Client, rs))
		}
		if grants[[2]string{g.ClientID, g.Audience}] {
			bad("%s: duplicate grant for client %q and audience %q", at, g.ClientID, g.Audience)
		}
		grants[[2]string{g.ClientID, g.Audience}] = true
	}

	emails := map[string]bool{}
	for i, u := range f.Users {
		at := fmt.Sprintf("users[%d] %q", i, u.Email)
		rule(at, oauth.CheckEmail("email", u.Email))
		rule(at, oauth.CheckUserName("name", u.Name))
		rule(at, oauth.CheckPassword("password", u.Password))
		if emails[strings.ToLower(u.Email)] {
			bad("%s: duplicate email", at)
		}
		emails[strings.ToLower(u.Email)] = true
		if len(u.Permissions) > 0 {
			rule(at, oauth.ValidatePermissions(u.Permissions, api))
		}
	}

	userIDs := map[string]bool{}
	for _, u := range f.Users {
		userIDs[u.UserID] = u.UserID != ""
	}
	roleIDs, roleNames := map[string]bool{}, map[string]bool{}
	for i := range f.Roles {
		r := &f.Roles[i]
		at := fmt.Sprintf("roles[%d] %q", i, r.Name)
		rule(at, oauth.ValidateRole(&r.Role))
		if r.ID == "" {
			r.ID = "rol_" + oauth.HashToken("seed role " + r.Name)[:16] // the same on every load
		}
		if roleIDs[r.ID] || roleNames[r.Name] {
			bad("%s: duplicate id or name", at)
		}
		roleIDs[r.ID], roleNames[r.Name] = true, true
		if len(r.Permissions) > 0 {
			rule(at, oauth.ValidatePermissions(r.Permissions, api))
		}
		for _, u := range r.Users {
			if !userIDs[u] {
				bad("%s: users: %q is not the user_id of a user of this file", at, u)
			}
		}
	}
	return errors.Join(errs...)
}

// Load writes every entry of f into s: client secrets are hashed, passwords
// hashed with argon2id, missing ids generated from r. An entry that already
// exists is an error wrapping oauth.ErrAlreadyExists.
func Load(ctx context.Context, s oauth.Store, f *File, r io.Reader, now time.Time) error {
	return load(ctx, s, f, r, now, false)
}

// LoadMissing is Load that keeps entries which already exist (a persistent
// store seeded by an earlier run) and writes only the others.
func LoadMissing(ctx context.Context, s oauth.Store, f *File, r io.Reader, now time.Time) error {
	return load(ctx, s, f, r, now, true)
}

func load(ctx context.Context, s oauth.Store, f *File, r io.Reader, now time.Time, keep bool) error {
	exists := func(err error) bool { return keep && errors.Is(err, oauth.ErrAlreadyExists) }
	for i := range f.ResourceServers {
		rs := f.ResourceServers[i]
		if rs.ID == "" {
			id, err := oauth.NewID(r)
			if err != nil {
				return err
			}
			rs.ID = id
		}
		if rs.SigningAlg == "" {
			rs.SigningAlg = oauth.AlgRS256
		}
		if rs.TokenLifetime == 0 {
			rs.TokenLifetime = 86400
		}
		if err := s.CreateResourceServer(ctx, &rs); err != nil && !exists(err) {
			return fmt.Errorf("seed: resource server %q: %w", rs.Identifier, err)
		}
	}
	for _, sc := range f.Clients {
		c := sc.Client
		if sc.ClientSecret != "" {
			c.SecretHash = oauth.HashToken(sc.ClientSecret)
		}
		if err := s.CreateClient(ctx, &c); err != nil && !exists(err) {
			return fmt.Errorf("seed: client %q: %w", c.ClientID, err)
		}
	}
	for _, g := range f.ClientGrants {
		if g.ID == "" {
			id, err := oauth.NewID(r)
			if err != nil {
				return err
			}
			g.ID = "cgr_" + id
		}
		if err := s.CreateClientGrant(ctx, &g); err != nil && !exists(err) {
			return fmt.Errorf("seed: client grant %q/%q: %w", g.ClientID, g.Audience, err)
		}
	}
	for _, su := range f.Users {
		u := su.User
		if keep {
			if _, err := s.UserByEmail(ctx, u.Email); err == nil {
				continue
			}
		}
		if u.UserID == "" {
			id, err := oauth.NewID(r)
			if err != nil {
				return err
			}
			u.UserID = "auth0|" + id
		}
		hash, err := password.Hash(su.Password, r)
		if err != nil {
			return fmt.Errorf("seed: user %q: %w", u.Email, err)
		}
		u.PasswordHash = hash
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now
		}
		if err := s.CreateUser(ctx, &u); err != nil && !exists(err) {
			return fmt.Errorf("seed: user %q: %w", u.Email, err)
		}
		if len(su.Permissions) > 0 {
			rs, err := roleStore(s)
			if err != nil {
				return err
			}
			if err := rs.AddUserPermissions(ctx, u.UserID, su.Permissions); err != nil {
				return fmt.Errorf("seed: permissions of user %q: %w", u.Email, err)
			}
		}
	}
	for _, sr := range f.Roles {
		rs, err := roleStore(s)
		if err != nil {
			return err
		}
		r := sr.Role
		if err := rs.CreateRole(ctx, &r); err != nil && !exists(err) {
			return fmt.Errorf("seed: role %q: %w", r.Name, err)
		}
		if len(sr.Permissions) > 0 {
			if err := rs.AddRolePermissions(ctx, r.ID, sr.Permissions); err != nil {
				return fmt.Errorf("seed: permissions of role %q: %w", r.Name, err)
			}
		}
		for _, u := range sr.Users {
			if err := rs.AssignUserRoles(ctx, u, []string{r.ID}); err != nil {
				return fmt.Errorf("seed: role %q of user %q: %w", r.Name, u, err)
			}
		}
	}
	return nil
}

// roleStore is s as a RoleStore, for seeds with roles or permissions.
func roleStore(s oauth.Store) (oauth.RoleStore, error) {
	rs, ok := s.(oauth.RoleStore)
	if !ok {
		return nil, errors.New("seed: roles and permissions need a store that holds them")
	}
	return rs, nil
}
