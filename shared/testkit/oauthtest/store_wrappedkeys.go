package oauthtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// RunWrappedKeyStoreTests runs the oauth.WrappedKeyStore conformance suite;
// newStore returns an empty store.
func RunWrappedKeyStoreTests(t *testing.T, newStore func(t *testing.T) oauth.WrappedKeyStore) {
	ctx := context.Background()
	s := newStore(t)
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	old := oauth.WrappedKey{KeyID: "kid-old", Alg: oauth.AlgRS256, PublicKey: []byte{1, 2}, PrivateKey: []byte{3, 4}, Current: true, CreatedAt: base}
	next := oauth.WrappedKey{KeyID: "kid-new", Alg: oauth.AlgRS256, PublicKey: []byte{5}, PrivateKey: []byte{6}, CreatedAt: base.Add(time.Hour)}
	for _, k := range []oauth.WrappedKey{old, next} {
		if err := s.PutWrappedKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.WrappedKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]oauth.WrappedKey{next, old}, got); diff != "" {
		t.Errorf("keys, newest first (-want +got):\n%s", diff)
	}
	// A rotation: the new key becomes current, the old one is only published.
	old.Current, next.Current = false, true
	for _, k := range []oauth.WrappedKey{old, next} {
		if err := s.PutWrappedKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteWrappedKey(ctx, "kid-old"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWrappedKey(ctx, "kid-old"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	got, _ = s.WrappedKeys(ctx)
	if diff := cmp.Diff([]oauth.WrappedKey{next}, got); diff != "" {
		t.Errorf("after the rotation (-want +got):\n%s", diff)
	}
}
