package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// env is one moto server and a client that counts its requests and can be
// made to fail.
type env struct {
	api     *dynamodb.Client
	counter *awstest.Counter
	faults  *awstest.Faults
	tables  atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	endpoint := awstest.StartMoto(t)
	e := &env{counter: awstest.NewCounter(), faults: &awstest.Faults{}}
	e.api = dynamodb.NewFromConfig(awstest.Config(endpoint, e.counter.Install, e.faults.Install), func(o *dynamodb.Options) {
		// The SDK's 4 attempts, with short pauses: throttling backs off for
		// seconds by default.
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 20*time.Millisecond)
	})
	return e
}

// store returns a store on a new, empty table.
func (e *env) store(t *testing.T) (*dynamostore.Store, string) {
	t.Helper()
	table := "t" + strconv.FormatInt(e.tables.Add(1), 10)
	if err := dynamostore.CreateTable(t.Context(), e.api, table); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return dynamostore.New(e.api, table), table
}

func TestConformance(t *testing.T) {
	e := newEnv(t)
	oauthtest.RunStoreTests(t, oauthtest.StoreHarness{
		NewStore: func(t *testing.T) oauth.Store {
			s, _ := e.store(t)
			return s
		},
		// FamiliesByUser queries a global secondary index, which DynamoDB
		// keeps eventually consistent.
		EventualFamiliesByUser: true,
	})
}

func TestRoleStoreConformance(t *testing.T) {
	e := newEnv(t)
	oauthtest.RunRoleStoreTests(t, func(t *testing.T) oauth.RoleStore {
		s, _ := e.store(t)
		return s
	})
}

func TestWrappedKeyStoreConformance(t *testing.T) {
	e := newEnv(t)
	oauthtest.RunWrappedKeyStoreTests(t, func(t *testing.T) oauth.WrappedKeyStore {
		s, _ := e.store(t)
		return s
	})
}

var base = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func family(id string) *oauth.Family {
	return &oauth.Family{
		ID: id, ClientID: "spa", UserID: "user-1", Audience: "https://api.example.com", Scopes: []string{"read", "offline_access"},
		AuthTime: base, CreatedAt: base, ExpiresAt: base.Add(30 * 24 * time.Hour), IdleExpiresAt: base.Add(24 * time.Hour),
		HeadHash: oauth.HashToken(id + " gen 0"),
	}
}

func advance(id string, gen int) oauth.Advance {
	return oauth.Advance{
		FromHash:      oauth.HashToken(fmt.Sprintf("%s gen %d", id, gen)),
		ToHash:        oauth.HashToken(fmt.Sprintf("%s gen %d", id, gen+1)),
		Generation:    gen + 1,
		Now:           base.Add(time.Duration(gen+1) * time.Minute),
		IdleExpiresAt: base.Add(24*time.Hour + time.Duration(gen+1)*time.Minute),
	}
}

func code(raw string) *oauth.AuthCode {
	return &oauth.AuthCode{
		Hash: oauth.HashToken(raw), ClientID: "spa", RedirectURI: "https://app.example.com/cb", CodeChallenge: "challenge",
		CodeChallengeMethod: oauth.CodeChallengeS256, Audience: "https://api.example.com", Scopes: []string{"offline_access"},
		UserID: "user-1", AuthTime: base, ExpiresAt: base.Add(oauth.CodeLifetime),
	}
}

func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// The refresh exchange's budget: one read, one write (a transaction of the
// family update and the check of the user's revocation marker).
func TestRequestCounts(t *testing.T) {
	e := newEnv(t)
	s, _ := e.store(t)
	ctx := t.Context()
	must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-1")))
	must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-2")))
	must(t, "CreateCode", s.CreateCode(ctx, code("code-1")))
	must(t, "CreateCode", s.CreateCode(ctx, code("code-2")))

	tests := []struct {
		name    string
		call    func() error
		wantErr error
		want    map[string]int
	}{
		{"Family is one GetItem", func() error { _, err := s.Family(ctx, "fam-1"); return err }, nil, map[string]int{"GetItem": 1}},
		{"AdvanceFamily is one TransactWriteItems (the family and the user's revocation marker)", func() error {
			return s.AdvanceFamily(ctx, "fam-1", advance("fam-1", 0))
		}, nil, map[string]int{"TransactWriteItems": 1}},
		{"a lost AdvanceFamily is still one TransactWriteItems: the old item comes with the failure", func() error {
			return s.AdvanceFamily(ctx, "fam-1", advance("fam-1", 0))
		}, oauth.ErrConsumed, map[string]int{"TransactWriteItems": 1}},
		{"RevokeFamily is one UpdateItem", func() error { return s.RevokeFamily(ctx, "fam-2", "logout", base) }, nil, map[string]int{"UpdateItem": 1}},
		{"AdvanceFamily of a revoked family is one TransactWriteItems", func() error {
			return s.AdvanceFamily(ctx, "fam-2", advance("fam-2", 0))
		}, oauth.ErrRevoked, map[string]int{"TransactWriteItems": 1}},
		{"Code is one GetItem", func() error { _, err := s.Code(ctx, oauth.HashToken("code-1"), base); return err }, nil, map[string]int{"GetItem": 1}},
		{"RedeemCode with a family is one TransactWriteItems", func() error {
			return s.RedeemCode(ctx, oauth.HashToken("code-1"), family("fam-3"), base)
		}, nil, map[string]int{"TransactWriteItems": 1}},
		{"RedeemCode without a family is one UpdateItem", func() error {
			return s.RedeemCode(ctx, oauth.HashToken("code-2"), nil, base)
		}, nil, map[string]int{"UpdateItem": 1}},
		{"a replayed code is one TransactWriteItems", func() error {
			return s.RedeemCode(ctx, oauth.HashToken("code-1"), family("fam-4"), base)
		}, oauth.ErrConsumed, map[string]int{"TransactWriteItems": 1}},
		{"ClientGrantFor is one GetItem", func() error {
			_, err := s.ClientGrantFor(ctx, "m2m", "https://api.example.com")
			return err
		}, oauth.ErrNotFound, map[string]int{"GetItem": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.counter.Reset()
			if err := tt.call(); !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, e.counter.Counts()); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

// A write whose response is lost may have been applied; the SDK retries
// it, and the retry must neither report a lost race (which the token
// handler would treat as reuse and revoke the family) nor apply twice.
func TestAmbiguousWrite(t *testing.T) {
	e := newEnv(t)
	s, table := e.store(t)
	ctx := t.Context()
	lost := func(op string) {
		e.faults.Add(awstest.Fault{Op: op, Nth: 1, Err: awstest.ErrResponseLost, AfterSend: true})
	}

	t.Run("an advance applied but unanswered succeeds on retry and moves the head once", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-a")))
		lost("TransactWriteItems")
		e.counter.Reset()
		a := advance("fam-a", 0)
		must(t, "AdvanceFamily", s.AdvanceFamily(ctx, "fam-a", a))
		if n := e.counter.Count("TransactWriteItems"); n != 2 {
			t.Errorf("TransactWriteItems sent %d times, want 2 (the applied attempt and the retry)", n)
		}
		f, err := s.Family(ctx, "fam-a")
		must(t, "Family", err)
		if f.Revoked || f.HeadHash != a.ToHash || f.PrevHash != a.FromHash || f.Generation != 1 {
			t.Errorf("family revoked=%v generation=%d, head moved=%v: want one advance", f.Revoked, f.Generation, f.HeadHash == a.ToHash)
		}
		// The next exchange works from the new head.
		must(t, "AdvanceFamily from the new head", s.AdvanceFamily(ctx, "fam-a", advance("fam-a", 1)))
	})

	t.Run("the same successor written by another exchange is still a lost race", func(t *testing.T) {
		// Successors are derived deterministically, so two exchanges of one
		// token send the same ToHash; only the marker of the write tells a
		// retry of one's own write from a concurrent winner.
		must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-b")))
		other := dynamostore.New(e.api, table)
		must(t, "AdvanceFamily", other.AdvanceFamily(ctx, "fam-b", advance("fam-b", 0)))
		if err := s.AdvanceFamily(ctx, "fam-b", advance("fam-b", 0)); !errors.Is(err, oauth.ErrConsumed) {
			t.Errorf("second exchange of one token: %v, want ErrConsumed", err)
		}
		if err := s.AdvanceFamily(ctx, "fam-b", advance("fam-b", 0)); !errors.Is(err, oauth.ErrConsumed) {
			t.Errorf("second exchange through the same store: %v, want ErrConsumed", err)
		}
	})

	t.Run("a redemption applied but unanswered succeeds on retry with its family", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		must(t, "CreateCode", s.CreateCode(ctx, code("code-a")))
		lost("TransactWriteItems")
		must(t, "RedeemCode", s.RedeemCode(ctx, oauth.HashToken("code-a"), family("fam-c"), base))
		if n := e.faults.Fired("TransactWriteItems"); n != 1 {
			t.Fatalf("fault fired %d times, want 1", n)
		}
		c, err := s.Code(ctx, oauth.HashToken("code-a"), base)
		must(t, "Code", err)
		if !c.Used || c.FamilyID != "fam-c" {
			t.Errorf("code used=%v family=%q, want used by fam-c", c.Used, c.FamilyID)
		}
		f, err := s.Family(ctx, "fam-c")
		must(t, "Family", err)
		if f.Revoked {
			t.Error("family revoked")
		}
		if err := s.RedeemCode(ctx, oauth.HashToken("code-a"), family("fam-d"), base); !errors.Is(err, oauth.ErrConsumed) {
			t.Errorf("a real replay: %v, want ErrConsumed", err)
		}
	})

	t.Run("a settle applied but unanswered is applied again on retry and reports the rotation", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-e")))
		a := advance("fam-e", 0)
		must(t, "AdvanceFamily", s.AdvanceFamily(ctx, "fam-e", a))
		lost("UpdateItem")
		applied, err := s.SettleAdvance(ctx, "fam-e", a)
		must(t, "SettleAdvance", err)
		f, err := s.Family(ctx, "fam-e")
		must(t, "Family", err)
		if !applied || f.InDoubt != 1 {
			t.Errorf("applied %v, in doubt %d; want true and 1", applied, f.InDoubt)
		}
		must(t, "CreateCode", s.CreateCode(ctx, code("code-e")))
		must(t, "RedeemCode", s.RedeemCode(ctx, oauth.HashToken("code-e"), family("fam-f"), base))
		lost("UpdateItem")
		applied, err = s.SettleRedemption(ctx, oauth.HashToken("code-e"), "fam-f")
		must(t, "SettleRedemption", err)
		c, err := s.Code(ctx, oauth.HashToken("code-e"), base)
		must(t, "Code", err)
		if !applied || !c.InDoubt {
			t.Errorf("applied %v, in doubt %v; want both true", applied, c.InDoubt)
		}
		if n := e.faults.Fired("UpdateItem"); n != 2 {
			t.Errorf("fault fired %d times, want 2", n)
		}
	})

	t.Run("a redemption without family applied but unanswered succeeds on retry", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		must(t, "CreateCode", s.CreateCode(ctx, code("code-b")))
		lost("UpdateItem")
		must(t, "RedeemCode", s.RedeemCode(ctx, oauth.HashToken("code-b"), nil, base))
		if err := s.RedeemCode(ctx, oauth.HashToken("code-b"), nil, base); !errors.Is(err, oauth.ErrConsumed) {
			t.Errorf("a real replay: %v, want ErrConsumed", err)
		}
	})
}

// Faults a retry may fix must never look like a dead token.
func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	s, _ := e.store(t)
	ctx := t.Context()
	must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-1")))
	must(t, "CreateCode", s.CreateCode(ctx, code("code-1")))
	conflict := &types.TransactionCanceledException{
		Message:             new("Transaction cancelled"),
		CancellationReasons: []types.CancellationReason{{Code: new("TransactionConflict")}, {Code: new("None")}},
	}
	validation := awstest.APIError("ValidationException", 400)

	tests := []struct {
		name      string
		fault     awstest.Fault
		call      func() error
		wantUnav  bool
		wantFired int
	}{
		{"throttling on every attempt of AdvanceFamily", awstest.Fault{Op: "TransactWriteItems", Err: awstest.APIError("ThrottlingException", 400)},
			func() error { return s.AdvanceFamily(ctx, "fam-1", advance("fam-1", 0)) }, true, 4},
		{"provisioned throughput exceeded on every attempt of Family", awstest.Fault{Op: "GetItem", Err: awstest.APIError("ProvisionedThroughputExceededException", 400)},
			func() error { _, err := s.Family(ctx, "fam-1"); return err }, true, 4},
		{"request limit exceeded on every attempt of Family", awstest.Fault{Op: "GetItem", Err: awstest.APIError("RequestLimitExceeded", 400)},
			func() error { _, err := s.Family(ctx, "fam-1"); return err }, true, 4},
		{"internal server error on every attempt of RevokeFamily", awstest.Fault{Op: "UpdateItem", Err: awstest.APIError("InternalServerError", 500)},
			func() error { return s.RevokeFamily(ctx, "fam-1", "logout", base) }, true, 4},
		{"connection reset on every attempt of Code", awstest.Fault{Op: "GetItem", Err: awstest.ErrResponseLost},
			func() error { _, err := s.Code(ctx, oauth.HashToken("code-1"), base); return err }, true, 4},
		{"transaction conflict on every attempt of RedeemCode, after bounded retries", awstest.Fault{Op: "TransactWriteItems", Err: conflict},
			func() error { return s.RedeemCode(ctx, oauth.HashToken("code-1"), family("fam-2"), base) }, true, 3},
		{"a validation error is not retryable", awstest.Fault{Op: "GetItem", Err: validation},
			func() error { _, err := s.Family(ctx, "fam-1"); return err }, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name+" wraps ErrUnavailable="+strconv.FormatBool(tt.wantUnav), func(t *testing.T) {
			t.Cleanup(e.faults.Clear)
			e.faults.Add(tt.fault)
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, oauth.ErrUnavailable); got != tt.wantUnav {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v", err, got)
			}
			for _, domain := range []error{oauth.ErrNotFound, oauth.ErrConsumed, oauth.ErrRevoked} {
				if errors.Is(err, domain) {
					t.Errorf("error %v looks like %v", err, domain)
				}
			}
			if n := e.faults.Fired(tt.fault.Op); n != tt.wantFired {
				t.Errorf("%s failed %d times, want %d", tt.fault.Op, n, tt.wantFired)
			}
		})
	}

	t.Run("a conflict that clears is retried and the redemption succeeds", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		e.faults.Add(awstest.Fault{Op: "TransactWriteItems", Nth: 1, Err: conflict})
		must(t, "RedeemCode", s.RedeemCode(ctx, oauth.HashToken("code-1"), family("fam-3"), base))
		if _, err := s.Family(ctx, "fam-3"); err != nil {
			t.Errorf("Family: %v", err)
		}
	})

	t.Run("nothing was written by the failed calls", func(t *testing.T) {
		f, err := s.Family(ctx, "fam-1")
		must(t, "Family", err)
		if f.Revoked || f.Generation != 0 {
			t.Errorf("family revoked=%v generation=%d, want untouched", f.Revoked, f.Generation)
		}
	})

	t.Run("an expired context wraps ErrUnavailable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		if _, err := s.Family(ctx, "fam-1"); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("Family: %v, want ErrUnavailable", err)
		}
	})
}

// TTL deletion is lazy and reads check expiry themselves (the conformance
// suite covers that); here the TTL values that let DynamoDB clean up.
func TestTTL(t *testing.T) {
	e := newEnv(t)
	s, table := e.store(t)
	ctx := t.Context()
	ttlOf := func(t *testing.T, pk, sk string) (int64, bool) {
		t.Helper()
		out, err := e.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &table,
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk},
			},
		})
		must(t, "GetItem", err)
		if len(out.Item) == 0 {
			t.Fatalf("no item %s/%s", pk, sk)
		}
		v, ok := out.Item["expiresAt"].(*types.AttributeValueMemberN)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		must(t, "ParseInt", err)
		return n, true
	}
	day := 24 * time.Hour
	wantTTL := func(t *testing.T, pk, sk string, want time.Time) {
		t.Helper()
		got, ok := ttlOf(t, pk, sk)
		if !ok || got != want.Unix() {
			t.Errorf("expiresAt of %s = %d (present %v), want %d (%v)", pk, got, ok, want.Unix(), want)
		}
	}

	t.Run("a code expires at its expiry, rounded up to the second", func(t *testing.T) {
		c := code("code-1")
		c.ExpiresAt = base.Add(60*time.Second + 300*time.Millisecond)
		must(t, "CreateCode", s.CreateCode(ctx, c))
		wantTTL(t, "CODE#"+c.Hash, "CODE", base.Add(61*time.Second))
	})
	t.Run("a session expires at its expiry", func(t *testing.T) {
		sess := &oauth.Session{Hash: oauth.HashToken("sess"), UserID: "user-1", AuthTime: base, ExpiresAt: base.Add(8 * time.Hour)}
		must(t, "CreateSession", s.CreateSession(ctx, sess))
		wantTTL(t, "SESSION#"+sess.Hash, "SESSION", base.Add(8*time.Hour))
	})
	t.Run("a family lives a day past the earlier of its expiries", func(t *testing.T) {
		must(t, "CreateFamily", s.CreateFamily(ctx, family("fam-1")))
		wantTTL(t, "FAM#fam-1", "FAM", base.Add(day+day))
	})
	t.Run("an exchange moves a family's TTL with its idle expiry", func(t *testing.T) {
		a := advance("fam-1", 0)
		must(t, "AdvanceFamily", s.AdvanceFamily(ctx, "fam-1", a))
		wantTTL(t, "FAM#fam-1", "FAM", a.IdleExpiresAt.Add(day))
	})
	t.Run("an exchange without idle expiry falls back to the absolute expiry", func(t *testing.T) {
		a := advance("fam-1", 1)
		a.IdleExpiresAt = time.Time{}
		must(t, "AdvanceFamily", s.AdvanceFamily(ctx, "fam-1", a))
		wantTTL(t, "FAM#fam-1", "FAM", family("fam-1").ExpiresAt.Add(day))
	})
	t.Run("a family without any expiry has no TTL", func(t *testing.T) {
		f := family("fam-2")
		f.ExpiresAt, f.IdleExpiresAt = time.Time{}, time.Time{}
		must(t, "CreateFamily", s.CreateFamily(ctx, f))
		if got, ok := ttlOf(t, "FAM#fam-2", "FAM"); ok {
			t.Errorf("expiresAt = %d, want none", got)
		}
	})
	t.Run("a revoked family lives a day past its revocation", func(t *testing.T) {
		must(t, "RevokeFamily", s.RevokeFamily(ctx, "fam-2", "logout", base.Add(time.Hour)))
		wantTTL(t, "FAM#fam-2", "FAM", base.Add(time.Hour+day))
	})
	t.Run("login attempts live until their window ends", func(t *testing.T) {
		_, err := s.ReserveLoginAttempt(ctx, "key", base, 15*time.Minute, 5)
		must(t, "ReserveLoginAttempt", err)
		wantTTL(t, "LOGIN#key", "LOGIN", base.Add(15*time.Minute))
	})
}

func TestCreateTableIsIdempotent(t *testing.T) {
	e := newEnv(t)
	_, table := e.store(t)
	if err := dynamostore.CreateTable(t.Context(), e.api, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	out, err := e.api.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	must(t, "DescribeTimeToLive", err)
	if d := out.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || *d.AttributeName != "expiresAt" {
		t.Errorf("TTL %+v, want enabled on expiresAt", d)
	}
	if n := e.counter.Count("UpdateTimeToLive"); n != 1 {
		t.Errorf("UpdateTimeToLive sent %d times, want 1", n)
	}
}
