package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A user revocation marker (oauth.UserRevocation) is its own item in the
// user's own partition, so the ConditionCheck that every family advance
// and every family creation puts on it never meets the admin API's writes
// to other users. Both attributes are always present once the item exists,
// so the condition needs no attribute_not_exists on them.
const (
	urevPrefix    = "UREV#"
	urevSK        = "UREV"
	urevBlocked   = "b"
	urevNotBefore = "nb" // epoch milliseconds; 0 for none
)

func revocationKey(userID string) item { return keyOf(urevPrefix+userID, urevSK) }

// admitsCondition is oauth.UserRevocation.Admits(:ca) on the marker item.
const admitsCondition = "attribute_not_exists(PK) OR (b = :false AND (nb = :zero OR nb < :ca))"

// revocationCheck is the ConditionCheck on userID's marker that admits a
// family created at createdAt.
func (s *Store) revocationCheck(userID string, createdAt time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:           &s.table,
		Key:                 revocationKey(userID),
		ConditionExpression: new(admitsCondition),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":false": vB(false),
			":zero":  vN(0),
			":ca":    vN(max(createdAt.UnixMilli(), 0)),
		},
	}}
}

func (s *Store) SetUserBlocked(ctx context.Context, userID string, blocked bool) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       revocationKey(userID),
		UpdateExpression:          new("SET b = :b, nb = if_not_exists(nb, :zero)"),
		ExpressionAttributeValues: item{":b": vB(blocked), ":zero": vN(0)},
	})
	if err != nil {
		return wrap("set user blocked", err)
	}
	return nil
}

func (s *Store) RevokeUserTokens(ctx context.Context, userID string, notBefore time.Time) error {
	// A failed condition means a later notBefore is recorded: nothing to do.
	_, _, err := s.updateIf(ctx, "revoke user tokens", s.conditionalUpdate(revocationKey(userID),
		"SET nb = :nb, b = if_not_exists(b, :false)", "attribute_not_exists(nb) OR nb < :nb",
		item{":nb": vN(max(notBefore.UnixMilli(), 0)), ":false": vB(false)}))
	return err
}

func (s *Store) UserRevocation(ctx context.Context, userID string) (*oauth.UserRevocation, error) {
	it, err := s.get(ctx, "user revocation", revocationKey(userID))
	if err != nil {
		return nil, err
	}
	r := &oauth.UserRevocation{Blocked: it.b(urevBlocked)}
	if nb := it.n(urevNotBefore); nb > 0 {
		r.NotBefore = time.UnixMilli(nb).UTC()
	}
	return r, nil
}
