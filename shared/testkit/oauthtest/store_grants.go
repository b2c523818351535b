package oauthtest

import (
	"errors"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Authorization codes and refresh-token families: the items whose
// conditional writes stop replays.

func storeCodeCases() []storeCase {
	return []storeCase{
		{"created code reads back equal until it expires", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			for _, now := range []time.Time{storeBase, storeAt(oauth.CodeLifetime - time.Second)} {
				got, err := s.Code(t.Context(), oauth.HashToken("code-1"), now)
				if err != nil {
					t.Errorf("Code at %v: %v", now, err)
					continue
				}
				storeDiff(t, "code", storeCode("code-1"), got)
			}
		}},
		{"code is ErrNotFound at and after its expiry", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			for _, now := range []time.Time{storeAt(oauth.CodeLifetime), storeAt(time.Hour)} {
				got, err := s.Code(t.Context(), oauth.HashToken("code-1"), now)
				storeErrIs(t, "Code at "+now.String(), err, oauth.ErrNotFound)
				if got != nil {
					t.Errorf("Code at %v returned %+v with the error, want nil", now, got)
				}
			}
		}},
		{"unknown code is ErrNotFound", func(t *testing.T, s oauth.Store) {
			_, err := s.Code(t.Context(), oauth.HashToken("nope"), storeBase)
			storeErrIs(t, "Code", err, oauth.ErrNotFound)
		}},
		{"creating an existing code hash is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			dup := storeCode("code-1")
			dup.ClientID = "client-evil"
			storeErrIs(t, "CreateCode again", s.CreateCode(t.Context(), dup), oauth.ErrAlreadyExists)
			got, err := s.Code(t.Context(), oauth.HashToken("code-1"), storeBase)
			storeMust(t, "Code", err)
			storeDiff(t, "code", storeCode("code-1"), got)
		}},
		{"redeem marks the code used, records the family id and creates the family", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(time.Second)))
			want := storeCode("code-1")
			want.Used, want.FamilyID = true, "fam-1"
			got, err := s.Code(t.Context(), hash, storeAt(2*time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "used code", want, got)
			fam, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", storeFamily("fam-1", "user-1"), fam)
		}},
		{"second redeem is ErrConsumed and writes nothing", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(time.Second)))
			storeErrIs(t, "RedeemCode again", s.RedeemCode(t.Context(), hash, storeFamily("fam-2", "user-1"), storeAt(2*time.Second)), oauth.ErrConsumed)
			storeErrIs(t, "RedeemCode again without a family", s.RedeemCode(t.Context(), hash, nil, storeAt(2*time.Second)), oauth.ErrConsumed)
			_, err := s.Family(t.Context(), "fam-2")
			storeErrIs(t, "Family of the second redeem", err, oauth.ErrNotFound)
			got, err := s.Code(t.Context(), hash, storeAt(3*time.Second))
			storeMust(t, "Code", err)
			if !got.Used || got.FamilyID != "fam-1" {
				t.Errorf("code Used=%v FamilyID=%q, want true and fam-1", got.Used, got.FamilyID)
			}
		}},
		{"redeem without a family marks the code used and creates none", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "RedeemCode", s.RedeemCode(t.Context(), hash, nil, storeAt(time.Second)))
			want := storeCode("code-1")
			want.Used = true
			got, err := s.Code(t.Context(), hash, storeAt(time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "used code", want, got)
			fams, err := s.FamiliesByUser(t.Context(), "user-1")
			storeMust(t, "FamiliesByUser", err)
			if len(fams) != 0 {
				t.Errorf("redeem without a family created %d families", len(fams))
			}
		}},
		{"redeeming an expired code is ErrNotFound and writes nothing", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeErrIs(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(oauth.CodeLifetime)), oauth.ErrNotFound)
			_, err := s.Family(t.Context(), "fam-1")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
			got, err := s.Code(t.Context(), hash, storeBase)
			storeMust(t, "Code before expiry", err)
			storeDiff(t, "code", storeCode("code-1"), got)
		}},
		{"redeeming an unknown code is ErrNotFound and creates no family", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "RedeemCode", s.RedeemCode(t.Context(), oauth.HashToken("nope"), storeFamily("fam-1", "user-1"), storeBase), oauth.ErrNotFound)
			_, err := s.Family(t.Context(), "fam-1")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
		}},
		{"redeem into an existing family id is ErrAlreadyExists and leaves code and family unchanged", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			other := storeFamily("fam-1", "user-2")
			storeErrIs(t, "RedeemCode", s.RedeemCode(t.Context(), hash, other, storeAt(time.Second)), oauth.ErrAlreadyExists)
			got, err := s.Code(t.Context(), hash, storeAt(time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "code", storeCode("code-1"), got)
			fam, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", storeFamily("fam-1", "user-1"), fam)
		}},
		{"settling an applied redemption marks the code in doubt; any other settles nothing", func(t *testing.T, s oauth.Store) {
			hash := oauth.HashToken("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), storeCode("code-1")))
			settle := func(what, familyID string, want bool) {
				t.Helper()
				applied, err := s.SettleRedemption(t.Context(), hash, familyID)
				storeMust(t, what, err)
				if applied != want {
					t.Errorf("%s: applied = %v, want %v", what, applied, want)
				}
			}
			settle("SettleRedemption of an unused code", "fam-1", false)
			got, err := s.Code(t.Context(), hash, storeAt(time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "unused code after a settle", storeCode("code-1"), got)

			storeMust(t, "RedeemCode", s.RedeemCode(t.Context(), hash, storeFamily("fam-1", "user-1"), storeAt(time.Second)))
			settle("SettleRedemption for another family", "fam-2", false)
			want := storeCode("code-1")
			want.Used, want.FamilyID = true, "fam-1"
			got, err = s.Code(t.Context(), hash, storeAt(2*time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "code after a settle for another family", want, got)

			settle("SettleRedemption", "fam-1", true)
			settle("SettleRedemption again", "fam-1", true)
			want.InDoubt = true
			got, err = s.Code(t.Context(), hash, storeAt(2*time.Second))
			storeMust(t, "Code", err)
			storeDiff(t, "settled code", want, got)

			_, err = s.SettleRedemption(t.Context(), oauth.HashToken("nope"), "fam-1")
			storeErrIs(t, "SettleRedemption of an unknown code", err, oauth.ErrNotFound)
		}},
	}
}

func storeFamilyCases() []storeCase {
	familyID := func(f *oauth.Family) string { return f.ID }
	return []storeCase{
		{"created family reads back equal", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", storeFamily("fam-1", "user-1"), got)
		}},
		{"family with every field set reads back equal", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			f.Generation = 7
			f.HeadHash = storeHead("fam-1", 7)
			f.PrevHash = storeHead("fam-1", 6)
			f.RotatedAt = storeAt(time.Hour)
			f.LastUsedAt = storeAt(time.Hour)
			f.Revoked = true
			f.RevokedAt = storeAt(2 * time.Hour)
			f.RevokeReason = "refresh token reused"
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", f, got)
		}},
		{"family without expiries reads back zero times", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			f.ExpiresAt, f.IdleExpiresAt = time.Time{}, time.Time{}
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			if !got.ExpiresAt.IsZero() || !got.IdleExpiresAt.IsZero() || !got.RotatedAt.IsZero() || !got.RevokedAt.IsZero() || !got.LastUsedAt.IsZero() {
				t.Errorf("unset times came back set: %+v", got)
			}
		}},
		{"creating an existing family id is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			storeErrIs(t, "CreateFamily again", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-2")), oauth.ErrAlreadyExists)
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", storeFamily("fam-1", "user-1"), got)
			others, err := s.FamiliesByUser(t.Context(), "user-2")
			storeMust(t, "FamiliesByUser", err)
			if len(others) != 0 {
				t.Errorf("the rejected family is listed for its user: %d families", len(others))
			}
		}},
		{"unknown family is ErrNotFound", func(t *testing.T, s oauth.Store) {
			got, err := s.Family(t.Context(), "nope")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
			if got != nil {
				t.Errorf("Family returned %+v with the error, want nil", got)
			}
		}},
		{"expired and revoked families are still returned", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			f.ExpiresAt = storeAt(-time.Hour)
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "logout", storeBase))
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			if !got.Revoked || got.Active(storeBase) {
				t.Errorf("family Revoked=%v Active=%v, want revoked and inactive", got.Revoked, got.Active(storeBase))
			}
		}},
		{"families of a user are sorted by creation time then id, other users' left out", func(t *testing.T, s oauth.Store) {
			mk := func(id, user string, created time.Time) {
				f := storeFamily(id, user)
				f.CreatedAt = created
				storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			}
			mk("fam-a", "user-1", storeAt(2*time.Hour))
			mk("fam-z", "user-1", storeAt(time.Hour))
			mk("fam-b", "user-1", storeAt(time.Hour))
			mk("fam-c", "user-1", storeAt(-time.Hour))
			mk("fam-other", "user-2", storeAt(time.Hour))
			list, err := s.FamiliesByUser(t.Context(), "user-1")
			storeMust(t, "FamiliesByUser", err)
			var ids []string
			for _, f := range list {
				ids = append(ids, familyID(f))
			}
			storeDiff(t, "family ids", []string{"fam-c", "fam-b", "fam-z", "fam-a"}, ids)
			if len(list) == 4 {
				want := storeFamily("fam-b", "user-1")
				want.CreatedAt = storeAt(time.Hour)
				storeDiff(t, "listed family", want, list[1])
			}
		}},
		{"a user without families gets an empty list", func(t *testing.T, s oauth.Store) {
			list, err := s.FamiliesByUser(t.Context(), "user-1")
			storeMust(t, "FamiliesByUser", err)
			if len(list) != 0 {
				t.Errorf("got %d families, want none", len(list))
			}
		}},
		{"advance from the head rotates it and records the predecessor", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			a := oauth.Advance{
				FromHash:      storeHead("fam-1", 0),
				ToHash:        storeHead("fam-1", 1),
				Generation:    1,
				Now:           storeAt(time.Hour),
				IdleExpiresAt: storeAt(25 * time.Hour),
			}
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", a))
			want := storeFamily("fam-1", "user-1")
			want.HeadHash, want.PrevHash, want.Generation = a.ToHash, a.FromHash, 1
			want.RotatedAt, want.LastUsedAt, want.IdleExpiresAt = a.Now, a.Now, a.IdleExpiresAt
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", want, got)

			b := oauth.Advance{
				FromHash:      storeHead("fam-1", 1),
				ToHash:        storeHead("fam-1", 2),
				Generation:    2,
				Now:           storeAt(2 * time.Hour),
				IdleExpiresAt: storeAt(26 * time.Hour),
			}
			storeMust(t, "AdvanceFamily from the new head", s.AdvanceFamily(t.Context(), "fam-1", b))
			want.HeadHash, want.PrevHash, want.Generation = b.ToHash, b.FromHash, 2
			want.RotatedAt, want.LastUsedAt, want.IdleExpiresAt = b.Now, b.Now, b.IdleExpiresAt
			got, err = s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family after the second rotation", want, got)
		}},
		{"advance from a stale hash is ErrConsumed and writes nothing", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			first := oauth.Advance{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", first))
			before, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			for _, stale := range []oauth.Advance{
				{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 9), Generation: 1, Now: storeAt(2 * time.Hour), IdleExpiresAt: storeAt(26 * time.Hour)},
				{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 0), Generation: 0, Now: storeAt(2 * time.Hour), IdleExpiresAt: storeAt(26 * time.Hour)},
				{FromHash: oauth.HashToken("never issued"), ToHash: storeHead("fam-1", 9), Generation: 2, Now: storeAt(2 * time.Hour), IdleExpiresAt: storeAt(26 * time.Hour)},
			} {
				storeErrIs(t, "AdvanceFamily from a stale hash", s.AdvanceFamily(t.Context(), "fam-1", stale), oauth.ErrConsumed)
			}
			after, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", before, after)
		}},
		{"advance of a revoked family is ErrRevoked, even from a stale hash, and writes nothing", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "logout", storeAt(time.Minute)))
			before, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			for _, from := range []string{storeHead("fam-1", 0), oauth.HashToken("stale")} {
				a := oauth.Advance{FromHash: from, ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
				storeErrIs(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", a), oauth.ErrRevoked)
			}
			after, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", before, after)
		}},
		{"a refused advance hands back the family as stored: moved head, revocation or expiry", func(t *testing.T, s oauth.Store) {
			// A caller holding only a sealed token learns from the refusal
			// itself where its token stands (leeway, reuse, revoked, expired).
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			first := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", first))
			refused := func(what string, a oauth.Advance, want error) {
				t.Helper()
				err := s.AdvanceFamily(t.Context(), "fam-1", a)
				storeErrIs(t, what, err, want)
				stored, rerr := s.Family(t.Context(), "fam-1")
				storeMust(t, "Family", rerr)
				var stale *oauth.StaleFamilyError
				if !errors.As(err, &stale) {
					t.Errorf("%s: %v is not a *oauth.StaleFamilyError", what, err)
					return
				}
				storeDiff(t, what+": the family handed back", stored, stale.Family)
			}
			refused("advance from the predecessor", first, oauth.ErrConsumed)
			idle := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: storeHead("fam-1", 1), ToHash: storeHead("fam-1", 2), Generation: 2, Now: storeAt(25 * time.Hour), IdleExpiresAt: storeAt(49 * time.Hour)}
			refused("advance at the idle expiry", idle, oauth.ErrExpired)
			absolute := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: storeHead("fam-1", 1), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(30 * 24 * time.Hour), IdleExpiresAt: time.Time{}}
			refused("advance at the absolute expiry", absolute, oauth.ErrExpired)
			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "logout", storeAt(2*time.Hour)))
			live := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: storeHead("fam-1", 1), ToHash: storeHead("fam-1", 2), Generation: 2, Now: storeAt(3 * time.Hour), IdleExpiresAt: storeAt(27 * time.Hour)}
			refused("advance of the revoked family", live, oauth.ErrRevoked)
		}},
		{"settling an applied rotation marks its head in doubt until the next rotation; any other settles nothing", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			first := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
			settle := func(what string, a oauth.Advance, want bool) {
				t.Helper()
				applied, err := s.SettleAdvance(t.Context(), "fam-1", a)
				storeMust(t, what, err)
				if applied != want {
					t.Errorf("%s: applied = %v, want %v", what, applied, want)
				}
			}
			family := func() *oauth.Family {
				t.Helper()
				f, err := s.Family(t.Context(), "fam-1")
				storeMust(t, "Family", err)
				return f
			}
			settle("SettleAdvance before the rotation", first, false)
			storeDiff(t, "family after a settle that found nothing", storeFamily("fam-1", "user-1"), family())

			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", first))
			rotated := family()
			other := first
			other.ToHash = storeHead("fam-1", 9)
			settle("SettleAdvance of another rotation", other, false)
			storeDiff(t, "family after a settle of another rotation", rotated, family())

			settle("SettleAdvance", first, true)
			settle("SettleAdvance again", first, true)
			rotated.InDoubt = 1
			storeDiff(t, "settled family", rotated, family())

			keep := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: first.ToHash, ToHash: first.ToHash, Generation: 1, Now: storeAt(2 * time.Hour), IdleExpiresAt: storeAt(26 * time.Hour)}
			storeMust(t, "AdvanceFamily non-rotating", s.AdvanceFamily(t.Context(), "fam-1", keep))
			if got := family().InDoubt; got != 1 {
				t.Errorf("InDoubt after a non-rotating advance = %d, want 1", got)
			}
			next := oauth.Advance{UserID: "user-1", CreatedAt: storeBase, FromHash: first.ToHash, ToHash: storeHead("fam-1", 2), Generation: 2, Now: storeAt(3 * time.Hour), IdleExpiresAt: storeAt(27 * time.Hour)}
			storeMust(t, "AdvanceFamily rotating", s.AdvanceFamily(t.Context(), "fam-1", next))
			if got := family().InDoubt; got != 0 {
				t.Errorf("InDoubt after the next rotation = %d, want 0", got)
			}

			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "logout", storeAt(4*time.Hour)))
			settle("SettleAdvance of a revoked family", next, false)
			_, err := s.SettleAdvance(t.Context(), "fam-9", first)
			storeErrIs(t, "SettleAdvance of an unknown family", err, oauth.ErrNotFound)
		}},
		{"advance of an unknown family is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			a := oauth.Advance{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeBase, IdleExpiresAt: storeAt(time.Hour)}
			storeErrIs(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", a), oauth.ErrNotFound)
			_, err := s.Family(t.Context(), "fam-1")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
		}},
		{"non-rotating advance moves only idle expiry and last use, keeping the predecessor", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			rotate := oauth.Advance{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
			storeMust(t, "AdvanceFamily rotating", s.AdvanceFamily(t.Context(), "fam-1", rotate))
			keep := oauth.Advance{FromHash: storeHead("fam-1", 1), ToHash: storeHead("fam-1", 1), Generation: 1, Now: storeAt(3 * time.Hour), IdleExpiresAt: storeAt(27 * time.Hour)}
			storeMust(t, "AdvanceFamily non-rotating", s.AdvanceFamily(t.Context(), "fam-1", keep))
			want := storeFamily("fam-1", "user-1")
			want.HeadHash, want.PrevHash, want.Generation = storeHead("fam-1", 1), storeHead("fam-1", 0), 1
			want.RotatedAt = rotate.Now
			want.LastUsedAt, want.IdleExpiresAt = keep.Now, keep.IdleExpiresAt
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", want, got)
			storeMust(t, "AdvanceFamily non-rotating again", s.AdvanceFamily(t.Context(), "fam-1", keep))
		}},
		{"non-rotating advance of a fresh family leaves no predecessor", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			keep := oauth.Advance{FromHash: storeHead("fam-1", 0), ToHash: storeHead("fam-1", 0), Generation: 0, Now: storeAt(time.Hour), IdleExpiresAt: storeAt(25 * time.Hour)}
			storeMust(t, "AdvanceFamily", s.AdvanceFamily(t.Context(), "fam-1", keep))
			want := storeFamily("fam-1", "user-1")
			want.LastUsedAt, want.IdleExpiresAt = keep.Now, keep.IdleExpiresAt
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", want, got)
		}},
		{"revoke marks the family revoked with time and reason", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "refresh token reused", storeAt(time.Hour)))
			want := storeFamily("fam-1", "user-1")
			want.Revoked, want.RevokedAt, want.RevokeReason = true, storeAt(time.Hour), "refresh token reused"
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family", want, got)
		}},
		{"revoking twice succeeds and keeps the first time and reason", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), storeFamily("fam-1", "user-1")))
			storeMust(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "refresh token reused", storeAt(time.Hour)))
			storeMust(t, "RevokeFamily again", s.RevokeFamily(t.Context(), "fam-1", "logout", storeAt(2*time.Hour)))
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			if !got.Revoked || !got.RevokedAt.Equal(storeAt(time.Hour)) || got.RevokeReason != "refresh token reused" {
				t.Errorf("family Revoked=%v RevokedAt=%v RevokeReason=%q, want the first revocation at %v",
					got.Revoked, got.RevokedAt, got.RevokeReason, storeAt(time.Hour))
			}
		}},
		{"revoking an unknown family is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam-1", "logout", storeBase), oauth.ErrNotFound)
			_, err := s.Family(t.Context(), "fam-1")
			storeErrIs(t, "Family", err, oauth.ErrNotFound)
		}},
		{"changing a family or code after create or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			f := storeFamily("fam-1", "user-1")
			storeMust(t, "CreateFamily", s.CreateFamily(t.Context(), f))
			f.Scopes[0] = "admin"
			f.HeadHash = "x"
			got, err := s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family after changing the input", storeFamily("fam-1", "user-1"), got)
			got.Scopes[1] = "admin"
			got, err = s.Family(t.Context(), "fam-1")
			storeMust(t, "Family", err)
			storeDiff(t, "family after changing a read copy", storeFamily("fam-1", "user-1"), got)

			c := storeCode("code-1")
			storeMust(t, "CreateCode", s.CreateCode(t.Context(), c))
			c.Scopes[0] = "admin"
			code, err := s.Code(t.Context(), c.Hash, storeBase)
			storeMust(t, "Code", err)
			storeDiff(t, "code after changing the input", storeCode("code-1"), code)
			code.Scopes[1] = "admin"
			code, err = s.Code(t.Context(), c.Hash, storeBase)
			storeMust(t, "Code", err)
			storeDiff(t, "code after changing a read copy", storeCode("code-1"), code)
		}},
	}
}
