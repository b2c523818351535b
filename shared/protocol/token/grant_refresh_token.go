package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// position is where a presented refresh token stands in its family.
type position int

const (
	posHead   position = iota // the current head: may be exchanged and rotated
	posLeeway                 // the head's parent inside the client's leeway: gets the same successor
	posReused                 // a retired token: the family is revoked (RFC 9700 §4.14.2)
)

// maxCommitAttempts bounds the classify/commit loop: a sealed token's
// first commit assumes it is the head; if it is not, the refusal places it
// (a leeway retry then commits the head in place on the second pass, and
// anything else ends the loop). The bound only guards against a head that
// keeps moving or a misbehaving store.
const maxCommitAttempts = 3

func errRefresh(desc string, cause error) error {
	return oauth.Errorf(oauth.InvalidGrant, "%s", desc).WithCause(cause)
}

// refresh is the refresh_token grant with Multi-Resource Refresh Tokens.
// Order: open the token (its seal or MAC), take its family from
// the sealed facts (a version-1 token's is read) and classify it, resolve
// audience and scope, sign, and only then commit the rotation. Everything that can refuse the request happens before the
// commit, so a refused or failed request leaves the presented token
// usable; infrastructure faults are returned as they are (503/500), never
// as invalid_grant.
func (h *handler) refresh(ctx context.Context, client *oauth.Client, form url.Values) (*oauth.TokenResponse, error) {
	if !client.AllowsGrant(oauth.GrantTypeRefreshToken) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client may not use the refresh_token grant")
	}
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "refresh_token missing")
	}
	requestedAudience, err := audienceParam(form)
	if err != nil {
		return nil, err
	}
	requestedScopes, err := httpx.ParseScope(form.Get("scope"))
	if err != nil {
		return nil, err
	}
	// Parse: a token that fails here never reaches the store.
	codec, presented, ok, err := h.openRefreshToken(ctx, raw)
	if err != nil {
		return nil, err
	}
	defer h.codecs.Put(codec)
	if !ok {
		return nil, errRefresh("invalid refresh token", errMalformedToken)
	}
	hash := oauth.HashToken(raw)
	successor, err := codec.successor(&presented)
	if err != nil {
		return nil, errRefresh("invalid refresh token", err)
	}
	successorRaw := codec.encode(&successor)
	successorHash := oauth.HashToken(successorRaw)
	now := h.d.Now()

	// Validate the token against its family. A sealed (version-2) token
	// carries the family's fixed facts and stands for the head: the
	// commit's condition checks that, and a refused commit hands back the
	// family as it is, to be classified then. So a warm exchange makes one
	// DynamoDB request, the commit. A version-1 token has its family read.
	var fam *oauth.Family
	if presented.facts != nil {
		fam = presented.facts
		fam.Generation, fam.HeadHash = int(presented.generation), hash
	} else if fam, err = h.family(ctx, presented.familyID()); err != nil {
		return nil, err
	}
	x := noted(ctx)
	if fam.ClientID != client.ClientID {
		// RFC 6749 §10.4: bound to its client. Not a reuse: revoke nothing.
		return nil, errRefresh("invalid refresh token", fmt.Errorf("family %s belongs to client %s", fam.ID, fam.ClientID))
	}
	// RFC 9449 §5: bound to a key. Checked before reuse detection, so a
	// stolen token presented without the key revokes nothing.
	if err := checkBinding(ctx, fam.DPoPJKT); err != nil {
		return nil, err
	}
	x.noteFamily(fam)
	pos, err := classify(fam, client, &presented, hash, successorHash, now, h.doubts.has(familyDoubt(fam.ID, successorHash), now))
	if err != nil {
		return nil, err
	}
	if pos == posReused {
		return nil, h.revokeReused(ctx, fam, now)
	}

	// Validate audience and scope (MRRT rules, mrrt.go) before anything is written.
	userinfo := oauth.UserinfoAudience(h.d.Issuer)
	audience, err := targetAudience(fam, client, requestedAudience, userinfo)
	if err != nil {
		return nil, err
	}
	x.audience = audience
	api, err := h.api(ctx, audience, errUnknownAudience)
	if err != nil {
		return nil, err
	}
	if err := requireDPoP(ctx, api); err != nil {
		return nil, err
	}
	origin := api
	if audience != fam.Audience {
		if origin, err = h.api(ctx, fam.Audience, errOriginAPIGone); err != nil {
			return nil, err
		}
	}
	allowed := allowedScopes(fam, client, api)
	if err := checkGrantToday(fam, origin, api, allowed, audience == userinfo); err != nil {
		return nil, err
	}
	scopes, err := grantScopes(allowed, requestedScopes)
	if err != nil {
		return nil, err
	}
	scopes, permissions, err := h.rbac(ctx, api, fam.UserID, scopes, requestedScopes, allowed)
	if err != nil {
		return nil, err
	}

	// Sign before committing: a signer fault leaves the family untouched.
	resp, err := h.refreshResponse(ctx, fam, client, api, scopes, permissions, now)
	if err != nil {
		return nil, err
	}

	// Commit. A refused commit (a StaleFamilyError) carries the family as
	// the store found it, and the token is classified again: usually the
	// head moved to this very successor (leeway) or the token is retired
	// (reuse). Every successful exchange commits, because the commit is
	// where the store checks the user's revocation marker
	// (oauth.UserRevocation: blocked, deleted, "revoke all") in the same
	// atomic step.
	for attempt := 1; ; attempt++ {
		adv := oauth.Advance{
			UserID: fam.UserID, CreatedAt: fam.CreatedAt,
			FromHash: hash, ToHash: hash, Generation: fam.Generation,
			Now: now, IdleExpiresAt: idleExpiry(client, now),
		}
		switch {
		case pos == posLeeway:
			// The parent of the head inside the leeway (or with the head
			// in doubt) gets the same successor: the head stays where it
			// is, nothing is revoked.
			adv.FromHash, adv.ToHash = successorHash, successorHash
		case client.Rotates():
			adv.ToHash, adv.Generation = successorHash, int(successor.generation)
		}
		err := h.d.Families.AdvanceFamily(ctx, fam.ID, adv)
		x.generation = adv.Generation
		var stale *oauth.StaleFamilyError
		switch {
		case err == nil:
			if client.Rotates() {
				resp.RefreshToken = successorRaw
			}
			return resp, nil
		case errors.Is(err, oauth.ErrNotFound):
			return nil, errRefresh("invalid refresh token", err)
		case errors.Is(err, oauth.ErrUserRevoked):
			// RFC 6749 §5.2: the grant is revoked (user blocked or deleted,
			// or all of the user's tokens revoked).
			return nil, errRefresh("refresh token revoked", err)
		case errors.As(err, &stale):
			fam = stale.Family
		case errors.Is(err, oauth.ErrRevoked):
			return nil, errRefresh("refresh token revoked", err)
		case errors.Is(err, oauth.ErrUnavailable) && h.settled(ctx, fam.ID, adv):
			// The write was applied but its answer lost (settle.go).
			if client.Rotates() {
				resp.RefreshToken = successorRaw
			}
			return resp, nil
		case !errors.Is(err, oauth.ErrConsumed):
			return nil, fmt.Errorf("token: advance family: %w", err)
		default:
			// A store that does not say where the head went: read it.
			var rerr error
			if fam, rerr = h.family(ctx, fam.ID); rerr != nil {
				return nil, rerr
			}
		}
		if attempt == maxCommitAttempts {
			return nil, fmt.Errorf("token: advance family: head keeps moving: %w", err)
		}
		x.noteFamily(fam)
		if pos, err = classify(fam, client, &presented, hash, successorHash, now, h.doubts.has(familyDoubt(fam.ID, successorHash), now)); err != nil {
			return nil, err
		}
		if pos == posReused {
			return nil, h.revokeReused(ctx, fam, now)
		}
	}
}

// classify places the presented token in its family. Only a MAC-valid
// token gets here, so a token with a lower generation than the head was
// really issued and is now retired: reuse, unless the head is its own
// successor and that rotation's answer was in doubt (settle.go; doubted:
// this instance remembers the doubt). A higher generation was never
// committed (a successor whose rotation failed): refused, nothing revoked.
func classify(f *oauth.Family, c *oauth.Client, t *refreshToken, hash, successorHash string, now time.Time, doubted bool) (position, error) {
	switch {
	case f.Revoked:
		return 0, errRefresh("refresh token revoked", fmt.Errorf("family %s revoked: %s", f.ID, f.RevokeReason))
	case !f.Active(now):
		return 0, errRefresh("refresh token expired", fmt.Errorf("family %s expired", f.ID))
	case hash == f.HeadHash:
		return posHead, nil
	case hash == f.PrevHash && successorHash == f.HeadHash && (inLeeway(f, c, now) || inDoubt(f) || doubted):
		return posLeeway, nil
	case int64(t.generation) < int64(f.Generation):
		return posReused, nil
	default:
		return 0, errRefresh("invalid refresh token", fmt.Errorf("family %s: generation %d is not committed (head %d)", f.ID, t.generation, f.Generation))
	}
}

// inDoubt reports whether the head's rotation was applied without its
// answer reaching the client for sure (oauth.FamilyStore.SettleAdvance).
func inDoubt(f *oauth.Family) bool { return f.InDoubt > 0 && f.InDoubt == f.Generation }

// inLeeway reports whether the head's parent may still be exchanged: only
// the immediate predecessor, only for leeway seconds after its rotation.
func inLeeway(f *oauth.Family, c *oauth.Client, now time.Time) bool {
	leeway := c.RefreshToken.Leeway
	return leeway > 0 && !f.RotatedAt.IsZero() && now.Before(f.RotatedAt.Add(time.Duration(leeway)*time.Second))
}

// revokeReused revokes a family whose retired token came back and returns
// the error for the client. If the revocation itself fails the fault is
// returned (503/500), so the next attempt revokes again.
func (h *handler) revokeReused(ctx context.Context, fam *oauth.Family, now time.Time) error {
	noted(ctx).reuse = true
	if err := h.d.Families.RevokeFamily(ctx, fam.ID, "refresh_token_reuse", now); err != nil && !errors.Is(err, oauth.ErrNotFound) {
		return fmt.Errorf("token: revoke reused family: %w", err)
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "refresh token reuse: family revoked",
		slog.String("family_id", fam.ID), slog.String("client_id", fam.ClientID), slog.String("user_id", fam.UserID))
	return oauth.Errorf(oauth.InvalidGrant, "refresh token already used")
}

// refreshResponse signs the access token, and the ID token of a grant
// holding openid, whatever the audience (rule 8).
func (h *handler) refreshResponse(ctx context.Context, fam *oauth.Family, client *oauth.Client, api *oauth.ResourceServer, scopes, permissions []string, now time.Time) (*oauth.TokenResponse, error) {
	at, expiresIn, err := h.signAccessToken(ctx, accessToken{
		api:         api,
		clientID:    client.ClientID,
		subject:     fam.UserID,
		scopes:      scopes,
		authTime:    fam.AuthTime,
		permissions: permissions,
	}, now)
	if err != nil {
		return nil, err
	}
	resp := &oauth.TokenResponse{AccessToken: at, TokenType: tokenType(ctx), ExpiresIn: expiresIn, Scope: httpx.JoinScope(scopes)}
	if issuesIDToken(fam) {
		if resp.IDToken, err = h.signIDToken(ctx, client, fam.UserID, fam.AuthTime, "", fam.Scopes, now); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// family reads a refresh-token family; an unknown one is invalid_grant.
func (h *handler) family(ctx context.Context, id string) (*oauth.Family, error) {
	fam, err := h.d.Families.Family(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, errRefresh("invalid refresh token", err)
	}
	if err != nil {
		return nil, fmt.Errorf("token: family: %w", err)
	}
	return fam, nil
}
