package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Users are USER/userID items; each email owns an EMAIL/lower(email) item
// naming its user, written in the same transaction as the user, which is
// what keeps emails unique (a GSI could not: it is neither unique nor
// strongly consistent). Emails are personal data: they stay out of errors.

const (
	pkUsers       = "USER"
	pkEmails      = "EMAIL"
	attrPassword  = "ph" // User.PasswordHash
	attrEmailKey  = "el" // lower-cased email, for conditions
	attrEmailUser = "u"  // on EMAIL items: the user ID
)

func emailKey(email string) string { return strings.ToLower(email) }

func userItem(u *oauth.User) (item, error) { return userRecord(u), nil }

func emailItem(u *oauth.User) item {
	it := keyOf(pkEmails, emailKey(u.Email))
	it.setS(attrEmailUser, u.UserID)
	return it
}

func userFrom(it item) (*oauth.User, error) { return userFromRecord(it) }

func (s *Store) User(ctx context.Context, userID string) (*oauth.User, error) {
	it, err := s.get(ctx, "user", keyOf(pkUsers, userID))
	if err != nil {
		return nil, err
	}
	return userFrom(it)
}

func (s *Store) UserByEmail(ctx context.Context, email string) (*oauth.User, error) {
	it, err := s.get(ctx, "user by email", keyOf(pkEmails, emailKey(email)))
	if err != nil {
		return nil, err
	}
	return s.User(ctx, it.s(attrEmailUser))
}

func (s *Store) Users(ctx context.Context) ([]*oauth.User, error) {
	return list(ctx, s, "users", pkUsers, userFrom)
}

func (s *Store) CreateUser(ctx context.Context, u *oauth.User) error {
	op := "create user " + u.UserID
	it, err := userItem(u)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	_, err = s.transact(ctx, op, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: it, ConditionExpression: new("attribute_not_exists(PK)")}},
			{Put: &types.Put{TableName: &s.table, Item: emailItem(u), ConditionExpression: new("attribute_not_exists(PK)")}},
		}
	})
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: id or email taken: %w", op, oauth.ErrAlreadyExists)
	}
	return err
}

// sameEmail is the condition that a user item still has the email of :el.
const sameEmail = "attribute_exists(PK) AND el = :el"

// UpdateUser reads the user to learn its current email and then writes
// under the condition that the email has not changed meanwhile, retrying
// a few times if it has.
func (s *Store) UpdateUser(ctx context.Context, u *oauth.User) error {
	op := "update user " + u.UserID
	it, err := userItem(u)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	for range transactAttempts {
		old, err := s.User(ctx, u.UserID)
		if err != nil {
			return err
		}
		oldKey := map[string]types.AttributeValue{":el": vS(emailKey(old.Email))}
		if emailKey(old.Email) == emailKey(u.Email) {
			err := s.putIf(ctx, op, it, sameEmail, oldKey)
			if !errors.Is(err, errCondition) {
				return err
			}
			continue
		}
		reasons, err := s.transact(ctx, op, func() []types.TransactWriteItem {
			return []types.TransactWriteItem{
				{Put: &types.Put{TableName: &s.table, Item: it, ConditionExpression: new(sameEmail), ExpressionAttributeValues: oldKey}},
				{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkEmails, emailKey(old.Email))}},
				{Put: &types.Put{TableName: &s.table, Item: emailItem(u), ConditionExpression: new("attribute_not_exists(PK)")}},
			}
		})
		if !errors.Is(err, errCondition) {
			return err
		}
		if _, taken := reasonFailed(reasons, 2); taken {
			return fmt.Errorf("dynamostore: %s: email taken: %w", op, oauth.ErrAlreadyExists)
		}
		// The user changed meanwhile: read again.
	}
	return fmt.Errorf("dynamostore: %s: %w: concurrent changes", op, oauth.ErrUnavailable)
}

func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	op := "delete user " + userID
	for range transactAttempts {
		old, err := s.User(ctx, userID)
		if err != nil {
			return err
		}
		oldKey := map[string]types.AttributeValue{":el": vS(emailKey(old.Email))}
		_, err = s.transact(ctx, op, func() []types.TransactWriteItem {
			return []types.TransactWriteItem{
				{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkUsers, userID), ConditionExpression: new(sameEmail), ExpressionAttributeValues: oldKey}},
				{Delete: &types.Delete{TableName: &s.table, Key: keyOf(pkEmails, emailKey(old.Email))}},
			}
		})
		if !errors.Is(err, errCondition) {
			return err
		}
	}
	return fmt.Errorf("dynamostore: %s: %w: concurrent changes", op, oauth.ErrUnavailable)
}
