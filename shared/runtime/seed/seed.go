// Package seed loads a JSON file of APIs, applications, client grants and
// users, in Auth0 Management API shapes, into a store. The dev server starts
// from one; infra commands use it to bootstrap a deployment.
package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
)

// File is the seed document.
type File struct {
	ResourceServers []oauth.ResourceServer `json:"resource_servers"`
	Clients         []Client               `json:"clients"`
	ClientGrants    []oauth.ClientGrant    `json:"client_grants"`
	Users           []User                 `json:"users"`
}

// Client is an application with its secret in plain text (confidential
// clients only); the store keeps only its hash.
type Client struct {
	oauth.Client
	ClientSecret string `json:"client_secret,omitempty"`
}

// User is a user with a plain password; the store keeps an argon2id hash.
type User struct {
	oauth.User
	Password string `json:"password"`
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
	var f File
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

// Validate checks every entry and the references between them.
func (f *File) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("seed: "+format, args...)) }

	apis := map[string]*oauth.ResourceServer{}
	for i := range f.ResourceServers {
		rs := &f.ResourceServers[i]
		at := fmt.Sprintf("resource_servers[%d] %q", i, rs.Identifier)
		if rs.Identifier == "" {
			bad("%s: identifier is required", at)
		}
		if apis[rs.Identifier] != nil {
			bad("%s: duplicate identifier", at)
		}
		apis[rs.Identifier] = rs
		if rs.Name == "" {
			bad("%s: name is required", at)
		}
		if rs.TokenLifetime < 0 || rs.TokenLifetime > 2592000 {
			bad("%s: token_lifetime must be between 1 and 2592000 seconds", at)
		}
		if rs.SigningAlg != "" && rs.SigningAlg != oauth.AlgRS256 && rs.SigningAlg != oauth.AlgES256 {
			bad("%s: signing_alg must be RS256 or ES256", at)
		}
		seen := map[string]bool{}
		for _, s := range rs.Scopes {
			if s.Value == "" || strings.ContainsAny(s.Value, " \"\\") || seen[s.Value] {
				bad("%s: scope %q is empty, malformed or repeated", at, s.Value)
			}
			seen[s.Value] = true
		}
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
		if !slices.Contains([]string{oauth.AppTypeSPA, oauth.AppTypeNative, oauth.AppTypeRegularWeb, oauth.AppTypeNonInteractive}, c.AppType) {
			bad("%s: app_type must be spa, native, regular_web or non_interactive", at)
		}
		switch c.TokenEndpointAuthMethod {
		case oauth.AuthMethodNone:
			if c.ClientSecret != "" {
				bad("%s: a public client (token_endpoint_auth_method none) has no client_secret", at)
			}
		case oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost:
			if len(c.ClientSecret) < 16 {
				bad("%s: client_secret of at least 16 characters is required", at)
			}
		default:
			bad("%s: token_endpoint_auth_method must be none, client_secret_post or client_secret_basic", at)
		}
		for _, gt := range c.GrantTypes {
			if gt != oauth.GrantTypeAuthorizationCode && gt != oauth.GrantTypeRefreshToken && gt != oauth.GrantTypeClientCredentials {
				bad("%s: grant_types: %q is not supported", at, gt)
			}
			if gt == oauth.GrantTypeClientCredentials && c.TokenEndpointAuthMethod == oauth.AuthMethodNone {
				bad("%s: a public client cannot use client_credentials", at)
			}
		}
		for _, cb := range c.Callbacks {
			if err := checkCallback(cb, c.AppType); err != nil {
				bad("%s: callbacks: %q: %v", at, cb, err)
			}
		}
		validateRefreshConfig(&c.Client, apis, func(msg string) { bad("%s: refresh_token: %s", at, msg) })
	}

	grants := map[[2]string]bool{}
	for i, g := range f.ClientGrants {
		at := fmt.Sprintf("client_grants[%d]", i)
		c, rs := clients[g.ClientID], apis[g.Audience]
		switch {
		case c == nil:
			bad("%s: client_id %q is not a client of this file", at, g.ClientID)
		case !c.AllowsGrant(oauth.GrantTypeClientCredentials):
			bad("%s: client %q does not have the client_credentials grant type", at, g.ClientID)
		}
		if rs == nil {
			bad("%s: audience %q is not a resource server of this file", at, g.Audience)
		} else {
			for _, s := range g.Scope {
				if !rs.HasScope(s) {
					bad("%s: scope %q is not defined on %q", at, s, g.Audience)
				}
			}
		}
		if grants[[2]string{g.ClientID, g.Audience}] {
			bad("%s: duplicate grant for client %q and audience %q", at, g.ClientID, g.Audience)
		}
		grants[[2]string{g.ClientID, g.Audience}] = true
	}

	emails := map[string]bool{}
	for i, u := range f.Users {
		at := fmt.Sprintf("users[%d] %q", i, u.Email)
		if !strings.Contains(u.Email, "@") {
			bad("%s: email is required", at)
		}
		if emails[strings.ToLower(u.Email)] {
			bad("%s: duplicate email", at)
		}
		emails[strings.ToLower(u.Email)] = true
		if len(u.Password) < 8 {
			bad("%s: password of at least 8 characters is required", at)
		}
	}
	return errors.Join(errs...)
}

func checkCallback(cb, appType string) error {
	u, err := url.Parse(cb)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return errors.New("must be an absolute URL")
	case u.Fragment != "" || strings.Contains(cb, "#"):
		return errors.New("must not have a fragment")
	case strings.Contains(cb, "*"):
		return errors.New("must not have a wildcard")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		if appType != oauth.AppTypeNative {
			return errors.New("loopback http redirects are for native apps only")
		}
		return nil
	}
	return errors.New("must be https (or loopback http for native apps)")
}

// validateRefreshConfig applies Auth0's bounds and the MRRT limits.
func validateRefreshConfig(c *oauth.Client, apis map[string]*oauth.ResourceServer, bad func(string)) {
	rt := c.RefreshToken
	if rt.RotationType == "" && rt.ExpirationType == "" && rt.Policies == nil {
		return
	}
	if rt.RotationType != oauth.RotationRotating && rt.RotationType != oauth.RotationNonRotating {
		bad("rotation_type must be rotating or non-rotating")
	}
	if rt.ExpirationType != oauth.ExpirationExpiring && rt.ExpirationType != oauth.ExpirationNever {
		bad("expiration_type must be expiring or non-expiring")
	}
	if rt.RotationType == oauth.RotationRotating && rt.ExpirationType != oauth.ExpirationExpiring {
		bad("rotating refresh tokens must be expiring")
	}
	if c.IsPublic() && rt.RotationType != oauth.RotationRotating {
		bad("public clients must use rotating refresh tokens")
	}
	if rt.Leeway < 0 {
		bad("leeway must be >= 0")
	}
	for name, v := range map[string]int{"token_lifetime": rt.TokenLifetime, "idle_token_lifetime": rt.IdleTokenLifetime} {
		if v != 0 && (v < 1 || v > oauth.MaxLifetimeSeconds) {
			bad(name + " must be between 1 and 157788000")
		}
	}
	if rt.TokenLifetime > 0 && rt.IdleTokenLifetime > rt.TokenLifetime && !rt.InfiniteTokenLifetime {
		bad("idle_token_lifetime must not exceed token_lifetime")
	}
	if rt.Policies != nil && len(rt.Policies) == 0 {
		bad("policies must have at least one entry or be null")
	}
	if len(rt.Policies) > 0 && !c.IsFirstParty {
		bad("policies are allowed only on first-party clients")
	}
	seen := map[string]bool{}
	for i, p := range rt.Policies {
		rs := apis[p.Audience]
		switch {
		case rs == nil:
			bad(fmt.Sprintf("policies[%d]: audience %q is not a resource server of this file", i, p.Audience))
			continue
		case !rs.SkipConsentForVerifiableFirstPartyClients:
			bad(fmt.Sprintf("policies[%d]: API %q does not allow skipping consent", i, p.Audience))
		case seen[p.Audience]:
			bad(fmt.Sprintf("policies[%d]: duplicate audience %q", i, p.Audience))
		}
		seen[p.Audience] = true
		if len(p.Scope) == 0 {
			bad(fmt.Sprintf("policies[%d]: scope must list at least one scope", i))
		}
		for _, s := range p.Scope {
			if !rs.HasScope(s) {
				bad(fmt.Sprintf("policies[%d]: scope %q is not defined on %q", i, s, p.Audience))
			}
		}
	}
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
	}
	return nil
}
