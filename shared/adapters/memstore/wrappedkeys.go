package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var _ oauth.WrappedKeyStore = (*Store)(nil)

func (s *Store) WrappedKeys(_ context.Context) ([]oauth.WrappedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []oauth.WrappedKey{}
	for _, k := range s.wrapped {
		k.PublicKey, k.PrivateKey = slices.Clone(k.PublicKey), slices.Clone(k.PrivateKey)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b oauth.WrappedKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *Store) PutWrappedKey(_ context.Context, k *oauth.WrappedKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *k
	c.PublicKey, c.PrivateKey = slices.Clone(k.PublicKey), slices.Clone(k.PrivateKey)
	c.CreatedAt = c.CreatedAt.Truncate(time.Millisecond)
	s.wrapped[k.KeyID] = c
	return nil
}

func (s *Store) DeleteWrappedKey(_ context.Context, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.wrapped[keyID]; !ok {
		return fmt.Errorf("memstore: wrapped key %s: %w", keyID, oauth.ErrNotFound)
	}
	delete(s.wrapped, keyID)
	return nil
}
