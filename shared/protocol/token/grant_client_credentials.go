package token

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// clientCredentials is the client_credentials grant (RFC 6749 §4.4) for
// confidential clients with a client grant for the requested audience.
// Unlike Auth0 (access_denied), an audience the client has no grant for is
// invalid_target (RFC 8707 §2), and requested scopes beyond the grant are
// invalid_scope (RFC 6749 §5.2) rather than dropped: a machine client
// asks for exactly what it was configured with. No refresh token
// (RFC 6749 §4.4.3).
func (h *handler) clientCredentials(ctx context.Context, client *oauth.Client, form url.Values) (*oauth.TokenResponse, error) {
	if !client.AllowsGrant(oauth.GrantTypeClientCredentials) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client may not use the client_credentials grant")
	}
	if client.IsPublic() {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "public clients may not use the client_credentials grant")
	}
	audience, err := audienceParam(form)
	if err != nil {
		return nil, err
	}
	if audience == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "audience missing")
	}
	requested, err := httpx.ParseScope(form.Get("scope"))
	if err != nil {
		return nil, err
	}

	noted(ctx).audience = audience
	api, err := h.api(ctx, audience, errUnknownAudience)
	if err != nil {
		return nil, err
	}
	if err := requireDPoP(ctx, api); err != nil {
		return nil, err
	}
	grant, err := h.d.ClientGrants.ClientGrantFor(ctx, client.ClientID, audience)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, oauth.Errorf(oauth.InvalidTarget, "client has no grant for this audience").WithCause(err)
	}
	if err != nil {
		return nil, fmt.Errorf("token: client grant: %w", err)
	}
	// Granted scopes the API no longer defines drop out.
	allowed := make([]string, 0, len(grant.Scope))
	for _, s := range grant.Scope {
		if api.HasScope(s) && !slices.Contains(allowed, s) {
			allowed = append(allowed, s)
		}
	}
	scopes := allowed
	if requested != nil {
		for _, s := range requested {
			if !slices.Contains(allowed, s) {
				if len(s) > 64 {
					s = s[:64] + "..."
				}
				return nil, oauth.Errorf(oauth.InvalidScope, "scope %s is not granted to this client", s)
			}
		}
		scopes = requested
	}

	now := h.d.Now()
	at, expiresIn, err := h.signAccessToken(ctx, accessToken{
		api:      api,
		clientID: client.ClientID,
		subject:  client.ClientID + "@clients", // Auth0's form; never a user id (RFC 9700 §4.15)
		scopes:   scopes,
		gty:      "client-credentials",
	}, now)
	if err != nil {
		return nil, err
	}
	return &oauth.TokenResponse{AccessToken: at, TokenType: tokenType(ctx), ExpiresIn: expiresIn, Scope: httpx.JoinScope(scopes)}, nil
}
