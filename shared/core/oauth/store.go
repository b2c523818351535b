package oauth

import (
	"context"
	"time"
)

// The store contracts, split by role so each handler names only what it
// uses. Every method returns the sentinels of errors.go (wrapped), never
// (nil, nil). Methods that read time-limited items take now and treat an
// expired item as ErrNotFound: a TTL deletion may lag behind.
//
// Returned values are copies: callers may modify them freely.

// ClientStore holds applications.
type ClientStore interface {
	Client(ctx context.Context, clientID string) (*Client, error) // ErrNotFound
	Clients(ctx context.Context) ([]*Client, error)               // sorted by ClientID
	CreateClient(ctx context.Context, c *Client) error            // ErrAlreadyExists
	UpdateClient(ctx context.Context, c *Client) error            // replaces; ErrNotFound
	DeleteClient(ctx context.Context, clientID string) error      // ErrNotFound
}

// FreshClientReader is implemented by stores that cache clients: FreshClient
// reads the client from the store behind the cache (and refreshes the
// cache with it), at most about once a second per client; otherwise it
// answers as Client does. The token endpoint asks it before refusing a
// secret that does not match a possibly stale cached client, so a secret
// rotation never causes false rejections on another instance.
type FreshClientReader interface {
	FreshClient(ctx context.Context, clientID string) (*Client, error)
}

// ResourceServerStore holds APIs, keyed by Identifier (the audience).
type ResourceServerStore interface {
	ResourceServer(ctx context.Context, identifier string) (*ResourceServer, error) // ErrNotFound
	ResourceServers(ctx context.Context) ([]*ResourceServer, error)                 // sorted by Identifier
	CreateResourceServer(ctx context.Context, rs *ResourceServer) error             // ErrAlreadyExists
	UpdateResourceServer(ctx context.Context, rs *ResourceServer) error             // ErrNotFound
	DeleteResourceServer(ctx context.Context, identifier string) error              // ErrNotFound
}

// ClientGrantStore holds client-credentials grants, keyed by ID; at most one
// per (ClientID, Audience).
type ClientGrantStore interface {
	// ClientGrantFor returns the grant of clientID for audience; ErrNotFound.
	ClientGrantFor(ctx context.Context, clientID, audience string) (*ClientGrant, error)
	ClientGrant(ctx context.Context, id string) (*ClientGrant, error) // ErrNotFound
	ClientGrants(ctx context.Context) ([]*ClientGrant, error)         // sorted by ID
	CreateClientGrant(ctx context.Context, g *ClientGrant) error      // ErrAlreadyExists (same ID or same client+audience)
	UpdateClientGrant(ctx context.Context, g *ClientGrant) error      // ErrNotFound; client and audience must not change
	DeleteClientGrant(ctx context.Context, id string) error           // ErrNotFound
}

// UserStore holds users. Emails are unique, compared case-insensitively.
type UserStore interface {
	User(ctx context.Context, userID string) (*User, error)       // ErrNotFound
	UserByEmail(ctx context.Context, email string) (*User, error) // ErrNotFound
	Users(ctx context.Context) ([]*User, error)                   // sorted by UserID
	CreateUser(ctx context.Context, u *User) error                // ErrAlreadyExists (ID or email)
	UpdateUser(ctx context.Context, u *User) error                // ErrNotFound; email may change if still unique (else ErrAlreadyExists)
	DeleteUser(ctx context.Context, userID string) error          // ErrNotFound
}

// CodeStore holds authorization codes.
type CodeStore interface {
	CreateCode(ctx context.Context, c *AuthCode) error // keyed by c.Hash; ErrAlreadyExists
	// Code returns the code (used or not) so that client, redirect_uri and
	// PKCE are checked before it is consumed. ErrNotFound if unknown or
	// expired at now.
	Code(ctx context.Context, hash string, now time.Time) (*AuthCode, error)
	// RedeemCode atomically marks the code used, records familyID on it, and
	// creates f when f is not nil (f.ID == familyID). ErrConsumed if the code
	// was already used (nothing is written); ErrNotFound if unknown or expired;
	// ErrUserRevoked if f's user revocation marker does not admit f
	// (UserRevocation.Admits(f.CreatedAt); nothing is written).
	RedeemCode(ctx context.Context, hash string, f *Family, now time.Time) error
	// SettleRedemption decides a RedeemCode whose outcome the store could
	// not report (ErrUnavailable): applied is true if the code is used and
	// names familyID, and then the code is marked InDoubt. Nothing is
	// written otherwise. ErrNotFound if the code is unknown.
	SettleRedemption(ctx context.Context, hash, familyID string) (applied bool, err error)
}

// FamilyStore holds refresh-token families. Refresh tokens themselves are
// not stored: a family records the hash of its head and of the head's
// immediate predecessor.
type FamilyStore interface {
	CreateFamily(ctx context.Context, f *Family) error      // ErrAlreadyExists
	Family(ctx context.Context, id string) (*Family, error) // ErrNotFound; revoked or expired families are returned too
	// FamiliesByUser lists a user's families sorted by CreatedAt, then ID.
	// It may read an eventually consistent index: a family created a
	// moment ago may be missing, and a revocation may not show yet. Callers
	// that must see every family (revoking a user's tokens) rely on
	// RevokeFamily being idempotent and on refreshes re-reading the family.
	FamiliesByUser(ctx context.Context, userID string) ([]*Family, error)
	// AdvanceFamily atomically sets HeadHash = a.ToHash, Generation,
	// LastUsedAt = a.Now, IdleExpiresAt, and, when a.ToHash != a.FromHash,
	// PrevHash = a.FromHash, RotatedAt = a.Now and InDoubt = 0; only if the family is not
	// revoked, is Active at a.Now, HeadHash == a.FromHash and the
	// revocation marker of a.UserID admits a.CreatedAt. A family that
	// does not admit it is a *StaleFamilyError holding the family, wrapping
	// ErrRevoked if revoked, ErrExpired if expired, ErrConsumed if the head
	// has moved; ErrNotFound if unknown, ErrUserRevoked if the user's marker
	// does not admit the family. Nothing is written on error.
	AdvanceFamily(ctx context.Context, id string, a Advance) error
	// SettleAdvance decides a rotating AdvanceFamily whose outcome the
	// store could not report (ErrUnavailable): applied is true if the
	// family is not revoked, its head is a.ToHash and its previous head
	// a.FromHash, and then InDoubt is set to a.Generation. Nothing is
	// written otherwise. ErrNotFound if the family is unknown.
	SettleAdvance(ctx context.Context, id string, a Advance) (applied bool, err error)
	// RevokeFamily marks the family revoked; idempotent (a revoked family
	// keeps its first RevokedAt and reason). ErrNotFound if unknown.
	RevokeFamily(ctx context.Context, id, reason string, now time.Time) error
	// The user revocation markers that AdvanceFamily and RedeemCode check.
	UserRevocationStore
}

// UserRevocationStore holds the per-user revocation markers
// (UserRevocation). Markers outlive their users: a deleted user's
// families stay refused.
type UserRevocationStore interface {
	// SetUserBlocked sets the marker's Blocked; idempotent.
	SetUserBlocked(ctx context.Context, userID string, blocked bool) error
	// RevokeUserTokens moves the marker's NotBefore to notBefore (families
	// created at or before it are dead); an earlier
	// notBefore than the one recorded changes nothing.
	RevokeUserTokens(ctx context.Context, userID string, notBefore time.Time) error
	// UserRevocation returns the marker; ErrNotFound if there is none.
	UserRevocation(ctx context.Context, userID string) (*UserRevocation, error)
}

// SessionStore holds browser sessions of the login page.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error                       // ErrAlreadyExists
	Session(ctx context.Context, hash string, now time.Time) (*Session, error) // ErrNotFound if unknown or expired
	DeleteSession(ctx context.Context, hash string) error                      // idempotent
}

// ConsentStore remembers consent decisions per user, client and audience.
type ConsentStore interface {
	Consent(ctx context.Context, userID, clientID, audience string) (*Consent, error) // ErrNotFound
	PutConsent(ctx context.Context, c *Consent) error                                 // creates or replaces
}

// LoginThrottle counts sign-in attempts per key in fixed windows: a key's
// window starts with its first attempt after the previous window ended and
// lasts window; a window of key K counts at most limit attempts. Attempts
// are reserved before the password is checked, atomically, so that no
// number of concurrent requests gets more than limit passwords checked per
// window.
type LoginThrottle interface {
	// ReserveLoginAttempt counts one attempt for key at now unless limit
	// attempts were already counted in key's current window; ok reports
	// whether it was counted.
	ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (ok bool, err error)
	// ReleaseLoginAttempt uncounts one attempt of key's current window
	// (never below zero; nothing if there is none).
	ReleaseLoginAttempt(ctx context.Context, key string) error
	// ClearLoginAttempts forgets key.
	ClearLoginAttempts(ctx context.Context, key string) error
}

// Store is everything an adapter implements.
type Store interface {
	ClientStore
	ResourceServerStore
	ClientGrantStore
	UserStore
	CodeStore
	FamilyStore
	SessionStore
	ConsentStore
	LoginThrottle
}
