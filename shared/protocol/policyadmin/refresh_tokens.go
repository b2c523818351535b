package policyadmin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// familyView is a refresh-token family in the shape of Auth0's refresh token
// object (GET /api/v2/refresh-tokens/{id}); the id is the family id, which
// covers every token rotated from the first one.
type familyView struct {
	ID              string               `json:"id"`
	UserID          string               `json:"user_id"`
	ClientID        string               `json:"client_id"`
	CreatedAt       time.Time            `json:"created_at"`
	IdleExpiresAt   *time.Time           `json:"idle_expires_at,omitempty"`
	ExpiresAt       *time.Time           `json:"expires_at,omitempty"`
	LastExchangedAt *time.Time           `json:"last_exchanged_at,omitempty"`
	Rotating        bool                 `json:"rotating"`
	ResourceServers []familyResourceServ `json:"resource_servers"`
}

// familyResourceServ is the grant behind the family: its original audience
// and scopes (space-separated, as Auth0 writes them).
type familyResourceServ struct {
	Audience string `json:"audience"`
	Scopes   string `json:"scopes"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func viewFamily(f *oauth.Family, rotating bool) familyView {
	return familyView{
		ID:              f.ID,
		UserID:          f.UserID,
		ClientID:        f.ClientID,
		CreatedAt:       f.CreatedAt.UTC(),
		IdleExpiresAt:   timePtr(f.IdleExpiresAt),
		ExpiresAt:       timePtr(f.ExpiresAt),
		LastExchangedAt: timePtr(f.LastUsedAt),
		Rotating:        rotating,
		ResourceServers: []familyResourceServ{{Audience: f.Audience, Scopes: strings.Join(f.Scopes, " ")}},
	}
}

// rotates reports whether the family's client rotates its refresh tokens;
// a deleted client's tokens no longer work at all.
func (a *api) rotates(ctx context.Context, clientID string, cache map[string]bool) (bool, error) {
	if v, ok := cache[clientID]; ok {
		return v, nil
	}
	c, err := a.d.Store.Client(ctx, clientID)
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		cache[clientID] = false
	case err != nil:
		return false, err
	default:
		cache[clientID] = c.Rotates()
	}
	return cache[clientID], nil
}

// listUserFamilies lists the user's usable refresh-token families; revoked
// and expired ones are gone, as in Auth0. It answers for a deleted user
// too (an empty list once everything is revoked).
func (a *api) listUserFamilies(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.knownUser(ctx, id); err != nil {
		return err
	}
	fs, err := a.d.Store.FamiliesByUser(ctx, id)
	if err != nil {
		return err
	}
	now := a.d.Now()
	cache := map[string]bool{}
	views := []familyView{}
	for _, f := range fs {
		if !f.Active(now) {
			continue
		}
		rot, err := a.rotates(ctx, f.ClientID, cache)
		if err != nil {
			return err
		}
		views = append(views, viewFamily(f, rot))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": views})
	return nil
}

// revokeUserFamilies revokes every refresh-token family of the user,
// whether or not the user still exists: the user id is all it needs.
func (a *api) revokeUserFamilies(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.knownUser(ctx, id); err != nil {
		return err
	}
	if err := a.revokeAll(ctx, id, "revoked by an administrator"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// knownUser is nil for a user who exists or existed: a deleted user keeps
// a revocation marker (and may keep families). Otherwise 404.
func (a *api) knownUser(ctx context.Context, id string) error {
	_, err := a.d.Store.User(ctx, id)
	if !errors.Is(err, oauth.ErrNotFound) {
		return err
	}
	_, err = a.d.Store.UserRevocation(ctx, id)
	if !errors.Is(err, oauth.ErrNotFound) {
		return err
	}
	fs, err := a.d.Store.FamiliesByUser(ctx, id)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return notFound("inexistent_user", "the user does not exist")
	}
	return nil
}

// revokeAll moves the user's revocation marker to now, which every token
// commit checks (so it reaches families the list below misses: the index
// behind FamiliesByUser may lag), then revokes each listed family that is
// not revoked yet, so that the admin API shows them gone.
func (a *api) revokeAll(ctx context.Context, userID, reason string) error {
	if err := a.d.Store.RevokeUserTokens(ctx, userID, a.d.Now()); err != nil {
		return err
	}
	fs, err := a.d.Store.FamiliesByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Revoked {
			continue
		}
		if err := a.d.Store.RevokeFamily(ctx, f.ID, reason, a.d.Now()); err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return err
		}
	}
	return nil
}

func (a *api) family(ctx context.Context, id string) (*oauth.Family, error) {
	f, err := a.d.Store.Family(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, notFound("inexistent_refresh_token", "the refresh token does not exist")
	}
	return f, err
}

func (a *api) getFamily(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := a.family(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !f.Active(a.d.Now()) {
		return notFound("inexistent_refresh_token", "the refresh token does not exist")
	}
	rot, err := a.rotates(ctx, f.ClientID, map[string]bool{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewFamily(f, rot))
	return nil
}

// revokeFamily revokes one family: every refresh token rotated from the same
// first one. Revoking a revoked family again succeeds.
func (a *api) revokeFamily(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := a.d.Store.RevokeFamily(ctx, r.PathValue("id"), "revoked by an administrator", a.d.Now()); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_refresh_token", "the refresh token does not exist")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
