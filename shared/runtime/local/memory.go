package local

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

// MemoryStore returns a memory store loaded from the seed file at seedPath,
// or from the embedded default seed when seedPath is "": the store of
// `make run` and of the tests that serve the default seed.
func MemoryStore(ctx context.Context, seedPath, issuer string) (*memstore.Store, error) {
	doc, err := seed.Open(seedPath, issuer)
	if err != nil {
		return nil, err
	}
	store := memstore.New()
	if err := seed.Load(ctx, store, doc, rand.Reader, time.Now()); err != nil {
		return nil, err
	}
	return store, nil
}
