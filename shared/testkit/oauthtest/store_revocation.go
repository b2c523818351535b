package oauthtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// User revocation markers: a block, a deletion or "revoke all" must reach
// every family of the user, including one created while the administrator
// acted (SECURITY.md RT-11, R6).

// storeAdvance is the first rotation of family f at now.
func storeAdvance(f *oauth.Family, now time.Time) oauth.Advance {
	return oauth.Advance{
		UserID: f.UserID, CreatedAt: f.CreatedAt,
		FromHash: storeHead(f.ID, 0), ToHash: storeHead(f.ID, 1), Generation: 1,
		Now: now, IdleExpiresAt: now.Add(24 * time.Hour),
	}
}

func storeRevocationCases() []storeCase {
	return []storeCase{
		{"a user without a marker is ErrNotFound and advances normally", func(t *testing.T, s oauth.Store) {
			_, err := s.UserRevocation(t.Context(), "user-1")
			storeErrIs(t, "UserRevocation", err, oauth.ErrNotFound)
			f := storeFamily("fam-1", "user-1")
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), f.ID, storeAdvance(f, storeAt(time.Hour))))
		}},
		{"a blocked user's family does not advance and is left unchanged; unblocking lets it advance", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			storeMust(t, "SetUserBlocked", s.SetUserBlocked(t.Context(), "user-1", true))
			storeErrIs(t, "AdvanceFamily while blocked", s.AdvanceFamily(t.Context(), f.ID, storeAdvance(f, storeAt(time.Hour))), oauth.ErrUserRevoked)
			got, err := s.Family(t.Context(), f.ID)
			storeMust(t, "Family", err)
			storeDiff(t, "family after a refused advance", f, got)
			r, err := s.UserRevocation(t.Context(), "user-1")
			storeMust(t, "UserRevocation", err)
			storeDiff(t, "marker", &oauth.UserRevocation{Blocked: true}, r)

			storeMust(t, "SetUserBlocked false", s.SetUserBlocked(t.Context(), "user-1", false))
			storeMust(t, "AdvanceFamily after unblocking", s.AdvanceFamily(t.Context(), f.ID, storeAdvance(f, storeAt(time.Hour))))
		}},
		{"another user's block does not stop a family", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			storeMust(t, "SetUserBlocked", s.SetUserBlocked(t.Context(), "user-2", true))
			storeMust(t, "RevokeUserTokens", s.RevokeUserTokens(t.Context(), "user-2", storeAt(time.Hour)))
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), f.ID, storeAdvance(f, storeAt(time.Hour))))
		}},
		{"revoking a user's tokens stops families created at or before notBefore, not those created after it", func(t *testing.T, s oauth.Store) {
			old := storeFamily("fam-old", "user-1")
			old.CreatedAt = storeAt(2 * time.Hour)
			young := storeFamily("fam-young", "user-1")
			young.CreatedAt = storeAt(2*time.Hour + time.Second)
			storeMust(t, "CreateFamily old", s.CreateFamily(t.Context(), old))
			storeMust(t, "CreateFamily young", s.CreateFamily(t.Context(), young))
			storeMust(t, "RevokeUserTokens", s.RevokeUserTokens(t.Context(), "user-1", storeAt(2*time.Hour)))
			// An earlier notBefore does not move the marker back.
			storeMust(t, "RevokeUserTokens earlier", s.RevokeUserTokens(t.Context(), "user-1", storeAt(time.Hour)))
			r, err := s.UserRevocation(t.Context(), "user-1")
			storeMust(t, "UserRevocation", err)
			storeDiff(t, "marker", &oauth.UserRevocation{NotBefore: storeAt(2 * time.Hour)}, r)
			storeErrIs(t, "AdvanceFamily old", s.AdvanceFamily(t.Context(), old.ID, storeAdvance(old, storeAt(3*time.Hour))), oauth.ErrUserRevoked)
			storeMust(t, "AdvanceFamily young", s.AdvanceFamily(t.Context(), young.ID, storeAdvance(young, storeAt(3*time.Hour))))
			// Blocking keeps notBefore; unblocking does not revive the old family.
			storeMust(t, "SetUserBlocked", s.SetUserBlocked(t.Context(), "user-1", true))
			storeMust(t, "SetUserBlocked false", s.SetUserBlocked(t.Context(), "user-1", false))
			storeErrIs(t, "AdvanceFamily old after unblocking", s.AdvanceFamily(t.Context(), old.ID, storeAdvance(old, storeAt(3*time.Hour))), oauth.ErrUserRevoked)
		}},
		{"redeeming a code into a family of a blocked user is ErrUserRevoked and writes nothing", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "SetUserBlocked", s.SetUserBlocked(t.Context(), "user-1", true))
			storeErrIs(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(time.Second)), oauth.ErrUserRevoked)
			got, err := s.Code(t.Context(), hash, storeAt(2*time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "code after a refused redemption", storeCode("code-1"), got)
			_, err = s.Family(t.Context(), "fam-1")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
		}},
		{"redeeming a code into a family created at the user's notBefore is ErrUserRevoked", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "RevokeUserTokens", s.RevokeUserTokens(t.Context(), "user-1", storeBase))
			storeErrIs(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(time.Second)), oauth.ErrUserRevoked)
		}},
		{"block racing code redemptions and advances: afterwards no family of the user advances", func(t *testing.T, s oauth.Store) {
			// Families that exist before the race, and codes redeemed during it.
			const n = 10
			for i := range n {
				storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily(fmt.Sprintf("fam-pre-%d", i), "user-1")))
				storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode(fmt.Sprintf("code-%d", i))))
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					f := storeFamily(fmt.Sprintf("fam-new-%d", i), "user-1")
					err := s.RedeemCode(t.Context(), oauth.HashToken(fmt.Sprintf("code-%d", i)), f, storeAt(time.Second))
					if err != nil && !errors.Is(err, oauth.ErrUserRevoked) {
						t.Errorf("RedeemCode %d: %v", i, err)
					}
				})
				wg.Go(func() {
					<-start
					f := storeFamily(fmt.Sprintf("fam-pre-%d", i), "user-1")
					err := s.AdvanceFamily(t.Context(), f.ID, storeAdvance(f, storeAt(time.Second)))
					if err != nil && !errors.Is(err, oauth.ErrUserRevoked) {
						t.Errorf("AdvanceFamily %d: %v", i, err)
					}
				})
			}
			wg.Go(func() {
				<-start
				if err := s.SetUserBlocked(t.Context(), "user-1", true); err != nil {
					t.Errorf("SetUserBlocked: %v", err)
				}
			})
			close(start)
			wg.Wait()
			for _, prefix := range []string{"fam-pre", "fam-new"} {
				for i := range n {
					id := fmt.Sprintf("%s-%d", prefix, i)
					f, err := s.Family(t.Context(), id)
					if errors.Is(err, oauth.ErrNotFound) {
						continue // its redemption lost to the block
					}
					storeMust(t, "Family", err)
					a := oauth.Advance{UserID: f.UserID, CreatedAt: f.CreatedAt, FromHash: f.HeadHash,
						ToHash: storeHead(id, 9), Generation: 9, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
					storeErrIs(t, "AdvanceFamily "+id+" after the block", s.AdvanceFamily(t.Context(), id, a), oauth.ErrUserRevoked)
				}
			}
		}},
	}
}
