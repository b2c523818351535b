package local

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

// Memory configures the embedded default of `make run`: everything in
// memory, no AWS.
type Memory struct {
	Issuer string
	// Seed is loaded into the store; nil means the embedded default seed.
	Seed *seed.File
	// Signer and RefreshKey default to fresh keys that live as long as the
	// process (the dev server passes keys it persists between runs).
	Signer     oauth.Signer
	RefreshKey []byte
	Logger     *slog.Logger
	Now        func() time.Time
	// EventBound is how many events /api/v2/logs keeps (default
	// memstore.DefaultEventBound); Events, when set, also gets each one
	// (the dev server prints them).
	EventBound int
	Events     oauth.EventSink
}

// Deps builds the memory store, loads the seed into it and returns the
// dependencies of local.Routes with the store itself (for tests that look
// inside it). The dev server and every test that serves the seeded API in
// one process start here.
func (m Memory) Deps(ctx context.Context) (Deps, *memstore.Store, error) {
	doc := m.Seed
	if doc == nil {
		var err error
		if doc, err = seed.Default(m.Issuer); err != nil {
			return Deps{}, nil, err
		}
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	store := memstore.New()
	if err := seed.Load(ctx, store, doc, rand.Reader, now()); err != nil {
		return Deps{}, nil, err
	}
	signer := m.Signer
	if signer == nil {
		s, err := localsigner.Generate()
		if err != nil {
			return Deps{}, nil, err
		}
		signer = s
	}
	key := m.RefreshKey
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return Deps{}, nil, fmt.Errorf("local: refresh key: %w", err)
		}
	}
	events := memstore.NewEventLog(m.EventBound)
	var sink oauth.EventSink = events
	if m.Events != nil {
		sink = oauth.Sinks{events, m.Events}
	}
	return Deps{
		Store:      store,
		Signer:     signer,
		Issuer:     m.Issuer,
		RefreshKey: key,
		Events:     sink,
		Logs:       events,
		Roles:      store,
		Now:        now,
		Rand:       rand.Reader,
		Logger:     m.Logger,
	}, store, nil
}
