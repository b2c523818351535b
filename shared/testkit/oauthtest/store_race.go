package oauthtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// storeRacers is how many goroutines race for one conditional write.
const storeRacers = 50

// storeRace runs f(i) for i in [0, n) on n goroutines released together and
// returns their errors by i.
func storeRace(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// storeOneWinner returns the index of the only nil error, reporting a
// failure unless exactly one call succeeded and all others failed with lost.
func storeOneWinner(t *testing.T, op string, errs []error, lost error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: calls %d and %d both succeeded", op, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, lost):
			t.Errorf("%s: call %d failed with %v, want %v", op, i, err, lost)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no call succeeded", op)
	}
	return winner
}

func storeConcurrencyCases() []storeCase {
	return []storeCase{
		{"concurrent advances from one head: exactly one wins, the rest are ErrConsumed", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			errs := storeRace(storeRacers, func(i int) error {
				return s.AdvanceFamily(t.Context(), "fam-1", oauth.Advance{
					FromHash:      storeHead("fam-1", 0),
					ToHash:        oauth.HashToken(fmt.Sprintf("child %d", i)),
					Generation:    1,
					Now:           storeAt(time.Duration(i) * time.Second),
					IdleExpiresAt: storeAt(24*time.Hour + time.Duration(i)*time.Second),
				})
			})
			w := storeOneWinner(t, "AdvanceFamily", errs, oauth.ErrConsumed)
			if w < 0 {
				return
			}
			want := storeFamily("fam-1", "user-1")
			want.HeadHash, want.PrevHash, want.Generation = oauth.HashToken(fmt.Sprintf("child %d", w)), storeHead("fam-1", 0), 1
			want.RotatedAt, want.LastUsedAt = storeAt(time.Duration(w)*time.Second), storeAt(time.Duration(w)*time.Second)
			want.IdleExpiresAt = storeAt(24*time.Hour + time.Duration(w)*time.Second)
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family after the race", want, got)
		}},
		// What this proves depends on the store. On the memory store: the
		// store's own locking. On the DynamoDB store against moto: only that
		// the store sends one conditional TransactWriteItems per redemption
		// and maps its failure to ErrConsumed; moto applies concurrent
		// conditional transactions on one item non-atomically (two of them
		// both succeeded in 1 of 10 trials), so awstest.StartMoto passes it
		// one request at a time, and this race is then a serial sequence.
		// That redemption stays single under real concurrency rests on
		// DynamoDB's documented atomicity of a conditional write and of a
		// transaction. A store that checks the code and then writes in a
		// second step (read-then-write) fails this test wherever its steps
		// really interleave, as they do on the memory store's goroutines.
		{"concurrent redeems of one code: exactly one succeeds and only its family exists", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			famID := func(i int) string { return fmt.Sprintf("fam-%02d", i) }
			errs := storeRace(storeRacers, func(i int) error {
				return s.RedeemCode(t.Context(), hash, storeFamily(famID(i), "user-1"), storeAt(time.Second))
			})
			w := storeOneWinner(t, "RedeemCode", errs, oauth.ErrConsumed)
			if w < 0 {
				return
			}
			code, err := s.Code(t.Context(), hash, storeAt(time.Second))
			storeMust(t, "Code", err)
			if !code.Used || code.FamilyID != famID(w) {
				t.Errorf("code Used=%v FamilyID=%q, want true and %q", code.Used, code.FamilyID, famID(w))
			}
			fams, err := s.FamiliesByUser(t.Context(), "user-1")
			storeMust(t, "FamiliesByUser", err)
			var ids []string
			for _, f := range fams {
				ids = append(ids, f.ID)
			}
			storeDiff(t, "families", []string{famID(w)}, ids)
		}},
		{"advance racing revoke never undoes the revocation nor loses an advance", func(t *testing.T, s oauth.Store) {
			const rounds, maxAdvances = 20, 20
			for r := range rounds {
				id := fmt.Sprintf("fam-%02d", r)
				storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily(id, "user-1")))
				var (
					advanced   int
					advanceErr error
					revokeErr  error
					seen       *oauth.Family
					seenErr    error
				)
				storeRace(2, func(i int) error {
					if i == 0 {
						for advanced < maxAdvances {
							advanceErr = s.AdvanceFamily(t.Context(), id, oauth.Advance{
								FromHash:      storeHead(id, advanced),
								ToHash:        storeHead(id, advanced+1),
								Generation:    advanced + 1,
								Now:           storeAt(time.Duration(advanced+1) * time.Second),
								IdleExpiresAt: storeAt(24 * time.Hour),
							})
							if advanceErr != nil {
								return nil
							}
							advanced++
						}
						return nil
					}
					revokeErr = s.RevokeFamily(t.Context(), id, "logout", storeAt(time.Hour))
					if revokeErr == nil {
						seen, seenErr = s.Family(t.Context(), id)
					}
					return nil
				})
				if revokeErr != nil {
					t.Fatalf("round %d: RevokeFamily: %v", r, revokeErr)
				}
				if seenErr != nil || !seen.Revoked {
					t.Errorf("round %d: read right after RevokeFamily returned: family %+v, error %v; want revoked", r, seen, seenErr)
				}
				if advanceErr != nil && !errors.Is(advanceErr, oauth.ErrRevoked) {
					t.Errorf("round %d: AdvanceFamily failed with %v, want %v", r, advanceErr, oauth.ErrRevoked)
				}
				got, err := s.Family(t.Context(), id)
				storeMust(t, "Family", err)
				if !got.Revoked || got.RevokeReason != "logout" || !got.RevokedAt.Equal(storeAt(time.Hour)) {
					t.Errorf("round %d: family Revoked=%v RevokedAt=%v RevokeReason=%q, want revoked at %v for logout",
						r, got.Revoked, got.RevokedAt, got.RevokeReason, storeAt(time.Hour))
				}
				if got.Generation != advanced || got.HeadHash != storeHead(id, advanced) {
					t.Errorf("round %d: family at generation %d, want %d: the store lost or invented an advance", r, got.Generation, advanced)
				}
			}
		}},
	}
}
