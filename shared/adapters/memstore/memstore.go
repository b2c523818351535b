// Package memstore is an in-memory oauth.Store for the dev server and tests:
// plain maps behind one mutex, with values copied in and out so callers
// never share state with the store.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var _ oauth.Store = (*Store)(nil)

type grantKey struct{ clientID, audience string }

type consentKey struct{ userID, clientID, audience string }

// Store is an oauth.Store in memory. The zero value is not usable; call New.
type Store struct {
	mu sync.Mutex

	clients         map[string]*oauth.Client
	resourceServers map[string]*oauth.ResourceServer
	grants          map[string]*oauth.ClientGrant
	grantIDs        map[grantKey]string // (client, audience) -> grant ID
	users           map[string]*oauth.User
	userIDs         map[string]string // lower-cased email -> user ID
	codes           map[string]*oauth.AuthCode
	families        map[string]*oauth.Family
	userFamilies    map[string]map[string]struct{} // user ID -> family IDs
	revocations     map[string]*oauth.UserRevocation
	sessions        map[string]*oauth.Session
	consents        map[consentKey]*oauth.Consent
	attempts        map[string]*attempts        // login attempts per key
	roles           map[string]*roleState       // roles.go; nil until first used
	rbac            map[string]*userRBAC        // user ID -> roles and direct permissions
	wrapped         map[string]oauth.WrappedKey // envelope signing keys by kid (wrappedkeys.go)
}

// New returns an empty store.
func New() *Store {
	return &Store{
		clients:         map[string]*oauth.Client{},
		resourceServers: map[string]*oauth.ResourceServer{},
		grants:          map[string]*oauth.ClientGrant{},
		grantIDs:        map[grantKey]string{},
		users:           map[string]*oauth.User{},
		userIDs:         map[string]string{},
		codes:           map[string]*oauth.AuthCode{},
		families:        map[string]*oauth.Family{},
		userFamilies:    map[string]map[string]struct{}{},
		revocations:     map[string]*oauth.UserRevocation{},
		sessions:        map[string]*oauth.Session{},
		consents:        map[consentKey]*oauth.Consent{},
		attempts:        map[string]*attempts{},
		roles:           map[string]*roleState{},
		rbac:            map[string]*userRBAC{},
		wrapped:         map[string]oauth.WrappedKey{},
	}
}

// expired reports whether an item expiring at exp is gone at now; zero
// means no expiry. Same boundary as oauth.Family.Active.
func expired(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

func sortedValues[K comparable, V any](m map[K]*V, copyV func(*V) *V, key func(*V) string) []*V {
	out := make([]*V, 0, len(m))
	for _, v := range m {
		out = append(out, copyV(v))
	}
	slices.SortFunc(out, func(a, b *V) int { return cmp.Compare(key(a), key(b)) })
	return out
}

// Clients.

func (s *Store) Client(_ context.Context, clientID string) (*oauth.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("memstore: client %q: %w", clientID, oauth.ErrNotFound)
	}
	return c.Clone(), nil
}

func (s *Store) Clients(_ context.Context) ([]*oauth.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.clients, (*oauth.Client).Clone, func(c *oauth.Client) string { return c.ClientID }), nil
}

func (s *Store) CreateClient(_ context.Context, c *oauth.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ClientID]; ok {
		return fmt.Errorf("memstore: create client %q: %w", c.ClientID, oauth.ErrAlreadyExists)
	}
	s.clients[c.ClientID] = c.Clone()
	return nil
}

func (s *Store) UpdateClient(_ context.Context, c *oauth.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ClientID]; !ok {
		return fmt.Errorf("memstore: update client %q: %w", c.ClientID, oauth.ErrNotFound)
	}
	s.clients[c.ClientID] = c.Clone()
	return nil
}

func (s *Store) DeleteClient(_ context.Context, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[clientID]; !ok {
		return fmt.Errorf("memstore: delete client %q: %w", clientID, oauth.ErrNotFound)
	}
	delete(s.clients, clientID)
	return nil
}

// Resource servers.

func (s *Store) ResourceServer(_ context.Context, identifier string) (*oauth.ResourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.resourceServers[identifier]
	if !ok {
		return nil, fmt.Errorf("memstore: resource server %q: %w", identifier, oauth.ErrNotFound)
	}
	return rs.Clone(), nil
}

func (s *Store) ResourceServers(_ context.Context) ([]*oauth.ResourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.resourceServers, (*oauth.ResourceServer).Clone, func(rs *oauth.ResourceServer) string { return rs.Identifier }), nil
}

func (s *Store) CreateResourceServer(_ context.Context, rs *oauth.ResourceServer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.resourceServers[rs.Identifier]; ok {
		return fmt.Errorf("memstore: create resource server %q: %w", rs.Identifier, oauth.ErrAlreadyExists)
	}
	s.resourceServers[rs.Identifier] = rs.Clone()
	return nil
}

func (s *Store) UpdateResourceServer(_ context.Context, rs *oauth.ResourceServer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.resourceServers[rs.Identifier]; !ok {
		return fmt.Errorf("memstore: update resource server %q: %w", rs.Identifier, oauth.ErrNotFound)
	}
	s.resourceServers[rs.Identifier] = rs.Clone()
	return nil
}

func (s *Store) DeleteResourceServer(_ context.Context, identifier string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.resourceServers[identifier]; !ok {
		return fmt.Errorf("memstore: delete resource server %q: %w", identifier, oauth.ErrNotFound)
	}
	delete(s.resourceServers, identifier)
	return nil
}

// Client grants.

func (s *Store) ClientGrantFor(_ context.Context, clientID, audience string) (*oauth.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.grantIDs[grantKey{clientID, audience}]
	if !ok {
		return nil, fmt.Errorf("memstore: client grant of %q for %q: %w", clientID, audience, oauth.ErrNotFound)
	}
	return s.grants[id].Clone(), nil
}

func (s *Store) ClientGrant(_ context.Context, id string) (*oauth.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[id]
	if !ok {
		return nil, fmt.Errorf("memstore: client grant %q: %w", id, oauth.ErrNotFound)
	}
	return g.Clone(), nil
}

func (s *Store) ClientGrants(_ context.Context) ([]*oauth.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.grants, (*oauth.ClientGrant).Clone, func(g *oauth.ClientGrant) string { return g.ID }), nil
}

func (s *Store) CreateClientGrant(_ context.Context, g *oauth.ClientGrant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.grants[g.ID]; ok {
		return fmt.Errorf("memstore: create client grant %q: %w", g.ID, oauth.ErrAlreadyExists)
	}
	k := grantKey{g.ClientID, g.Audience}
	if _, ok := s.grantIDs[k]; ok {
		return fmt.Errorf("memstore: create client grant of %q for %q: %w", g.ClientID, g.Audience, oauth.ErrAlreadyExists)
	}
	s.grants[g.ID] = g.Clone()
	s.grantIDs[k] = g.ID
	return nil
}

func (s *Store) UpdateClientGrant(_ context.Context, g *oauth.ClientGrant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.grants[g.ID]
	if !ok {
		return fmt.Errorf("memstore: update client grant %q: %w", g.ID, oauth.ErrNotFound)
	}
	if old.ClientID != g.ClientID || old.Audience != g.Audience {
		// The (client, audience) index must stay valid; callers delete and recreate instead.
		return fmt.Errorf("memstore: update client grant %q: client and audience cannot change", g.ID)
	}
	s.grants[g.ID] = g.Clone()
	return nil
}

func (s *Store) DeleteClientGrant(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[id]
	if !ok {
		return fmt.Errorf("memstore: delete client grant %q: %w", id, oauth.ErrNotFound)
	}
	delete(s.grantIDs, grantKey{g.ClientID, g.Audience})
	delete(s.grants, id)
	return nil
}

// Users.

func emailKey(email string) string { return strings.ToLower(email) }

func (s *Store) User(_ context.Context, userID string) (*oauth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil, fmt.Errorf("memstore: user %q: %w", userID, oauth.ErrNotFound)
	}
	return u.Clone(), nil
}

func (s *Store) UserByEmail(_ context.Context, email string) (*oauth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.userIDs[emailKey(email)]
	if !ok {
		// The email is personal data: keep it out of the error (and logs).
		return nil, fmt.Errorf("memstore: user by email: %w", oauth.ErrNotFound)
	}
	return s.users[id].Clone(), nil
}

func (s *Store) Users(_ context.Context) ([]*oauth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.users, (*oauth.User).Clone, func(u *oauth.User) string { return u.UserID }), nil
}

func (s *Store) CreateUser(_ context.Context, u *oauth.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.UserID]; ok {
		return fmt.Errorf("memstore: create user %q: %w", u.UserID, oauth.ErrAlreadyExists)
	}
	ek := emailKey(u.Email)
	if _, ok := s.userIDs[ek]; ok {
		return fmt.Errorf("memstore: create user %q: email taken: %w", u.UserID, oauth.ErrAlreadyExists)
	}
	s.users[u.UserID] = u.Clone()
	s.userIDs[ek] = u.UserID
	return nil
}

func (s *Store) UpdateUser(_ context.Context, u *oauth.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[u.UserID]
	if !ok {
		return fmt.Errorf("memstore: update user %q: %w", u.UserID, oauth.ErrNotFound)
	}
	oldKey, newKey := emailKey(old.Email), emailKey(u.Email)
	if oldKey != newKey {
		if _, taken := s.userIDs[newKey]; taken {
			return fmt.Errorf("memstore: update user %q: email taken: %w", u.UserID, oauth.ErrAlreadyExists)
		}
		delete(s.userIDs, oldKey)
		s.userIDs[newKey] = u.UserID
	}
	s.users[u.UserID] = u.Clone()
	return nil
}

func (s *Store) DeleteUser(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return fmt.Errorf("memstore: delete user %q: %w", userID, oauth.ErrNotFound)
	}
	delete(s.userIDs, emailKey(u.Email))
	delete(s.users, userID)
	return nil
}

// Authorization codes. Hashes stay out of error messages: they identify a
// live code.

func (s *Store) CreateCode(_ context.Context, c *oauth.AuthCode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.codes[c.Hash]; ok {
		return fmt.Errorf("memstore: create code: %w", oauth.ErrAlreadyExists)
	}
	s.codes[c.Hash] = c.Clone()
	return nil
}

func (s *Store) Code(_ context.Context, hash string, now time.Time) (*oauth.AuthCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok || expired(c.ExpiresAt, now) {
		return nil, fmt.Errorf("memstore: code: %w", oauth.ErrNotFound)
	}
	return c.Clone(), nil
}

func (s *Store) RedeemCode(_ context.Context, hash string, f *oauth.Family, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok || expired(c.ExpiresAt, now) {
		return fmt.Errorf("memstore: redeem code: %w", oauth.ErrNotFound)
	}
	if c.Used {
		return fmt.Errorf("memstore: redeem code: %w", oauth.ErrConsumed)
	}
	// Check everything before writing anything: the three writes are one unit.
	if f != nil {
		if _, ok := s.families[f.ID]; ok {
			return fmt.Errorf("memstore: redeem code: family %q: %w", f.ID, oauth.ErrAlreadyExists)
		}
		if !s.revocations[f.UserID].Admits(f.CreatedAt) {
			return fmt.Errorf("memstore: redeem code: user %q: %w", f.UserID, oauth.ErrUserRevoked)
		}
		s.putFamily(f.Clone())
		c.FamilyID = f.ID
	}
	c.Used = true
	return nil
}

func (s *Store) SettleRedemption(_ context.Context, hash, familyID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok {
		return false, fmt.Errorf("memstore: settle redemption: %w", oauth.ErrNotFound)
	}
	if !c.Used || c.FamilyID != familyID {
		return false, nil
	}
	c.InDoubt = true
	return true, nil
}

// Families.

func (s *Store) putFamily(f *oauth.Family) {
	s.families[f.ID] = f
	ids := s.userFamilies[f.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.userFamilies[f.UserID] = ids
	}
	ids[f.ID] = struct{}{}
}

func (s *Store) CreateFamily(_ context.Context, f *oauth.Family) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.families[f.ID]; ok {
		return fmt.Errorf("memstore: create family %q: %w", f.ID, oauth.ErrAlreadyExists)
	}
	s.putFamily(f.Clone())
	return nil
}

func (s *Store) Family(_ context.Context, id string) (*oauth.Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	if !ok {
		return nil, fmt.Errorf("memstore: family %q: %w", id, oauth.ErrNotFound)
	}
	return f.Clone(), nil
}

func (s *Store) FamiliesByUser(_ context.Context, userID string) ([]*oauth.Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.userFamilies[userID]
	out := make([]*oauth.Family, 0, len(ids))
	for id := range ids {
		out = append(out, s.families[id].Clone())
	}
	slices.SortFunc(out, func(a, b *oauth.Family) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *Store) AdvanceFamily(_ context.Context, id string, a oauth.Advance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	switch {
	case !ok:
		return fmt.Errorf("memstore: advance family %q: %w", id, oauth.ErrNotFound)
	case f.Revoked:
		return fmt.Errorf("memstore: advance family %q: %w", id, &oauth.StaleFamilyError{Family: f.Clone(), Err: oauth.ErrRevoked})
	case !f.Active(a.Now):
		return fmt.Errorf("memstore: advance family %q: %w", id, &oauth.StaleFamilyError{Family: f.Clone(), Err: oauth.ErrExpired})
	case f.HeadHash != a.FromHash:
		return fmt.Errorf("memstore: advance family %q: %w", id, &oauth.StaleFamilyError{Family: f.Clone(), Err: oauth.ErrConsumed})
	case !s.revocations[a.UserID].Admits(a.CreatedAt):
		return fmt.Errorf("memstore: advance family %q: user %q: %w", id, a.UserID, oauth.ErrUserRevoked)
	}
	if a.ToHash != a.FromHash {
		f.PrevHash = a.FromHash
		f.RotatedAt = a.Now
		f.InDoubt = 0
	}
	f.HeadHash = a.ToHash
	f.Generation = a.Generation
	f.LastUsedAt = a.Now
	f.IdleExpiresAt = a.IdleExpiresAt
	return nil
}

func (s *Store) SettleAdvance(_ context.Context, id string, a oauth.Advance) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	if !ok {
		return false, fmt.Errorf("memstore: settle advance %q: %w", id, oauth.ErrNotFound)
	}
	if f.Revoked || f.HeadHash != a.ToHash || f.PrevHash != a.FromHash {
		return false, nil
	}
	f.InDoubt = a.Generation
	return true, nil
}

func (s *Store) RevokeFamily(_ context.Context, id, reason string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	if !ok {
		return fmt.Errorf("memstore: revoke family %q: %w", id, oauth.ErrNotFound)
	}
	if !f.Revoked {
		f.Revoked = true
		f.RevokedAt = now
		f.RevokeReason = reason
	}
	return nil
}

// User revocation markers.

func (s *Store) revocation(userID string) *oauth.UserRevocation {
	r, ok := s.revocations[userID]
	if !ok {
		r = &oauth.UserRevocation{}
		s.revocations[userID] = r
	}
	return r
}

func (s *Store) SetUserBlocked(_ context.Context, userID string, blocked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revocation(userID).Blocked = blocked
	return nil
}

func (s *Store) RevokeUserTokens(_ context.Context, userID string, notBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.revocation(userID); notBefore.After(r.NotBefore) {
		r.NotBefore = notBefore
	}
	return nil
}

func (s *Store) UserRevocation(_ context.Context, userID string) (*oauth.UserRevocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.revocations[userID]
	if !ok {
		return nil, fmt.Errorf("memstore: user revocation %q: %w", userID, oauth.ErrNotFound)
	}
	c := *r
	return &c, nil
}

// Sessions.

func (s *Store) CreateSession(_ context.Context, sess *oauth.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.Hash]; ok {
		return fmt.Errorf("memstore: create session: %w", oauth.ErrAlreadyExists)
	}
	c := *sess
	s.sessions[sess.Hash] = &c
	return nil
}

func (s *Store) Session(_ context.Context, hash string, now time.Time) (*oauth.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[hash]
	if !ok || expired(sess.ExpiresAt, now) {
		return nil, fmt.Errorf("memstore: session: %w", oauth.ErrNotFound)
	}
	c := *sess
	return &c, nil
}

func (s *Store) DeleteSession(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}

// Consents.

func (s *Store) Consent(_ context.Context, userID, clientID, audience string) (*oauth.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.consents[consentKey{userID, clientID, audience}]
	if !ok {
		return nil, fmt.Errorf("memstore: consent of %q to %q for %q: %w", userID, clientID, audience, oauth.ErrNotFound)
	}
	return c.Clone(), nil
}

func (s *Store) PutConsent(_ context.Context, c *oauth.Consent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consents[consentKey{c.UserID, c.ClientID, c.Audience}] = c.Clone()
	return nil
}

// Login throttle: a fixed window per key.

type attempts struct {
	start time.Time // the window's first attempt
	n     int
}

func (s *Store) ReserveLoginAttempt(_ context.Context, key string, now time.Time, window time.Duration, limit int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attempts[key]
	if !ok || !now.Before(a.start.Add(window)) {
		// A new window. Entries are replaced here and dropped by Clear, so
		// the map holds at most one entry per key.
		a = &attempts{start: now}
		s.attempts[key] = a
	}
	if a.n >= limit {
		return false, nil
	}
	a.n++
	return true, nil
}

func (s *Store) ReleaseLoginAttempt(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.attempts[key]; ok && a.n > 0 {
		a.n--
	}
	return nil
}

func (s *Store) ClearLoginAttempts(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.attempts, key)
	return nil
}
