package authorize

import (
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// emitLogin emits a sign-in's event: s, or the failure's type.
func (h *handler) emitLogin(r *http.Request, req *request, f loginFailure, username, userID string) {
	e := h.event(r, req, f.event)
	e.UserID, e.UserName = userID, username
	if f.reason != "" {
		e.Description += ": " + f.reason
	}
	httpx.Emit(r.Context(), h.d.Events, e)
}

// emitConsent emits a consent decision for req's API and scopes.
func (h *handler) emitConsent(r *http.Request, req *request, typ, userID string) {
	e := h.event(r, req, typ)
	e.UserID = userID
	httpx.Emit(r.Context(), h.d.Events, e)
}

// emitLogout emits slo, or flo with the reason a logout was refused.
func (h *handler) emitLogout(r *http.Request, clientID string, err error) {
	typ := oauth.EventLogout
	if err != nil {
		typ = oauth.EventLogoutFailed
	}
	e := httpx.NewEvent(r, h.d.Now(), typ)
	e.ClientID = clientID
	if err != nil {
		e.Description += ": " + oauth.FromError(err).Description
	}
	httpx.Emit(r.Context(), h.d.Events, e)
}

// event starts an event about req (its client, API and scopes; req may be
// nil).
func (h *handler) event(r *http.Request, req *request, typ string) oauth.Event {
	e := httpx.NewEvent(r, h.d.Now(), typ)
	if req != nil {
		e.ClientID, e.ClientName = req.client.ClientID, req.client.Name
		e.Audience, e.Scope = req.api.Identifier, httpx.JoinScope(req.scopes)
	}
	return e
}
