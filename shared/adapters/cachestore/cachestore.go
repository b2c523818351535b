// Package cachestore wraps an oauth.Store with a per-instance cache of the
// configuration the token endpoint reads on every request: clients,
// resource servers and client grants by (client, audience). A warm Lambda
// then answers a refresh exchange without reading configuration from
// DynamoDB.
//
// An admin change made elsewhere (the policy-admin Lambda) becomes visible
// here within the TTL (DefaultTTL, CONFIG_CACHE_TTL in awsdeps); a change
// made through this wrapper invalidates its entries at once. "Not found"
// is cached too, for at most NotFoundTTL, so unknown client ids can't make
// every request a DynamoDB read while a newly created client still shows
// up quickly. Everything else passes straight through.
package cachestore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// DefaultTTL is the documented staleness bound of cached configuration.
const DefaultTTL = 30 * time.Second

// FreshInterval is the least time between two reads of one client past the
// cache (FreshClient): wrong secrets cannot turn into a DynamoDB read each.
const FreshInterval = time.Second

// NotFoundTTL caps how long a "not found" result is cached.
const NotFoundTTL = 5 * time.Second

// maxEntries bounds each cache; ids come from requests, so an attacker
// could otherwise grow it without limit.
const maxEntries = 4096

var _ oauth.Store = (*Store)(nil)

// Store is an oauth.Store that caches Client, ResourceServer and
// ClientGrantFor of the store it wraps. It is safe for concurrent use.
type Store struct {
	oauth.Store
	ttl, notFoundTTL time.Duration
	now              func() time.Time

	clients *cache[string, oauth.Client]
	apis    *cache[string, oauth.ResourceServer]
	grants  *cache[grantKey, oauth.ClientGrant]

	freshMu   sync.Mutex
	freshRead map[string]time.Time // client id → last read past the cache
}

type grantKey struct{ clientID, audience string }

// New wraps s with a cache whose entries live for ttl, measured with now.
// A ttl of zero or less disables caching.
func New(s oauth.Store, ttl time.Duration, now func() time.Time) *Store {
	return &Store{
		Store:       s,
		ttl:         ttl,
		notFoundTTL: min(ttl, NotFoundTTL),
		now:         now,
		clients:     newCache[string]((*oauth.Client).Clone),
		apis:        newCache[string]((*oauth.ResourceServer).Clone),
		grants:      newCache[grantKey]((*oauth.ClientGrant).Clone),
	}
}

func (s *Store) Client(ctx context.Context, clientID string) (*oauth.Client, error) {
	return lookup(s, s.clients, clientID, func() (*oauth.Client, error) { return s.Store.Client(ctx, clientID) })
}

// FreshClient implements oauth.FreshClientReader: a read past the cache
// that refreshes the entry, at most once per FreshInterval per client
// (more often, it answers from the cache).
func (s *Store) FreshClient(ctx context.Context, clientID string) (*oauth.Client, error) {
	now := s.now()
	s.freshMu.Lock()
	if s.freshRead == nil {
		s.freshRead = map[string]time.Time{}
	}
	last, seen := s.freshRead[clientID]
	limited := seen && now.Sub(last) < FreshInterval
	if !limited {
		if len(s.freshRead) >= maxEntries {
			clear(s.freshRead)
		}
		s.freshRead[clientID] = now
	}
	s.freshMu.Unlock()
	if limited {
		return s.Client(ctx, clientID)
	}
	s.clients.drop(clientID)
	return s.Client(ctx, clientID)
}

func (s *Store) ResourceServer(ctx context.Context, identifier string) (*oauth.ResourceServer, error) {
	return lookup(s, s.apis, identifier, func() (*oauth.ResourceServer, error) { return s.Store.ResourceServer(ctx, identifier) })
}

func (s *Store) ClientGrantFor(ctx context.Context, clientID, audience string) (*oauth.ClientGrant, error) {
	return lookup(s, s.grants, grantKey{clientID, audience}, func() (*oauth.ClientGrant, error) {
		return s.Store.ClientGrantFor(ctx, clientID, audience)
	})
}

// lookup serves k from c or loads it. Only values and ErrNotFound are
// cached; a failure such as oauth.ErrUnavailable is not.
func lookup[K comparable, V any](s *Store, c *cache[K, V], k K, load func() (*V, error)) (*V, error) {
	if s.ttl <= 0 {
		return load()
	}
	now := s.now()
	v, err, gen, ok := c.get(k, now)
	if ok {
		return v, err
	}
	v, err = load()
	switch {
	case err == nil:
		c.put(k, v, nil, now, now.Add(s.ttl), gen)
	case errors.Is(err, oauth.ErrNotFound):
		c.put(k, nil, err, now, now.Add(s.notFoundTTL), gen)
	}
	return v, err
}

// Writes through the wrapper invalidate what they change. The entry is
// dropped after the write, so a concurrent read can't cache the old value
// past it.

func (s *Store) CreateClient(ctx context.Context, c *oauth.Client) error {
	defer s.clients.drop(c.ClientID)
	return s.Store.CreateClient(ctx, c)
}

func (s *Store) UpdateClient(ctx context.Context, c *oauth.Client) error {
	defer s.clients.drop(c.ClientID)
	return s.Store.UpdateClient(ctx, c)
}

func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	defer s.clients.drop(clientID)
	return s.Store.DeleteClient(ctx, clientID)
}

func (s *Store) CreateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	defer s.apis.drop(rs.Identifier)
	return s.Store.CreateResourceServer(ctx, rs)
}

func (s *Store) UpdateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	defer s.apis.drop(rs.Identifier)
	return s.Store.UpdateResourceServer(ctx, rs)
}

func (s *Store) DeleteResourceServer(ctx context.Context, identifier string) error {
	defer s.apis.drop(identifier)
	return s.Store.DeleteResourceServer(ctx, identifier)
}

func (s *Store) CreateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	defer s.grants.drop(grantKey{g.ClientID, g.Audience})
	return s.Store.CreateClientGrant(ctx, g)
}

func (s *Store) UpdateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	defer s.grants.drop(grantKey{g.ClientID, g.Audience})
	return s.Store.UpdateClientGrant(ctx, g)
}

// DeleteClientGrant knows only the grant's ID, not its (client, audience)
// key, so it drops every cached grant.
func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	defer s.grants.dropAll()
	return s.Store.DeleteClientGrant(ctx, id)
}

// cache maps keys to values (or a not-found error) until a deadline.
// Values are copied in and out: callers may modify what they get.
type cache[K comparable, V any] struct {
	mu      sync.Mutex
	clone   func(*V) *V
	entries map[K]entry[V]
	// gen counts invalidations. A load that started before one may have
	// read the old value, so its result is not cached.
	gen uint64
}

type entry[V any] struct {
	v       *V
	err     error
	expires time.Time
}

func newCache[K comparable, V any](clone func(*V) *V) *cache[K, V] {
	return &cache[K, V]{clone: clone, entries: map[K]entry[V]{}}
}

// get returns the live entry for k, if any, and the generation a load
// started now must present to put.
func (c *cache[K, V]) get(k K, now time.Time) (*V, error, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.expires) {
		return nil, nil, c.gen, false
	}
	if e.err != nil {
		return nil, e.err, c.gen, true
	}
	return c.clone(e.v), nil, c.gen, true
}

func (c *cache[K, V]) put(k K, v *V, err error, now, expires time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxEntries {
			clear(c.entries)
		}
	}
	if v != nil {
		v = c.clone(v)
	}
	c.entries[k] = entry[V]{v: v, err: err, expires: expires}
}

func (c *cache[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
	c.gen++
}

func (c *cache[K, V]) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.gen++
}
