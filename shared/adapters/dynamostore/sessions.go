package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Sessions.

const (
	sessionPrefix = "SESSION#"
	sessionSK     = "SESSION"

	sessUser      = "u"
	sessAuthTime  = "at"
	sessExpiresAt = "x"
)

func sessionKey(hash string) item { return keyOf(sessionPrefix+hash, sessionSK) }

func sessionItem(sess *oauth.Session) item {
	it := sessionKey(sess.Hash)
	it.setS(sessUser, sess.UserID)
	it.setT(sessAuthTime, sess.AuthTime)
	it.setT(sessExpiresAt, sess.ExpiresAt)
	if !sess.ExpiresAt.IsZero() {
		it.setN(attrTTL, ttl(sess.ExpiresAt))
	}
	return it
}

func sessionFrom(hash string, it item) *oauth.Session {
	return &oauth.Session{
		Hash:      hash,
		UserID:    it.s(sessUser),
		AuthTime:  it.t(sessAuthTime),
		ExpiresAt: it.t(sessExpiresAt),
	}
}

func (s *Store) CreateSession(ctx context.Context, sess *oauth.Session) error {
	err := s.put(ctx, "create session", sessionItem(sess), "attribute_not_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: create session: %w", oauth.ErrAlreadyExists)
	}
	return err
}

func (s *Store) Session(ctx context.Context, hash string, now time.Time) (*oauth.Session, error) {
	it, err := s.get(ctx, "session", sessionKey(hash))
	if err != nil {
		return nil, err
	}
	sess := sessionFrom(hash, it)
	if expired(sess.ExpiresAt, now) {
		return nil, fmt.Errorf("dynamostore: session: %w", oauth.ErrNotFound)
	}
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.del(ctx, "delete session", sessionKey(hash), "")
}

// Consents.

const (
	consentPrefix = "CONSENT#"

	consUser      = "u"
	consClient    = "c"
	consAudience  = "a"
	consScopes    = "s"
	consGrantedAt = "g"
)

func consentKey(userID, clientID, audience string) item {
	return keyOf(consentPrefix+userID, joinKey(clientID, audience))
}

func (s *Store) Consent(ctx context.Context, userID, clientID, audience string) (*oauth.Consent, error) {
	it, err := s.get(ctx, "consent", consentKey(userID, clientID, audience))
	if err != nil {
		return nil, err
	}
	return consentFrom(it), nil
}

func consentItem(c *oauth.Consent) item {
	it := consentKey(c.UserID, c.ClientID, c.Audience)
	it.setS(consUser, c.UserID)
	it.setS(consClient, c.ClientID)
	it.setS(consAudience, c.Audience)
	it.setL(consScopes, c.Scopes)
	it.setT(consGrantedAt, c.GrantedAt)
	return it
}

func consentFrom(it item) *oauth.Consent {
	return &oauth.Consent{
		UserID:    it.s(consUser),
		ClientID:  it.s(consClient),
		Audience:  it.s(consAudience),
		Scopes:    it.l(consScopes),
		GrantedAt: it.t(consGrantedAt),
	}
}

func (s *Store) PutConsent(ctx context.Context, c *oauth.Consent) error {
	return s.put(ctx, "put consent", consentItem(c), "")
}

// Login throttle: one item per key holding the current window's start
// (epoch ms) and its count. Reserving an attempt is one conditional
// UpdateItem in the common case: count up if the window is current and
// below the limit; only the first attempt of a new window takes a second
// write, which starts it.

const (
	loginPrefix = "LOGIN#"
	loginSK     = "LOGIN"
	// Attributes: n (count), ws (window start, epoch ms).
	reserveAttempts = 3
)

func loginKey(key string) item { return keyOf(loginPrefix+key, loginSK) }

func (s *Store) ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	cutoffMs := now.Add(-window).UnixMilli() // the window is current while ws > cutoff
	cutoff := vN(cutoffMs)
	for range reserveAttempts {
		old, failed, err := s.updateIf(ctx, "reserve login attempt", s.conditionalUpdate(loginKey(key),
			"SET n = n + :one", "ws > :cutoff AND n < :limit",
			item{":one": vN(1), ":cutoff": cutoff, ":limit": vN(int64(limit))}))
		switch {
		case err != nil:
			return false, err
		case !failed:
			return true, nil
		case len(old) != 0 && old.n("ws") > cutoffMs:
			return false, nil // the current window is full
		}
		// No window, or an ended one: start a new one with this attempt.
		_, failed, err = s.updateIf(ctx, "reserve login attempt", s.conditionalUpdate(loginKey(key),
			"SET n = :one, ws = :now, expiresAt = :ttl", "attribute_not_exists(PK) OR ws <= :cutoff",
			item{":one": vN(1), ":now": vN(now.UnixMilli()), ":cutoff": cutoff, ":ttl": vN(ttl(now.Add(window)))}))
		switch {
		case err != nil:
			return false, err
		case !failed:
			return true, nil
		}
		// Another request started the new window first: count in it.
	}
	return false, fmt.Errorf("dynamostore: reserve login attempt: %w: concurrent windows", oauth.ErrUnavailable)
}

func (s *Store) ReleaseLoginAttempt(ctx context.Context, key string) error {
	_, _, err := s.updateIf(ctx, "release login attempt", s.conditionalUpdate(loginKey(key),
		"SET n = n - :one", "n > :zero", item{":one": vN(1), ":zero": vN(0)}))
	return err
}

func (s *Store) ClearLoginAttempts(ctx context.Context, key string) error {
	return s.del(ctx, "clear login attempts", loginKey(key), "")
}
