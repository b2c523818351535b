package cachestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/cachestore"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/faults"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const ttl = 30 * time.Second

func newStore(t *testing.T) (*cachestore.Store, *faults.Store, *oauthtest.Clock) {
	t.Helper()
	under := faults.NewStore(memstore.New())
	clk := oauthtest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return cachestore.New(under, ttl, clk.Now), under, clk
}

func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// The wrapper is a complete store: writes through it are visible at once.
func TestConformance(t *testing.T) {
	oauthtest.RunStoreTests(t, oauthtest.StoreHarness{NewStore: func(t *testing.T) oauth.Store {
		s, _, _ := newStore(t)
		return s
	}})
}

// entity is one cached kind, driven through the same steps.
type entity struct {
	name string
	// create, update and remove act on store s; read returns a label of
	// the current value, or an error.
	create func(s oauth.Store, label string) error
	update func(s oauth.Store, label string) error
	remove func(s oauth.Store) error
	read   func(s oauth.Store) (string, error)
}

var ctx = context.Background()

var entities = []entity{
	{
		name: "client",
		create: func(s oauth.Store, l string) error {
			return s.CreateClient(ctx, &oauth.Client{ClientID: "spa", Name: l})
		},
		update: func(s oauth.Store, l string) error {
			return s.UpdateClient(ctx, &oauth.Client{ClientID: "spa", Name: l})
		},
		remove: func(s oauth.Store) error { return s.DeleteClient(ctx, "spa") },
		read: func(s oauth.Store) (string, error) {
			c, err := s.Client(ctx, "spa")
			if err != nil {
				return "", err
			}
			return c.Name, nil
		},
	},
	{
		name: "resource server",
		create: func(s oauth.Store, l string) error {
			return s.CreateResourceServer(ctx, &oauth.ResourceServer{Identifier: "https://api", Name: l})
		},
		update: func(s oauth.Store, l string) error {
			return s.UpdateResourceServer(ctx, &oauth.ResourceServer{Identifier: "https://api", Name: l})
		},
		remove: func(s oauth.Store) error { return s.DeleteResourceServer(ctx, "https://api") },
		read: func(s oauth.Store) (string, error) {
			rs, err := s.ResourceServer(ctx, "https://api")
			if err != nil {
				return "", err
			}
			return rs.Name, nil
		},
	},
	{
		name: "client grant",
		create: func(s oauth.Store, l string) error {
			return s.CreateClientGrant(ctx, &oauth.ClientGrant{ID: "cg", ClientID: "m2m", Audience: "https://api", Scope: []string{l}})
		},
		update: func(s oauth.Store, l string) error {
			return s.UpdateClientGrant(ctx, &oauth.ClientGrant{ID: "cg", ClientID: "m2m", Audience: "https://api", Scope: []string{l}})
		},
		remove: func(s oauth.Store) error { return s.DeleteClientGrant(ctx, "cg") },
		read: func(s oauth.Store) (string, error) {
			g, err := s.ClientGrantFor(ctx, "m2m", "https://api")
			if err != nil {
				return "", err
			}
			return g.Scope[0], nil
		},
	},
}

func wantRead(t *testing.T, e entity, s oauth.Store, want string) {
	t.Helper()
	got, err := e.read(s)
	if want == "" {
		if !errors.Is(err, oauth.ErrNotFound) {
			t.Fatalf("read: %q, %v; want ErrNotFound", got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("read: %q, %v; want %q", got, err, want)
	}
}

func TestStaleness(t *testing.T) {
	for _, e := range entities {
		t.Run("a "+e.name+" changed on the underlying store is visible after the TTL, not before", func(t *testing.T) {
			s, under, clk := newStore(t)
			must(t, "create", e.create(under, "v1"))
			wantRead(t, e, s, "v1")
			must(t, "update", e.update(under, "v2"))
			clk.Advance(ttl - time.Millisecond)
			wantRead(t, e, s, "v1")
			clk.Advance(time.Millisecond)
			wantRead(t, e, s, "v2")
		})
		t.Run("a "+e.name+" deleted on the underlying store is gone after the TTL, not before", func(t *testing.T) {
			s, under, clk := newStore(t)
			must(t, "create", e.create(under, "v1"))
			wantRead(t, e, s, "v1")
			must(t, "remove", e.remove(under))
			clk.Advance(ttl - time.Millisecond)
			wantRead(t, e, s, "v1")
			clk.Advance(time.Millisecond)
			wantRead(t, e, s, "")
		})
		t.Run("a "+e.name+" created on the underlying store after a miss is visible within NotFoundTTL", func(t *testing.T) {
			s, under, clk := newStore(t)
			wantRead(t, e, s, "")
			must(t, "create", e.create(under, "v1"))
			clk.Advance(cachestore.NotFoundTTL - time.Millisecond)
			wantRead(t, e, s, "")
			clk.Advance(time.Millisecond)
			wantRead(t, e, s, "v1")
		})
		t.Run("a "+e.name+" written through the wrapper is visible at once", func(t *testing.T) {
			s, _, _ := newStore(t)
			wantRead(t, e, s, "")
			must(t, "create", e.create(s, "v1"))
			wantRead(t, e, s, "v1")
			must(t, "update", e.update(s, "v2"))
			wantRead(t, e, s, "v2")
			must(t, "remove", e.remove(s))
			wantRead(t, e, s, "")
		})
		t.Run("a cached "+e.name+" is served without the underlying store", func(t *testing.T) {
			s, under, _ := newStore(t)
			must(t, "create", e.create(under, "v1"))
			wantRead(t, e, s, "v1")
			// Every store call fails from now on; only the cache can answer.
			for _, m := range []string{"Client", "ResourceServer", "ClientGrantFor"} {
				under.FailNext(m, errors.New("store called"))
			}
			wantRead(t, e, s, "v1")
		})
		t.Run("a failed "+e.name+" read is not cached", func(t *testing.T) {
			s, under, _ := newStore(t)
			must(t, "create", e.create(under, "v1"))
			for _, m := range []string{"Client", "ResourceServer", "ClientGrantFor"} {
				under.FailNext(m, oauth.ErrUnavailable)
			}
			if _, err := e.read(s); !errors.Is(err, oauth.ErrUnavailable) {
				t.Fatalf("read: %v, want ErrUnavailable", err)
			}
			wantRead(t, e, s, "v1")
		})
	}
}

func TestZeroTTLDisablesTheCache(t *testing.T) {
	under := faults.NewStore(memstore.New())
	s := cachestore.New(under, 0, time.Now)
	must(t, "CreateClient", under.CreateClient(ctx, &oauth.Client{ClientID: "spa", Name: "v1"}))
	wantRead(t, entities[0], s, "v1")
	must(t, "UpdateClient", under.UpdateClient(ctx, &oauth.Client{ClientID: "spa", Name: "v2"}))
	wantRead(t, entities[0], s, "v2")
}

func TestCachedValuesAreCopies(t *testing.T) {
	s, under, _ := newStore(t)
	must(t, "CreateClient", under.CreateClient(ctx, &oauth.Client{ClientID: "spa", Callbacks: []string{"https://a"},
		RefreshToken: oauth.RefreshTokenConfig{Policies: []oauth.Policy{{Audience: "https://api", Scope: []string{"read"}}}}}))
	c, err := s.Client(ctx, "spa")
	must(t, "Client", err)
	c.Callbacks[0] = "https://evil"
	c.RefreshToken.Policies[0].Scope[0] = "admin"
	again, err := s.Client(ctx, "spa")
	must(t, "Client", err)
	if again.Callbacks[0] != "https://a" || again.RefreshToken.Policies[0].Scope[0] != "read" {
		t.Errorf("a caller's change leaked into the cache: %+v", again)
	}
}

// blockingStore holds a Client read between loading and returning, so a
// write can happen in between.
type blockingStore struct {
	*memstore.Store
	loaded, release chan struct{}
}

func (b *blockingStore) Client(ctx context.Context, id string) (*oauth.Client, error) {
	c, err := b.Store.Client(ctx, id)
	if b.loaded != nil {
		b.loaded <- struct{}{}
		<-b.release
	}
	return c, err
}

func TestReadRacingAWriteDoesNotCacheTheOldValue(t *testing.T) {
	under := &blockingStore{Store: memstore.New()}
	clk := oauthtest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := cachestore.New(under, ttl, clk.Now)
	must(t, "CreateClient", under.CreateClient(ctx, &oauth.Client{ClientID: "spa", Name: "v1"}))
	under.loaded, under.release = make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		c, err := s.Client(ctx, "spa")
		if err != nil {
			done <- err.Error()
			return
		}
		done <- c.Name
	}()
	<-under.loaded // the read has the old value in hand
	must(t, "UpdateClient", s.UpdateClient(ctx, &oauth.Client{ClientID: "spa", Name: "v2"}))
	close(under.release)
	if got := <-done; got != "v1" {
		t.Fatalf("racing read: %q, want v1", got)
	}
	under.loaded = nil
	wantRead(t, entities[0], s, "v2")
}

func TestConcurrentUse(t *testing.T) {
	s, _, clk := newStore(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				id := fmt.Sprintf("c%d", j%5)
				if i%2 == 0 {
					_ = s.CreateClient(ctx, &oauth.Client{ClientID: id})
					_ = s.UpdateClient(ctx, &oauth.Client{ClientID: id, Name: fmt.Sprint(j)})
				} else {
					_, _ = s.Client(ctx, id)
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
}
