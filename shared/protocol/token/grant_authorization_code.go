package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Auth0's defaults for refresh-token lifetimes when a client sets none.
const (
	defaultRefreshLifetime     = 2592000 * time.Second // 30 days, absolute
	defaultRefreshIdleLifetime = 1296000 * time.Second // 15 days, idle
)

func errCode(desc string, cause error) error {
	return oauth.Errorf(oauth.InvalidGrant, "%s", desc).WithCause(cause)
}

// exchangeCode is the authorization_code grant (RFC 6749 §4.1.3, RFC 7636
// §4.6). The client, redirect_uri and PKCE verifier are all checked before
// the code is consumed, so a replay with wrong parameters cannot revoke
// the legitimate client's tokens (OAuth 2.1 §7.5.2); a second valid
// redemption is refused and revokes the family the first one produced.
func (h *handler) exchangeCode(ctx context.Context, client *oauth.Client, form url.Values) (*oauth.TokenResponse, error) {
	if !client.AllowsGrant(oauth.GrantTypeAuthorizationCode) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client may not use the authorization_code grant")
	}
	raw := form.Get("code")
	if raw == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "code missing")
	}
	verifier := form.Get("code_verifier")
	if verifier == "" {
		return nil, oauth.Errorf(oauth.InvalidGrant, "code_verifier missing")
	}
	if !validVerifier(verifier) {
		return nil, oauth.Errorf(oauth.InvalidRequest, "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	requested, err := audienceParam(form)
	if err != nil {
		return nil, err
	}
	hash := oauth.HashToken(raw)
	now := h.d.Now()

	code, err := h.code(ctx, hash, now)
	if err != nil {
		return nil, err
	}
	if code.ClientID != client.ClientID {
		return nil, errCode("invalid authorization code", fmt.Errorf("code issued to client %s", code.ClientID))
	}
	x := noted(ctx)
	x.userID, x.audience = code.UserID, code.Audience
	if form.Get("redirect_uri") != code.RedirectURI {
		return nil, errCode("redirect_uri does not match the authorization request", nil)
	}
	if !pkceMatches(code, verifier) {
		return nil, errCode("code_verifier does not match the code_challenge", nil)
	}
	// RFC 9449 §10: a code requested with dpop_jkt needs a proof of that
	// key; checked before the replay check, so it revokes nothing.
	if err := checkBinding(ctx, code.DPoPJKT); err != nil {
		return nil, err
	}
	// A used code is a replay (RFC 6749 §4.1.2) unless its redemption's
	// answer was in doubt: then this is the client's retry (settle.go).
	inDoubt := code.Used && code.FamilyID != "" && (code.InDoubt || h.doubts.has(codeDoubt(hash, code.FamilyID), now))
	if code.Used && !inDoubt {
		return nil, h.revokeCodeFamily(ctx, code, now)
	}
	if requested != "" && requested != code.Audience {
		// RFC 8707 §2.2: a token request may name only a resource the
		// authorization granted; the code is left unused.
		return nil, oauth.Errorf(oauth.InvalidTarget, "the requested resource was not granted by this authorization code")
	}

	api, err := h.api(ctx, code.Audience, errCodeAPIGone)
	if err != nil {
		return nil, err
	}
	if err := requireDPoP(ctx, api); err != nil {
		return nil, err
	}
	scopes := codeAccessScopes(code, api)
	scopes, permissions, err := h.rbac(ctx, api, code.UserID, scopes, nil, scopes)
	if err != nil {
		return nil, err
	}
	var rd *redelivery
	if inDoubt {
		if rd, err = h.prepareRedelivery(ctx, code, client, now); err != nil {
			return nil, err
		}
	}

	// Build and sign everything before the code is consumed.
	at, expiresIn, err := h.signAccessToken(ctx, accessToken{
		api:         api,
		clientID:    client.ClientID,
		subject:     code.UserID,
		scopes:      scopes,
		authTime:    code.AuthTime,
		permissions: permissions,
	}, now)
	if err != nil {
		return nil, err
	}
	resp := &oauth.TokenResponse{AccessToken: at, TokenType: tokenType(ctx), ExpiresIn: expiresIn, Scope: httpx.JoinScope(scopes)}
	if slices.Contains(code.Scopes, oauth.ScopeOpenID) {
		if resp.IDToken, err = h.signIDToken(ctx, client, code.UserID, code.AuthTime, code.Nonce, code.Scopes, now); err != nil {
			return nil, err
		}
	}
	if rd != nil {
		if resp.RefreshToken, err = h.redeliver(ctx, rd, now); err != nil {
			return nil, err
		}
		return resp, nil
	}
	var fam *oauth.Family
	if issuesRefreshToken(code, api, client) {
		if fam, resp.RefreshToken, err = h.newFamily(ctx, code, client, now); err != nil {
			return nil, err
		}
		x.noteFamily(fam)
	} else if err := h.userAdmitted(ctx, code.UserID, now); err != nil {
		// With a family, RedeemCode checks the user's revocation marker in
		// the same transaction; without one, it is read here.
		return nil, err
	}

	// Commit: mark the code used and create the family in one step.
	switch err := h.d.Codes.RedeemCode(ctx, hash, fam, now); {
	case err == nil:
		return resp, nil
	case errors.Is(err, oauth.ErrConsumed):
		// A concurrent valid redemption won: this one is a replay.
		if code, err = h.code(ctx, hash, now); err != nil {
			return nil, err
		}
		return nil, h.revokeCodeFamily(ctx, code, now)
	case errors.Is(err, oauth.ErrNotFound):
		return nil, errCode("invalid authorization code", err)
	case errors.Is(err, oauth.ErrUserRevoked):
		return nil, errUserRevoked.WithCause(err)
	case errors.Is(err, oauth.ErrUnavailable) && fam != nil && h.redemptionSettled(ctx, hash, fam.ID):
		// The redemption was applied but its answer lost.
		return resp, nil
	default:
		return nil, fmt.Errorf("token: redeem code: %w", err)
	}
}

// errUserRevoked refuses a grant whose user was blocked or deleted after
// signing in (RFC 6749 §5.2 invalid_grant: the grant is revoked).
var errUserRevoked = &oauth.Error{Code: oauth.InvalidGrant, Description: "the authorization was revoked"}

// userAdmitted reads the user's revocation marker (oauth.UserRevocation)
// for a code exchange that creates no family.
func (h *handler) userAdmitted(ctx context.Context, userID string, now time.Time) error {
	r, err := h.d.Families.UserRevocation(ctx, userID)
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("token: user revocation: %w", err)
	case !r.Admits(now):
		return errUserRevoked.WithCause(fmt.Errorf("user %s revoked", userID))
	}
	return nil
}

// code reads an authorization code; unknown or expired is invalid_grant.
func (h *handler) code(ctx context.Context, hash string, now time.Time) (*oauth.AuthCode, error) {
	code, err := h.d.Codes.Code(ctx, hash, now)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, errCode("invalid authorization code", err)
	}
	if err != nil {
		return nil, fmt.Errorf("token: code: %w", err)
	}
	return code, nil
}

// revokeCodeFamily handles a second valid redemption: the tokens issued
// from the first are revoked (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3). A failed
// revocation is returned as the fault it is, so a retry revokes again.
func (h *handler) revokeCodeFamily(ctx context.Context, code *oauth.AuthCode, now time.Time) error {
	if code.FamilyID != "" {
		x := noted(ctx)
		x.familyRevoked, x.familyID, x.userID = true, code.FamilyID, code.UserID
		err := h.d.Families.RevokeFamily(ctx, code.FamilyID, "authorization_code_reuse", now)
		if err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return fmt.Errorf("token: revoke family of reused code: %w", err)
		}
	}
	return oauth.Errorf(oauth.InvalidGrant, "authorization code already used")
}

// validVerifier checks RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// pkceMatches checks the S256 transformation (RFC 7636 §4.6). A code with
// no challenge or another method never matches (RFC 9700 §4.8.2).
func pkceMatches(code *oauth.AuthCode, verifier string) bool {
	if code.CodeChallengeMethod != oauth.CodeChallengeS256 || code.CodeChallenge == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare(enc[:], []byte(code.CodeChallenge)) == 1
}

// codeAccessScopes cuts the granted scopes to what the API defines, keeping
// the OIDC scopes (rule 4 for the original audience).
func codeAccessScopes(code *oauth.AuthCode, api *oauth.ResourceServer) []string {
	scopes := make([]string, 0, len(code.Scopes))
	for _, s := range code.Scopes {
		if (oauth.IsOIDCScope(s) || api.HasScope(s)) && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// issuesRefreshToken: offline_access granted, the API allows offline
// access, and the client may use the refresh_token grant.
func issuesRefreshToken(code *oauth.AuthCode, api *oauth.ResourceServer, client *oauth.Client) bool {
	return slices.Contains(code.Scopes, oauth.ScopeOfflineAccess) &&
		api.AllowOfflineAccess &&
		client.AllowsGrant(oauth.GrantTypeRefreshToken)
}

// newFamily starts the refresh-token family of a code and returns its
// first token. The family records the full grant; exchanges never narrow it.
func (h *handler) newFamily(ctx context.Context, code *oauth.AuthCode, client *oauth.Client, now time.Time) (*oauth.Family, string, error) {
	key, err := h.refreshKey(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := oauth.NewID(h.d.Rand)
	if err != nil {
		return nil, "", err
	}
	first, err := newRefreshToken(id, h.d.Rand)
	if err != nil {
		return nil, "", err
	}
	fam := &oauth.Family{
		ID:            id,
		ClientID:      client.ClientID,
		UserID:        code.UserID,
		Audience:      code.Audience,
		Scopes:        slices.Clone(code.Scopes),
		AuthTime:      code.AuthTime,
		CreatedAt:     now,
		ExpiresAt:     absoluteExpiry(client, now),
		IdleExpiresAt: idleExpiry(client, now),
	}
	if client.IsPublic() {
		// RFC 9449 §5: a public client's refresh tokens are bound to the
		// key of the proof that obtained them, for the family's life;
		// a confidential client's are bound by its authentication.
		fam.DPoPJKT = dpopJKT(ctx)
	}
	// The token carries the family's fixed facts, sealed, so its exchanges
	// need no read of the family (refresh_token_codec.go).
	first.facts = sealedFacts(fam)
	codec := h.codecFor(key)
	raw := codec.encode(&first)
	h.codecs.Put(codec)
	fam.HeadHash = oauth.HashToken(raw)
	return fam, raw, nil
}

// absoluteExpiry is fixed when the family starts and never extended (Auth0).
func absoluteExpiry(c *oauth.Client, now time.Time) time.Time {
	cfg := c.RefreshToken
	if cfg.ExpirationType == oauth.ExpirationNever || cfg.InfiniteTokenLifetime {
		return time.Time{}
	}
	d := defaultRefreshLifetime
	if cfg.TokenLifetime > 0 {
		d = time.Duration(cfg.TokenLifetime) * time.Second
	}
	return now.Add(d)
}

// idleExpiry restarts on every exchange and follows the client's current
// settings (Auth0).
func idleExpiry(c *oauth.Client, now time.Time) time.Time {
	cfg := c.RefreshToken
	if cfg.ExpirationType == oauth.ExpirationNever || cfg.InfiniteIdleTokenLifetime {
		return time.Time{}
	}
	d := defaultRefreshIdleLifetime
	if cfg.IdleTokenLifetime > 0 {
		d = time.Duration(cfg.IdleTokenLifetime) * time.Second
	}
	return now.Add(d)
}
