package policyadmin

import (
	"net/http"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// emitCall emits the event of one admin API call, as Auth0 logs its
// Management API: mgmt_api_read for a read, sapi for a change, fapi for a
// failure (refused calls included), du for a deleted user. The caller is
// the event's client; the path's user, for user routes, its user.
func (a *api) emitCall(r *http.Request, rt route, caller principal, status int) {
	typ := oauth.EventAPISuccess
	switch {
	case status >= 400:
		typ = oauth.EventAPIFailed
	case rt.pattern == "DELETE /api/v2/users/{id}":
		typ = oauth.EventUserDeleted
	case r.Method == http.MethodGet:
		typ = oauth.EventAPIRead
	}
	e := httpx.NewEvent(r, a.d.Now(), typ)
	e.Description += ": " + rt.pattern
	e.ClientID = caller.ClientID
	if strings.HasPrefix(rt.pattern, r.Method+" /api/v2/users/{id}") {
		e.UserID = r.PathValue("id")
	}
	e.Details = map[string]any{
		"request":  map[string]any{"method": r.Method, "route": rt.pattern, "id": r.PathValue("id")},
		"response": map[string]any{"statusCode": status},
	}
	if rt.pattern == "PATCH /api/v2/users/{id}" && status < 400 {
		e.Details["note"] = "user updated (blocked, unblocked or changed): see the user"
	}
	httpx.Emit(r.Context(), a.d.Events, e)
}
