package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Configuration items: clients, resource servers and client grants
// (records.go maps them).

const (
	pkClients   = "CLIENT"
	pkAPIs      = "API"
	pkGrants    = "GRANT"
	grantPrefix = "GRANT#" // + client ID; SK = audience
)

// Clients.

func clientItem(c *oauth.Client) (item, error) { return clientRecord(c), nil }

func clientFrom(it item) (*oauth.Client, error) { return clientFromRecord(it), nil }

func (s *Store) Client(ctx context.Context, clientID string) (*oauth.Client, error) {
	it, err := s.get(ctx, "client", keyOf(pkClients, clientID))
	if err != nil {
		return nil, err
	}
	return clientFrom(it)
}

func (s *Store) Clients(ctx context.Context) ([]*oauth.Client, error) {
	return list(ctx, s, "clients", pkClients, clientFrom)
}

func (s *Store) CreateClient(ctx context.Context, c *oauth.Client) error {
	return create(ctx, s, "create client "+c.ClientID, c, clientItem)
}

func (s *Store) UpdateClient(ctx context.Context, c *oauth.Client) error {
	return replace(ctx, s, "update client "+c.ClientID, c, clientItem)
}

func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	return s.remove(ctx, "delete client "+clientID, keyOf(pkClients, clientID))
}

// Resource servers.

func apiItem(rs *oauth.ResourceServer) (item, error) { return apiRecord(rs), nil }

func apiFrom(it item) (*oauth.ResourceServer, error) { return apiFromRecord(it), nil }

func (s *Store) ResourceServer(ctx context.Context, identifier string) (*oauth.ResourceServer, error) {
	it, err := s.get(ctx, "resource server", keyOf(pkAPIs, identifier))
	if err != nil {
		return nil, err
	}
	return apiFrom(it)
}

func (s *Store) ResourceServers(ctx context.Context) ([]*oauth.ResourceServer, error) {
	return list(ctx, s, "resource servers", pkAPIs, apiFrom)
}

func (s *Store) CreateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	return create(ctx, s, "create resource server "+rs.Identifier, rs, apiItem)
}

func (s *Store) UpdateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	return replace(ctx, s, "update resource server "+rs.Identifier, rs, apiItem)
}

func (s *Store) DeleteResourceServer(ctx context.Context, identifier string) error {
	return s.remove(ctx, "delete resource server "+identifier, keyOf(pkAPIs, identifier))
}

// Client grants: two copies of each grant, written together in a
// transaction. GRANT/id serves listing and lookup by ID and keeps IDs
// unique; GRANT#client/audience serves ClientGrantFor with one GetItem and
// keeps (client, audience) unique.

func grantItems(g *oauth.ClientGrant) (byID, byPair item, err error) {
	return grantRecord(g, pkGrants, g.ID), grantRecord(g, grantPrefix+g.ClientID, g.Audience), nil
}

func grantFrom(it item) (*oauth.ClientGrant, error) { return grantFromRecord(it), nil }

func (s *Store) ClientGrantFor(ctx context.Context, clientID, audience string) (*oauth.ClientGrant, error) {
	it, err := s.get(ctx, "client grant for", keyOf(grantPrefix+clientID, audience))
	if err != nil {
		return nil, err
	}
	return grantFrom(it)
}

func (s *Store) ClientGrant(ctx context.Context, id string) (*oauth.ClientGrant, error) {
	it, err := s.get(ctx, "client grant", keyOf(pkGrants, id))
	if err != nil {
		return nil, err
	}
	return grantFrom(it)
}

func (s *Store) ClientGrants(ctx context.Context) ([]*oauth.ClientGrant, error) {
	return list(ctx, s, "client grants", pkGrants, grantFrom)
}

func (s *Store) CreateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	op := "create client grant " + g.ID
	byID, byPair, err := grantItems(g)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	_, err = s.transact(ctx, op, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: byID, ConditionExpression: new("attribute_not_exists(PK)")}},
			{Put: &types.Put{TableName: &s.table, Item: byPair, ConditionExpression: new("attribute_not_exists(PK)")}},
		}
	})
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrAlreadyExists)
	}
	return err
}

// sameGrant is the condition that a stored grant still has the client and
// audience of :c and :a.
const sameGrant = "attribute_exists(PK) AND #c = :c AND #a = :a"

var sameGrantNames = map[string]string{"#c": grantClient, "#a": grantAudience}

func sameGrantValues(g *oauth.ClientGrant) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{":c": vS(g.ClientID), ":a": vS(g.Audience)}
}

func (s *Store) UpdateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	op := "update client grant " + g.ID
	byID, byPair, err := grantItems(g)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	reasons, err := s.transact(ctx, op, func() []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                           &s.table,
				Item:                                byID,
				ConditionExpression:                 new(sameGrant),
				ExpressionAttributeNames:            sameGrantNames,
				ExpressionAttributeValues:           sameGrantValues(g),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Put: &types.Put{TableName: &s.table, Item: byPair, ConditionExpression: new("attribute_exists(PK)")}},
		}
	})
	if !errors.Is(err, errCondition) {
		return err
	}
	if old, ok := reasonFailed(reasons, 0); ok && len(old) == 0 {
		return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrNotFound)
	}
	// The index is only ever valid for the grant's first client and
	// audience; callers delete and recreate instead.
	return fmt.Errorf("dynamostore: %s: client and audience cannot change", op)
}

func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	op := "delete client grant " + id
	for range transactAttempts {
		g, err := s.ClientGrant(ctx, id)
		if err != nil {
			return err
		}
		_, err = s.transact(ctx, op, func() []types.TransactWriteItem {
			return []types.TransactWriteItem{
				{Delete: &types.Delete{
					TableName:                 &s.table,
					Key:                       keyOf(pkGrants, id),
					ConditionExpression:       new(sameGrant),
					ExpressionAttributeNames:  sameGrantNames,
					ExpressionAttributeValues: sameGrantValues(g),
				}},
				{Delete: &types.Delete{TableName: &s.table, Key: keyOf(grantPrefix+g.ClientID, g.Audience)}},
			}
		})
		if !errors.Is(err, errCondition) {
			return err
		}
		// Deleted or recreated meanwhile: read again.
	}
	return fmt.Errorf("dynamostore: %s: %w: concurrent changes", op, oauth.ErrUnavailable)
}

// Shared helpers for items that are a whole domain value.

func list[T any](ctx context.Context, s *Store, op, pk string, from func(item) (*T, error)) ([]*T, error) {
	items, err := s.query(ctx, op, "", attrPK, pk)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(items))
	for _, it := range items {
		v, err := from(it)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: %s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// create puts a new item; ErrAlreadyExists if its key is taken.
func create[T any](ctx context.Context, s *Store, op string, v *T, build func(*T) (item, error)) error {
	it, err := build(v)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	err = s.put(ctx, op, it, "attribute_not_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrAlreadyExists)
	}
	return err
}

// replace overwrites an existing item; ErrNotFound if there is none.
func replace[T any](ctx context.Context, s *Store, op string, v *T, build func(*T) (item, error)) error {
	it, err := build(v)
	if err != nil {
		return fmt.Errorf("dynamostore: %s: %w", op, err)
	}
	err = s.put(ctx, op, it, "attribute_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrNotFound)
	}
	return err
}

// remove deletes an existing item; ErrNotFound if there is none.
func (s *Store) remove(ctx context.Context, op string, key item) error {
	err := s.del(ctx, op, key, "attribute_exists(PK)")
	if errors.Is(err, errCondition) {
		return fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrNotFound)
	}
	return err
}
