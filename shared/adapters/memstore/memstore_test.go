package memstore_test

import (
	"errors"
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
