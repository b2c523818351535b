package oauthtest

import (
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
	const window = time.Minute
	key := oauth.HashToken("alice@example.com")
	record := func(t *testing.T, s oauth.Store, k string, now time.Time, want int) {
		t.Helper()
		n, err := s.RecordLoginFailure(t.Context(), k, now, window)
		storeMust(t, "RecordLoginFailure", err)
		if n != want {
			t.Errorf("RecordLoginFailure at %v = %d, want %d", now, n, want)
		}
	}
	count := func(t *testing.T, s oauth.Store, k string, now time.Time, want int) {
		t.Helper()
		n, err := s.LoginFailures(t.Context(), k, now, window)
		storeMust(t, "LoginFailures", err)
		if n != want {
			t.Errorf("LoginFailures at %v = %d, want %d", now, n, want)
		}
	}
	return []storeCase{
		{"each failure within the window adds one, this one included", func(t *testing.T, s oauth.Store) {
			record(t, s, key, storeBase, 1)
			record(t, s, key, storeAt(10*time.Second), 2)
			record(t, s, key, storeAt(20*time.Second), 3)
			count(t, s, key, storeAt(30*time.Second), 3)
		}},
		{"failures older than the window no longer count", func(t *testing.T, s oauth.Store) {
			record(t, s, key, storeBase, 1)
			record(t, s, key, storeAt(30*time.Second), 2)
			count(t, s, key, storeAt(65*time.Second), 1)
			record(t, s, key, storeAt(70*time.Second), 2)
			count(t, s, key, storeAt(5*time.Minute), 0)
			record(t, s, key, storeAt(5*time.Minute), 1)
		}},
		{"keys are counted apart", func(t *testing.T, s oauth.Store) {
			other := oauth.HashToken("bob@example.com")
			record(t, s, key, storeBase, 1)
			record(t, s, key, storeAt(time.Second), 2)
			record(t, s, other, storeAt(2*time.Second), 1)
			count(t, s, key, storeAt(3*time.Second), 2)
			count(t, s, other, storeAt(3*time.Second), 1)
		}},
		{"a key without failures counts zero", func(t *testing.T, s oauth.Store) {
			count(t, s, key, storeBase, 0)
		}},
		{"clear resets the count of that key only", func(t *testing.T, s oauth.Store) {
			other := oauth.HashToken("bob@example.com")
			record(t, s, key, storeBase, 1)
			record(t, s, key, storeAt(time.Second), 2)
			record(t, s, other, storeAt(time.Second), 1)
			storeMust(t, "ClearLoginFailures", s.ClearLoginFailures(t.Context(), key))
			count(t, s, key, storeAt(2*time.Second), 0)
			count(t, s, other, storeAt(2*time.Second), 1)
			record(t, s, key, storeAt(3*time.Second), 1)
		}},
		{"clearing a key without failures succeeds", func(t *testing.T, s oauth.Store) {
			storeMust(t, "ClearLoginFailures", s.ClearLoginFailures(t.Context(), key))
			count(t, s, key, storeBase, 0)
		}},
	}
}
