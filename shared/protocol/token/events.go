package token

import (
	"context"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// exchange collects what a token request's event says; the grants fill it
// as they learn it (the MRRT facts: the family's original audience, the
// target audience, the granted scopes, the family and its generation).
type exchange struct {
	grant, clientID, clientName string
	userID, audience, scope     string
	originAudience, familyID    string
	generation                  int
	reuse                       bool // a retired refresh token: the family was revoked
	familyRevoked               bool // a replayed code: the family it started was revoked
}

type exchangeKey struct{}

// noted returns the request's exchange record (a throwaway one outside
// serveToken).
func noted(ctx context.Context) *exchange {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		return x
	}
	return &exchange{}
}

// noteFamily records a family's facts.
func (x *exchange) noteFamily(f *oauth.Family) {
	x.userID, x.originAudience, x.familyID, x.generation = f.UserID, f.Audience, f.ID, f.Generation
}

// exchangeEvents are the event types of each grant: success, failure.
var exchangeEvents = map[string][2]string{
	oauth.GrantTypeAuthorizationCode: {oauth.EventCodeExchange, oauth.EventCodeExchangeFailed},
	oauth.GrantTypeRefreshToken:      {oauth.EventRefreshExchange, oauth.EventRefreshFailed},
	oauth.GrantTypeClientCredentials: {oauth.EventClientCredentials, oauth.EventClientCredentialsBad},
}

// emitExchange emits the one event of a token request: its grant's
// success or failure, or ferrt for a reused refresh token. Requests
// without a known grant_type emit nothing.
func (h *handler) emitExchange(r *http.Request, x *exchange, resp *oauth.TokenResponse, err error) {
	types, ok := exchangeEvents[x.grant]
	if !ok {
		return
	}
	typ := types[0]
	switch {
	case x.reuse:
		typ = oauth.EventRefreshReuse
	case err != nil:
		typ = types[1]
	}
	e := httpx.NewEvent(r, h.d.Now(), typ)
	e.ClientID, e.ClientName, e.UserID, e.Audience = x.clientID, x.clientName, x.userID, x.audience
	details := map[string]any{"grant_type": x.grant}
	if resp != nil {
		e.Scope = resp.Scope
		details["token_type"] = resp.TokenType
	}
	if err != nil {
		oe := oauth.FromError(err)
		details["error"] = string(oe.Code)
		if oe.Description != "" {
			e.Description += ": " + oe.Description
		}
	}
	if x.reuse || x.familyRevoked {
		details["family_revoked"] = true
	}
	if x.familyID != "" {
		details["family_id"] = x.familyID
		details["generation"] = x.generation
		details["original_audience"] = x.originAudience
	}
	e.Details = details
	httpx.Emit(r.Context(), h.d.Events, e)
}

// emitRevocation emits srrt for a revocation that revoked a family.
func (h *handler) emitRevocation(r *http.Request, client *oauth.Client, f *oauth.Family) {
	e := httpx.NewEvent(r, h.d.Now(), oauth.EventRevocation)
	e.ClientID, e.ClientName, e.UserID, e.Audience = client.ClientID, client.Name, f.UserID, f.Audience
	e.Details = map[string]any{"family_id": f.ID, "generation": f.Generation}
	httpx.Emit(r.Context(), h.d.Events, e)
}
