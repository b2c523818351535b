// Package dynamostore is the production oauth.Store: one DynamoDB table,
// on-demand, with string keys PK and SK, one global secondary index (GSI1:
// families by user) and the TTL attribute expiresAt.
//
// Items (PK / SK):
//
//	CLIENT            / clientID          application
//	API               / identifier        resource server
//	GRANT             / grantID           client grant
//	GRANT#clientID    / audience          the same grant, keyed for ClientGrantFor and uniqueness
//	USER              / userID            user
//	EMAIL             / lower(email)      uniqueness of an email; u = user id
//	CODE#hash         / CODE              authorization code (TTL)
//	FAM#id            / FAM               refresh-token family (TTL; GSI1: USER#userID / createdAt#id)
//	SESSION#hash      / SESSION           browser session (TTL)
//	CONSENT#userID    / clientID#audience consent ('#' and '%' in the parts are escaped)
//	UREV#userID       / UREV              user revocation marker: b (blocked), nb (not before)
//	LOGIN#key         / LOGIN             sign-in attempts of the current window: n, ws (TTL)
//
// Configuration lives in a few partitions read with strongly consistent
// queries; cachestore keeps the token endpoint off them. The refresh
// exchange of a sealed token costs one TransactWriteItems (AdvanceFamily:
// the conditional family update and a ConditionCheck on the user's
// revocation marker); a version-1 token's family is read first (one
// consistent GetItem). A write whose answer is lost costs one conditional
// UpdateItem more (SettleAdvance, SettleRedemption). Refresh tokens
// themselves are not stored.
// Codes, session ids and tokens are stored only as the hashes the domain
// hands in. TTL deletion is lazy, so every read checks expiry itself.
// Times of codes, families, sessions and consents are stored as epoch
// milliseconds.
//
// Schema. Each domain type is mapped attribute by attribute to an item of
// this package (records.go, families.go, codes.go, sessions.go, users.go),
// never through the domain's JSON, so the admin API's field names can
// change without moving what is stored; testdata/items.golden pins every
// attribute name and type. A schema change is made in three steps, none of
// which needs downtime: (1) readers accept the old and the new form (a new
// attribute read with a default when absent, as ml and l read an absent
// list as nil); (2) writers write the new form, which every item reaches at
// its next write; (3) items never rewritten (configuration) are backfilled
// by a one-off scan-and-put, and only then do readers drop the old form.
// Renaming an attribute is therefore a new attribute plus a backfill;
// token-path items (codes, sessions, families) age out by TTL instead.
//
// Throttling, 5xx, exhausted transaction conflicts, connection failures and
// context deadlines come back wrapping oauth.ErrUnavailable (503); a
// DynamoDB client's own retries (4 attempts by default) run first.
package dynamostore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithytime "github.com/aws/smithy-go/time"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var _ oauth.Store = (*Store)(nil)

// DynamoAPI is the part of *dynamodb.Client the store uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is an oauth.Store on one DynamoDB table. It is safe for concurrent
// use.
type Store struct {
	api   DynamoAPI
	table string
	// writer and seq make a marker unique to each conditional write that
	// must survive an ambiguous retry (see marker).
	writer string
	seq    atomic.Uint64
}

// New returns a store on table. It draws a random 64-bit writer id (from
// crypto/rand, like a key-generating constructor) that tells this
// instance's writes from every other's.
func New(api DynamoAPI, table string) *Store {
	var b [8]byte
	crand.Read(b[:])
	return &Store{api: api, table: table, writer: hex.EncodeToString(b[:])}
}

// marker returns a value written by a conditional write that a retry of
// the same call may find already applied: when the SDK retries a write
// whose first attempt succeeded but whose response was lost, the retry
// fails its condition, and the marker in the returned old item tells "my
// own earlier attempt" from "someone else's write".
func (s *Store) marker() string {
	return s.writer + "." + strconv.FormatUint(s.seq.Add(1), 36)
}

// Attribute names shared by several item kinds.
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrTTL    = "expiresAt" // TTL attribute, epoch seconds
	attrMarker = "w"         // see Store.marker
	indexGSI1  = "GSI1"
)

// item is one DynamoDB item, with typed setters and getters. Setters skip
// zero strings and times, so absent attributes read back as zero values.
type item map[string]types.AttributeValue

func keyOf(pk, sk string) item {
	return item{attrPK: &types.AttributeValueMemberS{Value: pk}, attrSK: &types.AttributeValueMemberS{Value: sk}}
}

func (it item) setS(name, v string) {
	if v != "" {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
}

func (it item) setN(name string, v int64) {
	it[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (it item) setB(name string, v bool) { it[name] = &types.AttributeValueMemberBOOL{Value: v} }

func (it item) setT(name string, t time.Time) {
	if !t.IsZero() {
		it.setN(name, t.UnixMilli())
	}
}

// setL stores a string list; nil stays absent and empty stays empty, so
// the distinction survives a round trip.
func (it item) setL(name string, v []string) {
	if v == nil {
		return
	}
	l := make([]types.AttributeValue, len(v))
	for i, s := range v {
		l[i] = &types.AttributeValueMemberS{Value: s}
	}
	it[name] = &types.AttributeValueMemberL{Value: l}
}

func (it item) s(name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (it item) n(name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func (it item) b(name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func (it item) t(name string) time.Time {
	if _, ok := it[name].(*types.AttributeValueMemberN); !ok {
		return time.Time{} // absent, or a first-version item's JSON time (never kept)
	}
	return time.UnixMilli(it.n(name)).UTC()
}

func (it item) l(name string) []string {
	v, ok := it[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(v.Value))
	for _, e := range v.Value {
		if s, ok := e.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

// ttl is the TTL attribute value for an item dead at t: epoch seconds,
// rounded up so the item never goes before t.
func ttl(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// expired reports whether an item expiring at exp is gone at now; zero
// means no expiry. Same boundary as oauth.Family.Active.
func expired(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

// joinKey joins key parts with '#', escaping '%' and '#' inside the parts
// so that distinct tuples never share a key.
func joinKey(parts ...string) string {
	esc := strings.NewReplacer("%", "%25", "#", "%23")
	escaped := make([]string, len(parts))
	for i, p := range parts {
		escaped[i] = esc.Replace(p)
	}
	return strings.Join(escaped, "#")
}

// Expression values.

func vS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func vN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func vB(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// Errors.

// errCondition marks a failed condition; callers turn it into the domain's
// sentinel before returning.
var errCondition = errors.New("condition failed")

// wrap adds the operation to err and, for faults a retry may fix,
// oauth.ErrUnavailable. Messages never include hashes or item contents.
func wrap(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("dynamostore: %s: %w: %w", op, oauth.ErrUnavailable, err)
	}
	return fmt.Errorf("dynamostore: %s: %w", op, err)
}

// unavailableCodes are error codes of faults that a later retry may fix.
var unavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"TransactionConflictException":           true,
	"TransactionInProgressException":         true,
	"RequestTimeout":                         true,
	"RequestTimeoutException":                true,
}

func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (unavailableCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	var quotaErr ratelimit.QuotaExceededError
	return errors.As(err, &sendErr) || errors.As(err, &netErr) || errors.As(err, &quotaErr)
}

// conditionFailed reports whether err is a failed condition of a single
// write, returning the old item when the request asked for ALL_OLD.
func conditionFailed(err error) (item, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return item(ccf.Item), true
	}
	return nil, false
}

// Single-item helpers.

// updateIf is one conditional UpdateItem. When the condition fails it
// returns the item as it was (ReturnValuesOnConditionCheckFailure, nil if
// there was none) with failed set, so callers tell the reasons apart
// without a second read; err is any other failure, wrapped as op.
func (s *Store) updateIf(ctx context.Context, op string, u *condUpdate) (old item, failed bool, err error) {
	_, err = s.api.UpdateItem(ctx, u.updateItem())
	if err == nil {
		return nil, false, nil
	}
	if old, failed = conditionFailed(err); failed {
		return old, true, nil
	}
	return nil, false, wrap(op, err)
}

// condUpdate is a conditional update of one item, usable alone
// (updateItem) or in a transaction (transactItem).
type condUpdate types.Update

func (s *Store) conditionalUpdate(key item, expr, cond string, values item) *condUpdate {
	return &condUpdate{
		TableName:                           &s.table,
		Key:                                 key,
		UpdateExpression:                    &expr,
		ConditionExpression:                 &cond,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

func (u *condUpdate) updateItem() *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeValues: u.ExpressionAttributeValues, ExpressionAttributeNames: u.ExpressionAttributeNames,
		ReturnValuesOnConditionCheckFailure: u.ReturnValuesOnConditionCheckFailure,
	}
}

func (u *condUpdate) transactItem() types.TransactWriteItem {
	return types.TransactWriteItem{Update: (*types.Update)(u)}
}

func (s *Store) get(ctx context.Context, op string, key item) (item, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key,
		ConsistentRead: new(true),
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("dynamostore: %s: %w", op, oauth.ErrNotFound)
	}
	return out.Item, nil
}

// put writes it with an optional condition. A failed condition returns
// errCondition, for the caller to map.
func (s *Store) put(ctx context.Context, op string, it item, cond string) error {
	return s.putIf(ctx, op, it, cond, nil)
}

// putIf is put with expression values for the condition.
func (s *Store) putIf(ctx context.Context, op string, it item, cond string, values map[string]types.AttributeValue) error {
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: it, ExpressionAttributeValues: values}
	if cond != "" {
		in.ConditionExpression = &cond
	}
	_, err := s.api.PutItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: %s: %w", op, errCondition)
	}
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// del deletes key with an optional condition; see put.
func (s *Store) del(ctx context.Context, op string, key item, cond string) error {
	in := &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}
	if cond != "" {
		in.ConditionExpression = &cond
	}
	_, err := s.api.DeleteItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("dynamostore: %s: %w", op, errCondition)
	}
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// query returns every item of partition pk in sort-key order, read
// consistently unless index is set (a GSI can't be).
func (s *Store) query(ctx context.Context, op, index, pkAttr, pk string) ([]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    new("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": vS(pk)},
	}
	if index != "" {
		in.IndexName = &index
	} else {
		in.ConsistentRead = new(true)
	}
	var items []item
	for {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, wrap(op, err)
		}
		for _, it := range out.Items {
			items = append(items, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Transactions.

// transactAttempts bounds the retries of a transaction cancelled by a
// conflicting one: SDKs do not retry TransactionCanceledException.
const transactAttempts = 3

// transact runs one TransactWriteItems built by build (called again for
// each attempt, so every attempt gets a fresh ClientRequestToken). If a
// condition failed it returns the cancellation reasons, one per action,
// and an error wrapping errCondition. Conflicts and throttling of the
// transaction are retried a few times, then wrap oauth.ErrUnavailable.
func (s *Store) transact(ctx context.Context, op string, build func() []types.TransactWriteItem) ([]types.CancellationReason, error) {
	var lastErr error
	for attempt := range transactAttempts {
		if attempt > 0 {
			if err := smithytime.SleepWithContext(ctx, backoff(attempt)); err != nil {
				return nil, wrap(op, err)
			}
		}
		_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: build()})
		if err == nil {
			return nil, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, wrap(op, err)
		}
		retry := false
		for _, r := range tce.CancellationReasons {
			switch code := deref(r.Code); code {
			case "ConditionalCheckFailed":
				return tce.CancellationReasons, fmt.Errorf("dynamostore: %s: %w", op, errCondition)
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
				retry = true
			}
		}
		if !retry {
			return nil, wrap(op, err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("dynamostore: %s: %w: %d attempts: %w", op, oauth.ErrUnavailable, transactAttempts, lastErr)
}

// reasonFailed reports whether the action at i failed its condition, and
// its old item if the action asked for ALL_OLD.
func reasonFailed(reasons []types.CancellationReason, i int) (item, bool) {
	if i >= len(reasons) || deref(reasons[i].Code) != "ConditionalCheckFailed" {
		return nil, false
	}
	return item(reasons[i].Item), true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// backoff is the jittered delay before retry attempt n (n ≥ 1).
func backoff(n int) time.Duration {
	d := 10 * time.Millisecond << n
	return d/2 + rand.N(d/2)
}
