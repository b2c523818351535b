package faults_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/faults"
)

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func family(id string) *oauth.Family {
	return &oauth.Family{ID: id, ClientID: "client-1", UserID: "user-1", CreatedAt: base, HeadHash: oauth.HashToken(id + "/0")}
}

func TestFailNext(t *testing.T) {
	outage := fmt.Errorf("dynamodb throttled: %w", oauth.ErrUnavailable)
	advance := oauth.Advance{FromHash: oauth.HashToken("fam-1/0"), ToHash: oauth.HashToken("fam-1/1"), Generation: 1, Now: base}

	t.Run("the next call of the method returns the error and writes nothing", func(t *testing.T) {
		s := faults.NewStore(memstore.New())
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
		s := faults.NewStore(memstore.New())
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
		s := faults.NewStore(memstore.New())
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
		s := faults.NewStore(memstore.New())
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
		for _, name := range []string{"AdvanceFamiliy", "FailNext", "Calls", ""} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("FailNext(%q) did not panic", name)
					}
				}()
				faults.NewStore(memstore.New()).FailNext(name, outage)
			}()
		}
	})
}

// TestEveryStoreMethodCanFail guards against a method added to oauth.Store
// but not to the decorator: it would be promoted from the wrapped store and
// silently ignore FailNext. The wrapped store is nil, so a promoted method
// panics instead of returning the injected error.
func TestEveryStoreMethodCanFail(t *testing.T) {
	sentinel := errors.New("injected")
	st := reflect.TypeFor[oauth.Store]()
	for i := range st.NumMethod() {
		name := st.Method(i).Name
		t.Run(name, func(t *testing.T) {
			s := faults.NewStore(nil)
			s.FailNext(name, sentinel)
			m := reflect.ValueOf(s).MethodByName(name)
			args := make([]reflect.Value, m.Type().NumIn())
			for j := range args {
				args[j] = reflect.Zero(m.Type().In(j))
			}
			args[0] = reflect.ValueOf(context.Background())
			var out []reflect.Value
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s reached the wrapped store (%v): the decorator does not override it", name, r)
					}
				}()
				out = m.Call(args)
			}()
			if err, _ := out[len(out)-1].Interface().(error); err != sentinel {
				t.Errorf("%s = %v, want the injected error", name, err)
			}
			if got := s.Calls(name); got != 1 {
				t.Errorf("Calls(%q) = %d, want 1", name, got)
			}
		})
	}
}

func TestSignerFailNext(t *testing.T) {
	inner, err := localsigner.Generate(oauth.AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	outage := fmt.Errorf("kms throttled: %w", oauth.ErrUnavailable)
	claims := map[string]any{"sub": "user-1"}

	t.Run("a fault for one token type spares the others", func(t *testing.T) {
		s := faults.NewSigner(inner)
		s.FailNext(oauth.TypIDToken, outage)
		if _, err := s.Sign(t.Context(), "", oauth.TypAccessToken, claims); err != nil {
			t.Errorf("access token Sign = %v, want success", err)
		}
		if _, err := s.Sign(t.Context(), "", oauth.TypIDToken, claims); err != outage {
			t.Errorf("ID token Sign = %v, want the injected error", err)
		}
		if _, err := s.Sign(t.Context(), "", oauth.TypIDToken, claims); err != nil {
			t.Errorf("second ID token Sign = %v, want the fault used up", err)
		}
		if got := s.Signs(); got != 3 {
			t.Errorf("Signs() = %d, want 3", got)
		}
	})

	t.Run("a fault for any type hits the next sign", func(t *testing.T) {
		s := faults.NewSigner(inner)
		s.FailNext("", outage)
		if _, err := s.Sign(t.Context(), "", oauth.TypAccessToken, claims); err != outage {
			t.Errorf("Sign = %v, want the injected error", err)
		}
		if _, err := s.Sign(t.Context(), "", oauth.TypAccessToken, claims); err != nil {
			t.Errorf("second Sign = %v, want success", err)
		}
	})
}
