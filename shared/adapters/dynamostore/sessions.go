package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// Login throttle: one item per key holding the failure times (epoch ms) in
// a list. Recording a failure is one UpdateItem that appends and returns
// the list; failures too old to count are pruned by an occasional
// conditional rewrite, so the list stays about one window long.

const (
	loginFailPrefix = "LOGINFAIL#"
	loginFailSK     = "LOGINFAIL"
	attrFailures    = "f"

	// pruneAfter is how many stale entries a list may carry before a
	// failure rewrites it.
	pruneAfter = 16
)

func loginFailKey(key string) item { return keyOf(loginFailPrefix+key, loginFailSK) }

// failureTimes reads the list of an item.
func failureTimes(it item) []int64 {
	l, _ := it[attrFailures].(*types.AttributeValueMemberL)
	if l == nil {
		return nil
	}
	out := make([]int64, 0, len(l.Value))
	for _, v := range l.Value {
		if n, ok := v.(*types.AttributeValueMemberN); ok {
			ms, _ := strconv.ParseInt(n.Value, 10, 64)
			out = append(out, ms)
		}
	}
	return out
}

// inWindow reports whether a failure at ms counts within window before now
// (both compared at millisecond precision, as stored).
func inWindow(ms int64, now time.Time, window time.Duration) bool {
	t, n := time.UnixMilli(ms), time.UnixMilli(now.UnixMilli())
	return !t.After(n) && n.Sub(t) < window
}

func countInWindow(times []int64, now time.Time, window time.Duration) int {
	c := 0
	for _, ms := range times {
		if inWindow(ms, now, window) {
			c++
		}
	}
	return c
}

func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              loginFailKey(key),
		UpdateExpression: new("SET f = list_append(if_not_exists(f, :empty), :one), expiresAt = :ttl"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			":one":   &types.AttributeValueMemberL{Value: []types.AttributeValue{vN(now.UnixMilli())}},
			":ttl":   vN(ttl(now.Add(window))),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return 0, wrap("record login failure", err)
	}
	times := failureTimes(out.Attributes)
	var kept []types.AttributeValue
	for _, ms := range times {
		// Keep future entries too, like memstore: only the past ages out.
		if t := time.UnixMilli(ms); t.After(now) || now.Sub(t) < window {
			kept = append(kept, vN(ms))
		}
	}
	if stale := len(times) - len(kept); stale >= pruneAfter {
		// Best effort: the list only grows between rewrites, so an
		// unchanged size means an unchanged list.
		_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           &s.table,
			Key:                 loginFailKey(key),
			UpdateExpression:    new("SET f = :kept"),
			ConditionExpression: new("size(f) = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":kept": &types.AttributeValueMemberL{Value: append([]types.AttributeValue{}, kept...)},
				":n":    vN(int64(len(times))),
			},
		})
		if _, lost := conditionFailed(err); err != nil && !lost {
			return 0, wrap("prune login failures", err)
		}
	}
	return countInWindow(times, now, window), nil
}

func (s *Store) LoginFailures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	it, err := s.get(ctx, "login failures", loginFailKey(key))
	if errors.Is(err, oauth.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return countInWindow(failureTimes(it), now, window), nil
}

func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	return s.del(ctx, "clear login failures", loginFailKey(key), "")
}
