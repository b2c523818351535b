package policyadmin

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestUserRefreshTokens(t *testing.T) {
	userPath := "/api/v2/users/" + url.PathEscape(exUserID) + "/refresh-tokens"
	t.Run("lists the usable families in Auth0's shape", func(t *testing.T) {
		e := newEnv(t)
		w := e.call(http.MethodGet, userPath, nil)
		wantStatus(t, w, 200)
		got := decode[map[string][]familyView](t, w)
		idle := testStart.Add(14 * 24 * time.Hour)
		exp := testStart.Add(28 * 24 * time.Hour)
		last := testStart.Add(-time.Hour)
		want := map[string][]familyView{"tokens": {{
			ID: exFamilyID, UserID: exUserID, ClientID: spaID, CreatedAt: testStart.Add(-2 * time.Hour),
			IdleExpiresAt: &idle, ExpiresAt: &exp, LastExchangedAt: &last, Rotating: true,
			ResourceServers: []familyResourceServ{{Audience: apiData, Scopes: "openid offline_access read:data"}},
		}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("tokens (-want +got):\n%s", diff)
		}
	})
	t.Run("expired families are not listed", func(t *testing.T) {
		e := newEnv(t)
		e.clock.Advance(15 * 24 * time.Hour) // past the idle expiry
		w := e.call(http.MethodGet, userPath, nil)
		wantStatus(t, w, 200)
		if got := decode[map[string][]familyView](t, w)["tokens"]; len(got) != 0 {
			t.Errorf("tokens = %v", got)
		}
		wantError(t, e.call(http.MethodGet, "/api/v2/refresh-tokens/"+exFamilyID, nil), 404, "inexistent_refresh_token", "")
	})
	t.Run("a user without families has an empty list", func(t *testing.T) {
		e := newEnv(t)
		must(t, e.store.CreateUser(context.Background(), &oauth.User{UserID: "auth0|new", Email: "new@example.com"}))
		w := e.call(http.MethodGet, "/api/v2/users/auth0%7Cnew/refresh-tokens", nil)
		wantStatus(t, w, 200)
		if w.Body.String() != "{\"tokens\":[]}\n" {
			t.Errorf("body %s", w.Body)
		}
	})
	t.Run("revoking all revokes every family of the user", func(t *testing.T) {
		e := newEnv(t)
		must(t, e.store.CreateFamily(context.Background(), &oauth.Family{ID: "second", ClientID: exClientID, UserID: exUserID,
			Audience: apiBilling, CreatedAt: testStart, HeadHash: "h2"}))
		wantStatus(t, e.call(http.MethodDelete, userPath, nil), 204)
		for _, id := range []string{exFamilyID, "second"} {
			f, err := e.store.Family(context.Background(), id)
			must(t, err)
			if !f.Revoked || !f.RevokedAt.Equal(testStart) {
				t.Errorf("family %s: revoked=%v at %v", id, f.Revoked, f.RevokedAt)
			}
		}
		// The family revoked earlier keeps its first revocation.
		if f, _ := e.store.Family(context.Background(), revokedFamily); f.RevokeReason != "test" {
			t.Errorf("reason of the old revocation = %q", f.RevokeReason)
		}
		w := e.call(http.MethodGet, userPath, nil)
		if got := decode[map[string][]familyView](t, w)["tokens"]; len(got) != 0 {
			t.Errorf("tokens after revocation = %v", got)
		}
	})
	t.Run("an unknown user is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodGet, "/api/v2/users/nope/refresh-tokens", nil), 404, "inexistent_user", "")
		wantError(t, e.call(http.MethodDelete, "/api/v2/users/nope/refresh-tokens", nil), 404, "inexistent_user", "")
	})
}

func TestRefreshTokenByID(t *testing.T) {
	t.Run("a family is shown by id", func(t *testing.T) {
		e := newEnv(t)
		w := e.call(http.MethodGet, "/api/v2/refresh-tokens/"+exFamilyID, nil)
		wantStatus(t, w, 200)
		if got := decode[familyView](t, w); got.ID != exFamilyID || got.ClientID != spaID || !got.Rotating {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("a revoked family is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodGet, "/api/v2/refresh-tokens/"+revokedFamily, nil), 404, "inexistent_refresh_token", "")
	})
	t.Run("revoking a family takes effect in the store at once", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodDelete, "/api/v2/refresh-tokens/"+exFamilyID, nil), 204)
		f, err := e.store.Family(context.Background(), exFamilyID)
		must(t, err)
		if !f.Revoked || f.RevokeReason != "revoked by an administrator" {
			t.Errorf("revoked=%v reason=%q", f.Revoked, f.RevokeReason)
		}
		// Revoking again succeeds.
		wantStatus(t, e.call(http.MethodDelete, "/api/v2/refresh-tokens/"+exFamilyID, nil), 204)
	})
	t.Run("an unknown family is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodDelete, "/api/v2/refresh-tokens/nope", nil), 404, "inexistent_refresh_token", "")
		wantError(t, e.call(http.MethodGet, "/api/v2/refresh-tokens/nope", nil), 404, "inexistent_refresh_token", "")
	})
	t.Run("a family of a deleted client is not rotating", func(t *testing.T) {
		e := newEnv(t)
		must(t, e.store.DeleteClient(context.Background(), spaID))
		w := e.call(http.MethodGet, "/api/v2/refresh-tokens/"+exFamilyID, nil)
		wantStatus(t, w, 200)
		if decode[familyView](t, w).Rotating {
			t.Error("rotating = true")
		}
	})
}
