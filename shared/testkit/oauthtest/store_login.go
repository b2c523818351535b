package oauthtest

import (
	"errors"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The login page's items: sessions, consents and the failed sign-in count.

func storeSessionCases() []storeCase {
	return []storeCase{
		{"created session reads back equal until it expires", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), storeSession("sid-1")))
			for _, now := range []time.Time{storeBase, storeAt(time.Hour - time.Second)} {
				got, err := s.Session(t.Context(), oauth.HashToken("sid-1"), now)
				if err != nil {
					t.Errorf("Session at %v: %v", now, err)
					continue
				}
				storeDiff(t, "session", storeSession("sid-1"), got)
			}
		}},
		{"session is ErrNotFound at and after its expiry", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), storeSession("sid-1")))
			for _, now := range []time.Time{storeAt(time.Hour), storeAt(48 * time.Hour)} {
				got, err := s.Session(t.Context(), oauth.HashToken("sid-1"), now)
				storeErrIs(t, "Session at "+now.String(), err, oauth.ErrNotFound)
				if got != nil {
					t.Errorf("Session at %v returned %+v with the error, want nil", now, got)
				}
			}
		}},
		{"unknown session is ErrNotFound", func(t *testing.T, s oauth.Store) {
			_, err := s.Session(t.Context(), oauth.HashToken("nope"), storeBase)
			storeErrIs(t, "Session", err, oauth.ErrNotFound)
		}},
		{"creating an existing session hash is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), storeSession("sid-1")))
			dup := storeSession("sid-1")
			dup.UserID = "user-evil"
			storeErrIs(t, "CreateSession again", s.CreateSession(t.Context(), dup), oauth.ErrAlreadyExists)
			got, err := s.Session(t.Context(), oauth.HashToken("sid-1"), storeBase)
			storeMust(t, "Session", err)
			storeDiff(t, "session", storeSession("sid-1"), got)
		}},
		{"deleted session is gone and deleting it again succeeds", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), storeSession("sid-1")))
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), storeSession("sid-2")))
			storeMust(t, "DeleteSession", s.DeleteSession(t.Context(), oauth.HashToken("sid-1")))
			_, err := s.Session(t.Context(), oauth.HashToken("sid-1"), storeBase)
			storeErrIs(t, "Session", err, oauth.ErrNotFound)
			storeMust(t, "DeleteSession again", s.DeleteSession(t.Context(), oauth.HashToken("sid-1")))
			if _, err := s.Session(t.Context(), oauth.HashToken("sid-2"), storeBase); err != nil {
				t.Errorf("other session: %v", err)
			}
		}},
		{"deleting an unknown session succeeds", func(t *testing.T, s oauth.Store) {
			storeMust(t, "DeleteSession", s.DeleteSession(t.Context(), oauth.HashToken("nope")))
		}},
		{"changing a session after create or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			in := storeSession("sid-1")
			storeMust(t, "CreateSession", s.CreateSession(t.Context(), in))
			in.UserID = "user-evil"
			out, err := s.Session(t.Context(), oauth.HashToken("sid-1"), storeBase)
			storeMust(t, "Session", err)
			storeDiff(t, "session after changing the input", storeSession("sid-1"), out)
			out.UserID, out.ExpiresAt = "user-evil", storeAt(1000*time.Hour)
			again, err := s.Session(t.Context(), oauth.HashToken("sid-1"), storeBase)
			storeMust(t, "Session", err)
			storeDiff(t, "session after changing a read copy", storeSession("sid-1"), again)
		}},
	}
}

func storeConsentCases() []storeCase {
	const apiA, apiB = "https://api.a.example", "https://api.b.example"
	return []storeCase{
		{"put consent reads back equal", func(t *testing.T, s oauth.Store) {
			storeMust(t, "PutConsent", s.PutConsent(t.Context(), storeConsent("user-1", "client-1", apiA)))
			got, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent", storeConsent("user-1", "client-1", apiA), got)
		}},
		{"put replaces the consent of the same user, client and audience", func(t *testing.T, s oauth.Store) {
			storeMust(t, "PutConsent", s.PutConsent(t.Context(), storeConsent("user-1", "client-1", apiA)))
			want := &oauth.Consent{UserID: "user-1", ClientID: "client-1", Audience: apiA, Scopes: []string{"write:one"}, GrantedAt: storeAt(time.Hour)}
			storeMust(t, "PutConsent again", s.PutConsent(t.Context(), want))
			got, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent", want, got)
		}},
		{"consents are kept apart per user, client and audience", func(t *testing.T, s oauth.Store) {
			storeMust(t, "PutConsent", s.PutConsent(t.Context(), storeConsent("user-1", "client-1", apiA)))
			other := storeConsent("user-1", "client-1", apiB)
			other.Scopes = []string{"read:b"}
			storeMust(t, "PutConsent other audience", s.PutConsent(t.Context(), other))
			got, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent for the first audience", storeConsent("user-1", "client-1", apiA), got)
			got, err = s.Consent(t.Context(), "user-1", "client-1", apiB)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent for the second audience", other, got)
			_, err = s.Consent(t.Context(), "user-2", "client-1", apiA)
			storeErrIs(t, "Consent of another user", err, oauth.ErrNotFound)
			_, err = s.Consent(t.Context(), "user-1", "client-2", apiA)
			storeErrIs(t, "Consent for another client", err, oauth.ErrNotFound)
		}},
		{"unknown consent is ErrNotFound", func(t *testing.T, s oauth.Store) {
			got, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeErrIs(t, "Consent", err, oauth.ErrNotFound)
			if got != nil {
				t.Errorf("Consent returned %+v with the error, want nil", got)
			}
		}},
		{"changing a consent after put or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			in := storeConsent("user-1", "client-1", apiA)
			storeMust(t, "PutConsent", s.PutConsent(t.Context(), in))
			in.Scopes[0] = "admin"
			out, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent after changing the input", storeConsent("user-1", "client-1", apiA), out)
			out.Scopes[1] = "admin"
			again, err := s.Consent(t.Context(), "user-1", "client-1", apiA)
			storeMust(t, "Consent", err)
			storeDiff(t, "consent after changing a read copy", storeConsent("user-1", "client-1", apiA), again)
		}},
	}
}

func storeThrottleCases() []storeCase {
	const window, limit = time.Minute, 3
	key := oauth.HashToken("alice@example.com")
	other := oauth.HashToken("bob@example.com")
	// reserve wants each reservation's outcome in turn.
	reserve := func(t *testing.T, s oauth.Store, k string, now time.Time, want ...bool) {
		t.Helper()
		for i, w := range want {
			ok, err := s.ReserveLoginAttempt(t.Context(), k, now, window, limit)
			storeMust(t, "ReserveLoginAttempt", err)
			if ok != w {
				t.Errorf("ReserveLoginAttempt %d at %v = %v, want %v", i+1, now, ok, w)
			}
		}
	}
	return []storeCase{
		{"a window counts limit attempts and refuses the next", func(t *testing.T, s oauth.Store) {
			reserve(t, s, key, storeBase, true, true)
			reserve(t, s, key, storeAt(30*time.Second), true, false, false)
		}},
		{"the window ends window after its first attempt, and the next attempt starts a new one", func(t *testing.T, s oauth.Store) {
			reserve(t, s, key, storeBase, true, true, true)
			reserve(t, s, key, storeAt(window-time.Second), false)
			reserve(t, s, key, storeAt(window), true)
			reserve(t, s, key, storeAt(window+30*time.Second), true, true, false)
			reserve(t, s, key, storeAt(2*window-time.Second), false) // the second window started at 1m
			reserve(t, s, key, storeAt(2*window), true)
			reserve(t, s, key, storeAt(10*window), true)
		}},
		{"keys are counted apart", func(t *testing.T, s oauth.Store) {
			reserve(t, s, key, storeBase, true, true, true, false)
			reserve(t, s, other, storeBase, true)
		}},
		{"a limit of zero refuses every attempt", func(t *testing.T, s oauth.Store) {
			ok, err := s.ReserveLoginAttempt(t.Context(), key, storeBase, window, 0)
			storeMust(t, "ReserveLoginAttempt", err)
			if ok {
				t.Error("counted an attempt under a limit of zero")
			}
		}},
		{"release uncounts one attempt, never below zero", func(t *testing.T, s oauth.Store) {
			storeMust(t, "ReleaseLoginAttempt without attempts", s.ReleaseLoginAttempt(t.Context(), key))
			reserve(t, s, key, storeBase, true, true, true, false)
			storeMust(t, "ReleaseLoginAttempt", s.ReleaseLoginAttempt(t.Context(), key))
			reserve(t, s, key, storeAt(time.Second), true, false)
			for range 5 {
				storeMust(t, "ReleaseLoginAttempt", s.ReleaseLoginAttempt(t.Context(), key))
			}
			reserve(t, s, key, storeAt(2*time.Second), true, true, true, false)
		}},
		{"clear forgets that key only", func(t *testing.T, s oauth.Store) {
			reserve(t, s, key, storeBase, true, true, true, false)
			reserve(t, s, other, storeBase, true, true, true, false)
			storeMust(t, "ClearLoginAttempts", s.ClearLoginAttempts(t.Context(), key))
			reserve(t, s, key, storeAt(time.Second), true, true, true, false)
			reserve(t, s, other, storeAt(time.Second), false)
			storeMust(t, "ClearLoginAttempts of an unknown key", s.ClearLoginAttempts(t.Context(), oauth.HashToken("nobody")))
		}},
		{"100 concurrent reservations count exactly limit", func(t *testing.T, s oauth.Store) {
			errs := storeRace(100, func(int) error {
				ok, err := s.ReserveLoginAttempt(t.Context(), key, storeBase, window, limit)
				if err == nil && !ok {
					return errRefused
				}
				return err
			})
			got := 0
			for _, err := range errs {
				switch {
				case err == nil:
					got++
				case !errors.Is(err, errRefused):
					t.Errorf("ReserveLoginAttempt: %v", err)
				}
			}
			if got != limit {
				t.Errorf("%d of 100 concurrent reservations counted, want %d", got, limit)
			}
		}},
	}
}

var errRefused = errors.New("refused")
