package oauthtest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// laggingStore answers FamiliesByUser from a stale copy of the families for
// the first reads after each family write, as an eventually consistent
// index does.
type laggingStore struct {
	oauth.Store
	mu    sync.Mutex
	stale map[string][]*oauth.Family // user -> list before the last write
	lag   map[string]int             // stale reads left per user
}

func (s *laggingStore) wrote(ctx context.Context, userID string) {
	before, _ := s.Store.FamiliesByUser(ctx, userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lag[userID] == 0 {
		s.stale[userID] = before
	}
	s.lag[userID] = 2
}

func (s *laggingStore) CreateFamily(ctx context.Context, f *oauth.Family) error {
	s.wrote(ctx, f.UserID)
	return s.Store.CreateFamily(ctx, f)
}

func (s *laggingStore) RedeemCode(ctx context.Context, hash string, f *oauth.Family, now time.Time) error {
	if f != nil {
		s.wrote(ctx, f.UserID)
	}
	return s.Store.RedeemCode(ctx, hash, f, now)
}

func (s *laggingStore) FamiliesByUser(ctx context.Context, userID string) ([]*oauth.Family, error) {
	s.mu.Lock()
	if s.lag[userID] > 0 {
		s.lag[userID]--
		stale := s.stale[userID]
		s.mu.Unlock()
		return stale, nil
	}
	s.mu.Unlock()
	return s.Store.FamiliesByUser(ctx, userID)
}

// An adapter whose FamiliesByUser lags passes the suite once it declares
// the allowance: the suite checks what the index converges to.
func TestStoreSuiteWaitsForAnEventuallyConsistentIndex(t *testing.T) {
	oauthtest.RunStoreTests(t, oauthtest.StoreHarness{
		NewStore: func(t *testing.T) oauth.Store {
			return &laggingStore{Store: memstore.New(), stale: map[string][]*oauth.Family{}, lag: map[string]int{}}
		},
		EventualFamiliesByUser: true,
	})
}
