package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

const (
	codePrefix = "CODE#"
	codeSK     = "CODE"

	codeClient        = "c"
	codeRedirectURI   = "ru"
	codeChallenge     = "cc"
	codeChallengeMeth = "cm"
	codeAudience      = "a"
	codeScopes        = "s"
	codeNonce         = "n"
	codeUser          = "u"
	codeAuthTime      = "at"
	codeExpiresAt     = "x"
	codeUsed          = "d" // always present, so conditions can test d = false
	codeFamily        = "f"
	codeInDoubt       = "dq"  // absent unless SettleRedemption marked it
	codeDPoPJKT       = "jkt" // absent without dpop_jkt
)

func codeKey(hash string) item { return keyOf(codePrefix+hash, codeSK) }

func codeItem(c *oauth.AuthCode) item {
	it := codeKey(c.Hash)
	it.setS(codeClient, c.ClientID)
	it.setS(codeRedirectURI, c.RedirectURI)
	it.setS(codeChallenge, c.CodeChallenge)
	it.setS(codeChallengeMeth, c.CodeChallengeMethod)
	it.setS(codeAudience, c.Audience)
	it.setL(codeScopes, c.Scopes)
	it.setS(codeNonce, c.Nonce)
	it.setS(codeUser, c.UserID)
	it.setT(codeAuthTime, c.AuthTime)
	it.setT(codeExpiresAt, c.ExpiresAt)
	it.setB(codeUsed, c.Used)
	it.setS(codeFamily, c.FamilyID)
	if c.InDoubt {
		it.setB(codeInDoubt, true)
	}
	it.setS(codeDPoPJKT, c.DPoPJKT)
	if !c.ExpiresAt.IsZero() {
		it.setN(attrTTL, ttl(c.ExpiresAt))
	}
	return it
}

func codeFrom(hash string, it item) *oauth.AuthCode {
	return &oauth.AuthCode{
		Hash:                hash,
		ClientID:            it.s(codeClient),
		RedirectURI:         it.s(codeRedirectURI),
		CodeChallenge:       it.s(codeChallenge),
		CodeChallengeMethod: it.s(codeChallengeMeth),
		Audience:            it.s(codeAudience),
		Scopes:              it.l(codeScopes),
		Nonce:               it.s(codeNonce),
		UserID:              it.s(codeUser),
		AuthTime:            it.t(codeAuthTime),
		ExpiresAt:           it.t(codeExpiresAt),
		Used:                it.b(codeUsed),
		FamilyID:            it.s(codeFamily),
		InDoubt:             it.b(codeInDoubt),
		DPoPJKT:             it.s(codeDPoPJKT),
	}
}

func (s *Store) CreateCode(ctx context.Context, c *oauth.AuthCode) error {
	err := s.put(ctx, "create code", codeItem(c), "attribute_not_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: create code: %w", oauth.ErrAlreadyExists)
	}
	return err
}

func (s *Store) Code(ctx context.Context, hash string, now time.Time) (*oauth.AuthCode, error) {
	it, err := s.get(ctx, "code", codeKey(hash))
	if err != nil {
		return nil, err
	}
	c := codeFrom(hash, it)
	if expired(c.ExpiresAt, now) {
		return nil, fmt.Errorf("dynamostore: code: %w", oauth.ErrNotFound)
	}
	return c, nil
}

// RedeemCode marks the code used and creates the family in one
// TransactWriteItems (one UpdateItem when there is no family). The code's
// old item comes back with a failed condition, so the outcome is known
// without another read.
func (s *Store) RedeemCode(ctx context.Context, hash string, f *oauth.Family, now time.Time) error {
	mark := s.marker()
	update := "SET d = :true, w = :w"
	values := map[string]types.AttributeValue{
		":true":  vB(true),
		":false": vB(false),
		":now":   vN(now.UnixMilli()),
		":w":     vS(mark),
	}
	if f != nil {
		update += ", f = :f"
		values[":f"] = vS(f.ID)
	}
	cond := "attribute_exists(PK) AND d = :false AND (attribute_not_exists(x) OR x > :now)"

	var codeOld item
	var codeFailed, famFailed, userFailed bool
	code := s.conditionalUpdate(codeKey(hash), update, cond, values)
	if f == nil {
		var err error
		if codeOld, codeFailed, err = s.updateIf(ctx, "redeem code", code); err != nil {
			return err
		}
		if !codeFailed {
			return nil
		}
	} else {
		reasons, err := s.transact(ctx, "redeem code", func() []types.TransactWriteItem {
			return []types.TransactWriteItem{
				code.transactItem(),
				{Put: &types.Put{
					TableName:           &s.table,
					Item:                familyItem(f),
					ConditionExpression: new("attribute_not_exists(PK)"),
				}},
				s.revocationCheck(f.UserID, f.CreatedAt),
			}
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, errCondition) {
			return err
		}
		codeOld, codeFailed = reasonFailed(reasons, 0)
		_, famFailed = reasonFailed(reasons, 1)
		_, userFailed = reasonFailed(reasons, 2)
	}

	switch {
	case codeFailed && (len(codeOld) == 0 || expired(codeOld.t(codeExpiresAt), now)):
		return fmt.Errorf("dynamostore: redeem code: %w", oauth.ErrNotFound)
	case codeFailed && codeOld.s(attrMarker) == mark:
		// An SDK retry of this very call found its own first attempt
		// applied (the transaction is all-or-nothing, so the family is
		// there too).
		return nil
	case codeFailed:
		return fmt.Errorf("dynamostore: redeem code: %w", oauth.ErrConsumed)
	case famFailed:
		return fmt.Errorf("dynamostore: redeem code: family %q: %w", f.ID, oauth.ErrAlreadyExists)
	case userFailed:
		return fmt.Errorf("dynamostore: redeem code: user %q: %w", f.UserID, oauth.ErrUserRevoked)
	default:
		return fmt.Errorf("dynamostore: redeem code: cancelled without a reason")
	}
}

// SettleRedemption is one conditional UpdateItem, idempotent like
// SettleAdvance.
func (s *Store) SettleRedemption(ctx context.Context, hash, familyID string) (bool, error) {
	values := map[string]types.AttributeValue{":true": vB(true), ":f": vS(familyID)}
	return s.settle(ctx, "settle redemption", s.conditionalUpdate(codeKey(hash), "SET dq = :true",
		"attribute_exists(PK) AND d = :true AND f = :f", values))
}
