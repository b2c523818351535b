package memstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func TestConformance(t *testing.T) {
	oauthtest.RunStoreTests(t, func(t *testing.T) oauth.Store { return memstore.New() })
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func family(id string) *oauth.Family {
	return &oauth.Family{ID: id, ClientID: "client-1", UserID: "user-1", CreatedAt: base, HeadHash: oauth.HashToken(id + "/0")}
}

func TestFailNext(t *testing.T) {
	outage := fmt.Errorf("dynamodb throttled: %w", oauth.ErrUnavailable)
	advance := oauth.Advance{FromHash: oauth.HashToken("fam-1/0"), ToHash: oauth.HashToken("fam-1/1"), Generation: 1, Now: base}

	t.Run("the next call of the method returns the error and writes nothing", func(t *testing.T) {
		s := memstore.New()
		if err := s.CreateFamily(t.Context(), family("fam-1")); err != nil {
			t.Fatal(err)
		}
		s.FailNext("AdvanceFamily", outage)
		if err := s.AdvanceFamily(t.Context(), "fam-1", advance); !errors.Is(err, oauth.ErrUnavailable) {
			t.Fatalf("AdvanceFamily = %v, want an error wrapping ErrUnavailable", err)
		}
		f, err := s.Family(t.Context(), "fam-1")
		if err != nil {
			t.Fatal(err)
		}
		if f.HeadHash != advance.FromHash || f.Generation != 0 {
			t.Errorf("failed advance wrote: head moved=%v generation=%d", f.HeadHash != advance.FromHash, f.Generation)
		}
		if err := s.AdvanceFamily(t.Context(), "fam-1", advance); err != nil {
			t.Errorf("second AdvanceFamily = %v, want the fault used up", err)
		}
	})

	t.Run("other methods are not affected", func(t *testing.T) {
		s := memstore.New()
		if err := s.CreateFamily(t.Context(), family("fam-1")); err != nil {
			t.Fatal(err)
		}
		s.FailNext("RevokeFamily", outage)
		if _, err := s.Family(t.Context(), "fam-1"); err != nil {
			t.Errorf("Family = %v", err)
		}
		if err := s.AdvanceFamily(t.Context(), "fam-1", advance); err != nil {
			t.Errorf("AdvanceFamily = %v", err)
		}
		if err := s.RevokeFamily(t.Context(), "fam-1", "logout", base); !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("RevokeFamily = %v, want the injected error", err)
		}
	})

	t.Run("faults queue up: n calls fail the next n calls", func(t *testing.T) {
		s := memstore.New()
		other := errors.New("second failure")
		s.FailNext("Client", outage)
		s.FailNext("Client", other)
		if _, err := s.Client(t.Context(), "client-1"); err != outage {
			t.Errorf("first Client = %v, want %v", err, outage)
		}
		if _, err := s.Client(t.Context(), "client-1"); err != other {
			t.Errorf("second Client = %v, want %v", err, other)
		}
		if _, err := s.Client(t.Context(), "client-1"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("third Client = %v, want ErrNotFound", err)
		}
	})

	t.Run("a failed redeem leaves the code unused and creates no family", func(t *testing.T) {
		s := memstore.New()
		code := &oauth.AuthCode{Hash: oauth.HashToken("code-1"), ClientID: "client-1", ExpiresAt: base.Add(time.Minute)}
		if err := s.CreateCode(t.Context(), code); err != nil {
			t.Fatal(err)
		}
		s.FailNext("RedeemCode", outage)
		if err := s.RedeemCode(t.Context(), code.Hash, family("fam-1"), base); !errors.Is(err, oauth.ErrUnavailable) {
			t.Fatalf("RedeemCode = %v, want the injected error", err)
		}
		got, err := s.Code(t.Context(), code.Hash, base)
		if err != nil {
			t.Fatal(err)
		}
		if got.Used {
			t.Error("failed redeem marked the code used")
		}
		if _, err := s.Family(t.Context(), "fam-1"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("Family = %v, want ErrNotFound", err)
		}
	})

	t.Run("an unknown method name panics", func(t *testing.T) {
		for _, name := range []string{"AdvanceFamiliy", "FailNext", ""} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("FailNext(%q) did not panic", name)
					}
				}()
				memstore.New().FailNext(name, outage)
			}()
		}
	})
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
