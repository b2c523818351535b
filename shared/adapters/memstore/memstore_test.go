package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func TestConformance(t *testing.T) {
	oauthtest.RunStoreTests(t, oauthtest.StoreHarness{NewStore: func(t *testing.T) oauth.Store { return memstore.New() }})
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func family(id string) *oauth.Family {
	return &oauth.Family{ID: id, ClientID: "client-1", UserID: "user-1", CreatedAt: base, HeadHash: oauth.HashToken(id + "/0")}
}

func TestUpdateClientGrantRejectsMovingTheGrant(t *testing.T) {
	s := memstore.New()
	g := &oauth.ClientGrant{ID: "cg-1", ClientID: "client-1", Audience: "https://api.a.example", Scope: []string{"read"}}
	if err := s.CreateClientGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	moved := &oauth.ClientGrant{ID: "cg-1", ClientID: "client-1", Audience: "https://api.b.example", Scope: []string{"admin"}}
	if err := s.UpdateClientGrant(t.Context(), moved); err == nil {
		t.Fatal("UpdateClientGrant moved the grant to another audience")
	}
	got, err := s.ClientGrantFor(t.Context(), "client-1", "https://api.a.example")
	if err != nil {
		t.Fatal(err)
	}
	if got.Scope[0] != "read" {
		t.Errorf("rejected update changed the scope to %v", got.Scope)
	}
	if _, err := s.ClientGrantFor(t.Context(), "client-1", "https://api.b.example"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("ClientGrantFor new audience = %v, want ErrNotFound", err)
	}
}

func TestRoleStoreConformance(t *testing.T) {
	oauthtest.RunRoleStoreTests(t, func(t *testing.T) oauth.RoleStore { return memstore.New() })
}

func TestWrappedKeyStoreConformance(t *testing.T) {
	oauthtest.RunWrappedKeyStoreTests(t, func(t *testing.T) oauth.WrappedKeyStore { return memstore.New() })
}

func TestEventLogKeepsTheLatestBoundEvents(t *testing.T) {
	l := memstore.NewEventLog(3)
	ctx := context.Background()
	for i := range 10 {
		l.Emit(ctx, oauth.Event{LogID: fmt.Sprintf("%019d", i), Type: "s"})
	}
	got, _ := l.Events(ctx, oauth.EventQuery{})
	var ids []string
	for _, e := range got {
		ids = append(ids, e.LogID)
	}
	if want := []string{fmt.Sprintf("%019d", 9), fmt.Sprintf("%019d", 8), fmt.Sprintf("%019d", 7)}; !slices.Equal(ids, want) {
		t.Errorf("events %v, want the latest three, newest first %v", ids, want)
	}
	if _, err := l.Event(ctx, fmt.Sprintf("%019d", 6)); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("an event past the bound: %v, want ErrNotFound", err)
	}
}
