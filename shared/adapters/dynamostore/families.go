package dynamostore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A family item is the single serialization point of a refresh-token
// chain: every exchange and every revocation is one
// conditional write on it.
const (
	famPrefix = "FAM#"
	famSK     = "FAM"

	famID            = "id"
	famClient        = "c"
	famUser          = "u"
	famAudience      = "a"
	famScopes        = "s"
	famAuthTime      = "at"
	famCreatedAt     = "ca"
	famExpiresAt     = "xa" // absolute expiry
	famIdleExpiresAt = "xi"
	famGeneration    = "g"
	famHead          = "h"
	famPrev          = "p"
	famRotatedAt     = "ra"
	famInDoubt       = "dq" // absent when no head's delivery is in doubt
	famLastUsedAt    = "lu"
	famRevoked       = "r" // always present, so conditions can test r = false
	famRevokedAt     = "rv"
	famRevokeReason  = "rr"
	famDPoPJKT       = "jkt" // absent when the family is not bound to a DPoP key
	famAbsTTL        = "ta"  // TTL for the absolute expiry; present only when there is one
)

// familyTTLMargin keeps a dead family readable for a day (diagnostics,
// replay classification) before DynamoDB may delete it.
const familyTTLMargin = 24 * time.Hour

// neverTTL is a TTL value DynamoDB never reaches (9999-12-31).
const neverTTL = 253402300799

func familyKey(id string) item { return keyOf(famPrefix+id, famSK) }

func familyItem(f *oauth.Family) item {
	it := familyKey(f.ID)
	it.setS(famID, f.ID)
	it.setS(famClient, f.ClientID)
	it.setS(famUser, f.UserID)
	it.setS(famAudience, f.Audience)
	it.setL(famScopes, f.Scopes)
	it.setT(famAuthTime, f.AuthTime)
	it.setT(famCreatedAt, f.CreatedAt)
	it.setT(famExpiresAt, f.ExpiresAt)
	it.setT(famIdleExpiresAt, f.IdleExpiresAt)
	it.setN(famGeneration, int64(f.Generation))
	it.setS(famHead, f.HeadHash)
	it.setS(famPrev, f.PrevHash)
	it.setT(famRotatedAt, f.RotatedAt)
	if f.InDoubt != 0 {
		it.setN(famInDoubt, int64(f.InDoubt))
	}
	it.setT(famLastUsedAt, f.LastUsedAt)
	it.setB(famRevoked, f.Revoked)
	it.setT(famRevokedAt, f.RevokedAt)
	it.setS(famRevokeReason, f.RevokeReason)
	it.setS(famDPoPJKT, f.DPoPJKT)
	it.setS(attrGSI1PK, "USER#"+f.UserID)
	it.setS(attrGSI1SK, fmt.Sprintf("%015d#%s", max(f.CreatedAt.UnixMilli(), 0), f.ID))
	if !f.ExpiresAt.IsZero() {
		it.setN(famAbsTTL, ttl(f.ExpiresAt.Add(familyTTLMargin)))
	}
	// The family is dead at the earlier of its two expiries; TTL only
	// needs to be no earlier than that.
	if dead := earliest(f.ExpiresAt, f.IdleExpiresAt); !dead.IsZero() {
		it.setN(attrTTL, ttl(dead.Add(familyTTLMargin)))
	}
	return it
}

// earliest returns the earlier of two expiries, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

func familyFrom(it item) *oauth.Family {
	return &oauth.Family{
		ID:            it.s(famID),
		ClientID:      it.s(famClient),
		UserID:        it.s(famUser),
		Audience:      it.s(famAudience),
		Scopes:        it.l(famScopes),
		AuthTime:      it.t(famAuthTime),
		CreatedAt:     it.t(famCreatedAt),
		ExpiresAt:     it.t(famExpiresAt),
		IdleExpiresAt: it.t(famIdleExpiresAt),
		Generation:    int(it.n(famGeneration)),
		HeadHash:      it.s(famHead),
		PrevHash:      it.s(famPrev),
		RotatedAt:     it.t(famRotatedAt),
		InDoubt:       int(it.n(famInDoubt)),
		LastUsedAt:    it.t(famLastUsedAt),
		Revoked:       it.b(famRevoked),
		RevokedAt:     it.t(famRevokedAt),
		RevokeReason:  it.s(famRevokeReason),
		DPoPJKT:       it.s(famDPoPJKT),
	}
}

func (s *Store) CreateFamily(ctx context.Context, f *oauth.Family) error {
	err := s.put(ctx, "create family", familyItem(f), "attribute_not_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: create family %q: %w", f.ID, oauth.ErrAlreadyExists)
	}
	return err
}

func (s *Store) Family(ctx context.Context, id string) (*oauth.Family, error) {
	it, err := s.get(ctx, "family", familyKey(id))
	if err != nil {
		return nil, err
	}
	return familyFrom(it), nil
}

// FamiliesByUser queries GSI1, which is eventually consistent: a family
// created a moment ago may be missing from the result.
func (s *Store) FamiliesByUser(ctx context.Context, userID string) ([]*oauth.Family, error) {
	items, err := s.query(ctx, "families by user", indexGSI1, attrGSI1PK, "USER#"+userID)
	if err != nil {
		return nil, err
	}
	out := make([]*oauth.Family, 0, len(items))
	for _, it := range items {
		out = append(out, familyFrom(it))
	}
	// The index is sorted by millisecond; keep the contract's order exact.
	slices.SortStableFunc(out, func(a, b *oauth.Family) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// AdvanceFamily is one TransactWriteItems: a ConditionCheck on the user's
// revocation marker and the conditional update of the family. On a failed
// condition DynamoDB returns the old family item in the cancellation
// reasons (ReturnValuesOnConditionCheckFailure), so telling unknown,
// revoked and consumed apart costs no second read.
func (s *Store) AdvanceFamily(ctx context.Context, id string, a oauth.Advance) error {
	mark := s.marker()
	set := []string{"h = :to", "g = :g", "lu = :now", "w = :w"}
	var remove []string
	values := map[string]types.AttributeValue{
		":to":    vS(a.ToHash),
		":from":  vS(a.FromHash),
		":g":     vN(int64(a.Generation)),
		":now":   vN(a.Now.UnixMilli()),
		":w":     vS(mark),
		":false": vB(false),
	}
	if a.ToHash != a.FromHash {
		set = append(set, "p = :from", "ra = :now")
		remove = append(remove, famInDoubt)
	}
	if a.IdleExpiresAt.IsZero() {
		// No idle expiry any more: the absolute one (if any) bounds the TTL.
		remove = append(remove, famIdleExpiresAt)
		set = append(set, "expiresAt = if_not_exists(ta, :never)")
		values[":never"] = vN(neverTTL)
	} else {
		// The idle expiry is no earlier than the family's death, so it is a
		// safe TTL whatever the absolute expiry is.
		set = append(set, "xi = :xi", "expiresAt = :ttl")
		values[":xi"] = vN(a.IdleExpiresAt.UnixMilli())
		values[":ttl"] = vN(ttl(a.IdleExpiresAt.Add(familyTTLMargin)))
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	// Active at a.Now (oauth.Family.Active): both expiries, when present,
	// lie after it.
	fam := s.conditionalUpdate(familyKey(id), update,
		"attribute_exists(PK) AND r = :false AND h = :from AND (attribute_not_exists(xi) OR xi > :now) AND (attribute_not_exists(xa) OR xa > :now)", values)
	reasons, err := s.transact(ctx, "advance family", func() []types.TransactWriteItem {
		return []types.TransactWriteItem{fam.transactItem(), s.revocationCheck(a.UserID, a.CreatedAt)}
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, errCondition) {
		return err
	}
	old, famFailed := reasonFailed(reasons, 0)
	_, userFailed := reasonFailed(reasons, 1)
	var found *oauth.Family
	if famFailed && len(old) > 0 {
		found = familyFrom(old)
	}
	stale := func(err error) error {
		return fmt.Errorf("dynamostore: advance family %q: %w", id, &oauth.StaleFamilyError{Family: found, Err: err})
	}
	switch {
	case famFailed && found == nil:
		return fmt.Errorf("dynamostore: advance family %q: %w", id, oauth.ErrNotFound)
	case famFailed && found.Revoked:
		return stale(oauth.ErrRevoked)
	case famFailed && old.s(attrMarker) == mark && found.HeadHash == a.ToHash:
		// A retry of this very call: the first attempt was applied and its
		// response lost.
		return nil
	case famFailed && !found.Active(a.Now):
		return stale(oauth.ErrExpired)
	case famFailed:
		return stale(oauth.ErrConsumed)
	case userFailed:
		return fmt.Errorf("dynamostore: advance family %q: %w", id, oauth.ErrUserRevoked)
	default:
		return fmt.Errorf("dynamostore: advance family %q: cancelled without a reason", id)
	}
}

// SettleAdvance is one conditional UpdateItem: it marks the head in doubt
// where the rotation a is the family's last. A retry of it that finds its
// own first attempt applied simply applies again.
func (s *Store) SettleAdvance(ctx context.Context, id string, a oauth.Advance) (bool, error) {
	values := map[string]types.AttributeValue{
		":to":    vS(a.ToHash),
		":from":  vS(a.FromHash),
		":g":     vN(int64(a.Generation)),
		":false": vB(false),
	}
	return s.settle(ctx, "settle advance", s.conditionalUpdate(familyKey(id), "SET dq = :g",
		"attribute_exists(PK) AND r = :false AND h = :to AND p = :from", values))
}

// settle runs a settle's conditional update: applied if its condition
// held, ErrNotFound if there is no item.
func (s *Store) settle(ctx context.Context, op string, u *condUpdate) (bool, error) {
	old, failed, err := s.updateIf(ctx, op, u)
	switch {
	case err != nil:
		return false, err
	case failed && len(old) == 0:
		return false, fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrNotFound)
	default:
		return !failed, nil
	}
}

// RevokeFamily is one conditional UpdateItem; revoking a revoked family
// keeps the first RevokedAt and reason. The TTL moves to a day after the
// revocation: nothing can revive the family.
func (s *Store) RevokeFamily(ctx context.Context, id, reason string, now time.Time) error {
	values := map[string]types.AttributeValue{
		":true":  vB(true),
		":false": vB(false),
		":now":   vN(now.UnixMilli()),
		":ttl":   vN(ttl(now.Add(familyTTLMargin))),
	}
	update := "SET r = :true, rv = :now, expiresAt = :ttl"
	if reason != "" {
		update += ", rr = :reason"
		values[":reason"] = vS(reason)
	}
	old, failed, err := s.updateIf(ctx, "revoke family", s.conditionalUpdate(familyKey(id), update, "attribute_exists(PK) AND r = :false", values))
	switch {
	case err != nil:
		return err
	case !failed:
		return nil
	case len(old) == 0:
		return fmt.Errorf("dynamostore: revoke family %q: %w", id, oauth.ErrNotFound)
	default:
		return nil // already revoked
	}
}
