package token

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

func (h *handler) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if err := h.revoke(w, r); err != nil {
		httpx.WriteError(w, r, h.log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}

// revoke is RFC 7009 token revocation. Revoking a refresh token revokes its
// whole family. Tokens that are invalid, unknown, access tokens or another
// client's get 200 and change nothing (§2.2): the answer tells the caller
// nothing about the token, and one client cannot revoke another's grant.
// token_type_hint is optional and ignored (§2.1).
func (h *handler) revoke(w http.ResponseWriter, r *http.Request) error {
	form, err := httpx.ParseForm(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	client, err := h.authenticateClient(ctx, r, form)
	if err != nil {
		return err
	}
	if err := checkOrigin(w, r, client); err != nil {
		return err
	}
	raw := form.Get("token")
	if raw == "" {
		return oauth.Errorf(oauth.InvalidRequest, "token missing")
	}
	codec, rt, ok, err := h.openRefreshToken(ctx, raw)
	if err != nil {
		return err
	}
	h.codecs.Put(codec)
	if !ok {
		return nil // not one of our refresh tokens
	}
	// A sealed token names its client itself: no read before the write.
	fam := rt.facts
	if fam != nil {
		fam.Generation = int(rt.generation)
	} else if fam, err = h.d.Families.Family(ctx, rt.familyID()); errors.Is(err, oauth.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("token: family: %w", err)
	}
	if fam.ClientID != client.ClientID {
		h.log.LogAttrs(ctx, slog.LevelInfo, "revocation of another client's refresh token ignored",
			slog.String("client_id", client.ClientID), slog.String("family_id", fam.ID))
		return nil
	}
	err = h.d.Families.RevokeFamily(ctx, fam.ID, "revoked_by_client", h.d.Now())
	if errors.Is(err, oauth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("token: revoke family: %w", err)
	}
	h.emitRevocation(r, client, fam)
	return nil
}
